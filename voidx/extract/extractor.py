"""One page in, one extraction out.

The page's sources are read — JSON-LD, microdata, OpenGraph, embedded state, the user's
selector rules and the page as a shopper sees it — block and error pages are set aside,
and ``reconcile`` picks one value per field, keeping the losers and why in the provenance.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser

from voidx.collect.urls import canonicalize
from voidx.config import SourceConfig
from voidx.extract import embedded
from voidx.extract.blocks import block_reason
from voidx.extract.casing import lower
from voidx.extract.css import Markup, UnreadableMarkup, parse_html, select_first
from voidx.extract.dom import CONFIDENT, DomReading, find_money, read_dom
from voidx.extract.fastre import Finder
from voidx.extract.normalize import clean_text, gtin_ok, parse_availability, parse_price
from voidx.extract.reconcile import STRUCTURED_ORDER, Candidate, Decision, reconcile
from voidx.extract.record import Method, ProductRecord
from voidx.extract.scan import PageScan, opengraph, scan
from voidx.extract.selectors import apply_rules
from voidx.extract.structured import jsonld_products, microdata_products

# (patterns compiled once: re's module functions look each up on every call)
_COUNT = re.compile(r"-?\d[\d,.\s]{0,15}")
_NOT_DIGITS = re.compile(r"[^\d-]")

# Bump when extraction changes what it produces: pages are extracted again.
EXTRACTOR_VERSION = 5


@dataclass
class Extraction:
    status: str  # ok | no_product | quarantined | blocked
    record: ProductRecord | None = None
    method: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    candidates: list[Candidate] = field(default_factory=list)


def extract_page(html: bytes | str, url: str, source: SourceConfig | None = None, *,
                 status_code: int | None = None, charset: str | None = None,
                 read_in_full: bool = False) -> Extraction:
    """``charset``: what the server's Content-Type declared for ``html`` bytes, if anything;
    ``read_in_full``: read the page as a shopper sees it even when its data is plainly shown
    (the same record, with every candidate: ``--explain``)."""
    result = extract_pages([(html, url, source, charset)], status_code=status_code,
                           read_in_full=read_in_full)[0]
    if isinstance(result, Exception):
        raise result
    return result


# A page to read: its HTML (bytes or text), its URL, its source and the charset its server
# declared for bytes.
PageIn = tuple[bytes | str, str, SourceConfig | None, str | None]


def extract_pages(pages: Sequence[PageIn], *, status_code: int | None = None,
                  read_in_full: bool = False, beat: Callable[[float], None] | None = None
                  ) -> list[Extraction | Exception]:
    """Each page's extraction, as ``extract_page`` reads it alone, or the exception its
    reading raised (the other pages go on). The pages are read a step at a time, each step
    over all of them: one step's code and tables then stay in the processor's caches from
    one page to the next, where reading the pages one after the other runs through all the
    steps' code for every page (about a quarter less time a demo page). ``beat`` is
    called as each page's step starts with the seconds the page's earlier steps took (a
    watchdog's heartbeat: the page has been read for that long)."""
    readings = [_Reading(html, url, source, charset, status_code, read_in_full)
                for html, url, source, charset in pages]
    for group in _groups(readings):
        _read_group(group, beat)
    results = []
    for reading in readings:
        assert reading.result is not None  # (the last step ends every page)
        results.append(reading.result)
    return results


# The pages a step goes over at once hold at most this much HTML: their documents are in
# memory together (a few large pages are read in smaller groups, a huge one alone).
GROUP_BYTES = 1 << 20


def _groups(readings: list[_Reading]) -> list[list[_Reading]]:
    """``readings`` in order, in groups holding at most ``GROUP_BYTES`` of HTML (or one
    page)."""
    groups: list[list[_Reading]] = []
    size = 0
    for reading in readings:
        if not groups or size + len(reading.html) > GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(reading)
        size += len(reading.html)
    return groups


def _read_group(readings: list[_Reading], beat: Callable[[float], None] | None) -> None:
    for step in _STEPS:
        for reading in readings:
            if reading.result is None:
                if beat is not None:
                    beat(reading.spent)
                    started = time.monotonic()
                try:
                    step(reading)
                except UnreadableMarkup as unreadable:
                    reading.result = Extraction("quarantined", reason=str(unreadable))
                except Exception as error:  # (one name per type: mypyc checks it)
                    # Its frames let go of their documents: the error is kept to the end.
                    traceback.clear_frames(error.__traceback__)
                    reading.result = error
                if beat is not None:
                    reading.spent += time.monotonic() - started
    for reading in readings:
        reading.release()


@dataclass
class _Reading:
    """One page on its way through the steps; ``result`` is set by the step that ends it."""

    html: bytes | str
    url: str
    source: SourceConfig | None
    charset: str | None
    status_code: int | None
    read_in_full: bool
    text: str = ""
    page: PageScan | None = None
    tree: LexborHTMLParser | None = None
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    shown: bool = False  # the data's price is plainly shown: the page need not be read
    spent: float = 0.0  # seconds its steps took (when a watchdog listens)
    result: Extraction | Exception | None = None

    @property
    def scanned(self) -> PageScan:
        assert self.page is not None  # (scanned by the first step)
        return self.page

    def document(self) -> LexborHTMLParser:
        if self.tree is None:
            self.tree = parse_html(self.text, self.page)
        return self.tree

    def release(self) -> None:
        """Let go of the page, its scan and its document (its result is kept)."""
        self.html = self.text = ""
        self.page = self.tree = None
        self.sources = {}


def _scan_step(r: _Reading) -> None:
    r.text = decode_html(r.html, r.charset) if isinstance(r.html, bytes) else r.html
    r.page = scan(r.text)


def _microdata_step(r: _Reading) -> None:
    # Building the DOM costs more than everything else a page with complete JSON-LD needs:
    # it is built for microdata and rules, or below to read the page itself.
    if r.scanned.microdata:
        r.document()


def _structured_step(r: _Reading) -> None:
    r.sources = _structured_sources(r.scanned, r.url, r.tree)


def _rules_step(r: _Reading) -> None:
    rules = _rules_to_run(r.source, r.sources)
    if rules:
        selected = apply_rules(r.document(), rules)
        if selected:
            r.sources["selectors"] = selected


def _shown_step(r: _Reading) -> None:
    # The page shows the structured price and nothing suggests a sale, a regular price or a
    # stock problem: what the page says and what it shows agree without reading it.
    r.shown = not r.read_in_full and not (r.source and r.source.prefer == "selectors") \
        and _plainly_shown(r.scanned, r.sources)


def _decide_step(r: _Reading) -> None:
    if r.shown:
        r.result = _decide(r.sources, DomReading(), r.url, r.source, r.scanned.canonical,
                           plainly_shown=True)


def _read_step(r: _Reading) -> None:
    """The page read as a shopper sees it."""
    page, url, source = r.scanned, r.url, r.source
    tree = r.document()
    sources = _with_opengraph(r.sources, page, always=True)
    markup = Markup(page.lower)
    found = embedded.products(tree, markup)
    if found:
        _add_embedded(sources, found, tree, url, page)
    has_data = any(values.get("name") or values.get("price") is not None
                   for name, values in sources.items() if name != "selectors") or bool(
        sources.get("selectors", {}).get("name"))
    block = block_reason(page, tree, has_product_data=has_data, status_code=r.status_code)
    if block is not None:
        r.result = Extraction("blocked", reason=f"{block[0]}: {block[1]}")
        return
    name = next((str(values["name"]) for values in sources.values() if values.get("name")),
                None)
    dom = read_dom(tree, url, for_data=has_data or r.read_in_full, name=name,
                   net_prices=any(values.get("net") for values in sources.values()),
                   markup=markup)
    if not has_data and not _dom_product(dom):
        r.result = _nothing(url, source, "no product data and no product shown on the page")
    else:
        r.result = _decide(sources, dom, url, source, page.canonical)


_STEPS: tuple[Callable[[_Reading], None], ...] = (
    _scan_step, _microdata_step, _structured_step, _rules_step, _shown_step,
    _decide_step, _read_step)


def _decide(sources: dict[str, dict[str, Any]], dom: DomReading, url: str,
            source: SourceConfig | None, canonical: str | None, *,
            plainly_shown: bool = False) -> Extraction:
    decision = reconcile(sources, dom, data_shown=plainly_shown,
                         prefer_selectors=bool(source and source.prefer == "selectors"))
    provenance = decision.provenance()
    if not decision.values.get("name"):
        return Extraction("quarantined", reason="product data without a name",
                          provenance=provenance, candidates=decision.candidates)
    winner = decision.chosen.get("price") or decision.chosen["name"]
    method = winner.source
    try:
        record = _build(decision, url, method, canonical)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return Extraction("quarantined", method=method, provenance=provenance,
                          reason=f"{where}: {err['msg']} (got {err.get('input')!r})",
                          candidates=decision.candidates)
    return Extraction("ok", record=record, method=method, provenance=provenance,
                      candidates=decision.candidates)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def decode_html(body: bytes, charset: str | None = None) -> str:
    """A page's text, as browsers decide: byte-order mark, else the charset the server
    declared (``charset``), else <meta charset>, else UTF-8, else windows-1252; labels read as
    browsers read them ("iso-8859-1" is windows-1252), unknown ones passed over."""
    if body[:3] == b"\xef\xbb\xbf":
        return body[3:].decode("utf-8", "replace")
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return body.decode("utf-16", "replace")
    if charset:
        try:
            return body.decode(_browser_encoding(charset))
        except (LookupError, UnicodeDecodeError):
            pass
    declared = _META_CHARSET.search(body[:4096])
    for encoding in ((declared.group(1).decode("ascii", "ignore"),) if declared else ()) + (
            "utf-8",):
        try:
            return body.decode(_browser_encoding(encoding))
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")


# Labels browsers decode as another encoding (the WHATWG Encoding Standard's table).
_BROWSER_ENCODINGS = {
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
                     "ascii", "us-ascii", "ansi_x3.4-1968", "windows-1252", "cp819"),
                    "cp1252"),
    **dict.fromkeys(("iso-8859-9", "iso8859-9", "latin5", "windows-1254"), "cp1254"),
    **dict.fromkeys(("iso-8859-11", "tis-620", "windows-874"), "cp874"),
    **dict.fromkeys(("gb2312", "x-gbk", "gbk", "chinese", "csgb2312"), "gbk"),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "windows-949"), "cp949"),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms932", "windows-31j"),
                    "cp932"),
    "big5": "big5hkscs",
}


