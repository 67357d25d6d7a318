"""Sessions: tests (pytest), lint (ruff + mypy on voidx/), bench (benchmarks against peers)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[dev,browser,llm]")
    session.run("pytest", "-q", "-ra", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "voidx", "tests", "bench", "noxfile.py")
    session.run("mypy", "voidx")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    session.install("-e", ".[dev,browser]", "scrapy>=2.11,<3", "extruct>=0.17,<1",
                    "price-parser>=0.3.4,<1", "aiohttp>=3.9,<4")
    scripts = session.posargs or sorted(str(p) for p in __import__("pathlib").Path("bench")
                                        .glob("*.py") if not p.name.startswith("_"))
    for script in scripts:
        session.run("python", script)
