"""Product data that pages ship as JSON in scripts and attributes, found without configuration.

Framework state (``__NEXT_DATA__``, ``__INITIAL_STATE__``, ``__NUXT__``, ``__APOLLO_STATE__``,
``__PRELOADED_STATE__``), Shopify's product JSON and analytics meta, BigCommerce's ``BCData``,
Magento's ``x-magento-init`` blocks, PrestaShop's ``data-product``, WooCommerce variations,
analytics data layers (``dataLayer`` ecommerce detail, GA4 ``view_item`` items) and generic
``application/json`` blocks. Every product-like object is collected with the path it was found
at; ``main_product`` picks the one that describes *this* page (URL, name or SKU), not the first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import re2
from selectolax.lexbor import LexborHTMLParser

from voidx.extract.casing import lower
from voidx.extract.css import Markup, select
from voidx.extract.fastre import finditer_where, for_re2
from voidx.extract.normalize import parse_price

# (patterns compiled once: re's module functions look each up on every call)
_MAIN_PATH = re.compile(r"(?:^|\.)(?:product|pageprops\.product|detail\.products\[0\]|items\[0\])$")
_NOT_WORDS = re.compile(r"\W+")

# (lower-case: they are looked up among keys lower-cased by _lower_keys)
NAME_KEYS = ("name", "title", "productname", "product_name", "item_name", "producttitle")
PRICE_KEYS = ("display_price", "saleprice", "sale_price", "finalprice", "final_price",
              "specialprice",
              "special_price", "currentprice", "current_price", "price_amount", "price",
              "amount", "priceamount", "pricevalue")
SKU_KEYS = ("sku", "reference", "item_id", "productsku", "product_sku", "mpn_sku", "variantsku")
CURRENCY_KEYS = ("currency", "currencycode", "pricecurrency", "currency_code")
OTHER_PRODUCTS = re.compile(r"related|recommend|upsell|up_sell|crosssell|cross_sell|similar|"
                            r"recent|also|bundle|accessor|complete|suggest|trending|bestseller",
                            re.I)
# Any object literal assigned in a script: framework state (__INITIAL_STATE__, __NUXT__,
# __APOLLO_STATE__, BCData, ShopifyAnalytics.meta, dataLayer_content, ...). Only literals that
# mention a price are parsed.
ASSIGNMENTS = re.compile(r"(?:window\.|var\s+|let\s+|const\s+|\b)([A-Za-z_$][\w$.]*)\s*=\s*"
                         r"(?=[{\[])")
# Where an assignment may start (RE2, one pass over a script of any size).
_ASSIGNED = re2.compile(for_re2(r"(?:window\.|var\s+|let\s+|const\s+)?[A-Za-z_$][\w$.]*\s*=\s*"
                                r"[{\[]"))
PUSHES = re.compile(r"(?:dataLayer\.push|gtag\s*\(\s*['\"]event['\"]\s*,\s*['\"]view_item['\"]\s*,"
                    r"|fbq\s*\(\s*['\"]track['\"]\s*,\s*['\"]ViewContent['\"]\s*,)\s*\(?\s*(?=\{)")
JSON_ATTRIBUTES = ("data-product", "data-product-json", "data-product_variations",
                   "data-json", "data-product-data", "data-variants")


@dataclass(frozen=True)
class Found:
    """A product-like object and where it was found ("__NEXT_DATA__.props.pageProps.product")."""

    path: str
    data: dict[str, Any]
    origin: str  # which blob: next_data, shopify, datalayer, ...
    currency: str | None = None  # declared by an enclosing object ({"currency": .., "items": ..})


def blobs(tree: LexborHTMLParser, markup: Markup | None = None) -> Iterator[tuple[str, Any]]:
    """(origin, parsed JSON) for every state blob of the page (``markup``: the page's, to
    skip looking for attributes it never writes)."""
    for script in select(tree, "script"):
        kind = lower(script.attributes.get("type") or "")
        text = script.text(deep=True) or ""
        ident = script.attributes.get("id") or ""
        if kind == "application/ld+json":
            continue
        if kind in ("application/json", "text/x-magento-init") or kind.endswith("+json"):
            data = loads(text)
            if data is not None:
                yield (_origin(ident, text, kind), data)
            continue
        if kind not in ("", "text/javascript", "application/javascript", "module"):
            continue
        if "price" not in lower(text):
            continue
        literals = _Literals(text)
        for match in finditer_where(ASSIGNMENTS, _ASSIGNED, text):
            literal, data = literals.read(match.end())
            if len(literal) < 20 or "price" not in lower(literal):
                continue
            if data is not None:
                yield (lower(match.group(1)).replace(".", "_"), data)
        for match in PUSHES.finditer(text):
            data = literals.read(match.end())[1]
            if data is not None:
                yield ("datalayer", data)
    for attr in JSON_ATTRIBUTES:
        if markup is not None and not markup.writes(attr):
            continue
        for node in select(tree, f"[{attr}]"):
            data = loads(node.attributes.get(attr) or "")
            if data is not None:
                yield (attr.removeprefix("data-"), data)


def _origin(ident: str, text: str, kind: str) -> str:
    if ident == "__NEXT_DATA__":
        return "next_data"
    if lower(ident).startswith("productjson") or '"handle"' in text[:4000]:
        return "shopify"
    if kind == "text/x-magento-init":
        return "magento"
    return lower(ident) or "json"


def loads(text: str) -> Any:
    """JSON, or a JavaScript object literal that is nearly JSON; None if neither."""
    text = text.strip().rstrip(";").strip()
    if not text or text[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    fixed = _js_to_json(text)
    try:
        return json.loads(fixed)
    except (ValueError, RecursionError):
        return None


_JS_TOKENS = re.compile(r"""("(?:\\.|[^"\\])*")|('(?:\\.|[^'\\])*')|([{,]\s*)([A-Za-z_$][\w$]*)(\s*:)"""
                        r"""|\b(undefined|NaN|Infinity)\b|,(\s*[}\]])|(!0|!1)""")


