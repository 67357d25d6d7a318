"""Reading a product page with no data at all: the main product and its current price,
SKU and stock, from the page as a shopper sees it.

Price candidates are currency-bearing amounts, ``itemprop=price`` and ``data-price*``
attributes, and elements whose class or id says price. Each is scored: inside the main
product (around the title and the buy button) and labelled sale/current/final counts for it;
struck through (``del``, ``s``, "was", "compare at", "RRP", "list price"), inside related /
recommended / recently-viewed blocks, reviews, or an instalment or shipping note counts
against it. Scores and reasons are kept so ``voidx extract --explain`` can show them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2
from selectolax.lexbor import LexborHTMLParser, LexborNode

from voidx.extract.casing import lower
from voidx.extract.css import Markup, possible, select, select_first
from voidx.extract.fastre import finditer_where, for_re2
from voidx.extract.normalize import (
    CURRENCY_SYMBOLS,
    ISO_CODES,
    parse_availability,
    parse_price,
    sku_like,
)

# (patterns compiled once: re's module functions look each up on every call)
_TITLE_SEPARATOR = re.compile(r"\s+[|–—-]\s+")
_YEAR = re.compile(r"(?:19|20)\d\d")
_DIFFERENCE = re.compile(r"[+−]\s?$|(?:^|[(\[])\s?-\s?$")
_ASIN = re.compile(r"/(?:dp|gp/product)/([A-Z0-9]{10})(?:[/?]|$)")
_FIRST_CLAUSE = re.compile(r"[,;]|\s[–—-]\s")

# Single ASCII letters ("R") are too ambiguous on a page; 円, 元 and 원 are not.
_SYMBOLS = "|".join(re.escape(s) for s in sorted(CURRENCY_SYMBOLS, key=len, reverse=True)
                    if not (s.isascii() and s.isalpha() and len(s) == 1))
_AMOUNT = (r"\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2})?(?!\d)|"  # Indian grouping: 1,49,999
           r"\d{1,3}(?:[ \u00a0\u202f\u2009'’.,]\d{3})+(?:[.,]\d{1,2})?(?:[.,:][-–])?(?!\d)"
           r"|\d+(?:[.,]\d{1,2})?(?:[.,:][-–])?(?!\d)")
_NUMBER = re.compile(_AMOUNT)
_CODES = "|".join(sorted(ISO_CODES))
_BEFORE = re.compile(rf"(?:{_SYMBOLS}|\b(?:{_CODES})\b)\s?$")
_AFTER = re.compile(rf"\s?(?:{_SYMBOLS}|(?:{_CODES})\b|:[-–])")  # "4 995:-" is Nordic kronor


def _monies(text: str) -> Iterator[tuple[re.Match[str], int, int]]:
    """Each amount with a currency right next to it, in order: the number, and where the
    money (currency included) starts and ends. Numbers first, then a look at either side,
    which is much faster than one pattern tried at every position of every text."""
    for number in _NUMBER.finditer(text):
        start, end = number.span()
        before = _BEFORE.search(text, max(0, start - 6), start)
        after = _AFTER.match(text, end)
        if before or after:
            yield number, before.start() if before else start, after.end() if after else end


def find_money(text: str) -> str | None:
    """The first amount with a currency right next to it ("$1,299.00", "12,50 €", "EUR 5")."""
    for _, start, end in _monies(text):
        return text[start:end]
    return None
_DIGIT = re.compile(r"\d")
_BARE = re.compile(r"\s*\d[\d.,'\s\u00a0\u202f]{0,15}")
_ONE_NUMBER = re.compile(r"\d{1,3}(?:[.,' \u00a0\u202f]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?")
# The attribute and label patterns below are matched against lower-cased text.
STRUCK = re.compile(r"\b(?:was|old|compare|compare[-_]?at|regular|rrp|msrp|strike|"
                    r"strike[-_]?through|line[-_]through|original|before|non[-_]?sale|crossed|"
                    r"uvp|statt|oldprice|old-price|price--rrp|price-was|was-price|retail)\b|"
                    r"\bprice[-_]?(?:old|was|regular|before|compare)|regular[-_]?price|"
                    r"\blist[-_]?price|"
                    r"secondary[-_]price|normal[-_]?price")
# "Regular price" is left out: themes also use it to label the current price of an item that
# is not on sale; a regular price on sale is struck through or classed as such.
STRUCK_TEXT = re.compile(r"\b(?:was|rrp|list price|compare at|msrp|uvp|statt|"
                         r"tidigare pris|før|vorher|früher|ursprünglich|bisher|antes|prima|"
                         r"przed|voorheen|eerder|ancien prix|prix initial|소비자가|정가|"
                         r"prix barré|prix de base|avant|reg\.|retail price|typical price|"
                         r"original price)\b|定価|参考価格|希望小売|原价|原價|市场价")
CURRENT = re.compile(r"\b(?:sale|special|current|final|now|actual|our|offer|deal|promo|"
                     r"selling|price--with(?:out)?tax|price-item--sale|sales|finalprice)\b"
                     r"|final[-_]?price|current[-_]?price|sale[-_]?price|special[-_]?price|"
                     r"price[-_]?(?:sale|current|final|now|actual)|primary[-_]price")
OUTSIDE = re.compile(r"related|recommend|recently|recent[-_]?view|upsell|up-sell|cross[-_]?sell|"
                     r"similar|also[-_]?(?:bought|viewed|like)|you[-_]?may|carousel|slider|"
                     r"complete[-_]?the[-_]?look|bundle|(?<!\bp)review|testimonial|"
                     r"(?:^|\s)(?:site[-_]|page[-_]|main[-_]|global[-_]|top[-_])?(?:header|footer|"
                     r"nav|navbar|navigation|menu|mega[-_]?menu|breadcrumbs?)(?:\s|$)|"
                     r"\b(?:header|footer|nav|aside)$|mini[-_]?cart|cart[-_]?drawer|"
                     r"newsletter|cookie|announcement|promo[-_]?bar|shipping[-_]?bar|"
                     r"comparison|compare[-_]?table|other[-_]?sellers|sponsored|\bads?\b|"
                     r"suggest|trending|bestseller|wishlist|modal")
NOTE = re.compile(r"payments? of|/\s?mo\b|per month|a month|monthly|instal+ments?|klarna|"
                  r"afterpay|clearpay|affirm|sezzle|shop ?pay|paypal|financ|interest|"
                  r"shipping|delivery|postage|p&p|porto|versand|livraison|frais de port|envío|"
                  r"frakt|leverans|levering|lieferung|verzending|bezorging|dostawa|wysyłka|"
                  r"送料|配送|運費|배송비|ส่งฟรี|ค่าจัดส่ง|ค่าส่ง|เมื่อซื้อครบ|"
                  r"\d+\s?(?:g|kg|ml|l|개|매|입)\s?당|\d+\s?(?:g|kg|ml)\s?(?:あたり|当たり)|"
                  r"每\s?\d+\s?(?:g|kg|ml|克|千克|毫升)|\bpix\b|boleto|à vista|\d+\s?x de|em até|juros|"
                  r"parcelas?|mismo precio en|sin intereses|mensualidades|(?:[$€£¥₹₸₺₽฿₫₩]|\btl|\bkr|zł|\d)\s?[x×]\s?\d{1,2}(?![\d.,x×])"
                  r"(?!\s?(?:cm|mm|m|ml|cl|l|g|kg|oz|in)\b)|"
                  r"\b\d{1,2}\s?[x×]\s?(?:[$€£¥₹₸₺₽฿₫₩]\s?)?\d[\d.,]*\s?"
                  r"(?:[$€£¥₹₸₺₽฿₫₩]|tl\b|kr\b|zł|lei\b|ft\b|kč|r\$)|"
                  r"montering|assembly|delbetalning|räntefri|raten|ratenzahlung|mensualit|"
                  r"cuotas|\brata\b|afbetaling|lägsta pris|laagste prijs|plus bas|más bajo|"
                  r"più basso|niedrigster|najniższa cena|"
                  r"spedizione|orders? (?:over|above)|spend|free .{0,20}over|you save|save\b|"
                  r"off\b|discount|coupon|économisez|sparen sie|sie sparen|ahorra|risparmi|"
                  r"oszczędzasz|bespaar|\bdont\b|éco-participation|eco-?fee|ecotax|"
                  r"sold separately|add-on|optional extra|"
                  r"per (?:kg|100 ?g|g|l|ml|count|unit|item|ea)|/\s?\d*\s?(?:kg|g|mg|l|ml|cl|oz|"
                  r"fl oz|lb|count|ct|unit|ea|item|piece|pc|sheet|m|m2|sq ?ft)\b|unit price|"
                  # unit prices in other languages: "9,34 € litro", "€ / kg", "le litre"
                  r"(?:\bpor|\bel|\bal|\bau|\ble|\bla|\bpro|\bje|\bza|[€$£]|\beur|zł|kč|\bkr)"
                  r"\s?/?\s?(?:litros?|litres?|liters?|litr|kilos?|kg|100 ?g|100 ?ml)\b|"
                  r"/\s?(?:liter|litre|litro|litr|kilo)s?\b|precio por|prix unitaire|prix au|prezzo unitario|cena jednostkowa|"
                  r"jednotková cena|jämförpris|kilopris|literpris|"
                  r"grundpreis|as low as|starting at|"
                  r"\d+ or more|\d+\+ (?:items|units|pcs)|buy \d+|"
                  r"ab (?:[2-9]|[1-9]\d+) stück|from \d+ (?:pcs|pieces|units)|qty|quantity|volume|tier|"
                  r"lowest price|niedrigste|najniższa|prix le plus bas|найнижча|самая низкая|"
                  r"минимальная цена|nejnižší|najnižšia|legalacsonyabb|cel mai mic|"
                  r"χαμηλότερη|najniža|najnižja|най-ниската|mažiausia|zemākā|madalaim|"
                  r"mais baixo|laveste pris|alin hinta|"
                  r"\d\s?платеж|\d\s?платіж|ежемесячн|щомісячн|розстроч|рассроч|оплата частинами|"
                  r"gift card|reward|points|cashback|subscribe|deposit|trade[- ]in|"
                  r"other sellers|new \(\d+\) from|used from|from \S+ used")
# A price before tax: a note beside the price a consumer pays, unless the shop declares its
# prices before tax (a B2B shop: its data says valueAddedTaxIncluded false). Then the price
# with tax is the note.
TAX_EXCLUDED = re.compile(r"\bnet(?:to)?\b|excl\.?|excluding|ex\.? (?:tax|vat|gst)|ohne mwst|zzgl|"
                          r"hors taxe|\bht\b|bez vat|before tax|ex\.? vat|tax excl|"
                          r"税抜|税別|本体価格|不含税")
TAX_INCLUDED = re.compile(r"\bbrutto\b|\binkl\.?\s?(?:\d+\s?%\s?)?(?:mwst|ust)|"
                          r"\bincl\.?\s?(?:\d+\s?%\s?)?(?:vat|tax|btw|gst|tva)|"
                          r"including (?:vat|tax)|\bttc\b|税込|含税")
# A price for a larger quantity, labelled in a tier table's row ("Ab 4", "from 10", "od 5 ks"):
# the quantity is at least 2 and no amount ("ab 49,90 €" is a starting price, read elsewhere).
_FROM = r"(?:ab|from|von|vanaf|fra|från|od|à partir de|a partir de|desde|da|alkaen)"
_PIECES = r"(?:stück|stk\.?|st\.|pcs|pieces|units|items|ks|szt\.?|pz\.?|pezzi|kpl|stuks|unid\.?)"
TIER_LABEL = re.compile(rf"\b{_FROM}\s+(?:[2-9]|[1-9]\d{{1,4}})\s*{_PIECES}(?!\w)", re.I)
# The quantity cell of a tier table's row for two pieces or more: "Ab 4", "2-3", "10+",
# "od 5 ks" (not "1", "Bis 1", nor "Preis:").
TIER_CELL = re.compile(rf"(?:(?P<word>{_FROM})\s+)?(?:[2-9]|[1-9]\d{{1,4}})"
                       rf"\s*(?P<more>[-–]\s*\d{{1,5}}|\+)?\s*(?P<unit>{_PIECES})?\s*:?", re.I)
# A quantity column's heading: a bare number in its rows is a quantity, not a year or a size.
QUANTITY_HEADING = re.compile(r"(?i)\b(?:menge|anzahl|qty|quantity|stück|ilość|množství|antal|"
                              r"aantal|cantidad|quantità|quantité|quantidade)\b|数量|수량")
# Notes that only qualify an amount written after them ("쿠폰적용가 80,100원", "적립 마일리지 :
# 890원"): after a price they are about something else ("3,980円 398ポイント還元").
LABEL_NOTE = re.compile(r"쿠폰|적립|마일리지|무이자|クーポン|ポイント|优惠券|积分|返现|ลด\s*฿")
BUY_BUTTON = ("button[name=add], [name=add-to-cart], #add-to-cart, #addToCart, "
              "#form-action-addToCart, #product-addtocart-button, #add-to-cart-button, "
              "[id*=add-to-cart], [id*=addtocart], [id*=AddToCart], [class*=add-to-cart], "
              "[class*=addtocart], [class*=add_to_cart], [class*=AddToCart], "
              "[data-action=add-to-cart], [data-button-action=add-to-cart], "
              "button.single_add_to_cart_button, button[class*=buy-now], "
              "button[class*=btn-buy], button[class*=btn_buy], button[class*=add_cart], "
              "[data-testid*=add-to-cart i], form[action*='cart/add'] [type=submit]")
_SKU_WORDS = (
    r"\bSKU|\bItem\s*(?:#|No\.?|number|code)|\bArt(?:ikel)?\.?[-\s]?Nr\.?|Artikelnummer|"
    r"R[ée]f[ée]rence|\bRef\.|\bReference|\bProduct\s*(?:code|ID|number|#)|\bStyle\s*(?:#|code|"
    r"No\.?)|\bPart\s*(?:#|No\.?|number)|\bASIN|item number|Numer katalogowy|Codice|"
    r"Código|Codice(?: articolo)?|Kod produktu|Nr katalogowy|Numer oferty|Nr oferty|"
    r"Artikelnr\.?|Produktnummer|"
    r"Varenr\.?|Varenummer|Tuotenumero|Item code|商品コード|商品番号|品番|货号|상품코드|"
    r"상품번호|Termékazonosító|Cikkszám|Termékkód|Артикул|Код товар[уа]|Κωδικός(?: προϊόντος)?|"
    r"Mã sản phẩm|Ürün kodu|Stok kodu|Cod produs|Katalogové číslo|Kód produktu|Artikel")
SKU_LABEL = re.compile(
    # (the look-ahead, every label's first letter, spares trying each label at each offset)
    rf"(?=[saiprnckvtmüаκк商品货상])(?:{_SKU_WORDS})"
    r"\s*+[:#.]?+\s*+([A-Z0-9][A-Za-z0-9._/-]{2,40})", re.I)


# A label right after these words is the maker's number (an MPN), not the shop's SKU
# ("Maker's part no.", "Herstellerartikelnummer", "Manufacturer SKU").
MAKERS = re.compile(r"(?:\b(?:maker'?s?|manufacturer'?s?|mfr\.?|mfg\.?|fabricant|fabricante|"
                    r"produttore|producent|producenta|výrobce|gyártó|üretici)|hersteller)[\s-]*$",
                    re.I)
# A label after a price word is a price's ("Prix de référence : 399 €").
_PRICE_WORD = re.compile(r"(?:\bprix|\bprice|preis|prezzo|precio|preço|\bprijs|\bcena|\bpris)"
                         r"\s*(?:de\s*)?$", re.I)
# A model number: the shop's SKU on some platforms (Zen Cart, osCommerce "Model:"), the
# maker's on others: taken only when the page labels nothing else.
MODEL_LABEL = re.compile(r"\b(?:Model|Modell|Modèle|Modelo|Modello)(?:\s*(?:No\.?|#|number))?"
                         r"\s*+:\s*+([A-Z0-9][A-Za-z0-9._/-]{2,40})(?![A-Za-z0-9._/-])")


# Where NOTE may match, found by RE2 in one pass (Python's engine tries its few hundred
# words at each offset: 40 us a price).
_NOTE_AT_ALL = re2.compile(for_re2(NOTE.pattern))


def _has_note(text: str) -> bool:
    """``NOTE.search(text)``, tried only where RE2 finds it may match."""
    return _NOTE_AT_ALL.search(text) is not None and NOTE.search(text) is not None


# Where a SKU label may start: its words, without their word boundaries (so at least every
# place SKU_LABEL matches), found in one pass by RE2 (Python's engine tries each of the words
# at every offset: 0.6 ms on a page's text).
_SKU_STARTS = re2.compile(for_re2(_SKU_WORDS, ignore_case=True))


# A measurement, in a model line ("Model: 178 cm, wears size S") or after a SKU's value.
_MEASURE = re.compile(r"\d+(?:[.,]\d+)?\s?(?:cm|mm|m|kg|g|in|ft|lbs?)", re.I)
_UNIT_AFTER = re.compile(r"\s?(?:cm|mm|m|kg|g|in|ft|lbs?)\b", re.I)
# Decimals after a value read as a SKU: it is an amount ("399,00 €").
_AMOUNT_GOES_ON = re.compile(r"[.,]\d{2}(?!\d)")


def sku_labels(text: str) -> Iterator[re.Match[str]]:
    """``SKU_LABEL.finditer(text)``, tried only where a label's words are."""
    return finditer_where(SKU_LABEL, _SKU_STARTS, text)


