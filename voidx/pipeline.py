"""Whole-pipeline runs: ``voidx run`` (crawl -> extract -> etl -> analyze) and ``voidx demo``.

Each stage is recorded as its own run in the ledger, exactly as if it had been called alone,
so ``voidx status`` tells the same story either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from loguru import logger

from voidx.clock import format_ts, parse_ts, utcnow
from voidx.collect.crawler import CrawlOptions, crawl, judge
from voidx.config import AnalyzeConfig, Config, SourceConfig
from voidx.etl.warehouse import load_pending
from voidx.extract.stage import extract_pending
from voidx.intel.prices import analyze
from voidx.report.build import build_report
from voidx.store import RunTracker, Store

DEMO_SELECTORS: dict[str, Any] = {
    # The demo shop's "plain" template carries no structured data; these rules read it.
    "name": "h1.product-title",
    "price": ".product-main .price",
    "sku": {"css": ".sku", "regex": r"SKU:\s*(\S+)"},
    "availability": ".product-main .stock",
    "brand": ".product-main a.brand",
    "gtin": {"css": ".product-main .gtin", "regex": r"(\d{8,14})"},
    "category": "nav.breadcrumbs a:nth-of-type(2)",
    "rating": ".product-main .rating@data-rating",
    "review_count": {"css": ".product-main .review-count", "regex": r"(\d+)"},
    "image": ".product-main .gallery img@src",
}


def run_pipeline(store: Store, db_path: Path, config: Config, as_of: str | None,
                 options: CrawlOptions | None = None) -> dict[str, Any]:
    tracker = RunTracker(store)
    out: dict[str, Any] = {}
    with tracker.track("crawl", {"via": "run"}, as_of) as run:
        out["crawl"] = judge(crawl(store, config, run, options or CrawlOptions(), as_of), run)
        partial = bool(run.counters.get("_partial"))
    with tracker.track("extract", {"via": "run"}, as_of) as run:
        out["extract"] = extract_pending(store, config, run)
    with tracker.track("etl", {"via": "run"}, as_of) as run:
        out["etl"] = load_pending(store, run)
    with tracker.track("analyze", {"via": "run"}, as_of) as run:
        result = analyze(store, db_path, config, run)
        out["analyze"] = {k: v for k, v in result.items() if k != "new"}
    out["_partial"] = partial
    return out


def demo_config(shop_url: str) -> Config:
    return Config(
        sources=[SourceConfig(name="demo-shop", start_urls=[shop_url + "/"],
                              allow=[r"/category/", r"/product/"], selectors=DEMO_SELECTORS)],
        analyze=AnalyzeConfig(price_change_pct=10.0),
    )


def run_demo(project_dir: Path, *, days: int = 5, products: int = 300, start: str | None = None,
             port: int = 0, step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Serve the demo shop, crawl it on ``days`` simulated days, analyze and report.

    The demo keeps its own store (``.voidx/demo/voidx.db``), made fresh each time, so it never
    mixes the shop's throw-away URLs into the project's data.
    """
    from voidx.demo import start_demo_shop

    started = time.perf_counter()
    demo_dir = project_dir / ".voidx" / "demo"
    db_path = demo_dir / "voidx.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    first = parse_ts(start) if start else utcnow().replace(minute=0, second=0) - timedelta(
        days=days - 1)
    say = step or (lambda message: None)
    server = start_demo_shop(n_products=products, day=1, port=port)
    try:
        config = demo_config(server.url)
        with Store(db_path) as store:
            tracker = RunTracker(store)
            per_day = []
            for day in range(1, days + 1):
                server.site.day = day
                as_of = format_ts(first + timedelta(days=day - 1))
                with tracker.track("crawl", {"demo_day": day}, as_of) as run:
                    crawled = crawl(store, config, run, CrawlOptions(), as_of)
                with tracker.track("extract", {"demo_day": day}, as_of) as run:
                    extracted = extract_pending(store, config, run)
                with tracker.track("etl", {"demo_day": day}, as_of) as run:
                    loaded = load_pending(store, run)
                per_day.append({"day": day, "as_of": as_of,
                                "pages_fetched": crawled["pages_fetched"],
                                "pages_unchanged": crawled["pages_unchanged"],
                                "records": extracted["records"],
                                "new_versions": loaded["new_versions"]})
                say(f"day {day} ({as_of}): {crawled['pages_fetched']} pages, "
                    f"{crawled['pages_unchanged']} unchanged, {extracted['records']} new records,"
                    f" {loaded['new_versions']} price/stock changes")
                logger.debug("demo day {} done", day)
            with tracker.track("analyze", {"demo": True}, None) as run:
                found = analyze(store, db_path, config, run)
            with tracker.track("report", {"demo": True}, None) as run:
                report = build_report(store, db_path, project_dir, run,
                                      output=demo_dir / "report.html",
                                      title="voidx demo: the demo shop over "
                                            f"{days} days")
            n_products = int(store.scalar("SELECT COUNT(*) FROM products") or 0)
    finally:
        server.stop()
    return {
        "report": report["report"], "db": str(db_path), "products": n_products,
        "alerts": found["alerts_found"], "alerts_by_kind": found["by_kind"], "days": per_day,
        "shop": server.url, "elapsed_s": round(time.perf_counter() - started, 3),
    }
