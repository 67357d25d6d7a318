"""Pages' documents, and CSS queries with one selector engine per thread.

selectolax builds a new lexbor selector engine (parser, memory pools) for every document on
its first query, which costs more than the query itself; extraction reads thousands of
documents, so it keeps one engine and hands it each document's nodes."""

from __future__ import annotations

import threading

from selectolax.lexbor import LexborCSSSelector, LexborHTMLParser, LexborNode

_local = threading.local()

# Block elements left open around each other: building the document costs time quadratic in
# how deep they nest (each one looks down the whole stack for a paragraph to close), and
# browsers stop nesting at 512. 20,000 take lexbor about half a second; 10 MB of them, hours.
MAX_OPEN_BLOCKS = 20_000
_BLOCKS = ("div", "ul", "ol", "dl", "section", "article", "aside", "nav", "header", "footer",
           "main", "form", "fieldset", "figure", "figcaption", "blockquote", "details",
           "summary", "dialog", "address", "center", "menu", "hgroup", "dir", "search")
UNREADABLE = "markup nested too deep"


class UnreadableMarkup(ValueError):
    """A page whose document would take hours to build."""


def parse_html(html: str | bytes) -> LexborHTMLParser:
    """lexbor's document of a page; ``UnreadableMarkup`` for block elements left open more
    than ``MAX_OPEN_BLOCKS`` deep (two counts over the page tell most pages apart at once)."""
    if isinstance(html, bytes):
        unclosed = html.count(b"<") - 2 * html.count(b"</")
        text = html.decode("utf-8", "replace") if unclosed > MAX_OPEN_BLOCKS else ""
    else:
        unclosed, text = html.count("<") - 2 * html.count("</"), html
    if unclosed > MAX_OPEN_BLOCKS:
        lower = text.lower()
        open_blocks = sum(lower.count(f"<{name}") - lower.count(f"</{name}")
                          for name in _BLOCKS)
        if open_blocks > MAX_OPEN_BLOCKS:
            raise UnreadableMarkup(
                f"{UNREADABLE}: {open_blocks:,} block elements left open (at most "
                f"{MAX_OPEN_BLOCKS:,} are read; browsers stop nesting at 512)")
    return LexborHTMLParser(html)


def _engine() -> LexborCSSSelector:
    engine: LexborCSSSelector | None = getattr(_local, "engine", None)
    if engine is None:
        engine = _local.engine = LexborCSSSelector()
    return engine


def _node(where: LexborHTMLParser | LexborNode) -> LexborNode | None:
    return where.root if isinstance(where, LexborHTMLParser) else where


def select(where: LexborHTMLParser | LexborNode, query: str) -> list[LexborNode]:
    """``where.css(query)``: the matching elements in document order."""
    node = _node(where)
    return _engine().find(query, node) if node is not None else []


def select_first(where: LexborHTMLParser | LexborNode, query: str) -> LexborNode | None:
    """``where.css_first(query)``."""
    node = _node(where)
    if node is None:
        return None
    found = _engine().find_first(query, node)  # type: ignore[attr-defined]  # not in the stub
    return found[0] if found else None