def _browser_encoding(label: str) -> str:
    label = lower(label.strip().strip("\"'"))
    return _BROWSER_ENCODINGS.get(label, label)


# What OpenGraph can say about a product (its URL only helps pick the main product).
_OG_FIELDS = ("name", "price", "currency", "availability", "brand", "sku", "image")
_ORDER = ("jsonld", "microdata", "opengraph", "selectors")


def _structured_sources(page: PageScan, url: str, tree: LexborHTMLParser | None
                        ) -> dict[str, dict[str, Any]]:
    """JSON-LD (from the scan), microdata (from ``tree``, when the page has some) and, when
    neither gives every field it could fill, OpenGraph; in the order jsonld, microdata,
    opengraph. OpenGraph comes last in every precedence, so where schema.org data is complete
    it changes nothing unless the page is read (then it is added: its price may be the one
    the page shows)."""
    sources: dict[str, dict[str, Any]] = {}
    jsonld = _main_product(jsonld_products(page.jsonld), url) if page.jsonld else None
    if jsonld:
        sources["jsonld"] = jsonld
    microdata = _main_product(microdata_products(tree), url) if tree is not None else None
    if microdata:
        sources["microdata"] = microdata
    return _with_opengraph(sources, page)


def _with_opengraph(sources: dict[str, dict[str, Any]], page: PageScan, *,
                    always: bool = False) -> dict[str, dict[str, Any]]:
    if "opengraph" in sources or (not always and any(
            all(values.get(k) not in (None, "", []) for k in _OG_FIELDS)
            for name, values in sources.items() if name in ("jsonld", "microdata"))):
        return sources
    og = opengraph(page.meta) if page.meta else {}
    if not og:
        return sources
    sources = {**sources, "opengraph": og}
    return {name: sources[name] for name in _ORDER if name in sources}


