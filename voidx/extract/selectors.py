"""User selector rules from ``[sources.selectors]``: "css", "css@attr" or {css, attr, regex}."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from voidx.extract.css import select_first
from voidx.extract.normalize import clean_text

_PROBE = LexborHTMLParser("<p></p>")


def rule_problem(rule: str | dict[str, Any]) -> str | None:
    """Why a rule cannot work (bad CSS, bad regex), or None."""
    spec = _spec(rule)
    try:
        _PROBE.css_first(spec["css"])
    except Exception as exc:
        return f"bad CSS selector {spec['css']!r}: {exc}"
    if spec.get("regex"):
        try:
            re.compile(spec["regex"])
        except re.error as exc:
            return f"bad regular expression {spec['regex']!r}: {exc}"
    return None


def apply_rules(tree: LexborHTMLParser, rules: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for field, rule in rules.items():
        try:
            value = _apply(tree, *_compiled(
                rule if isinstance(rule, str) else tuple(rule.items())))
        except Exception:  # a rule that cannot run reads nothing (checked at load time)
            value = None
        if value:
            values[field] = value
    return values


def _spec(rule: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(rule, str):
        css, _, attr = rule.rpartition("@") if "@" in rule.rsplit("]", 1)[-1] else (rule, "", "")
        return {"css": css, "attr": attr}
    return dict(rule)


@lru_cache(maxsize=4096)
def _compiled(rule: str | tuple[tuple[str, Any], ...]
              ) -> tuple[str, str | None, re.Pattern[str] | None]:
    """A rule (its text, or its table's items) as CSS, attribute and compiled regex."""
    spec = _spec(rule if isinstance(rule, str) else dict(rule))
    regex = spec.get("regex")
    return spec["css"], spec.get("attr") or None, re.compile(regex) if regex else None


def _apply(tree: LexborHTMLParser, css: str, attr: str | None,
           regex: re.Pattern[str] | None) -> str | None:
    node = select_first(tree, css)
    if node is None:
        return None
    raw = node.attributes.get(attr) if attr else node.text(deep=True, separator=" ")
    if raw is None:
        return None
    text = clean_text(raw) or ""
    if regex is not None:
        match = regex.search(text)
        if not match:
            return None
        text = (match.group(1) if match.groups() else match.group(0)).strip()
    return text or None
