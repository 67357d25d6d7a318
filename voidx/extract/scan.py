"""What a page says about itself in its markup, read without building its DOM.

JSON-LD blocks, OpenGraph / ``product:`` meta tags, the canonical link and whether the page
carries microdata at all. Building lexbor's document for a 7 KB page costs more than all of
these searches together, so the extractor reads them here first and builds the DOM only for
the pages that need it: microdata, the source's selector rules, or reading the page as a
shopper sees it.

The scan follows the HTML tokenizer where it matters for these elements. One pass finds the
comments (``<!-->`` and ``--!>`` included) and the elements whose content is not markup —
scripts (content up to the first ``</script``), styles, titles, text areas and inert
templates — so that a ``<!--`` in a script is not a comment and a ``<meta>`` in a comment is
not a tag; the same pass notes the body's parts a shopper cannot see (scripts, styles,
templates, SVG, ``noscript``) for ``shown_at`` and ``shown_around``. Tag and attribute names
are case-insensitive; attribute values may be quoted either way or not at all, may hold ``>``
when quoted, and have their character references decoded as in an attribute.
"""

from __future__ import annotations

import bisect
import html
import html.entities
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from voidx.extract.casing import lower
from voidx.extract.fastre import Finder

# Patterns over the lower-cased page. Inside a tag a quote opens a value only right after
# "=" (then the value may hold ">"); elsewhere, as in "content=Don't", it is a character.
# Each "=" has one way to match: no backtracking over a tag left open.
_IN_TAG_PART = r"""(?:[^>=]|=(?!\s*["'])|=\s*"[^"]*"|=\s*'[^']*')"""
_IN_TAG = rf"""{_IN_TAG_PART}*?"""
_VALUE = r"""(?:"([^"]*)"|'([^']*)'|([^\s"'>][^\s>]*))"""
# A script's first type attribute (browsers drop the later ones).
_TYPE = re.compile(rf"""{_IN_TAG}\stype\s*=\s*{_VALUE}""")
_META = re.compile(
    rf"""<meta\b(?={_IN_TAG}\s(?:property|name)\s*=\s*["']?\s*((?:og|product):[^"'\s>]*))"""
    rf"""(?={_IN_TAG}\scontent\s*=\s*{_VALUE})""")
_CANONICAL = re.compile(
    rf"""<link\b(?={_IN_TAG}\srel\s*=\s*(?:"(?:[^"]*\s)?canonical(?:\s[^"]*)?"|"""
    rf"""'(?:[^']*\s)?canonical(?:\s[^']*)?'|canonical[\s/>]))(?={_IN_TAG}\shref\s*=\s*{_VALUE})""")
# The og: properties ``opengraph`` reads (every product: one is kept).
OG_KEYS = frozenset({"og:type", "og:title", "og:url", "og:image", "og:price:amount",
                     "og:price:currency", "og:availability"})
# What the one pass over the page stops at: comments, elements whose content is not markup
# (raw text, RCDATA, inert templates), parts a shopper cannot see, and where the body starts.
# (the look-ahead turns most "<" away at their next character: a quarter faster on a page)
_TOKEN = re.compile(
    r"<(?=[!stbn])(?:!--|(script|style|textarea|title|template|svg|noscript|body)[\s/>])")
# (possessive: a run of plain characters is taken whole, and nothing is tried twice)
_TAG_REST = re.compile(r"""(?:[^>="']++|["']|=(?!\s*["'])|=\s*+"[^"]*+"|=\s*+'[^']*+')*+>""")
# Where the content of an element whose content is not markup ends: its end tag (the name
# followed by a space, "/" or ">").
_RAW = {name: re.compile(rf"</{name}[\t\n\f\r />]")
        for name in ("script", "style", "textarea", "title", "template")}
# A script's content follows the tokenizer's script-data states: after "<!--", a "<script"
# starts a part where "</script>" does not end the element, until "-->" (or that "</script>",
# which only goes back to after "<!--").
_IN_SCRIPT = re.compile(r"</script[\t\n\f\r />]|<!--")
_IN_ESCAPED = re.compile(r"-->|</script[\t\n\f\r />]|<script[\t\n\f\r />]")
_IN_DOUBLE_ESCAPED = re.compile(r"-->|</script[\t\n\f\r />]")
_HIDDEN = frozenset({"script", "style", "template"})
_COMMENT_END = re.compile(r"--!?>")
_CLOSERS = {"svg": "</svg", "noscript": "</noscript"}
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


