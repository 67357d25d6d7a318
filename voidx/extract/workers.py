"""Extraction on every core.

Reading a page is pure CPU work on bytes already stored, so a backlog is split into chunks
that a pool of worker processes reads with the same extractor; the caller keeps the store
(one writer) and gets back, in page order, each page's row as the store keeps it (status,
method, record and provenance as JSON, reason): strings cross the pipe several times faster
than the objects they describe. Workers are forked from the caller where the platform allows
(no interpreter start, nothing imported again; they never touch the caller's database
connection and leave through ``os._exit``), else spawned. Below about a thousand pages more
workers' start-up and pipes eat what they save: a small backlog is read by one forked worker
(5 ms to start), so that a page the extractor never finishes is still stopped; only where
workers cannot be forked is it read in the calling process, unwatched.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from loguru import logger
from pydantic_core import to_json

from voidx.config import SourceConfig
from voidx.extract.extractor import Extraction, extract_pages
from voidx.extract.record import ProductRecord

# A page to read: its body (None when the store lost it), its URL, its source's name and the
# charset its server declared.
Page = tuple[bytes | None, str, str | None, str | None]
# What the store keeps of an extraction: status, method, record JSON, provenance JSON, reason.
Row = tuple[str, str | None, str | None, str, str | None]

POOL_MIN_PAGES = 1000  # below this, more than one worker's start-up costs more than it saves
PAGE_TIMEOUT_S = 60.0  # a worker reading one page this long is stuck on it
CHUNK = 50  # pages per task: large enough to amortise the pipe, small enough to balance
IN_FLIGHT = 4  # chunks per worker submitted ahead of the one the caller waits for
# Reasons of pages no worker got through: nothing else reads them in the caller's process.
CRASHED = "extractor crashed"
TIMED_OUT = "extractor timed out"
T = TypeVar("T")  # what the caller tags its pages with (kept in its process)

_sources: dict[str, SourceConfig] = {}
_in_worker = False
# A worker's heartbeat: when it started the page it reads (time.monotonic(), shared by the
# processes of a machine; 0.0 between chunks) and the number of the chunk it reads; two
# slots per worker of the pool.
_beats: Any = None
_slot = 0


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def extract_one(body: bytes | None, url: str, source: SourceConfig | None,
                charset: str | None = None) -> Extraction:
    """One page, whatever it holds: a page never stops the stage (nor ETL behind it)."""
    return read_pages([(body, url, source, charset)])[0]


def read_pages(pages: Sequence[tuple[bytes | None, str, SourceConfig | None, str | None]],
               beat: Callable[[float], None] | None = None) -> list[Extraction]:
    """Each page's extraction (``extract_pages``: the pages a step at a time), an error in
    one page's reading quarantined with its reason and place."""
    readable = [(body, url, source, charset) for body, url, source, charset in pages
                if body is not None]
    try:
        found = extract_pages(readable, beat=beat)
    except Exception:  # a page the reader cannot take (its body no bytes...): each alone
        found = []
        for page in readable:
            try:
                found.extend(extract_pages([page], beat=beat))
            except Exception as exc:
                found.append(exc)
    results = iter(found)
    out = []
    for body, url, _, _ in pages:
        result = next(results) if body is not None else Extraction(
            "quarantined", reason="page body missing from the store")
        out.append(result if isinstance(result, Extraction) else _failed(result, url))
    return out


def _failed(exc: Exception, url: str) -> Extraction:
    if not _in_worker:  # a worker's caller logs the quarantined page with its reason
        logger.opt(exception=exc).bind(url=url).error("extracting {} failed", url)
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return Extraction("quarantined", reason=(
        f"extractor error: {type(exc).__name__}: {exc} "
        f"(at {os.path.basename(where.filename)}:{where.lineno})")[:500])


def as_row(result: Extraction) -> Row:
    # (pydantic's serializer writes the provenance three times faster than the json module)
    return (result.status, result.method,
            result.record.model_dump_json() if result.record else None,
            to_json(result.provenance).decode(), result.reason)


