"""The crawl frontier in SQLite: queued URLs, claims with leases, cycles, done-markers.

A crawl of a source is a *cycle*: an interrupted cycle is resumed by the next run; a finished
one is followed by a new cycle that revisits every known URL and discovers new ones.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from voidx.clock import format_ts, now_ts, utcnow
from voidx.store import RunLedger, Store


@dataclass(frozen=True)
class FrontierItem:
    url: str
    depth: int
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None


@dataclass
class PageOutcome:
    """What one claimed URL came to; written with its frontier marker in one transaction."""

    item: FrontierItem
    status: str  # done | failed | skipped_robots | skipped_filter
    fetched_at: str | None = None
    status_code: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    charset: str | None = None  # declared by the server's Content-Type
    content_hash: str | None = None
    body: bytes | None = None  # None: not stored (unchanged, not text, failed)
    etag: str | None = None
    last_modified: str | None = None
    unchanged: bool = False
    bytes: int = 0
    elapsed_ms: int | None = None
    error: str | None = None
    renderer: str = "http"
    links: tuple[str, ...] = ()
    filtered_links: tuple[str, ...] = ()


class Frontier:
    def __init__(self, store: Store, source: str, run_id: int, *, lease_s: float = 300.0) -> None:
        self.store = store
        self.source = source
        self.run_id = run_id
        self.lease_s = lease_s
        self.cycle_id = 0

    # -- cycles ---------------------------------------------------------------------------
    def begin_cycle(self, seeds: list[str], fresh_after: str | None = None) -> bool:
        """Resume the source's unfinished cycle or start a new one; True if resumed.

        A new cycle queues every known URL again, except those fetched after ``fresh_after``.
        """
        self.release_stale()
        row = self.store.query(
            "SELECT id FROM crawl_cycles WHERE source = ? AND finished_at IS NULL"
            " ORDER BY id DESC LIMIT 1", (self.source,))
        now = now_ts()
        with self.store.transaction() as conn:
            if row:
                self.cycle_id = row[0]["id"]
                resumed = True
            else:
                cur = conn.execute(
                    "INSERT INTO crawl_cycles (source, run_id, started_at) VALUES (?, ?, ?)",
                    (self.source, self.run_id, now))
                assert cur.lastrowid is not None
                self.cycle_id = cur.lastrowid
                conn.execute(
                    "UPDATE frontier SET status = 'queued', cycle_id = ?, attempts = 0,"
                    " claimed_by = NULL, lease_until = NULL WHERE source = ?"
                    " AND (? IS NULL OR url NOT IN"
                    "      (SELECT url FROM pages WHERE source = ? AND fetched_at > ?))",
                    (self.cycle_id, self.source, fresh_after, self.source, fresh_after))
                resumed = False
            for url in seeds:
                conn.execute(
                    "INSERT INTO frontier (url, source, depth, priority, status, cycle_id,"
                    " discovered_at) VALUES (?, ?, 0, 10, 'queued', ?, ?)"
                    " ON CONFLICT (url) DO UPDATE SET depth = 0, priority = 10"
                    " WHERE frontier.status = 'queued'",
                    (url, self.source, self.cycle_id, now))
        return resumed

    def add(self, urls: list[str], *, depth: int, priority: int = 0) -> None:
        now = now_ts()
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO frontier (url, source, depth, priority, status, cycle_id,"
                " discovered_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                [(u, self.source, depth, priority, self.cycle_id, now) for u in urls])

    def known_urls(self) -> set[str]:
        return {r[0] for r in self.store.execute("SELECT url FROM frontier WHERE source = ?",
                                                 (self.source,))}

    def finish_cycle(self) -> None:
        self.store.execute("UPDATE crawl_cycles SET finished_at = ? WHERE id = ?",
                           (now_ts(), self.cycle_id))

    def pending(self) -> int:
        return int(self.store.scalar(
            "SELECT COUNT(*) FROM frontier WHERE source = ? AND status IN ('queued', 'claimed')",
            (self.source,)) or 0)

    # -- claims ---------------------------------------------------------------------------
    def claim(self, n: int) -> list[FrontierItem]:
        if n <= 0:
            return []
        lease = format_ts(utcnow() + timedelta(seconds=self.lease_s))
        with self.store.transaction() as conn:
            rows = conn.execute(
                "UPDATE frontier SET status = 'claimed', claimed_by = ?, lease_until = ?,"
                " attempts = attempts + 1"
                " WHERE url IN (SELECT url FROM frontier WHERE source = ? AND status = 'queued'"
                "   ORDER BY priority DESC, depth, rowid LIMIT ?)"
                " RETURNING url, depth", (self.run_id, lease, self.source, n)).fetchall()
            items = []
            for row in rows:
                page = conn.execute(
                    "SELECT etag, last_modified, content_hash FROM pages WHERE url = ?",
                    (row["url"],)).fetchone()
                items.append(FrontierItem(row["url"], row["depth"], *(page or (None,) * 3)))
        return items

    def release_stale(self) -> int:
        """Return to the queue the claims whose lease ran out or whose run is gone."""
        ledger = RunLedger(self.store)
        holders = [r["claimed_by"] for r in self.store.query(
            "SELECT DISTINCT claimed_by FROM frontier WHERE source = ? AND status = 'claimed'",
            (self.source,))]
        gone = [h for h in holders if h is None or not ledger.is_live(h)]
        released = 0
        with self.store.transaction() as conn:
            for holder in gone:
                released += conn.execute(
                    "UPDATE frontier SET status = 'queued', claimed_by = NULL, lease_until = NULL"
                    " WHERE source = ? AND status = 'claimed' AND claimed_by IS ?",
                    (self.source, holder)).rowcount
            released += conn.execute(
                "UPDATE frontier SET status = 'queued', claimed_by = NULL, lease_until = NULL"
                " WHERE source = ? AND status = 'claimed' AND lease_until < ?",
                (self.source, now_ts())).rowcount
        return released

    def release_own(self) -> int:
        return self.store.execute(
            "UPDATE frontier SET status = 'queued', claimed_by = NULL, lease_until = NULL"
            " WHERE status = 'claimed' AND claimed_by = ?", (self.run_id,)).rowcount

    # -- results --------------------------------------------------------------------------
    def record(self, outcomes: list[PageOutcome]) -> None:
        """Write fetches, pages, bodies, discovered links and the done-markers together."""
        now = now_ts()
        with self.store.transaction() as conn:
            for o in outcomes:
                if o.status in ("done", "failed"):
                    assert o.fetched_at is not None
                    self._write_fetch(conn, o)
                conn.execute(
                    "UPDATE frontier SET status = ?, cycle_id = ?, claimed_by = NULL,"
                    " lease_until = NULL, last_error = ? WHERE url = ?",
                    (o.status, self.cycle_id, o.error, o.item.url))
                depth = o.item.depth + 1
                conn.executemany(
                    "INSERT OR IGNORE INTO frontier (url, source, depth, status, cycle_id,"
                    " discovered_at, parent_url) VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                    [(u, self.source, depth, self.cycle_id, now, o.item.url) for u in o.links])
                conn.executemany(
                    "INSERT OR IGNORE INTO frontier (url, source, depth, status, cycle_id,"
                    " discovered_at, parent_url, last_error)"
                    " VALUES (?, ?, ?, 'skipped_filter', ?, ?, ?, 'allow/deny patterns')",
                    [(u, self.source, depth, self.cycle_id, now, o.item.url)
                     for u in o.filtered_links])

    def _write_fetch(self, conn: sqlite3.Connection, o: PageOutcome) -> None:
        if o.body is not None and o.content_hash is not None:
            conn.execute(
                "INSERT OR IGNORE INTO bodies (hash, compression, size, body)"
                " VALUES (?, 'zlib', ?, ?)",
                (o.content_hash, len(o.body), zlib.compress(o.body, 1)))
        conn.execute(
            "INSERT INTO fetches (run_id, cycle_id, url, source, fetched_at, status_code,"
            " content_type, charset, content_hash, unchanged, renderer, bytes, elapsed_ms,"
            " error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, self.cycle_id, o.item.url, self.source, o.fetched_at, o.status_code,
             o.content_type, o.charset, o.content_hash, int(o.unchanged), o.renderer, o.bytes,
             o.elapsed_ms, o.error))
        conn.execute(
            "INSERT INTO pages (url, source, final_url, status_code, content_type, content_hash,"
            " etag, last_modified, fetched_at, first_fetched_at, changed_at, renderer, bytes,"
            " elapsed_ms, error, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (url) DO UPDATE SET final_url = excluded.final_url,"
            " status_code = excluded.status_code, content_type = excluded.content_type,"
            " content_hash = COALESCE(excluded.content_hash, pages.content_hash),"
            " etag = COALESCE(excluded.etag, pages.etag),"
            " last_modified = COALESCE(excluded.last_modified, pages.last_modified),"
            " fetched_at = excluded.fetched_at,"
            " changed_at = CASE WHEN excluded.content_hash IS NOT pages.content_hash"
            "   AND excluded.content_hash IS NOT NULL THEN excluded.fetched_at"
            "   ELSE pages.changed_at END,"
            " renderer = excluded.renderer, bytes = excluded.bytes,"
            " elapsed_ms = excluded.elapsed_ms, error = excluded.error, run_id = excluded.run_id",
            (o.item.url, self.source, o.final_url, o.status_code, o.content_type, o.content_hash,
             o.etag, o.last_modified, o.fetched_at, o.fetched_at, o.fetched_at, o.renderer,
             o.bytes, o.elapsed_ms, o.error, self.run_id))


def load_body(store: Store, content_hash: str) -> bytes | None:
    row = store.execute("SELECT compression, body FROM bodies WHERE hash = ?",
                        (content_hash,)).fetchone()
    return None if row is None else _body(row)


def load_bodies(store: Store, hashes: Sequence[str]) -> dict[str, bytes]:
    """The bodies of ``hashes`` that the store holds, read with one query per 500."""
    found: dict[str, bytes] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        part = unique[start:start + 500]
        for row in store.execute("SELECT hash, compression, body FROM bodies WHERE hash IN ("
                                 + ",".join("?" * len(part)) + ")", part):
            found[row["hash"]] = _body(row)
    return found


def _body(row: Any) -> bytes:
    return zlib.decompress(row["body"]) if row["compression"] == "zlib" else bytes(row["body"])