def _js_to_json(text: str) -> str:
    def fix(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        if m.group(2):
            inner = m.group(2)[1:-1].replace('\\"', '"').replace('"', '\\"').replace("\\'", "'")
            return f'"{inner}"'
        if m.group(4):
            return f'{m.group(3)}"{m.group(4)}"{m.group(5)}'
        if m.group(6):
            return "null"
        if m.group(7):
            return m.group(7)
        return "true" if m.group(8) == "!0" else "false"

    return _JS_TOKENS.sub(fix, text)


_JSON = json.JSONDecoder()
_STRUCTURE = re.compile(r"""[\\"'`{}\[\]/]""")
# After one of these (or at the start), "/" opens a regular expression, not a division.
_BEFORE_REGEX = frozenset("(,=:[!&|?;{}+-*%<>~^")
_KEYWORD_BEFORE = re.compile(r"(?<![\w$])(?:return|typeof|case|in|of|void|delete|throw|new|do|else)$")
_REGEX_END = re.compile(r"""\\.|\[(?:\\.|[^\]\\\n])*\]|/|\n""")
FRESH_SCANS = 8  # literals per script looked for again from their own start (see _Literals)


def closers(text: str, start: int = 0) -> dict[int, int]:
    """Where each ``{``/``[`` of a script closes, in one pass over its structural characters:
    strings and their escapes, ``//`` and ``/* */`` comments and regular expression literals
    (``/^https?:\\/\\//``) respected."""
    ends: dict[int, int] = {}
    stack: list[int] = []
    in_string: str | None = None
    pos = start
    while (match := _STRUCTURE.search(text, pos)) is not None:
        i = match.start()
        ch = text[i]
        pos = i + 1
        if in_string:
            if ch == "\\":
                pos = i + 2
            elif ch == in_string:
                in_string = None
        elif ch == "\\":
            pos = i + 2  # an escape outside a string belongs to a regex or an identifier
        elif ch in "\"'`":
            in_string = ch
        elif ch == "/":
            following = text[i + 1:i + 2]
            if following in ("/", "*"):
                end = text.find("\n" if following == "/" else "*/", i + 2)
                pos = len(text) if end < 0 else end + (1 if following == "/" else 2)
            elif _opens_regex(text, i):
                pos = _regex_end(text, i + 1)
        elif ch in "{[":
            stack.append(i)
        elif ch in "}]" and stack:
            opened = stack.pop()
            ends[opened] = i
    return ends


def _opens_regex(text: str, slash: int) -> bool:
    before = text[max(0, slash - 40):slash].rstrip()
    return not before or before[-1] in _BEFORE_REGEX or bool(_KEYWORD_BEFORE.search(before))


def _regex_end(text: str, pos: int) -> int:
    """Just after the "/" that closes a regular expression literal (its classes and escapes
    skipped); the end of the line if it never closes there."""
    while (match := _REGEX_END.search(text, pos)) is not None:
        token = match.group()
        if token == "/":
            return match.end()
        if token == "\n":
            return match.start()
        pos = match.end()
    return len(text)


class _Literals:
    """The object and array literals of one script, all found in one pass. A literal that
    pass could not close is looked for again from its own start, and what that scan finds
    is kept for the literals after it; a bounded number of times — a script full of unclosed
    literals must not cost seconds."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._ends: dict[int, int] | None = None
        self.fresh = FRESH_SCANS

    @property
    def ends(self) -> dict[int, int]:
        if self._ends is None:
            self._ends = closers(self.text)
        return self._ends

    def read(self, start: int) -> tuple[str, Any]:
        """The literal at ``start`` and what it holds (None if it is not nearly JSON). A
        literal that is JSON is read by the JSON parser at once, where it ends; only the
        others need the pass over the script (each structural character in Python: 40 ms
        on a 190 KB state blob)."""
        try:
            data, end = _JSON.raw_decode(self.text, start)
        except (ValueError, RecursionError):
            literal = self.at(start)
            return literal, loads(literal)
        return self.text[start:end], data

    def at(self, start: int) -> str:
        end = self.ends.get(start)
        if end is None and self.fresh > 0 and self.text[start:start + 1] in ("{", "["):
            self.fresh -= 1
            self.ends.update(closers(self.text, start))
            end = self.ends.get(start)
        return self.text[start:end + 1] if end is not None else ""


# -- finding products ------------------------------------------------------------------------
def _lower_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {lower(str(k)).replace("-", "_"): v for k, v in data.items()}


def _looks_like_product(data: dict[str, Any]) -> bool:
    keys = _lower_keys(data)
    has_name = any(isinstance(keys.get(k), str) and keys.get(k) for k in NAME_KEYS)
    has_price = any(k in keys for k in (*PRICE_KEYS, "pricerange", "prices", "variants",
                                         "offers", "price_range"))
    typename = str(keys.get("__typename") or keys.get("@type") or keys.get("type") or "")
    if has_name and (has_price or "product" in lower(typename)):
        return True
    # A variant: no name of its own, but a SKU, a price and the options that select it.
    return bool(has_price and keys.get("sku") and isinstance(keys.get("attributes") or
                                                           keys.get("options"), dict | list))


def selected_options(tree: LexborHTMLParser) -> set[str]:
    """Option values the page has preselected (selected <option>s, checked radios)."""
    values = set()
    for node in select(tree, "select option[selected], input[type=radio][checked]"):
        value = lower((node.attributes.get("value") or "").strip())
        if value:
            values.add(value)
    return values


def _variant_values(data: dict[str, Any]) -> set[str]:
    options = _lower_keys(data).get("attributes") or _lower_keys(data).get("options")
    if isinstance(options, dict):
        return {lower(str(v).strip()) for v in options.values() if v}
    if isinstance(options, list):
        return {lower(str(v).strip()) for v in options if isinstance(v, str | int)}
    return set()


def products(tree: LexborHTMLParser, markup: Markup | None = None) -> list[Found]:
    found: list[Found] = []
    for origin, data in blobs(tree, markup):
        for path, node, currency in _walk(data, origin):
            if _looks_like_product(node):
                found.append(Found(path, node, origin, currency))
    return found


def _walk(data: Any, path: str, depth: int = 0, currency: str | None = None
          ) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    if depth > 40:
        return
    if isinstance(data, dict):
        own = next((v for k, v in data.items() if lower(str(k)).replace("-", "_")
                    in CURRENCY_KEYS and isinstance(v, str) and len(v) == 3), None)
        currency = own or currency
        yield path, data, currency
        for key, value in data.items():
            if isinstance(value, dict | list):
                yield from _walk(value, f"{path}.{key}", depth + 1, currency)
    elif isinstance(data, list):
        for index, item in enumerate(data[:500]):
            if isinstance(item, dict | list):
                yield from _walk(item, f"{path}[{index}]", depth + 1, currency)


def main_product(found: list[Found], url: str, name_hint: object,
                 sku_hint: str | None, selected: set[str] | None = None) -> Found | None:
    """The product this page is about: the variant the page preselected, else by URL slug,
    name or SKU; never a related one. ``name_hint``: a name as the page's data gives it (a
    number, a list... read as its text)."""
    if not found:
        return None
    if selected:
        chosen = [f for f in found if (values := _variant_values(f.data))
                  and values <= selected and not OTHER_PRODUCTS.search(f.path)]
        if len(chosen) == 1:
            return Found(chosen[0].path, chosen[0].data, "selected_variant", chosen[0].currency)
    slug = lower(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    name = _norm(name_hint)

    def score(item: Found) -> float:
        keys = _lower_keys(item.data)
        points = 0.0
        for key in ("handle", "slug", "url", "url_key", "urlkey", "link", "path", "seo_url"):
            value = keys.get(key)
            if isinstance(value, str) and slug and slug in lower(value):
                points += 4
                break
        item_name = next((_norm(keys.get(k)) for k in NAME_KEYS
                          if isinstance(keys.get(k), str)), "")
        if name and item_name and (item_name == name or item_name in name or name in item_name):
            points += 3
        item_sku = next((str(keys[k]) for k in SKU_KEYS if keys.get(k)), "")
        if sku_hint and item_sku and lower(item_sku) == lower(sku_hint):
            points += 3
        if OTHER_PRODUCTS.search(item.path):
            points -= 6
        if _MAIN_PATH.search(lower(item.path)):
            points += 1.5
        if price_of(item.data)[0] is not None:
            points += 0.5
        return points

    best = max(found, key=score)
    return best if score(best) > 0 or len(found) == 1 else None


def _norm(text: object) -> str:
    return lower(_NOT_WORDS.sub(" ", str(text or "")).strip())


# -- fields of one product -------------------------------------------------------------------
def price_of(data: dict[str, Any]) -> tuple[Any, str | None]:
    """(raw price, currency) of a product-like object; the selected/first variant's if needed."""
    keys = _lower_keys(data)
    currency = next((str(keys[k]) for k in CURRENCY_KEYS if isinstance(keys.get(k), str)), None)
    for key in PRICE_KEYS:
        value = keys.get(key)
        raw, cur = _price_value(value)
        if raw is not None:
            return raw, cur or currency
    for key in ("pricerange", "price_range"):
        rng = keys.get(key)
        if isinstance(rng, dict):
            keys_of_range = _lower_keys(rng)
            low = (keys_of_range.get("minvariantprice") or keys_of_range.get("min")
                   or keys_of_range.get("minimum_price"))
            raw, cur = _price_value(low)
            if raw is not None:
                return raw, cur or currency
    offers = keys.get("offers")
    if isinstance(offers, list) and offers and isinstance(offers[0], dict):
        raw, cur = price_of(offers[0])
        if raw is not None:
            return raw, cur or currency
    variants = _variants(keys)
    if variants:
        chosen = next((v for v in variants if isinstance(v, dict)
                       and _lower_keys(v).get("selected")), variants[0])
        if isinstance(chosen, dict):
            raw, cur = price_of(chosen)
            return raw, cur or currency
    return None, currency


