"""HTTP fetching with aiohttp: one pooled session (httpx's pool slows down sharply as it
grows; aiohttp does not), retries with exponential backoff and jitter for what a retry can
fix, redirects followed by hand (limit and loop detection), a body size cap, validators for
conditional requests, optional proxies.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import re
import time
from dataclasses import dataclass, field

import aiohttp

from voidx.collect.proxies import Proxy, ProxyPool
from voidx.collect.throttle import HostThrottle
from voidx.collect.urls import canonicalize, host_of

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 524})
PROXY_FAILURE_STATUSES = frozenset({407, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
KEEP_BODY_TYPES = ("text/html", "application/xhtml+xml", "text/xml", "application/xml",
                   "text/plain", "application/json", "application/ld+json", "application/gzip",
                   "application/x-gzip")
MAX_RETRY_AFTER_S = 120.0
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed_ms: int = 0
    error: str | None = None
    transient: bool = False
    attempts: int = 1
    proxy: str | None = None
    renderer: str = "http"
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset Content-Type declares ("text/html; charset=ISO-8859-2"), if any."""
        found = _CHARSET.search(self.headers.get("content-type", ""))
        return found.group(1).lower() if found else None


class HttpFetcher:
    """Fetches URLs; never raises for a failed URL: the result says what went wrong."""

    def __init__(self, *, user_agent: str, timeout_s: float = 20.0, retries: int = 3,
                 max_body_bytes: int = 10_000_000, concurrency: int = 16, per_host: int = 8,
                 max_redirects: int = 10, backoff_base_s: float = 0.5,
                 proxies: ProxyPool | None = None) -> None:
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_body_bytes = max_body_bytes
        self.concurrency = concurrency
        self.per_host = per_host
        self.max_redirects = max_redirects
        self.backoff_base_s = backoff_base_s
        self.proxies = proxies
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.per_host,
                                             ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate",
                         "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,"
                                   "*/*;q=0.8"},
                cookie_jar=aiohttp.CookieJar(unsafe=True))
        return self._session

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    throttle: HostThrottle | None = None, any_body: bool = False) -> FetchResult:
        """Fetch ``url``; ``any_body`` keeps bodies of every content type (sitemaps, robots)."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            attempt += 1
            if throttle is not None:
                await throttle.wait()
            proxy = self.proxies.pick(host_of(url)) if self.proxies else None
            result = await self._follow(url, headers, proxy, any_body)
            result.attempts = attempt
            if throttle is not None:
                throttle.observe(result.elapsed_ms / 1000, result.status, result.retry_after_s)
            if proxy is not None and self.proxies is not None:
                self.proxies.report(proxy, not _proxy_failed(result))
            if not result.transient or attempt > self.retries:
                return result
            delay = self.backoff_base_s * (2 ** (attempt - 1)) * (0.5 + random.random())
            if result.retry_after_s is not None:
                delay = max(delay, min(result.retry_after_s, MAX_RETRY_AFTER_S))
            await asyncio.sleep(delay)

    async def _follow(self, url: str, headers: dict[str, str], proxy: Proxy | None,
                      any_body: bool) -> FetchResult:
        started = time.perf_counter()
        chain = [url]
        current = url
        result: FetchResult
        try:
            while True:
                result = await self._once(current, headers if len(chain) == 1 else {}, proxy,
                                          any_body)
                location = result.headers.get("location")
                if result.status not in REDIRECT_STATUSES or not location:
                    break
                target = canonicalize(location, current)
                if target is None:
                    result = FetchResult(url, current, result.status,
                                         error=f"redirect to an invalid URL: {location[:200]!r}")
                    break
                if target in chain:
                    result = FetchResult(url, current, result.status,
                                         error="redirect loop: " + " -> ".join([*chain, target]))
                    break
                if len(chain) > self.max_redirects:
                    result = FetchResult(url, current, result.status,
                                         error=f"more than {self.max_redirects} redirects")
                    break
                chain.append(target)
                current = target
        except TimeoutError:
            result = FetchResult(url, current, None, error="timeout", transient=True)
        except aiohttp.ClientProxyConnectionError as exc:
            result = FetchResult(url, current, None, error=f"proxy unreachable: {exc}",
                                 transient=True)
        except aiohttp.ClientConnectorError as exc:
            result = FetchResult(url, current, None,
                                 error=f"connection failed: {exc.os_error or exc}", transient=True)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            result = FetchResult(url, current, None,
                                 error=f"connection reset: {type(exc).__name__}", transient=True)
        except aiohttp.ClientPayloadError:
            result = FetchResult(url, current, None, error="incomplete body", transient=True)
        except aiohttp.InvalidURL as exc:
            result = FetchResult(url, current, None, error=f"invalid URL: {exc}")
        except aiohttp.ClientError as exc:
            result = FetchResult(url, current, None, error=f"{type(exc).__name__}: {exc}",
                                 transient=True)
        result.url, result.final_url = url, current
        result.proxy = proxy.url if proxy else None
        result.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return result

    async def _once(self, url: str, headers: dict[str, str], proxy: Proxy | None,
                    any_body: bool) -> FetchResult:
        session = self._get_session()
        async with session.get(url, headers=headers, allow_redirects=False,
                               proxy=proxy.url if proxy else None) as response:
            result = FetchResult(url, url, response.status,
                                 headers={k.lower(): v for k, v in response.headers.items()})
            result.retry_after_s = _retry_after(response.headers.get("retry-after"))
            result.transient = response.status in RETRY_STATUSES
            if response.status in REDIRECT_STATUSES:
                return result
            declared = response.content_length
            if declared is not None and declared > self.max_body_bytes:
                result.error = f"body larger than {self.max_body_bytes} bytes ({declared})"
                return result
            if any_body or not result.content_type \
                    or result.content_type.startswith(KEEP_BODY_TYPES):
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        result.error = f"body larger than {self.max_body_bytes} bytes"
                        return result
                    chunks.append(chunk)
                result.body = b"".join(chunks)
            if response.status >= 400:
                result.error = f"HTTP {response.status}"
            return result

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _proxy_failed(result: FetchResult) -> bool:
    return (result.status is None and result.error != "timeout") or (
        result.status in PROXY_FAILURE_STATUSES)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
