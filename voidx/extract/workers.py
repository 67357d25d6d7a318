"""Extraction on every core.

Reading a page is pure CPU work on bytes already stored, so a backlog is split into chunks
that a pool of worker processes reads with the same extractor; the caller keeps the store
(one writer) and gets back, in page order, each page's row as the store keeps it (status,
method, record and provenance as JSON, reason): strings cross the pipe several times faster
than the objects they describe.

Workers are forked from the caller (no interpreter start, nothing imported again; they never
touch the caller's database connection and leave through ``os._exit``). Each has a pipe for
its chunks and one for its rows, and the caller's one thread keeps both moving without ever
waiting on one of them, and no threads of its own (a ``concurrent.futures`` pool, with its
feeder and manager threads, took about a tenth of the two cores' time from the workers; this
one about half as much). As each worker reads its own chunks in the order it got them, the caller knows
which chunk a worker was reading when it died or got stuck: that chunk alone is read again,
page by page, to find and quarantine the page; the worker is replaced and the chunks it had
not begun go to the others.

Below about a thousand pages more workers' start-up and pipes eat what they save: a small
backlog is read by one forked worker (5 ms to start), so that a page the extractor never
finishes is still stopped. Where processes cannot be forked (Windows), or in a daemonic
process (which may not have children), pages are read in the calling process, unwatched.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import json
import multiprocessing
import os
import pickle
import selectors
import signal
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

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
IN_FLIGHT = 4  # tasks sent to a worker ahead of its rows (and chunks read ahead, per worker)
# Each pipe's buffer (Linux; 64 KB otherwise): a worker's next chunks wait in its pipe, and
# its rows in the other, while the caller stores a chunk.
PIPE_BYTES = 1 << 20
# Reasons of pages no worker got through: nothing else reads them in the caller's process.
CRASHED = "extractor crashed"
TIMED_OUT = "extractor timed out"
T = TypeVar("T")  # what the caller tags its pages with (kept in its process)

_CAN_FORK = "fork" in multiprocessing.get_all_start_methods()
_LENGTH = struct.Struct("<Q")  # before each message on a pipe: its pickle's length
_STOP = _LENGTH.pack(2**64 - 1)  # instead of a chunk: the worker leaves
_IOV_MAX = 1024  # buffers one writev takes (POSIX: at least 16; Linux: 1024)

_sources: dict[str, SourceConfig] = {}
_in_worker = False
# The workers' heartbeats, one slot each: when the worker started the page it reads
# (time.monotonic(), shared by the processes of a machine; 0.0 between chunks).
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


def _start(sources: dict[str, SourceConfig], parent: int, beats: Any, slot: int) -> None:
    global _sources, _in_worker, _beats, _slot
    _sources, _beats, _slot = sources, beats, slot
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


def _serve(tasks: int, rows: int, theirs: list[int], sources: dict[str, SourceConfig],
           parent: int, beats: Any, slot: int) -> None:
    """A worker's life: each chunk of pages from the pipe ``tasks``, its rows to the pipe
    ``rows``, until the caller says stop or closes ``tasks``. A chunk comes as its pages
    without their bodies (each body's length in its place, -1 for none) pickled, then the
    bodies as they are: the caller copies no body. ``theirs``: the caller's ends of the pool's
    pipes, this worker's and the others' (closed here: a worker holding another's chunk pipe
    open would keep that one from seeing the caller close it)."""
    for fd in theirs:
        os.close(fd)
    _start(sources, parent, beats, slot)
    with open(tasks, "rb", buffering=PIPE_BYTES) as incoming:
        while len(head := incoming.read(_LENGTH.size)) == _LENGTH.size and head != _STOP:
            pages: list[Page] = [
                (incoming.read(size) if size >= 0 else None, url, name, charset)
                for size, url, name, charset in pickle.loads(
                    incoming.read(_LENGTH.unpack(head)[0]))]
            message = pickle.dumps(_read(pages), pickle.HIGHEST_PROTOCOL)
            _write_all(rows, _LENGTH.pack(len(message)) + message)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _chunks(items: Iterable[tuple[T, Page]]) -> Iterator[list[tuple[T, Page]]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        yield chunk


def _read(pages: Sequence[Page], sources: dict[str, SourceConfig] | None = None) -> list[Row]:
    known = _sources if sources is None else sources
    beats = _beats  # (None in the caller's process: nobody watches it)
    if beats is not None:
        beats[_slot] = time.monotonic()

    def beat(spent: float) -> None:  # the page has been read for ``spent`` seconds
        beats[_slot] = time.monotonic() - spent

    results = read_pages([(body, url, known.get(name) if name else None, charset)
                          for body, url, name, charset in pages],
                         beat if beats is not None else None)
    if beats is not None:  # (the pages are read: making their rows is no page's time)
        beats[_slot] = 0.0
    return [as_row(result) for result in results]


def _bytes(page: Page) -> Page:
    """The page with a text body as UTF-8 (bodies go down the pipe as bytes)."""
    body, url, name, _ = page
    return (body.encode("utf-8", "surrogatepass"), url, name, "utf-8") \
        if isinstance(body, str) else page


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    if sys.platform == "linux":
        import fcntl  # (not on Windows, where nothing is forked)

        with contextlib.suppress(OSError):  # (over the user's pipe memory: the default size)
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return read_end, write_end


@dataclass(eq=False)
class _Chunk(Generic[T]):
    """Pages the caller gets back together, in its order; ``waiting``: its tasks not yet
    answered (one, or one per page once it is read page by page)."""

    tags: list[T]
    rows: list[Row | None]
    waiting: int = 1


@dataclass(eq=False)
class _Task:
    """Pages of ``chunk`` from its page ``start`` on, sent to a worker together; ``alone``:
    one page read by itself, which is quarantined if its worker dies or gets stuck on it."""

    chunk: _Chunk[Any]
    start: int
    pages: list[Page]
    alone: bool = False


@dataclass(eq=False)
class _Worker:
    """The caller's side of a worker: its process, the caller's ends of its pipes, its tasks
    in the order sent (the first is the one it reads), bytes not yet written or read."""

    process: BaseProcess
    tasks: int
    rows: int
    slot: int
    sent: deque[_Task] = field(default_factory=deque)
    unwritten: deque[memoryview] = field(default_factory=deque)
    unread: bytearray = field(default_factory=bytearray)


class ExtractorPool:
    """``with ExtractorPool(sources, workers, backlog) as pool: pool.read(tagged_pages)``;
    with a backlog under ``POOL_MIN_PAGES`` (or one worker) pages are read by one worker
    process, watched as the pool's are; where the platform cannot fork, in this process."""

    def __init__(self, sources: dict[str, SourceConfig], workers: int, backlog: int, *,
                 page_timeout: float = PAGE_TIMEOUT_S) -> None:
        self.sources = sources
        daemon = multiprocessing.current_process().daemon  # (it may not have children)
        self.workers = max(1, workers) if backlog >= POOL_MIN_PAGES and not daemon else 1
        self.in_process = daemon or not _CAN_FORK
        self.page_timeout = page_timeout
        self._workers: list[_Worker | None] = [None] * self.workers  # by slot
        self._beats: Any = None  # the workers' heartbeats, by slot
        self._selector: selectors.BaseSelector | None = None
        self._queue: deque[_Task] = deque()  # tasks no worker has: pages read again first
        self._next_look = 0.0  # when to look for a stuck worker next
        self._reading: object | None = None  # the read under way (one at a time)
        self._buffer = bytearray()  # what a worker's rows pipe holds is read into (1 MB)

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self, wait: bool = True) -> None:
        """Stop the workers: with ``wait``, those with nothing to do leave; the others are
        killed. A read still under way ends (``RuntimeError``)."""
        self._reading = None
        for worker in list(self._workers):
            if worker is not None:
                self._drop(worker, kill=not wait or bool(worker.sent))
        self._queue.clear()
        if self._selector is not None:
            self._selector.close()
            self._selector = None

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
        if self._reading is not None:
            raise RuntimeError("ExtractorPool.read: another read of this pool is under way")
        reading = self._reading = object()
        ahead = IN_FLIGHT * self.workers
        pending: deque[_Chunk[T]] = deque()  # chunks not yet given back, in order
        finished = False
        try:
            while True:
                if self._reading is not reading:
                    raise RuntimeError("ExtractorPool.read: the pool was closed")
                while not finished and len(pending) < ahead:
                    tagged = next(chunks, None)
                    if tagged is None:
                        finished = True
                        break
                    pending.append(_Chunk([tag for tag, _ in tagged], [None] * len(tagged)))
                    self._queue.append(_Task(pending[-1], 0, [_bytes(p) for _, p in tagged]))
                if not pending:
                    return
                self._dispatch()
                if pending[0].waiting:
                    self._wait()
                    continue
                done = pending.popleft()  # (every row answered)
                yield done.tags, cast(list[Row], done.rows)
        finally:
            if self._reading is reading:
                if pending:  # the caller stopped early: what the workers still read goes
                    self.close(wait=False)
                self._reading = None

    def _dispatch(self) -> None:
        """Tasks to the workers with the fewest, up to ``IN_FLIGHT`` each."""
        while self._queue:
            worker = min((self._worker(slot) for slot in range(self.workers)),
                         key=lambda w: len(w.sent))
            if len(worker.sent) >= IN_FLIGHT:
                return
            task = self._queue.popleft()
            message = pickle.dumps([(len(body) if body is not None else -1, url, name, charset)
                                    for body, url, name, charset in task.pages],
                                   pickle.HIGHEST_PROTOCOL)
            worker.sent.append(task)
            worker.unwritten.extend((memoryview(_LENGTH.pack(len(message))),
                                     memoryview(message)))
            worker.unwritten.extend(memoryview(body) for body, _, _, _ in task.pages if body)
            self._write(worker)

    def _worker(self, slot: int) -> _Worker:
        """The worker in ``slot``; a new one if it has none, or an idle one that died."""
        worker = self._workers[slot]
        if worker is not None and not worker.sent and not worker.process.is_alive():
            self._drop(worker, kill=False)
            worker = None
        if worker is None:
            worker = self._workers[slot] = self._fork(slot)
        return worker

    def _fork(self, slot: int) -> _Worker:
        context = multiprocessing.get_context("fork")
        if self._beats is None:
            self._beats = context.Array("d", self.workers, lock=False)
        if not self._buffer:
            self._buffer = bytearray(PIPE_BYTES)
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
        self._beats[slot] = 0.0
        tasks_in, tasks_out = _pipe()
        rows_in, rows_out = _pipe()
        theirs = [tasks_out, rows_in] + [fd for w in self._workers if w is not None
                                         for fd in (w.tasks, w.rows)]
        process = context.Process(
            target=_serve, name=f"voidx-extract-{slot}", daemon=True,
            args=(tasks_in, rows_out, theirs, self.sources, os.getpid(), self._beats, slot))
        try:
            process.start()
        except BaseException:
            os.close(tasks_out)
            os.close(rows_in)
            raise
        finally:
            os.close(tasks_in)
            os.close(rows_out)
        os.set_blocking(tasks_out, False)
        os.set_blocking(rows_in, False)
        worker = _Worker(process, tasks_out, rows_in, slot)
        self._selector.register(rows_in, selectors.EVENT_READ, worker)
        return worker

    def _write(self, worker: _Worker) -> None:
        """What the worker's pipe takes of its unwritten tasks, now; the rest when it can."""
        assert self._selector is not None
        waiting = worker.tasks in self._selector.get_map()  # (for the pipe to take more)
        unwritten = worker.unwritten
        try:
            while unwritten:
                written = os.writev(worker.tasks, list(itertools.islice(unwritten, _IOV_MAX)))
                while unwritten and written >= len(unwritten[0]):
                    written -= len(unwritten.popleft())
                if written:  # (the pipe took part of a view: it is full)
                    unwritten[0] = unwritten[0][written:]
                    break
        except BlockingIOError:
            pass
        except BrokenPipeError:  # it died: its rows pipe tells the same, and is read
            unwritten.clear()
        if unwritten and not waiting:
            self._selector.register(worker.tasks, selectors.EVENT_WRITE, worker)
        elif waiting and not unwritten:
            self._selector.unregister(worker.tasks)

    def _wait(self) -> None:
        """Until a worker's pipe can be written or read, or it is time to look for a stuck
        worker; then what there is to do."""
        assert self._selector is not None
        look = min(1.0, self.page_timeout / 4)
        for key, events in self._selector.select(max(0.0, self._next_look - time.monotonic())):
            worker = key.data
            if self._workers[worker.slot] is not worker:
                continue  # (dropped while handling an earlier event)
            if events & selectors.EVENT_WRITE and key.fd == worker.tasks:
                self._write(worker)
            elif events & selectors.EVENT_READ and key.fd == worker.rows:
                self._receive(worker)
        now = time.monotonic()
        if now >= self._next_look:
            self._next_look = now + look
            for worker in [w for w in self._workers if w is not None]:
                if 0 < self._beats[worker.slot] < now - self.page_timeout:
                    if worker.process.exitcode is not None:  # (dead: its pipe says so next)
                        self._lost(worker, stuck=False)
                        continue
                    self._kill(worker)
                    self._lost(worker, stuck=True)

    def _receive(self, worker: _Worker) -> None:
        buffer = self._buffer  # (read into again and again: a fresh 1 MB each time costs)
        try:
            size = os.readv(worker.rows, [buffer])
        except BlockingIOError:
            return
        if not size:  # the worker died
            self._lost(worker, stuck=False)
            return
        unread = worker.unread
        unread += memoryview(buffer)[:size]
        while len(unread) >= _LENGTH.size:
            end = _LENGTH.size + _LENGTH.unpack_from(unread)[0]
            if len(unread) < end:
                break
            rows = pickle.loads(memoryview(unread)[_LENGTH.size:end])
            del unread[:end]
            self._answer(worker.sent.popleft(), rows)

    @staticmethod
    def _answer(task: _Task, rows: list[Row]) -> None:
        task.chunk.rows[task.start:task.start + len(rows)] = rows
        task.chunk.waiting -= 1

    def _lost(self, worker: _Worker, *, stuck: bool) -> None:
        """The worker died, or got stuck and was killed: the task it read is read again
        page by page (a page read alone is quarantined), the others go to other workers."""
        self._drop(worker, kill=True)
        if not worker.sent:
            return
        task, *others = worker.sent
        if task.alone or len(task.pages) == 1:
            url = task.pages[0][1]
            if stuck:
                logger.bind(url=url).error("reading {} took over {:g} s: stopped", url,
                                           self.page_timeout)
                reason = f"{TIMED_OUT}: reading this page took over {self.page_timeout:g} s"
            else:
                logger.bind(url=url).error("the extractor's process died reading {}", url)
                reason = f"{CRASHED}: its worker process died reading this page"
            self._answer(task, [as_row(Extraction("quarantined", reason=reason))])
            again = others
        else:
            logger.warning("an extractor worker {} reading {} pages: reading them one by one",
                           "got stuck" if stuck else "died", len(task.pages))
            task.chunk.waiting += len(task.pages) - 1
            again = [_Task(task.chunk, task.start + n, [page], alone=True)
                     for n, page in enumerate(task.pages)] + others
        self._queue.extendleft(reversed(again))

    def _kill(self, worker: _Worker) -> None:
        """Stop a stuck worker at once."""
        worker.process.kill()

    def _drop(self, worker: _Worker, *, kill: bool) -> None:
        """Let go of the worker, its slot then empty: killed, or told to leave (it has
        nothing to read: the message goes into its empty pipe at once)."""
        if self._workers[worker.slot] is not worker:
            return  # (dropped already)
        self._workers[worker.slot] = None
        self._beats[worker.slot] = 0.0
        if self._selector is not None:
            for fd in (worker.tasks, worker.rows):
                if fd in self._selector.get_map():
                    self._selector.unregister(fd)
        if not kill:
            # (not only its pipe closed: a process forked since holds the pipe open too)
            with contextlib.suppress(OSError):
                os.write(worker.tasks, _STOP)
        os.close(worker.tasks)
        os.close(worker.rows)
        if kill:
            worker.process.kill()
        worker.process.join(None if kill else 5.0)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