def _rules_to_run(source: SourceConfig | None, sources: dict[str, dict[str, Any]]
                  ) -> dict[str, Any]:
    """The source's selector rules to run: all of them with ``prefer = "selectors"``, else
    those for fields the page's structured data lacks (none: the DOM may not be needed)."""
    if source is None or not source.selectors:
        return {}
    if source.prefer == "selectors":
        return source.selectors
    filled = {k for values in sources.values() for k, v in values.items()
              if v not in (None, "", [])}
    return {k: v for k, v in source.selectors.items() if k not in filled}


def _add_embedded(sources: dict[str, dict[str, Any]], found: list[embedded.Found],
                  tree: LexborHTMLParser, url: str, page: PageScan) -> None:
    hints = list(sources.values())
    name_hint = next((h.get("name") for h in hints if h.get("name")), None)
    if name_hint is None:
        h1 = select_first(tree, "h1")
        name_hint = h1.text(deep=True).strip() if h1 is not None else None
    sku_hint = next((str(h["sku"]) for h in hints if h.get("sku")), None)
    main = embedded.main_product(found, url, name_hint, sku_hint,
                                 embedded.selected_options(tree))
    if main is not None:
        state = sources["embedded"] = embedded.fields_of(main)
        if main.origin == "selected_variant":
            state["selected"] = True
        if state.pop("sku_is_id") and state.get("sku") \
                and not _shown_as_text(page, str(state["sku"])):
            state["sku"] = None  # an analytics id the page never shows is no SKU


