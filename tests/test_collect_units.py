"""Collector pieces on their own: canonical URLs, throttling, proxy rotation, app-shell check."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from voidx.collect.browser import needs_browser
from voidx.collect.links import page_links
from voidx.collect.proxies import FAILURES_TO_BENCH, ProxyPool, read_proxy_file
from voidx.collect.throttle import HostThrottle
from voidx.collect.urls import canonicalize
from voidx.errors import ConfigError


@pytest.mark.parametrize(("raw", "canonical"), [
    ("HTTP://Example.COM:80/a?b=2&a=1#frag", "http://example.com/a?a=1&b=2"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/x", "https://example.com:8443/x"),
    ("http://example.com/p?utm_source=news&utm_medium=mail&id=7", "http://example.com/p?id=7"),
    ("http://example.com/p?gclid=abc&fbclid=def", "http://example.com/p"),
    ("http://example.com/a/./b/../c", "http://example.com/a/c"),
    ("http://example.com/caf%C3%A9 menu", "http://example.com/caf%C3%A9%20menu"),
    ("http://example.com.", "http://example.com/"),
    ("mailto:someone@example.com", None),
    ("javascript:void(0)", None),
    ("ftp://example.com/file", None),
    ("http://", None),
])
def test_canonicalize(raw: str, canonical: str | None) -> None:
    assert canonicalize(raw) == canonical


def test_relative_links_resolve_against_the_page_and_base() -> None:
    html = b"""<html><head><base href="/shop/"></head><body>
      <a href="item?id=1&utm_campaign=x#top">1</a>
      <a href="/about">about</a>
      <a href="//other.example/x">other</a>
      <a href="https://EXAMPLE.com/shop/item?id=1">dup</a>
      <a href="/nofollow" rel="nofollow">skip</a>
      <a href="mailto:x@y">mail</a>
      <link rel="next" href="?page=2">
    </body></html>"""
    assert page_links(html, "https://example.com/shop/list") == [
        "https://example.com/shop/item?id=1",
        "https://example.com/about",
        "https://other.example/x",
        "https://example.com/shop/?page=2",
    ]


def test_throttle_backs_off_on_429_and_adapts_to_latency() -> None:
    throttle = HostThrottle(min_delay_s=0.0, max_delay_s=10.0, target_concurrency=2)
    throttle.observe(0.4, 200)
    assert throttle.delay_s == pytest.approx(0.1)  # (0 + 0.4 / 2) / 2
    throttle.observe(0.4, 200)
    assert throttle.delay_s == pytest.approx(0.15)
    throttle.observe(0.01, 429, retry_after_s=3)
    assert throttle.delay_s == 3.0
    throttle.observe(0.01, 503)
    assert throttle.delay_s == 6.0
    throttle.observe(0.0, 404)  # a fast error does not speed things up
    assert throttle.delay_s == 6.0
    floor = HostThrottle(min_delay_s=1.0, adaptive=True, target_concurrency=8)
    floor.observe(0.01, 200)
    assert floor.delay_s == 1.0  # never below the configured or robots.txt delay


def test_throttle_spaces_requests() -> None:
    throttle = HostThrottle(min_delay_s=0.05, adaptive=False)

    async def three() -> list[float]:
        stamps = []
        for _ in range(3):
            await throttle.wait()
            stamps.append(time.monotonic())
        return stamps

    stamps = asyncio.run(three())
    assert stamps[2] - stamps[0] >= 0.099


def test_proxy_rotation_sticky_and_bench() -> None:
    pool = ProxyPool.from_urls(["http://p1:1", "http://p2:2", "http://p1:1"])
    assert pool is not None and [p.url for p in pool.proxies] == ["http://p1:1", "http://p2:2"]
    assert [pool.pick("h").url for _ in range(4)] == ["http://p1:1", "http://p2:2"] * 2
    first = pool.proxies[0]
    for _ in range(FAILURES_TO_BENCH):
        pool.report(first, ok=False)
    assert first.benched_until > time.monotonic()
    assert {pool.pick("h").url for _ in range(4)} == {"http://p2:2"}
    assert pool.stats()["http://p1:1"] == {"requests": 3, "failures": 3, "benched": 1}

    sticky = ProxyPool.from_urls(["http://a:1", "http://b:2"], mode="sticky")
    assert sticky is not None
    chosen = {host: sticky.pick(host).url for host in ("x", "y")}
    assert all(sticky.pick(h).url == chosen[h] for h in ("x", "y", "x"))
    assert chosen["x"] != chosen["y"]


def test_proxy_file(tmp_path: Path) -> None:
    path = tmp_path / "proxies.txt"
    path.write_text("# office\nhttp://u:p@10.0.0.1:3128\n\n10.0.0.2:8080  # bare\n")
    assert read_proxy_file(path) == ["http://u:p@10.0.0.1:3128", "http://10.0.0.2:8080"]
    path.write_text("socks5://10.0.0.3:1080\n")
    with pytest.raises(ConfigError, match=r"proxies\.txt line 1"):
        read_proxy_file(path)


def test_app_shell_detection() -> None:
    shell = b'<html><body><div id="root"></div><script src="/static/app.js"></script></body></html>'
    words = " ".join(["word"] * 200)
    page = f"<html><body><h1>Shoe</h1><p>{words}</p><script>x()</script></body></html>"
    assert needs_browser(shell)
    assert not needs_browser(page.encode())
    assert needs_browser(b"<html><body><noscript>Enable JavaScript</noscript>"
                         b"<script src=a.js></script></body></html>")
