"""Normalisation of real-world values: price strings, availability phrases, GTINs."""

from __future__ import annotations

import pytest

from voidx.extract.normalize import gtin_ok, parse_availability, parse_price

PRICES: list[tuple[str, float | None, str | None]] = [
    # symbol before, US/UK style
    ("$1,299.00", 1299.0, "USD"),
    ("$19.99", 19.99, "USD"),
    ("$ 19.99", 19.99, "USD"),
    ("$5", 5.0, "USD"),
    ("US$ 24.50", 24.5, "USD"),
    ("£12", 12.0, "GBP"),
    ("£1,049.95", 1049.95, "GBP"),
    ("€49", 49.0, "EUR"),
    ("€ 1.299", 1299.0, "EUR"),
    ("€1,299.99", 1299.99, "EUR"),
    ("C$ 89.00", 89.0, "CAD"),
    ("CA$1,250", 1250.0, "CAD"),
    ("A$ 59.95", 59.95, "AUD"),
    ("NZ$120", 120.0, "NZD"),
    ("HK$ 2,380", 2380.0, "HKD"),
    ("S$18.90", 18.9, "SGD"),
    ("R$ 1.499,90", 1499.9, "BRL"),
    ("¥1,200", 1200.0, "JPY"),
    ("￥ 98,000", 98000.0, "JPY"),
    ("₹ 1,49,999", 149999.0, "INR"),
    ("Rs. 2,499", 2499.0, "INR"),
    ("₩ 35,000", 35000.0, "KRW"),
    ("₺249,90", 249.9, "TRY"),
    ("₪ 129.90", 129.9, "ILS"),
    ("฿ 1,290", 1290.0, "THB"),
    ("₱ 999.00", 999.0, "PHP"),
    ("Rp 120.000", 120000.0, "IDR"),
    ("RM 45.90", 45.9, "MYR"),
    # symbol or code after, continental style
    ("1.299,00 €", 1299.0, "EUR"),
    ("12,50 EUR", 12.5, "EUR"),
    ("12,50 €", 12.5, "EUR"),
    ("11,- €", 11.0, "EUR"),
    ("1 299,00 zł", 1299.0, "PLN"),
    ("129 zł", 129.0, "PLN"),
    ("2 490 Kč", 2490.0, "CZK"),
    ("12 500 Ft", 12500.0, "HUF"),
    ("349 kr", 349.0, "SEK"),
    ("1.499,95 DKK", 1499.95, "DKK"),
    ("899,00 NOK", 899.0, "NOK"),
    ("49,99 lei", 49.99, "RON"),
    ("1 990 ₽", 1990.0, "RUB"),
    ("1\u00a0234,56\u00a0€", 1234.56, "EUR"),
    ("CHF 1'299.50", 1299.5, "CHF"),
    ("Fr. 45.–", 45.0, "CHF"),
    ("USD 5", 5.0, "USD"),
    ("5 USD", 5.0, "USD"),
    ("EUR 108.75", 108.75, "EUR"),
    ("GBP 7.99", 7.99, "GBP"),
    # words around the amount
    ("from $9.99", 9.99, "USD"),
    ("Only £4.99!", 4.99, "GBP"),
    ("Price: 79.00 EUR incl. VAT", 79.0, "EUR"),
    ("Now $15.00", 15.0, "USD"),
    ("Sale price$24.00", 24.0, "USD"),
    ("3 payments of $33.33", 33.33, "USD"),
    ("$12.99 2 items", 12.99, "USD"),
    ("ab 19,90 €", 19.9, "EUR"),
    ("à partir de 29,99 €", 29.99, "EUR"),
    # ranges take the low end
    ("$10 - $20", 10.0, "USD"),
    ("$19.99–$49.99", 19.99, "USD"),
    ("€ 5,00 - € 9,00", 5.0, "EUR"),
    # bare numbers
    ("19.99", 19.99, None),
    ("2879.20", 2879.2, None),
    ("2879.2", 2879.2, None),
    ("1,299", 1299.0, None),
    ("1.299", 1299.0, None),
    ("0.299", 0.299, None),
    ("12,5", 12.5, None),
    ("1.234.567,89", 1234567.89, None),
    ("1,234,567.89", 1234567.89, None),
    ("1299", 1299.0, None),
    # no price shown
    ("Call for price", None, None),
    ("Price on request", None, None),
    ("Preis auf Anfrage", None, None),
    ("", None, None),
    ("$", None, "USD"),
]


