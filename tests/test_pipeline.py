"""Each skeleton stage end to end against the demo shop on loopback, through the CLI."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Cli
from voidx.api.server import make_server
from voidx.demo import Catalog, DemoShopServer
from voidx.store import Store


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def products_by_path(project: Path) -> dict[str, dict[str, Any]]:
    with Store(project / ".voidx" / "voidx.db") as store:
        return {path_of(r["url"]): r for r in store.query("SELECT * FROM products")}


def crawl_day(cli: Cli, shop: DemoShopServer, day: int) -> dict[str, Any]:
    shop.site.day = day
    summary = cli.ok("--as-of", f"2026-03-0{day}T06:00:00Z", "crawl")
    cli.ok("extract")
    cli.ok("etl")
    return summary


def test_crawl_fetches_the_shop_and_obeys_robots(cli: Cli, shop: DemoShopServer,
                                                 catalog: Catalog) -> None:
    summary = cli.ok("crawl")
    product_paths = {f"/product/{p.slug}" for p in catalog.products if not p.js_only}
    fetched = {path_of(json.loads(line)["url"]) for line in
               cli("export", "pages", "--format", "jsonl").stdout.splitlines()}
    assert fetched >= product_paths
    assert summary["pages_fetched"] == len(fetched)
    assert summary["pages_failed"] == 0
    assert summary["queued"] == 0
    assert summary["bytes"] > 100_000
    assert set(summary) >= {"pages_fetched", "pages_failed", "pages_unchanged", "pages_skipped",
                            "queued", "bytes", "elapsed_s", "pages_per_s"}
    # robots.txt was read, and nothing it disallows was requested
    assert shop.hits["/robots.txt"] == 1
    assert not [p for p in shop.hits if p.startswith(("/cart", "/account/", "/search"))]
    # every page fetched once, tracking-parameter duplicates folded into one URL
    assert max(shop.hits.values()) == 1
    assert not [p for p in fetched if "utm_" in p]


def test_extract_reads_every_template_right(cli: Cli, catalog: Catalog, project: Path) -> None:
    cli.ok("crawl")
    summary = cli.ok("extract")
    visible = [p for p in catalog.products if not p.js_only]
    assert summary["records"] == len(visible)
    assert summary["quarantined"] == 0
    assert set(summary["by_method"]) == {"jsonld", "microdata", "selectors"}
    cli.ok("etl")
    stored = products_by_path(project)
    # listing pages (even a last page with a single card) and the home page are not products
    assert sorted(stored) == sorted(f"/product/{p.slug}" for p in visible)
    for product in visible:
        expected = catalog.expected_record(product, 1)
        got = stored[str(expected["url"])]
        for key in ("name", "price", "availability", "sku", "brand"):
            assert got[key] == expected[key], (product.template, key, got[key], expected[key])
        if expected["price"] is not None:
            assert got["currency"] == expected["currency"]
    # running again finds nothing new to do
    assert cli.ok("extract")["pages"] == 0
    assert cli.ok("etl")["observations"] == 0


def test_history_is_scd2_and_analyze_flags_moves(cli: Cli, shop: DemoShopServer,
                                                 catalog: Catalog, project: Path) -> None:
    crawl_day(cli, shop, 1)
    day2 = crawl_day(cli, shop, 2)
    assert day2["pages_unchanged"] > 0  # conditional requests: 304 for untouched pages
    visible = [p for p in catalog.products if not p.js_only]
    moved = [p for p in visible if catalog.offer(p, 1) != catalog.offer(p, 2)]
    assert moved, "the demo catalog moves some prices on day 2"
    with Store(project / ".voidx" / "voidx.db") as store:
        for product in moved:
            versions = store.query(
                "SELECT valid_from, valid_to, price, availability FROM price_history"
                " WHERE url LIKE ? ORDER BY valid_from", (f"%/product/{product.slug}",))
            assert len(versions) == 2, product.slug
            assert versions[0]["valid_to"] == versions[1]["valid_from"] == "2026-03-02T06:00:00Z"
            assert versions[1]["valid_to"] is None
            assert versions[1]["price"] == catalog.offer(product, 2).price
        unchanged = next(p for p in visible if p not in moved)
        row = store.query("SELECT first_seen, last_seen FROM products WHERE url LIKE ?",
                          (f"%/product/{unchanged.slug}",))[0]
        assert (row["first_seen"], row["last_seen"]) == ("2026-03-01T06:00:00Z",
                                                         "2026-03-02T06:00:00Z")
        assert store.scalar("SELECT COUNT(*) FROM price_history WHERE url LIKE ?",
                            (f"%/product/{unchanged.slug}",)) == 1

    result = cli.ok("analyze")
    drops = [p for p in moved if (o1 := catalog.offer(p, 1)).price and (o2 := catalog.offer(p, 2))
             .price and (o2.price - o1.price) / o1.price <= -0.10]
    found = {path_of(a["subject"]): a for a in result["new"] if a["kind"] == "price_drop"}
    assert {f"/product/{p.slug}" for p in drops} == set(found)
    sample = found[f"/product/{drops[0].slug}"]
    assert sample["details"]["old_price"] == catalog.offer(drops[0], 1).price
    assert sample["details"]["new_price"] == catalog.offer(drops[0], 2).price
    assert sample["details"]["change_pct"] < -10
    assert sample["observed_at"] == "2026-03-02T06:00:00Z"
    assert set(sample) >= {"id", "kind", "subject", "severity", "observed_at", "details",
                           "fingerprint"}
    again = cli.ok("analyze")
    assert again["alerts_new"] == 0 and again["alerts_found"] == result["alerts_found"]
    listed = cli.ok("alerts", "--kind", "price_drop")["alerts"]
    assert len(listed) == len(drops)


def test_report_query_export_status(cli: Cli, shop: DemoShopServer, catalog: Catalog,
                                    project: Path, tmp_path: Path) -> None:
    crawl_day(cli, shop, 1)
    crawl_day(cli, shop, 2)
    cli.ok("analyze")
    report = cli.ok("report")
    html = Path(report["report"]).read_text()
    first = next(p for p in catalog.products if not p.js_only)
    assert first.name.replace("&", "&amp;") in html and "<table>" in html
    assert report["products"] == len([p for p in catalog.products if not p.js_only])
    md = cli.ok("report", "--format", "md", "--output", str(tmp_path / "r.md"))
    assert (tmp_path / "r.md").read_text().startswith("# voidx report")
    assert md["report"] == str(tmp_path / "r.md")

    rows = cli.ok("query", "SELECT availability, COUNT(*) AS n FROM products GROUP BY 1 ORDER BY 1")
    assert isinstance(rows, list) and sum(r["n"] for r in rows) == report["products"]
    assert {r["availability"] for r in rows} <= {"in_stock", "out_of_stock", "preorder"}

    as_json = json.loads(cli("export", "products", "--format", "json").stdout)
    as_csv = list(csv.DictReader(io.StringIO(cli("export", "products", "--format", "csv").stdout)))
    as_jsonl = [json.loads(x) for x in cli("export", "history", "-f", "jsonl").stdout.splitlines()]
    assert len(as_json) == len(as_csv) == report["products"]
    assert set(as_json[0]) == {"url", "name", "price", "currency", "availability", "sku", "gtin",
                               "brand", "category", "rating", "review_count", "image", "method",
                               "first_seen", "last_seen", "source"}
    assert len(as_jsonl) > len(as_json) and isinstance(as_jsonl[0]["record"], dict)

    status = cli.ok("status")
    assert status["health"] == "ok"
    assert status["counts"]["products"] == report["products"]
    assert [r["command"] for r in status["runs"][:2]] == ["report", "report"]
    assert all(r["status"] == "ok" for r in status["runs"])


def test_serve_answers_in_the_envelope(cli: Cli, shop: DemoShopServer, project: Path) -> None:
    crawl_day(cli, shop, 1)
    server = make_server(project / ".voidx" / "voidx.db", "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = httpx.get(f"{base}/products", params={"limit": 5, "offset": 2}).json()
        assert page["error"] is None and len(page["data"]) == 5
        assert page["meta"]["total"] > 5 and page["meta"]["offset"] == 2
        one = page["data"][0]
        filtered = httpx.get(f"{base}/products", params={"brand": one["brand"]}).json()
        assert filtered["data"] and all(p["brand"] == one["brand"] for p in filtered["data"])
        health = httpx.get(f"{base}/health").json()["data"]
        assert health["status"] == "ok" and health["products"] == page["meta"]["total"]
        missing = httpx.get(f"{base}/nope")
        assert missing.status_code == 404
        assert missing.json() == {"data": None, "meta": {}, "error": {
            "code": "not_found", "message": "no such endpoint: /nope"}}
        assert httpx.get(f"{base}/products", params={"limit": "x"}).status_code == 400
        assert httpx.post(f"{base}/products").status_code == 405
    finally:
        server.shutdown()
        server.server_close()


def test_explain_shows_every_candidate_even_for_pages_read_from_their_data(
        cli: Cli, shop: DemoShopServer, catalog: Catalog) -> None:
    cli.ok("crawl")
    cli.ok("extract")
    product = next(p for p in catalog.products if p.template == "jsonld" and not p.js_only
                   and catalog.expected_record(p, 1)["price"] is not None)
    url = f"{shop.url}/product/{product.slug}"
    stored = cli.ok("query",
                    f"SELECT record, provenance FROM extractions WHERE url = '{url}'")[0]
    # The stage took this record straight from the page's data...
    assert json.loads(stored["provenance"])["price"]["source"] == "jsonld"
    explained = cli.ok("extract", "--explain", url)
    record = json.loads(stored["record"])
    # ...and --explain reads the page in full: the same values, with the page's own candidates
    assert explained["record"]["price"] == record["price"] == \
        catalog.expected_record(product, 1)["price"]
    prices = [c for c in explained["candidates"] if c["field"] == "price"]
    assert {c["source"] for c in prices} >= {"jsonld", "dom"}
    assert any(c["source"] == "dom" and "related" in c["why"] for c in prices)
    assert [c["value"] for c in prices if c["chosen"]] == [record["price"]]
