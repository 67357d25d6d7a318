"""Sitemaps: robots.txt ``Sitemap:`` lines and /sitemap.xml, nested indexes, gzip."""

from __future__ import annotations

import re
import zlib
from collections.abc import Awaitable, Callable

from loguru import logger

from voidx.collect.urls import canonicalize, origin_of

MAX_SITEMAPS = 200
MAX_URLS = 500_000
_LOC = re.compile(rb"<(?:\w+:)?loc>\s*(.*?)\s*</(?:\w+:)?loc>", re.S | re.I)
_INDEX = re.compile(rb"<(?:\w+:)?sitemapindex[\s>]", re.I)

Getter = Callable[[str], Awaitable[tuple[int | None, bytes]]]


async def discover(get: Getter, start_url: str, declared: list[str]) -> list[str]:
    """Page URLs listed by the site's sitemaps (those robots.txt names, else /sitemap.xml)."""
    queue = [u for u in (canonicalize(s) for s in declared) if u] or [
        origin_of(start_url) + "/sitemap.xml"]
    seen: set[str] = set()
    pages: dict[str, None] = {}
    while queue and len(seen) < MAX_SITEMAPS and len(pages) < MAX_URLS:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        status, body = await get(url)
        if status is None or not 200 <= status < 300 or not body:
            logger.bind(url=url, status=status).debug("sitemap {} not usable ({})", url, status)
            continue
        body = _maybe_gunzip(body)
        locations = [m.decode("utf-8", "replace").replace("&amp;", "&")
                     for m in _LOC.findall(body)]
        if _INDEX.search(body[:2048]):
            queue.extend(u for u in (canonicalize(loc, url) for loc in locations) if u)
            continue
        for loc in locations:
            page = canonicalize(loc, url)
            if page:
                pages.setdefault(page, None)
    return list(pages)


MAX_SITEMAP_BYTES = 100_000_000  # the sitemap protocol allows 50 MB uncompressed


def _maybe_gunzip(body: bytes) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return zlib.decompressobj(wbits=31).decompress(body, MAX_SITEMAP_BYTES)
    except zlib.error:
        return b""
