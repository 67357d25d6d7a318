"""User selector rules from ``[sources.selectors]``: "css", "css@attr" or {css, attr, regex}."""

from __future__ import annotations

import re
from typing import Any

from selectolax.lexbor import LexborHTMLParser


def apply_rules(tree: LexborHTMLParser, rules: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for field, rule in rules.items():
        value = _apply(tree, rule)
        if value:
            values[field] = value
    return values


def _apply(tree: LexborHTMLParser, rule: str | dict[str, str]) -> str | None:
    if isinstance(rule, str):
        css, _, attr = rule.rpartition("@") if "@" in rule.rsplit("]", 1)[-1] else (rule, "", "")
        spec = {"css": css, "attr": attr}
    else:
        spec = rule
    node = tree.css_first(spec["css"])
    if node is None:
        return None
    wanted = spec.get("attr")
    raw = node.attributes.get(wanted) if wanted else node.text(deep=True, separator=" ")
    if raw is None:
        return None
    text = re.sub(r"\s+", " ", raw).strip()
    if spec.get("regex"):
        match = re.search(spec["regex"], text)
        if not match:
            return None
        text = (match.group(1) if match.groups() else match.group(0)).strip()
    return text or None
