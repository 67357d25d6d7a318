"""Real loopback servers for crawler tests: a fault-injecting website and a forward proxy.

Both are stdlib asyncio HTTP/1.1 servers running in a daemon thread, bound to 127.0.0.1 on a
free port, and usable as context managers::

    with FaultServer() as site, ForwardProxy() as proxy:
        httpx.get(f"{site.url}/flaky/2/a", proxy=proxy.url)   # 503 (1 of 2)

``FaultServer``'s docstring lists its routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import html
import http.client
import logging
import math
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Self, TypedDict, TypeVar
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

__all__ = ["FaultServer", "ForwardProxy", "RecordedRequest"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_MAX_HEAD = 64 * 1024
_CHUNK = 64 * 1024
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_NO_BODY = frozenset({204, 304})
# Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade",
})
_LAST_MODIFIED_BASE = 1_767_225_600  # 2026-01-01T00:00:00Z; each etag_version adds a day


# -- HTTP/1.1 plumbing ----------------------------------------------------------------------


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        return "close" not in tokens if self.version == "HTTP/1.1" else "keep-alive" in tokens


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequest(400) from None
        if size == 0:
            break
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, ignored
        pass
    return b"".join(parts)


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """The next request on the connection, or None once the client closed it cleanly."""
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise _BadRequest(400) from None
            return None
        except asyncio.LimitOverrunError:
            raise _BadRequest(431) from None
        # RFC 9112 asks servers to ignore empty lines before a request line.
        head = raw.decode("latin-1").lstrip("\r\n")
        if head:
            break
    lines = head[:-4].split("\r\n")
    request_line = lines[0].split(" ")
    if len(request_line) != 3 or request_line[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise _BadRequest(400)
    method, target, version = request_line
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name:
            raise _BadRequest(400)
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    body = b""
    if "transfer-encoding" in headers:
        if headers["transfer-encoding"].lower().rsplit(",", 1)[-1].strip() != "chunked":
            raise _BadRequest(501)
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = headers["content-length"]
        if not (length.isascii() and length.isdigit()):
            raise _BadRequest(400)
        body = await reader.readexactly(int(length))
    return _Request(method, target, version, headers, body)


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    keep_alive: bool,
    head_only: bool = False,
    chunks: Iterator[bytes] | None = None,
    add_length: bool = True,
) -> None:
    """Write one response; ``chunks`` (with a Content-Length in ``headers``) streams the body."""
    no_body = status in _NO_BODY or status < 200
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if add_length and not no_body and not any(n.lower() == "content-length" for n, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace"))
    if not (head_only or no_body):
        if chunks is not None:
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
        else:
            writer.write(body)
    await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP RST, without a response."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _LoopbackServer:
    """Lifecycle shared by both servers: an asyncio loop serving connections in a daemon thread."""

    _kind = "server"

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0  # the bound port once started; a restart binds the same one again
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> Self:
        """Listen and serve from a daemon thread; returns once the socket accepts connections."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(asyncio.start_server(
                    self._on_connection, self.host, self.port, limit=_MAX_HEAD, backlog=256))
            except BaseException as exc:
                failure.append(exc)
                loop.close()
                ready.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._close_all())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"test-{self._kind}-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._thread = self._loop = None
        self._server = None

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
        for _ in range(3):  # let connections accepted just before the stop start their handlers
            await asyncio.sleep(0)
        for writer in list(self._writers):
            writer.transport.abort()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        await asyncio.sleep(0)  # run the transports' connection_lost callbacks

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except _BadRequest as exc:
            with contextlib.suppress(ConnectionError):
                await _send(writer, exc.status, [("Content-Type", "text/plain; charset=utf-8")],
                            f"{exc.status} {_REASONS.get(exc.status, '')}\n".encode(),
                            keep_alive=False)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away mid-request
        except asyncio.CancelledError:
            # Only stop() cancels; end normally, as Python 3.11's asyncio.streams logs an error
            # for a client_connected_cb task that ends cancelled.
            pass
        except Exception:
            log.exception("%s failed", type(self).__name__)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


