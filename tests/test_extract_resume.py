"""kill -9 in the middle of an extract run on its worker pool, then resume: every page is
extracted once, the records are those of an uninterrupted run, and no worker outlives it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import project_config, voidx_process
from voidx.demo import Catalog, DemoShopServer, ShopSite
from voidx.extract.workers import POOL_MIN_PAGES

PRODUCTS = 2400


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:  # the table is being created
            return 0


def records(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT url, record FROM extractions"))


def processes_running(marker: str) -> list[int]:
    """Pids whose command line mentions ``marker`` (a forked worker keeps its parent's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose store holds a crawl of a 2,400-product shop, not yet extracted."""
    project = tmp_path_factory.mktemp("crawled")
    with DemoShopServer(ShopSite(Catalog(n_products=PRODUCTS, seed=5))) as shop:
        (project / "voidx.toml").write_text(project_config(shop.url, concurrency=16))
        crawl = voidx_process(project, "--json", "crawl")
        _, err = crawl.communicate(timeout=300)
        assert crawl.returncode == 0, err
    return project


def copy_of(crawled: Path, where: Path) -> Path:
    where.mkdir()
    (where / "voidx.toml").write_text((crawled / "voidx.toml").read_text())
    (where / ".voidx").mkdir()
    with sqlite3.connect(crawled / ".voidx" / "voidx.db") as src, \
            sqlite3.connect(where / ".voidx" / "voidx.db") as dst:
        src.backup(dst)
    return where


def wait_for_extractions(proc: subprocess.Popen[str], db: Path, at_least: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if count(db, "SELECT COUNT(*) FROM extractions") >= at_least:
            return
        time.sleep(0.005)


def test_sigkill_mid_extract_then_resume(tmp_path: Path, crawled: Path) -> None:
    killed = copy_of(crawled, tmp_path / "killed")
    clean = copy_of(crawled, tmp_path / "clean")
    db, clean_db = killed / ".voidx" / "voidx.db", clean / ".voidx" / "voidx.db"
    pages = count(db, "SELECT COUNT(DISTINCT url) FROM fetches WHERE content_hash IS NOT NULL")
    assert pages >= POOL_MIN_PAGES  # large enough for the worker pool

    proc = voidx_process(killed, "--json", "extract", "--workers", "2")
    wait_for_extractions(proc, db, 100)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = count(db, "SELECT COUNT(*) FROM extractions")
    assert 100 <= before < pages, "the extract run must be killed in the middle"
    # Its workers end with it instead of waiting on their task pipe for ever.
    deadline = time.monotonic() + 10
    while processes_running(str(killed)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_running(str(killed)) == []

    resumed = voidx_process(killed, "--json", "extract", "--workers", "2")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    summary = json.loads(out)
    assert summary["pages"] == pages - before  # only what was not stored yet
    assert summary["workers"] == 2

    uninterrupted = voidx_process(clean, "--json", "extract", "--workers", "2")
    out, err = uninterrupted.communicate(timeout=300)
    assert uninterrupted.returncode == 0, err
    assert json.loads(out)["pages"] == pages
    got, want = records(db), records(clean_db)
    assert len(got) == pages
    assert got == want
    assert sum(r is not None for r in got.values()) >= PRODUCTS * 0.9
    with sqlite3.connect(db) as conn:
        statuses = [r[0] for r in conn.execute(
            "SELECT status FROM runs WHERE command = 'extract' ORDER BY id")]
    assert statuses == ["abandoned", "ok"]


def test_ctrl_c_stops_the_pool_and_keeps_what_was_read(tmp_path: Path, crawled: Path) -> None:
    project = copy_of(crawled, tmp_path / "p")
    db = project / ".voidx" / "voidx.db"
    proc = voidx_process(project, "--json", "extract", "--workers", "2",
                         start_new_session=True)
    wait_for_extractions(proc, db, 100)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err  # the workers leave quietly
    stored = count(db, "SELECT COUNT(*) FROM extractions")
    pages = count(db, "SELECT COUNT(DISTINCT url) FROM fetches WHERE content_hash IS NOT NULL")
    assert 100 <= stored < pages
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs WHERE command = 'extract'").fetchall() \
            == [("interrupted",)]
    again = voidx_process(project, "--json", "extract", "--workers", "2")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert json.loads(out)["pages"] == pages - stored
    assert count(db, "SELECT COUNT(*) FROM extractions") == pages