@dataclass
class PageScan:
    text: str  # the page
    lower: str  # the page lower-cased, at the same offsets
    jsonld: list[str] = field(default_factory=list)  # the text of each JSON-LD script
    canonical: str | None = None  # href of the first <link rel=canonical>
    microdata: bool = False  # an itemscope somewhere: the DOM is needed to read it
    body: int = 0  # where <body starts (0 if it does not)
    hidden: list[tuple[int, int]] = field(default_factory=list)  # of the body, in page order
    opaque: list[tuple[int, int]] = field(default_factory=list)  # no tags in there
    _meta: dict[str, str] | None = None
    _visible: str | None = None

    @property
    def meta(self) -> dict[str, str]:
        """OG_KEYS and product:* meta tags (first wins), read on first use: pages whose
        schema.org data is complete do not need them."""
        if self._meta is None:
            self._meta = {}
            lower = self.lower
            for at, end in _tags(lower, "<meta"):
                # Only tags that name an og: or product: property are read in full.
                tag = lower[at:end]
                meta = _META.match(lower, at) if "og:" in tag or "product:" in tag else None
                if meta is not None:
                    key = meta.group(1)
                    if key not in self._meta and (key in OG_KEYS or key.startswith("product:")) \
                            and not _inside(at, self.opaque):
                        self._meta[key] = _value(self.text, meta, 2)
        return self._meta

    def shown_at(self, needle: str, start: int = 0) -> int:
        """The first offset of ``needle`` in the body, outside scripts, styles, templates,
        SVG and comments (what a shopper cannot see); -1 if there is none."""
        at = self.lower.find(needle, max(start, self.body))
        while at >= 0 and self.is_hidden(at):
            at = self.lower.find(needle, at + 1)
        return at

    def shown_html(self) -> str:
        """The body's markup without the parts a shopper cannot see (scripts, styles,
        templates, SVG, ``noscript``, comments), each left as a space."""
        return _without(self.text, self.hidden, self.body)

    def markup(self) -> str:
        """The lower-cased page without comments and the content of elements that is not
        markup (scripts, styles...): every ``<`` left starts a tag or is text."""
        return _without(self.lower, self.opaque, 0)

    def visible_text(self) -> str:
        """The body's words without scripts, styles or markup (no second parse), read once."""
        if self._visible is None:
            self._visible = " ".join(html.unescape(_TAG.sub(" ", self.shown_html())).split())
        return self._visible

    def is_hidden(self, at: int) -> bool:
        return _inside(at, self.hidden)

    def shown_around(self, at: int, before: int, after: int, stop: Finder | None = None, *,
                     original: bool = False) -> str:
        """The body around offset ``at``: ``before`` and ``after`` characters a shopper can
        see (hidden parts skipped and not counted), the part after ``at`` ending where the
        pattern ``stop`` first matches it; lower-cased unless ``original``."""
        tail = self._collect(at, after, forward=True, original=original)
        if stop is not None:  # (found where the lower-cased copy keeps the text's offsets)
            cut = stop.start_in(self._collect(at, after, forward=True, original=False)
                                if original else tail)
            tail = tail[:cut] if cut >= 0 else tail
        return self._collect(at, before, forward=False, original=original) + tail

    def _collect(self, at: int, wanted: int, *, forward: bool, original: bool) -> str:
        source = self.text if original else self.lower
        parts: list[str] = []
        spans = self.hidden
        i = bisect.bisect_right(spans, (at, len(self.lower) + 1)) - (0 if forward else 1)
        pos = at
        while wanted > 0:
            if forward:
                limit = spans[i][0] if i < len(spans) else len(self.lower)
                piece = source[pos:min(limit, pos + wanted)]
                parts.append(piece)
                wanted -= len(piece)
                if i >= len(spans) or pos + len(piece) >= len(self.lower):
                    break
                pos, i = max(pos, spans[i][1]), i + 1
            else:
                limit = spans[i][1] if i >= 0 else self.body
                limit = max(limit, self.body)
                piece = source[max(limit, pos - wanted):pos]
                parts.append(piece)
                wanted -= len(piece)
                if i < 0 or pos - len(piece) <= self.body:
                    break
                pos, i = min(pos, spans[i][0]), i - 1
        return "".join(parts if forward else reversed(parts))


