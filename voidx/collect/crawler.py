"""The crawl stage: claim URLs from the frontier, fetch them politely, commit in batches."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from loguru import logger

from voidx.clock import format_ts, now_ts, parse_ts
from voidx.collect.browser import BrowserFetcher, needs_browser
from voidx.collect.fetch import FetchResult, HttpFetcher
from voidx.collect.frontier import Frontier, FrontierItem, PageOutcome, load_body
from voidx.collect.links import page_links
from voidx.collect.proxies import ProxyPool, read_proxy_file
from voidx.collect.robots import RobotsCache
from voidx.collect.sitemaps import discover
from voidx.collect.throttle import HostThrottle
from voidx.collect.urls import canonicalize, host_of
from voidx.config import Config, CrawlConfig, SourceConfig
from voidx.errors import StageError, UsageError
from voidx.store import InterruptedRun, Run, Store

HTML_TYPES = ("text/html", "application/xhtml+xml")
BATCH_SIZE = 32
FLUSH_EVERY_S = 0.25
RENDERERS = ("http", "browser", "auto")


@dataclass
class CrawlOptions:
    """Command-line overrides; None means: take the config's value."""

    urls: list[str] = field(default_factory=list)
    source: str | None = None
    max_pages: int | None = None
    max_depth: int | None = None
    concurrency: int | None = None
    per_host: int | None = None
    delay_s: float | None = None
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    ignore_robots: bool = False
    user_agent: str | None = None
    render: str | None = None
    proxy_file: Path | None = None


@dataclass
class CrawlStats:
    pages_fetched: int = 0
    pages_failed: int = 0
    pages_unchanged: int = 0
    pages_skipped: int = 0
    pages_rendered: int = 0
    bytes: int = 0
    queued: int = 0
    retries: int = 0
    sitemap_urls: int = 0
    cycles_resumed: int = 0
    cycles_finished: int = 0
    status_codes: Counter[str] = field(default_factory=Counter)
    proxies: dict[str, dict[str, object]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def as_dict(self) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.started
        summary: dict[str, Any] = {
            "pages_fetched": self.pages_fetched, "pages_failed": self.pages_failed,
            "pages_unchanged": self.pages_unchanged, "pages_skipped": self.pages_skipped,
            "pages_rendered": self.pages_rendered, "queued": self.queued, "bytes": self.bytes,
            "retries": self.retries, "sitemap_urls": self.sitemap_urls,
            "cycles_resumed": self.cycles_resumed, "cycles_finished": self.cycles_finished,
            "status_codes": dict(sorted(self.status_codes.items())),
            "elapsed_s": round(elapsed, 3),
            "pages_per_s": round(self.pages_fetched / elapsed, 1) if elapsed > 0 else 0.0,
        }
        if self.proxies:
            summary["proxies"] = self.proxies
        return summary


def judge(summary: dict[str, Any], run: Run) -> dict[str, Any]:
    """Every page failed: the work failed (exit 1); some failed: partial (exit 3)."""
    if summary["pages_failed"] and not summary["pages_fetched"]:
        raise StageError(f"every page failed ({summary['pages_failed']}); "
                         "see `voidx export pages` for the errors", stage="crawl", run_id=run.id)
    if summary["pages_failed"]:
        run.counters["_partial"] = True
    return summary


def plan_sources(config: Config, options: CrawlOptions) -> list[SourceConfig]:
    """The sources one ``voidx crawl`` invocation covers."""
    if options.render is not None and options.render not in RENDERERS:
        raise UsageError(f"--render: expected one of {', '.join(RENDERERS)}, "
                         f"got {options.render!r}")
    for pattern in (*options.allow, *options.deny):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"--allow/--deny: bad regular expression {pattern!r}: {exc}"
                             ) from None
    if options.urls:
        seeds = []
        for url in options.urls:
            canonical = canonicalize(url)
            if canonical is None:
                raise UsageError(f"URL: not an http(s) URL: {url!r}")
            seeds.append(canonical)
        # URLs on the command line say where to start: the site's sitemaps are not read.
        if options.source:
            base = config.source(options.source)
            return [base.model_copy(update={"start_urls": seeds, "sitemaps": False})]
        by_host: dict[str, list[str]] = {}
        for url in seeds:
            by_host.setdefault(host_of(url), []).append(url)
        known = {host_of(u): s for s in config.sources for u in s.start_urls}
        return [known[h].model_copy(update={"start_urls": urls, "sitemaps": False}) if h in known
                else SourceConfig(name=h, start_urls=urls, sitemaps=False)
                for h, urls in by_host.items()]
    if options.source:
        return [config.source(options.source)]
    if not config.sources:
        raise UsageError("nothing to crawl: give URLs or add [[sources]] to voidx.toml")
    return list(config.sources)


