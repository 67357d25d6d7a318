"""Pages that ordinary shops publish and that rules for harder pages once misread (found by a
review of those rules): each keeps its right price, SKU and availability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voidx.extract.extractor import extract_page

URL = "https://shop.example/p/widget"


def page(inner: str, head: str = "", title: str = "Widget") -> str:
    return (f"<html><head>{head}</head><body><div class=product><h1>{title}</h1>{inner}"
            "<button class=add-to-cart>Add to cart</button></div></body></html>")


def jsonld(**offer: object) -> str:
    data = {"@context": "https://schema.org", "@type": "Product", "name": "Widget",
            "offers": {"@type": "Offer", "availability": "https://schema.org/InStock", **offer}}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


@pytest.mark.parametrize(("inner", "price"), [
    # a rating, an age, a pack size or a size is no quantity tier nor instalment
    ('<div class=rating>4 von 5 Sternen</div><div class=price>49,99 €</div>'
     '<div>Versand 4,95 €</div>', 49.99),
    ('<div class=rating>Rated 4.6 from 212 reviews</div><div class=price>$49.99</div>'
     '<div>Shipping $4.95</div>', 49.99),
    ('<div>Altersempfehlung: ab 3 Jahren</div><div class=price>24,99 €</div>'
     '<div><span>Versand</span> 4,95 €</div>', 24.99),
    ('<div>Confezione da 12</div><div class=price>€ 9,90</div><div>Spedizione € 5,90</div>',
     9.90),
    ('<div>Size: 50 x 70 cm</div><div class=price>$39.00</div><div>Shipping $9.00</div>', 39.0),
    ('<div>6 x 330 ml</div><div class=price>€4.99</div><div>Delivery €2.99</div>', 4.99),
    ('<table><tr><td>Preis:</td><td class=price>349,00 €</td><td>Lieferbar ab 15. Mai</td>'
     '</tr></table>', 349.0),
    # a monthly instalment beside the price, with a "0%" of its own, is no sale price
    ('<div class=price><span>₹49,999</span> <span>₹4,167/month</span> '
     '<span>No Cost EMI at 0%</span></div>', 49999.0),
    # a price and a delivery threshold joined by a dash are no range
    ('<p class=price><span>€29.95</span> — <span>free delivery over €50</span></p>', 29.95),
    # "ลดเหลือ" (reduced to) labels the sale price itself
    ('<del>฿599</del> <span>ลดเหลือ</span> <span>฿299</span>', 299.0),
])
def test_ordinary_labels_beside_a_price(inner: str, price: float) -> None:
    result = extract_page(page(inner), URL, read_in_full=True)
    assert result.status == "ok" and result.record is not None, result.reason
    assert result.record.price == pytest.approx(price)


def test_the_cart_in_the_site_header_is_no_price_of_the_product() -> None:
    html = ('<html><body><div class=page><header class=site-header><h1 class=site-title>'
            '<a href="https://shop.example/en/">Acme</a></h1><div class=header-cart>Cart (3) '
            '<span class="woocommerce-Price-amount amount">$120.00</span></div></header>'
            '<main><h2>Widget</h2><span class=price>$49.99</span>'
            '<button class=add-to-cart>Add to cart</button></main></div></body></html>')
    result = extract_page(html, URL, read_in_full=True)
    assert result.record is not None and result.record.price == 49.99


def test_a_gross_and_a_net_price_specification() -> None:
    """A consumer shop listing both: its offer's price is the gross one."""
    head = jsonld(price="296.31", priceCurrency="EUR", priceSpecification=[
        {"@type": "UnitPriceSpecification", "price": "296.31", "priceCurrency": "EUR",
         "valueAddedTaxIncluded": True},
        {"@type": "UnitPriceSpecification", "price": "249.00", "priceCurrency": "EUR",
         "valueAddedTaxIncluded": False}])
    inner = ('<div class=price>296,31 € <small>inkl. MwSt.</small></div>'
             '<div class=price-net>249,00 € <small>zzgl. MwSt.</small></div>')
    result = extract_page(page(inner, head), URL, read_in_full=True)
    assert result.record is not None and result.record.price == 296.31