def from_row(row: Row) -> Extraction:
    """The extraction a row keeps (its candidates aside)."""
    status, method, record, provenance, reason = row
    return Extraction(status, record=ProductRecord.model_validate_json(record) if record else None,
                      method=method, provenance=json.loads(provenance), reason=reason)


def _start(sources: dict[str, SourceConfig], parent: int, beats: Any, slots: Any) -> None:
    global _sources, _in_worker, _beats, _slot
    _sources = sources
    with slots.get_lock():
        _slot, slots.value = slots.value, slots.value + 1
    _beats = beats
    _in_worker = True  # (not logger.remove(): a lock another thread held at fork would hang)
    # What the worker inherits from its caller is never collected here: its collections do not
    # visit those objects, so they do not write to (and copy) every page of the caller's heap
    # they lie on (with a caller holding 10,000 pages, a fifth of the workers' time).
    gc.freeze()
    # Ctrl-C reaches the whole process group: the caller stops the pool and saves its work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)


def _die_with(parent: int) -> None:
    """End this worker when the caller ends, even by SIGKILL: a forked worker holds its own
    copy of the task pipe and would otherwise wait on it for ever."""
    try:  # Linux: the kernel sends SIGKILL to this process when its parent dies
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="voidx-parent-watch", daemon=True).start()


