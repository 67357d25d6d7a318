"""Build hook: the page extractor compiled to C with mypyc, beside its pure-Python sources.

Reading pages is the one CPU-bound stage, and mypyc compiles its typed modules as they are
(no second implementation) into C extensions that read a page in about three quarters of the
time. They are built into a separate package, ``voidx_native``, with a manifest of the
sources they were compiled from; ``voidx/extract/__init__.py`` puts them first on the
package's path only while every source still matches its manifest entry, so an edited
checkout runs its edited Python, never a stale build. Where nothing can be compiled (no C
compiler, ``VOIDX_PURE_PYTHON=1`` at install) the wheel is pure Python and works the same.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "voidx/extract"
# The modules a page's reading runs through (workers, the stage, Claude and the record model
# stay Python: they wait on processes, the store and the network, or are pydantic's).
COMPILED = ("blocks", "css", "dom", "embedded", "extractor", "fastre", "normalize",
            "reconcile", "scan", "selectors", "structured")
NATIVE = "voidx_native"

# Run in its own process from the project's root (mypyc names modules by their paths there).
_COMPILE = """
import os, sys
from mypyc.build import mypycify
from setuptools import Distribution

group, config, work, out, *paths = sys.argv[1:]
extensions = mypycify(["--config-file", config, "--cache-dir", os.path.join(work, "cache"),
                       *paths], group_name=group, multi_file=True,
                      target_dir=os.path.join(work, "c"))
dist = Distribution({"name": group, "ext_modules": extensions})
build = dist.get_command_obj("build_ext")
build.build_lib, build.build_temp, build.parallel = out, os.path.join(work, "o"), os.cpu_count()
dist.run_command("build_ext")
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pure_python_asked() -> bool:
    """VOIDX_PURE_PYTHON set to anything but "", "0", "false" or "no" (as
    ``voidx.extract.pure_python_asked`` reads it: the hook cannot import voidx, whose
    dependencies the build does not have)."""
    return os.environ.get("VOIDX_PURE_PYTHON", "").strip().lower() not in ("", "0", "false", "no")


def depended_on(root: Path, sources: list[Path]) -> list[Path]:
    """``sources`` and every voidx module they import, directly or not: mypyc compiles them
    with those modules' types, so a change to any of them makes the build stale."""
    seen: dict[Path, None] = {}
    todo = list(sources)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            for name in names:
                if name == "voidx" or name.startswith("voidx."):
                    base = root.joinpath(*name.split("."))
                    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                        if candidate.is_file():
                            todo.append(candidate)
    return sorted(seen)


class NativeExtractor(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._work: str | None = None
        if self.target_name != "wheel" or pure_python_asked():
            return
        work = self._work = tempfile.mkdtemp(prefix="voidx-native-")
        key = "force_include_editable" if version == "editable" else "force_include"
        try:
            files = self._compile(Path(work))
        except Exception as exc:  # no compiler, no headers: the pure-Python wheel works
            reason = " ".join(str(exc).split())[:300]
            self.app.display_warning(
                f"voidx: the extractor was not compiled, pages are read by its Python "
                f"sources ({reason})")
            # (pip shows this only with -v: the reason is kept for voidx to tell)
            build_data[key].update(_package(Path(work), {"error": reason}))
            return
        build_data[key].update(files)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._work:
            shutil.rmtree(self._work, ignore_errors=True)

    def _compile(self, work: Path) -> dict[str, str]:
        root = Path(self.root)
        sources = [root / PACKAGE / f"{name}.py" for name in COMPILED]
        config = work / "mypy.ini"
        config.write_text("[mypy]\nignore_missing_imports = True\nno_site_packages = True\n")
        out = work / "out"
        script = work / "compile.py"
        script.write_text(_COMPILE)
        done = subprocess.run(
            [sys.executable, str(script), NATIVE, str(config), str(work), str(out),
             *(str(s.relative_to(root)) for s in sources)],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode:
            raise RuntimeError(done.stdout.strip().splitlines()[-1] if done.stdout else
                               f"mypyc exited with {done.returncode}")
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        files: dict[str, str] = {}
        for built in out.rglob(f"*{suffix}"):
            relative = built.relative_to(out).as_posix()
            files[str(built)] = (relative if "/" not in relative
                                 else f"{NATIVE}/{relative.removeprefix('voidx/')}")
        missing = [n for n in COMPILED if f"{NATIVE}/extract/{n}{suffix}" not in files.values()]
        if missing:
            raise RuntimeError(f"mypyc built no module for {', '.join(missing)}")
        files.update(_package(work, {
            "suffix": suffix, "modules": list(COMPILED),
            "sources": {s.relative_to(root).as_posix(): digest(s)
                        for s in depended_on(root, sources)}}))
        return files


def _package(work: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """The ``voidx_native`` package's own files, with ``manifest``: built file -> wheel path."""
    package = work / NATIVE
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(
        '"""voidx.extract compiled by mypyc; voidx/extract/__init__.py decides whether to use '
        'it."""\n')
    (package / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return {str(package / name): f"{NATIVE}/{name}" for name in ("__init__.py", "manifest.json")}

