"""Python patterns searched through RE2 first.

Python's engine tries a pattern of a few hundred alternatives at each offset of a text; RE2
reads the text once. ``for_re2`` writes a Python pattern for RE2 so that it matches wherever
the Python one does (or more): RE2 then finds the few places to look at, and the Python
pattern decides there, so the results are exactly the Python pattern's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import re2

# Python's \s (str.isspace), \d (Unicode digits) and \w (letters, digits, _) for RE2, whose
# own are ASCII.
_SPACE = r"\t-\r\x{1c}-\x{1f}\x{85}\p{Z}"
_WORD = r"\p{L}\p{N}_"
_IN_CLASS = {"s": _SPACE, "d": r"\p{Nd}", "w": _WORD}
_OUTSIDE_CLASS = {"s": f"[{_SPACE}]", "S": f"[^{_SPACE}]", "d": r"\p{Nd}", "w": f"[{_WORD}]",
                  "b": ""}


def for_re2(pattern: str, *, ignore_case: bool = False) -> str:
    """A Python pattern as an RE2 pattern that matches wherever it does: ``\\s``, ``\\d`` and
    ``\\w`` as Python reads them, word boundaries and look-arounds dropped (a looser pattern:
    a match is then checked by the Python one where that matters); ``ignore_case`` as ``re.I``
    does, where "i" also matches the dotted capital and the dotless small i of Turkish
    (U+0130, U+0131), which RE2's case folding leaves apart (the only such letters in these
    patterns)."""
    out: list[str] = []
    in_class = False
    at = 0
    while at < len(pattern):
        char = pattern[at]
        if not in_class and pattern.startswith(_LOOKAROUNDS, at):
            at = _group_end(pattern, at)  # dropped: RE2 has none, and without it matches more
            continue
        if pattern.startswith("\\u", at):  # (RE2 writes \u00a0 as \x{00a0})
            out.append(f"\\x{{{pattern[at + 2:at + 6]}}}")
            at += 6
            continue
        if char == "\\" and at + 1 < len(pattern):
            code = pattern[at + 1]
            table = _IN_CLASS if in_class else _OUTSIDE_CLASS
            out.append(table.get(code, char + code))
            at += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class and pattern[at - 1] != "[":
            in_class = False
        elif ignore_case and char in "iI":
            char = "İı" + char if in_class else "[iİı]"
        out.append(char)
        at += 1
    return ("(?i)" if ignore_case else "") + "".join(out)


_LOOKAROUNDS = ("(?=", "(?!", "(?<=", "(?<!")


def _group_end(pattern: str, start: int) -> int:
    """Where the group opened at ``start`` ends (after its ")")."""
    depth = 0
    in_class = False
    at = start
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            at += 2
            continue
        if in_class:
            in_class = char != "]" or pattern[at - 1] == "["
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    return at


def finditer_where(strict: re.Pattern[str], loose: Any, text: str) -> Iterator[re.Match[str]]:
    """``strict.finditer(text)`` (its matches never empty), tried only where ``loose`` (an
    RE2 pattern matching wherever ``strict`` does) matches: at each place one pass of it
    finds, and inside each such match, where that pass does not look again."""
    done = 0  # where the last match ended
    for hit in loose.finditer(text):
        at = max(hit.start(), done)
        while at < hit.end():
            found = strict.match(text, at)
            if found is None:
                at += 1
                continue
            yield found
            done = at = found.end()


class Finder:
    """An RE2 pattern asked whether, and where first, it matches a text: RE2's engine called
    directly. The module's ``search`` also maps the match's byte offsets back to characters
    through a generator, which costs about half as much again as the search itself on a few
    kilobytes."""

    __slots__ = ("_engine",)

    def __init__(self, pattern: str) -> None:
        self._engine: Any = re2.compile(pattern)._regexp  # (the module's compiled RE2 object)

    def _first(self, encoded: bytes) -> int:
        """The byte offset of the first match in ``encoded``, -1 if none."""
        at: int = self._engine.Match(_UNANCHORED, encoded, 0, len(encoded))[0][0]
        return at

    def found_in(self, text: str) -> bool:
        return self._first(text.encode()) >= 0

    def start_in(self, text: str) -> int:
        """Where the first match in ``text`` starts (a character offset), -1 if none."""
        encoded = text.encode()
        at = self._first(encoded)
        if at <= 0 or text.isascii():
            return at
        return len(encoded[:at].decode())


_UNANCHORED = re2._Anchor.UNANCHORED