# -- the fault-injecting website ------------------------------------------------------------


class RecordedRequest(TypedDict):
    method: str
    path: str  # path and query, as in ``hits``
    headers: dict[str, str]  # lower-case names
    time: float  # time.monotonic() when the request head had been read


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: Iterator[bytes] | None = None
    reset: bool = False  # drop the connection instead of answering


def _page(title: str, body: str = "", head: str = "") -> bytes:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>{head}</head>\n"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    ).encode()


def _html(status: int, title: str, body: str = "", head: str = "") -> _Response:
    return _Response(status, [("Content-Type", "text/html; charset=utf-8")], _page(title, body, head))


def _png() -> bytes:
    """A valid 1x1 transparent PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


_PNG = _png()
_BIG_HEAD = b"<!doctype html>\n<html lang=\"en\"><head><title>big</title></head><body><p>"
_BIG_TAIL = b"</p></body></html>\n"


def _big_body(size: int) -> Iterator[bytes]:
    """Exactly ``size`` bytes: an HTML page padded with letters (just letters when too small)."""
    if size < len(_BIG_HEAD) + len(_BIG_TAIL):
        head, tail = b"", b""
    else:
        head, tail = _BIG_HEAD, _BIG_TAIL
    filler = size - len(head) - len(tail)
    yield head
    block = b"a" * _CHUNK
    while filler > 0:
        n = min(filler, _CHUNK)
        yield block[:n]
        filler -= n
    yield tail


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


class FaultServer(_LoopbackServer):
    """A small website whose routes misbehave on purpose. Query strings only matter for ``hits``.

    ======================== ==================================================================
    ``/robots.txt``          ``robots`` (text/plain); 404 when ``robots`` is None
    ``/``                    index page linking to every entry of ``links``
    ``/page``                200 page (for query-string tests: ``/page?utm_source=x&id=1``)
    ``/ok/<anything>``       200 page without links
    ``/flaky/<n>/<id>``      503 for the first n requests to this path, then 200
    ``/ratelimit/<s>/<id>``  429 with ``Retry-After: <s>`` for the first request, then 200
    ``/slow/<s>/<id>``       200 after ``<s>`` seconds (a float; other requests are not held up)
    ``/reset/<n>/<id>``      TCP RST without a response for the first n requests, then 200
    ``/redirect/<n>``        302 to ``/redirect/<n-1>``; ``/redirect/0`` is a 200 page
    ``/loop/a``, ``/loop/b`` 302 to each other
    ``/big/<bytes>``         200 text/html of exactly that many bytes, streamed
    ``/status/<code>``       that status (200-599) with a small HTML body
    ``/etag/<id>``           200 with ``ETag: "v<etag_version>-<id>"`` and Last-Modified; 304
                             on a matching If-None-Match (or, without one, If-Modified-Since)
    ``/binary/<id>``         200 image/png (a 1x1 PNG)
    ``/private/<id>``        200 page (disallowed by the default robots.txt)
    ``/canonical/<id>``      200 page with ``<link rel="canonical" href="/ok/<id>">``
    ``/sitemap.xml``         sitemap index of ``/sitemap-a.xml`` and ``/sitemap-b.xml.gz``, which
                             list ``sitemap_urls`` (first half in a, rest in b; b is gzip)
    anything else            404 page
    ======================== ==================================================================

    Fault counters (flaky, ratelimit, reset) count per path, without the query. Absolute URLs
    in sitemaps use the request's Host header. ``hits`` counts every request by path+query and
    ``requests`` records each one; ``reset()`` clears both and the fault counters.
    """

    _kind = "fault-server"

    DEFAULT_ROBOTS = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0\n"
    DEFAULT_LINKS = (
        "/ok/1", "/ok/2", "/flaky/1/index", "/redirect/2", "/canonical/c1", "/private/p1",
        "/page?utm_source=x&id=1", "/binary/b1",
    )
    DEFAULT_SITEMAP_URLS = tuple(f"/ok/s{i}" for i in range(1, 7))

    def __init__(self) -> None:
        super().__init__()
        self.robots: str | None = self.DEFAULT_ROBOTS
        self.links: list[str] = list(self.DEFAULT_LINKS)
        self.sitemap_urls: list[str] = list(self.DEFAULT_SITEMAP_URLS)
        self.etag_version = 1
        self.hits: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self._faults: Counter[str] = Counter()

    def reset(self, defaults: bool = False) -> None:
        """Forget hits, recorded requests and fault counters; ``defaults=True`` also restores
        ``robots``, ``links``, ``sitemap_urls`` and ``etag_version``."""
        with self._lock:
            self.hits.clear()
            self.requests.clear()
            self._faults.clear()
        if defaults:
            self.robots = self.DEFAULT_ROBOTS
            self.links = list(self.DEFAULT_LINKS)
            self.sitemap_urls = list(self.DEFAULT_SITEMAP_URLS)
            self.etag_version = 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await _read_request(reader)
            if request is None:
                return
            target = request.target
            if target.startswith(("http://", "https://")):  # absolute form, as sent to proxies
                parts = urlsplit(target)
                target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            with self._lock:
                self.hits[target] += 1
                self.requests.append(RecordedRequest(
                    method=request.method, path=target, headers=dict(request.headers),
                    time=time.monotonic()))
            response = await self._route(request, target)
            if response.reset:
                _abort(writer)
                return
            keep_alive = request.keep_alive
            headers = [("Date", formatdate(usegmt=True)), ("Server", "voidx-test-faults"),
                       *response.headers]
            await _send(writer, response.status, headers, response.body, keep_alive=keep_alive,
                        head_only=request.method == "HEAD", chunks=response.chunks)
            if not keep_alive:
                return

    def _count(self, path: str) -> int:
        with self._lock:
            self._faults[path] += 1
            return self._faults[path]

    async def _route(self, request: _Request, target: str) -> _Response:
        path = urlsplit(target).path
        name, slash, rest = path[1:].partition("/")
        number, _, ident = rest.partition("/")
        counted = number.isascii() and number.isdigit() and bool(ident)
        if path == "/":
            items = "".join(f'<li><a href="{html.escape(link)}">{html.escape(link)}</a></li>'
                            for link in self.links)
            return _html(200, "index", f"<ul>{items}</ul>")
        if path == "/robots.txt":
            if self.robots is None:
                return _html(404, "not found")
            return _Response(200, [("Content-Type", "text/plain; charset=utf-8")],
                             self.robots.encode())
        if path in ("/sitemap.xml", "/sitemap-a.xml", "/sitemap-b.xml.gz"):
            return self._sitemap(path, request.headers.get("host") or f"{self.host}:{self.port}")
        if path == "/page":
            return _html(200, "page")
        if name in ("ok", "private") and slash and (name == "ok" or rest):
            return _html(200, f"{name} {rest}", "<p>Nothing to follow here.</p>")
        if name == "flaky" and counted:
            if self._count(path) <= int(number):
                return _html(503, "service unavailable")
            return _html(200, f"flaky {ident}")
        if name == "ratelimit" and counted:
            if self._count(path) == 1:
                response = _html(429, "too many requests")
                response.headers.append(("Retry-After", str(int(number))))
                return response
            return _html(200, f"ratelimit {ident}")
        if name == "reset" and counted:
            if self._count(path) <= int(number):
                return _Response(0, reset=True)
            return _html(200, f"reset {ident}")
        if name == "slow" and ident:
            try:
                delay = float(number)
            except ValueError:
                delay = math.nan
            if math.isfinite(delay) and delay >= 0:
                await asyncio.sleep(delay)
                return _html(200, f"slow {ident}")
        if name == "redirect" and rest.isascii() and rest.isdigit():
            n = int(rest)
            if n == 0:
                return _html(200, "redirect 0")
            response = _html(302, "found", f'<a href="/redirect/{n - 1}">next</a>')
            response.headers.append(("Location", f"/redirect/{n - 1}"))
            return response
        if name == "loop" and rest in ("a", "b"):
            other = "/loop/b" if rest == "a" else "/loop/a"
            response = _html(302, "found", f'<a href="{other}">next</a>')
            response.headers.append(("Location", other))
            return response
        if name == "big" and rest.isascii() and rest.isdigit():
            size = int(rest)
            return _Response(200, [("Content-Type", "text/html; charset=utf-8"),
                                   ("Content-Length", str(size))], chunks=_big_body(size))
        if name == "status" and rest.isascii() and rest.isdigit() and 200 <= int(rest) <= 599:
            code = int(rest)
            if code in _NO_BODY:
                return _Response(code)
            return _html(code, f"{code} {_REASONS.get(code, 'status')}")
        if name == "etag" and rest:
            return self._etag(request, rest)
        if name == "binary" and rest:
            return _Response(200, [("Content-Type", "image/png")], _PNG)
        if name == "canonical" and rest:
            href = html.escape(f"/ok/{rest}")
            return _html(200, f"canonical {rest}", f'<a href="{href}">the original</a>',
                         f'<link rel="canonical" href="{href}">')
        return _html(404, "not found", f"<p>No route for {html.escape(path)}.</p>")

    def _etag(self, request: _Request, ident: str) -> _Response:
        version = self.etag_version
        etag = f'"v{version}-{ident}"'
        modified = _LAST_MODIFIED_BASE + version * 86_400
        headers = [("ETag", etag), ("Last-Modified", formatdate(modified, usegmt=True)),
                   ("Cache-Control", "no-cache")]
        if "if-none-match" in request.headers:
            fresh = _etag_matches(request.headers["if-none-match"], etag)
        else:
            try:
                since = parsedate_to_datetime(request.headers["if-modified-since"]).timestamp()
            except (KeyError, TypeError, ValueError, IndexError):
                since = -math.inf
            fresh = since >= modified
        if fresh:
            return _Response(304, headers)
        response = _html(200, f"etag {ident}", f"<p>version {version}</p>")
        response.headers += headers
        return response

    def _sitemap(self, path: str, host: str) -> _Response:
        base = f"http://{host}"

        def loc(url: str) -> str:
            absolute = url if "://" in url else base + url
            return f"<loc>{xml_escape(absolute)}</loc>"

        prolog = '<?xml version="1.0" encoding="UTF-8"?>\n'
        ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        if path == "/sitemap.xml":
            entries = "".join(f"<sitemap>{loc(p)}</sitemap>\n"
                              for p in ("/sitemap-a.xml", "/sitemap-b.xml.gz"))
            body = f"{prolog}<sitemapindex {ns}>\n{entries}</sitemapindex>\n".encode()
            return _Response(200, [("Content-Type", "application/xml")], body)
        urls = list(self.sitemap_urls)
        half = (len(urls) + 1) // 2
        chosen = urls[:half] if path == "/sitemap-a.xml" else urls[half:]
        entries = "".join(f"<url>{loc(u)}</url>\n" for u in chosen)
        body = f"{prolog}<urlset {ns}>\n{entries}</urlset>\n".encode()
        if path == "/sitemap-a.xml":
            return _Response(200, [("Content-Type", "application/xml")], body)
        return _Response(200, [("Content-Type", "application/gzip")], gzip.compress(body, mtime=0))


# -- the forward proxy -----------------------------------------------------------------------


async def _in_thread(fn: Callable[[], _T]) -> _T:
    """Run blocking ``fn`` in a daemon thread (not an executor: a hung upstream must not
    hold up interpreter exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(result: _T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="test-forward-proxy-upstream", daemon=True).start()
    return await future


class ForwardProxy(_LoopbackServer):
    """A plain HTTP forward proxy for ``http://`` URLs (absolute-form requests; no CONNECT).

    Each request goes upstream on its own connection (``http.client``); the response is relayed
    with its status, end-to-end headers and body, plus ``X-Proxy: <this proxy's port>``. With
    ``fail`` true (settable at any time) every request gets a 502 instead, still with X-Proxy.
    ``hits`` counts and ``requests`` lists the absolute URLs of every request received, failed
    ones included. Unreachable or misbehaving upstreams get 502, timeouts 504.
    """

    _kind = "forward-proxy"

    def __init__(self, fail: bool = False, timeout: float = 30.0) -> None:
        super().__init__()
        self.fail = fail
        self.timeout = timeout
        self.hits = 0
        self.requests: list[str] = []

    def reset(self) -> None:
        with self._lock:
            self.hits = 0
            self.requests.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await _read_request(reader)
            if request is None:
                return
            keep_alive = request.keep_alive
            relayed = False
            if request.method == "CONNECT":
                status, headers, body = 501, [("Content-Type", "text/plain")], b"CONNECT is not supported\n"
                keep_alive = False
            elif not request.target.lower().startswith("http://"):
                status, headers, body = 400, [("Content-Type", "text/plain")], b"absolute http:// URL expected\n"
            else:
                with self._lock:
                    self.hits += 1
                    self.requests.append(request.target)
                if self.fail:
                    status, headers, body = 502, [("Content-Type", "text/plain")], b"broken proxy\n"
                else:
                    status, headers, body = await self._forward(request)
                    relayed = True
            headers.append(("X-Proxy", str(self.port)))
            head_only = request.method == "HEAD"
            # A relayed answer to HEAD keeps the origin's Content-Length, if it sent one.
            await _send(writer, status, headers, body, keep_alive=keep_alive, head_only=head_only,
                        add_length=not (head_only and relayed))
            if not keep_alive:
                return

    async def _forward(self, request: _Request) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            return await _in_thread(lambda: self._fetch(request))
        except TimeoutError as exc:
            return 504, [("Content-Type", "text/plain")], f"upstream timed out: {exc}\n".encode()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            message = f"upstream failed: {type(exc).__name__}: {exc}\n"
            return 502, [("Content-Type", "text/plain")], message.encode()

    def _fetch(self, request: _Request) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(request.target)
        if not parts.hostname:
            raise ValueError("no host in the request target")
        connection_tokens = {t.strip().lower() for t in request.headers.get("connection", "").split(",")}
        upstream = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            upstream.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
            upstream.putheader("Host", request.headers.get("host") or parts.netloc)
            for name, value in request.headers.items():
                if name in _HOP_BY_HOP or name in connection_tokens or name in ("host", "content-length"):
                    continue
                upstream.putheader(name, value)
            if request.body or "content-length" in request.headers or "transfer-encoding" in request.headers:
                upstream.putheader("Content-Length", str(len(request.body)))
            upstream.putheader("Connection", "close")
            upstream.endheaders(request.body or None)
            response = upstream.getresponse()
            body = response.read()
            dropped = _HOP_BY_HOP | {t.strip().lower() for t in (response.getheader("connection") or "").split(",")}
            if request.method != "HEAD":
                dropped |= {"content-length"}
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in dropped]
            return response.status, headers, body
        finally:
            upstream.close()


class StaticSite:
    """Pages from a dict (path -> HTML, or -> (bytes, Content-Type) to serve a page as it is),
    served on 127.0.0.1 with hit counts; add pages live."""

    def __init__(self, pages: dict[str, str | tuple[bytes, str]] | None = None) -> None:
        import http.server

        self.pages: dict[str, str | tuple[bytes, str]] = dict(pages or {})
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.hits[self.path] += 1
                page = site.pages.get(self.path)
                kind = "text/plain" if self.path == "/robots.txt" else "text/html; charset=utf-8"
                if isinstance(page, tuple):
                    body, kind = page
                else:
                    body = (page if page is not None else "<h1>Not found</h1>").encode()
                self.send_response(200 if page is not None else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
