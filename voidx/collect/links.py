"""Links found on an HTML page, resolved and canonical."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from voidx.collect.urls import canonicalize

SKIP_REL = {"nofollow", "external"}


def page_links(html: str | bytes, page_url: str) -> list[str]:
    tree = LexborHTMLParser(html)
    base = page_url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = canonicalize(base_node.attributes.get("href") or "", page_url) or page_url
    seen: dict[str, None] = {}
    for node in tree.css("a[href], link[rel=next][href], area[href]"):
        rel = set((node.attributes.get("rel") or "").lower().split())
        if rel & SKIP_REL or "download" in node.attributes:
            continue
        url = canonicalize(node.attributes.get("href") or "", base)
        if url is not None:
            seen.setdefault(url, None)
    return list(seen)
