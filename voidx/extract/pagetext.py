"""A page cut down for a language model: the main content as compact text, within a budget.

Scripts, styles, navigation, headers, footers, forms and hidden parts are removed; headings,
list items, table rows and prices survive as short lines; image alt texts and the canonical
URL are kept because they often carry the product's name and identity.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

DROP = ("script", "style", "noscript", "svg", "iframe", "template", "nav", "footer", "form",
        "header", "aside", "[hidden]", "[aria-hidden=true]", "[role=navigation]",
        "[style*='display:none']", "[style*='display: none']")
BLOCK_TAGS = {"p", "div", "section", "article", "main", "li", "tr", "h1", "h2", "h3", "h4",
              "h5", "h6", "dt", "dd", "table", "ul", "ol", "br", "figure", "figcaption"}
CHARS_PER_TOKEN = 4
HIDDEN = re.compile(r"<(script|style|noscript|template|svg)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)


def shown_html(html: str) -> str:
    """The body of a page without scripts, styles, templates or comments (one regex pass)."""
    body = html.find("<body")
    if body < 0:
        body = html.lower().find("<body")
    return HIDDEN.sub(" ", html[body:] if body >= 0 else html)


def page_text(html: bytes | str, url: str, budget_tokens: int = 6000) -> str:
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else ""
    meta = {n.attributes.get("property") or n.attributes.get("name"): n.attributes.get("content")
            for n in tree.css("meta[content]")
            if (n.attributes.get("property") or n.attributes.get("name") or "").startswith(
                ("og:", "product:", "description"))}
    for selector in DROP:
        for node in tree.css(selector):
            node.decompose()
    lines: list[str] = [f"URL: {url}"]
    if title:
        lines.append(f"TITLE: {title}")
    lines.extend(f"META {k}: {v}" for k, v in meta.items() if k and v)
    body = tree.body
    if body is not None:
        for node in body.css("h1, h2, h3, h4, h5, h6, p, li, tr, dt, dd, td, span, div, a, "
                             "del, s, ins, strong, b, label, button, img[alt]"):
            text = _own_text(node)
            tag = node.tag or ""
            if text:
                prefix = "#" * int(tag[1]) + " " if re.fullmatch(r"h\d", tag) else ""
                if tag in ("del", "s"):
                    text = f"(struck through: {text})"
                lines.append(prefix + text)
    # The page is sent between <page> tags: it must not be able to close them.
    text = re.sub(r"</?\s*page", "‹page", "\n".join(_dedupe(lines)), flags=re.I)
    limit = budget_tokens * CHARS_PER_TOKEN
    return text if len(text) <= limit else text[:limit] + "\n[... page cut to fit the budget]"


def _own_text(node: object) -> str:
    """The text directly inside this element (children print their own lines)."""
    from selectolax.lexbor import LexborNode

    assert isinstance(node, LexborNode)
    if node.tag == "img":
        alt = (node.attributes.get("alt") or "").strip()
        return f"[image: {alt}]" if alt else ""
    parts = []
    child = node.child
    while child is not None:
        if child.tag == "-text":
            parts.append(child.text_content or "")
        elif child.tag not in BLOCK_TAGS and child.tag not in ("del", "s", "img") \
                and not child.css_first("p, div, li, h1, h2, h3, table"):
            parts.append(child.text(deep=True))
        child = child.next
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


def _dedupe(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out
