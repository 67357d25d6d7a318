"""Pages' documents, and CSS queries with one selector engine per thread.

selectolax builds a new lexbor selector engine (parser, memory pools) for every document on
its first query, which costs more than the query itself; extraction reads thousands of
documents, so it keeps one engine and hands it each document's nodes."""

from __future__ import annotations

import re
import threading
from collections import Counter
from functools import lru_cache

from selectolax.lexbor import LexborCSSSelector, LexborHTMLParser, LexborNode

from voidx.extract.casing import lower
from voidx.extract.scan import PageScan, scan

_local = threading.local()

# Elements left open around each other: building the document costs lexbor time quadratic
# in how deep they nest (start tags such as <div> or <li> look down the whole stack of open
# elements), and browsers stop nesting at 512. 20,000 take it about half a second; 10 MB of
# them, hours.
MAX_OPEN_ELEMENTS = 20_000
# Elements that cannot nest in themselves: void, or closed by the next of their kind or by
# their parent (an open <li> ends at the next <li>).
_FLAT = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr", "param", "keygen", "li", "p", "dt", "dd",
                   "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
                   "colgroup", "caption", "rb", "rt", "rtc", "rp", "a", "nobr", "button",
                   "h1", "h2", "h3", "h4", "h5", "h6", "form", "select", "html", "head",
                   "body", "frame", "image", "menuitem"})
_TAG_NAME = re.compile(r"<(/?)([a-z][a-z0-9-]*)")
UNREADABLE = "markup nested too deep"


class UnreadableMarkup(ValueError):
    """A page whose document would take hours to build."""


def parse_html(html: str | bytes, page: PageScan | None = None) -> LexborHTMLParser:
    """lexbor's document of a page; ``UnreadableMarkup`` for more than ``MAX_OPEN_ELEMENTS``
    elements left open (two counts over a page long enough to hold them tell almost every
    page apart at once). ``page``: the page's scan, when the caller has it."""
    if len(html) <= 2 * MAX_OPEN_ELEMENTS:  # each element left open takes two characters
        return LexborHTMLParser(html)
    if isinstance(html, bytes):
        unclosed = html.count(b"<") - 2 * html.count(b"</")
        text = html.decode("utf-8", "replace") if unclosed > MAX_OPEN_ELEMENTS else ""
    else:
        unclosed, text = html.count("<") - 2 * html.count("</"), html
    if unclosed > MAX_OPEN_ELEMENTS:
        # (tags count outside comments, scripts, styles...: there they are text)
        tags = Counter(_TAG_NAME.findall((page or scan(text)).markup()))
        left_open = sum(max(0, n - tags[("/", name)]) for (end, name), n in tags.items()
                        if not end and name not in _FLAT)
        if left_open > MAX_OPEN_ELEMENTS:
            raise UnreadableMarkup(
                f"{UNREADABLE}: {left_open:,} elements left open (at most "
                f"{MAX_OPEN_ELEMENTS:,} are read; browsers stop nesting at 512)")
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
    return _engine().find(query, node) if node is not None and query else []


def select_first(where: LexborHTMLParser | LexborNode, query: str) -> LexborNode | None:
    """``where.css_first(query)``."""
    node = _node(where)
    if node is None:
        return None
    found = _engine().find_first(query, node)  # type: ignore[attr-defined]  # not in the stub
    return found[0] if found else None


# A selector's attribute values, ids, classes and attribute names: one of them is written in the
# markup of any page the selector matches.
_NAMED = re.compile(r"""=\s*['"]?([^'"\]\s]+)|#([\w-]+)|\.([\w-]+)|\[\s*([\w-]+)""")


@lru_cache(maxsize=1024)
def _needs(part: str) -> str:
    """The longest value, id or class ``part`` names, else its longest attribute name
    (lower-cased): it cannot match a page whose markup lacks it."""
    named = _NAMED.findall(part)
    words = [word for found in named for word in found[:3] if word] or \
        [found[3] for found in named if found[3]]
    return lower(max(words, key=len)) if words else ""


class Markup:
    """A page's lower-cased markup, asked which words it writes (each word searched once)."""

    def __init__(self, lower: str) -> None:
        self.lower = lower
        self._writes: dict[str, bool] = {}

    def writes(self, word: str) -> bool:
        found = self._writes.get(word)
        if found is None:
            # (a "/" in an attribute may be written as a reference: "cart&#x2F;add")
            found = word in self.lower or ("/" in word and any(
                word.replace("/", ref) in self.lower for ref in ("&#x2f;", "&#47;", "&sol;")))
            self._writes[word] = found
        return found


def possible(selector: str, markup: Markup | None) -> str:
    """The parts of a selector list that can match the page ``markup`` is of (all of them
    when it is None): each needs the longest attribute value, id, class or attribute name it
    names to be written there. lexbor's engine checks each part against each element, so a
    list of thirty attribute-substring parts costs 0.2 ms a page; most of them name words the
    page never writes (looked for as written; a "/" also as its character reference: the one
    character of these words that encoders escape). The parts are those of a plain list:
    ``:is(a, b)`` is not split right."""
    if markup is None:
        return selector
    return ", ".join(part for part in selector.split(", ") if markup.writes(_needs(part)))