def scan(text: str) -> PageScan:
    """The page's self-description, found on a lower-cased copy at the same offsets: one
    pass over the few elements whose content is not markup (comments, scripts, styles,
    titles, text areas, templates) and the parts a shopper cannot see, then the meta and link
    tags outside them."""
    lower = lowered(text)
    if len(lower) != len(text):  # a few non-ASCII capitals lower-case to two characters
        lower = text.translate(_ASCII_LOWER)
    found = PageScan(text, lower, microdata="itemscope" in lower)
    hidden: list[tuple[int, int]] = []
    opaque: list[tuple[int, int]] = []  # where a "<meta" or "<link" is not a tag
    open_until = 0  # the end of the svg / noscript element the pass is in (still tokenized)
    pos = 0
    while (token := _TOKEN.search(lower, pos)) is not None:
        start = token.start()
        name = token.group(1)
        if name is None:  # a comment; "<!-->" and "<!--->" are whole (empty) comments
            if lower.startswith(">", start + 4):
                end = start + 5
            elif lower.startswith("->", start + 4):
                end = start + 6
            else:
                closing = _COMMENT_END.search(lower, start + 4)
                end = closing.end() if closing else len(lower)
            hidden.append((start, end))
            opaque.append((start, end))
            pos = end
        elif name == "body":
            found.body = found.body or start
            pos = token.end()
        elif name in _RAW:  # content up to the closing tag, whatever it holds
            close = _script_end(lower, token.end()) if name == "script" else \
                _raw_end(_RAW[name], lower, token.end())
            if name == "script" and "ld+json" in lower[start:lower.find(">", start)] \
                    and _is_jsonld(lower, token.end() - 1):
                rest = _TAG_REST.match(lower, token.end() - 1)
                if rest is not None and rest.end() <= close:
                    found.jsonld.append(text[rest.end():close])
            if name in _HIDDEN:
                hidden.append((start, close))
            opaque.append((start, close))
            pos = close + 1
        else:  # svg, noscript: hidden, but their content is still markup
            if start >= open_until:
                close = lower.find(_CLOSERS[name], token.end())
                open_until = len(lower) if close < 0 else close
                hidden.append((start, open_until))
            pos = token.end()
    found.opaque = opaque
    for at, end in _tags(lower, "<link"):
        link = _CANONICAL.match(lower, at) if "canonical" in lower[at:end] else None
        if link is not None and not _inside(at, opaque):
            found.canonical = _value(text, link, 1)
            break
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(span for span in hidden if span[1] > found.body):
        if merged and begin <= merged[-1][1]:  # inside (or touching) the previous part
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    found.hidden = merged
    return found


