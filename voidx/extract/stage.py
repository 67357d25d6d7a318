"""The extract stage: every fetched page content not yet extracted becomes a record,
a quarantined extraction with its reason, or a 'no product' marker.
"""

from __future__ import annotations

import json
import time
from typing import Any

from loguru import logger

from voidx.clock import now_ts
from voidx.collect.frontier import load_body
from voidx.config import Config, SourceConfig
from voidx.extract.extractor import EXTRACTOR_VERSION, extract_page
from voidx.store import Run, Store

BATCH_SIZE = 200


def pending_pages(store: Store, limit: int, reextract_before: int | None = None
                  ) -> list[dict[str, Any]]:
    """(url, content_hash, source) pairs that were fetched but not extracted by this version."""
    return store.query(
        "SELECT f.url, f.content_hash, MIN(f.source) AS source FROM fetches f"
        " LEFT JOIN extractions e ON e.url = f.url AND e.content_hash = f.content_hash"
        " WHERE f.content_hash IS NOT NULL"
        "   AND (f.content_type IS NULL OR f.content_type LIKE '%html%')"
        "   AND (e.url IS NULL OR e.extractor_version < ?"
        "        OR (? IS NOT NULL AND e.run_id < ?))"
        " GROUP BY f.url, f.content_hash LIMIT ?",
        (EXTRACTOR_VERSION, reextract_before, reextract_before, limit))


def extract_pending(store: Store, config: Config, run: Run, *, reextract: bool = False
                    ) -> dict[str, Any]:
    started = time.perf_counter()
    sources = {s.name: s for s in config.sources}
    counts = {"pages": 0, "records": 0, "quarantined": 0, "no_product": 0}
    by_method: dict[str, int] = {}
    while True:
        batch = pending_pages(store, BATCH_SIZE, run.id if reextract else None)
        if not batch:
            break
        rows = []
        for page in batch:
            rows.append(_extract_one(store, page, sources.get(page["source"]), run.id))
            status, method = rows[-1][4], rows[-1][5]
            counts["pages"] += 1
            key = {"ok": "records"}.get(status, status)
            counts[key] += 1
            if status == "ok":
                by_method[method] = by_method.get(method, 0) + 1
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO extractions (url, content_hash, source, extractor_version, status,"
                " method, record, provenance, reason, extracted_at, run_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (url, content_hash) DO UPDATE SET"
                " extractor_version = excluded.extractor_version, status = excluded.status,"
                " method = excluded.method, record = excluded.record,"
                " provenance = excluded.provenance, reason = excluded.reason,"
                " extracted_at = excluded.extracted_at, run_id = excluded.run_id", rows)
    elapsed = time.perf_counter() - started
    summary = {**counts, "by_method": by_method, "llm_calls": 0, "llm_cost_usd": 0.0,
               "elapsed_s": round(elapsed, 3),
               "pages_per_s": round(counts["pages"] / elapsed, 1) if elapsed > 0 else 0.0}
    run.counters.update({k: v for k, v in summary.items() if k != "by_method"})
    return summary


def _extract_one(store: Store, page: dict[str, Any], source: SourceConfig | None, run_id: int
                 ) -> tuple[Any, ...]:
    body = load_body(store, page["content_hash"])
    if body is None:
        method: str | None = None
        record: str | None = None
        provenance: dict[str, str] = {}
        result_status = "quarantined"
        reason: str | None = "page body missing from the store"
    else:
        result = extract_page(body, page["url"], source)
        result_status, method, provenance, reason = (result.status, result.method,
                                                     result.provenance, result.reason)
        record = result.record.model_dump_json() if result.record else None
    if result_status == "quarantined":
        logger.bind(url=page["url"], reason=reason).warning("quarantined {}: {}", page["url"],
                                                            reason)
    return (page["url"], page["content_hash"], page["source"], EXTRACTOR_VERSION, result_status,
            method, record, json.dumps(provenance), reason, now_ts(), run_id)
