"""robots.txt per origin with protego: fetched once per run, Crawl-delay honoured.

Following RFC 9309: a 4xx robots.txt allows everything; a 5xx one disallows everything.
When the host cannot be reached at all, pages are tried anyway so that their fetch reports
the real error (the page would fail the same way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from protego import Protego

from voidx.collect.urls import origin_of

RobotsGetter = Callable[[str], Awaitable[tuple[int | None, bytes]]]


class RobotsCache:
    def __init__(self, get: RobotsGetter, user_agent: str) -> None:
        self._get = get
        self._agent = user_agent.split("/")[0]
        self._rules: dict[str, Protego | bool] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _for(self, url: str) -> Protego | bool:
        origin = origin_of(url)
        if origin in self._rules:
            return self._rules[origin]
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._rules:
                status, body = await self._get(origin + "/robots.txt")
                rules: Protego | bool
                if status is not None and 200 <= status < 300:
                    rules = Protego.parse(body.decode("utf-8", errors="replace"))
                elif status is None or 400 <= status < 500:
                    rules = True
                else:
                    rules = False
                self._rules[origin] = rules
        return self._rules[origin]

    async def allowed(self, url: str) -> bool:
        rules = await self._for(url)
        if isinstance(rules, bool):
            return rules
        return bool(rules.can_fetch(url, self._agent))

    async def crawl_delay(self, url: str) -> float:
        rules = await self._for(url)
        if isinstance(rules, bool):
            return 0.0
        delay = rules.crawl_delay(self._agent)
        return float(delay or 0.0)

    async def sitemaps(self, url: str) -> list[str]:
        rules = await self._for(url)
        return [] if isinstance(rules, bool) else list(rules.sitemaps)