SKU_NODES = ("[itemprop=sku]", "[data-product-sku]", "[data-sku]", ".sku", ".product-sku",
             ".sku-value", ".product-id", ".product-reference", ".product_sku",
             ".product.attribute.sku .value", "[class*=sku] .value", "#product-sku")
STOCK_NODES = ("[class*=stock]", "[id*=stock]", "[class*=availability]", "[id*=availability]",
               "[class*=delivery-information]", "[class*=delivery-status]",
               "[class*=inventory]", "[data-product-stock]", ".availability-msg",
               "#product-availability", "[class*=Availability]", "[data-testid*=stock]")
# The label of a stock row in a spec table or definition list ("在庫 | 残り2点").
STOCK_LABEL = re.compile(r"(?:stock|in stock|availability|stock status|lagerbestand|lagerstatus|"
                         r"verfügbarkeit|lieferbarkeit|disponibilité|disponibilidad|"
                         r"disponibilità|disponibilidade|beschikbaarheid|voorraad|dostępność|"
                         r"dostupnost|stan magazynowy|lager|saldo|在庫|在庫状況|"
                         r"库存|庫存|재고|재고 ?상태|наличие|наявність|stok|stok durumu|"
                         r"διαθεσιμότητα|készlet|tồn kho|tình trạng|ketersediaan)\s*:?", re.I)
