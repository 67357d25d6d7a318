"""The extractor's cheap paths: the markup scan, pages read without their DOM, the worker pool.

Each cheap path must give what the full reading gives, and step aside when the page may say
something else than its data."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import before_each_page
from voidx.config import SourceConfig
from voidx.demo import Catalog, ShopSite
from voidx.extract import extractor, workers
from voidx.extract.extractor import extract_page
from voidx.extract.scan import scan
from voidx.extract.workers import POOL_MIN_PAGES, ExtractorPool, Page
from voidx.pipeline import DEMO_SELECTORS

URL = "https://shop.example/p/kettle"


# -- the scan --------------------------------------------------------------------------------
def test_scan_reads_markup_like_the_tokenizer() -> None:
    page = scan("""<!doctype html><HTML><Head>
<!-- <script type="application/ld+json">{"commented": true}</script>
     <meta property="og:title" content="Commented out"> -->
<META Content='Tea &amp; "Kettle" > 1.7L' PROPERTY="OG:Title">
<meta property="og:title" content="second og:title loses">
<meta name="product:price:amount" content=49.90>
<meta property="og:description" content="not read">
<link href="/p/kettle?ref=nav" rel="alternate">
<link rel='Canonical Alternate' href='https://shop.example/p/kettle'>
<SCRIPT TYPE=" application/LD+JSON ">{"@type": "Product"}</SCRIPT >
<script type="application/json">{"not": "json-ld"}</script>
<script type=application/ld+json>[1, 2]</script>
</head><body><div itemscope itemtype="https://schema.org/Thing"></div></body></html>""")
    assert page.jsonld == ['{"@type": "Product"}', "[1, 2]"]
    assert page.meta == {"og:title": 'Tea & "Kettle" > 1.7L', "product:price:amount": "49.90"}
    assert page.canonical == "https://shop.example/p/kettle"
    assert page.microdata is True
    assert page.lower[page.body:].startswith("<body>")


SCRIPTS = [
    # "<!--" then "<script" in a script: its first "</script>" does not end it
    '<script>var a = "<!--<script>"; </script> x = 1; --></script>'
    '<script type="application/ld+json">{"a": 1}</script>',
    '<script><!-- document.write("<script src=x></script>") --></script>'
    '<script type="application/ld+json">{"b": 2}</script>',
    '<script><!--></script><script type="application/ld+json">{"c": 3}</script>',
    '<script type="application/ld+json">{"g": "<!-- <script> </script> x"}</script>'
    '<script type="application/ld+json">{"h": 8}</script>',
    # "</scripts>" is no end tag
    '<script>x</scripts> y</script><script type="application/ld+json">{"i": 9}</script>',
    # the first type attribute counts; a character reference in it is decoded
    '<script type="text/x-template" type="application/ld+json">{"d": 4}</script>',
    '<script type="application/ld+json" type="text/plain">{"e": 5}</script>',
    '<script type="application&#x2F;ld+json">{"j": 10}</script>',
]


@pytest.mark.parametrize("html", SCRIPTS)
def test_scan_finds_the_json_ld_the_parser_builds(html: str) -> None:
    from selectolax.lexbor import LexborHTMLParser

    page = "<html><body>" + html + "<p>after</p></body></html>"
    built = [n.text() for n in LexborHTMLParser(page).css("script")
             if (n.attributes.get("type") or "").strip().lower() == "application/ld+json"]
    assert scan(page).jsonld == built
    assert built or "x-template" in html


def test_scan_keeps_offsets_when_lower_casing_would_not() -> None:
    # "İ" lower-cases to two characters; the scan still finds the right slices.
    page = scan('<title>İİİ</title><script type="application/ld+json">{"a": "İ"}</script>'
                '<link rel="canonical" href="/İ">')
    assert page.jsonld == ['{"a": "İ"}']
    assert page.canonical == "/İ"


def test_the_text_shown_up_to_other_products_ends_where_they_begin() -> None:
    """Cut where other products begin, the original text too: "İ" lower-cases to two
    characters, which must not move the cut."""
    html = ('<body><p>SKU İİ-100 İstanbul İzmir</p><div class="related-products">'
            '<p>Other: $5</p></div></body>')
    page = scan(html)
    at = page.shown_at("sku")
    for original in (False, True):
        shown = page.shown_around(at, 0, 3000, extractor._OTHER_PRODUCTS, original=original)
        expected = "SKU İİ-100 İstanbul İzmir</p>"
        assert shown == (expected if original else page.lower[at:at + len(expected)])


def test_shown_at_skips_scripts_styles_and_comments() -> None:
    page = scan('<head><meta content="19.99"></head><body><script>var p = "19.99";</script>'
                '<!-- 19.99 --><style>.x{content:"19.99"}</style><p>Now 19.99</p></body>')
    assert page.lower[page.shown_at("19.99"):].startswith("19.99</p>")
    assert scan("<body><script>19.99</script></body>").shown_at("19.99") == -1


# -- pages read without their DOM -----------------------------------------------------------
def page(availability: str, shown: str, extra: str = "") -> str:
    data = {"@context": "https://schema.org", "@type": "Product", "name": "Aero Kettle",
            "sku": "AK-17", "offers": {"@type": "Offer", "price": "49.90",
                                       "priceCurrency": "EUR",
                                       "availability": f"https://schema.org/{availability}"}}
    return (f'<html><head><script type="application/ld+json">{json.dumps(data)}</script>'
            f'</head><body><h1>Aero Kettle</h1><div class="buy"><span class="price">€49.90'
            f'</span><p class="stock">{shown}</p><button class="add-to-cart">Add to cart'
            f'</button></div>{extra}</body></html>')


def in_stock_pages(count: int, odd: dict[int, str] | None = None) -> list[Page]:
    """``count`` pages of a product in stock, https://shop.example/p/<n>, or, for the numbers
    in ``odd``, the URL ending in their word there (for a page to crash or hang its worker)."""
    html = page("InStock", "In stock").encode()
    return [(html, f"https://shop.example/p/{(odd or {}).get(n, n)}", None, None)
            for n in range(count)]


def crash_on_crash(url: str) -> None:
    if url.endswith("/crash"):
        os._exit(9)  # as a segfault in a parser or the OOM killer would end it


@pytest.fixture
def no_dom(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each DOM built by the extractor."""
    built: list[str] = []
    real = extractor.parse_html

    def counting(html: Any, *args: Any) -> Any:
        built.append(str(html)[:40])
        return real(html, *args)

    monkeypatch.setattr(extractor, "parse_html", counting)
    return built