# Signs that the page may show something other than its data: a sale or a regular price...
_SALE_MARKERS = ("<del", "<s>", "<s ", "<strike", "line-through", "compare", "was-price",
                 "was_price", "price-was", "old-price", "oldprice", "old_price", "price-old",
                 "regular", "list-price", "list price", "rrp", "msrp", "strike",
                 "data-price-type", "% off", "save ", "original", "on-sale", "sale-price",
                 "sale price", "discount", "reduced", "secondary-price",
                 # ...or options with their own prices, one of them maybe preselected
                 'type="radio"', "type='radio'", "type=radio")
# ...or a stock message, which only matters when it is not the data's own availability.
_STOCK_MARKERS: dict[str, tuple[str, ...]] = {
    "out_of_stock": ("sold out", "sold-out", "out of stock", "unavailable", "notify me",
                     "udsolgt", "utsolgt", "slutsåld", "ausverkauft", "épuisé", "agotado",
                     "esaurito", "uitverkocht", "vyprodáno", "wyprzedane", "slut i lager",
                     "slut på lager", "ikke på lager", "ej i lager", "niet op voorraad",
                     "nicht auf lager", "brak w magazynie", "není skladem", "stokta yok",
                     "sin stock", "esgotado", "在庫切れ", "品切れ", "売り切れ", "품절", "缺货",
                     "售罄"),
    "preorder": ("pre-order", "preorder"),
}


def _markers(availability: str) -> Finder:
    """One case-insensitive pattern (RE2: a single pass, whatever the number of words)."""
    words = _SALE_MARKERS + tuple(w for kind, group in _STOCK_MARKERS.items()
                                  if kind != availability for w in group)
    return Finder("(?i)" + "|".join(re.escape(w) for w in words))


_CONTRADICTIONS = {kind: _markers(kind) for kind in ("in_stock", "out_of_stock", "preorder",
                                                      "unknown")}
_TAG = re.compile(r"<[^>]*>")
# Where other products begin after the buy box (their badges do not concern this product): an
# element whose class or id names a block of other products.
_OTHER_PRODUCTS = Finder(
    r"""(?i)<[a-z][^>]*\s(?:class|id)\s*=\s*["']?[^"'>]*(?:related|recommend|"""
    r"""recently[-_ ]?viewed|upsell|up-sell|cross-?sell|also-?(?:bought|viewed|like)|you-?may)""")
