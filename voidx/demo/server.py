"""A small asyncio HTTP/1.1 server for the demo shop, fast enough not to be a crawler benchmark's bottleneck.

Keep-alive, GET and HEAD (other methods get 405 from the site), request bodies skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import cast

from voidx.demo.site import ShopSite

__all__ = ["DemoShopServer"]

log = logging.getLogger(__name__)

_MAX_HEAD = 64 * 1024
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_NO_BODY = frozenset({204, 304})

_date_cache: tuple[int, str] = (0, "")


def _http_now() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)))
    return _date_cache[1]


def _serialize(status: int, headers: dict[str, str], body: bytes, keep_alive: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
        f"Date: {_http_now()}",
        "Server: voidx-demo-shop",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if "Content-Length" not in headers and status not in _NO_BODY:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


class _Connection(asyncio.Protocol):
    """One client connection: parses request heads, answers them in order."""

    def __init__(self, server: DemoShopServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._discard = 0  # request-body bytes still to skip
        self._pending: asyncio.TimerHandle | None = None  # a response delayed by latency_s

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._connections.discard(self)
        self._transport = None
        self._buffer.clear()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._pending is None:
            self._process()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _process(self) -> None:
        buf = self._buffer
        while self._transport is not None and self._pending is None:
            if self._discard:
                n = min(self._discard, len(buf))
                del buf[:n]
                self._discard -= n
                if self._discard:
                    return
            # RFC 9112 asks servers to ignore empty lines before a request line.
            while buf[:2] == b"\r\n":
                del buf[:2]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    self._fail(431)
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        request_line = lines[0].split(" ")
        if len(request_line) != 3 or not request_line[2].startswith("HTTP/1."):
            self._fail(400)
            return
        method, target, version = request_line
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                self._fail(400)
                return
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        if "transfer-encoding" in headers:
            # Chunked request bodies are not parsed; closing afterwards avoids misreading them.
            keep_alive = False
        elif "content-length" in headers:
            length = headers["content-length"]
            if not (length.isascii() and length.isdigit()):
                self._fail(400)
                return
            self._discard = int(length)

        server = self._server
        server.hits[target] += 1
        try:
            status, response_headers, body = server.site.handle(method, target, headers)
        except Exception:
            log.exception("demo shop failed on %s %s", method, target)
            status, response_headers, body = 500, {"Content-Type": "text/plain; charset=utf-8"}, b"Internal Server Error\n"
        payload = _serialize(status, response_headers, body, keep_alive)
        if server.latency_s > 0:
            loop = asyncio.get_running_loop()
            self._pending = loop.call_later(server.latency_s, self._send_delayed, payload, keep_alive)
        else:
            self._send(payload, keep_alive)

    def _send(self, payload: bytes, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        transport.write(payload)
        if not keep_alive:
            transport.close()
            self._transport = None

    def _send_delayed(self, payload: bytes, keep_alive: bool) -> None:
        self._pending = None
        self._send(payload, keep_alive)
        self._process()

    def _fail(self, status: int) -> None:
        body = f"{status} {_REASONS.get(status, '')}\n".encode()
        self._send(_serialize(status, {"Content-Type": "text/plain; charset=utf-8"}, body, False), False)


class DemoShopServer:
    """Serves a ShopSite over HTTP/1.1 on loopback, in a background thread or the foreground.

    ``hits`` counts requests per target (path and query), for tests that assert how often a
    URL was fetched. ``latency_s`` delays every response, to imitate a real site.
    """

    def __init__(
        self,
        site: ShopSite,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
    ) -> None:
        self.site = site
        self.host = host
        self.port = port
        self.latency_s = latency_s
        self.hits: Counter[str] = Counter()
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def reset_hits(self) -> None:
        self.hits.clear()

    def warm_up(self) -> int:
        """Render every crawlable page of the current day ahead of time; returns how many.

        For benchmarks, so that they time the client and not first renders. Pages are cached
        per Host header: this warms the one clients send for ``url``.
        """
        host = self.url.removeprefix("http://")
        paths = self.site.crawlable_paths()
        for path in paths:
            self.site.handle("GET", path, {"host": host})
        return len(paths)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> DemoShopServer:
        """Listen and serve from a daemon thread; returns once the socket accepts connections."""
        if self._loop is not None:
            raise RuntimeError("the demo shop server is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                self._open(loop)
            except BaseException as exc:
                failure.append(exc)
                loop.close()
                self._loop = None
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                self._close(loop)

        self._thread = threading.Thread(target=run, name=f"voidx-demo-shop-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def serve_forever(self, on_ready: Callable[[DemoShopServer], None] | None = None) -> None:
        """Serve in the calling thread until Ctrl-C, SIGTERM or ``stop()``; ``on_ready`` runs once listening."""
        if self._loop is not None:
            raise RuntimeError("the demo shop server is already running")
        loop = asyncio.new_event_loop()
        try:
            self._open(loop)
        except BaseException:
            loop.close()
            self._loop = None
            raise
        if threading.current_thread() is threading.main_thread():
            # `kill` should stop the shop as cleanly as Ctrl-C does.
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGTERM, loop.stop)
        try:
            if on_ready is not None:
                on_ready(self)
            loop.run_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._close(loop)

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
                loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._thread = None

    def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._server = loop.run_until_complete(
            loop.create_server(lambda: _Connection(self), self.host, self.port, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.abort()
        # Let the transports run their connection_lost callbacks before the loop goes away.
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        self._server = None
        self._loop = None

    def __enter__(self) -> DemoShopServer:
        if self._loop is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
