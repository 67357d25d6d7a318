"""HTTP fetching: one httpx client per host (a large shared pool slows httpx down),
retries with exponential backoff and jitter for what a retry can fix, size cap, validators.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass, field

import httpx

from voidx.collect.urls import host_of

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 522, 524})
KEEP_BODY_TYPES = ("text/html", "application/xhtml+xml", "text/xml", "application/xml",
                   "text/plain", "application/json", "application/ld+json")
MAX_RETRY_AFTER_S = 60.0


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed_ms: int = 0
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class HttpFetcher:
    """Fetches URLs politely; never raises for a failed URL, the result says what went wrong."""

    def __init__(self, *, user_agent: str, timeout_s: float = 20.0, retries: int = 3,
                 max_body_bytes: int = 10_000_000, per_host: int = 8,
                 max_redirects: int = 10, backoff_base_s: float = 0.5) -> None:
        self.user_agent = user_agent
        self.timeout = httpx.Timeout(timeout_s)
        self.retries = retries
        self.max_body_bytes = max_body_bytes
        self.per_host = per_host
        self.max_redirects = max_redirects
        self.backoff_base_s = backoff_base_s
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, url: str) -> httpx.AsyncClient:
        host = host_of(url)
        client = self._clients.get(host)
        if client is None:
            client = httpx.AsyncClient(
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=self.timeout, follow_redirects=True, max_redirects=self.max_redirects,
                limits=httpx.Limits(max_connections=self.per_host,
                                    max_keepalive_connections=self.per_host),
            )
            self._clients[host] = client
        return client

    async def fetch(self, url: str, *, etag: str | None = None,
                    last_modified: str | None = None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            attempt += 1
            result, retry_after = await self._once(url, headers)
            result.attempts = attempt
            transient = result.status is None or result.status in RETRY_STATUSES
            if result.error and "redirect" in result.error:
                transient = False
            if not transient or attempt > self.retries:
                return result
            delay = self.backoff_base_s * (2 ** (attempt - 1)) * (0.5 + random.random())
            if retry_after is not None:
                delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
            await asyncio.sleep(delay)

    async def _once(self, url: str, headers: dict[str, str]) -> tuple[FetchResult, float | None]:
        started = time.perf_counter()
        try:
            async with self._client(url).stream("GET", url, headers=headers) as response:
                result = FetchResult(url=url, final_url=str(response.url),
                                     status=response.status_code,
                                     headers={k.lower(): v for k, v in response.headers.items()})
                if result.content_type.startswith(KEEP_BODY_TYPES) or not result.content_type:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_body_bytes:
                            result.error = f"body larger than {self.max_body_bytes} bytes"
                            chunks = []
                            break
                        chunks.append(chunk)
                    result.body = b"".join(chunks)
                if response.status_code >= 400 and result.error is None:
                    result.error = f"HTTP {result.status}"
                retry_after = _retry_after(response.headers.get("retry-after"))
        except httpx.TooManyRedirects:
            result, retry_after = FetchResult(url, url, None, error="too many redirects"), None
        except httpx.TimeoutException:
            result, retry_after = FetchResult(url, url, None, error="timeout"), None
        except httpx.HTTPError as exc:
            reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            result, retry_after = FetchResult(url, url, None, error=reason), None
        result.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return result, retry_after

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    parsed = email.utils.parsedate_to_datetime(value) if "," in value else None
    if parsed is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())
