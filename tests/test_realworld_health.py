"""Block pages are failed observations, never data; a source that starts failing says so."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli
from tests.servers import StaticSite

CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper" role="main">
<div class="main-content"><h1 class="zone-name-title h1">shop.example</h1>
<h2 id="challenge-running" class="h2">Checking if the site connection is secure</h2>
<noscript><div id="challenge-error-title">Enable JavaScript and cookies to continue</div>
</noscript></div></div><script>(function(){window._cf_chl_opt={cvId: '2',cZone: "shop.example",
cType: 'managed'};var trkjs = document.createElement('img');}());</script>
<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8a1"></script>
</body></html>"""


def product(n: int, price: float) -> str:
    return f"""<html><head><title>Lamp {n}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product",
"name": "Lamp {n}", "sku": "L{n}", "offers": {{"@type": "Offer", "price": "{price}",
"priceCurrency": "USD", "availability": "https://schema.org/InStock"}}}}</script></head>
<body><h1>Lamp {n}</h1><span class="price">${price}</span>
<button class="add-to-cart">Add to cart</button></body></html>"""


def test_blocked_pages_are_not_data_and_raise_extraction_health(tmp_path: Path) -> None:
    pages = {f"/p/{n}": product(n, 20.0 + n) for n in range(1, 9)}
    index = "".join(f'<a href="/p/{n}">{n}</a>' for n in range(1, 9))
    with StaticSite({**pages, "/": f"<html><body>{index}</body></html>"}) as site:
        (tmp_path / "voidx.toml").write_text(
            f'[[sources]]\nname = "lamps"\nstart_urls = ["{site.url}/"]\nsitemaps = false\n')
        cli = Cli(tmp_path)
        for day in (1, 2):
            cli.ok("--as-of", f"2026-03-0{day}T06:00:00Z", "crawl")
            cli.ok("extract")
            cli.ok("etl")
        assert cli.ok("analyze")["alerts_found"] == 0
        site.pages.update({f"/p/{n}": CHALLENGE for n in range(1, 9)})
        cli.ok("--as-of", "2026-03-03T06:00:00Z", "crawl")
        summary = cli.ok("extract")
        assert summary["blocked"] == 8 and summary["records"] == 0
        reasons = cli.ok("query", "SELECT DISTINCT reason FROM extractions WHERE status = "
                                  "'blocked'")
        assert reasons == [{"reason": "captcha: Cloudflare challenge page"}]
        cli.ok("etl")
        # no product became price 0 or out of stock, and no price alert fired
        rows = json.loads(cli("export", "products", "--format", "json").stdout)
        assert {r["price"] for r in rows} == {20.0 + n for n in range(1, 9)}
        assert {r["availability"] for r in rows} == {"in_stock"}
        assert {r["last_seen"] for r in rows} == {"2026-03-02T06:00:00Z"}
        result = cli.ok("analyze")
        kinds = [a["kind"] for a in result["new"]]
        assert kinds == ["extraction_health"]
        alert = result["new"][0]
        assert alert["subject"] == "lamps" and alert["severity"] == "critical"
        assert alert["details"]["since"] == "2026-03-03T06:00:00Z"
        assert alert["details"]["rate"] == 0.0 and alert["details"]["baseline"] == 1.0
        assert alert["details"]["blocked"] == 8
        assert alert["details"]["top_reason"] == "captcha: Cloudflare challenge page"
        assert cli.ok("analyze")["alerts_new"] == 0  # said once
