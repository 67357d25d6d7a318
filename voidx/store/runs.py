"""The run ledger: every command records what it did, when, and how it ended."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from voidx.clock import now_ts
from voidx.store.db import Store

FINAL_STATUSES = ("ok", "partial", "failed", "interrupted", "abandoned")


@dataclass
class Run:
    """A running command; stages add to ``counters``, the ledger stores them at the end."""

    id: int
    command: str
    as_of: str | None
    counters: dict[str, Any] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n


class RunLedger:
    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, command: str, args: dict[str, Any], as_of: str | None) -> Run:
        self.reap_abandoned()
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (command, args, as_of, started_at, status, pid, host)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (command, json.dumps(args, default=str, sort_keys=True), as_of, now_ts(),
                 os.getpid(), socket.gethostname()),
            )
        assert cur.lastrowid is not None
        return Run(id=cur.lastrowid, command=command, as_of=as_of)

    def finish(self, run: Run, status: str, error: str | None = None) -> None:
        assert status in FINAL_STATUSES
        self.store.execute(
            "UPDATE runs SET ended_at = ?, status = ?, counters = ?, error = ? WHERE id = ?",
            (now_ts(), status, json.dumps(run.counters, sort_keys=True), error, run.id),
        )

    def reap_abandoned(self) -> int:
        """Mark runs of this host whose process is gone (killed, power loss) as abandoned."""
        host = socket.gethostname()
        dead = [r["id"] for r in self.store.query(
            "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (host,))
            if not _alive(r["pid"])]
        for run_id in dead:
            self.store.execute(
                "UPDATE runs SET status = 'abandoned', ended_at = ?,"
                " error = COALESCE(error, 'process ended without finishing the run')"
                " WHERE id = ? AND status = 'running'", (now_ts(), run_id))
        return len(dead)

    def is_live(self, run_id: int) -> bool:
        row = self.store.query("SELECT status, pid, host FROM runs WHERE id = ?", (run_id,))
        if not row or row[0]["status"] != "running":
            return False
        return row[0]["host"] != socket.gethostname() or _alive(row[0]["pid"])

    def recent(self, limit: int = 20, command: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs" + (" WHERE command = ?" if command else "")
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?",
                                ((command, limit) if command else (limit,)))
        for row in rows:
            row["args"] = json.loads(row["args"])
            row["counters"] = json.loads(row["counters"])
        return rows


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class RunTracker:
    """``with RunTracker(store).track("crawl", args, as_of) as run:`` records one run.

    The run ends 'ok', 'partial' (when the stage set ``run.counters['_partial']``), 'failed'
    with the error, or 'interrupted' on Ctrl-C; a killed process is found 'abandoned' later.
    """

    def __init__(self, store: Store) -> None:
        self.ledger = RunLedger(store)

    @contextmanager
    def track(self, command: str, args: dict[str, Any], as_of: str | None) -> Iterator[Run]:
        run = self.ledger.start(command, args, as_of)
        try:
            yield run
        except (KeyboardInterrupt, InterruptedRun):
            self.ledger.finish(run, "interrupted", "interrupted by the user")
            raise
        except BaseException as exc:
            self.ledger.finish(run, "failed", str(exc) or type(exc).__name__)
            raise
        partial = bool(run.counters.pop("_partial", False))
        self.ledger.finish(run, "partial" if partial else "ok")


class InterruptedRun(Exception):
    """A stage stopped on Ctrl-C / SIGTERM after committing what it had."""
