"""Sessions: tests (pytest), lint (ruff + mypy on voidx/), bench (benchmarks against peers)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
PYTHON = "3.11"
PURE_PYTHON_TESTS = ("tests/test_extract_lanes.py", "tests/test_extract_structured.py",
                     "tests/test_extract_review.py", "tests/test_extract_hostile.py",
                     "tests/test_normalize.py", "tests/test_realworld.py", "tests/test_charset.py")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[dev,browser,llm]")  # (compiles the extractor: hatch_build.py)
    session.run("pytest", "-q", "-ra", *session.posargs)
    if not session.posargs:
        # The extractor's Python sources, as installed where nothing could be compiled: the
        # extraction tests again, with those that watch it by patching its modules.
        session.run("pytest", "-q", "-ra", *PURE_PYTHON_TESTS, env={"VOIDX_PURE_PYTHON": "1"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("-e", ".[dev]", env={"VOIDX_PURE_PYTHON": "1"})  # (no need to compile)
    session.run("ruff", "check", "voidx", "tests", "bench", "noxfile.py", "hatch_build.py")
    session.run("mypy", "voidx")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    session.install("-e", ".[dev,browser]", "scrapy>=2.11,<3", "extruct>=0.17,<1",
                    "price-parser>=0.3.4,<1", "aiohttp>=3.9,<4")
    scripts = session.posargs or sorted(str(p) for p in __import__("pathlib").Path("bench")
                                        .glob("*.py") if not p.name.startswith("_"))
    for script in scripts:
        session.run("python", script)