def _chunks(items: Iterable[tuple[T, Page]]) -> Iterator[list[tuple[T, Page]]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        yield chunk


def _read(pages: Sequence[Page], sources: dict[str, SourceConfig] | None = None,
          number: int = -1) -> list[Row]:
    known = _sources if sources is None else sources
    beats = _beats  # (None in the caller's process: nobody watches it)
    if beats is not None:
        beats[2 * _slot + 1] = number
        beats[2 * _slot] = time.monotonic()

    def beat(spent: float) -> None:  # the page has been read for ``spent`` seconds
        beats[2 * _slot] = time.monotonic() - spent

    rows = [as_row(result) for result in read_pages(
        [(body, url, known.get(name) if name else None, charset)
         for body, url, name, charset in pages], beat if beats is not None else None)]
    if beats is not None:
        beats[2 * _slot] = 0.0
    return rows


class _Stuck(Exception):
    """A worker has been reading one page for ``page_timeout``: it is stuck on it, in the
    chunk ``number``."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


class ExtractorPool:
    """``with ExtractorPool(sources, workers, backlog) as pool: pool.read(tagged_pages)``;
    with a backlog under ``POOL_MIN_PAGES`` (or one worker) pages are read by one worker
    process, watched as the pool's are; where the platform cannot fork, in this process."""

    def __init__(self, sources: dict[str, SourceConfig], workers: int, backlog: int, *,
                 page_timeout: float = PAGE_TIMEOUT_S) -> None:
        self.sources = sources
        daemon = multiprocessing.current_process().daemon  # (it may not have children)
        self.workers = max(1, workers) if backlog >= POOL_MIN_PAGES and not daemon else 1
        # (a spawned worker imports voidx again, a second's start: not worth it for a few
        # pages)
        self.in_process = daemon or (self.workers == 1 and backlog < POOL_MIN_PAGES
                                     and "fork" not in multiprocessing.get_all_start_methods())
        self.page_timeout = page_timeout
        self._pool: ProcessPoolExecutor | None = None
        self._beats: Any = None  # the pool's workers' heartbeats

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def read(self, items: Iterable[tuple[T, Page]]) -> Iterator[tuple[list[T], list[Row]]]:
        """Rows for a stream of (tag, page) items, chunk by chunk in the stream's order, each
        with its items' tags: the caller stores a chunk while the workers read the next ones.
        At most ``IN_FLIGHT`` chunks per worker are read ahead of the caller, so a backlog of
        any size is held in memory a few chunks at a time."""
        chunks = _chunks(items)
        if self.in_process:
            for chunk in chunks:
                yield [tag for tag, _ in chunk], _read([page for _, page in chunk],
                                                       self.sources)
            return
        numbers = itertools.count()
        pending: deque[tuple[int, list[tuple[T, Page]], Future[list[Row]]]] = deque()
        stuck: set[int] = set()  # chunks a worker got stuck in: read page by page in turn

        def again(waiting: Iterable[tuple[int, list[tuple[T, Page]], Future[list[Row]]]]
                  ) -> deque[tuple[int, list[tuple[T, Page]], Future[list[Row]]]]:
            return deque((n, c, f if n in stuck else self._submit(n, c)) for n, c, f in waiting)

        try:
            for chunk in itertools.islice(chunks, IN_FLIGHT * self.workers):
                number = next(numbers)
                pending.append((number, chunk, self._submit(number, chunk)))
            while pending:
                number, chunk, future = pending.popleft()
                try:
                    if number in stuck:
                        raise _Stuck(number)
                    rows = self._result(future)
                except (_Stuck, BrokenProcessPool) as exc:
                    if isinstance(exc, _Stuck) and exc.number not in (number, -1):
                        # Another chunk is the stuck one: it waits for its turn; the others,
                        # this one first, are read again by a new pool.
                        stuck.add(exc.number)
                        pending = again([(number, chunk, future), *pending])
                        continue
                    # A worker died (a crash in a parser, the OOM killer) or is stuck in this
                    # chunk: read it page by page in a new pool to find the page, then go on.
                    rows = self._isolate([page for _, page in chunk])
                    pending = again(pending)
                for following in itertools.islice(chunks, 1):
                    number = next(numbers)
                    pending.append((number, following, self._submit(number, following)))
                yield [tag for tag, _ in chunk], rows
        finally:
            for _, _, future in pending:
                future.cancel()

    def _submit(self, number: int, chunk: list[tuple[T, Page]]) -> Future[list[Row]]:
        try:
            return self._ensure_pool().submit(_read, [page for _, page in chunk], None, number)
        except BrokenProcessPool as exc:
            # A worker died since the caller last looked: the chunk fails in its turn like
            # the chunks in flight, and is read again once the crash has been dealt with.
            failed: Future[list[Row]] = Future()
            failed.set_exception(exc)
            return failed

    def _result(self, future: Future[list[Row]]) -> list[Row]:
        """``future``'s rows, once done; ``_Stuck`` (the pool's workers killed) when a worker
        has been reading one page for ``page_timeout`` seconds."""
        while True:
            done, _ = wait([future], timeout=min(1.0, self.page_timeout / 4))
            if done:
                return future.result()
            now = time.monotonic()
            beats = list(self._beats) if self._beats is not None else []
            late = next((int(beats[i + 1]) for i in range(0, len(beats), 2)
                         if 0 < beats[i] < now - self.page_timeout), None)
            if late is not None:
                self._kill()
                raise _Stuck(late)

    def _isolate(self, chunk: list[Page]) -> list[Row]:
        rows = []
        self.close(wait=False)  # the broken pool
        for page in chunk:
            try:
                rows.extend(self._ensure_pool().submit(_read, [page]).result(
                    timeout=self.page_timeout))
            except BrokenProcessPool:
                self.close(wait=False)
                logger.bind(url=page[1]).error("the extractor's process died reading {}",
                                               page[1])
                rows.append(as_row(Extraction("quarantined", reason=f"{CRASHED}: its "
                                              "worker process died reading this page")))
            except TimeoutError:
                self._kill()
                logger.bind(url=page[1]).error("reading {} took over {:g} s: stopped",
                                               page[1], self.page_timeout)
                rows.append(as_row(Extraction("quarantined", reason=(
                    f"{TIMED_OUT}: reading this page took over "
                    f"{self.page_timeout:g} s"))))
        return rows

    def _kill(self) -> None:
        """Stop the pool at once, its workers killed wherever they are."""
        if self._pool is not None:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.kill()
            self.close(wait=False)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._beats = context.Array("d", 2 * self.workers, lock=False)
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_start,
                initargs=(self.sources, os.getpid(), self._beats, context.Value("i", 0)))
        return self._pool
