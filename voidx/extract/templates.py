"""LLM once per template: pages are grouped by the structure of their DOM; Claude proposes
selector rules for a group from a sample page, the rules are checked against Claude's own
answers on further pages of the group, and kept in the store. Later pages of that template
are read by the rules at no cost; rules that stop working are learned again.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode

from voidx.clock import now_ts
from voidx.extract.css import parse_html, select
from voidx.store import Store

STRUCTURE_TAGS = frozenset({"div", "section", "article", "main", "header", "footer", "nav",
                            "aside", "ul", "ol", "li", "table", "tbody", "tr", "form", "h1",
                            "h2", "h3", "h4", "h5", "h6", "p", "figure", "dl", "button",
                            "select", "fieldset"})
SKIP_TAGS = frozenset({"script", "style", "noscript", "svg", "template", "iframe", "link",
                       "meta", "head", "path"})
_VOLATILE_CLASS = re.compile(r"\d|^(?:css|sc|jsx|emotion|chakra|mui|tw)-|[0-9a-f]{6,}|^_")
MAX_DEPTH = 9
MIN_GROUP = 3  # pages of one template in a batch before rules are worth learning
STALE_AFTER = 3  # failed pages (and at least a fifth of those tried) before re-learning


def fingerprint(tree: LexborHTMLParser) -> str:
    """A hash of the page's block structure: tags and stable classes, repeats collapsed."""
    body = tree.body
    if body is None:
        return "empty"
    return hashlib.blake2b(_shape(body, 0).encode(), digest_size=8).hexdigest()


def _shape(node: LexborNode, depth: int) -> str:
    classes = sorted(c for c in (node.attributes.get("class") or "").split()
                     if not _VOLATILE_CLASS.search(c))[:4]
    sig = (node.tag or "") + ("." + ".".join(classes) if classes else "")
    if depth >= MAX_DEPTH:
        return sig
    children: list[str] = []
    child = node.child
    while child is not None:
        tag = child.tag or ""
        if tag in STRUCTURE_TAGS:
            shape = _shape(child, depth + 1)
            if shape not in children[-2:]:  # lists of products collapse to one entry
                children.append(shape)
        elif tag not in SKIP_TAGS and child.child is not None and tag not in ("-text",):
            # Inline wrappers (span, a) can hold blocks; look through them.
            inner = _shape(child, depth + 1)
            if "(" in inner and inner not in children[-2:]:
                children.append(inner)
        child = child.next
    return sig + ("(" + ",".join(children) + ")" if children else "")


_SKIPPED = ", ".join(sorted(SKIP_TAGS - {"head"}))

def skeleton_html(html: bytes | str, budget_chars: int) -> str:
    """The page as Claude needs it to write selectors: elements with class, id, itemprop and
    data attributes, short texts; no scripts, styles or head."""
    tree = parse_html(html)
    for node in select(tree, _SKIPPED):
        node.decompose()
    body = tree.body
    if body is None:
        return ""
    out: list[str] = []
    _emit(body, out, 0)
    text = re.sub(r"</?\s*page\b", "‹page", "\n".join(out), flags=re.I)
    return text[:budget_chars]


def _emit(node: LexborNode, out: list[str], depth: int) -> None:
    child = node.child
    while child is not None:
        tag = child.tag or ""
        if tag == "-text":
            text = re.sub(r"\s+", " ", child.text_content or "").strip()
            if text:
                out.append("  " * depth + text[:100])
        elif tag not in SKIP_TAGS and tag != "-comment":
            attrs = []
            for key in ("id", "class", "itemprop", "content", "href", "disabled", "name",
                        "value"):
                value = child.attributes.get(key)
                if key in child.attributes:
                    attrs.append(f'{key}="{(value or "")[:60]}"' if value is not None else key)
            attrs.extend(f'{k}="{(v or "")[:40]}"' for k, v in child.attributes.items()
                         if k.startswith("data-") and len(attrs) < 8)
            out.append("  " * depth + f"<{tag}{' ' if attrs else ''}{' '.join(attrs)}>")
            _emit(child, out, depth + 1)
        child = child.next


class SelectorRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    css: str = Field(description="CSS selector of the element holding the value.")
    attr: str | None = Field(None, description="Attribute to read instead of the text.")
    regex: str | None = Field(None, description="Regex whose first group keeps the value.")

    @model_validator(mode="after")
    def _works(self) -> SelectorRule:
        from voidx.extract.selectors import rule_problem

        problem = rule_problem(self.model_dump(exclude_none=True))
        if problem:
            raise ValueError(problem)
        return self


RuleField = Literal["name", "price", "currency", "availability", "sku", "brand"]


class TemplateStore:
    """Learned rules in the store, by (source, template fingerprint)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def active(self, source: str, fp: str) -> dict[str, Any] | None:
        row = self.store.execute(
            "SELECT rules FROM template_rules WHERE source = ? AND fingerprint = ?"
            " AND status = 'active'", (source, fp)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def status(self, source: str, fp: str) -> str | None:
        row = self.store.execute("SELECT status FROM template_rules WHERE source = ?"
                                 " AND fingerprint = ?", (source, fp)).fetchone()
        return None if row is None else str(row[0])

    def save(self, source: str, fp: str, rules: dict[str, Any], model: str, sample: str,
             validated: int) -> None:
        self.store.execute(
            "INSERT INTO template_rules (source, fingerprint, rules, model, status, sample_url,"
            " validated_pages, pages_applied, failures, learned_at)"
            " VALUES (?, ?, ?, ?, 'active', ?, ?, 0, 0, ?)"
            " ON CONFLICT (source, fingerprint) DO UPDATE SET rules = excluded.rules,"
            " model = excluded.model, status = 'active', sample_url = excluded.sample_url,"
            " validated_pages = excluded.validated_pages, pages_applied = 0, failures = 0,"
            " learned_at = excluded.learned_at",
            (source, fp, json.dumps(rules, sort_keys=True), model, sample, validated, now_ts()))

    def failed(self, source: str, fp: str, reason: str) -> None:
        self.store.execute(
            "INSERT INTO template_rules (source, fingerprint, rules, model, status, last_error,"
            " learned_at) VALUES (?, ?, '{}', '', 'failed', ?, ?)"
            " ON CONFLICT (source, fingerprint) DO UPDATE SET status = 'failed',"
            " last_error = excluded.last_error",
            (source, fp, reason, now_ts()))

    def used(self, source: str, fp: str, ok: int, failed: int) -> bool:
        """Count uses; True when the rules went stale (and were marked so)."""
        self.store.execute(
            "UPDATE template_rules SET pages_applied = pages_applied + ?,"
            " failures = failures + ? WHERE source = ? AND fingerprint = ?",
            (ok + failed, failed, source, fp))
        if failed >= STALE_AFTER and failed * 5 >= ok + failed:
            self.store.execute(
                "UPDATE template_rules SET status = 'stale', last_error = ? WHERE source = ?"
                " AND fingerprint = ?", (f"{failed} of {ok + failed} pages failed", source, fp))
            return True
        return False
