"""Hostile and broken markup: every page is read in time proportional to its size.

Each tail below once cost time quadratic in its length (minutes for these sizes: an
unterminated tag or comment was searched from every later "<", items nested thousands deep
each queried their whole subtree). The timeout guards against a hang, it does not time the
reading: after the fix each page takes milliseconds.
"""

from __future__ import annotations

import json
import re

import pytest

from voidx.extract.css import UNREADABLE
from voidx.extract.extractor import extract_page

URL = "https://shop.example/p/lamp"
DATA = {"@context": "https://schema.org", "@type": "Product", "name": "Desk Lamp", "sku": "DL-1",
        "offers": {"@type": "Offer", "price": "49.90", "priceCurrency": "EUR",
                   "availability": "https://schema.org/InStock"}}
PRODUCT = (f'<html><head><script type="application/ld+json">{json.dumps(DATA)}</script>'
           '</head><body><main><h1>Desk Lamp</h1><p class="price">49,90 €</p>'
           '<button class="add-to-cart">Add to cart</button></main>')

TAILS = {
    "unterminated meta tags": "<meta property=og:title " * 20_000,
    "unterminated link tags": "<link rel=stylesheet href=/a.css " * 20_000,
    "one tag holding thousands of meta tags": "<meta property=og:x " * 20_000 + ">",
    "unterminated comments": "<!--" * 100_000,
    "scripts opened in a script comment": "<script><!--" + "<script>" * 50_000,
    "unterminated script tags": "<script type=application/ld+json " * 20_000,
    "open angle brackets": "<a" * 100_000,
    "items nested 15,000 deep": "<div itemscope itemtype=https://schema.org/Thing>"
                                + "<div itemprop=offers itemscope>" * 15_000
                                + "<span itemprop=price>1</span>",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("tail", sorted(TAILS))
def test_a_hostile_tail_neither_hangs_nor_hides_the_product(tail: str) -> None:
    page = (PRODUCT + TAILS[tail]).encode()
    for read_in_full in (False, True):
        result = extract_page(page, URL, read_in_full=read_in_full)
        assert result.status == "ok", (read_in_full, result.reason)
        assert result.record is not None
        assert (result.record.name, result.record.price, result.record.currency,
                result.record.sku) == ("Desk Lamp", 49.9, "EUR", "DL-1")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("tail", sorted(TAILS))
def test_a_hostile_page_alone_is_no_product(tail: str) -> None:
    result = extract_page(TAILS[tail].encode(), URL)
    assert (result.status, result.record) == ("no_product", None), result.reason


@pytest.mark.timeout(60)
def test_elements_nested_deeper_than_a_browser_would_are_quarantined_not_parsed() -> None:
    """lexbor takes quadratic time over elements left open inside each other (2.7 s for 50,000
    <div>, 38 s for 80,000 <span> before 80,000 <li>): past ``MAX_OPEN_ELEMENTS`` a page that
    has to be parsed is quarantined instead."""
    for tail, left_open in (("<div>" * 300_000, "300,000"),
                            ("<section><ul>" * 150_000, "300,000"),
                            ("<span>" * 80_000 + "<li></li>" * 80_000, "80,000")):
        result = extract_page((PRODUCT + tail).encode(), URL, read_in_full=True)
        assert result.status == "quarantined"
        assert result.reason == (f"{UNREADABLE}: {left_open} elements left open (at most "
                                 "20,000 are read; browsers stop nesting at 512)")
        # read from its data, the page needs no document: its record stands
        quick = extract_page((PRODUCT + tail).encode(), URL)
        assert quick.record is not None and quick.record.price == 49.9
    # as many elements closed, or of kinds that cannot nest in themselves, are read as usual
    for tail in ("<div></div>" * 100_000, "<li>" * 100_000, "<br>" * 100_000,
                 "<p>" * 100_000):
        result = extract_page((PRODUCT + tail).encode(), URL, read_in_full=True)
        assert result.status == "ok" and result.record is not None, result.reason
        assert result.record.price == 49.9


def test_the_fast_sku_label_and_sold_out_searches_read_as_python_does() -> None:
    """The page-text searches run by RE2 (a pass over the text instead of each phrase tried at
    each offset) find exactly what Python's patterns find: the same SKU labels (overlapping
    words, words inside words, Turkish dotted and dotless i, words without a boundary) and
    the same first sold-out phrase."""
    import random
    import re

    from voidx.extract.dom import SKU_LABEL, SOLD_OUT, sku_labels

    pieces = ["SKU", "sku", "SKod produktu", "Item", "item number", "Item code", "İtem No.",
              "ıtem #", "Art.-Nr.", "Artikelnummer", "ArtikelArtikel", "Codice articolo",
              "Κωδικός προϊόντος", "商品コード", "Артикул", "xSKU", "éSKU", "中SKU", ": ", "#",
              " ", "  ", "\n", ".", "AB-123", "x9", "ZZ/77.1", "-", "SOLD OUT", "sold out",
              "UNAVAİLABLE", "unavaılable", "Ausverkauft", "slut på lager", "品切れ", "notify",
              " me", "épuisé", "ÉPUISÉ"]
    sold_out = re.compile(SOLD_OUT.pattern.replace("[iİı]", "i")[4:], re.I)  # re.I, as written
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        fast = [(m.span(), m.group(0), m.group(1)) for m in sku_labels(text)]
        slow = [(m.span(), m.group(0), m.group(1)) for m in SKU_LABEL.finditer(text)]
        assert fast == slow, text
        found, expected = SOLD_OUT.search(text), sold_out.search(text)
        assert (found and (found.span(), found.group(0))) == \
            (expected and (expected.span(), expected.group(0))), text


def test_the_re2_forms_of_python_patterns_match_wherever_python_does() -> None:
    """``for_re2`` turns a Python pattern into an RE2 one that matches at least wherever it
    does: Unicode spaces (no-break, narrow no-break, ideographic) and digits (Arabic-Indic)
    included, inside classes too; so the notes' RE2 pass never hides a note."""
    import random

    import re2

    from voidx.extract.dom import _NOTE_AT_ALL, NOTE
    from voidx.extract.fastre import for_re2

    cases = {r"\bItem\s*No\.?\s*\d+": ["Item\u00a0No.\u202f٣٤", "item  no 12", "İtem No 1"],
             r"Art(?:ikel)?\.?[-\s]?Nr": ["Art.\u3000Nr", "Artikel-Nr", "Art Nr"],
             r"[x×]\s?\d{1,2}\b|\d+\s?\S": ["× ١٢", "x\u20093", "5\u00a0€"]}
    for pattern, texts in cases.items():
        python, fast = re.compile(pattern, re.I), re2.compile(for_re2(pattern, ignore_case=True))
        for text in texts:
            assert python.search(text), (pattern, text)
            assert fast.search(text), (pattern, text)
    pieces = ["4 x 325 tl", "ratenzahlung", "\u00a0", "\u202f", "/ mo", "ab 2 stück", "per kg",
              "€", "12,99", "٣", " ", "-", "shipping", "lowest price", "x\u00a012", "100g당",
              "送料無料", "ab 4", "save", "5+ items", "buy 2", "qty", "ex vat"]
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        if NOTE.search(text):
            assert _NOTE_AT_ALL.search(text), text


def test_script_assignments_are_found_as_python_finds_them() -> None:
    """The state-blob assignments of a script, looked for where RE2 finds one, are those
    Python's pattern finds on the whole script: prefixes, non-ASCII identifiers, assignments
    inside others' literals and strings."""
    import random

    from voidx.extract.embedded import _ASSIGNED, ASSIGNMENTS
    from voidx.extract.fastre import finditer_where

    pieces = ["window.", "var ", "let  ", "const ", "__STATE__", "app.data", "préix", "x9",
              "$el", " = ", "=", "{", "[", "}", "]", '"a=b{"', ";", "\n", "==", "a.b.c=", " ",
              "if(x==[", "état={", "ü", "-", "(", "){"]
    rng = random.Random(5)
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        fast = [(m.span(), m.group(1)) for m in finditer_where(ASSIGNMENTS, _ASSIGNED, text)]
        assert fast == [(m.span(), m.group(1)) for m in ASSIGNMENTS.finditer(text)], text


def test_a_page_is_lower_cased_as_str_lower_does() -> None:
    """``lowered`` takes a shortcut through UTF-8 bytes when no non-ASCII character of the
    text has another case form; every other text is lower-cased whole."""
    import random

    from voidx.extract.scan import lowered

    rng = random.Random(3)
    alphabet = "aAzZ <>=\"'£€éÉßẞİıΣσςǅǄ\u0130\u1e9e\u212a\u017f\ud800ÿŸ日本" + "xyzXYZ" * 4
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert lowered(text) == text.lower(), text
    page = "<P>Prix £12 — ÉPUISÉ</P>" * 50
    assert lowered(page) == page.lower()


def test_a_finder_finds_what_re2_search_finds() -> None:
    """``Finder.found_in`` calls RE2's engine without the module's offset mapping: the same
    answer as ``re2.search``, on any text."""
    import random

    import re2

    from voidx.extract.fastre import Finder

    rng = random.Random(13)
    words = ("sold out", "épuisé", "在庫切れ", "% off", "<del", "pre-order")
    pattern = "(?i)" + "|".join(re.escape(w) for w in words)
    finder, reference = Finder(pattern), re2.compile(pattern)
    pieces = [*words, "sold", " out", "É", "é", "x", " ", "€", "\ud7ff", "切"]
    for _ in range(5_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert finder.found_in(text) == (reference.search(text) is not None), text
    assert finder.found_in("Now SOLD OUT") and not finder.found_in("in stock")
