"""CSS queries with one selector engine per thread.

selectolax builds a new lexbor selector engine (parser, memory pools) for every document on
its first query, which costs more than the query itself; extraction reads thousands of
documents, so it keeps one engine and hands it each document's nodes."""

from __future__ import annotations

import threading

from selectolax.lexbor import LexborCSSSelector, LexborHTMLParser, LexborNode

_local = threading.local()


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
