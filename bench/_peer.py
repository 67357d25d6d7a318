"""What the peers' baselines share: reading schema.org JSON the way a Scrapy user would write
it (first Product, first offer), without voidx's code — the peer must stand on its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

FIELDS = ("name", "price", "currency", "availability", "sku", "gtin", "brand")
PRODUCT_TYPES = {"product", "productgroup", "individualproduct", "productmodel"}
SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}


def first(value: Any) -> Any:
    return (value[0] if value else None) if isinstance(value, list) else value


def name_of(value: Any) -> Any:
    value = first(value)
    return value.get("name") if isinstance(value, dict) else value


def is_product(types: Any) -> bool:
    names = types if isinstance(types, list) else [types]
    return any(str(n).rsplit("/", 1)[-1].lower() in PRODUCT_TYPES for n in names if n)


def walk(data: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document, ``@graph`` members included."""
    if isinstance(data, list):
        for item in data:
            yield from walk(item)
    elif isinstance(data, dict):
        yield data
        yield from walk(data.get("@graph"))
