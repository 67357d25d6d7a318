"""The SQLite store: migrations (fresh and on an old database) and the runs ledger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from voidx.errors import StoreError
from voidx.store import InterruptedRun, RunLedger, RunTracker, Store, migrations


def test_fresh_store_has_every_migration_and_wal(tmp_path: Path) -> None:
    with Store(tmp_path / "s" / "voidx.db") as store:
        assert store.schema_version() == migrations()[-1][0]
        assert store.scalar("PRAGMA journal_mode") == "wal"
        assert store.scalar("PRAGMA foreign_keys") == 1
        assert {"runs", "frontier", "pages", "fetches", "bodies", "extractions", "quarantine",
                "products", "price_history", "alerts"} <= set(store.tables())
        strict = store.scalar("SELECT sql FROM sqlite_master WHERE name = 'products'")
        assert "STRICT" in str(strict)


def test_migrations_upgrade_an_old_database_and_keep_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store(path, upto=2) as old:
        assert old.schema_version() == 2
        assert "products" not in old.tables()
        old.execute("INSERT INTO runs (command, started_at, status) VALUES ('crawl', 'x', 'ok')")
        old.execute("INSERT INTO frontier (url, source, discovered_at) VALUES ('http://a/', 's', 'x')")
    with Store(path) as store:
        assert store.schema_version() == migrations()[-1][0]
        assert store.scalar("SELECT command FROM runs") == "crawl"
        assert store.scalar("SELECT url FROM frontier") == "http://a/"
        assert "products" in store.tables()
        applied = [r["version"] for r in store.query("SELECT version FROM schema_migrations")]
        assert applied == [v for v, _, _ in migrations()]
    with Store(path) as again:  # opening again applies nothing twice
        assert again.migrate() == []


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with Store(path) as store:
        store.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    with pytest.raises(StoreError, match="newer than this voidx knows"):
        Store(path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)


def test_run_ledger_records_ok_failed_interrupted_partial(tmp_path: Path) -> None:
    with Store(tmp_path / "v.db") as store:
        tracker = RunTracker(store)
        with tracker.track("crawl", {"max_pages": 5}, "2026-03-01T18:00:00Z") as run:
            run.count("pages_fetched", 3)
        with pytest.raises(ValueError), tracker.track("extract", {}, None):
            raise ValueError("boom")
        with pytest.raises(InterruptedRun), tracker.track("crawl", {}, None):
            raise InterruptedRun("stop")
        with tracker.track("crawl", {}, None) as run:
            run.counters["_partial"] = True
        rows = RunLedger(store).recent()
    by_id = {r["id"]: r for r in rows}
    assert by_id[1]["status"] == "ok"
    assert by_id[1]["counters"] == {"pages_fetched": 3}
    assert by_id[1]["args"] == {"max_pages": 5}
    assert by_id[1]["as_of"] == "2026-03-01T18:00:00Z"
    assert by_id[1]["ended_at"] is not None
    assert (by_id[2]["status"], by_id[2]["error"]) == ("failed", "boom")
    assert by_id[3]["status"] == "interrupted"
    assert by_id[4]["status"] == "partial" and "_partial" not in by_id[4]["counters"]


def test_killed_run_is_found_abandoned(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from voidx.store import Store, RunLedger\n"
        f"s = Store(Path({str(path)!r})); RunLedger(s).start('crawl', {{}}, None)\n"
        "print('started', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    with Store(path) as store:
        assert RunLedger(store).is_live(1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.05)
        assert not RunLedger(store).is_live(1)
        assert RunLedger(store).reap_abandoned() == 1
        row = store.query("SELECT status, error, counters FROM runs WHERE id = 1")[0]
    assert row["status"] == "abandoned"
    assert "without finishing" in row["error"]
    assert json.loads(row["counters"]) == {}


def test_bodies_are_read_in_groups_as_stored(tmp_path: Path) -> None:
    """``load_bodies`` gives what ``load_body`` gives, page by page, for any number of pages
    (500 hashes a query): compressed or not, a hash asked twice read once, a hash the store
    does not hold left out."""
    import zlib

    from voidx.collect.frontier import load_bodies, load_body

    bodies = {f"h{n:04d}": f"<html>page {n}</html>".encode() * (n % 7 + 1) for n in range(1203)}
    with Store(tmp_path / "voidx.db") as store, store.transaction() as conn:
        conn.executemany(
            "INSERT INTO bodies (hash, compression, size, body) VALUES (?, ?, ?, ?)",
            [(h, "zlib" if n % 2 else "none", len(b), zlib.compress(b) if n % 2 else b)
             for n, (h, b) in enumerate(bodies.items())])
    with Store(tmp_path / "voidx.db") as store:
        queries: list[int] = []
        execute = store.execute

        def counting(sql: str, params: Any = ()) -> Any:
            queries.append(len(params))
            return execute(sql, params)

        store.execute = counting  # type: ignore[method-assign]
        got = load_bodies(store, [*bodies, "h0007", "missing"])
        assert queries == [500, 500, 204]  # 1,204 distinct hashes, 500 a query
        store.execute = execute  # type: ignore[method-assign]
        assert got == bodies
        assert all(load_body(store, h) == got[h] for h in ("h0000", "h0001", "h1202"))
        assert load_body(store, "missing") is None and load_bodies(store, []) == {}
