"""voidx crawl + extract against a Scrapy spider doing the same work on the demo shop.

Both contenders meet the same pre-rendered shop process in the same run: robots.txt obeyed,
the same concurrency (total and per host), same-host links whose URL matches /category/ or
/product/ followed to any depth, tracking parameters dropped, and every page read for a
product from JSON-LD, microdata, OpenGraph, then the plain template's CSS selectors (the
first non-empty value of each field wins). Prints pages/s and peak memory of each (the larger
of the main process's peak RSS and its process tree's summed PSS, so that voidx extract's
worker processes count) and their ratios; target (issue): voidx >= 3x Scrapy's pages/s with
peak memory no higher than Scrapy's.

    .venv/bin/python bench/crawl_vs_scrapy.py [--products 6000] [--concurrency 16]
                                              [--latency 0] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from _peer import FIELDS, SYMBOLS, first, is_product, name_of, walk
from _shop import start_shop_process, stop

if TYPE_CHECKING:
    from parsel import Selector, SelectorList
    from scrapy.http import Response

SPEED_TARGET = 3.0
MEMORY_TARGET = 1.0
ALLOW = (r"/category/", r"/product/")

VOIDX_TOML = """\
[crawl]
concurrency = {concurrency}
per_host = {concurrency}
max_pages = {max_pages}
max_depth = 1000        # no depth limit, as Scrapy's DEPTH_LIMIT = 0
autothrottle = false    # as Scrapy's AUTOTHROTTLE_ENABLED = False

[[sources]]
name = "shop"
start_urls = ["{url}/"]
allow = {allow}
sitemaps = false        # discover pages by following links, as the spider does

