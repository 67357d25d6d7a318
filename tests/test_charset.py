"""A page's encoding, decided as browsers do: byte-order mark, the server's Content-Type
charset, <meta charset>, UTF-8, then windows-1252 — end to end through crawl and extract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.servers import StaticSite
from voidx.extract.extractor import decode_html

POLISH = ('<html><head><title>Łopata</title></head><body><main class="product">'
          '<h1>Żółta łopata ogrodowa</h1><div class="price">1 299,00 zł</div>'
          '<div class="sku">Kod produktu: ZL-1</div><p class="stock">Dostępny</p>'
          '<button class="add-to-cart">Do koszyka</button></main></body></html>')


@pytest.mark.parametrize(("body", "charset", "expected"), [
    ("Żółw".encode("utf-8-sig"), "iso-8859-2", "Żółw"),  # the BOM wins over everything
    ("Żółw".encode("iso-8859-2"), "iso-8859-2", "Żółw"),  # the header over the default
    ('<meta charset="utf-8">Żółw'.encode("iso-8859-2"), "ISO-8859-2",
     '<meta charset="utf-8">Żółw'),  # ...and over <meta>
    ('<meta charset="iso-8859-2">Żółw'.encode("iso-8859-2"), None,
     '<meta charset="iso-8859-2">Żółw'),
    ("Żółw".encode(), None, "Żółw"),  # UTF-8 by default
    ("Café".encode("cp1252"), None, "Café"),  # not UTF-8: windows-1252
    ("Café".encode(), "no-such-charset", "Café"),  # an unknown charset is ignored
    ('<meta charset="iso-8859-2">Żółw'.encode("iso-8859-2"), "no-such-charset",
     '<meta charset="iso-8859-2">Żółw'),  # ...for <meta>
    # Browsers read "iso-8859-1" as windows-1252: the euro sign and the dash are not C1 controls.
    ("€ – x".encode("cp1252"), "iso-8859-1", "€ – x"),
    ("€ – x".encode("cp1252"), "US-ASCII", "€ – x"),
])
def test_decode_order(body: bytes, charset: str | None, expected: str) -> None:
    assert decode_html(body, charset) == expected


def test_header_charset_reaches_the_record(tmp_path: Path) -> None:
    pages: dict[str, str | tuple[bytes, str]] = {
        "/p/1": (POLISH.encode("iso-8859-2"), "text/html; charset=ISO-8859-2"),
        "/": '<html><body><a href="/p/1">łopata</a></body></html>',
    }
    with StaticSite(pages) as site:
        (tmp_path / "voidx.toml").write_text(f'''
[[sources]]
name = "shop"
start_urls = ["{site.url}/"]
sitemaps = false
''', encoding="utf-8")
        cli = Cli(tmp_path)
        cli.ok("crawl")
        summary = cli.ok("extract")
    assert summary["records"] == 1
    rows = cli.ok("query", "SELECT record FROM extractions WHERE status = 'ok'")
    record = json.loads(rows[0]["record"])
    # Read as windows-1252, "zł" would be "z³" (no currency) and the name mojibake.
    assert record["name"] == "Żółta łopata ogrodowa"
    assert (record["price"], record["currency"]) == (1299.0, "PLN")
    assert record["sku"] == "ZL-1"