# A product card of a grid or carousel (another product): matched on lower-cased classes.
CARD = re.compile(r"(?:^|[\s_-])(?:card|tile|grid[-_]?item|product[-_]?item|product[-_]?card|"
                  r"product[-_]?tile|productitem|producttile|product[-_]?thumb|listing[-_]?item|"
                  r"teaser|list[-_]?item)(?:$|[\s_-])")
# (RE2: one pass over up to 20,000 characters of a page, where Python's engine tries each
# phrase at each offset, 40 times slower)
SOLD_OUT = re2.compile(for_re2(ignore_case=True, pattern=r"sold out|out of stock|unavailable|notify me|email me when|"
                                 r"ausverkauft|épuisé|agotado|esaurito|niet beschikbaar|"
                                 r"currently unavail|vyprodáno|udsolgt|utsolgt|slutsåld|"
                                 r"slut (?:i|på) lager|nicht vorrätig|売り切れ|品切れ|在庫切れ|품절|"
                                 r"缺货|售罄"))


CONFIDENT = 4.0  # a price scored this high is what the page shows as the product's price


@dataclass(slots=True)
class DomCandidate:
    kind: str
    value: Any
    score: float
    text: str
    reasons: list[str] = field(default_factory=list)
    currency: str | None = None
    # a price in a radio option's label: (whether the page preselects it, the radio's group)
    option: tuple[bool, str] | None = None



@dataclass
class DomReading:
    name: str | None = None
    prices: list[DomCandidate] = field(default_factory=list)
    skus: list[DomCandidate] = field(default_factory=list)
    availability: list[DomCandidate] = field(default_factory=list)
    buy_buttons: int = 0

    def best_price(self) -> DomCandidate | None:
        return max(self.prices, key=lambda c: c.score) if self.prices else None

    def looks_like_listing(self) -> bool:
        """Many buy buttons or many different confident prices: a category page, not a product."""
        confident = {round(c.value, 2) for c in self.prices if c.score >= CONFIDENT
                     and "inside the main product" in c.reasons}
        return self.buy_buttons >= 5 or len(confident) >= 6


