"""The processor: pages to validated product records (structured data, page heuristics, selectors, Claude).

Installing voidx compiles the modules a page's reading runs through with mypyc into the
package ``voidx_native`` (see ``hatch_build.py``). They are put first on this package's path
only while they can load in this interpreter and every source they were compiled from (they
and the voidx modules they import) is the one beside this file: an edited or updated checkout
reads pages with its own Python (and says once that the compiled build is stale) until
``pip install`` compiles it again. ``VOIDX_PURE_PYTHON=1`` reads pages with the Python sources
whatever is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.util import find_spec
from pathlib import Path

NATIVE = "voidx_native"


def pure_python_asked() -> bool:
    """VOIDX_PURE_PYTHON set to anything but "", "0", "false" or "no"."""
    return os.environ.get("VOIDX_PURE_PYTHON", "").strip().lower() not in ("", "0", "false", "no")


def native_build(sources: Path = Path(__file__).parents[2], root: Path | None = None
                 ) -> tuple[Path | None, str]:
    """Where the compiled modules of the voidx package in ``sources`` (the directory that
    holds it) are, or None, and why; ``root``: the compiled package (``voidx_native``, found
    on the path by default)."""
    if pure_python_asked():
        return None, "VOIDX_PURE_PYTHON is set"
    if root is None:
        spec = find_spec(NATIVE)
        locations = list(spec.submodule_search_locations or ()) if spec else []
        if not locations:
            return None, "not compiled at install (no C compiler?)"
        root = Path(locations[0])
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        if "error" in manifest:
            return None, f"not compiled at install: {manifest['error']}"
        suffix, modules, digests = manifest["suffix"], manifest["modules"], manifest["sources"]
        built = [root / "extract" / f"{name}{suffix}" for name in modules]
        built.append(root.parent / f"{NATIVE}__mypyc{suffix}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{root / 'manifest.json'} unreadable: {exc!r}"
    if suffix not in EXTENSION_SUFFIXES or not all(path.is_file() for path in built):
        return None, f"{root} was built for another Python ({suffix})"
    for name, digest in sorted(digests.items()):
        try:
            current = hashlib.sha256((sources / name).read_bytes()).hexdigest()
        except OSError:
            current = ""
        if current != digest:
            return None, (f"{sources / name} changed since it was compiled; reinstall voidx "
                          "(`pip install -e .` in a checkout) to compile it again")
    return root / "extract", f"compiled ({len(modules)} modules)"


_native, NATIVE_STATUS = native_build()
if _native is not None:
    __path__.insert(0, str(_native))
elif "changed since" in NATIVE_STATUS:
    from loguru import logger

    logger.warning("voidx: reading pages with the Python extractor: {}", NATIVE_STATUS)
