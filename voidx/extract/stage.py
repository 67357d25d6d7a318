"""The extract stage: every fetched page content not yet extracted becomes a record,
a quarantined extraction with its reason, or a 'no product' marker.

Structured data and selectors run first; Claude reads the pages a source sends to it
(``llm = "fallback"``: pages the rules could not read; ``"always"``: every page).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from loguru import logger

from voidx.clock import now_ts
from voidx.collect.frontier import load_bodies, load_body
from voidx.config import Config, SourceConfig
from voidx.extract.css import UNREADABLE, UnreadableMarkup, parse_html
from voidx.extract.extractor import (
    EXTRACTOR_VERSION,
    Extraction,
    decode_html,
    extract_page,
    page_url,
)
from voidx.extract.llm import LlmAnswer, LlmExtractor, LlmRequest, to_answer
from voidx.extract.record import RECORD_FIELDS, ProductRecord
from voidx.extract.templates import MIN_GROUP, TemplateStore, fingerprint
from voidx.extract.workers import (
    CRASHED,
    POOL_MIN_PAGES,
    TIMED_OUT,
    ExtractorPool,
    Page,
    Row,
    as_row,
    default_workers,
    from_row,
)
from voidx.store import Run, Store

BATCH_SIZE = 500  # keys of pending pages read from the store at once
BODIES_AT_ONCE = 50  # pages whose bodies are read (and held in memory) at once
_PENDING = (
    " FROM fetches f"
    " LEFT JOIN extractions e ON e.url = f.url AND e.content_hash = f.content_hash"
    " WHERE f.content_hash IS NOT NULL"
    "   AND (f.content_type IS NULL OR f.content_type LIKE '%html%')"
    "   AND (e.url IS NULL OR e.extractor_version < ?"
    "        OR (? IS NOT NULL AND e.run_id < ?))")


def pending_pages(store: Store, limit: int, reextract_before: int | None = None,
                  after: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """(url, content_hash, source, charset) of fetched pages not extracted by this version,
    in (url, content_hash) order, after the key ``after``."""
    url, content_hash = after or ("", "")
    # (the url >= ? lets SQLite start at the key in the fetches_by_key index)
    return store.query(
        "SELECT f.url, f.content_hash, MIN(f.source) AS source, MAX(f.charset) AS charset"
        + _PENDING + " AND f.url >= ? AND (f.url, f.content_hash) > (?, ?)"
        " GROUP BY f.url, f.content_hash ORDER BY f.url, f.content_hash LIMIT ?",
        (EXTRACTOR_VERSION, reextract_before, reextract_before, url, url, content_hash,
         limit))


def _backlog(store: Store, reextract_before: int | None
             ) -> Iterator[tuple[dict[str, Any], Page]]:
    """Every pending page, a batch of keys at a time (the keys after the last one read, so
    pages in flight are not read again), its body loaded when it is nearly reached (one query
    for the bodies of ``BODIES_AT_ONCE`` pages)."""
    after: tuple[str, str] | None = None
    while batch := pending_pages(store, BATCH_SIZE, reextract_before, after):
        after = (batch[-1]["url"], batch[-1]["content_hash"])
        for start in range(0, len(batch), BODIES_AT_ONCE):
            group = batch[start:start + BODIES_AT_ONCE]
            yield from zip(group, _pages(store, group), strict=True)


def _pages(store: Store, pending: list[dict[str, Any]]) -> list[Page]:
    """The pages of ``pending`` keys, their bodies read with one query."""
    bodies = load_bodies(store, [p["content_hash"] for p in pending])
    return [(bodies.get(p["content_hash"]), p["url"], p["source"], p["charset"])
            for p in pending]


def pending_count(store: Store, reextract_before: int | None = None,
                  at_most: int = POOL_MIN_PAGES) -> int:
    """How many pages are pending, counted up to ``at_most`` (enough to choose the pool)."""
    rows = store.query("SELECT COUNT(*) AS n FROM (SELECT 1" + _PENDING
                       + " GROUP BY f.url, f.content_hash LIMIT ?)",
                       (EXTRACTOR_VERSION, reextract_before, reextract_before, at_most))
    return int(rows[0]["n"])


def extract_pending(store: Store, config: Config, run: Run, *, reextract: bool = False,
                    budget_usd: float | None = None, llm_batch: bool = False,
                    workers: int | None = None, environ: dict[str, str] | None = None
                    ) -> dict[str, Any]:
    started = time.perf_counter()
    sources = {s.name: s for s in config.sources}
    llm = LlmExtractor(config.llm, store, run.id, budget_usd=budget_usd, environ=environ)
    modes = {s.llm for s in config.sources}
    if "always" in modes:
        llm.require('llm = "always"')
    elif "fallback" in modes and not llm.available:
        logger.warning("llm = \"fallback\" without {}: extracting with structured data and "
                       "selectors only", config.llm.api_key_env)
    counts = {"pages": 0, "records": 0, "quarantined": 0, "no_product": 0, "blocked": 0,
              "templates_learned": 0, "template_pages": 0}
    by_method: dict[str, int] = {}
    workers = workers or config.extract.workers or default_workers()
    # Claude reads a whole batch's leftovers together (templates are learned per group): the
    # workers read a batch, then the pages the sources send to Claude go to it.
    with_llm = llm.available and any(s.llm != "never" for s in config.sources)
    backlog = pending_count(store, run.id if reextract else None)
    with ExtractorPool(sources, workers, backlog,
                       page_timeout=config.extract.page_timeout) as pool:
        used = pool.workers
        if with_llm:
            while batch := pending_pages(store, BATCH_SIZE, run.id if reextract else None):
                pages = _pages(store, batch)
                results = [from_row(row) for _, rows in pool.read(enumerate(pages))
                           for row in rows]
                results = _with_llm(batch, pages, results, sources, llm, llm_batch, counts,
                                    store)
                _store(store, run, batch, [as_row(r) for r in results], counts, by_method)
                run.counters.update(llm.usage.as_counters())
        else:
            # Chunks come back in page order while the workers read on: each is stored at
            # once, and the next pages are fetched from the store as the workers need them.
            for done, rows in pool.read(_backlog(store, run.id if reextract else None)):
                _store(store, run, done, rows, counts, by_method)
    elapsed = time.perf_counter() - started
    summary = {**counts, "by_method": by_method, **llm.usage.as_counters(), "workers": used,
               "elapsed_s": round(elapsed, 3),
               "pages_per_s": round(counts["pages"] / elapsed, 1) if elapsed > 0 else 0.0}
    run.counters.update({k: v for k, v in summary.items() if k != "by_method"})
    return summary


def _store(store: Store, run: Run, batch: list[dict[str, Any]], rows: list[Row],
           counts: dict[str, int], by_method: dict[str, int]) -> None:
    now = now_ts()
    values = []
    for page, (status, method, record, provenance, reason) in zip(batch, rows, strict=True):
        counts["pages"] += 1
        counts[{"ok": "records"}.get(status, status)] += 1
        if status == "ok" and method:
            by_method[method] = by_method.get(method, 0) + 1
        if status == "quarantined":
            logger.bind(url=page["url"], reason=reason).warning(
                "quarantined {}: {}", page["url"], reason)
        values.append((page["url"], page["content_hash"], page["source"], EXTRACTOR_VERSION,
                       status, method, record, provenance, reason, now, run.id))
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO extractions (url, content_hash, source, extractor_version, status,"
            " method, record, provenance, reason, extracted_at, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (url, content_hash) DO UPDATE SET"
            " extractor_version = excluded.extractor_version, status = excluded.status,"
            " method = excluded.method, record = excluded.record,"
            " provenance = excluded.provenance, reason = excluded.reason,"
            " extracted_at = excluded.extracted_at, run_id = excluded.run_id", values)


def _with_llm(batch: list[dict[str, Any]], pages: list[Page], results: list[Extraction],
              sources: dict[str, SourceConfig], llm: LlmExtractor, llm_batch: bool,
              counts: dict[str, int], store: Store) -> list[Extraction]:
    """The rules' extractions, with the pages the source sends to Claude read by it (or by
    the rules learned for their template)."""
    asks: dict[int, LlmRequest] = {}
    for index, (page, result) in enumerate(zip(batch, results, strict=True)):
        body, charset = pages[index][0], pages[index][3]
        if body is not None and llm.available and _wants_llm(sources.get(page["source"]),
                                                              result, page["url"]):
            text = decode_html(body, charset)
            asks[index] = LlmRequest(page_url(text, page["url"]), page["content_hash"], text)
    if not asks:
        return results
    # Pages of one template are read by rules learned once; the rest go to Claude one by one.
    groups: dict[tuple[str, str], list[int]] = {}
    for index, request in list(asks.items()):
        try:
            fp = fingerprint(parse_html(request.html))
        except UnreadableMarkup as exc:  # (read from its data, it needed no document)
            del asks[index]
            if results[index].status != "ok":
                results[index] = Extraction("quarantined", reason=str(exc))
            continue
        groups.setdefault((batch[index]["source"], fp), []).append(index)
    if not asks:
        return results
    templates = TemplateStore(store)
    one_by_one: list[int] = []
    for (source_name, fp), indexes in groups.items():
        source = sources[source_name]
        rules = templates.active(source_name, fp)
        if rules is None and len(indexes) >= MIN_GROUP \
                and templates.status(source_name, fp) in (None, "stale"):
            rules = _learn(llm, templates, source, fp, [asks[i] for i in indexes])
            counts["templates_learned"] += rules is not None
        if rules is None:
            one_by_one.extend(indexes)
            continue
        ok = 0
        for index in indexes:
            read = apply_template(asks[index], rules, source, fp)
            if read.status == "ok":
                results[index] = read
                ok += 1
            else:
                one_by_one.append(index)
        counts["template_pages"] += ok
        if templates.used(source_name, fp, ok, len(indexes) - ok):
            logger.bind(source=source_name, template=fp).warning(
                "learned rules for template {} of {} stopped working; they will be learned "
                "again", fp, source_name)
    if one_by_one:
        requests = [asks[i] for i in one_by_one]
        answers = llm.extract_batch(requests) if llm_batch else llm.extract_many(requests)
        for index in one_by_one:
            mode = sources[name].llm if (name := batch[index]["source"]) in sources else "never"
            results[index] = _merge(results[index], answers[asks[index].content_hash], mode)
    return results


def apply_template(request: LlmRequest, rules: dict[str, Any], source: SourceConfig, fp: str
                   ) -> Extraction:
    """Read a page with a template's learned rules, as if they were the source's selectors."""
    ruled = source.model_copy(update={"selectors": rules, "prefer": "selectors"})
    result = extract_page(request.html, request.url, ruled)
    if result.status != "ok" or result.record is None:
        return result
    if "price" in rules and result.provenance.get("price", {}).get("source") != "selectors":
        return Extraction("quarantined", reason="the template's price rule found nothing")
    result.record = result.record.model_copy(update={"method": "template"})
    result.method = "template"
    for value in result.provenance.values():
        if value.get("source") == "selectors":
            value["source"] = "template"
            value["why"] = f"rules learned for template {fp}"
    return result


def _learn(llm: LlmExtractor, templates: TemplateStore, source: SourceConfig, fp: str,
           requests: list[LlmRequest]) -> dict[str, Any] | None:
    """Rules for a template: proposed on one page, checked on two more against Claude."""
    sample, checks = requests[0], requests[1:3]
    proposal, why = llm.propose(sample)
    if proposal is None:
        logger.bind(template=fp).warning("no rules for template {}: {}", fp, why)
        return None
    rules: dict[str, Any] = {str(k): v.model_dump(exclude_none=True)
                             for k, v in proposal.selectors.items()}
    own = to_answer(proposal.record, sample.url).record
    read = apply_template(sample, rules, source, fp).record
    problem = _disagreement(read, own, "the sample page", rules)
    if problem is None:
        answers = llm.extract_many(checks)
        for request in checks:
            problem = _disagreement(apply_template(request, rules, source, fp).record,
                                    answers[request.content_hash].record, request.url, rules)
            if problem:
                break
    if problem:
        templates.failed(source.name, fp, problem)
        logger.bind(template=fp).warning("rules for template {} refused: {}", fp, problem)
        return None
    templates.save(source.name, fp, rules, llm.cfg.model, sample.url, 1 + len(checks))
    logger.bind(template=fp, source=source.name).info(
        "learned rules for template {} of {} from {} pages", fp, source.name, 1 + len(checks))
    return rules


def _disagreement(read: ProductRecord | None, truth: ProductRecord | None, where: str,
                  rules: dict[str, Any]) -> str | None:
    """How the rules' reading differs from Claude's, on the fields the rules cover."""
    if truth is None:
        return f"Claude found no product on {where}"
    if read is None:
        return f"the rules read no product on {where}"
    if re.sub(r"\s+", " ", read.name).casefold() != re.sub(r"\s+", " ", truth.name).casefold():
        return f"name {read.name!r} != {truth.name!r} on {where}"
    if truth.price is not None and (read.price is None or round(read.price, 2)
                                    != round(truth.price, 2)):
        return f"price {read.price} != {truth.price} on {where}"
    if "sku" in rules and truth.sku and read.sku != truth.sku:
        return f"sku {read.sku!r} != {truth.sku!r} on {where}"
    if "availability" in rules and truth.availability != "unknown" \
            and read.availability != truth.availability:
        return f"availability {read.availability} != {truth.availability} on {where}"
    return None


def _wants_llm(source: SourceConfig | None, result: Extraction, url: str) -> bool:
    if source is None or source.llm == "never" or (result.reason or "").startswith(
            (UNREADABLE, CRASHED, TIMED_OUT)):
        return False  # (its document would be built here to learn its template)
    if source.llm == "always":
        return True
    if result.status == "ok":
        return False
    return not source.product_urls or any(re.search(p, url) for p in source.product_urls)


def _merge(rules: Extraction, answer: LlmAnswer, mode: str) -> Extraction:
    if answer.record is not None:
        provenance = {k: {"source": "llm", "value": getattr(answer.record, k),
                          "why": "read by Claude"} for k in RECORD_FIELDS
                      if getattr(answer.record, k) not in (None, "unknown")}
        return Extraction("ok", record=answer.record, method="llm", provenance=provenance)
    if rules.status == "ok" and mode == "always":
        return rules  # Claude failed; what the page's own data says still stands
    if answer.not_product:
        return rules if rules.status == "quarantined" else Extraction(
            "no_product", reason=answer.reason)
    return Extraction("quarantined", reason=answer.reason, provenance=rules.provenance)


def explain(store: Store, config: Config, url: str) -> dict[str, Any]:
    """Every candidate per field for one stored page, with its source, score and the winner."""
    from voidx.collect.urls import canonicalize
    from voidx.errors import UsageError

    wanted = canonicalize(url) or url
    row = store.query(
        "SELECT url, content_hash, source, status_code, charset FROM fetches WHERE url = ?"
        " AND content_hash IS NOT NULL ORDER BY id DESC LIMIT 1", (wanted,))
    if not row:
        raise UsageError(f"--explain: no stored page for {wanted} (crawl it first)")
    page = row[0]
    body = load_body(store, page["content_hash"])
    if body is None:
        raise UsageError(f"--explain: the body of {wanted} is missing from the store")
    source = next((s for s in config.sources if s.name == page["source"]), None)
    result = extract_page(body, page["url"], source, charset=page["charset"],
                          read_in_full=True)
    chosen = {name: value.get("value") for name, value in result.provenance.items()}
    return {
        "url": page["url"], "content_hash": page["content_hash"], "status": result.status,
        "reason": result.reason, "method": result.method,
        "record": result.record.model_dump() if result.record else None,
        "chosen": chosen,
        "candidates": [{"field": c.field, "value": c.value, "source": c.source,
                        "score": round(c.score, 2), "detail": c.detail, "why": c.why,
                        "chosen": result.provenance.get(c.field, {}).get("source") == c.source
                        and result.provenance.get(c.field, {}).get("value") == c.value}
                       for c in result.candidates],
    }