def read_dom(tree: LexborHTMLParser, url: str, *, for_data: bool = True,
             name: str | None = None, net_prices: bool = False,
             markup: Markup | None = None) -> DomReading:
    """What the page shows: its title, buy buttons, prices, SKUs and stock messages.
    ``for_data=False``: the page carries no product data and the reading only decides whether
    it shows one product; without a buy button, a SKU or a stock message it cannot, and its
    prices (the costly part, on a grid of products) are not read. ``name``: the product's name
    in its data, to find its title on a page whose ``<h1>`` is missing or the site's logo;
    ``net_prices``: the data declares its price before tax (the page's prices with tax are
    then notes, not those without); ``markup``: the page's, to skip the selectors that name
    words it never writes."""
    body = tree.body
    reading = DomReading()
    if body is None:
        return reading
    h1 = _title_node(tree, name)
    reading.name = _title(tree, h1)
    buttons = _buy_buttons(tree, markup)
    button = buttons[0] if buttons else None
    main = _main_container(h1, button)
    holders = _holders(main)
    if h1 is not None and main is not None:
        # Inside the product, a header block that holds its title is its own (Bootstrap's
        # "page-header" holding the title and the price), not the site's header.
        inner: list[int] = []
        for node in _ancestors(h1)[1:]:
            if node.mem_id == main.mem_id:
                holders.update(inner)
                break
            attrs = lower(_attrs_text(node))
            if _INNER_HEADER.search(attrs) or (
                    node.tag == "header" and not _SITE_BLOCK.search(attrs)
                    and select_first(node, "nav, [class*=cart], [class*=menu]") is None):
                inner.append(node.mem_id)
    marks = _Marks(holders)
    # Buttons of other products (cards, carousels) do not make this page a listing.
    reading.buy_buttons = sum(
        1 for b in buttons if not _in_card(_ancestors(b), holders) and not any(
            marks.outside(a) for a in _ancestors(b) if a.mem_id not in holders
            and a.tag not in ("html", "body")))
    reading.skus = _sku_candidates(body, main, url, markup)
    reading.availability = _availability_candidates(body, main, button, holders, markup)
    if not for_data and not (reading.buy_buttons or reading.skus or any(
            c.score >= 3 for c in reading.availability)):
        return reading
    order = {n.mem_id: i for i, n in enumerate(body.traverse(include_text=False))}
    h1_pos = order.get(h1.mem_id, 0) if h1 is not None else 0
    reading.prices = _price_candidates(_around(main, body), main, order, h1_pos, marks, markup,
                                       TAX_INCLUDED if net_prices else TAX_EXCLUDED)
    return reading


BUTTON_TEXT = re.compile(
    r"add to (?:cart|bag|basket|trolley)|buy (?:it )?now|in den (?:warenkorb|einkaufswagen)|"
    r"ajouter au panier|añadir al carrito|aggiungi al carrello|in (?:de )?winkelwagen|"
    r"do koszyka|lägg i varukorgen|カートに入れる|購入する|今すぐ購入|予約注文|予約する|"
    r"장바구니\s?(?:에\s?)?담기|구매하기|바로\s?구매|加入购物车|加入購物車|立即购买|立即購買|"
    r"kosárba|megveszem|vásárlás(?! folytat)|do košíka|přidat do košíku|în coș|adaugă în coș|"
    r"στο καλάθι|(?<!перейти )в кошик|(?<!перейти )в корзину|купити|купить|sepete ekle(?!nd)|satın al|"
    r"thêm vào giỏ|mua ngay|masukkan keranjang|beli sekarang|หยิบใส่ตะกร้า|ซื้อเลย|"
    r"เพิ่มลงตะกร้า|ใส่ตะกร้า|"
    r"أضف إلى السلة|اشتر الآن|הוסף לסל|pre-?order|vorbestellen|"
    r"précommander|"
    r"sold out|out of stock|ausverkauft|épuisé|notify me|currently unavailable", re.I)


def _buy_buttons(tree: LexborHTMLParser, markup: Markup | None = None) -> list[LexborNode]:
    """Buy buttons: known ids and classes, or a button whose text says add to cart / sold out.
    Wrappers that hold another match are dropped, so each button counts once."""
    found = select(tree, possible(BUY_BUTTON, markup))
    for node in select(tree, "button, input[type=submit], input[type=button], [role=button]"):
        text = " ".join(((node.text(deep=True) or "") + " "
                         + str(node.attributes.get("value") or "")).split())
        if len(text) < 60 and BUTTON_TEXT.search(text):
            found.append(node)
    unique: dict[int, LexborNode] = {}
    for node in found:
        unique.setdefault(node.mem_id, node)
    real = [n for n in unique.values() if n.tag in ("button", "input", "a")
            or n.attributes.get("role") == "button"]
    return real or list(unique.values())[:1]


def _title_node(tree: LexborHTMLParser, name: str | None) -> LexborNode | None:
    """The element that shows the product's title: the first ``<h1>`` that is not the site's
    logo (a link to the home page); else, knowing the data's ``name``, the first heading or
    title- or name-classed element whose text starts with it; else the first ``<h1>``."""
    h1s = select(tree, "h1")
    for h1 in h1s:
        if not _is_logo(h1):
            return h1
    wanted = " ".join(lower(name or "").split())
    if len(wanted) >= 3:
        for node in select(tree, "h2, h3, [class*=title], [class*=name], [itemprop=name]")[:300]:
            if node.tag in ("meta", "title", "link", "img", "input"):
                continue
            text = " ".join(lower(node.text(deep=True, separator=" ")).split())
            if text.startswith(wanted) and len(text) <= len(wanted) + 80 \
                    and not _in_navigation(node):
                return node
    return h1s[0] if h1s else None


def _in_navigation(node: LexborNode) -> bool:
    """Inside a menu or a breadcrumb trail (whose last crumb is often the product's name)."""
    for ancestor in _ancestors(node)[:10]:
        if ancestor.tag in ("nav", "header", "footer") or "breadcrumb" in lower(_attrs_text(
                ancestor)):
            return True
    return False


def _is_logo(h1: LexborNode) -> bool:
    """An ``<h1>`` holding a link to the home page: the site's name, not a product's."""
    for node in h1.traverse(include_text=False):
        if node.tag == "a":
            href = (node.attributes.get("href") or "").strip()
            if href in ("/", "./") or (href.count("/") == 3 and href.startswith("http")
                                            and href.endswith("/")):
                return True
    return False


def _title(tree: LexborHTMLParser, title: LexborNode | None) -> str | None:
    for selector in ("h1", 'meta[property="og:title"]', "title"):
        node = title if selector == "h1" else select_first(tree, selector)
        if node is None:
            continue
        text = node.attributes.get("content") if node.tag == "meta" else node.text(deep=True)
        text = " ".join((text or "").split())
        if selector == "title":
            text = _TITLE_SEPARATOR.split(text)[0]
        if text:
            return text
    return None


