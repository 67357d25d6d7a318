"""Price and stock movements between consecutive versions of a product, found with DuckDB."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from voidx.clock import now_ts
from voidx.config import Config
from voidx.intel import duck
from voidx.intel.health import health_alerts
from voidx.store import Run, Store

MOVES_SQL = """
WITH v AS (
    SELECT id, url, source, valid_from, price, currency, availability,
           json_extract_string(record, '$.name') AS name,
           LAG(price) OVER w AS prev_price,
           LAG(currency) OVER w AS prev_currency,
           LAG(availability) OVER w AS prev_availability
    FROM price_history
    WINDOW w AS (PARTITION BY url ORDER BY valid_from, id)
)
SELECT id, url, source, valid_from, name, price, currency, availability,
       prev_price, prev_currency, prev_availability
FROM v
WHERE prev_availability IS NOT NULL
  AND ((price IS NOT NULL AND prev_price IS NOT NULL AND prev_price > 0
        AND currency IS NOT DISTINCT FROM prev_currency AND price <> prev_price)
       OR availability <> prev_availability)
ORDER BY valid_from, id
"""


def _thresholds(config: Config) -> dict[str, tuple[float, str, list[str]]]:
    """kind -> (threshold %, severity, sources) from [[alerts]] rules, else [analyze]."""
    out: dict[str, tuple[float, str, list[str]]] = {
        "price_drop": (config.analyze.price_change_pct, "warning", []),
        "price_spike": (config.analyze.price_change_pct, "warning", []),
        "out_of_stock": (0.0, "info", []),
        "back_in_stock": (0.0, "info", []),
    }
    for rule in config.alerts:
        if rule.kind in out:
            default = out[rule.kind][0]
            out[rule.kind] = (rule.threshold_pct or default, rule.severity, rule.sources)
    return out


def find_moves(db_path: Path, config: Config) -> list[dict[str, Any]]:
    rules = _thresholds(config)
    con = duck.connect(db_path)
    try:
        columns, found = duck.rows(con, MOVES_SQL)
    finally:
        con.close()
    alerts = []
    for values in found:
        row = dict(zip(columns, values, strict=True))
        alerts.extend(_alerts_for(row, rules))
    return alerts


def _alerts_for(row: dict[str, Any], rules: dict[str, tuple[float, str, list[str]]]
                ) -> list[dict[str, Any]]:
    found = []
    base = {"subject": row["url"], "observed_at": row["valid_from"]}
    if row["price"] is not None and row["prev_price"] and row["price"] != row["prev_price"]:
        change = (row["price"] - row["prev_price"]) / row["prev_price"] * 100
        kind = "price_drop" if change < 0 else "price_spike"
        threshold, severity, sources = rules[kind]
        if abs(change) >= threshold and (not sources or row["source"] in sources):
            found.append({**base, "kind": kind, "severity": severity, "details": {
                "name": row["name"], "old_price": row["prev_price"], "new_price": row["price"],
                "currency": row["currency"], "change_pct": round(change, 2),
                "version_id": row["id"]}})
    moves = {("in_stock", "out_of_stock"): "out_of_stock",
             ("out_of_stock", "in_stock"): "back_in_stock"}
    kind = moves.get((row["prev_availability"], row["availability"]), "")
    if kind and (not rules[kind][2] or row["source"] in rules[kind][2]):
        found.append({**base, "kind": kind, "severity": rules[kind][1], "details": {
            "name": row["name"], "price": row["price"], "currency": row["currency"],
            "was": row["prev_availability"], "now": row["availability"],
            "version_id": row["id"]}})
    for alert in found:
        key = f"{alert['kind']}|{alert['subject']}|{alert['details']['version_id']}"
        alert["fingerprint"] = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    return found


def analyze(store: Store, db_path: Path, config: Config, run: Run) -> dict[str, Any]:
    """Find movements and store them as alerts; an alert already stored is not stored again."""
    alerts = find_moves(db_path, config) + health_alerts(db_path)
    created = now_ts()
    new = 0
    with store.transaction() as conn:
        for a in alerts:
            new += conn.execute(
                "INSERT OR IGNORE INTO alerts (kind, subject, severity, observed_at, details,"
                " fingerprint, created_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (a["kind"], a["subject"], a["severity"], a["observed_at"],
                 json.dumps(a["details"], sort_keys=True), a["fingerprint"], created, run.id)
            ).rowcount
    by_kind: dict[str, int] = {}
    for a in alerts:
        by_kind[a["kind"]] = by_kind.get(a["kind"], 0) + 1
    counts = {"alerts_found": len(alerts), "alerts_new": new}
    run.counters.update(counts)
    return {**counts, "by_kind": by_kind,
            "new": list_alerts(store, run_id=run.id)}


def list_alerts(store: Store, *, run_id: int | None = None, kind: str | None = None,
                since: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    where, params = [], []
    for clause, value in (("run_id = ?", run_id), ("kind = ?", kind), ("observed_at >= ?", since)):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = "SELECT id, kind, subject, severity, observed_at, details, fingerprint FROM alerts"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = store.query(sql + " ORDER BY observed_at, id LIMIT ?", (*params, limit))
    for row in rows:
        row["details"] = json.loads(row["details"])
    return rows
