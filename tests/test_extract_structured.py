"""Extraction of real HTML: every structured-data variant, selector rules, quarantine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from voidx.config import SourceConfig
from voidx.extract.extractor import extract_page

FIXTURES = Path(__file__).parent / "fixtures" / "structured"
URL = "https://shop.example/p/page"

CASES: dict[str, dict[str, Any]] = {
    "jsonld_basic": {
        "url": "https://shop.example/p/aero-kettle", "name": "Aero Kettle 1.7L", "price": 49.9,
        "currency": "EUR", "availability": "in_stock", "sku": "AK-17", "gtin": "4006381333931",
        "brand": "Aero", "category": "Kitchen > Kettles", "rating": 4.6, "review_count": 213,
        "image": "https://shop.example/img/aero-1.jpg", "method": "jsonld"},
    "jsonld_graph": {
        "name": "Luma Desk Lamp", "price": 1299.0, "currency": "SEK",
        "availability": "out_of_stock", "sku": "LUMA-1", "brand": "Luma", "method": "jsonld"},
    "jsonld_offers_list": {
        "name": "Trail Runner 3", "price": 89.95, "currency": "USD", "availability": "in_stock",
        "sku": "TR3-42", "brand": "Stride", "method": "jsonld"},
    "jsonld_aggregate": {
        "name": "Photo Print", "price": 4.99, "currency": "GBP", "availability": "preorder",
        "method": "jsonld"},
    "jsonld_messy": {  # comment-wrapped, trailing commas, numeric sku, bad GTIN check digit
        "name": "Wool Socks", "price": 12.5, "currency": "EUR", "availability": "in_stock",
        "sku": "12345", "gtin": None, "method": "jsonld"},
    "jsonld_group": {
        "name": "Canvas Tote", "price": 24.0, "currency": "USD", "sku": "TOTE-R",
        "brand": "Carry", "availability": "in_stock", "method": "jsonld"},
    "jsonld_related": {"name": "Main Thing", "price": 77.0, "method": "jsonld"},
    "microdata": {
        "name": "Nordic Chair", "price": 1299.0, "currency": "USD", "availability": "in_stock",
        "sku": "NC-01", "gtin": "4006381333931", "brand": "Fjell", "rating": 4.2,
        "review_count": 17, "image": "https://shop.example/img/chair.jpg", "method": "microdata"},
    "microdata_text": {
        "name": "Stoneware Mug", "price": 12.5, "currency": "EUR",
        "availability": "out_of_stock", "method": "microdata"},
    "opengraph": {
        "url": "https://shop.example/p/page", "name": "Linen Shirt", "price": 59.0,
        "currency": "GBP", "availability": "in_stock", "brand": "Loom",
        "image": "https://cdn.shop.example/linen.jpg", "method": "opengraph"},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_structured_data(name: str) -> None:
    url = "https://shop.example/p/main" if name == "jsonld_related" else URL
    result = extract_page((FIXTURES / f"{name}.html").read_bytes(), url)
    assert result.status == "ok", result.reason
    assert result.record is not None
    record = result.record.model_dump()
    for key, value in CASES[name].items():
        assert record[key] == value, (key, record[key], value)


def test_provenance_names_each_fields_source() -> None:
    result = extract_page((FIXTURES / "jsonld_basic.html").read_bytes(), URL)
    assert result.provenance["price"]["source"] == "jsonld"
    assert result.provenance["name"]["source"] == "jsonld"


def test_provenance_of_a_page_read_from_its_data_says_the_page_shows_the_price() -> None:
    def page(availability: str | None) -> bytes:
        offer = {"@type": "Offer", "price": "49.90", "priceCurrency": "EUR"}
        if availability:
            offer["availability"] = availability
        data = {"@context": "https://schema.org", "@type": "Product", "name": "Desk Lamp",
                "sku": "DL-1", "offers": offer}
        return (f'<html><head><script type="application/ld+json">{json.dumps(data)}</script>'
                '</head><body><main><h1>Desk Lamp</h1><p class="price">49,90 €</p>'
                '<button class="add-to-cart">Add to cart</button></main></body></html>').encode()

    quick = extract_page(page("https://schema.org/InStock"), URL)
    assert quick.record is not None and quick.record.price == 49.9
    assert not any(c.source == "dom" for c in quick.candidates)  # the page was not read
    assert quick.provenance["price"]["source"] == "jsonld"
    assert quick.provenance["price"]["why"] == (
        "jsonld price, shown on the page as written with no sign of a sale, a regular price "
        "or another stock state around it")
    # read in full, the page's own price agrees and wins the same way
    full = extract_page(page("https://schema.org/InStock"), URL, read_in_full=True)
    assert full.record == quick.record
    assert full.provenance["price"]["why"] == "the page shows this price for the product"
    # without a declared availability the page is read: its buy button says in stock, as the
    # full reading says
    undeclared = extract_page(page(None), URL)
    assert any(c.source == "dom" for c in undeclared.candidates)
    assert undeclared.record is not None and undeclared.record.availability == "in_stock"
    assert undeclared.record == extract_page(page(None), URL, read_in_full=True).record


SELECTORS: dict[str, Any] = {
    "name": "h1.title",
    "price": "p.price ins",
    "sku": {"css": ".meta", "regex": r"SKU:\s*([\w-]+)"},
    "availability": ".stock",
    "brand": "a.brand",
    "image": "img.hero@data-src",
}


def test_selector_rules_read_a_plain_page() -> None:
    source = SourceConfig(name="s", start_urls=["https://shop.example/"], selectors=SELECTORS)
    result = extract_page((FIXTURES / "plain.html").read_bytes(), URL, source)
    assert result.record is not None
    assert result.record.model_dump(include={"name", "price", "currency", "sku", "availability",
                                             "brand", "image", "method"}) == {
        "name": "Field Notebook", "price": 11.2, "currency": "USD", "sku": "FN-200",
        "availability": "in_stock", "brand": "Ink & Co",
        "image": "https://shop.example/img/notebook.jpg", "method": "selectors"}


def test_selectors_fill_gaps_or_win_when_preferred() -> None:
    html = (FIXTURES / "opengraph.html").read_text().replace(
        "<h1>Linen Shirt</h1>", '<h1>Linen Shirt</h1><span class="sku">LS-9</span>'
        '<span class="now">£59.00</span><span class="member">£49.00</span>')
    rules = {"sku": ".sku", "price": ".member"}
    filled = extract_page(html, URL, SourceConfig(name="s", start_urls=[URL], selectors=rules))
    assert filled.record is not None
    assert (filled.record.sku, filled.record.price) == ("LS-9", 59.0)
    assert filled.provenance["sku"]["source"] == "selectors"
    assert filled.provenance["price"]["source"] == "opengraph"
    preferred = extract_page(html, URL, SourceConfig(name="s", start_urls=[URL], selectors=rules,
                                                     prefer="selectors"))
    assert preferred.record is not None and preferred.record.price == 49.0


def test_a_page_without_product_data() -> None:
    html = (FIXTURES / "nothing.html").read_bytes()
    assert extract_page(html, URL).status == "no_product"
    source = SourceConfig(name="s", start_urls=[URL], product_urls=["/p/"])
    quarantined = extract_page(html, URL, source)
    assert quarantined.status == "quarantined"
    assert quarantined.reason == ("product page without a product: "
                                  "no product data and no product shown on the page")


def test_invalid_structured_data_is_quarantined_with_the_reason() -> None:
    html = ('<script type="application/ld+json">{"@type": "Product", "name": "X", '
            '"offers": {"price": "12", "priceCurrency": "EUR"}, '
            '"aggregateRating": {"ratingValue": "-3"}}</script>')
    result = extract_page(html, URL)
    assert result.status == "quarantined"
    assert result.reason is not None and result.reason.startswith("rating: ")
    nameless = extract_page('<script type="application/ld+json">{"@type": "Product", '
                            '"offers": {"price": 3}}</script>', URL)
    assert (nameless.status, nameless.reason) == ("quarantined", "product data without a name")


def test_no_shown_price_is_no_price_not_zero() -> None:
    html = ('<script type="application/ld+json">{"@type": "Product", "name": "Quote Only", '
            '"offers": {"priceCurrency": "USD", "availability": "InStock"}}</script>')
    result = extract_page(html, URL)
    assert result.record is not None
    assert (result.record.price, result.record.currency) == (None, None)


def test_listing_pages_are_not_products() -> None:
    from voidx.demo import Catalog, ShopSite

    site = ShopSite(Catalog(n_products=300, seed=7), day=1)
    for path in ("/", "/category/toys", "/category/toys?page=2", "/category/books?page=2"):
        status, _, body = site.handle("GET", path, {"host": "shop.test"})
        assert status == 200
        assert extract_page(body, f"http://shop.test{path}").status == "no_product", path


def test_page_encodings() -> None:
    html = ('<html><head><meta charset="iso-8859-1"><script type="application/ld+json">'
            '{"@type": "Product", "name": "Café Crème", "offers": {"price": "2,50", '
            '"priceCurrency": "EUR"}}</script></head><body></body></html>')
    for body in (html.encode("latin-1"), html.replace("iso-8859-1", "utf-16").encode("utf-16"),
                 html.replace("iso-8859-1", "utf-8").encode("utf-8")):
        result = extract_page(body, URL)
        assert result.record is not None
        assert (result.record.name, result.record.price) == ("Café Crème", 2.5)


@pytest.mark.parametrize(("syntax", "declared"), [
    ("jsonld", None), ("jsonld", "false"), ("jsonld", False), ("jsonld", True),
    ("microdata", "false")])
def test_a_shop_that_declares_its_prices_before_tax(declared: Any, syntax: str) -> None:
    """A B2B shop shows its price before tax first and the price with tax beside it; its data
    says valueAddedTaxIncluded false: the price before tax is the price. Without that (or
    with true), the price a consumer pays, with tax, is the price and the other a note.
    (Microdata marks a price element up as the offer's price: that says which one it is.)"""
    if syntax == "jsonld":
        offer: dict[str, Any] = {"@type": "Offer", "price": "249.00", "priceCurrency": "EUR",
                                 "availability": "https://schema.org/InStock"}
        if declared is not None:
            offer["priceSpecification"] = {"@type": "UnitPriceSpecification",
                                           "price": "249.00", "priceCurrency": "EUR",
                                           "valueAddedTaxIncluded": declared}
        data = {"@context": "https://schema.org", "@type": "Product", "name": "Drill",
                "sku": "D-1", "offers": offer}
        head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
        scope, offer_scope, prop = "", "", ""
    else:
        head = ""
        scope = ' itemscope itemtype="https://schema.org/Product"'
        offer_scope = ' itemprop="offers" itemscope itemtype="https://schema.org/Offer"'
        prop = ('<meta itemprop="price" content="249.00"><meta itemprop="priceCurrency" '
                'content="EUR"><link itemprop="availability" href="https://schema.org/InStock">'
                + ("" if declared is None else
                   f'<meta itemprop="valueAddedTaxIncluded" content="{str(declared).lower()}">'))
    page = (f"<html><head>{head}</head><body><div class=product{scope}>"
            f'<h1 itemprop="name">Drill</h1><span itemprop="sku">D-1</span>'
            f'<div class="price-box"{offer_scope}>{prop}'
            '<div class="price price--net"><span class="price__value">249,00 €</span> '
            '<span class="price__tax">zzgl. MwSt.</span></div>'
            '<div class="price price--gross"><span class="price__value">296,31 €</span> '
            '<span class="price__tax">inkl. 19 % MwSt.</span></div></div>'
            '<del>389,00 €</del><button class="add-to-cart">In den Warenkorb</button>'
            "</div></body></html>")
    result = extract_page(page, "https://b2b.example/p/drill")
    assert result.status == "ok" and result.record is not None
    before_tax = declared in ("false", False)
    assert result.record.price == (249.0 if before_tax else 296.31)
    assert result.record.sku == "D-1"
    why = {c.value: c.why for c in result.candidates if c.source == "dom"}
    assert ("in a tax note: with tax" in why[296.31]) is before_tax
    assert ("in a tax note: before tax" in why[249.0]) is not before_tax


@pytest.mark.parametrize(("first", "more"), [("Bis 1", "Ab {n}"), ("1 Stück", "ab {n} Stück"),
                                             ("1", "from {n}"), ("1 szt.", "od {n} szt."),
                                             ("1", "à partir de {n}")])
def test_a_tier_price_table_is_read_by_its_first_row(first: str, more: str) -> None:
    """Block prices only: the price for one piece is the price; the rows for larger quantities
    (and the data's lowPrice, theirs) are notes, whether the amount is shown or marked up."""
    data = {"@context": "https://schema.org", "@type": "Product", "name": "Tyre", "sku": "T-1",
            "offers": {"@type": "AggregateOffer", "lowPrice": "46.50", "highPrice": "54.90",
                       "priceCurrency": "CHF", "availability": "https://schema.org/InStock"}}
    rows = "".join(
        f'<tr><th><meta itemprop="price" content="{price}">{label}</th>'
        f'<td class="price">CHF {price}*</td></tr>'
        for label, price in ((first, "54.90"), (more.format(n=2), "49.90"),
                             (more.format(n=4), "46.50")))
    page = (f'<html><head><script type="application/ld+json">{json.dumps(data)}</script>'
            "</head><body><div class=product><h1>Tyre</h1><table class=block-prices>"
            f"<tr><th>Anzahl</th><th>Stückpreis</th></tr>{rows}</table>"
            '<button class="add-to-cart">In den Warenkorb</button></div></body></html>')
    result = extract_page(page, "https://shop.example/p/tyre")
    assert result.status == "ok" and result.record is not None
    assert (result.record.price, result.record.currency) == (54.9, "CHF")


@pytest.mark.parametrize(("label", "value", "expected"), [
    ("在庫", "残り2点", "in_stock"), ("Availability:", "Out of stock", "out_of_stock"),
    ("Verfügbarkeit", "Nicht auf Lager", "out_of_stock"), ("재고", "품절", "out_of_stock"),
    ("Stock", "In stock", "in_stock")])
@pytest.mark.parametrize("table", ["tr", "dl"])
def test_a_stock_row_of_a_spec_table(label: str, value: str, expected: str, table: str) -> None:
    """A page with no data and no buy button whose spec table gives price and stock (a shop
    run from a blog): the labelled stock row is the product's stock message, and makes the
    page a product; another product said sold out in the text does not count."""
    rows = [("Name", "Ash-glaze plate"), ("Price", "¥12,800 (tax incl.)"), (label, value)]
    if table == "tr":
        spec = "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) \
            + "</table>"
    else:
        spec = "<dl>" + "".join(f"<dt>{k}</dt>\n<dd>{v}</dd>" for k, v in rows) + "</dl>"
    page = (f"<html><body><article><h1>Ash-glaze plate</h1>{spec}<p>Last year's large plate "
            f"(¥8,800) is sold out.</p></article></body></html>")
    result = extract_page(page, "https://potter.example/works/plate/")
    assert result.status == "ok" and result.record is not None, result.reason
    assert (result.record.price, result.record.currency) == (12800.0, "JPY")
    assert result.record.availability == expected