def _around(main: LexborNode | None, body: LexborNode) -> LexborNode:
    """Where price candidates are looked for: the main product and a little around it (other
    products' prices far away cannot be the product's price, and need not be read)."""
    node = main
    for _ in range(2):
        if node is None or node.parent is None or node.parent.tag in ("body", "html"):
            break
        node = node.parent
    return node if node is not None else body


def _main_container(h1: LexborNode | None, button: LexborNode | None) -> LexborNode | None:
    """The smallest element holding both the title and the buy button (else near the title)."""
    if h1 is None:
        return button.parent if button is not None else None
    if button is not None:
        ancestors = {n.mem_id for n in _ancestors(h1)}
        for node in _ancestors(button):
            if node.mem_id in ancestors and node.tag not in ("html", "body"):
                return node
    node = h1
    for _ in range(3):
        if node.parent is None or node.parent.tag in ("body", "html"):
            break
        node = node.parent
    return node


# A block of the site's, not of a page's content.
_SITE_BLOCK = re.compile(r"site|global|masthead|navbar|top[-_]?(?:bar|header)|main[-_]header")
# The header of a page's content (its title, maybe its price), not of the site.
_INNER_HEADER = re.compile(r"(?:^|\s)(?:page|entry|product|article|post|content|item)[-_]header"
                           r"(?:$|\s)")


def _ancestors(node: LexborNode) -> list[LexborNode]:
    out = []
    current: LexborNode | None = node
    while current is not None and current.tag not in ("-undef", None):
        out.append(current)
        current = current.parent
    return out


_TWO_DIGITS = re.compile(r"\d{2}")
_DIGITS = re.compile(r"\d+")


def _joined(node: LexborNode) -> str:
    """An amount split over elements, read as one: "$ 27 . 99" -> "$27.99", and cents set
    in superscript ("$129<sup>00</sup>") -> "$129.00"."""
    parts: list[str] = []
    owners: list[int] = []
    for text_node in node.traverse(include_text=True):
        if text_node.tag != "-text":
            continue
        text = "".join((text_node.text_content or "").split())
        if not text or "%" in text:
            continue  # (a percentage is no part of an amount: "฿299" "50%")
        owner = text_node.parent.mem_id if text_node.parent is not None else 0
        # Two digits in an element of their own right after the whole part are the cents
        # ("$<span>129</span><span>00</span>", "$129<sup>00</sup>").
        if len(text) == 2 and _TWO_DIGITS.fullmatch(text) and parts \
                and _DIGITS.fullmatch(parts[-1]) \
                and owners and owners[-1] != owner:
            text = "." + text
        parts.append(text)
        owners.append(owner)
    return "".join(parts)


_RANGE_SEP = re.compile(r"\s*(?:–|\s-\s|~|～|\s(?:to|bis|até|tot)\s)\s*")


def _price_range(text: str) -> bool:
    """Two amounts joined as a range ("R$ 497,00 - R$ 2.497,00", "$10.00 to $25.00"): the
    text before the separator ends with an amount, the text after it starts with one."""
    for sep in _RANGE_SEP.finditer(text):
        before, after = text[:sep.start()][-30:], text[sep.end():][:30]
        low, high = find_money(before), find_money(after)
        if low and high and before.endswith(low) and after.startswith(high):
            return True
    return False


# A discount badge: "-50%", "50% off", "50% ลด", "Save 20%".
_DISCOUNT = re.compile(r"(?:^|\s)[-−]\s?\d{1,2}\s?%|\d{1,2}\s?%\s?(?:off|ลด|rabatt|de descuento|"
                       r"descuento|korting|remise|sconto|sleva|zniżka|indirim|giảm|할인|折)|"
                       r"(?:save|spare|ahorra|économisez|risparmi)\s\d{1,2}\s?%")


# The lowest of a marketplace's other offers: "12 offres dès 289,99 €", "Used from $19".
_FROM_PRICE = re.compile(r"(?:offres?|offers?|angebote?|ofert[ay]?|aanbiedingen|sellers?|"
                         r"vendeurs?|occasions?|used|neuf|new|gebraucht|refurbished|"
                         r"reconditionné)\s+(?:dès|from|ab|od|vanaf|à partir de|desde)\s*$")


def _regular_of_sale(text: str) -> float | None:
    """In "฿599 ฿299 50% ลด" (two amounts, the higher first, and a discount), the higher: the
    regular price, whatever its style says."""
    lowered = lower(text)
    if not _DISCOUNT.search(lowered):
        return None
    rest = _DISCOUNT.sub(" ", lowered)  # (the badge's own "off", "save" are no note)
    if _has_note(rest) or TAX_EXCLUDED.search(rest) \
            or TAX_INCLUDED.search(rest) or "/" in text:
        return None
    pair = list(itertools.islice(_monies(text), 2))
    if len(pair) < 2:
        return None
    (first, _, gap), (second, resume, _) = pair
    high, low = parse_price(first.group(0))[0], parse_price(second.group(0))[0]
    # (side by side: "$27.99 ... ($3.50 / count)" is a price and its unit price)
    return high if high is not None and low is not None and high > low and \
        not text[gap:resume].strip() else None


def _before_money(text: str) -> str:
    """What stands before the first amount of a text ("(+" in "SRAM XDR (+50,00 zł)")."""
    money = find_money(text)
    return text[:text.find(money)] if money else ""


def _in_card(ancestors: list[LexborNode], wrappers: set[int]) -> bool:
    """Inside a link to another page or a card of a grid, below the main product's wrappers."""
    for a in ancestors[:8]:
        if a.mem_id in wrappers or a.tag in ("body", "html"):
            return False
        if a.tag == "a" and a.attributes.get("href"):
            return True
        if CARD.search(lower(str(a.attributes.get("class") or ""))):
            return True
    return False


def _holders(main: LexborNode | None) -> set[int]:
    """The main product and the page wrappers around it: their classes describe the page
    ("single-product has-reviews"), not a block of other products."""
    return {a.mem_id for a in _ancestors(main)} if main is not None else set()


def _inside(node: LexborNode, container: LexborNode | None) -> bool:
    return container is not None and any(a.mem_id == container.mem_id for a in _ancestors(node))


def _attrs_text(node: LexborNode) -> str:
    a = node.attributes
    custom = node.tag if node.tag and "-" in node.tag else ""  # <sale-price>, <compare-at-price>
    return " ".join(str(a.get(k) or "") for k in ("class", "id", "data-price-type", "itemprop",
                                                   "aria-label", "data-testid", "data-hook",
                                                   "data-test", "data-qa")) + " " + custom


# Elements that hold text, not blocks: a layout word in their class is a style.
_TEXT_TAGS = frozenset({"span", "strong", "b", "em", "i", "small", "p", "label", "bdi", "ins",
                        "sup", "sub", "font", "u", "h1", "h2", "h3", "h4", "h5", "h6"})
_LAYOUT_WORD = re.compile(r"(?:site[-_]|page[-_]|main[-_]|global[-_]|top[-_])?(?:header|"
                          r"footer|nav|navbar|navigation|menu|mega[-_]?menu|breadcrumbs?)")