@pytest.mark.pure_python
def test_complete_jsonld_that_the_page_shows_is_read_without_a_dom(no_dom: list[str]) -> None:
    result = extract_page(page("InStock", "In stock"), URL)
    assert result.status == "ok" and result.record is not None
    assert (result.record.price, result.record.availability) == (49.9, "in_stock")
    assert no_dom == []


@pytest.mark.pure_python
def test_a_stock_message_agreeing_with_the_data_keeps_the_cheap_path(no_dom: list[str]) -> None:
    for availability, shown, expected in (("PreOrder", "Pre-order", "preorder"),
                                          ("OutOfStock", "Sold out", "out_of_stock")):
        result = extract_page(page(availability, shown), URL)
        assert result.record is not None and result.record.availability == expected
    assert no_dom == []


@pytest.mark.pure_python
def test_a_stock_message_contradicting_the_data_sends_the_page_to_the_full_reading(
        no_dom: list[str]) -> None:
    result = extract_page(page("InStock", "Sold out - notify me"), URL)
    assert result.record is not None
    assert result.record.availability == "out_of_stock"  # what the page shows wins
    assert result.provenance["availability"]["source"] == "dom"
    assert len(no_dom) == 1


@pytest.mark.pure_python
def test_other_products_badges_do_not_concern_the_product(no_dom: list[str]) -> None:
    related = ('<section class="related-products"><div class="card"><span>€12.00</span>'
               '<span class="badge">Sold out</span></div></section>')
    result = extract_page(page("InStock", "In stock", related), URL)
    assert result.record is not None and result.record.availability == "in_stock"
    assert no_dom == []


@pytest.mark.pure_python
def test_a_sale_near_the_price_sends_the_page_to_the_full_reading(no_dom: list[str]) -> None:
    html = page("InStock", "In stock").replace(
        '<span class="price">', '<del>€59.90</del> <span class="price">')
    result = extract_page(html, URL)
    assert result.record is not None and result.record.price == 49.9
    assert len(no_dom) == 1


