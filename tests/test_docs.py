"""The README keeps up with the CLI: every command has help text and a section."""

from __future__ import annotations

import re
from pathlib import Path

from voidx.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_command_has_help_and_a_readme_section() -> None:
    names = [c.name for c in app.registered_commands]
    assert len(names) >= 21
    for command in app.registered_commands:
        assert command.callback is not None and (command.callback.__doc__ or "").strip(), \
            command.name
        assert f"### voidx {command.name}\n" in README, f"README lacks ### voidx {command.name}"


def test_readme_starts_with_the_two_commands() -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert "voidx demo" in lines[0] and "nox -s tests" in lines[1]
    assert "nox -s tests lint" in (Path(__file__).parent.parent / ".ci" / "run").read_text()
