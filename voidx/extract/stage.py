"""The extract stage: every fetched page content not yet extracted becomes a record,
a quarantined extraction with its reason, or a 'no product' marker.

Structured data and selectors run first; Claude reads the pages a source sends to it
(``llm = "fallback"``: pages the rules could not read; ``"always"``: every page).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from loguru import logger
from selectolax.lexbor import LexborHTMLParser

from voidx.clock import now_ts
from voidx.collect.frontier import load_body
from voidx.config import Config, SourceConfig
from voidx.extract.extractor import EXTRACTOR_VERSION, Extraction, extract_page, record_url
from voidx.extract.llm import LlmAnswer, LlmExtractor, LlmRequest
from voidx.extract.record import RECORD_FIELDS
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


def extract_pending(store: Store, config: Config, run: Run, *, reextract: bool = False,
                    budget_usd: float | None = None, llm_batch: bool = False,
                    environ: dict[str, str] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    sources = {s.name: s for s in config.sources}
    llm = LlmExtractor(config.llm, store, run.id, budget_usd=budget_usd, environ=environ)
    modes = {s.llm for s in config.sources}
    if "always" in modes:
        llm.require('llm = "always"')
    elif "fallback" in modes and not llm.available:
        logger.warning("llm = \"fallback\" without {}: extracting with structured data and "
                       "selectors only", config.llm.api_key_env)
    counts = {"pages": 0, "records": 0, "quarantined": 0, "no_product": 0}
    by_method: dict[str, int] = {}
    while True:
        batch = pending_pages(store, BATCH_SIZE, run.id if reextract else None)
        if not batch:
            break
        results = _extract_batch(store, batch, sources, llm, llm_batch)
        rows = []
        for page, result in zip(batch, results, strict=True):
            counts["pages"] += 1
            counts[{"ok": "records"}.get(result.status, result.status)] += 1
            if result.status == "ok" and result.method:
                by_method[result.method] = by_method.get(result.method, 0) + 1
            if result.status == "quarantined":
                logger.bind(url=page["url"], reason=result.reason).warning(
                    "quarantined {}: {}", page["url"], result.reason)
            rows.append((page["url"], page["content_hash"], page["source"], EXTRACTOR_VERSION,
                         result.status, result.method,
                         result.record.model_dump_json() if result.record else None,
                         json.dumps(result.provenance), result.reason, now_ts(), run.id))
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
        run.counters.update(llm.usage.as_counters())
    elapsed = time.perf_counter() - started
    summary = {**counts, "by_method": by_method, **llm.usage.as_counters(),
               "elapsed_s": round(elapsed, 3),
               "pages_per_s": round(counts["pages"] / elapsed, 1) if elapsed > 0 else 0.0}
    run.counters.update({k: v for k, v in summary.items() if k != "by_method"})
    return summary


def _extract_batch(store: Store, batch: list[dict[str, Any]],
                   sources: dict[str, SourceConfig], llm: LlmExtractor, llm_batch: bool
                   ) -> list[Extraction]:
    results: list[Extraction] = []
    asks: dict[int, LlmRequest] = {}
    for index, page in enumerate(batch):
        body = load_body(store, page["content_hash"])
        source = sources.get(page["source"])
        if body is None:
            results.append(Extraction("quarantined", reason="page body missing from the store"))
            continue
        result = extract_page(body, page["url"], source)
        results.append(result)
        if llm.available and _wants_llm(source, result, page["url"]):
            asks[index] = LlmRequest(record_url(LexborHTMLParser(body), page["url"]),
                                     page["content_hash"], body)
    if asks:
        requests = list(asks.values())
        answers = llm.extract_batch(requests) if llm_batch else llm.extract_many(requests)
        for index, request in asks.items():
            source = sources.get(batch[index]["source"])
            results[index] = _merge(results[index], answers[request.url],
                                    source.llm if source else "never")
    return results


def _wants_llm(source: SourceConfig | None, result: Extraction, url: str) -> bool:
    if source is None or source.llm == "never":
        return False
    if source.llm == "always":
        return True
    if result.status == "ok":
        return False
    return not source.product_urls or any(re.search(p, url) for p in source.product_urls)


def _merge(rules: Extraction, answer: LlmAnswer, mode: str) -> Extraction:
    if answer.record is not None:
        provenance = {k: "llm" for k in RECORD_FIELDS
                      if getattr(answer.record, k) not in (None, "unknown")}
        return Extraction("ok", record=answer.record, method="llm", provenance=provenance)
    if rules.status == "ok" and mode == "always":
        return rules  # Claude failed; what the page's own data says still stands
    if answer.not_product:
        return rules if rules.status == "quarantined" else Extraction(
            "no_product", reason=answer.reason)
    return Extraction("quarantined", reason=answer.reason, provenance=rules.provenance)
