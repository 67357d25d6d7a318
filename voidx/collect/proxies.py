"""Proxy rotation: per request or sticky per host; a proxy that keeps failing is benched
for a while (doubling each time), then tried again. Per-proxy stats for the run summary.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from voidx.errors import ConfigError

FAILURES_TO_BENCH = 3
BENCH_S = 30.0
MAX_BENCH_S = 600.0


@dataclass
class Proxy:
    url: str
    requests: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    benched_until: float = 0.0
    times_benched: int = 0

    def stats(self) -> dict[str, object]:
        return {"requests": self.requests, "failures": self.failures,
                "benched": self.times_benched}


@dataclass
class ProxyPool:
    proxies: list[Proxy]
    mode: Literal["rotate", "sticky"] = "rotate"
    _cycle: itertools.cycle[Proxy] = field(init=False, repr=False)
    _sticky: dict[str, Proxy] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._cycle = itertools.cycle(self.proxies)

    @classmethod
    def from_urls(cls, urls: list[str], mode: Literal["rotate", "sticky"] = "rotate"
                  ) -> ProxyPool | None:
        return cls([Proxy(u) for u in dict.fromkeys(urls)], mode) if urls else None

    def pick(self, host: str) -> Proxy:
        """The proxy for the next request to ``host`` (a benched one only if all are)."""
        now = time.monotonic()
        if self.mode == "sticky":
            chosen = self._sticky.get(host)
            if chosen is not None and chosen.benched_until <= now:
                return chosen
        for _ in range(len(self.proxies)):
            candidate = next(self._cycle)
            if candidate.benched_until <= now:
                break
        else:
            candidate = min(self.proxies, key=lambda p: p.benched_until)
        if self.mode == "sticky":
            self._sticky[host] = candidate
        return candidate

    def report(self, proxy: Proxy, ok: bool) -> None:
        proxy.requests += 1
        if ok:
            proxy.consecutive_failures = 0
            return
        proxy.failures += 1
        proxy.consecutive_failures += 1
        if proxy.consecutive_failures >= FAILURES_TO_BENCH:
            proxy.times_benched += 1
            pause = min(BENCH_S * 2 ** (proxy.times_benched - 1), MAX_BENCH_S)
            proxy.benched_until = time.monotonic() + pause
            proxy.consecutive_failures = 0

    def stats(self) -> dict[str, dict[str, object]]:
        """Per proxy, keyed by its URL without credentials (stats end up in logs)."""
        return {re.sub(r"//[^@/]*@", "//", p.url): p.stats() for p in self.proxies}


def read_proxy_file(path: Path) -> list[str]:
    """One proxy URL per line (``http://user:pass@host:port``); blank lines and # comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read proxy file: {exc.strerror}", path=str(path)) from None
    urls = []
    for number, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "://" not in line:
            line = "http://" + line
        if not line.startswith(("http://", "https://")):
            raise ConfigError(f"not an http proxy URL: {line!r}", path=str(path), line=number)
        urls.append(line)
    if not urls:
        raise ConfigError("no proxies in the file", path=str(path))
    return urls
