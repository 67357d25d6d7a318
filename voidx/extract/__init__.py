"""The processor: pages to validated product records (structured data, page heuristics, selectors, Claude).

Installing voidx compiles the modules a page's reading runs through with mypyc into the
package ``voidx_native`` (see ``hatch_build.py``). They are put first on this package's path
only while each source beside this file is the one they were compiled from: an edited or
updated checkout reads pages with its own Python (and says once that the compiled build is
stale) until ``pip install`` compiles it again. ``VOIDX_PURE_PYTHON=1`` reads pages with the
Python sources whatever is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.util import find_spec
from pathlib import Path

NATIVE = "voidx_native"


def native_build(sources: Path = Path(__file__).parent, root: Path | None = None
                 ) -> tuple[Path | None, str]:
    """Where the compiled modules of ``sources`` (this package) are, or None, and why;
    ``root``: the compiled package (``voidx_native``, found on the path by default)."""
    if os.environ.get("VOIDX_PURE_PYTHON"):
        return None, "VOIDX_PURE_PYTHON is set"
    if root is None:
        spec = find_spec(NATIVE)
        locations = list(spec.submodule_search_locations or ()) if spec else []
        if not locations:
            return None, "not compiled at install (no C compiler?)"
        root = Path(locations[0])
    try:
        digests: dict[str, str] = json.loads((root / "manifest.json").read_text())["sources"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{root / 'manifest.json'} unreadable: {exc}"
    for name, digest in sorted(digests.items()):
        try:
            current = hashlib.sha256((sources / name).read_bytes()).hexdigest()
        except OSError:
            current = ""
        if current != digest:
            return None, (f"{sources / name} changed since it was compiled; "
                          "`pip install -e .` compiles it again")
    return root / "extract", f"compiled ({len(digests)} modules)"


_native, NATIVE_STATUS = native_build()
if _native is not None:
    __path__.insert(0, str(_native))
elif "changed since" in NATIVE_STATUS:
    from loguru import logger

    logger.warning("voidx: reading pages with the Python extractor: {}", NATIVE_STATUS)
