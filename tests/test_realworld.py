"""Real-world product pages (Shopify, WooCommerce, Magento, BigCommerce, PrestaShop, SFCC,
Next.js, marketplaces) and block pages, read with zero configuration: exact values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from voidx.extract.extractor import extract_page

FIXTURES = Path(__file__).parent / "fixtures" / "realworld"
FIELDS = ("price", "currency", "sku", "availability")


# a, b: the pages the heuristics were developed on; c to h were written later by someone who
# never saw the extractor and first run held out (c: 9 of 16 right, d: 12 of 16, e: 8 of 13,
# f: 11 of 16, g: 10 of 16, h: 9 of 16, i: 11 of 16, j: 14 of 16), then used.
TUNED = ("expected-a.json", "expected-b.json", "expected-c.json", "expected-d.json",
         "expected-e.json", "expected-f.json", "expected-g.json", "expected-h.json",
         "expected-i.json", "expected-j.json")
# Pages still read wrong, asserted as such so that a fix shows up (strict xfail).
KNOWN_MISSES = {
    "c-wordpress-edd-variable-brl.html": "a digital course with no stock statement: its "
                                         "active buy button reads as in stock (price right)",
    "i-odoo17-be-giftcard-denominations.html": "a gift card with no stock statement: its "
                                               "active buy button reads as in stock",
    "i-ceneo-like-pl-price-comparison-offers.html": "a price-comparison page that sells "
                                                    "nothing, read as the product of its data",
}


def cases() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(FIXTURES.glob("expected-*.json")):
        if path.name not in TUNED:
            continue
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


CASES = cases()


def read(name: str) -> dict[str, Any]:
    expected = CASES[name]
    result = extract_page((FIXTURES / name).read_bytes(), expected["url"])
    got: dict[str, Any] = {"status": "blocked" if result.status == "blocked" else (
        "ok" if result.status == "ok" else result.status)}
    if result.record is not None:
        got.update(result.record.model_dump(include=set(FIELDS)))
    else:
        got.update(dict.fromkeys(FIELDS))
        got["availability"] = "unknown"
    got["reason"] = result.reason
    return got


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[n]))
    if n in KNOWN_MISSES else n for n in sorted(CASES)])
def test_page(name: str) -> None:
    expected = CASES[name]
    got = read(name)
    assert got["status"] == expected["status"], (expected.get("case"), got["reason"])
    if expected["status"] == "blocked":
        return
    assert got["price"] == pytest.approx(expected["price"], abs=0.005) \
        if expected["price"] is not None else got["price"] is None, expected.get("case")
    assert got["currency"] == (expected["currency"] if expected["price"] is not None else None)
    assert got["sku"] == expected["sku"], expected.get("case")
    assert got["availability"] == expected["availability"], expected.get("case")


def test_there_are_enough_pages() -> None:
    assert len(CASES) - len(KNOWN_MISSES) >= 40
    platforms = {c["platform"].split()[0].lower() for c in CASES.values()}
    assert len(platforms) >= 8
