"""What a page says about itself in its markup, read without building its DOM.

JSON-LD blocks, OpenGraph / ``product:`` meta tags, the canonical link and whether the page
carries microdata at all. Building lexbor's document for a 7 KB page costs more than all of
these searches together, so the extractor reads them here first and builds the DOM only for
the pages that need it: microdata, the source's selector rules, or reading the page as a
shopper sees it.

The scan follows the HTML tokenizer where it matters for these elements: comments are
skipped as a whole (a script inside ``<!-- -->`` is not a script), a script's content runs
to the first ``</script``, and attribute values may hold ``>`` when quoted.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_TAG_REST = re.compile(r"""(?:[^>"']|"[^"]*"|'[^']*')*>""")
_META_OR_LINK = re.compile(r"<(meta|link)\b[^>]*>")
_SCRIPT_END = re.compile(r"</script[\s>/]")
_HIDDEN = (("<script", "</script"), ("<style", "</style"), ("<!--", "-->"),
           ("<template", "</template"), ("<svg", "</svg"), ("<noscript", "</noscript"))
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")


@dataclass
class PageScan:
    jsonld: list[str] = field(default_factory=list)  # the text of each JSON-LD script
    meta: dict[str, str] = field(default_factory=dict)  # og:* and product:* (first wins)
    canonical: str | None = None  # href of the first <link rel=canonical>
    microdata: bool = False  # an itemscope somewhere: the DOM is needed to read it
    lower: str = ""  # the page lower-cased, at the same offsets
    body: int = 0  # where <body starts (0 if it does not)

    def shown_at(self, needle: str, start: int = 0) -> int:
        """The first offset of ``needle`` in the body, outside scripts, styles, templates,
        SVG and comments (what a shopper cannot see); -1 if there is none."""
        at = self.lower.find(needle, max(start, self.body))
        while at >= 0 and self._hidden(at):
            at = self.lower.find(needle, at + 1)
        return at

    def _hidden(self, at: int) -> bool:
        lower = self.lower
        for opener, closer in _HIDDEN:
            begun = lower.rfind(opener, self.body, at)
            if begun >= 0 and lower.find(closer, begun, at) < 0:
                return True
        return False


def attributes(raw: str) -> dict[str, str]:
    """A tag's attributes, names lower-cased, character references decoded; first wins."""
    out: dict[str, str] = {}
    for name, double, single, bare in _ATTR.findall(raw):
        name = name.lower()
        if name not in out:
            value = double or single or bare
            out[name] = html.unescape(value) if "&" in value else value
    return out


def scan(text: str) -> PageScan:
    """The page's self-description, found on a lower-cased copy at the same offsets."""
    lower = text.lower()
    if len(lower) != len(text):  # a few non-ASCII capitals lower-case to two characters
        lower = text.translate(_ASCII_LOWER)
    body = lower.find("<body")
    found = PageScan(microdata="itemscope" in lower, lower=lower, body=max(0, body))
    comments = _comments(lower)
    at = lower.find("<script")
    while at >= 0:
        open_end = _tag_end(lower, at)
        if open_end < 0:
            break
        close = _SCRIPT_END.search(lower, open_end)
        content_end = close.start() if close else len(text)
        if "ld+json" in lower[at:open_end] and not _commented(at, comments) and attributes(
                text[at + 7:open_end - 1]).get("type", "").strip().lower() == "application/ld+json":
            found.jsonld.append(text[open_end:content_end])
        at = lower.find("<script", content_end)
    for tag in _META_OR_LINK.finditer(lower):
        start, end = tag.span()
        markup = tag.group()
        if not ("og:" in markup or "product:" in markup or "canonical" in markup):
            continue
        if markup.count('"') % 2 or markup.count("'") % 2:  # a quoted ">" cut the tag short
            end = _tag_end(lower, start)
            markup = lower[start:end]
        if _commented(start, comments):
            continue
        attrs = attributes(text[start + 5:end - 1])
        if tag.group(1) == "meta":
            key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
            if key.startswith(("og:", "product:")) and key not in found.meta:
                found.meta[key] = attrs.get("content") or ""
        elif found.canonical is None and "href" in attrs and "canonical" in (
                attrs.get("rel") or "").lower().split():
            found.canonical = attrs["href"]
    return found


def _tag_end(lower: str, start: int) -> int:
    """Just after the ``>`` that closes the tag at ``start`` (quoted values may hold ``>``)."""
    end = lower.find(">", start)
    if end < 0:
        return -1
    tag = lower[start:end]
    if tag.count('"') % 2 == 0 and tag.count("'") % 2 == 0:
        return end + 1
    match = _TAG_REST.match(lower, start)
    return match.end() if match else -1


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
