"""Warehouse load: extracted records -> current products + SCD2 versions in price_history.

The stage follows the append-only ``fetches`` log by id, so every observation is applied
once, in order: a new record version opens a history row (valid_from) and closes the
previous one (valid_to); an unchanged record only moves ``last_seen``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from voidx.clock import now_ts
from voidx.extract.record import RECORD_FIELDS
from voidx.store import Run, Store

CURSOR = "etl.fetches"
BATCH_SIZE = 500


def get_cursor(store: Store, stage: str) -> int:
    return int(store.scalar("SELECT position FROM stage_cursors WHERE stage = ?", (stage,)) or 0)


def _set_cursor(conn: sqlite3.Connection, stage: str, position: int) -> None:
    conn.execute(
        "INSERT INTO stage_cursors (stage, position, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (stage) DO UPDATE SET position = excluded.position,"
        " updated_at = excluded.updated_at", (stage, position, now_ts()))


def record_hash(record: dict[str, Any]) -> str:
    tracked = {k: record.get(k) for k in RECORD_FIELDS}
    return hashlib.blake2b(json.dumps(tracked, sort_keys=True).encode(), digest_size=16).hexdigest()


def load_pending(store: Store, run: Run) -> dict[str, int]:
    counts = {"observations": 0, "new_products": 0, "new_versions": 0, "unchanged": 0,
              "late": 0, "skipped": 0, "waiting_for_extract": 0}
    position = get_cursor(store, CURSOR)
    while True:
        fetches = store.query(
            "SELECT f.id, f.url, f.source, f.fetched_at, f.content_hash, f.content_type,"
            " e.status AS extraction, e.record FROM fetches f"
            " LEFT JOIN extractions e ON e.url = f.url AND e.content_hash = f.content_hash"
            " WHERE f.id > ? ORDER BY f.id LIMIT ?", (position, BATCH_SIZE))
        if not fetches:
            break
        blocked = False
        with store.transaction() as conn:
            for f in fetches:
                is_html = f["content_type"] is None or "html" in f["content_type"]
                if f["content_hash"] is not None and is_html and f["extraction"] is None:
                    # Not extracted yet: history must be applied in order, so wait here.
                    counts["waiting_for_extract"] = store_count_after(conn, f["id"])
                    blocked = True
                    break
                if f["extraction"] == "ok":
                    outcome = _apply(conn, json.loads(f["record"]), f, run.id)
                    counts["observations"] += 1
                    counts[outcome] += 1
                else:
                    counts["skipped"] += 1
                position = f["id"]
            _set_cursor(conn, CURSOR, position)
        if blocked:
            break
    run.counters.update(counts)
    return counts


def store_count_after(conn: sqlite3.Connection, fetch_id: int) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM fetches WHERE id >= ?", (fetch_id,))
               .fetchone()[0])


def _apply(conn: sqlite3.Connection, record: dict[str, Any], fetch: dict[str, Any],
           run_id: int) -> str:
    observed = fetch["fetched_at"]
    url = record["url"]
    digest = record_hash(record)
    current = conn.execute("SELECT * FROM products WHERE url = ?", (url,)).fetchone()
    if current is not None and observed < current["last_seen"]:
        conn.execute("UPDATE products SET first_seen = MIN(first_seen, ?) WHERE url = ?",
                     (observed, url))
        return "late"
    if current is not None and current["record_hash"] == digest:
        conn.execute("UPDATE products SET last_seen = ? WHERE url = ?", (observed, url))
        return "unchanged"
    if current is not None:
        conn.execute("UPDATE price_history SET valid_to = ? WHERE id = ?",
                     (observed, current["version_id"]))
    version = conn.execute(
        "INSERT INTO price_history (url, source, valid_from, price, currency, availability,"
        " record, record_hash, fetch_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (url, fetch["source"], observed, record.get("price"), record.get("currency"),
         record.get("availability") or "unknown", json.dumps(record, sort_keys=True), digest,
         fetch["id"], run_id)).lastrowid
    fields = {k: record.get(k) for k in RECORD_FIELDS if k != "url"}
    fields["availability"] = fields.get("availability") or "unknown"
    columns = ", ".join(fields)
    conn.execute(
        f"INSERT INTO products (url, source, {columns}, method, first_seen, last_seen,"
        f" version_id, record_hash) VALUES (?, ?, {', '.join('?' * len(fields))}, ?, ?, ?, ?, ?)"
        f" ON CONFLICT (url) DO UPDATE SET source = excluded.source,"
        f" {', '.join(f'{c} = excluded.{c}' for c in fields)}, method = excluded.method,"
        f" last_seen = excluded.last_seen, version_id = excluded.version_id,"
        f" record_hash = excluded.record_hash",
        (url, fetch["source"], *fields.values(), record.get("method"), observed, observed,
         version, digest))
    return "new_versions" if current is not None else "new_products"