[sources.selectors]
name = "h1.product-title"
price = ".product-main .price"
sku = {{ css = ".sku", regex = 'SKU:\\s*(\\S+)' }}
availability = ".product-main .stock"
brand = ".product-main a.brand"
"""


@dataclass
class Result:
    contender: str
    pages: int
    records: int
    seconds: float
    peak_rss_mb: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Child:
    returncode: int
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (voidx extract's worker processes)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _tree_pss_mb(pid: int) -> float:
    """Memory of a process tree: the sum of its processes' proportional set sizes (a page
    shared by forked workers counts once in all)."""
    total = 0
    for member in _tree(pid):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
        total += int(match.group(1)) if match else 0
    return total / 1024


def run_child(cmd: list[str], workdir: Path, name: str) -> Child:
    """Run ``cmd`` to completion; wall time and peak memory: the larger of the main process's
    own peak RSS (wait4's ru_maxrss) and the peak, sampled every 20 ms, of its process tree's
    summed PSS (extract's worker processes count)."""
    out, err = workdir / f"{name}.out", workdir / f"{name}.err"
    peak_tree = 0.0
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_tree = max(peak_tree, _tree_pss_mb(proc.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    child = Child(proc.returncode, seconds, max(usage.ru_maxrss / 1024, peak_tree),  # KiB
                  out.read_text(errors="replace"), err.read_text(errors="replace"))
    if child.returncode not in (0, 3):  # 3: voidx finished with some failed items
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {child.returncode}:\n"
                           f"{child.stderr[-3000:]}")
    return child


# -- voidx -----------------------------------------------------------------------------------
def run_voidx(url: str, concurrency: int, n_products: int, workdir: Path) -> Result:
    project = workdir / "voidx"
    project.mkdir()
    (project / "voidx.toml").write_text(VOIDX_TOML.format(
        concurrency=concurrency, url=url, max_pages=4 * n_products + 1000,
        allow=json.dumps(list(ALLOW))))
    base = [sys.executable, "-m", "voidx", "--project", str(project), "--json"]
    crawl = run_child([*base, "crawl"], workdir, "voidx-crawl")
    extract = run_child([*base, "extract"], workdir, "voidx-extract")
    crawled, extracted = json.loads(crawl.stdout), json.loads(extract.stdout)
    return Result(
        "voidx", pages=crawled["pages_fetched"], records=extracted["records"],
        seconds=crawl.seconds + extract.seconds,
        peak_rss_mb=max(crawl.peak_rss_mb, extract.peak_rss_mb),
        details={"crawl_s": round(crawl.seconds, 3), "extract_s": round(extract.seconds, 3),
                 "crawl_rss_mb": round(crawl.peak_rss_mb, 1),
                 "extract_rss_mb": round(extract.peak_rss_mb, 1),
                 "pages_failed": crawled["pages_failed"],
                 "quarantined": extracted["quarantined"], "by_method": extracted["by_method"],
                 "store": str(project / ".voidx" / "voidx.db")})


def voidx_records(db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT record FROM extractions WHERE status = 'ok'").fetchall()
    records = (json.loads(r[0]) for r in rows)
    return {r["url"]: r for r in records}


# -- Scrapy ----------------------------------------------------------------------------------
def run_scrapy(url: str, concurrency: int, workdir: Path) -> Result:
    feed, stats = workdir / "scrapy-items.jsonl", workdir / "scrapy-stats.json"
    child = run_child([sys.executable, str(Path(__file__).resolve()), "--scrapy-child", url,
                       str(concurrency), str(feed), str(stats)], workdir, "scrapy")
    summary = json.loads(stats.read_text())
    with feed.open() as lines:
        items = sum(1 for line in lines if line.strip())
    return Result("scrapy", pages=summary["pages"], records=items, seconds=child.seconds,
                  peak_rss_mb=child.peak_rss_mb,
                  details={"finish_reason": summary["finish_reason"],
                           "responses": summary["responses"],
                           "robots_forbidden": summary["robots_forbidden"],
                           "feed": str(feed)})


def scrapy_items(feed: Path) -> dict[str, dict[str, Any]]:
    with feed.open() as lines:
        items = [json.loads(line) for line in lines if line.strip()]
    return {item["url"]: item for item in items}


_TRACKING = re.compile(r"^(utm_[a-z_]+|gclid|fbclid|msclkid)$", re.IGNORECASE)
_AVAILABILITY = (
    (re.compile(r"pre-?order", re.IGNORECASE), "preorder"),
    (re.compile(r"out ?of ?stock|sold ?out", re.IGNORECASE), "out_of_stock"),
    (re.compile(r"in ?stock", re.IGNORECASE), "in_stock"),
)


def strip_tracking(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k)]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def _text(selection: SelectorList[Selector]) -> str | None:
    return selection.xpath("normalize-space()").get() or None


def from_jsonld(response: Response) -> dict[str, Any]:
    for text in response.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(text)
        except ValueError:
            continue
        for node in walk(data):
            if not is_product(node.get("@type")):
                continue
            offer = first(node.get("offers"))
            offer = offer if isinstance(offer, dict) else {}
            rating = node.get("aggregateRating")
            rating = rating if isinstance(rating, dict) else {}
            return {
                "name": node.get("name"), "price": offer.get("price"),
                "currency": offer.get("priceCurrency"),
                "availability": offer.get("availability"),
                "sku": node.get("sku"), "gtin": node.get("gtin13") or node.get("gtin"),
                "brand": name_of(node.get("brand")), "category": name_of(node.get("category")),
                "rating": rating.get("ratingValue"), "review_count": rating.get("reviewCount"),
                "image": first(node.get("image")),
            }
    return {}


def _itemprops(scope: Selector) -> dict[str, Any]:
    """The scope's own properties: those whose nearest itemscope ancestor is ``scope``."""
    depth = len(scope.xpath("ancestor-or-self::*[@itemscope]"))
    props: dict[str, Any] = {}
    for node in scope.xpath(".//*[@itemprop][count(ancestor::*[@itemscope]) = $d]", d=depth):
        attrs = node.attrib
        if "itemscope" in attrs:
            value: Any = _itemprops(node)
        elif "content" in attrs:
            value = attrs["content"]
        elif "href" in attrs or "src" in attrs:
            value = attrs.get("href") or attrs.get("src")
        else:
            value = node.xpath("normalize-space()").get()
        for name in attrs["itemprop"].split():
            props.setdefault(name, value)
    return props


def from_microdata(response: Response) -> dict[str, Any]:
    for scope in response.xpath("//*[@itemscope][@itemtype]"):
        if not is_product((scope.attrib.get("itemtype") or "").split()):
            continue
        props = _itemprops(scope)
        offer = props.get("offers")
        offer = offer if isinstance(offer, dict) else {}
        rating = props.get("aggregateRating")
        rating = rating if isinstance(rating, dict) else {}
        return {
            "name": props.get("name"), "price": offer.get("price") or props.get("price"),
            "currency": offer.get("priceCurrency"), "availability": offer.get("availability"),
            "sku": props.get("sku"), "gtin": props.get("gtin13") or props.get("gtin"),
            "brand": name_of(props.get("brand")), "category": props.get("category"),
            "rating": rating.get("ratingValue"), "review_count": rating.get("reviewCount"),
            "image": props.get("image"),
        }
    return {}


def from_opengraph(response: Response) -> dict[str, Any]:
    meta: dict[str, str] = {}
    for node in response.css("meta[property]"):
        meta.setdefault(node.attrib["property"].lower(), node.attrib.get("content", ""))
    if meta.get("og:type") != "product" and not meta.get("product:price:amount"):
        return {}
    return {"name": meta.get("og:title"), "price": meta.get("product:price:amount"),
            "currency": meta.get("product:price:currency"),
            "availability": meta.get("product:availability"), "image": meta.get("og:image")}


def from_css(response: Response) -> dict[str, Any]:
    main = response.css(".product-main")
    return {
        "name": _text(response.css("h1.product-title")),
        "price": _text(main.css(".price")),
        "sku": response.css(".sku::text").re_first(r"SKU:\s*(\S+)"),
        "availability": _text(main.css(".stock")),
        "brand": _text(main.css("a.brand")),
    }


def extract_product(response: Response) -> dict[str, Any] | None:
    from price_parser import Price

    item: dict[str, Any] = {}
    for candidate in (from_jsonld(response), from_microdata(response),
                      from_opengraph(response), from_css(response)):
        for key, value in candidate.items():
            if key not in item and value not in (None, "", [], {}):
                item[key] = value
    if not item.get("name"):
        return None
    price = item.get("price")
    if isinstance(price, str):
        parsed = Price.fromstring(price)
        item["price"] = parsed.amount_float
        if not item.get("currency") and parsed.currency:
            item["currency"] = SYMBOLS.get(parsed.currency, parsed.currency)
    elif isinstance(price, int | float):
        item["price"] = float(price)
    if item.get("price") is None:
        item.pop("currency", None)
    availability = str(item.get("availability") or "").rsplit("/", 1)[-1]
    item["availability"] = next((value for pattern, value in _AVAILABILITY
                                 if pattern.search(availability)), "unknown")
    if item.get("image"):
        item["image"] = response.urljoin(item["image"])
    item["url"] = response.url
    return item


def scrapy_child(argv: list[str]) -> None:
    """The Scrapy contender, run in its own process: ``--scrapy-child URL N FEED STATS``."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import TextResponse
    from scrapy.linkextractors import LinkExtractor

    start, concurrency, feed, stats_path = argv[0], int(argv[1]), argv[2], argv[3]

    class ShopSpider(scrapy.Spider):
        name = "shop"
        allowed_domains = [urlsplit(start).hostname or ""]
        start_urls = [start + "/"]
        links = LinkExtractor(allow=ALLOW, process_value=strip_tracking)
        pages = 0

        def parse(self, response: Response) -> Iterator[Any]:
            assert isinstance(response, TextResponse)  # the allow patterns only reach HTML
            self.pages += 1
            item = extract_product(response)
            if item is not None:
                yield item
            yield from response.follow_all(self.links.extract_links(response), self.parse)

        def closed(self, reason: str) -> None:
            assert self.crawler.stats is not None
            stats = self.crawler.stats.get_stats()
            Path(stats_path).write_text(json.dumps({
                "pages": self.pages, "finish_reason": reason,
                "responses": stats.get("response_received_count", 0),
                "robots_forbidden": stats.get("robotstxt/forbidden", 0),
            }))

    process = CrawlerProcess(settings={
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "DEPTH_LIMIT": 0,
        "RETRY_TIMES": 3,  # voidx's default retries
        "DOWNLOAD_TIMEOUT": 20,  # voidx's default timeout
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {feed: {"format": "jsonlines", "encoding": "utf-8"}},
    })
    process.crawl(ShopSpider)
    process.start()


# -- the comparison --------------------------------------------------------------------------
def compare(voidx: dict[str, dict[str, Any]], scrapy: dict[str, dict[str, Any]]
            ) -> dict[str, Any]:
    """How far the two contenders' products disagree, field by field."""
    mismatches: dict[str, int] = {}
    example: str | None = None
    for url in voidx.keys() & scrapy.keys():
        for key in FIELDS:
            a, b = voidx[url].get(key), scrapy[url].get(key)
            if a != b:
                mismatches[key] = mismatches.get(key, 0) + 1
                example = example or f"{url} {key}: voidx {a!r}, scrapy {b!r}"
    return {"only_voidx": len(voidx.keys() - scrapy.keys()),
            "only_scrapy": len(scrapy.keys() - voidx.keys()),
            "field_mismatches": mismatches, "example": example}


def best(results: list[Result]) -> Result:
    return max(results, key=lambda r: r.pages_per_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the shop waits before each response")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the best counts")
    args = parser.parse_args()
    args.repeat = max(1, args.repeat)

    from voidx.demo import Catalog

    product_pages = sum(not p.js_only for p in Catalog(n_products=args.products, seed=7).products)
    shop, url = start_shop_process(args.products, args.latency)
    runs: dict[str, list[Result]] = {"voidx": [], "scrapy": []}
    try:
        with tempfile.TemporaryDirectory(prefix="voidx-bench-") as tmp:
            agreement: dict[str, Any] = {}
            for i in range(args.repeat):
                workdir = Path(tmp) / f"run{i}"
                workdir.mkdir()
                # Alternate who goes first, so neither always meets the fresher machine.
                if i % 2:
                    s = run_scrapy(url, args.concurrency, workdir)
                    v = run_voidx(url, args.concurrency, args.products, workdir)
                else:
                    v = run_voidx(url, args.concurrency, args.products, workdir)
                    s = run_scrapy(url, args.concurrency, workdir)
                runs["voidx"].append(v)
                runs["scrapy"].append(s)
                print(f"run {i + 1}: voidx {v.pages_per_s:.0f} pages/s, {v.peak_rss_mb:.0f} MB; "
                      f"scrapy {s.pages_per_s:.0f} pages/s, {s.peak_rss_mb:.0f} MB",
                      file=sys.stderr, flush=True)
                if i == 0:
                    agreement = compare(voidx_records(Path(v.details["store"])),
                                        scrapy_items(Path(s.details["feed"])))
    finally:
        stop(shop)

    v, s = best(runs["voidx"]), best(runs["scrapy"])
    speed = v.pages_per_s / s.pages_per_s if s.pages_per_s else 0.0
    memory = v.peak_rss_mb / s.peak_rss_mb if s.peak_rss_mb else 0.0

    print(f"demo shop: {args.products} products ({product_pages} product pages), "
          f"concurrency {args.concurrency}, latency {args.latency * 1000:g} ms, "
          f"best of {args.repeat}")
    print(f"{'contender':<10} {'pages':>7} {'records':>8} {'seconds':>8} {'pages/s':>8} "
          f"{'peak mem MB':>12}")
    for r in (v, s):
        print(f"{r.contender:<10} {r.pages:>7} {r.records:>8} {r.seconds:>8.2f} "
              f"{r.pages_per_s:>8.1f} {r.peak_rss_mb:>12.1f}")
    print(f"voidx: crawl {v.details['crawl_s']:.2f} s ({v.details['crawl_rss_mb']:.0f} MB), "
          f"extract {v.details['extract_s']:.2f} s ({v.details['extract_rss_mb']:.0f} MB)")

    warnings = []
    if product_pages < 5000:
        warnings.append(f"only {product_pages} product pages; the issue asks for >= 5,000")
    if abs(v.pages - s.pages) > 3:
        warnings.append(f"not the same work: page counts differ: voidx {v.pages}, "
                        f"scrapy {s.pages}")
    for r in (v, s):
        if r.records != product_pages:
            warnings.append(f"not the same work: {r.contender} extracted {r.records} "
                            f"records, expected {product_pages}")
    if agreement["only_voidx"] or agreement["only_scrapy"] or agreement["field_mismatches"]:
        warnings.append(f"not the same work: records disagree: {agreement['only_voidx']} "
                        f"only in voidx, {agreement['only_scrapy']} only in scrapy, "
                        f"field mismatches "
                        f"{agreement['field_mismatches']}; e.g. {agreement['example']}")
    for warning in warnings:
        print(f"WARNING: {warning}")

    print(f"ratio (voidx/scrapy pages/s): {speed:.2f}x")
    print(f"memory ratio (voidx/scrapy peak memory): {memory:.2f}x")
    met = speed >= SPEED_TARGET and memory <= MEMORY_TARGET
    print(f"TARGET {'MET' if met else 'MISSED'} (speed >= {SPEED_TARGET:g}x and "
          f"memory <= {MEMORY_TARGET:g}x)")

    def figures(r: Result) -> dict[str, Any]:
        detail = {k: val for k, val in r.details.items() if k not in ("store", "feed")}
        return {**{k: val for k, val in asdict(r).items() if k != "details"}, **detail,
                "seconds": round(r.seconds, 3), "peak_rss_mb": round(r.peak_rss_mb, 1),
                "pages_per_s": round(r.pages_per_s, 1)}

    print(json.dumps({
        "bench": "crawl_vs_scrapy", "products": args.products, "product_pages": product_pages,
        "concurrency": args.concurrency, "latency_s": args.latency, "repeat": args.repeat,
        "voidx": figures(v), "scrapy": figures(s),
        "speed_ratio": round(speed, 3), "memory_ratio": round(memory, 3),
        "agreement": agreement, "warnings": warnings, "target_met": met,
    }))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--scrapy-child"]:
        scrapy_child(sys.argv[2:])
    else:
        sys.exit(main())
