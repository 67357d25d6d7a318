"""Normalisation of what pages say into record values: prices, currencies, availability, GTINs."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from voidx.extract.casing import lower
from voidx.extract.record import Availability

# (patterns compiled once: re's module functions look each up on every call)
_DIGIT = re.compile(r"\d")
_CODE = re.compile(r"[A-Z][A-Z0-9._/-]{3,}")
_GROUPING = re.compile(r"[ \u00a0\u202f'’]")

CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD", "USD$": "USD", "C$": "CAD", "CA$": "CAD", "CAN$": "CAD", "A$": "AUD",
    "AU$": "AUD", "NZ$": "NZD", "HK$": "HKD", "S$": "SGD", "R$": "BRL", "MX$": "MXN",
    "NT$": "TWD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "￥": "JPY", "円": "JPY",
    "元": "CNY", "RMB": "CNY", "₹": "INR", "Rs.": "INR", "Rs": "INR", "₽": "RUB", "руб": "RUB",
    "₩": "KRW", "원": "KRW", "₺": "TRY", "TL": "TRY", "₴": "UAH", "грн": "UAH", "₪": "ILS", "₫": "VND",
    "฿": "THB", "₱": "PHP", "zł": "PLN", "Kč": "CZK", "Ft": "HUF", "kr.": "DKK", "kr": "SEK",
    "lei": "RON", "лв": "BGN", "RM": "MYR", "Rp": "IDR", "R": "ZAR", "Fr.": "CHF",
    "CHF": "CHF", "₦": "NGN", "KSh": "KES", "E£": "EGP", "د.إ": "AED", "ر.س": "SAR",
    "₸": "KZT", "₼": "AZN", "₾": "GEL", "₮": "MNT", "₲": "PYG", "₵": "GHS", "₡": "CRC",
    "៛": "KHR", "৳": "BDT",
}
# Every currency ISO 4217 lists (2025): what structured data may declare.
_ISO_4217 = """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR
MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS
VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL"""
ISO_4217 = frozenset(_ISO_4217.split())
# The codes read in a page's text: not those that are also words or common abbreviations
# written in capitals next to numbers ("ALL", "TOP", "CUP", "SOS", "GEL", "CRC 16", "MNT 2").
_CODES = """USD EUR GBP JPY CNY INR RUB KRW TRY UAH ILS VND THB PHP PLN CZK HUF SEK NOK DKK CHF
CAD AUD NZD HKD SGD BRL MXN ZAR RON BGN AED SAR MYR IDR TWD ARS CLP COP PEN EGP NGN KES ISK QAR
KWD MAD KZT AZN UZS BYN RSD BDT PKR LKR UYU PYG GTQ UGX TZS OMR BHD JOD XOF XAF KHR ETB DZD"""
ISO_CODES = frozenset(_CODES.split())
# Symbols that are also ordinary letters must stand apart from other letters.
_SYMBOL_RE = re.compile("|".join(
    (r"(?<![A-Za-z])" + re.escape(sym) + r"(?![A-Za-z])") if sym[-1].isalpha() or sym[0].isalpha()
    else re.escape(sym)
    for sym in sorted(CURRENCY_SYMBOLS, key=len, reverse=True)))
_CODE_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_NUMBER_RE = re.compile(r"""
    \d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2}(?!\d))?      # Indian grouping: 1,49,999.00
    |    \d{1,3}(?P<sep>[ \u00a0\u202f'’.,])\d{3}(?:(?P=sep)\d{3})*(?:[.,]\d{1,2}(?!\d))?
    | \d+(?:[.,]\d+)?
""", re.X)
_GTIN = re.compile(r"\d{8}|\d{12,14}")
_PLAIN_NUMBER = re.compile(r"\d{1,12}(?:\.\d{1,2})?")  # never "1.299": thousands?
_NO_PRICE = re.compile(r"call for price|price on request|auf anfrage|sur demande|"
                       r"contact us|preis auf anfrage|n/a", re.I)

_PHRASES: list[tuple[str, Availability]] = [
    (r"pre-?order|backorder|precompra|pr[ée]-?venda|vorbestell|précommande|preordine|pre-?venta|"
     r"予約受付|予約注文|予約商品|预售|預購|예약 ?(?:판매|주문)",
     "preorder"),
    (r"out of stock|outofstock|^oos$|sold out|soldout|unavailable|not available|discontinued|"
     r"niet (?:op voorraad|beschikbaar)|uitverkocht|vyprodáno|vypredané|není skladem|"
     r"udsolgt|utsolgt|slutsåld|slut (?:i|på) lager|ej i lager|ikke på lager|ei varastossa|"
     r"nicht vorrätig|brak w magazynie|stokta yok|sin stock|sin existencias|품절|缺货|售罄|"
     r"esgotado|tükendi|loppuunmyyty|notify me|back in stock|when (?:it's )?available|"
     r"dejte mi vědět|až bude|benachrichtig|wieder (?:verfügbar|da|auf lager)|prévenez-moi|"
     r"m'alerter|avísame|avvisami|laat het me weten|powiadom|完売|在庫切れ|売り切れ|品切れ|"
     r"ausverkauft|nicht (?:auf lager|verfügbar)|nicht (?:mehr )?lieferbar(?!\s+(?:an|nach|in|ins|auf|für)\b)|épuisé|rupture|agotado|esaurito|"
     r"niedostępn|нет в наличии|немає в наявності|nincs raktáron|εξαντλήθηκε|"
     r"stoc epuizat|(?<!sắp )hết hàng|không còn hàng|stok habis|tidak tersedia|สินค้าหมด|"
     r"ไม่มีสินค้า|אזל מהמלאי|לא במלאי|غير متوفر|نفذت الكمية|μη διαθέσιμο|"
     r"nu este în stoc|не в наявності|nem elérhető|nincs készleten|"
     r"재고 ?없음", "out_of_stock"),
    (r"in stock|instock|in_stock|available|only \d+ left|limitedavailability|auf lager|"
     r"op voorraad|skladem|på lager|i lager|na stanie|em estoque|stokta|varastossa|"
     r"在庫あり|残り\d+点|有货|в наявності|raktáron|διαθέσιμο|în stoc|còn hàng|"
     r"stok tersedia|มีสินค้า|במלאי|متوفر|재고 ?있음|sắp hết hàng|"
     r"lieferbar|en stock|disponible|disponibile|dostępn|в наличии|instoreonly|"
     r"onlineonly", "in_stock"),
]
# The record's own values and schema.org's ItemAvailability names (as URL or word).
_KNOWN_AVAILABILITY: dict[str, Availability] = {
    "in_stock": "in_stock", "out_of_stock": "out_of_stock", "preorder": "preorder",
    "unknown": "unknown", "instock": "in_stock", "outofstock": "out_of_stock",
    "soldout": "out_of_stock", "discontinued": "out_of_stock", "presale": "preorder",
    "backorder": "preorder", "limitedavailability": "in_stock", "onlineonly": "in_stock",
    "instoreonly": "in_stock"}
AVAILABILITY_PHRASES = [(re.compile(p, re.IGNORECASE), value) for p, value in _PHRASES]


def parse_price(value: object, currency_hint: str | None = None
                ) -> tuple[float | None, str | None]:
    """Amount (major units) and ISO 4217 currency from a number or a shop's price text.

    ``$1,299.00``, ``1.299,00 €``, ``£12``, ``12,50 EUR``, ``from $9.99``, ``11,-``; in a range
    the first (lowest) amount; with several numbers, the one standing next to a currency.
    """
    if value is None or isinstance(value, bool):
        return None, currency_code(currency_hint)
    if isinstance(value, int | float):
        ok = value >= 0 and math.isfinite(value)
        return (float(value) if ok else None), currency_code(currency_hint)
    text = str(value).strip()
    if _PLAIN_NUMBER.fullmatch(text):  # "123.99", as structured data writes it
        return float(text), currency_code(currency_hint)
    currency = currency_code(currency_hint) or _currency_in(text)
    if _NO_PRICE.search(text) and not _DIGIT.search(text):
        return None, currency
    numbers = list(_NUMBER_RE.finditer(text))
    if not numbers:
        return None, currency
    chosen = numbers[0]
    if len(numbers) > 1:
        markers = [m.span() for m in (*_SYMBOL_RE.finditer(text), *_CODE_RE.finditer(text))]
        near = [n for n in numbers
                if any(abs(n.start() - end) <= 2 or abs(start - n.end()) <= 2
                       for start, end in markers)]
        chosen = near[0] if near else chosen
    return _parse_number(chosen.group(0)), currency


def sku_like(value: str) -> bool:
    """SKUs carry a digit or are written in capitals ("ASH-EBO-M"); "arc-brass-table-lamp"
    is a URL handle and "Not available" is a sentence."""
    return bool(_DIGIT.search(value) or _CODE.fullmatch(value))


def currency_code(hint: str | None) -> str | None:
    """ISO 4217 code for a code or a symbol ("eur", "€", "zł"), else None."""
    if not hint:
        return None
    hint = hint.strip()
    if hint.upper() in ISO_4217:
        return hint.upper()
    return CURRENCY_SYMBOLS.get(hint)


def _currency_in(text: str) -> str | None:
    for code in _CODE_RE.findall(text):
        if code in ISO_CODES:
            return code
    symbol = _SYMBOL_RE.search(text)
    return CURRENCY_SYMBOLS[symbol.group(0)] if symbol else None


def _parse_number(raw: str) -> float | None:
    digits = _GROUPING.sub("", raw)
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    decimal_sep: str | None = None
    if last_dot >= 0 and last_comma >= 0:
        decimal_sep = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        head, tail = digits.rsplit(sep, 1)
        # One separator followed by three digits groups thousands ("1,299", "1.299"),
        # unless the whole part is zero ("0.299").
        if digits.count(sep) == 1 and (len(tail) != 3 or head.strip("0") == ""):
            decimal_sep = sep
    for sep in {".", ","} - {decimal_sep}:
        digits = digits.replace(sep, "")
    if decimal_sep:
        digits = digits.replace(decimal_sep, ".")
    try:
        amount = float(Decimal(digits))
    except InvalidOperation:
        return None
    return amount if math.isfinite(amount) else None


def parse_availability(value: object) -> Availability:
    if value is None:
        return "unknown"
    text = str(value).strip()
    last = text.rsplit("/", 1)[-1]
    known = _KNOWN_AVAILABILITY.get(lower(last))
    if known is not None:
        return known
    text = last if text.startswith(("http://", "https://")) else text
    return _phrase_availability(text) if len(text) <= 200 else _search_phrases(text)


@lru_cache(maxsize=16384)
def _phrase_availability(text: str) -> Availability:
    """(Pages of a site repeat a few stock messages; the phrases are many, in many languages.)"""
    return _search_phrases(text)


def _search_phrases(text: str) -> Availability:
    for pattern, availability in AVAILABILITY_PHRASES:
        if pattern.search(text):
            return availability
    return "unknown"


def gtin_ok(value: str) -> bool:
    """True if ``value`` is a GTIN-8/12/13/14 whose check digit is right."""
    if not _GTIN.fullmatch(value):
        return False
    # From the right, leaving out the check digit: weights 3, 1, 3, 1, ...
    total = 0
    weight = 3
    for char in reversed(value[:-1]):
        total += weight * int(char)
        weight = 4 - weight
    return (10 - total % 10) % 10 == int(value[-1])


def clean_text(value: object) -> str | None:
    if value is None:
        return None
    return " ".join(str(value).split()) or None
