"""Extraction health: a source whose product pages stop yielding records (its template changed,
or it started blocking us) raises an ``extraction_health`` alert naming the source and since
when. A page counts as a product page once it has ever yielded a record, or when it came back
blocked or quarantined.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from voidx.intel import duck

MIN_PAGES = 5  # a cycle with fewer product pages says nothing
FLOOR = 0.6  # alert when the share of product pages that yield a record falls below this

CYCLES_SQL = """
WITH products AS (
    SELECT DISTINCT url FROM extractions WHERE status = 'ok'
), seen AS (
    SELECT f.source, f.cycle_id, f.url, f.fetched_at, f.status_code, f.error,
           e.status, e.reason
    FROM fetches f
    LEFT JOIN extractions e ON e.url = f.url AND e.content_hash = f.content_hash
    WHERE f.cycle_id IS NOT NULL
      AND (f.url IN (SELECT url FROM products) OR e.status IN ('blocked', 'quarantined'))
)
SELECT source, cycle_id, MIN(fetched_at) AS started, COUNT(*) AS pages,
       COUNT(*) FILTER (WHERE status = 'ok') AS ok,
       COUNT(*) FILTER (WHERE status = 'blocked') AS blocked,
       COUNT(*) FILTER (WHERE status = 'quarantined') AS quarantined,
       COUNT(*) FILTER (WHERE status IS NULL AND (error IS NOT NULL OR status_code >= 400))
           AS failed,
       mode(reason) FILTER (WHERE status IN ('blocked', 'quarantined')) AS top_reason
FROM seen GROUP BY source, cycle_id ORDER BY source, cycle_id
"""


def health_alerts(db_path: Path) -> list[dict[str, Any]]:
    con = duck.connect(db_path)
    try:
        columns, rows = duck.rows(con, CYCLES_SQL)
    finally:
        con.close()
    by_source: dict[str, list[dict[str, Any]]] = {}
    for values in rows:
        row: dict[str, Any] = dict(zip(columns, values, strict=True))
        if row["pages"] >= MIN_PAGES:
            row["rate"] = row["ok"] / row["pages"]
            by_source.setdefault(row["source"], []).append(row)
    alerts = []
    for source, cycles in by_source.items():
        alert = _judge(source, cycles)
        if alert is not None:
            alerts.append(alert)
    return alerts


def _judge(source: str, cycles: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An alert when the latest cycle's rate fell below FLOOR, with earlier cycles to compare
    it to; the streak of cycles below FLOOR says since when."""
    latest = cycles[-1]
    streak = [latest]
    for cycle in reversed(cycles[:-1]):
        if cycle["rate"] < FLOOR:
            streak.insert(0, cycle)
        else:
            break
    before = cycles[:len(cycles) - len(streak)][-3:]
    if not before or latest["rate"] >= FLOOR:
        return None
    baseline = sum(c["rate"] for c in before) / len(before)
    since = streak[0]["started"]
    key = f"extraction_health|{source}|{since}"
    return {
        "kind": "extraction_health", "subject": source,
        "severity": "critical" if latest["rate"] < 0.2 else "warning",
        "observed_at": latest["started"],
        "details": {"source": source, "since": since, "rate": round(latest["rate"], 3),
                    "baseline": round(baseline, 3), "pages": latest["pages"],
                    "ok": latest["ok"], "blocked": latest["blocked"],
                    "quarantined": latest["quarantined"], "failed": latest["failed"],
                    "top_reason": latest["top_reason"]},
        "fingerprint": hashlib.blake2b(key.encode(), digest_size=12).hexdigest(),
    }