@pytest.mark.parametrize(("title", "inner", "sku"), [
    ("Deluxe Coffee Maker", "<p>SKU: CM-1042</p><p class=price>$89.00</p>", "CM-1042"),
    ("Dress", "<p class=price>$89.00</p><p>Model: 185cm, wears size M</p>", None),
])
def test_maker_words_and_model_lines(title: str, inner: str, sku: str | None) -> None:
    result = extract_page(page(inner, title=title), URL, read_in_full=True)
    assert result.record is not None and result.record.sku == sku


def test_a_model_name_is_no_sku() -> None:
    data = {"@context": "https://schema.org", "@type": "Product", "name": "Galaxy S24 Ultra",
            "model": "Galaxy S24 Ultra", "offers": {"@type": "Offer", "price": "1299.00",
                                                  "priceCurrency": "USD"}}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    result = extract_page(page("<p class=price>$1,299.00</p>", head, "Galaxy S24 Ultra"), URL)
    assert result.record is not None and result.record.sku is None


def test_an_abbreviation_beside_a_number_is_no_price() -> None:
    html = ("<html><body><h1>Controller board</h1><ul><li>Checksum: CRC 16</li></ul>"
            "<p>Call for price</p></body></html>")
    assert extract_page(html, URL, read_in_full=True).record is None


def test_a_buy_form_written_with_character_references() -> None:
    html = ('<html><body><h1>Widget</h1><p class=price>$19.00</p>'
            '<form action="/cart&#x2F;add"><button type=submit>Buy</button></form></body></html>')
    result = extract_page(html, URL, read_in_full=True)
    assert result.status == "ok" and result.record is not None and result.record.price == 19.0


@pytest.mark.parametrize(("label", "value"), [("Stock", "Synthetic, sold out in walnut"),
                                              ("Lager", "Industrielager, nicht verfügbar als "
                                                        "Ersatzteil")])
def test_a_spec_row_that_is_no_stock_message(label: str, value: str) -> None:
    inner = f"<table><tr><th>{label}</th><td>{value}</td></tr></table><p class=price>$449.00</p>"
    result = extract_page(page(inner), URL, read_in_full=True)
    assert result.record is not None and result.record.availability == "in_stock"


def test_a_thousand_prices_in_one_block_are_read_in_linear_time() -> None:
    """Each price's block is read once, not once per price (a block of 8,000 spans took 14 s
    when it was)."""
    import time

    spans = "<span>$1.00</span>" * 8000
    started = time.monotonic()
    extract_page(page(f"<div>{spans}</div><p class=price>$5.00</p>"), URL, read_in_full=True)
    assert time.monotonic() - started < 60  # (a hang guard, not a timing)


REVIEWED = Path(__file__).parent / "fixtures" / "review"


@pytest.mark.parametrize("name", sorted(json.loads(
    (REVIEWED / "expected.json").read_text(encoding="utf-8"))))
def test_a_second_review_s_pages(name: str) -> None:
    """Small ordinary pages a second review wrote against the rules (a product header block,
    'ab'/'od' prices, cable and box sizes, stock rows with a second clause, 'no longer
    available' beside an available product, years in a spec table, tier tables whose rows
    end with ':', net prices written '249,00', blog reviews about a product, dotted article
    numbers, maker's numbers): each reads as the page says."""
    expected = json.loads((REVIEWED / "expected.json").read_text(encoding="utf-8"))[name]
    result = extract_page((REVIEWED / name).read_text(encoding="utf-8"),
                          "https://shop.example/p/1")
    assert result.status == expected["status"], result.reason
    if result.record is not None:
        got = result.record.model_dump(include={"price", "currency", "sku", "availability"})
        assert got == {k: v for k, v in expected.items() if k != "status"}
