"""Normalisation of what pages say into record values: prices, currencies, availability, GTINs."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from voidx.extract.record import Availability

CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD", "C$": "CAD", "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD",
    "HK$": "HKD", "S$": "SGD", "R$": "BRL", "MX$": "MXN", "$": "USD", "€": "EUR", "£": "GBP",
    "¥": "JPY", "円": "JPY", "₹": "INR", "₽": "RUB", "₩": "KRW", "₺": "TRY", "₴": "UAH",
    "₪": "ILS", "₫": "VND", "฿": "THB", "₱": "PHP", "zł": "PLN", "Kč": "CZK", "Ft": "HUF",
    "kr": "SEK", "lei": "RON", "руб": "RUB", "Fr.": "CHF", "CHF": "CHF",
}
ISO_CODES = frozenset(
    ["USD", "EUR", "GBP", "JPY", "CNY", "INR", "RUB", "KRW", "TRY", "UAH", "ILS", "VND", "THB", "PHP", "PLN", "CZK", "HUF", "SEK", "NOK", "DKK", "CHF", "CAD", "AUD", "NZD", "HKD", "SGD", "BRL", "MXN", "ZAR", "RON", "BGN", "AED", "SAR", "MYR", "IDR", "TWD", "ARS", "CLP", "COP", "PEN", "EGP", "NGN", "KES"])
_SYMBOL_RE = re.compile("|".join(re.escape(s) for s in sorted(CURRENCY_SYMBOLS, key=len,
                                                                 reverse=True)))
_CODE_RE = re.compile(r"\b([A-Z]{3})\b")
_NUMBER_RE = re.compile(r"\d[\d\s.,'\u00a0\u202f]*")

_PHRASES: list[tuple[str, Availability]] = [
        (r"pre-?order|precompra|vorbestell|précommande|preordine", "preorder"),
        (r"out of stock|outofstock|sold out|soldout|unavailable|not available|discontinued|"
         r"ausverkauft|nicht (?:auf lager|verfügbar)|épuisé|rupture|agotado|esaurito|"
         r"niedostępn|нет в наличии", "out_of_stock"),
        (r"in stock|instock|in_stock|available|only \d+ left|limitedavailability|auf lager|"
         r"lieferbar|en stock|disponible|disponibile|dostępn|в наличии|instoreonly|"
         r"onlineonly", "in_stock"),
]
AVAILABILITY_PHRASES = [(re.compile(p, re.IGNORECASE), value) for p, value in _PHRASES]


def parse_price(value: object, currency_hint: str | None = None
                ) -> tuple[float | None, str | None]:
    """Amount (major units) and ISO 4217 currency from a number or a shop's price text."""
    if value is None or isinstance(value, bool):
        return None, _currency(currency_hint)
    if isinstance(value, int | float):
        return (float(value) if value >= 0 else None), _currency(currency_hint)
    text = str(value).strip()
    currency = _currency(currency_hint) or _currency_in(text)
    match = _NUMBER_RE.search(text)
    if not match:
        return None, currency
    amount = _parse_number(match.group(0))
    return amount, currency


def _currency(hint: str | None) -> str | None:
    if not hint:
        return None
    hint = hint.strip()
    if hint.upper() in ISO_CODES:
        return hint.upper()
    return CURRENCY_SYMBOLS.get(hint)


def _currency_in(text: str) -> str | None:
    for code in _CODE_RE.findall(text):
        if code in ISO_CODES:
            return code
    symbol = _SYMBOL_RE.search(text)
    return CURRENCY_SYMBOLS[symbol.group(0)] if symbol else None


def _parse_number(raw: str) -> float | None:
    digits = re.sub(r"[\s'\u00a0\u202f]", "", raw).rstrip(".,")
    if not digits:
        return None
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_sep: str | None = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        tail = digits.rsplit(sep, 1)[1]
        # "1,299" / "1.299" with one separator and three digits after it is a thousands group.
        decimal_sep = None if (len(tail) == 3 and digits.count(sep) >= 1) else sep
        if digits.count(sep) > 1:
            decimal_sep = None
    else:
        decimal_sep = None
    thousands = {".", ","} - ({decimal_sep} if decimal_sep else set())
    for sep in thousands:
        digits = digits.replace(sep, "")
    if decimal_sep:
        digits = digits.replace(decimal_sep, ".")
    try:
        return float(Decimal(digits))
    except InvalidOperation:
        return None


def parse_availability(value: object) -> Availability:
    if value is None:
        return "unknown"
    text = str(value).strip()
    text = text.rsplit("/", 1)[-1] if text.startswith(("http://", "https://")) else text
    for pattern, availability in AVAILABILITY_PHRASES:
        if pattern.search(text):
            return availability
    return "unknown"


def gtin_ok(value: str) -> bool:
    """True if ``value`` is a GTIN-8/12/13/14 whose check digit is right."""
    if not re.fullmatch(r"\d{8}|\d{12,14}", value):
        return False
    digits = [int(d) for d in value]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def clean_text(value: object) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None