@pytest.mark.pure_python
def test_rules_for_missing_fields_need_the_dom(no_dom: list[str]) -> None:
    source = SourceConfig(name="s", start_urls=[URL], selectors={"brand": ".buy .missing",
                                                                 "gtin": "h1@data-gtin"})
    result = extract_page(page("InStock", "In stock"), URL, source)
    assert result.record is not None and result.record.sku == "AK-17"
    assert len(no_dom) == 1


# -- the worker pool -------------------------------------------------------------------------
def test_pool_reads_what_one_process_reads() -> None:
    catalog = Catalog(n_products=POOL_MIN_PAGES + 40, seed=3)
    site = ShopSite(catalog, day=2)
    pages: list[tuple[bytes | None, str, str | None, str | None]] = []
    for product in catalog.products:
        if not product.js_only:
            path = catalog.product_path(product)
            pages.append((site.handle("GET", path, {"host": "shop.test"})[2],
                          f"http://shop.test{path}", "shop", None))
    pages.append((None, "http://shop.test/lost", "shop", None))  # a body the store lost
    sources = {"shop": SourceConfig(name="shop", start_urls=["http://shop.test/"],
                                    selectors=DEMO_SELECTORS)}
    with ExtractorPool(sources, 2, backlog=len(pages)) as pool:
        assert pool.workers == 2
        tagged = [(n, page) for n, page in enumerate(pages)]
        read = list(pool.read(tagged))
        pooled = [row for _, chunk in read for row in chunk]
        assert [tag for tags, _ in read for tag in tags] == list(range(len(pages)))
        # the pages really went to worker processes, both of them
        assert all(w is not None and w.process.pid != os.getpid() for w in pool._workers)
        assert len(pool._workers) == 2
    with ExtractorPool(sources, 2, backlog=POOL_MIN_PAGES - 1) as small:
        assert small.workers == 1 and not small.in_process  # one worker, watched
        single = [row for _, chunk in small.read(tagged) for row in chunk]
        assert [w is not None for w in small._workers] == [True]
    local = workers._read([page for _, page in tagged], sources)  # in this process
    assert pooled == single == local
    assert len(pooled) == len(pages)
    assert pooled[-1][0] == "quarantined" and pooled[-1][4] == "page body missing from the store"
    assert sum(row[0] == "ok" for row in pooled) >= len(pages) * 0.9


# -- object literals in scripts ---------------------------------------------------------------
def test_literals_of_a_script_close_where_javascript_closes_them() -> None:
    from voidx.extract.embedded import _Literals

    script = ('// don\'t be fooled by this comment\n'
              'var a = {"name": "Brace } and bracket ]", b: [1, {c: "x\\"}"}], d: \'{\'};\n'
              '/* a block comment with a quote " and a brace { */\n'
              'window.state = {"price": 12.5, "tags": ["[", "]"]};\n'
              'var broken = {"price": 1, "open": [1, 2;\n')
    literals = _Literals(script)
    first = script.index("{")
    assert literals.at(first) == ('{"name": "Brace } and bracket ]", b: [1, {c: "x\\"}"}], '
                                  "d: '{'}")
    state = script.index("{", script.index("window.state"))
    assert literals.at(state) == '{"price": 12.5, "tags": ["[", "]"]}'
    assert literals.at(script.index("{", script.index("var broken"))) == ""  # never closes


@pytest.mark.pure_python
def test_a_script_full_of_unclosed_literals_is_read_in_one_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from selectolax.lexbor import LexborHTMLParser

    from voidx.extract import embedded

    looked_again: list[int] = []
    real = embedded.closers

    def counting(text: str, start: int = 0) -> dict[int, int]:
        looked_again.append(start)
        return real(text, start)

    script = "var a = [" * 3000 + '{"price": 1}' + " x = {" * 3000
    tree = LexborHTMLParser(f"<html><body><script>{script}</script></body></html>")
    monkeypatch.setattr(embedded, "closers", counting)
    assert list(embedded.blobs(tree)) == []
    # one pass over the script, then a bounded number of fresh looks: not one per literal
    assert len(looked_again) == 1 + embedded.FRESH_SCANS


