"""Browser rendering with the system Chromium through Playwright: the demo shop's JS section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, chromium_path, require
from voidx.collect.browser import find_browser
from voidx.demo import Catalog, DemoShopServer
from voidx.errors import UsageError


@pytest.fixture
def browser_ready() -> None:
    require(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        require(False, "Playwright is not installed (pip install 'voidx[browser]')")


def js_products(catalog: Catalog) -> list[str]:
    return sorted(f"/app/product/{p.slug}" for p in catalog.js_products)


@pytest.mark.browser
def test_render_browser_reads_the_javascript_section(browser_ready: None, tmp_path: Path,
                                                     shop: DemoShopServer,
                                                     catalog: Catalog) -> None:
    cli = Cli(tmp_path)
    summary = cli.ok("crawl", f"{shop.url}/app/", "--render", "browser", "--allow", "/app/")
    assert summary["pages_rendered"] == summary["pages_fetched"] == 1 + len(catalog.js_products)
    pages = [json.loads(x) for x in cli("export", "pages").stdout.splitlines()]
    assert {p["renderer"] for p in pages} == {"browser"}
    found = sorted(p["url"].split("/", 3)[3] for p in pages if "/app/product/" in p["url"])
    assert ["/" + f for f in found] == js_products(catalog)
    # images are blocked: the browser asked the shop for no picture
    assert not [path for path in shop.hits if path.startswith("/static/img")]
    cli.ok("extract")
    cli.ok("etl")
    products = cli.ok("query", "SELECT url, name, price FROM products ORDER BY url")
    by_path = {"/" + p["url"].split("/", 3)[3]: p for p in products}
    for product in catalog.js_products:
        expected = catalog.expected_record(product, 1)
        got = by_path[f"/app/product/{product.slug}"]
        assert (got["name"], got["price"]) == (expected["name"], expected["price"])


@pytest.mark.browser
def test_render_auto_uses_the_browser_only_for_app_shells(browser_ready: None, tmp_path: Path,
                                                          shop: DemoShopServer,
                                                          catalog: Catalog) -> None:
    cli = Cli(tmp_path)
    regular = next(p for p in catalog.products if not p.js_only)
    summary = cli.ok("crawl", f"{shop.url}/app/", f"{shop.url}/product/{regular.slug}",
                     "--render", "auto", "--max-depth", "0")
    assert summary["pages_fetched"] == 2 and summary["pages_rendered"] == 1
    renderers = {p["url"].split("/", 3)[3]: p["renderer"]
                 for p in map(json.loads, cli("export", "pages").stdout.splitlines())}
    assert renderers == {"app/": "browser", f"product/{regular.slug}": "http"}


def test_missing_browser_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="apt-get install chromium"):
        find_browser(str(tmp_path / "no-such-chromium"))
    (tmp_path / "voidx.toml").write_text(
        f'[crawl]\nbrowser_path = "{tmp_path}/nope"\n')
    result = Cli(tmp_path)("crawl", "http://127.0.0.1:9/", "--render", "browser")
    assert result.exit_code == 2
    assert "apt-get install chromium" in result.stderr