@pytest.mark.parametrize(("text", "amount", "currency"), PRICES)
def test_price_strings(text: str, amount: float | None, currency: str | None) -> None:
    assert parse_price(text) == (amount, currency)


def test_price_table_is_large_enough() -> None:
    assert len(PRICES) >= 60


def test_numbers_and_hints() -> None:
    assert parse_price(19.99, "usd") == (19.99, "USD")
    assert parse_price("19,99", "EUR") == (19.99, "EUR")
    assert parse_price("$19.99", "CAD") == (19.99, "CAD")  # the page's declared currency wins
    assert parse_price(-1) == (None, None)
    assert parse_price(None, "GBP") == (None, "GBP")
    assert parse_price(True) == (None, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("https://schema.org/InStock", "in_stock"),
    ("http://schema.org/OutOfStock", "out_of_stock"),
    ("schema:PreOrder", "preorder"),
    ("https://schema.org/LimitedAvailability", "in_stock"),
    ("https://schema.org/SoldOut", "out_of_stock"),
    ("https://schema.org/Discontinued", "out_of_stock"),
    ("https://schema.org/BackOrder", "preorder"),
    ("InStock", "in_stock"),
    ("instock", "in_stock"),
    ("oos", "out_of_stock"),
    ("In stock", "in_stock"),
    ("In stock - ships tomorrow", "in_stock"),
    ("Only 3 left", "in_stock"),
    ("Only 1 left in stock - order soon.", "in_stock"),
    ("Sold out", "out_of_stock"),
    ("Out of stock", "out_of_stock"),
    ("Currently unavailable.", "out_of_stock"),
    ("Pre-order", "preorder"),
    ("Preorder now", "preorder"),
    ("Auf Lager", "in_stock"),
    ("Sofort lieferbar", "in_stock"),
    ("Ausverkauft", "out_of_stock"),
    ("Nicht auf Lager", "out_of_stock"),
    ("En stock", "in_stock"),
    ("Épuisé", "out_of_stock"),
    ("Rupture de stock", "out_of_stock"),
    ("Disponible", "in_stock"),
    ("Agotado", "out_of_stock"),
    ("Disponibile", "in_stock"),
    ("Esaurito", "out_of_stock"),
    ("Op voorraad", "in_stock"),
    ("Uitverkocht", "out_of_stock"),
    ("Dostępny", "in_stock"),
    ("Niedostępny", "out_of_stock"),
    ("В наличии", "in_stock"),
    ("Нет в наличии", "out_of_stock"),
    ("I lager", "in_stock"),
    ("Slut i lager", "out_of_stock"),
    ("Slut på lager", "out_of_stock"),
    ("Stokta yok", "out_of_stock"),
    ("Sin stock", "out_of_stock"),
    ("品切れ", "out_of_stock"),
    ("품절", "out_of_stock"),
    ("こちらは予約商品です。", "preorder"),
    ("予約受付中", "preorder"),
    ("预售", "preorder"),
    ("Nincs raktáron", "out_of_stock"),
    ("Raktáron", "in_stock"),
    ("Немає в наявності", "out_of_stock"),
    ("В наявності", "in_stock"),
    ("غير متوفر", "out_of_stock"),
    ("متوفر", "in_stock"),
    ("Hết hàng", "out_of_stock"),
    ("Còn hàng", "in_stock"),
    ("มีสินค้าพร้อมส่ง", "in_stock"),
    ("Ships in 3-5 weeks", "unknown"),
    ("", "unknown"),
    (None, "unknown"),
])
def test_availability(text: str | None, expected: str) -> None:
    assert parse_availability(text) == expected


@pytest.mark.parametrize(("gtin", "ok"), [
    ("4006381333931", True), ("4006381333932", False), ("036000291452", True),
    ("96385074", True), ("10012345000017", True), ("123", False), ("abcdefghijklm", False),
])
def test_gtin_check_digits(gtin: str, ok: bool) -> None:
    assert gtin_ok(gtin) is ok
