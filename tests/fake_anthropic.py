"""A fake Anthropic Messages API on a real loopback port, for tests that use the real SDK.

``FakeAnthropic`` is a stdlib ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive, one thread per
connection) in a daemon thread on a free 127.0.0.1 port. The official ``anthropic`` SDK works
against it unmodified::

    with FakeAnthropic() as fake:
        fake.script(FakeError.overloaded(), {"name": "Widget", "price": 9.99})
        client = anthropic.Anthropic(api_key="test-key", base_url=fake.url, max_retries=2)
        message = client.messages.create(model="m", max_tokens=256, tools=[...], messages=[...])
        assert message.content[0].input == {"name": "Widget", "price": 9.99}
        assert fake.message_calls == 2          # the SDK retried the 529

Each ``POST /v1/messages`` (and each Message Batch item) is answered by the next ``script()``
item, else by ``responder(request_body)``. An answer is one of:

* ``dict`` -- a tool input: a ``tool_use`` block for the tool forced by ``tool_choice``
  (``{"type": "tool", "name": ...}``) or else the first of the request's ``tools``, with
  ``stop_reason="tool_use"``. Without tools (or with ``tool_choice`` ``none``) the dict is
  sent as JSON text with ``stop_reason="end_turn"``, which is what ``messages.parse()`` reads.
* ``str`` -- a text block, ``stop_reason="end_turn"`` (a model that ignored the tool).
* ``FakeError`` -- an API error body ``{"type": "error", "error": {...}, "request_id": ...}``.

Routes: ``POST /v1/messages`` (also ``stream=true``, as SSE), ``POST /v1/messages/count_tokens``,
``POST|GET /v1/messages/batches``, ``GET|DELETE /v1/messages/batches/{id}``,
``POST /v1/messages/batches/{id}/cancel`` and ``GET /v1/messages/batches/{id}/results``.
A batch answers ``in_progress`` to its first ``batch_delay_polls`` retrieves and ends on the
next one; its items are answered (script, then responder, in request order) when it ends.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeAlias, cast
from urllib.parse import parse_qsl, urlsplit

__all__ = ["FakeAnthropic", "FakeError", "RecordedRequest", "Reply", "Responder"]

JSON: TypeAlias = dict[str, Any]
RecordedRequest: TypeAlias = dict[str, Any]
"""``{"method", "path", "query", "headers" (lower-case keys), "json" (parsed body or None)}``."""

FAST_RETRY_MS = 10.0
"""``retry-after-ms`` sent by default on retryable errors, so the SDK retries at once."""

_RETRYABLE = frozenset({408, 409, 429})
_BATCH_PATH = re.compile(r"^/v1/messages/batches/(?P<id>[^/]+)(?P<action>/cancel|/results)?$")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class FakeError:
    """An API error answer: HTTP ``status`` with ``{"type": "error", "error": {type, message}}``.

    Headers: ``request-id`` always; ``retry-after`` when ``retry_after`` is set;
    ``retry-after-ms`` when ``retry_after_ms`` is set, or by default (``FAST_RETRY_MS``) on
    retryable statuses (408, 409, 429, 5xx) when ``retry_after`` is not set. The SDK prefers
    ``retry-after-ms`` and honours either if it is in (0, 60] seconds. ``should_retry`` sends
    ``x-should-retry: true|false``, which the SDK obeys over the status code.
    """

    status: int = 529
    type: str = "overloaded_error"
    message: str = "Overloaded"
    retry_after: float | str | None = None
    retry_after_ms: float | None = None
    should_retry: bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def overloaded(cls, message: str = "Overloaded") -> FakeError:
        return cls(529, "overloaded_error", message)

    @classmethod
    def rate_limited(
        cls, message: str = "Rate limited", *, retry_after: float | str | None = None
    ) -> FakeError:
        return cls(429, "rate_limit_error", message, retry_after=retry_after)

    @classmethod
    def server_error(cls, message: str = "Internal server error") -> FakeError:
        return cls(500, "api_error", message)

    @classmethod
    def invalid_request(cls, message: str) -> FakeError:
        return cls(400, "invalid_request_error", message)

    def error_body(self, request_id: str) -> JSON:
        return {
            "type": "error",
            "error": {"type": self.type, "message": self.message},
            "request_id": request_id,
        }

    def response_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["retry-after"] = _number(self.retry_after)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = _number(self.retry_after_ms)
        elif self.retry_after is None and (self.status in _RETRYABLE or self.status >= 500):
            headers["retry-after-ms"] = _number(FAST_RETRY_MS)
        if self.should_retry is not None:
            headers["x-should-retry"] = "true" if self.should_retry else "false"
        headers.update(self.headers)
        return headers


Reply: TypeAlias = JSON | str | FakeError
Responder: TypeAlias = Callable[[JSON], Reply]


def default_responder(request: JSON) -> Reply:
    """Answer every call with an empty tool input."""
    return {}


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Batch:
    id: str
    requests: list[tuple[str, JSON]]
    created_at: datetime
    status: str = "in_progress"
    polls: int = 0
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    results: list[JSON] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Invalid(Exception):
    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.error = FakeError(status, type_, message)


class FakeAnthropic:
    """A fake Anthropic API server; see the module docstring.

    Attributes tests read or set: ``requests`` (every request, ``RecordedRequest``),
    ``message_calls`` (``POST /v1/messages`` count, errors included), ``batch_items`` (batch
    items answered), ``connections`` (TCP connections accepted), ``errors`` (exceptions raised
    while answering, by the responder or the fake itself; each was answered 500 ``api_error``
    with ``x-should-retry: false``, so the SDK raises at once instead of retrying),
    ``responder``, ``batch_delay_polls``, ``api_key`` (if set, the only key accepted).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        api_key: str | None = None,
        batch_delay_polls: int = 1,
    ) -> None:
        self.responder: Responder = responder or default_responder
        self.api_key = api_key
        self.batch_delay_polls = batch_delay_polls
        self.requests: list[RecordedRequest] = []
        self.message_calls = 0
        self.batch_items = 0
        self.connections = 0
        self.errors: list[BaseException] = []
        self._script: deque[Reply] = deque()
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # end idle keep-alive connections, so no handler lingers
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- test controls --------------------------------------------------------------------

    def script(self, *items: Reply) -> Self:
        """Queue answers, consumed one per message call (or batch item) before ``responder``."""
        for item in items:
            if not isinstance(item, dict | str | FakeError):
                raise TypeError(f"script items are dict, str or FakeError, not {item!r}")
        with self._lock:
            self._script.extend(items)
        return self

    @property
    def scripted(self) -> int:
        """Script items not yet consumed."""
        with self._lock:
            return len(self._script)

    @property
    def message_requests(self) -> list[JSON]:
        """Parsed bodies of the ``POST /v1/messages`` requests, in arrival order."""
        with self._lock:
            return [
                r["json"]
                for r in self.requests
                if r["method"] == "POST" and r["path"] == "/v1/messages"
            ]

    def reset(self) -> None:
        """Back to a fresh server's state (same port): records, script, batches, responder."""
        with self._lock:
            self.requests.clear()
            self.message_calls = self.batch_items = self.connections = 0
            self.errors.clear()
            self._script.clear()
            self._batches.clear()
            self.responder = default_responder
            self.batch_delay_polls = 1

    # -- request handling (called from handler threads) -----------------------------------

    def _track(self, sock: socket.socket, *, opened: bool) -> None:
        with self._lock:
            if opened:
                self._sockets.add(sock)
                self.connections += 1
            else:
                self._sockets.discard(sock)

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> _Response:
        """Answer one HTTP request (``headers`` with lower-case keys)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query))
        parsed: Any = None
        bad_json = False
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                bad_json = True
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "headers": dict(headers),
                    "json": parsed,
                }
            )
            if method == "POST" and path == "/v1/messages":
                self.message_calls += 1
        try:
            self._check_headers(headers)
            if bad_json:
                raise _Invalid(400, "invalid_request_error", "request body is not valid JSON")
            return self._route(method, path, query, parsed)
        except _Invalid as invalid:
            return self._error(invalid.error)
        except Exception as exc:  # a bug in the fake: say so instead of dropping the connection
            with self._lock:
                self.errors.append(exc)
            return self._error(_internal_error("FakeAnthropic failed", exc))

    def _check_headers(self, headers: Mapping[str, str]) -> None:
        key = headers.get("x-api-key", "").strip()
        if not key:
            raise _Invalid(401, "authentication_error", "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            raise _Invalid(401, "authentication_error", "invalid x-api-key")
        if not headers.get("anthropic-version", "").strip():
            raise _Invalid(400, "invalid_request_error", "anthropic-version: header is required")

    def _route(self, method: str, path: str, query: Mapping[str, str], body: Any) -> _Response:
        if path == "/v1/messages" and method == "POST":
            return self._create_message(body)
        if path == "/v1/messages/count_tokens" and method == "POST":
            _validate_params(body, need_max_tokens=False)
            return self._json(200, {"input_tokens": _input_tokens(body)})
        if path == "/v1/messages/batches" and method == "POST":
            return self._create_batch(body)
        if path == "/v1/messages/batches" and method == "GET":
            return self._list_batches(query)
        match = _BATCH_PATH.match(path)
        if match is not None:
            with self._lock:
                batch = self._batches.get(match["id"])
            if batch is None:
                raise _Invalid(404, "not_found_error", f"message batch {match['id']} not found")
            action = match["action"]
            if action is None and method == "GET":
                return self._json(200, self._batch_json(self._poll(batch)))
            if action is None and method == "DELETE":
                return self._delete_batch(batch)
            if action == "/cancel" and method == "POST":
                return self._cancel_batch(batch)
            if action == "/results" and method == "GET":
                return self._batch_results(batch)
        raise _Invalid(404, "not_found_error", f"{method} {path} not found")

    # -- messages -------------------------------------------------------------------------

    def _create_message(self, body: Any) -> _Response:
        _validate_params(body, need_max_tokens=True)
        reply = self._next_reply(body)
        if isinstance(reply, FakeError):
            return self._error(reply)
        message = _message(body, reply, service_tier="standard")
        if body.get("stream"):
            return _Response(
                200,
                _sse(message),
                {
                    "content-type": "text/event-stream; charset=utf-8",
                    "cache-control": "no-cache",
                    "request-id": _new_id("req_"),
                },
            )
        return self._json(200, message)

    def _next_reply(self, params: JSON) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
            responder = self.responder
        try:
            reply = responder(copy.deepcopy(params))
            if not isinstance(reply, dict | str | FakeError):
                raise TypeError(f"responder must return dict, str or FakeError, not {reply!r}")
        except Exception as exc:
            with self._lock:
                self.errors.append(exc)
            return _internal_error("FakeAnthropic responder raised", exc)
        return reply

    # -- batches --------------------------------------------------------------------------

    def _create_batch(self, body: Any) -> _Response:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise _Invalid(400, "invalid_request_error", "requests: must be a non-empty list")
        items: list[tuple[str, JSON]] = []
        seen: set[str] = set()
        for i, item in enumerate(requests):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}",
                                                                   custom_id):
                raise _Invalid(
                    400,
                    "invalid_request_error",
                    f"requests.{i}.custom_id: must be 1 to 64 letters, digits, _ or -",
                )
            if custom_id in seen:
                raise _Invalid(
                    400,
                    "invalid_request_error",
                    f"requests.{i}.custom_id: duplicate custom_id {custom_id!r}",
                )
            seen.add(custom_id)
            params = item.get("params")
            try:
                _validate_params(params, need_max_tokens=True)
            except _Invalid as invalid:
                raise _Invalid(
                    400, "invalid_request_error", f"requests.{i}.params.{invalid.error.message}"
                ) from None
            if params.get("stream"):
                raise _Invalid(
                    400,
                    "invalid_request_error",
                    f"requests.{i}.params.stream: not supported in batches",
                )
            items.append((custom_id, params))
        batch = _Batch(_new_id("msgbatch_"), items, datetime.now(UTC))
        with self._lock:
            self._batches[batch.id] = batch
        return self._json(200, self._batch_json(batch))

    def _poll(self, batch: _Batch) -> _Batch:
        with batch.lock:
            batch.polls += 1
            if batch.status == "canceling" or (
                batch.status == "in_progress" and batch.polls > self.batch_delay_polls
            ):
                self._end(batch)
        return batch

    def _end(self, batch: _Batch) -> None:
        results: list[JSON] = []
        for custom_id, params in batch.requests:
            if batch.status == "canceling":
                results.append({"custom_id": custom_id, "result": {"type": "canceled"}})
                continue
            with self._lock:
                self.batch_items += 1
            reply = self._next_reply(params)
            if isinstance(reply, FakeError):
                result = {"type": "errored", "error": reply.error_body(_new_id("req_"))}
            else:
                result = {
                    "type": "succeeded",
                    "message": _message(params, reply, service_tier="batch"),
                }
            results.append({"custom_id": custom_id, "result": result})
        batch.results = results
        batch.status = "ended"
        batch.ended_at = datetime.now(UTC)

    def _batch_json(self, batch: _Batch) -> JSON:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if batch.results is None:
            counts["processing"] = len(batch.requests)
        else:
            for line in batch.results:
                counts[line["result"]["type"]] += 1
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": _timestamp(batch.created_at),
            "expires_at": _timestamp(batch.created_at + timedelta(hours=24)),
            "ended_at": _timestamp(batch.ended_at),
            "cancel_initiated_at": _timestamp(batch.cancel_initiated_at),
            "archived_at": None,
            "results_url": (
                f"{self.url}/v1/messages/batches/{batch.id}/results"
                if batch.status == "ended"
                else None
            ),
        }

    def _list_batches(self, query: Mapping[str, str]) -> _Response:
        with self._lock:
            batches = list(reversed(self._batches.values()))  # newest first, like the API
        ids = [b.id for b in batches]
        try:
            limit = max(1, min(int(query.get("limit", "20")), 1000))
        except ValueError:
            raise _Invalid(400, "invalid_request_error", "limit: must be an integer") from None
        if query.get("after_id") in ids:
            start = ids.index(query["after_id"]) + 1
            page, more = batches[start : start + limit], start + limit < len(batches)
        elif query.get("before_id") in ids:
            end = ids.index(query["before_id"])
            page, more = batches[max(0, end - limit) : end], end - limit > 0
        else:
            page, more = batches[:limit], limit < len(batches)
        return self._json(
            200,
            {
                "data": [self._batch_json(b) for b in page],
                "has_more": more,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
            },
        )

    def _cancel_batch(self, batch: _Batch) -> _Response:
        with batch.lock:
            if batch.status == "in_progress":
                batch.status = "canceling"
                batch.cancel_initiated_at = datetime.now(UTC)
            return self._json(200, self._batch_json(batch))

    def _delete_batch(self, batch: _Batch) -> _Response:
        if batch.status != "ended":
            raise _Invalid(
                400,
                "invalid_request_error",
                f"message batch {batch.id} is still processing; cancel it first",
            )
        with self._lock:
            self._batches.pop(batch.id, None)
        return self._json(200, {"id": batch.id, "type": "message_batch_deleted"})

    def _batch_results(self, batch: _Batch) -> _Response:
        if batch.results is None:
            raise _Invalid(
                400,
                "invalid_request_error",
                f"message batch {batch.id} has not finished processing",
            )
        lines = b"".join(json.dumps(line).encode() + b"\n" for line in batch.results)
        return _Response(
            200, lines, {"content-type": "application/x-jsonl", "request-id": _new_id("req_")}
        )

    # -- responses ------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, body: JSON) -> _Response:
        return _Response(
            status,
            json.dumps(body).encode(),
            {"content-type": "application/json", "request-id": _new_id("req_")},
        )

    @staticmethod
    def _error(error: FakeError) -> _Response:
        request_id = _new_id("req_")
        return _Response(
            error.status,
            json.dumps(error.error_body(request_id)).encode(),
            {
                "content-type": "application/json",
                "request-id": request_id,
                **error.response_headers(),
            },
        )


# -- wire format helpers ----------------------------------------------------------------------


def _validate_params(body: Any, *, need_max_tokens: bool) -> None:
    """Raise ``_Invalid`` (400) where the real API would reject a Messages request body."""

    def invalid(message: str) -> _Invalid:
        return _Invalid(400, "invalid_request_error", message)

    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required")
    if need_max_tokens:
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise invalid("max_tokens: Field required (a positive integer)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: Field required (a non-empty list)")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: must be 'user' or 'assistant'")
        if not isinstance(msg.get("content"), str | list):
            raise invalid(f"messages.{i}.content: Field required")
    tools = body.get("tools", [])
    if not isinstance(tools, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools
    ):
        raise invalid("tools: must be a list of tools with a name")
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in (
            "auto",
            "any",
            "tool",
            "none",
        ):
            raise invalid("tool_choice.type: must be one of 'auto', 'any', 'tool', 'none'")
        if choice["type"] == "tool" and choice.get("name") not in {t["name"] for t in tools}:
            raise invalid(f"tool_choice.name: tool {choice.get('name')!r} not found in tools")
        if choice["type"] in ("any", "tool") and not tools:
            raise invalid("tool_choice: requires tools")
    if not isinstance(body.get("stream", False), bool):
        raise invalid("stream: must be a boolean")


def _message(params: JSON, reply: JSON | str, *, service_tier: str) -> JSON:
    """A Message object answering ``params`` with ``reply`` (tool input or text)."""
    tools: list[JSON] = params.get("tools") or []
    choice: JSON = params.get("tool_choice") or {"type": "auto"}
    content: JSON
    if isinstance(reply, dict) and tools and choice["type"] != "none":
        name = choice["name"] if choice["type"] == "tool" else tools[0]["name"]
        content = {"type": "tool_use", "id": _new_id("toolu_"), "name": name, "input": reply}
        stop_reason, output = "tool_use", json.dumps(reply)
    else:
        text = reply if isinstance(reply, str) else json.dumps(reply)
        content = {"type": "text", "text": text, "citations": None}
        stop_reason, output = "end_turn", text
    return {
        "id": _new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": params["model"],
        "content": [content],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": _input_tokens(params),
            "output_tokens": max(1, len(output) // 4),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "server_tool_use": None,
            "service_tier": service_tier,
        },
    }


def _input_tokens(params: JSON) -> int:
    """Rough estimate: characters of the system prompt and messages' content, over 4."""
    chars = _chars(params.get("system"))
    chars += sum(_chars(m.get("content")) for m in params.get("messages", []))
    return max(1, chars // 4)


def _chars(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_chars(v) for v in value)
    if isinstance(value, dict) and value.get("type") == "text":
        return len(str(value.get("text", "")))
    return len(json.dumps(value))


def _sse(message: JSON) -> bytes:
    """``message`` as the Messages streaming event sequence (server-sent events)."""
    usage = message["usage"]
    events: list[tuple[str, JSON]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": 1},
                },
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": part}
                for part in _pieces(json.dumps(block["input"]))
            ]
        else:
            start = {**block, "text": ""}
            deltas = [{"type": "text_delta", "text": part} for part in _pieces(block["text"])]
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        events.extend(
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
            for d in deltas
        )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _pieces(text: str, n: int = 3) -> Iterable[str]:
    size = max(1, math.ceil(len(text) / n))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _internal_error(what: str, exc: BaseException) -> FakeError:
    return FakeError(500, "api_error", f"{what} {exc!r}", should_retry=False)


def _new_id(prefix: str) -> str:
    return prefix + "01" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _number(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- HTTP plumbing ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs from a burst of parallel clients: a 1 s stall.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeAnthropic
    ) -> None:
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeAnthropic:
        return cast(_Server, self.server).fake

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fake._track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, opened=False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            body = self._read_body(headers)
        except ValueError:
            self.close_connection = True
            response = self.fake._error(
                FakeError(400, "invalid_request_error", "malformed request body")
            )
        else:
            response = self.fake.handle(self.command, self.path, headers, body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        self.wfile.flush()

    def _read_body(self, headers: Mapping[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length", "0") or "0")
        if length < 0:
            raise ValueError("negative content-length")
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        pass