def _tags(lower: str, opening: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each tag that starts with ``opening`` ("<meta"), in page order. A
    "<meta" inside another such tag's attributes is not a tag, and a tag left open at the end
    of the page ends the search (the tokenizer drops it): each character is read once."""
    at = lower.find(opening)
    while at >= 0:
        rest = _TAG_REST.match(lower, at + len(opening))
        if rest is None:
            return
        yield at, rest.end()
        at = lower.find(opening, rest.end())


# A tag as the tokenizer starts one ("<" then a letter, "/", "!" or "?"); one left open runs
# to the end of the page (a single match: no search from every later "<").
_TAG = re.compile(r"<[a-zA-Z/!?][^>]*(?:>|\Z)")


def _without(text: str, spans: list[tuple[int, int]], start: int) -> str:
    """``text`` from ``start`` with each of ``spans`` (in page order) left as a space."""
    parts: list[str] = []
    pos = start
    for begin, end in spans:
        if end <= pos:
            continue
        parts.append(text[pos:begin] if begin > pos else "")
        parts.append(" ")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


_ASCII_BYTES = bytes(range(128))


def lowered(text: str) -> str:
    """``text.lower()``, twice as fast on a page with a few non-ASCII characters none
    of which is a capital ("£", "é"): lower-casing a string that is not all ASCII looks up
    each of its characters, lower-casing its UTF-8 bytes only changes A to Z."""
    if text.isascii():
        return lower(text)
    encoded = text.encode("utf-8", "surrogatepass")
    others = encoded.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    if lower(others) != others:  # a capital (or a letter lower-cased by its neighbours)
        return lower(text)
    return encoded.lower().decode("utf-8", "surrogatepass")


def _raw_end(end_tag: re.Pattern[str], lower: str, pos: int) -> int:
    found = end_tag.search(lower, pos)
    return found.start() if found else len(lower)


def _script_end(lower: str, pos: int) -> int:
    """Where the script whose content starts at ``pos`` ends (its "</script"), as the
    tokenizer reads it: "<!--" escapes, and "<script" inside that escapes twice."""
    state = _IN_SCRIPT
    while (found := state.search(lower, pos)) is not None:
        token = found.group(0)
        if token == "<!--":
            state, pos = _IN_ESCAPED, found.start() + 2  # "<!-->" is closed at once
        elif token == "-->":
            state, pos = _IN_SCRIPT, found.end()
        elif token.startswith("<script"):
            state, pos = _IN_DOUBLE_ESCAPED, found.end()
        elif state is _IN_DOUBLE_ESCAPED:  # "</script>" here only ends the double escape
            state, pos = _IN_ESCAPED, found.end()
        else:
            return found.start()
    return len(lower)


def _is_jsonld(lower: str, at: int) -> bool:
    """Whether the script tag whose attributes start at ``at`` has JSON-LD as its (first)
    type, spaces around it and the letters' case aside."""
    found = _TYPE.match(lower, at)
    return found is not None and _value(lower, found, 1).strip() == "application/ld+json"


def _inside(at: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``at`` lies in one of ``spans`` (in page order, not overlapping)."""
    i = bisect.bisect_right(spans, (at, 1 << 62)) - 1
    return i >= 0 and spans[i][0] <= at < spans[i][1]


def _value(text: str, match: re.Match[str], first: int) -> str:
    """An attribute's value (in one of three groups: double-quoted, single-quoted or bare) as
    the page writes it, character references decoded."""
    for group in (first, first + 1, first + 2):
        start, end = match.span(group)
        if start >= 0:
            value = text[start:end]
            return unescape_attribute(value) if "&" in value else value
    return ""


_REFERENCE = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")


def unescape_attribute(value: str) -> str:
    """Character references decoded as in an attribute value: a named reference without its
    ";" is left alone when a letter, digit or "=" follows its name ("?id=7&currency=EUR" keeps
    "&curren"), where ``html.unescape`` (text rules) would decode it."""

    def decode(match: re.Match[str]) -> str:
        ref = match.group(0)
        if ref[1] == "#":
            return html.unescape(ref)
        name = ref[1:]
        if name in html.entities.html5 and (
                name.endswith(";") or value[match.end():match.end() + 1] != "="):
            return html.entities.html5[name]
        return ref  # a longer word ("&currency") or followed by "=": not a reference

    return _REFERENCE.sub(decode, value)


def opengraph(meta: dict[str, str]) -> dict[str, Any]:
    """The product the OpenGraph / ``product:`` tags describe, if they describe one."""
    if not meta.get("product:price:amount") and lower(meta.get("og:type", "")) != "product":
        return {}
    return {
        "name": meta.get("og:title"),
        "url": meta.get("og:url"),
        "price": meta.get("product:price:amount") or meta.get("og:price:amount"),
        "currency": meta.get("product:price:currency") or meta.get("og:price:currency"),
        "availability": meta.get("product:availability") or meta.get("og:availability"),
        "brand": meta.get("product:brand"),
        "sku": meta.get("product:retailer_item_id"),
        "image": meta.get("og:image"),
    }