def crawl(store: Store, config: Config, run: Run, options: CrawlOptions,
          as_of: str | None = None, progress: Callable[[CrawlStats], None] | None = None
          ) -> dict[str, Any]:
    """Crawl every planned source; returns the summary counters (also put on ``run``)."""
    sources = plan_sources(config, options)
    proxy_urls = (read_proxy_file(options.proxy_file) if options.proxy_file
                  else config.crawl.proxies)
    proxies = ProxyPool.from_urls(proxy_urls, config.crawl.proxy_mode)
    stats = CrawlStats()
    try:
        for source in sources:
            asyncio.run(_SourceCrawl(store, config.crawl, config.project.user_agent, source,
                                     run, options, as_of, stats, progress, proxies).crawl())
    finally:
        stats.queued = sum(Frontier(store, s.name, run.id).pending() for s in sources)
        if proxies is not None:
            stats.proxies = proxies.stats()
        run.counters.update({k: v for k, v in stats.as_dict().items()
                             if isinstance(v, int | float)})
    return stats.as_dict()


class _SourceCrawl:
    def __init__(self, store: Store, crawl_cfg: CrawlConfig, user_agent: str,
                 source: SourceConfig, run: Run, options: CrawlOptions, as_of: str | None,
                 stats: CrawlStats, progress: Callable[[CrawlStats], None] | None,
                 proxies: ProxyPool | None) -> None:
        self.store, self.source, self.run, self.as_of = store, source, run, as_of
        self.cfg = crawl_cfg
        self.stats, self.progress = stats, progress
        self.render = options.render or source.render
        self.max_pages = options.max_pages or source.max_pages or crawl_cfg.max_pages
        self.max_depth = (options.max_depth if options.max_depth is not None
                          else source.max_depth if source.max_depth is not None
                          else crawl_cfg.max_depth)
        self.concurrency = options.concurrency or crawl_cfg.concurrency
        self.per_host = options.per_host or crawl_cfg.per_host
        self.delay_s = options.delay_s if options.delay_s is not None else crawl_cfg.delay_s
        self.obey_robots = crawl_cfg.obey_robots and not options.ignore_robots
        self.allow = [re.compile(p) for p in (options.allow or source.allow)]
        self.deny = [re.compile(p) for p in (options.deny or source.deny)]
        self.hosts = {host_of(u) for u in source.start_urls}
        agent = options.user_agent or user_agent
        self.fetcher = HttpFetcher(
            user_agent=agent, timeout_s=crawl_cfg.timeout_s, retries=crawl_cfg.retries,
            max_body_bytes=crawl_cfg.max_body_bytes, concurrency=self.concurrency,
            per_host=self.per_host, backoff_base_s=crawl_cfg.backoff_s, proxies=proxies)
        self.browser = (BrowserFetcher(executable=crawl_cfg.browser_path, user_agent=agent,
                                       pages=crawl_cfg.browser_pages,
                                       timeout_s=crawl_cfg.browser_timeout_s,
                                       wait=crawl_cfg.browser_wait, wait_for=source.wait_for)
                        if self.render != "http" else None)
        self.robots = RobotsCache(self._get_any, agent)
        self.frontier = Frontier(store, source.name, run.id, lease_s=crawl_cfg.lease_s)
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._throttles: dict[str, HostThrottle] = {}
        self._outcomes: list[PageOutcome] = []
        self._known: set[str] = set()  # URLs already in the frontier: links to them are no news
        self._busy = 0
        self._stop = asyncio.Event()

    async def _get_any(self, url: str) -> tuple[int | None, bytes]:
        result = await self.fetcher.fetch(url, any_body=True)
        return result.status, result.body

    # -- the loop -------------------------------------------------------------------------
    async def crawl(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        try:
            await self._crawl()
        finally:
            await self.fetcher.aclose()
            if self.browser is not None:
                await self.browser.aclose()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    async def _crawl(self) -> None:
        seeds = [u for u in (canonicalize(s) for s in self.source.start_urls) if u]
        fresh_after = None
        if self.source.recrawl_after_s > 0:
            now = parse_ts(self.as_of) if self.as_of else parse_ts(now_ts())
            fresh_after = format_ts(now - timedelta(seconds=self.source.recrawl_after_s))
        if self.frontier.begin_cycle(seeds, fresh_after=fresh_after):
            self.stats.cycles_resumed += 1
            logger.info("resuming crawl cycle {} of {}", self.frontier.cycle_id, self.source.name)
        elif self.source.sitemaps:
            await self._seed_from_sitemaps(seeds)
        self._known = self.frontier.known_urls()
        budget = self.max_pages  # per run: a cycle larger than that goes on in the next run
        queue: asyncio.Queue[FrontierItem] = asyncio.Queue()
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(self.concurrency)]
        last_flush = time.perf_counter()
        try:
            while not self._stop.is_set():
                low = queue.qsize() < self.concurrency
                if self._outcomes and (low or len(self._outcomes) >= BATCH_SIZE
                                       or time.perf_counter() - last_flush > FLUSH_EVERY_S):
                    self._flush()  # also makes the links found so far claimable
                    last_flush = time.perf_counter()
                claimed = 0
                if budget > 0 and low:
                    items = self.frontier.claim(min(self.concurrency * 2 - queue.qsize(), budget))
                    claimed, budget = len(items), budget - len(items)
                    for item in items:
                        queue.put_nowait(item)
                if queue.empty() and self._busy == 0 and not self._outcomes and not claimed:
                    break
                await asyncio.sleep(0.002)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._flush()
            self.frontier.release_own()
        if self._stop.is_set():
            raise InterruptedRun(f"crawl of {self.source.name} interrupted")
        if not self.frontier.pending():
            self.frontier.finish_cycle()
            self.stats.cycles_finished += 1

    async def _seed_from_sitemaps(self, seeds: list[str]) -> None:
        declared: list[str] = []
        for seed in seeds[:1]:
            if self.obey_robots:
                declared = await self.robots.sitemaps(seed)
            urls = await discover(self._get_any, seed, declared)
            follow, _ = self._route(urls)
            self.frontier.add(follow, depth=1, priority=5)
            self.stats.sitemap_urls += len(follow)
            logger.bind(urls=len(follow)).debug("sitemaps listed {} URLs to crawl", len(follow))

    def _flush(self) -> None:
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        self.frontier.record(batch)
        if self.progress:
            self.stats.queued = self.frontier.pending()
            self.progress(self.stats)

    async def _worker(self, queue: asyncio.Queue[FrontierItem]) -> None:
        while True:
            item = await queue.get()
            self._busy += 1
            try:
                outcome = await self._visit(item)
            except Exception as exc:  # a bug or odd input must not stall the crawl
                logger.bind(url=item.url).exception("crawling {} failed", item.url)
                outcome = PageOutcome(item, "failed", fetched_at=self.as_of or now_ts(),
                                      error=f"internal error: {type(exc).__name__}: {exc}")
            finally:
                self._busy -= 1
            self._count(outcome)
            self._outcomes.append(outcome)

    def _count(self, o: PageOutcome) -> None:
        if o.status == "done":
            self.stats.pages_fetched += 1
            self.stats.pages_unchanged += int(o.unchanged)
            self.stats.pages_rendered += int(o.renderer == "browser")
            self.stats.bytes += o.bytes
        elif o.status == "failed":
            self.stats.pages_failed += 1
            logger.bind(url=o.item.url, error=o.error).warning("failed {}: {}", o.item.url, o.error)
        else:
            self.stats.pages_skipped += 1
        if o.status_code is not None:
            self.stats.status_codes[str(o.status_code)] += 1

    # -- one URL --------------------------------------------------------------------------
    async def _visit(self, item: FrontierItem) -> PageOutcome:
        if item.depth > 0 and not self._allowed(item.url):
            # Patterns are checked again at claim time: they may have changed since the URL
            # was queued, and a new cycle queues every known URL again.
            return PageOutcome(item, "skipped_filter", error="allow/deny patterns")
        if self.obey_robots and not await self.robots.allowed(item.url):
            return PageOutcome(item, "skipped_robots", error="disallowed by robots.txt")
        host = host_of(item.url)
        slot = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        throttle = await self._throttle(item.url, host)
        async with slot:
            if self.render == "browser":
                assert self.browser is not None
                await throttle.wait()
                result = await self.browser.fetch(item.url)
            else:
                result = await self.fetcher.fetch(item.url, etag=item.etag,
                                                  last_modified=item.last_modified,
                                                  throttle=throttle)
                if self.render == "auto" and result.ok and result.body \
                        and result.content_type.startswith(HTML_TYPES) \
                        and needs_browser(result.body):
                    assert self.browser is not None
                    result = await self.browser.fetch(item.url)
        self.stats.retries += result.attempts - 1
        return self._outcome(item, result)

    async def _throttle(self, url: str, host: str) -> HostThrottle:
        throttle = self._throttles.get(host)
        if throttle is None:
            floor = self.delay_s
            if self.obey_robots:
                floor = max(floor, await self.robots.crawl_delay(url))
            throttle = self._throttles.setdefault(host, HostThrottle(
                min_delay_s=floor, max_delay_s=self.cfg.max_delay_s,
                target_concurrency=self.cfg.autothrottle_target or self.per_host,
                adaptive=self.cfg.autothrottle))
        return throttle

    def _outcome(self, item: FrontierItem, r: FetchResult) -> PageOutcome:
        fetched_at = self.as_of or now_ts()
        o = PageOutcome(item, "done" if (r.ok or r.not_modified) else "failed",
                        fetched_at=fetched_at, status_code=r.status, final_url=r.final_url,
                        content_type=r.content_type or None, charset=r.charset,
                        elapsed_ms=r.elapsed_ms,
                        error=r.error, bytes=len(r.body), renderer=r.renderer,
                        etag=r.headers.get("etag"), last_modified=r.headers.get("last-modified"))
        body: bytes | None = None
        if r.not_modified and item.content_hash:
            o.content_hash, o.unchanged = item.content_hash, True
            body = load_body(self.store, item.content_hash)
        elif r.ok and r.body:
            o.content_hash = hashlib.blake2b(r.body, digest_size=16).hexdigest()
            o.unchanged = o.content_hash == item.content_hash
            o.body = body = r.body
        if body is not None and (o.content_type or "text/html").startswith(HTML_TYPES) \
                and item.depth < self.max_depth:
            o.links, o.filtered_links = (tuple(x) for x in self._route(
                page_links(body, r.final_url or item.url)))
        return o

    def _allowed(self, url: str) -> bool:
        return host_of(url) in self.hosts and not any(p.search(url) for p in self.deny) and (
            not self.allow or any(p.search(url) for p in self.allow))

    def _route(self, links: list[str]) -> tuple[list[str], list[str]]:
        """New same-host links split into (to follow, filtered out by allow/deny)."""
        follow: list[str] = []
        filtered: list[str] = []
        known = self._known
        for url in links:
            if url in known or host_of(url) not in self.hosts:
                continue
            known.add(url)
            (follow if self._allowed(url) else filtered).append(url)
        return follow, filtered