WINDOW_BEFORE, WINDOW_AFTER = 1500, 3000  # shown characters around the product's price


def _plainly_shown(page: PageScan, sources: dict[str, dict[str, Any]]) -> bool:
    """JSON-LD, microdata or the source's own rules with name, price (not a range), SKU and
    availability, the price visible as written, and around it no sign of a sale, a regular
    price or a stock message other than the data's own availability. (Without a declared
    availability the page is read: its buy button or stock message is then the only one.)"""
    main = sources.get("jsonld") or sources.get("microdata") or sources.get("selectors")
    if not main or not main.get("name") or not main.get("sku") or main.get("range") \
            or _declared_availability(sources) == "unknown":
        return False
    amount = parse_price(main.get("price"), None)[0]
    if amount is None:
        return _shows_no_price(page, sources, main)
    at = _shown_price_at(page, amount)
    if at < 0 or page.lower.startswith("<option", page.lower.rfind("<", 0, at)):
        return False  # (the price of one option of a list: which one is chosen, the page says)
    return _quiet_around(page, at, sources)


def _quiet_around(page: PageScan, at: int, sources: dict[str, dict[str, Any]]) -> bool:
    """No sign of a sale, a regular price or a stock message other than the data's own
    around offset ``at`` (the buy box), up to where other products begin."""
    contradiction = _CONTRADICTIONS[_declared_availability(sources)]
    if not contradiction.found_in(page.shown_around(at, WINDOW_BEFORE, WINDOW_AFTER)):
        return True  # (cutting at other products is only needed when something was found)
    return not contradiction.found_in(page.shown_around(at, WINDOW_BEFORE, WINDOW_AFTER,
                                                        _OTHER_PRODUCTS))


def _shows_no_price(page: PageScan, sources: dict[str, dict[str, Any]],
                    main: dict[str, Any]) -> bool:
    """A product no source prices ("call for price") whose page shows its SKU and, from the
    top of the body to where other products begin after the SKU, no amount of money, and
    around the SKU no sale and no stock message other than the data's own: the page agrees
    that it has no price."""
    if any(parse_price(values.get("price"), None)[0] is not None for values in sources.values()):
        return False
    sku = lower(clean_text(main.get("sku")) or "")
    at = page.shown_at(sku) if len(sku) >= 3 else -1
    if at < 0 or not _quiet_around(page, at, sources):
        return False
    shown = page.shown_around(at, at - page.body, WINDOW_AFTER, _OTHER_PRODUCTS, original=True)
    return find_money(_TAG.sub(" ", shown)) is None


def _declared_availability(sources: dict[str, dict[str, Any]]) -> str:
    """The availability reconcile takes when the page is not read: the source's rule, else
    the first structured one."""
    for name in STRUCTURED_ORDER:
        if name in sources:
            value = parse_availability(sources[name].get("availability"))
            if value != "unknown":
                return value
    return "unknown"


def _shown_price_at(page: PageScan, amount: float) -> int:
    """Where the page first shows ``amount`` in any of the ways shops write it; -1 if not.
    Forms that end alike are found with one search each, then told apart."""
    by_end: dict[str, list[str]] = {}
    for form in _written(amount):
        by_end.setdefault(form[-6:], []).append(form)
    first = -1
    for end, forms in by_end.items():
        at = page.shown_at(end)
        while at >= 0 and (first < 0 or at < first):
            stop = at + len(end)
            starts = [stop - len(f) for f in forms if page.lower.endswith(f, 0, stop)]
            if starts:
                first = min(starts)
                break
            at = page.shown_at(end, at + 1)
    return first


