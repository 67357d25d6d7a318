"""Links found on an HTML page, resolved and canonical."""

from __future__ import annotations

from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from voidx.collect.urls import canonicalize, origin_of

SKIP_REL = {"nofollow", "external"}


def page_links(html: str | bytes, page_url: str) -> list[str]:
    tree = LexborHTMLParser(html)
    base = page_url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = canonicalize(base_node.attributes.get("href") or "", page_url) or page_url
    origin = origin_of(base)
    seen: dict[str, None] = {}
    for node in tree.css("a[href], link[rel=next][href], area[href]"):
        attrs = node.attributes
        if ("rel" in attrs and set((attrs["rel"] or "").lower().split()) & SKIP_REL) \
                or "download" in attrs:
            continue
        href = (attrs.get("href") or "").strip()
        # Site-absolute paths (most links) need no full RFC 3986 resolution.
        absolute = origin + href if href.startswith("/") and not href.startswith("//") \
            else urljoin(base, href)
        url = canonicalize(absolute)
        if url is not None:
            seen.setdefault(url, None)
    return list(seen)
