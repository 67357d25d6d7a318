"""What a page says about itself in its markup, read without building its DOM.

JSON-LD blocks, OpenGraph / ``product:`` meta tags, the canonical link and whether the page
carries microdata at all. Building lexbor's document for a 7 KB page costs more than all of
these searches together, so the extractor reads them here first and builds the DOM only for
the pages that need it: microdata, the source's selector rules, or reading the page as a
shopper sees it.

The scan follows the HTML tokenizer where it matters for these elements: tag and attribute
names are case-insensitive, comments are skipped as a whole (a script inside ``<!-- -->`` is
not a script), a script's content runs to the first ``</script``, attribute values may be
quoted either way or not at all and may hold ``>`` when quoted, and character references in
values are decoded.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field
from typing import Any

# Patterns over the lower-cased page; inside a tag, quoted values may hold ">".
_IN_TAG = r"""(?:[^>"']|"[^"]*"|'[^']*')*?"""
_VALUE = r"""(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"""
_JSONLD = re.compile(
    rf"""<script\b(?={_IN_TAG}\stype\s*=\s*["']?\s*application/ld\+json\s*["'\s/>])"""
    rf"""{_IN_TAG}>""")
_META = re.compile(
    rf"""<meta\b(?={_IN_TAG}\s(?:property|name)\s*=\s*["']?\s*((?:og|product):[^"'\s>]*))"""
    rf"""(?={_IN_TAG}\scontent\s*=\s*{_VALUE})""")
_CANONICAL = re.compile(
    rf"""<link\b(?={_IN_TAG}\srel\s*=\s*(?:"[^"]*\bcanonical\b[^"]*"|'[^']*\bcanonical\b"""
    rf"""[^']*'|canonical[\s/>]))(?={_IN_TAG}\shref\s*=\s*{_VALUE})""")
# The og: properties ``opengraph`` reads (every product: one is kept).
OG_KEYS = frozenset({"og:type", "og:title", "og:url", "og:image", "og:price:amount",
                     "og:price:currency", "og:availability"})
_SCRIPT_END = re.compile(r"</script[\s>/]")
_HIDDEN_OPEN = re.compile(r"<(?:(script|style|template|svg|noscript)[\s/>]|!--)")
_CLOSERS = {"script": "</script", "style": "</style", "template": "</template", "svg": "</svg",
            "noscript": "</noscript", "!--": "-->"}
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


@dataclass
class PageScan:
    text: str  # the page
    lower: str  # the page lower-cased, at the same offsets
    jsonld: list[str] = field(default_factory=list)  # the text of each JSON-LD script
    canonical: str | None = None  # href of the first <link rel=canonical>
    microdata: bool = False  # an itemscope somewhere: the DOM is needed to read it
    body: int = 0  # where <body starts (0 if it does not)
    comments: list[tuple[int, int]] = field(default_factory=list)
    _meta: dict[str, str] | None = None
    _hidden: list[tuple[int, int]] = field(default_factory=list)
    _hidden_to: int = -1  # hidden parts are known for the body up to here

    @property
    def meta(self) -> dict[str, str]:
        """OG_KEYS and product:* meta tags (first wins), read on first use: pages whose
        schema.org data is complete do not need them."""
        if self._meta is None:
            self._meta = {}
            for meta in _META.finditer(self.lower):
                key = meta.group(1)
                if key not in self._meta and (key in OG_KEYS or key.startswith("product:")) \
                        and not _commented(meta.start(), self.comments):
                    self._meta[key] = _value(self.text, meta, 2)
        return self._meta

    def shown_at(self, needle: str, start: int = 0) -> int:
        """The first offset of ``needle`` in the body, outside scripts, styles, templates,
        SVG and comments (what a shopper cannot see); -1 if there is none."""
        at = self.lower.find(needle, max(start, self.body))
        while at >= 0 and self.hidden(at):
            at = self.lower.find(needle, at + 1)
        return at

    def hidden(self, at: int) -> bool:
        """Whether offset ``at`` of the body lies in a part a shopper cannot see. The parts
        are found as far as asked (a price is usually shown before a page's scripts)."""
        if self._hidden_to < 0:
            self._hidden_to = self.body
        while self._hidden_to <= at:
            opening = _HIDDEN_OPEN.search(self.lower, self._hidden_to)
            if opening is None or opening.start() > at:  # none (more) up to ``at``
                self._hidden_to = len(self.lower) if opening is None else opening.start()
                break
            closer = _CLOSERS[opening.group(1) or "!--"]
            end = self.lower.find(closer, opening.end())
            end = len(self.lower) if end < 0 else end + len(closer)
            self._hidden.append((opening.start(), end))
            self._hidden_to = end
        i = bisect.bisect_right(self._hidden, (at, len(self.lower) + 1)) - 1
        return i >= 0 and self._hidden[i][0] <= at < self._hidden[i][1]


def scan(text: str) -> PageScan:
    """The page's self-description, found on a lower-cased copy at the same offsets."""
    lower = text.lower()
    if len(lower) != len(text):  # a few non-ASCII capitals lower-case to two characters
        lower = text.translate(_ASCII_LOWER)
    body = lower.find("<body")
    comments = _comments(lower) if "<!--" in lower else []
    found = PageScan(text, lower, microdata="itemscope" in lower, body=max(0, body),
                     comments=comments)
    for script in _JSONLD.finditer(lower):
        if not _commented(script.start(), comments):
            close = _SCRIPT_END.search(lower, script.end())
            found.jsonld.append(text[script.end():close.start() if close else len(text)])
    for link in _CANONICAL.finditer(lower):
        if not _commented(link.start(), comments):
            found.canonical = _value(text, link, 1)
            break
    return found


def _value(text: str, match: re.Match[str], first: int) -> str:
    """An attribute's value (in one of three groups: double-quoted, single-quoted or bare) as
    the page writes it, character references decoded."""
    for group in (first, first + 1, first + 2):
        start, end = match.span(group)
        if start >= 0:
            value = text[start:end]
            return html.unescape(value) if "&" in value else value
    return ""


def _comments(lower: str) -> list[tuple[int, int]]:
    spans = []
    at = lower.find("<!--")
    while at >= 0:
        end = lower.find("-->", at + 4)
        end = len(lower) if end < 0 else end + 3
        spans.append((at, end))
        at = lower.find("<!--", end)
    return spans


def _commented(at: int, comments: list[tuple[int, int]]) -> bool:
    return any(start <= at < end for start, end in comments)


def opengraph(meta: dict[str, str]) -> dict[str, Any]:
    """The product the OpenGraph / ``product:`` tags describe, if they describe one."""
    if not meta.get("product:price:amount") and meta.get("og:type", "").lower() != "product":
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
