"""Per-host politeness: a minimum delay between requests that adapts to the host.

Like Scrapy's AutoThrottle, the delay moves toward ``latency / target_concurrency`` so a slow
host gets fewer requests per second; a 429 or 503 doubles it (at least to ``Retry-After``),
and it never drops below the configured delay or robots.txt's Crawl-delay.
"""

from __future__ import annotations

import asyncio
import time

BACKOFF_STATUSES = frozenset({429, 503})


class HostThrottle:
    def __init__(self, *, min_delay_s: float = 0.0, max_delay_s: float = 60.0,
                 target_concurrency: float = 8.0, adaptive: bool = True) -> None:
        self.min_delay_s = min_delay_s
        self.max_delay_s = max(max_delay_s, min_delay_s)
        self.target_concurrency = max(target_concurrency, 0.1)
        self.adaptive = adaptive
        self.delay_s = min_delay_s
        self._next_start = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Wait for this host's next slot (no waiting at all while the delay is zero)."""
        if self.delay_s <= 0.0005:
            return
        async with self._lock:
            pause = self._next_start - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            self._next_start = time.monotonic() + self.delay_s

    def observe(self, latency_s: float, status: int | None, retry_after_s: float | None = None
                ) -> None:
        if status in BACKOFF_STATUSES:
            backoff = max(self.delay_s * 2, 0.25, retry_after_s or 0.0)
            self.delay_s = min(backoff, self.max_delay_s)  # a day-long Retry-After is capped
            self._next_start = time.monotonic() + self.delay_s
            return
        if not self.adaptive or status is None:
            return
        target = latency_s / self.target_concurrency
        # Errors are fast; they must not speed the crawl up.
        if status >= 400 and target < self.delay_s:
            return
        self.delay_s = min(self.max_delay_s, max(self.min_delay_s, (self.delay_s + target) / 2))
