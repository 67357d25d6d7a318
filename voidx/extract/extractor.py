"""One page in, one extraction out: merge structured data and selector rules into a record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser

from voidx.collect.urls import canonicalize
from voidx.config import SourceConfig
from voidx.extract.normalize import clean_text, gtin_ok, parse_availability, parse_price
from voidx.extract.record import ProductRecord
from voidx.extract.selectors import apply_rules
from voidx.extract.structured import jsonld_products, microdata_products, opengraph_product

# Bump when extraction changes what it produces: pages are extracted again.
EXTRACTOR_VERSION = 1
STRUCTURED = ("jsonld", "microdata", "opengraph")


@dataclass
class Extraction:
    status: str  # ok | no_product | quarantined
    record: ProductRecord | None = None
    method: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    reason: str | None = None


def extract_page(html: bytes | str, url: str, source: SourceConfig | None = None) -> Extraction:
    tree = LexborHTMLParser(html)
    candidates: list[tuple[str, dict[str, Any]]] = []
    jsonld = jsonld_products(tree)
    if jsonld:
        candidates.append(("jsonld", _main_product(jsonld, url)))
    microdata = microdata_products(tree)
    if microdata:
        candidates.append(("microdata", _main_product(microdata, url)))
    og = opengraph_product(tree)
    if og:
        candidates.append(("opengraph", og))
    selected = apply_rules(tree, source.selectors) if source and source.selectors else {}
    if selected:
        if source is not None and source.prefer == "selectors":
            candidates.insert(0, ("selectors", selected))
        else:
            candidates.append(("selectors", selected))
    if not candidates:
        return _nothing(url, source, "no structured product data and no selector match")

    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for method, values in candidates:
        for key, value in values.items():
            if key not in merged and value not in (None, "", []):
                merged[key], provenance[key] = value, method
    if not merged.get("name"):
        if not any(m in STRUCTURED[:2] for m, _ in candidates):
            return _nothing(url, source, "selectors matched but no product name")
        return Extraction("quarantined", reason="product data without a name",
                          provenance=provenance)
    # The record's method is where its name and price came from (the main source).
    method = provenance.get("price", provenance["name"])
    try:
        record = _build(merged, url, method, tree)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return Extraction("quarantined", method=method, provenance=provenance,
                          reason=f"{where}: {err['msg']} (got {err.get('input')!r})")
    return Extraction("ok", record=record, method=method, provenance=provenance)


def record_url(tree: LexborHTMLParser, url: str) -> str:
    """The page's canonical URL (rel=canonical), else its own, canonicalised."""
    canonical = tree.css_first('link[rel="canonical"][href]')
    found = canonicalize(canonical.attributes["href"] or "", url) if canonical else None
    return found or canonicalize(url) or url


def _nothing(url: str, source: SourceConfig | None, reason: str) -> Extraction:
    """No record: a problem on a page that should be a product page, else just not a product."""
    if source is not None and any(re.search(p, url) for p in source.product_urls):
        return Extraction("quarantined", reason=f"product page without a product: {reason}")
    return Extraction("no_product", reason=reason)


def _main_product(products: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """The product this page is about: the one whose URL matches, else the first with a price."""
    page = canonicalize(url)
    for product in products:
        if product.get("url") and canonicalize(str(product["url"]), url) == page:
            return product
    return next((p for p in products if p.get("price") is not None), products[0])


def _build(values: dict[str, Any], url: str, method: str, tree: LexborHTMLParser
           ) -> ProductRecord:
    price, currency = parse_price(values.get("price"), _str(values.get("currency")))
    gtin = clean_text(values.get("gtin"))
    gtin = gtin if gtin and gtin.isdigit() and gtin_ok(gtin) else None
    rating = values.get("rating")
    count = values.get("review_count")
    image = clean_text(values.get("image"))
    return ProductRecord(
        url=record_url(tree, url),
        name=clean_text(values.get("name")) or "",
        price=price,
        currency=currency if price is not None else None,
        availability=parse_availability(values.get("availability")),
        sku=clean_text(values.get("sku")),
        gtin=gtin,
        brand=clean_text(values.get("brand")),
        category=clean_text(values.get("category")),
        rating=_number(rating),
        review_count=_count(count),
        image=canonicalize(image, url) if image else None,
        method=method,
    )


def _number(value: Any) -> float | None:
    """A plain number (ratings, counts); the sign is kept so that validation can refuse it."""
    if value in (None, ""):
        return None
    try:
        return float(str(value).replace(",", ".").strip())
    except ValueError:
        return parse_price(value)[0]


def _count(value: Any) -> int | None:
    """A count such as ``"1,234"`` or ``"213 reviews"``."""
    if isinstance(value, int | float):
        return int(value)
    match = re.search(r"-?\d[\d,.\s]*", str(value or ""))
    return int(re.sub(r"[^\d-]", "", match.group(0))) if match else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
