"""kill -9 in the middle of a crawl, then resume: no page lost, none fetched twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import project_config, voidx_process
from voidx.collect.crawler import BATCH_SIZE
from voidx.demo import Catalog, DemoShopServer, ShopSite

CONCURRENCY = 4


@pytest.fixture(scope="module")
def slow_shop() -> Iterator[DemoShopServer]:
    # 30 ms per response, so the crawl takes seconds and can be killed in the middle.
    with DemoShopServer(ShopSite(Catalog(n_products=200, seed=11)), latency_s=0.03) as server:
        yield server


def fetched_urls(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        try:
            return [r[0] for r in conn.execute("SELECT url FROM fetches ORDER BY id")]
        except sqlite3.OperationalError:  # the crawler is still creating the store
            return []


def make_project(root: Path, shop: DemoShopServer) -> Path:
    root.mkdir()
    (root / "voidx.toml").write_text(project_config(shop.url, concurrency=CONCURRENCY))
    return root


def test_sigkill_mid_crawl_then_resume(tmp_path: Path, slow_shop: DemoShopServer) -> None:
    project = make_project(tmp_path / "killed", slow_shop)
    db = project / ".voidx" / "voidx.db"
    slow_shop.reset_hits()
    proc = voidx_process(project, "--json", "crawl")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and len(fetched_urls(db)) >= 60:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = fetched_urls(db)
    assert 60 <= len(before) < 200, "the crawl must be killed in the middle"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
        assert conn.execute("SELECT COUNT(*) FROM frontier WHERE status = 'claimed'"
                            ).fetchone()[0] > 0

    resumed = voidx_process(project, "--json", "crawl")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    summary = json.loads(out)
    assert summary["cycles_resumed"] == 1 and summary["cycles_finished"] == 1
    after = fetched_urls(db)
    assert after[:len(before)] == before  # nothing committed was lost
    assert len(after) == len(set(after)), "a page was stored twice in one cycle"
    assert summary["pages_fetched"] == len(after) - len(before)
    with sqlite3.connect(db) as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY id")]
        assert statuses == ["abandoned", "ok"]
        assert conn.execute("SELECT COUNT(*) FROM crawl_cycles").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM frontier WHERE status IN ('queued', 'claimed')"
                            ).fetchone()[0] == 0
    # Only work in flight or not yet committed at the kill can have been requested again.
    pages = {p: n for p, n in slow_shop.hits.items() if p != "/robots.txt"}
    repeated = sum(n - 1 for n in pages.values())
    assert repeated <= CONCURRENCY + BATCH_SIZE

    # The same crawl without interruption fetches exactly the same pages.
    clean = make_project(tmp_path / "clean", slow_shop)
    proc = voidx_process(clean, "--json", "crawl")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert set(fetched_urls(clean / ".voidx" / "voidx.db")) == set(after)


def test_max_pages_spreads_a_cycle_over_runs(tmp_path: Path,
                                            slow_shop: DemoShopServer) -> None:
    project = make_project(tmp_path / "p", slow_shop)
    first = voidx_process(project, "--json", "crawl", "--max-pages", "20")
    out, _ = first.communicate(timeout=60)
    assert json.loads(out)["pages_fetched"] == 20
    again = voidx_process(project, "--json", "crawl", "--max-pages", "20")
    out, _ = again.communicate(timeout=60)
    summary = json.loads(out)
    # the budget ended the run, not the cycle: this run goes on with the next pages
    assert summary["cycles_resumed"] == 1 and summary["pages_fetched"] == 20
    urls = fetched_urls(project / ".voidx" / "voidx.db")
    assert len(urls) == len(set(urls)) == 40
    rest = voidx_process(project, "--json", "crawl")
    out, _ = rest.communicate(timeout=120)
    assert json.loads(out)["cycles_finished"] == 1
    last = voidx_process(project, "--json", "crawl", "--max-pages", "5")
    out, _ = last.communicate(timeout=60)
    # a finished cycle is followed by a new one that starts again from the seeds
    assert json.loads(out)["cycles_resumed"] == 0
    with sqlite3.connect(project / ".voidx" / "voidx.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM crawl_cycles").fetchone()[0] == 2


def test_ctrl_c_stops_cleanly_after_committing(tmp_path: Path,
                                               slow_shop: DemoShopServer) -> None:
    project = make_project(tmp_path / "p", slow_shop)
    db = project / ".voidx" / "voidx.db"
    proc = voidx_process(project, "--json", "crawl")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and len(fetched_urls(db)) >= 40:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
        assert conn.execute("SELECT COUNT(*) FROM frontier WHERE status = 'claimed'"
                            ).fetchone()[0] == 0
        done = conn.execute("SELECT COUNT(*) FROM frontier WHERE status = 'done'").fetchone()[0]
    assert done == len(fetched_urls(db)) >= 40
    resumed = voidx_process(project, "--json", "crawl")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out)["cycles_resumed"] == 1
    urls = fetched_urls(db)
    assert len(urls) == len(set(urls))