# -- the cheap paths agree with the full reading ----------------------------------------------
LANES = Path(__file__).parent / "fixtures" / "lanes"
EVERY_FIXTURE = sorted((Path(__file__).parent / "fixtures").rglob("*.html"))


@pytest.mark.parametrize("path", EVERY_FIXTURE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cheap_paths_read_what_the_full_reading_reads(path: Path) -> None:
    url = "https://shop.example/p/widget"
    quick = extract_page(path.read_bytes(), url)
    full = extract_page(path.read_bytes(), url, read_in_full=True)
    assert quick.status == full.status
    assert (quick.record and quick.record.model_dump(exclude={"method"})) == \
        (full.record and full.record.model_dump(exclude={"method"}))


def test_lanes_fixtures_are_read_right() -> None:
    """Pages a review found read wrong by an early version of the cheap paths."""
    def read(name: str) -> dict[str, Any]:
        result = extract_page((LANES / name).read_bytes(), "https://shop.example/p/widget")
        assert result.record is not None, result.reason
        return result.record.model_dump()

    # "&currency" in an attribute is not "&curren" + "cy"
    assert read("canon.html")["url"] == "https://shop.example/p/widget?currency=EUR&id=7"
    # a stock message after a large inline SVG, inside a "footer" of the buy box, inside an
    # element whose data-*-id says "recommended": still the product's own
    for name in ("svg.html", "footer.html", "dataid.html"):
        assert read(name)["availability"] == "out_of_stock", name
    # "<!--" inside a script is not a comment: the JSON-LD and canonical after it count
    record = read("jscomment.html")
    assert (record["sku"], record["url"]) == ("W-7", "https://shop.example/p/widget-canonical")
    # a regex literal in a minified script does not hide the product state after it
    assert (read("embed.html")["sku"], read("embed.html")["availability"]) == (
        "W-7731", "out_of_stock")
    # a product whose data has no price, shown with its price after a long menu
    assert read("noprice2.html")["price"] == 19.99
    # a microdata image given as an ImageObject
    assert read("md.html")["image"] == "https://shop.example/img/a.jpg"
    # a labelled "Style # LX-200" that is a word of the data's name ("Aster Desk Lamp LX-200")
    # is no SKU, though the page's title ("Aster Desk Lamp") leaves the model out
    assert read("skuname.html")["sku"] is None
    refused = [c for c in extract_page((LANES / "skuname.html").read_bytes(),
                                       "https://shop.example/p/widget").candidates
               if c.field == "sku"]
    assert [(c.value, c.why) for c in refused] == [
        ("LX-200", "refused: part of the product's name")]


def test_a_worker_dying_between_two_reads_is_replaced_and_nothing_read_twice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies while it has nothing to read (between two batches the caller
    stores) is found dead before it is given a chunk: a new one reads it, whole."""
    alone: list[int] = []
    lost = workers.ExtractorPool._lost

    def counted(self: Any, worker: Any, *, stuck: bool) -> None:
        alone.append(len(worker.sent))
        lost(self, worker, stuck=stuck)

    monkeypatch.setattr(workers.ExtractorPool, "_lost", counted)
    pages = in_stock_pages(POOL_MIN_PAGES)
    with ExtractorPool({}, 2, backlog=len(pages)) as pool:
        first = [row for _, chunk in pool.read((None, p) for p in pages[:100]) for row in chunk]
        dead = pool._workers[0]
        assert dead is not None
        os.kill(dead.process.pid or 0, 9)
        dead.process.join()
        rows = [row for _, chunk in pool.read((None, p) for p in pages) for row in chunk]
        assert pool._workers[0] is not dead
    assert [row[0] for row in first + rows] == ["ok"] * (100 + len(pages))
    assert json.loads(rows[-1][2] or "{}")["url"] == f"https://shop.example/p/{len(pages) - 1}"
    assert alone == []  # (no chunk was read page by page)


def test_pages_read_a_step_at_a_time_are_read_as_each_alone() -> None:
    """``extract_pages`` reads a chunk a step at a time over its pages: each page's extraction
    is the one it gets read alone, a page on which a step fails gets its error and the others
    go on, and the watchdog hears a beat as each page's step starts."""
    catalog = Catalog(n_products=60, seed=3)
    site = ShopSite(catalog, day=1)
    source = SourceConfig(name="shop", start_urls=["http://shop.test/"],
                          selectors=DEMO_SELECTORS)
    pages: list[extractor.PageIn] = []
    for product in catalog.products:
        if not product.js_only:
            path = catalog.product_path(product)
            pages.append((site.handle("GET", path, {"host": "shop.test"})[2],
                          f"http://shop.test{path}", source, None))
    pages.insert(7, (page("OutOfStock", "Sold out").encode("cp1252"), URL, None, "cp1252"))
    pages.insert(9, ("<html><body><p>No product here</p></body></html>", URL, None, None))
    # Rules that are no table (a source built without validation): a step fails.
    broken = SourceConfig.model_construct(name="x", start_urls=[URL], selectors=42)
    pages.insert(11, ("<html><body><h1>Kettle</h1></body></html>", URL, broken, None))
    beats: list[float] = []
    together = extractor.extract_pages(pages, beat=beats.append)
    assert len(together) == len(pages) and len(beats) >= len(pages)
    # each page's beat tells how long its earlier steps took: 0 at its first step
    assert beats[:len(pages)] == [0.0] * len(pages) and max(beats) > 0
    assert isinstance(together[11], Exception)
    assert together[9].status == "no_product"  # type: ignore[union-attr]
    assert together[7].record is not None  # type: ignore[union-attr]
    assert together[7].record.availability == "out_of_stock"  # type: ignore[union-attr]
    for n, ((html, url, src, charset), result) in enumerate(zip(pages, together, strict=True)):
        if n == 11:
            with pytest.raises(type(result)):
                extract_page(html, url, src, charset=charset)
            continue
        alone = extract_page(html, url, src, charset=charset)
        assert isinstance(result, extractor.Extraction)
        assert (result.status, result.method, result.reason, result.provenance) == \
            (alone.status, alone.method, alone.reason, alone.provenance), url
        assert result.record == alone.record, url
    assert sum(r.status == "ok" for r in together if not isinstance(r, Exception)) \
        >= len(pages) - 4


def test_a_page_the_reader_cannot_take_is_quarantined_and_its_chunk_read() -> None:
    """A page whose body is no bytes (nothing the store gives, but a page never stops the
    stage): the chunk is read page by page, that page quarantined with the error."""
    html = page("InStock", "In stock").encode()
    rows = workers._read([(html, f"{URL}/1", None, None), (html, None, None, None),  # type: ignore[list-item]
                          (html, f"{URL}/3", None, None)])
    assert [row[0] for row in rows] == ["ok", "quarantined", "ok"]
    assert (rows[1][4] or "").startswith("extractor error: ")


def test_a_step_goes_over_a_bounded_amount_of_html_at_once() -> None:
    """The documents of the pages a step goes over are in memory together: large pages are
    read in smaller groups (a huge one alone), each group's pages let go once it is done."""
    big = "x" * (extractor.GROUP_BYTES // 3)
    sizes = [len(big)] * 7 + [100] * 3 + [3 * len(big)] + [100]
    readings = [extractor._Reading("<p>" + "y" * (n - 3), URL, None, None, None, False)
                for n in sizes]
    groups = extractor._groups(readings)
    assert [len(g) for g in groups] == [3, 3, 4, 1, 1]
    assert all(sum(len(r.html) for r in g) <= extractor.GROUP_BYTES or len(g) == 1
               for g in groups)
    assert [r for g in groups for r in g] == readings
    results = extractor.extract_pages([(r.html, URL, None, None) for r in readings])
    assert [r.status for r in results] == ["no_product"] * len(sizes)  # type: ignore[union-attr]


def test_idle_workers_leave_when_told_even_with_another_pool_forked_since() -> None:
    """The workers of a pool closed while another pool's workers live (which inherited its
    pipes) leave by themselves, at once; text bodies are read as in this process."""
    html = page("InStock", "In stock")
    pages = in_stock_pages(100)
    first, second = ExtractorPool({}, 2, backlog=POOL_MIN_PAGES), \
        ExtractorPool({}, 2, backlog=POOL_MIN_PAGES)
    with first, second:
        rows = [row for _, chunk in first.read((None, p) for p in pages) for row in chunk]
        text = [(None, (html, "https://shop.example/p/text", None, None))]  # (a str body)
        read = [row for _, chunk in second.read(text) for row in chunk]
        processes = [w.process for w in first._workers if w is not None]
        first.close()
        assert [p.exitcode for p in processes] == [0, 0]  # left, not killed after a wait
    assert [row[0] for row in rows] == ["ok"] * 100
    assert read == workers._read([(html.encode(), "https://shop.example/p/text", None, None)])


def test_one_read_at_a_time_and_none_after_close() -> None:
    pages = in_stock_pages(300)
    with ExtractorPool({}, 2, backlog=POOL_MIN_PAGES) as pool:
        reading = pool.read((None, p) for p in pages)
        assert len(next(reading)[1]) == 50
        with pytest.raises(RuntimeError, match="another read"):
            next(pool.read((None, p) for p in pages))
        pool.close()
        with pytest.raises(RuntimeError, match="closed"):
            next(reading)
        rows = [row for _, chunk in pool.read((None, p) for p in pages) for row in chunk]
    assert [row[0] for row in rows] == ["ok"] * 300


def test_a_worker_that_cannot_be_forked_leaves_no_pipe_open(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing.context
    def refused(self: Any) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", refused)
    html = page("InStock", "In stock").encode()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with ExtractorPool({}, 2, backlog=POOL_MIN_PAGES) as pool, \
                pytest.raises(BlockingIOError):
            list(pool.read([(None, (html, "https://shop.example/p/1", None, None))]))
    assert len(os.listdir("/proc/self/fd")) <= before + 2  # (the heartbeats' shared memory)


def test_a_page_that_kills_its_worker_is_quarantined_and_the_rest_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    before_each_page(monkeypatch, crash_on_crash)
    pages = in_stock_pages(POOL_MIN_PAGES, {130: "crash"})
    with ExtractorPool({}, 2, backlog=len(pages)) as pool:
        rows = [row for _, chunk in pool.read((None, page) for page in pages) for row in chunk]
    assert len(rows) == len(pages)
    assert rows[130][0] == "quarantined" and "worker process died" in (rows[130][4] or "")
    assert sum(row[0] == "ok" for row in rows) == len(pages) - 1
    assert json.loads(rows[131][2] or "{}")["url"] == "https://shop.example/p/131"


def test_a_worker_that_died_while_the_caller_stored_is_a_crash_not_a_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker crashes on a page while the caller stores an earlier chunk for longer than
    ``page_timeout``: its heartbeat is stale by then, but the page crashed it."""
    import time

    before_each_page(monkeypatch, crash_on_crash)
    pages = in_stock_pages(101, {100: "crash"})  # (the crash a chunk of its own)
    rows = []
    with ExtractorPool({}, 1, backlog=len(pages), page_timeout=0.5) as pool:
        for _, chunk in pool.read((None, p) for p in pages):
            rows.extend(chunk)
            if len(rows) == 50:
                time.sleep(1.5)  # (storing, slowly: the worker reads on and dies)
    assert len(rows) == 101 and [row[0] for row in rows[:100]] == ["ok"] * 100
    assert rows[100][0] == "quarantined" and (rows[100][4] or "").startswith(
        "extractor crashed")


def test_a_page_that_hangs_its_worker_is_quarantined_and_the_rest_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A page the extractor never finishes (a parser looping in C code, where no signal
    reaches): no chunk gets done for ``page_timeout``, the workers are killed, the chunk is read
    page by page and the page that hangs again is quarantined."""
    import time

    def hanging(url: str) -> None:
        if url.endswith("/hang"):
            time.sleep(3600)

    before_each_page(monkeypatch, hanging)
    pages = in_stock_pages(POOL_MIN_PAGES, {130: "hang"})
    with ExtractorPool({}, 2, backlog=len(pages), page_timeout=2.0) as pool:
        rows = [row for _, chunk in pool.read((None, page) for page in pages) for row in chunk]
    assert len(rows) == len(pages)
    assert rows[130][:2] == ("quarantined", None)
    assert rows[130][4] == "extractor timed out: reading this page took over 2 s"
    assert sum(row[0] == "ok" for row in rows) == len(pages) - 1
    assert json.loads(rows[131][2] or "{}")["url"] == "https://shop.example/p/131"


def test_the_chunk_a_worker_is_stuck_in_is_the_one_read_page_by_page(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller waits on a slow first chunk while the other worker hangs in the second: that
    worker alone is killed and its chunk read page by page, the first chunk read on (one kill
    to stop the hang, one for the page that hangs again), and every other page is read."""
    import time

    def pages_of_two_kinds(url: str) -> None:
        if url.endswith("/hang"):
            time.sleep(3600)
        if url.endswith("/slow"):
            time.sleep(0.05)

    kills: list[int] = []
    kill = workers.ExtractorPool._kill

    def counted(self: Any, worker: Any) -> None:
        kills.append(1)
        kill(self, worker)

    before_each_page(monkeypatch, pages_of_two_kinds)
    monkeypatch.setattr(workers.ExtractorPool, "_kill", counted)
    html = page("InStock", "In stock").encode()
    pages = [(html, f"https://shop.example/p/{n}/{'slow' if n < 50 else 'fast'}", None, None)
             for n in range(200)]
    pages[60] = (html, "https://shop.example/p/60/hang", None, None)
    with ExtractorPool({}, 2, backlog=POOL_MIN_PAGES, page_timeout=1.0) as pool:
        rows = [row for _, chunk in pool.read((None, p) for p in pages) for row in chunk]
    assert [n for n, row in enumerate(rows) if row[0] != "ok"] == [60]
    assert rows[60][4] == "extractor timed out: reading this page took over 1 s"
    assert len(kills) == 2


def test_slow_pages_that_progress_are_not_taken_for_a_stuck_worker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch is per page: chunks of pages that each take a while, together far longer
    than ``page_timeout``, are read without the workers being killed."""
    import time

    def slow(url: str) -> None:
        time.sleep(0.03)

    kills: list[int] = []
    before_each_page(monkeypatch, slow)
    monkeypatch.setattr(workers.ExtractorPool, "_kill", lambda self, worker: kills.append(1))
    pages = in_stock_pages(100)
    with ExtractorPool({}, 2, backlog=POOL_MIN_PAGES, page_timeout=0.5) as pool:
        rows = [row for _, chunk in pool.read((None, p) for p in pages) for row in chunk]
    assert [row[0] for row in rows] == ["ok"] * 100  # two chunks of 1.5 s each
    assert kills == []


def test_a_grid_of_products_without_data_is_dismissed_without_reading_its_prices() -> None:
    """A category page (24 product cards, no data, no buy button, SKU or stock message of its
    own) cannot show one product: it is set aside as before, its cards' prices unread; read
    in full (``--explain``) they are all there, none of them the page's own."""
    from selectolax.lexbor import LexborHTMLParser

    from voidx.extract.dom import read_dom

    site = ShopSite(Catalog(n_products=300, seed=7), day=1)
    status, _, body = site.handle("GET", "/category/books", {"host": "shop.test"})
    assert status == 200
    url = "http://shop.test/category/books"
    source = SourceConfig(name="shop", start_urls=["http://shop.test/"],
                          selectors=DEMO_SELECTORS, product_urls=[r"/product/"])
    quick = extract_page(body, url, source)
    full = extract_page(body, url, source, read_in_full=True)
    assert (quick.status, quick.reason) == (full.status, full.reason) == (
        "no_product", "no product data and no product shown on the page")
    tree = LexborHTMLParser(body.decode())
    assert read_dom(tree, url, for_data=False).prices == []
    cards = read_dom(tree, url).prices
    assert len(cards) >= 20
    assert all("inside a product card" in " ".join(c.reasons) for c in cards)


def test_the_title_is_not_the_sites_logo_and_may_be_no_heading() -> None:
    """A shop whose <h1> is its logo (a link home) and whose product title is a div: the
    title is found by the data's name, and the buy box around it is read."""
    from selectolax.lexbor import LexborHTMLParser

    from voidx.extract.dom import read_dom

    body = ('<html><body><header><h1 class="logo"><a href="/">Lamp Shop</a></h1></header>'
            '<div class="layout"><aside><a href="/c">Lamps</a></aside><div class="product">'
            '<div class="name">Aster Desk Lamp <span class="code">AL-1</span></div>'
            '<div class="row"><div class="col"><div class="price-panel">'
            '<span class="price">CHF 1\'049.–</span></div></div>'
            '<div class="col"><form><button type="submit">In den Warenkorb</button></form>'
            '</div></div></div></div></body></html>')
    dom = read_dom(LexborHTMLParser(body), "https://shop.example/p/1", name="Aster Desk Lamp")
    assert dom.name == "Aster Desk Lamp AL-1"
    best = dom.best_price()
    assert best is not None and best.value == 1049.0 and "inside the main product" in best.reasons
    # without the data's name nothing better is known: the first <h1> stands
    plain = read_dom(LexborHTMLParser(body), "https://shop.example/p/1")
    assert plain.name == "Lamp Shop"


@pytest.mark.parametrize("preselected", ["onetime", "subscription", None])
def test_the_price_of_the_preselected_purchase_option_is_the_price(
        preselected: str | None) -> None:
    """Radio options with their prices (one-time purchase or subscribe & save): the data gives
    the one-time price; the option the page preselects is what the shopper pays."""
    data = {"@context": "https://schema.org", "@type": "Product", "name": "Daily Greens",
            "sku": "DG-1", "offers": {"@type": "Offer", "price": "64.95",
                                      "priceCurrency": "AUD",
                                      "availability": "https://schema.org/InStock"}}

    def option(value: str, label: str, price: str) -> str:
        checked = " checked" if value == preselected else ""
        return (f'<label><input type="radio" name="purchase_option" value="{value}"{checked}>'
                f'<span>{label}</span> <span class="option-price">{price}</span></label>')

    body = (f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head>'
            '<body><main><h1>Daily Greens</h1><div class="options">'
            + option("onetime", "One-time purchase", "$64.95")
            + option("subscription", "Deliver every month", "$55.21")
            + '</div><button class="add-to-cart">Add to cart</button></main></body></html>')
    record = extract_page(body.encode(), URL).record
    assert record is not None
    assert record.price == {"onetime": 64.95, "subscription": 55.21, None: 64.95}[preselected]


def test_a_quote_opens_an_attribute_value_only_after_an_equals_sign() -> None:
    """As the tokenizer reads tags: "content=Don't" holds an apostrophe, not the start of a
    value that would swallow the tags after it; a quoted value may hold ">"."""
    from voidx.extract.scan import scan

    page = scan("<html><head><meta name=description content=Don't miss>"
                '<meta property="og:title" content="Lamp > Desk">'
                '<meta content="x property=og:url" name=keywords>'
                "<link rel=alternate title=it's href=/fr>"
                '<link rel="canonical" href="https://shop.example/p/lamp"></head></html>')
    assert page.meta == {"og:title": "Lamp > Desk"}
    assert page.canonical == "https://shop.example/p/lamp"


@pytest.mark.parametrize(("price_html", "extra", "expected"), [
    # a points or coupon note after the price speaks of the points, not of the price
    ('<span class="price">3,980円</span><span>(税込) 398ポイント還元</span>', "",
     (3980.0, "JPY", "in_stock")),
    ('<span class="price">19,900원</span><span>적립금 199원</span>', "",
     (19900.0, "KRW", "in_stock")),
    ('<span class="price">1 299 ₽</span><span>Безопасный платеж</span>',
     "<p>Цена <del>990 ₽</del></p>", (1299.0, "RUB", "in_stock")),
    # a negated stock phrase is no stock phrase
    ('<span class="price">฿1,290</span>', '<p class="stock">ไม่มีสินค้า</p>',
     (1290.0, "THB", "out_of_stock")),
    ('<span class="price">2.490.000₫</span>', '<p class="stock">Không còn hàng</p>',
     (2490000.0, "VND", "out_of_stock")),
])
def test_words_in_many_languages_keep_their_meaning(
        price_html: str, extra: str, expected: tuple[float, str, str]) -> None:
    body = (f'<html><body><main><h1>Thing</h1><div class="buy">{price_html}</div>{extra}'
            '<button class="add-to-cart">Add to cart</button></main></body></html>')
    record = extract_page(body.encode(), URL).record
    assert record is not None
    assert (record.price, record.currency, record.availability) == expected