# Pages of one site repeat the same few class lists on thousands of elements: what a text says
# is worked out once per process.
@lru_cache(maxsize=65536)
def _outside_word(text: str) -> str | None:
    found = OUTSIDE.search(text)
    return found.group(0) if found else None


@lru_cache(maxsize=65536)
def _outside_word_of_text(text: str) -> str | None:
    return next((m.group(0) for m in OUTSIDE.finditer(text)
                 if not _LAYOUT_WORD.fullmatch(m.group(0).strip())), None)


@lru_cache(maxsize=65536)
def _says(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.search(text) is not None


class _Marks:
    """What each element's attributes say (outside block, struck, current), computed once per
    element and per question: most elements are only asked whether they are outside."""

    def __init__(self, holders: set[int] | None = None) -> None:
        self._text: dict[int, str] = {}
        self._outside: dict[int, str | None] = {}
        self._cache: dict[int, tuple[str | None, bool, bool, bool]] = {}
        self.holders = holders or set()  # the main product and the wrappers around it
        self._checked: set[str | None] | None = None  # radio groups with a preselected option
        self._options: dict[int, tuple[bool, str] | None] = {}
        self._short: dict[int, str | None] = {}
        self._tiers: dict[int, bool] = {}  # rows and tables, by element
        self._blocks: dict[int, tuple[bool, float | None]] = {}

    def option(self, ancestors: list[LexborNode], body: LexborNode) -> tuple[bool, str] | None:
        """For a price in the label of a radio option (one-time or subscription, a licence, a
        size): whether that option is the preselected one, and its group's name; None when
        the price is in no such label, or no option of its group is preselected. Each label
        is looked into once."""
        label = next((node for node in ancestors[:4] if node.tag == "label"), None)
        if label is None:
            return self._list_option(ancestors)
        key = label.mem_id
        if key not in self._options:
            self._options[key] = self._option(label, body)
        return self._options[key]

    def _list_option(self, ancestors: list[LexborNode]) -> tuple[bool, str] | None:
        """The same for a price in an item of an option list (a dropdown or swatches drawn
        as ``<li class="option-item selected">``): its group is the list; None when no item
        of the list is marked selected."""
        for item in ancestors[1:6]:
            if item.tag not in ("li", "div", "button", "a") or item.parent is None \
                    or not OPTION_ITEM.search(str(item.attributes.get("class") or "")):
                continue
            key = item.mem_id
            if key not in self._options:
                items = [n for n in item.parent.iter(include_text=False) if n.tag == item.tag
                         and OPTION_ITEM.search(str(n.attributes.get("class") or ""))]
                chosen = [n.mem_id for n in items if _marked_selected(n)]
                parent = item.parent.attributes
                group = f"list {parent.get('id') or parent.get('class') or item.parent.tag}"
                for n in items:
                    self._options[n.mem_id] = (n.mem_id in chosen, group) \
                        if len(items) >= 2 and len(chosen) == 1 else None
            if self._options[key] is not None:
                return self._options[key]
        return None

    def _option(self, label: LexborNode, body: LexborNode) -> tuple[bool, str] | None:
        radio = next((n for n in label.traverse(include_text=False) if n.tag == "input"
                      and lower(n.attributes.get("type") or "") == "radio"), None)
        if radio is None:
            return None
        group = radio.attributes.get("name") or ""
        if "checked" in radio.attributes:
            return True, group
        if self._checked is None:
            self._checked = {n.attributes.get("name") or ""
                             for n in select(body, "input[type=radio][checked]")}
        return (False, group) if group in self._checked else None

    def _attrs(self, node: LexborNode) -> str:
        key = node.mem_id
        text = self._text.get(key)
        if text is None:
            text = self._text[key] = lower(_attrs_text(node))
        return text

    def outside(self, node: LexborNode) -> str | None:
        """The word that puts ``node`` in a block of other things (a header, reviews...)."""
        key = node.mem_id
        if key in self._outside:
            return self._outside[key]
        text = self._attrs(node)
        if node.tag in _TEXT_TAGS:
            # a layout word in a text element's class is a style ("ui huge header")
            found = _outside_word_of_text(text) if text.strip() else None
        else:
            found = _outside_word(text + " " + (node.tag or "")) \
                if text.strip() or node.tag in ("nav", "footer", "header", "aside") else None
        self._outside[key] = found
        return found

    def short_text(self, node: LexborNode | None) -> str | None:
        """``node``'s text, whitespace collapsed, when it has at most 120 characters (read
        once per element: a block of a thousand prices is read once, not once a price)."""
        if node is None:
            return None
        key = node.mem_id
        if key not in self._short:
            text = node.text(deep=True, separator=" ")
            self._short[key] = " ".join(text.split()) if len(text) <= 120 else None
        return self._short[key]

    def tier_row(self, row: LexborNode) -> bool:
        """Whether a table row is a tier price table's row for two pieces or more: its first
        cell holds only that quantity ("Ab 4", "2-3", "10+")."""
        key = row.mem_id
        if key not in self._tiers:
            cell = next((n for n in row.iter(include_text=False) if n.tag in ("th", "td")),
                        None)
            text = " ".join((cell.text(deep=True, separator=" ") if cell is not None
                             else "").split())
            found = TIER_CELL.fullmatch(text) if len(text) <= 40 else None
            if found is not None and not (found.group("word") or found.group("more")
                                          or found.group("unit")):
                # a bare number: a quantity only under a quantity heading, never a year
                table = next((a for a in _ancestors(row)[1:4] if a.tag == "table"), None)
                if _YEAR.fullmatch(text) or not self._quantity_table(table):
                    found = None
            self._tiers[key] = found is not None
        return self._tiers[key]

    def _quantity_table(self, table: LexborNode | None) -> bool:
        """Whether a table's heading names a quantity (read once per table)."""
        if table is None:
            return False
        key = table.mem_id
        if key not in self._tiers:
            self._tiers[key] = QUANTITY_HEADING.search(
                table.text(deep=True, separator=" ")[:200]) is not None
        return self._tiers[key]

    def block(self, node: LexborNode | None) -> tuple[bool, float | None]:
        """Of the block around a price (its parent, when short): whether it shows a price
        range, and the regular price of a sale pair in it (read once per block)."""
        key = node.mem_id if node is not None else 0
        if key not in self._blocks:
            around = self.short_text(node)
            self._blocks[key] = (False, None) if around is None else (
                _price_range(around), _regular_of_sale(around))
        return self._blocks[key]

    def of(self, node: LexborNode) -> tuple[str | None, bool, bool, bool]:
        key = node.mem_id
        found = self._cache.get(key)
        if found is None:
            text = self._attrs(node)
            struck = _says(STRUCK, text) or any(
                "strike" in name and value != "false" for name, value in node.attributes.items())
            found = (self.outside(node), struck, _says(CURRENT, text), "price" in text)
            self._cache[key] = found
        return found


_PRICE_CLASSES = "[class*=money], [class*=Money], [class*=price], [class*=Price]"
# An item of an option list, and how a page marks the chosen one.
OPTION_ITEM = re.compile(r"(?i)option|variant|swatch")
_SELECTED = re.compile(r"(?i)(?:^|[\s_-])(?:selected|active|checked|current|is-selected|"
                       r"is-active|chosen)(?:$|[\s_-])")


def _marked_selected(node: LexborNode) -> bool:
    attrs = node.attributes
    return bool(_SELECTED.search(str(attrs.get("class") or ""))) or \
        attrs.get("aria-selected") == "true" or attrs.get("aria-checked") == "true"


def _price_candidates(body: LexborNode, main: LexborNode | None, order: dict[int, int],
                      h1_pos: int, marks: _Marks, markup: Markup | None,
                      tax_note: re.Pattern[str]) -> list[DomCandidate]:
    seen: set[int] = set()
    found: list[DomCandidate] = []
    elements: list[tuple[LexborNode, Any, str]] = []
    for node in select(body, "[itemprop=price][content]:not(meta), [data-price-amount]"):
        attrs = node.attributes
        raw = attrs.get("data-price-amount") or attrs.get("content")
        elements.append((node, raw, f"{node.tag} price attribute {raw}"))
        seen.add(node.mem_id)
    # Bare numbers in money or price elements (the currency sign drawn by CSS).
    for node in select(body, possible(_PRICE_CLASSES, markup)):
        if not _BARE.fullmatch(node.text(deep=True) or ""):
            continue  # most price elements carry their currency: the text scan finds them
        parent = node.parent
        if parent is not None and find_money(_joined(parent)[:60]):
            continue  # a fragment of a split amount ("R$" "1" "." "299" "," "90"): read whole
        text = _joined(node)
        if node.mem_id not in seen and _ONE_NUMBER.fullmatch(text):
            elements.append((node, text, f"{text} (in a money element)"))
    for text_node in body.traverse(include_text=True):
        if text_node.tag != "-text":
            continue
        text = text_node.text_content or ""
        if not _DIGIT.search(text):
            continue
        element = text_node.parent
        for probe in (element, element.parent if element is not None else None):
            if probe is None or probe.tag in ("script", "style", "noscript", "option", "body",
                                              "textarea", "title", "tr") \
                    or probe.mem_id in seen:
                break  # (a table row's cells are not one amount: "Bis 1" | "CHF 54.90")
            own = probe.text(deep=True, separator=" ")
            if len(own) > 160:
                break
            own = " ".join(own.split())
            # "$ 27 . 99" split over spans reads right without the separators.
            joined = _joined(probe) if len(own) < 30 else ""
            money = (find_money(joined) if joined else None) or find_money(own)
            if money:
                seen.add(probe.mem_id)
                elements.append((probe, money, own))
                break
    for node, raw, text in elements:
        amount, currency = parse_price(raw)
        if amount is None or amount <= 0:
            continue
        candidate = DomCandidate("price", amount, 1.0, text[:120], currency=currency)
        _score(candidate, node, main, order, h1_pos, currency, marks, tax_note)
        found.append(candidate)
    return found


def _score(c: DomCandidate, node: LexborNode, main: LexborNode | None, order: dict[int, int],
           h1_pos: int, currency: str | None, marks: _Marks, tax_note: re.Pattern[str]
           ) -> None:
    ancestors = _ancestors(node)
    wrappers = marks.holders
    outside = next((o for a in ancestors if a.mem_id not in wrappers
                    and a.tag not in ("html", "body") and (o := marks.outside(a))), None)
    if outside or _in_card(ancestors, wrappers):
        # Another product's price (a carousel, a card, a review): it cannot win, so the
        # costly reading of its label and context is skipped.
        c.score -= 6 if outside else 4
        c.reasons.append(f"inside a '{outside}' block" if outside
                         else "inside a product card (another product)")
        return
    near = [marks.of(a) for a in ancestors[:6]]
    if main is not None and any(a.mem_id == main.mem_id for a in ancestors):
        c.score += 3
        c.reasons.append("inside the main product")
    c.option = marks.option(ancestors, ancestors[-1])
    if c.option is not None and c.option[0]:
        c.score += 3
        c.reasons.append(f"the price of the option the page preselects ({c.option[1]!r})")
    elif c.option is not None:
        c.score -= 4
        c.reasons.append(f"the price of an option the page does not preselect ({c.option[1]!r})")
    if any(a.tag in ("del", "s", "strike") for a in ancestors[:4]) or \
            "line-through" in " ".join(str(a.attributes.get("style") or "") for a in ancestors[:3]):
        c.score -= 6
        c.reasons.append("struck through")
    elif any(m[1] for m in near):
        c.score -= 5
        c.reasons.append("marked as a was/regular/list price")
    if any(m[2] for m in near):
        c.score += 2
        c.reasons.append("marked as the current/sale price")
    elif any(m[3] for m in near):
        c.score += 1
        c.reasons.append("in a price element")
    if node.attributes.get("itemprop") == "price" or node.attributes.get("data-price-type") in (
            "finalPrice", "final_price"):
        c.score += 2
        c.reasons.append("marked up as the offer price")
    label = _label(node)
    context = lower(_context(node, label))
    label = lower(label)
    if STRUCK_TEXT.search(label):
        c.score -= 4
        c.reasons.append("labelled was/RRP/list price")
    row = next((a for a in ancestors[:4] if a.tag == "tr"), None)
    if _has_note(context) or LABEL_NOTE.search(label) \
            or TIER_LABEL.search(label) or (row is not None and marks.tier_row(row)):
        c.score -= 5
        c.reasons.append("in an instalment, shipping or saving note")
    elif tax_note.search(context):
        c.score -= 5
        c.reasons.append("in a tax note: " + ("with tax" if tax_note is TAX_INCLUDED
                                              else "before tax"))
    position = order.get(node.mem_id)
    if position is not None and h1_pos:
        distance = position - h1_pos
        if 0 <= distance <= 60:
            c.score += 2
            c.reasons.append("right after the title")
        elif -30 <= distance < 0:
            c.score += 1
            c.reasons.append("just before the title")
    before = _before_money(c.text)
    if _FROM_PRICE.search(lower(before)):
        c.score -= 5
        c.reasons.append("the lowest of other offers ('from'), not this offer's")
    if _DIFFERENCE.search(before):
        c.score -= 5
        c.reasons.append("a price difference (+/-), not a price")
    in_range, regular = marks.block(node.parent)
    if in_range:
        c.score -= 4
        c.reasons.append("one end of a price range")
    elif regular == c.value:
        c.score -= 5
        c.reasons.append("the higher price beside a sale price and its discount")
    if currency:
        c.score += 0.5


INLINE = frozenset({"-text", "span", "small", "em", "i", "b", "strong", "sup", "sub", "abbr",
                    "label", "dt", "bdi", "s", "del", "ins", "a", "font", "u"})


def _label(node: LexborNode) -> str:
    """The words that label a price: its own text and what stands right before it."""
    parts = [node.text(deep=True, separator=" ")]
    current: LexborNode | None = node
    for _ in range(3):  # the label may sit before the price or before its wrapper
        if current is None:
            break
        prev = current.prev
        while prev is not None and prev.tag == "-text" and not (prev.text_content or "").strip():
            prev = prev.prev
        if prev is not None:
            text = prev.text(deep=True, separator=" ").strip()
            if text and not find_money(text):
                parts.append(text[-60:])
                break
        current = current.parent if current.prev is None else None
    return " ".join(parts)[:200]


# A badge after a price: a discount ("Ahorra 15%", "-20%", "Save 10%") or free shipping
# ("送料無料", "Free shipping"). It speaks of the saving or the delivery, not of the price it
# follows, which is the current one.
_BADGE = re.compile(r"\W*(?:(?:save|you save|ahorra|ahorras|spare|sparen|sie sparen|"
                    r"économisez|risparmi|oszczędzasz|bespaar|rabatt|descuento|"
                    r"sconto|remise|korting|sleva|zniżka)?\s*:?\s*-?\s*\d{1,3}\s?%\s*"
                    r"(?:off|rabatt|de descuento|descuento|korting|remise|sconto|ลด)?|"
                    r"送料無料|free (?:shipping|delivery)|kostenlose[rn]? (?:versand|lieferung)|"
                    r"versandkostenfrei|livraison (?:gratuite|offerte)|envío gratis|"
                    r"spedizione gratuita|gratis (?:verzending|levering|bezorging)|"
                    r"darmowa dostawa|fri frakt|fri levering|무료배송|包邮|免运费)\W*")


def _context(node: LexborNode, label: str) -> str:
    """The words a price stands in: its ``label``, its own text and what follows it
    ("/ month", "/ 100 ml", "with Klarna") — not the texts of its neighbours."""
    parts = [label]
    current: LexborNode | None = node
    for _ in range(2):
        if current is None:
            break
        following = current.next
        while following is not None and following.tag == "-text" \
                and not (following.text_content or "").strip():
            following = following.next
        if following is not None and following.tag in INLINE:
            text = following.text(deep=True, separator=" ").strip()
            if text and not (len(text) <= 60 and _BADGE.fullmatch(" ".join(lower(text).split()))):
                parts.append(text[:60])
                break
        current = current.parent if current.next is None else None
    return " ".join(parts)[:400]


def _sku_candidates(body: LexborNode, main: LexborNode | None, url: str,
                    markup: Markup | None = None) -> list[DomCandidate]:
    found: list[DomCandidate] = []
    marks = _Marks()
    for node in select(body, possible(", ".join(SKU_NODES), markup))[:12]:
        value = (node.attributes.get("content") or node.attributes.get("data-product-sku")
                 or node.attributes.get("data-sku") or node.text(deep=True, separator=" "))
        value = " ".join((value or "").split())
        label = SKU_LABEL.search(value)
        if label:
            value = label.group(1)
        if value and 2 < len(value) <= 40 and " " not in value:
            c = DomCandidate("sku", value, 3.0, value, ["an element marked as the SKU"])
            if any(marks.outside(a) for a in _ancestors(node)):
                c.score -= 4
                c.reasons.append("outside the main product")
            if _inside(node, main):
                c.score += 1
            found.append(c)
    scope = main if main is not None else body
    for source in (scope, body) if scope is not body else (body,):
        text = source.text(deep=True, separator=" ")
        for match in sku_labels(text):
            value = match.group(1).rstrip(".,;")
            before = max(0, match.start() - 20)
            if not sku_like(value) or _AMOUNT_GOES_ON.match(text, match.end(1)) \
                    or _PRICE_WORD.search(text, before, match.start()) \
                    or (MAKERS.search(text, before, match.start())
                        and not lower(match.group(0)).startswith("sku")):
                continue  # (a maker's number; "Prix de référence : 399,00 €" is a price)
            found.append(DomCandidate("sku", value, 2.5 if source is scope else 1.5,
                                      match.group(0)[:80], ["labelled in the page text"]))
        if not found and source is scope:
            for match in MODEL_LABEL.finditer(text):
                if sku_like(match.group(1)) and not _MEASURE.fullmatch(match.group(1)) \
                        and not _UNIT_AFTER.match(text, match.end(1)):
                    found.append(DomCandidate("sku", match.group(1), 1.0, match.group(0)[:80],
                                              ["labelled as the model"]))
        if found:
            break
    asin = _ASIN.search(url)
    if asin:
        found.append(DomCandidate("sku", asin.group(1), 1.0, url, ["from the URL"]))
    return found


def _availability_candidates(body: LexborNode, main: LexborNode | None,
                             button: LexborNode | None, wrappers: set[int],
                             markup: Markup | None = None) -> list[DomCandidate]:
    found: list[DomCandidate] = []
    scope = main if main is not None else body
    for selector in STOCK_NODES:
        for node in select(scope, possible(selector, markup))[:4]:
            if _in_card(_ancestors(node), wrappers):
                continue
            text = " ".join(node.text(deep=True, separator=" ").split())
            value = parse_availability(text) if len(text) < 120 else "unknown"
            if value != "unknown":
                found.append(DomCandidate("availability", value, 3.0, text[:80],
                                          ["stock message of the product"]))
    for label in select(scope, "th, dt, td")[:80]:
        if not STOCK_LABEL.fullmatch((label.text(deep=True) or "").strip()[:40]) \
                or _in_card(_ancestors(label), wrappers):
            continue
        cell = label.next
        while cell is not None and cell.tag == "-text":
            cell = cell.next
        if cell is None or cell.tag not in ("td", "dd"):
            continue
        text = " ".join(cell.text(deep=True, separator=" ").split())
        # (the first statement: "Nicht auf Lager, Lieferzeit ca. 3 Wochen"; "Synthetic, sold
        # out in walnut" is a gun's stock)
        first = _FIRST_CLAUSE.split(text, maxsplit=1)[0].strip()
        value = parse_availability(first) if len(first) <= 30 else "unknown"
        if value != "unknown":
            found.append(DomCandidate("availability", value, 3.0, text[:80],
                                      ["stock row of the product's table"]))
    if button is not None:
        text = " ".join(((button.text(deep=True) or "") + " "
                         + str(button.attributes.get("value") or "")).split())
        disabled = "disabled" in button.attributes or \
            button.attributes.get("aria-disabled") == "true"
        if SOLD_OUT.search(text):
            found.append(DomCandidate("availability", "out_of_stock", 3.5, text[:60],
                                      ["the buy button says sold out"]))
        elif parse_availability(text) == "preorder":
            found.append(DomCandidate("availability", "preorder", 3.5, text[:60],
                                      ["the buy button offers a pre-order"]))
        elif disabled:
            # Some shops render the button disabled until their scripts run: weaker than an
            # explicit stock message.
            found.append(DomCandidate("availability", "out_of_stock", 2.5, text[:60] or "button",
                                      ["the buy button is disabled"]))
        else:
            found.append(DomCandidate("availability", "in_stock", 2.0, text[:60] or "button",
                                      ["the buy button is active"]))
    else:
        said = SOLD_OUT.search(scope.text(deep=True, separator=" ")[:20000])
        if said is not None:
            found.append(DomCandidate("availability", "out_of_stock", 1.5, said.group(0),
                                      ["the product area says sold out"]))
    return found
