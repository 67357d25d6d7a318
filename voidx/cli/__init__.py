"""The ``voidx`` command line: a thin Typer layer over the stage packages."""

from __future__ import annotations

import sys

from voidx.cli import (
    output,  # noqa: F401
    pipeline,  # noqa: F401
    project,  # noqa: F401  (registration order = help order)
)
from voidx.cli.app import app

# Global options may also be written after the command (`voidx demo --json`).
_GLOBAL_FLAGS = {"--json"}
_GLOBAL_VALUED = {"--project", "--db", "--config", "--log-level", "--as-of"}


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options found after the command name in front of it."""
    commands = {c.name for c in app.registered_commands if c.name}
    try:
        at = next(i for i, a in enumerate(argv) if a in commands)
    except StopIteration:
        return argv
    head, tail, moved = argv[:at], [], []
    rest = argv[at:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            tail.extend(rest[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in _GLOBAL_FLAGS:
            moved.append(arg)
        elif name in _GLOBAL_VALUED and i > 0:
            if "=" in arg:
                moved.append(arg)
            elif i + 1 < len(rest):
                moved.extend(rest[i:i + 2])
                i += 1
        else:
            tail.append(arg)
        i += 1
    return head + moved + tail


def main() -> None:
    app(args=hoist_global_options(sys.argv[1:]), prog_name="voidx")
