"""schema.org Product data a page carries: JSON-LD and microdata (OpenGraph: ``scan``).

Each reader returns flat candidate dicts with raw values (keys of the product record);
normalisation and validation happen in ``voidx.extract.extractor``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from voidx.extract.casing import lower
from voidx.extract.css import select
from voidx.extract.normalize import parse_price, sku_like

PRODUCT_TYPES = {"product", "productgroup", "individualproduct", "productmodel", "vehicle",
                 "car", "book"}
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _type_names(value: object) -> set[str]:
    names = value if isinstance(value, list) else [value]
    return {lower(str(n).rsplit("/", 1)[-1]) for n in names if n}


# -- JSON-LD ---------------------------------------------------------------------------------
def jsonld_products(scripts: list[str]) -> list[dict[str, Any]]:
    """Products in the page's JSON-LD scripts (their texts, as ``scan`` finds them)."""
    products = []
    for script in scripts:
        data = _load_json(script)
        if data is None:
            continue
        for node in _walk(data):
            if _type_names(node.get("@type")) & PRODUCT_TYPES:
                products.append(_flatten_jsonld(node))
    return products


# Control characters allowed in strings (json.loads with an argument builds a decoder a call).
_JSON = json.JSONDecoder(strict=False)


def _load_json(text: str) -> Any:
    text = text.strip().removeprefix("<!--").removesuffix("-->").strip()
    text = text.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
    try:
        return _JSON.decode(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    try:  # a trailing comma, as hand-written templates leave them
        return _JSON.decode(_TRAILING_COMMA.sub(r"\1", text))
    except (json.JSONDecodeError, RecursionError):
        return None


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _walk(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _walk(data["@graph"])


def _name_of(value: Any) -> Any:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return value.get("name") or value.get("@id")
    return value


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _flatten_jsonld(node: dict[str, Any]) -> dict[str, Any]:
    offers = node.get("offers")
    variants = node.get("hasVariant")
    if not offers and isinstance(variants, list):
        # A ProductGroup's price lives on its variants: take the first that is offered.
        offered = [v for v in variants if isinstance(v, dict) and v.get("offers")]
        if offered:
            offers = offered[0]["offers"]
            node = {**offered[0], **{k: v for k, v in node.items() if v}}
    offer = _pick_offer(offers)
    rating: dict[str, Any] = (node["aggregateRating"]
                              if isinstance(node.get("aggregateRating"), dict) else {})
    image = _first(node.get("image"))
    gtin = next((node.get(k) for k in ("gtin13", "gtin", "gtin14", "gtin12", "gtin8", "ean")
                 if node.get(k)), None)
    price = offer.get("price")
    if price is None:
        price = offer.get("lowPrice")
    spec = offer.get("priceSpecification")
    if price is None and isinstance(spec, dict | list):
        spec = _first(spec)
        price = spec.get("price") if isinstance(spec, dict) else None
        offer.setdefault("priceCurrency", spec.get("priceCurrency") if isinstance(spec, dict)
                         else None)
    availability = offer.get("availability")
    if isinstance(offers, list) and any(
            isinstance(o, dict) and "instock" in lower(str(o.get("availability", "")))
            for o in offers):
        # One offer per size or colour: the product is available if any of them is.
        availability = "https://schema.org/InStock"
    found = {
        "name": node.get("name"),
        "url": node.get("url") or offer.get("url"),
        "price": price,
        "currency": offer.get("priceCurrency"),
        "availability": availability,
        # (a model given as text is the shop's own code on some platforms: osCommerce)
        "sku": node.get("sku") or offer.get("sku") or _text(node.get("model")),
        "gtin": gtin,
        "brand": _name_of(node.get("brand")),
        "category": _name_of(node.get("category")),
        "rating": rating.get("ratingValue"),
        "review_count": rating.get("reviewCount") or rating.get("ratingCount"),
        "image": image.get("url") if isinstance(image, dict) else image,
    }
    if price is not None and price is offer.get("lowPrice") \
            and offer.get("highPrice") not in (None, "", price):
        found["range"] = True  # a price range: which of its prices is current, the page says
    if _net(offer, spec, price):
        found["net"] = True
    return found


def _text(value: Any) -> str | None:
    """A model that is a code ("XA-24PRO"): text without spaces, with a digit or in
    capitals; not a model's name ("Galaxy S24 Ultra") nor a ProductModel item."""
    if not isinstance(value, str) or " " in value.strip():
        return None
    value = value.strip()
    return value if sku_like(value) else None


def _net(offer: dict[str, Any], spec: Any, price: Any) -> bool:
    """Whether the offer's price is before tax: the offer says so, or the price
    specifications of its price all do (a shop may list a gross and a net one)."""
    if offer.get("valueAddedTaxIncluded") is not None:
        return _before_tax(offer["valueAddedTaxIncluded"])
    same = [s for s in (spec if isinstance(spec, list) else [spec]) if isinstance(s, dict)
            and s.get("valueAddedTaxIncluded") is not None
            and (s.get("price") is None or _same_amount(s.get("price"), price))]
    return bool(same) and all(_before_tax(s["valueAddedTaxIncluded"]) for s in same)


def _same_amount(a: Any, b: Any) -> bool:
    """Two prices as written ("249,00" and 249)."""
    first, second = parse_price(a)[0], parse_price(b)[0]
    return first is not None and second is not None and abs(first - second) < 0.005


def _before_tax(value: Any) -> bool:
    """A ``valueAddedTaxIncluded`` that says no (a boolean, or its text)."""
    return value is False or lower(str(value).strip()) == "false"


def _pick_offer(offers: Any) -> dict[str, Any]:
    if isinstance(offers, dict) and _type_names(offers.get("@type")) & {"aggregateoffer"} \
            and isinstance(offers.get("offers"), list) and offers.get("lowPrice") is None:
        offers = offers["offers"]
    if isinstance(offers, list):
        offers = next((o for o in offers if isinstance(o, dict)
                       and (o.get("price") is not None or o.get("lowPrice") is not None)),
                      offers[0] if offers else {})
    return dict(offers) if isinstance(offers, dict) else {}


# -- microdata -------------------------------------------------------------------------------
def microdata_products(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    items = _Microdata(tree)
    products = []
    for scope in items.scopes.values():
        attrs = items.attrs[scope.mem_id]
        if not _type_names((attrs.get("itemtype") or "").split()) & PRODUCT_TYPES:
            continue
        owner = items.owner.get(scope.mem_id)
        if "itemprop" in attrs and owner is not None and not (
                "mainEntity" in (attrs.get("itemprop") or "").split()
                and (items.attrs[owner].get("itemtype") or "").rstrip("/").endswith("Page")):
            continue  # a product nested as a property of another item (e.g. isRelatedTo), not
            # as the main entity of its page
        props = items.props(scope.mem_id)
        offer = _first(props.get("offers")) or {}
        offer = offer if isinstance(offer, dict) else {}
        rating = _first(props.get("aggregateRating")) or {}
        rating = rating if isinstance(rating, dict) else {}
        products.append({
            "name": _first(props.get("name")),
            "url": _first(props.get("url")),
            "price": _first(offer.get("price") or offer.get("lowPrice") or props.get("price")),
            "currency": _first(offer.get("priceCurrency") or props.get("priceCurrency")),
            "availability": _first(offer.get("availability") or props.get("availability")),
            "sku": _first(props.get("sku") or offer.get("sku"))
            or _text(_first(props.get("model"))),
            "gtin": _first(props.get("gtin13") or props.get("gtin") or props.get("gtin14")
                           or props.get("gtin12") or props.get("gtin8")),
            "brand": _name_of(_first(props.get("brand"))),
            "category": _first(props.get("category")),
            "rating": _first(rating.get("ratingValue")),
            "review_count": _first(rating.get("reviewCount") or rating.get("ratingCount")),
            "image": _image(_first(props.get("image"))),
        })
        if _before_tax(_first(offer.get("valueAddedTaxIncluded"))):
            products[-1]["net"] = True
    return products


def _image(value: Any) -> Any:
    """An image given as a URL, or as an ImageObject item (its url or contentUrl)."""
    if isinstance(value, dict):
        return value.get("url") or value.get("contentUrl")
    return value


# Properties the item queries may return in all (a property is returned once per item around
# it). Flat items (a product and its reviews) return each property about twice; past this
# and three times the largest item, items nest thousands deep and reading them would take
# quadratic time.
MAX_PROPERTY_READS = 20_000


class _Microdata:
    """The page's items: one query for the itemscope elements, then one per item for the
    itemprop elements inside it. A property belongs to the innermost item around it: the
    last, in page order, of the items whose query found it."""

    def __init__(self, tree: LexborHTMLParser) -> None:
        scopes = select(tree, "[itemscope]")
        self.attrs: dict[int, dict[str, str | None]] = {}
        self.scopes: dict[int, LexborNode] = {}
        self.owner: dict[int, int | None] = {}
        self.owned: dict[int, list[tuple[LexborNode, int, dict[str, str | None]]]] = {}
        found: list[tuple[int, list[LexborNode]]] = []
        reads = largest = 0
        for scope in scopes:
            mem_id = scope.mem_id
            inside = [node for node in select(scope, "[itemprop]") if node.mem_id != mem_id]
            reads += len(inside)
            largest = max(largest, len(inside))
            if reads > max(MAX_PROPERTY_READS, 3 * largest):
                # Items nested thousands deep (each query reads every property below it):
                # no page describes a product so; its microdata is not read at all.
                self.scopes = {}
                return
            self.scopes[mem_id] = scope
            self.attrs[mem_id] = scope.attributes
            found.append((mem_id, inside))
            for node in inside:
                self.owner[node.mem_id] = mem_id
        for mem_id, inside in found:
            owned = [(node, node.mem_id) for node in inside if self.owner[node.mem_id] == mem_id]
            if owned:
                self.owned[mem_id] = [(node, node_id, self._attributes(node, node_id))
                                      for node, node_id in owned]

    def _attributes(self, node: LexborNode, mem_id: int) -> dict[str, str | None]:
        attrs = self.attrs.get(mem_id)
        if attrs is None:
            attrs = self.attrs[mem_id] = node.attributes
        return attrs

    def props(self, scope: int, depth: int = 0) -> dict[str, list[Any]]:
        props: dict[str, list[Any]] = {}
        for node, mem_id, attrs in self.owned.get(scope, ()):
            names = [n for n in (attrs.get("itemprop") or "").split() if n in _READ]
            if not names:
                continue  # a description, reviews...: nothing the record takes
            value: Any
            if "itemscope" in attrs:
                value = {k: _first(v) for k, v in self.props(mem_id, depth + 1).items()} \
                    if depth < 8 else None
            elif "content" in attrs:
                value = attrs["content"]
            else:
                attr = _VALUE_ATTR.get(node.tag or "")
                value = attrs[attr] if attr and attrs.get(attr) is not None else node.text(
                    deep=True, separator=" ")
            for name in names:
                props.setdefault(name, []).append(value)
        return props


# The properties ``microdata_products`` reads, on the product and the items inside it.
_READ = frozenset({"name", "url", "price", "lowPrice", "priceCurrency", "availability", "sku",
                   "gtin13", "gtin", "gtin14", "gtin12", "gtin8", "brand", "category",
                   "aggregateRating", "ratingValue", "reviewCount", "ratingCount", "image",
                   "contentUrl", "offers", "valueAddedTaxIncluded", "model"})


# Where an element without ``content`` keeps its property's value (else: its text).
_VALUE_ATTR = {"meta": "content", "a": "href", "link": "href", "img": "src", "source": "src",
               "time": "datetime", "data": "value", "meter": "value"}
