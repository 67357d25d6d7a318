"""``str.lower`` as CPython does it, for the modules mypyc compiles.

mypyc's own ``str.lower`` leaves out Unicode's final-sigma rule (it lower-cases "ΟΔΟΣ" to
"οδοσ" where Python gives "οδος"), so compiled and Python code would read Greek text apart.
Called through this name, compiled code runs CPython's ``str.lower``.
"""

from __future__ import annotations

from collections.abc import Callable

lower: Callable[[str], str] = str.lower
