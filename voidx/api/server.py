"""The read-only JSON API of ``voidx serve``: every answer in one envelope.

``{"data": ..., "meta": {...}, "error": null}``; errors carry ``{"code", "message"}``.
The store is opened read-only, so the API can never change what it serves.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from voidx.store import RunLedger, Store
from voidx.store.export import export_rows

MAX_LIMIT = 1000


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ReadOnlyApi:
    """Routes -> data; no HTTP in here, so tests and other front ends can call it directly."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._local = threading.local()

    def _store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.db_path, readonly=True)
            self._local.store = store
        return store

    def handle(self, path: str, query: dict[str, list[str]]) -> tuple[Any, dict[str, Any]]:
        params = {k: v[-1] for k, v in query.items()}
        parts = [p for p in path.split("/") if p]
        if parts == ["health"]:
            return self.health(), {}
        if parts == ["products"]:
            return self.listing("products", params, filters=("source", "availability",
                                                             "brand", "category"))
        if parts == ["products", "history"] or parts == ["history"]:
            return self.listing("history", params, filters=("url", "source"))
        if parts == ["alerts"]:
            return self.listing("alerts", params, filters=("kind", "severity", "subject"))
        if parts == ["runs"]:
            return self.listing("runs", params, filters=("command", "status"))
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no such endpoint: {path}")

    def listing(self, table: str, params: dict[str, str], filters: tuple[str, ...]
                ) -> tuple[Any, dict[str, Any]]:
        limit, offset = _int(params, "limit", 100), _int(params, "offset", 0)
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise ApiError(HTTPStatus.BAD_REQUEST, "bad_request",
                           f"limit must be 1..{MAX_LIMIT} and offset >= 0")
        unknown = set(params) - {"limit", "offset", "q", *filters}
        if unknown:
            raise ApiError(HTTPStatus.BAD_REQUEST, "bad_request",
                           f"unknown parameter(s): {', '.join(sorted(unknown))}")
        wanted = {k: params[k] for k in filters if k in params}
        needle = params.get("q", "").lower()
        rows = []
        total = 0
        for row in export_rows(self._store(), table):
            if any(str(row.get(k)) != v for k, v in wanted.items()):
                continue
            if needle and needle not in json.dumps(row, ensure_ascii=False).lower():
                continue
            if offset <= total < offset + limit:
                rows.append(row)
            total += 1
        return rows, {"count": len(rows), "total": total, "limit": limit, "offset": offset}

    def health(self) -> dict[str, Any]:
        """The same verdict as ``voidx status``: ok, degraded or failing."""
        from voidx.ops.status import judge_runs

        store = self._store()
        ledger = RunLedger(store)
        recent = ledger.recent(limit=10)
        verdict = judge_runs(ledger, recent)
        return {"status": verdict, "schema_version": store.schema_version(),
                "products": store.scalar("SELECT COUNT(*) FROM products"),
                "last_run": recent[0] if recent else None}


def _int(params: dict[str, str], key: str, default: int) -> int:
    try:
        return int(params.get(key, default))
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, "bad_request", f"{key} must be an integer") from None


def make_server(db_path: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    api = ReadOnlyApi(db_path)

    class Handler(BaseHTTPRequestHandler):
        server_version = "voidx"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            try:
                data, meta = api.handle(url.path, parse_qs(url.query))
                self._send(HTTPStatus.OK, {"data": data, "meta": meta, "error": None})
            except ApiError as exc:
                self._send(exc.status, {"data": None, "meta": {},
                                        "error": {"code": exc.code, "message": exc.message}})
            except Exception as exc:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {
                    "data": None, "meta": {},
                    "error": {"code": "internal", "message": type(exc).__name__}})

        def _refuse(self) -> None:
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, {
                "data": None, "meta": {},
                "error": {"code": "method_not_allowed", "message": "the API is read-only"}})

        do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        def do_HEAD(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.end_headers()

        def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