def _written(amount: float) -> set[str]:
    whole, cents = f"{amount:.2f}".split(".")
    groups = f"{int(whole):,}"
    forms = {f"{groups}.{cents}", f"{whole}.{cents}", f"{groups.replace(',', '.')},{cents}",
             f"{whole},{cents}", f"{groups.replace(',', ' ')},{cents}",
             f"{groups.replace(',', chr(160))},{cents}", f"{groups.replace(',', chr(39))}.{cents}"}
    if cents == "00":
        forms |= {f"{groups}", f"{groups.replace(',', '.')},-", f"{whole},-"} if int(whole) >= 1000 \
            else {f"{whole},-", f"{whole}.–"}
    return {f for f in forms if len(f) >= 3}


_NOT_ALNUM = re.compile(r"[\W_]+")


def _shown_as_text(page: PageScan, value: str) -> bool:
    """Whether the page's visible text shows ``value``, its letters and digits compared
    (``AB&amp;1234`` shows ``AB&1234``, ``AB 1234/K`` shows ``AB-1234/K``)."""
    wanted = _NOT_ALNUM.sub("", lower(value))
    return len(wanted) >= 3 and wanted in _NOT_ALNUM.sub("", lower(page.visible_text()))


def _dom_product(dom: DomReading) -> bool:
    """A page without data that still shows one product, and not a grid of products: a
    confident price and a product signal (buy button, SKU or stock message) — or, with no
    price shown, a labelled SKU and an explicit stock message (an unavailable product)."""
    if dom.looks_like_listing() or not dom.name:
        return False
    best = dom.best_price()
    stock = any(c.score >= 3 for c in dom.availability)
    if best is not None and best.score >= CONFIDENT:
        return bool(dom.buy_buttons or dom.skus or stock)
    return stock and any(c.score >= 1.5 for c in dom.skus)


def record_url(canonical: str | None, url: str) -> str:
    """The page's canonical URL (its rel=canonical href), else its own, canonicalised."""
    found = canonicalize(canonical, url) if canonical else None
    own = canonicalize(url) or url
    if found is None or found == own:
        return own
    if urlsplit(found).netloc != urlsplit(own).netloc or (
            urlsplit(found).path in ("", "/") and urlsplit(own).path not in ("", "/")):
        # A canonical to another host or to the home page (a common theme mistake) would
        # merge different products into one.
        return own
    return found


def page_url(text: str, url: str) -> str:
    """``record_url`` of a page (its decoded text)."""
    return record_url(scan(text).canonical, url)


def _nothing(url: str, source: SourceConfig | None, reason: str) -> Extraction:
    """No record: a problem on a page that should be a product page, else just not a product."""
    if source is not None and any(re.search(p, url) for p in source.product_urls):
        return Extraction("quarantined", reason=f"product page without a product: {reason}")
    return Extraction("no_product", reason=reason)


def _main_product(products: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The product this page is about: the one whose URL matches, else the first with a price;
    none when the page lists several products (an item list) and names none of them."""
    if not products:
        return None
    page = canonicalize(url)
    for product in products:
        if product.get("url") and canonicalize(str(product["url"]), url) == page:
            return product
    if len(products) >= 3:
        return None
    return next((p for p in products if p.get("price") is not None), products[0])


def _build(decision: Decision, url: str, method: str, canonical: str | None) -> ProductRecord:
    values = decision.values
    price = values.get("price")
    currency = values.get("currency") if price is not None else None
    gtin = clean_text(values.get("gtin"))
    gtin = gtin if gtin and gtin.isdigit() and gtin_ok(gtin) else None
    image = clean_text(values.get("image"))
    return ProductRecord(
        url=record_url(canonical, url),
        name=clean_text(values.get("name")) or "",
        price=price,
        currency=currency,
        availability=parse_availability(values.get("availability")),
        sku=clean_text(values.get("sku")),
        gtin=gtin,
        brand=clean_text(values.get("brand")),
        category=clean_text(values.get("category")),
        rating=_number(values.get("rating")),
        review_count=_count(values.get("review_count")),
        image=canonicalize(image, url) if image else None,
        method=cast(Method, method),  # (one of the sources' names)
    )


def _number(value: Any) -> float | None:
    """A plain number (ratings); the sign is kept so that validation can refuse it."""
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
    match = _COUNT.search(str(value or ""))
    return int(_NOT_DIGITS.sub("", match.group(0))) if match else None
