"""A page cut down for a language model: the main content as compact text, within a budget.

Scripts, styles, navigation, headers, footers, forms and hidden parts are removed; headings,
list items, table rows and prices survive as short lines; image alt texts and the canonical
URL are kept because they often carry the product's name and identity.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from voidx.extract.css import parse_html, select, select_first

DROP = ("script", "style", "noscript", "svg", "iframe", "template", "nav", "footer", "form",
        "header", "aside", "[hidden]", "[aria-hidden=true]", "[role=navigation]",
        "[style*='display:none']", "[style*='display: none']")
BLOCK_TAGS = {"p", "div", "section", "article", "main", "li", "tr", "h1", "h2", "h3", "h4",
              "h5", "h6", "dt", "dd", "table", "ul", "ol", "br", "figure", "figcaption"}
CHARS_PER_TOKEN = 4
def page_text(html: bytes | str, url: str, budget_tokens: int = 6000) -> str:
    tree = parse_html(html)
    title_node = select_first(tree, "title")
    title = title_node.text(strip=True) if title_node is not None else ""
    meta = {n.attributes.get("property") or n.attributes.get("name"): n.attributes.get("content")
            for n in select(tree, "meta[content]")
            if (n.attributes.get("property") or n.attributes.get("name") or "").startswith(
                ("og:", "product:", "description"))}
    for selector in DROP:
        for node in select(tree, selector):
            node.decompose()
    lines: list[str] = [f"URL: {url}"]
    if title:
        lines.append(f"TITLE: {title}")
    lines.extend(f"META {k}: {v}" for k, v in meta.items() if k and v)
    body = tree.body
    if body is not None:
        for node in select(body, "h1, h2, h3, h4, h5, h6, p, li, tr, dt, dd, td, span, div, "
                                 "a, del, s, ins, strong, b, label, button, img[alt]"):
            text = _own_text(node)
            tag = node.tag or ""
            if text:
                prefix = "#" * int(tag[1]) + " " if re.fullmatch(r"h\d", tag) else ""
                if tag in ("del", "s"):
                    text = f"(struck through: {text})"
                lines.append(prefix + text)
    # The page is sent between <page> tags: it must not be able to close them.
    text = re.sub(r"</?\s*page", "‹page", "\n".join(dict.fromkeys(lines)), flags=re.I)
    limit = budget_tokens * CHARS_PER_TOKEN
    return text if len(text) <= limit else text[:limit] + "\n[... page cut to fit the budget]"


def _own_text(node: LexborNode) -> str:
    """The text directly inside this element (children print their own lines)."""
    if node.tag == "img":
        alt = (node.attributes.get("alt") or "").strip()
        return f"[image: {alt}]" if alt else ""
    parts = []
    child = node.child
    while child is not None:
        if child.tag == "-text":
            parts.append(child.text_content or "")
        elif child.tag not in BLOCK_TAGS and child.tag not in ("del", "s", "img") \
                and select_first(child, "p, div, li, h1, h2, h3, table") is None:
            parts.append(child.text(deep=True))
        child = child.next
    return re.sub(r"\s+", " ", " ".join(parts)).strip()