def _price_value(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or value is None:
        return None, None
    if isinstance(value, int | float | str):
        return (value if str(value).strip() else None), None
    if isinstance(value, dict):
        keys = _lower_keys(value)
        currency = next((str(keys[k]) for k in CURRENCY_KEYS if isinstance(keys.get(k), str)),
                        None) or next((parse_price(v)[1] for k, v in keys.items()
                                       if "formatted" in k and isinstance(v, str)), None)
        for key in ("final_price", "finalprice", "amount", "value", "raw", "centamount", "price",
                    "formatted", "final",
                    "with_tax", "without_tax", "gross",
                    # Square Online: {"sale", "regular"} on a variation, {"low", "high",
                    # "regular_low"...} on the product
                    "sale", "low", "regular"):
            inner = keys.get(key)
            if isinstance(inner, dict):
                raw, cur = _price_value(inner)
                if raw is not None:
                    return raw, cur or currency
            elif inner is not None and not isinstance(inner, bool | list):
                if key == "centamount" and isinstance(inner, int):
                    return inner / 100, currency
                return inner, currency
    return None, None


def fields_of(found: Found) -> dict[str, Any]:
    """The record fields an embedded product object carries (raw values)."""
    keys = _lower_keys(found.data)
    name = next((keys[k] for k in NAME_KEYS if isinstance(keys.get(k), str)), None)
    price, currency = price_of(found.data)
    sku_key = next((k for k in SKU_KEYS if keys.get(k) not in (None, "", 0)), None)
    sku = str(keys[sku_key]) if sku_key else None
    variants = _variants(keys)
    if sku is None and variants and isinstance(variants[0], dict):
        vk = _lower_keys(variants[0])
        sku = str(vk["sku"]) if vk.get("sku") else None
    brand = keys.get("brand") or keys.get("vendor") or keys.get("item_brand")
    if isinstance(brand, dict):
        brand = _lower_keys(brand).get("name")
    return {
        "name": name, "price": price, "currency": currency or found.currency, "sku": sku,
        "brand": brand if isinstance(brand, str) else None,
        "gtin": keys.get("gtin") or keys.get("barcode") or keys.get("ean") or keys.get("gtin13"),
        "availability": availability_of(found.data),
        "cents": _in_cents(found),
        # an analytics item_id is often the SKU, but as often a database or variant id
        "sku_is_id": sku_key == "item_id",
    }


def _variants(keys: dict[str, Any]) -> list[Any]:
    """A product's variants: a list, or Square Online's {"data": [...]} of variations."""
    variants = keys.get("variants") or keys.get("variations")
    if isinstance(variants, dict):
        variants = variants.get("data")
    return variants if isinstance(variants, list) else []


def availability_of(data: dict[str, Any]) -> str | None:
    keys = _lower_keys(data)
    for key in ("available", "instock", "in_stock", "is_in_stock", "isinstock", "availableforsale",
                "available_for_sale", "is_available", "isavailable", "instock_status"):
        value = keys.get(key)
        if isinstance(value, bool):
            return "in_stock" if value else "out_of_stock"
    for key in ("availability", "stock_status", "stockstatus", "availability_status",
                "inventory_status", "stock"):
        value = keys.get(key)
        if isinstance(value, str) and value:
            return value
    for key in ("sold_out", "soldout", "is_sold_out", "out_of_stock"):
        value = keys.get(key)
        if isinstance(value, bool):
            return "out_of_stock" if value else "in_stock"
    badges = keys.get("badges")
    if isinstance(badges, dict) and isinstance(badges.get("out_of_stock"), bool):
        return "out_of_stock" if badges["out_of_stock"] else "in_stock"
    quantity = keys.get("quantity") if "quantity" in keys else keys.get("inventory_quantity")
    if isinstance(quantity, int) and not isinstance(quantity, bool) and "availability" not in keys:
        return "in_stock" if quantity > 0 else "out_of_stock"
    return None


def _in_cents(found: Found) -> bool:
    """Shopify's product JSON and analytics meta give prices as integers in cents."""
    keys = _lower_keys(found.data)
    price = price_of(found.data)[0]
    if not isinstance(price, int) or isinstance(price, bool):
        return False
    shopify_shape = "handle" in keys or "compare_at_price" in keys or "price_min" in keys or (
        isinstance(keys.get("variants"), list) and any(
            isinstance(v, dict) and "compare_at_price" in _lower_keys(v)
            for v in keys["variants"][:3]))
    return found.origin in ("shopify", "shopifyanalytics_meta", "meta") or shopify_shape
