"""The extractor compiled by mypyc (voidx_native): used when installed and current, read
pages exactly as its Python sources do, and never shadows an edited source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

import voidx.extract
from voidx.extract import NATIVE_STATUS, native_build

FIXTURES = Path(__file__).parent / "fixtures"

# Every fixture page and the demo shop's pages of both catalogs, as the stage stores them.
READ_ALL = r"""
import json, sys
from pathlib import Path
from voidx.config import SourceConfig
from voidx.demo import Catalog, ShopSite
from voidx.extract.workers import as_row, extract_one
from voidx.pipeline import DEMO_SELECTORS

pages = [(p.read_bytes(), "https://shop.example/p/" + p.name)
         for p in sorted(Path(sys.argv[1]).rglob("*.html"))]
for seed in (7, 11):
    catalog = Catalog(n_products=150, seed=seed)
    site = ShopSite(catalog, day=2)
    for product in catalog.products:
        if not product.js_only:
            path = catalog.product_path(product)
            pages.append((site.handle("GET", path, {"host": "shop.test"})[2],
                          "http://shop.test" + path))
    pages.append((site.handle("GET", "/", {"host": "shop.test"})[2], "http://shop.test/"))
# Greek capitals lower-case by their neighbours (a final sigma): mypyc's own str.lower differs.
greek = ('<html><head><title>ΚΑΦΕΤΙΕΡΑ ΟΔΟΣ</title><script type="application/ld+json">'
         '{"@type": "Product", "name": "ΚΑΦΕΤΙΕΡΑ ΟΔΟΣ", "sku": "ΚΑΦ-ΟΔΟΣ", "offers": {'
         '"price": "49.90", "priceCurrency": "EUR", "availability": "InStock"}}</script>'
         '</head><body><h1>ΚΑΦΕΤΙΕΡΑ ΟΔΟΣ</h1>'
         '<span class="price">49,90 €</span><p class="stock">ΕΞΑΝΤΛΗΘΗΚΕ ΠΡΟΣ ΤΟ ΠΑΡΟΝ</p>'
         '<span class="sku">Κωδικός: ΚΑΦ-ΟΔΟΣ</span><button>ΑΓΟΡΑ ΤΩΡΑΣ</button></body></html>')
pages.append((greek.encode(), "https://shop.example/p/kafetiera-odos"))
sources = (None, SourceConfig(name="shop", start_urls=["http://shop.test/"],
                              selectors=DEMO_SELECTORS))
rows = [as_row(extract_one(body, url, source)) for source in sources for body, url in pages]
print(json.dumps({"status": __import__("voidx.extract").extract.NATIVE_STATUS, "rows": rows}))
"""


def read_all(pure: bool) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "VOIDX_PURE_PYTHON"}
    if pure:
        env["VOIDX_PURE_PYTHON"] = "1"
    done = subprocess.run([sys.executable, "-c", READ_ALL, str(FIXTURES)], env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_installed_extractor_is_compiled_and_used() -> None:
    require(NATIVE_STATUS.startswith("compiled"), f"compiled extractor: {NATIVE_STATUS}")
    from voidx.extract import dom, extractor

    for module in (dom, extractor):
        assert not str(module.__file__).endswith(".py"), module.__file__
    assert str(voidx.extract.__path__[0]).endswith("voidx_native/extract")


def test_compiled_and_python_extractors_read_every_page_alike() -> None:
    require(NATIVE_STATUS.startswith("compiled"), f"compiled extractor: {NATIVE_STATUS}")
    compiled, python = read_all(pure=False), read_all(pure=True)
    assert str(compiled["status"]).startswith("compiled")
    assert python["status"] == "VOIDX_PURE_PYTHON is set"
    rows, expected = compiled["rows"], python["rows"]
    assert isinstance(rows, list) and isinstance(expected, list)
    assert len(rows) == len(expected) > 1000
    assert sum(row[0] == "ok" for row in rows) > 900
    differing = [(a, b) for a, b in zip(rows, expected, strict=True) if a != b]
    assert differing == []


def test_compiled_modules_lower_case_text_as_python_does() -> None:
    """mypyc compiles ``text.lower()`` to its own routine, which leaves out Unicode's
    final-sigma rule; the compiled modules lower-case through ``casing.lower`` instead."""
    import re

    source = (Path(__file__).parent.parent / "hatch_build.py").read_text()
    compiled = re.search(r"COMPILED = \(([^)]*)\)", source)
    assert compiled is not None
    names = re.findall(r'"(\w+)"', compiled.group(1))
    assert len(names) == 11
    package = Path(voidx.extract.__file__).parent
    for name in names:
        for number, line in enumerate((package / f"{name}.py").read_text().splitlines(), 1):
            if ".lower()" in line and "encoded.lower()" not in line and "``" not in line:
                pytest.fail(f"{name}.py:{number}: str.lower() in a compiled module: {line}")
    from voidx.extract.scan import lowered

    for text in ("ΟΔΟΣ", "ΑΣ ΒΣ.", "y ſ'AΣ\ud800Z", "ΣΑΣ"):
        assert lowered(text) == text.lower()


def _build(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the package's sources and a compiled build's manifest of them."""
    sources = tmp_path / "extract"
    shutil.copytree(Path(voidx.extract.__file__).parent, sources,
                    ignore=shutil.ignore_patterns("__pycache__"))
    root = tmp_path / "voidx_native"
    root.mkdir()
    import hashlib

    (root / "manifest.json").write_text(json.dumps({"sources": {
        name: hashlib.sha256((sources / name).read_bytes()).hexdigest()
        for name in ("dom.py", "scan.py")}}))
    return sources, root


def test_a_build_of_the_current_sources_is_used(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOIDX_PURE_PYTHON", raising=False)
    sources, root = _build(tmp_path)
    assert native_build(sources, root) == (root / "extract", "compiled (2 modules)")


def test_an_edited_source_is_read_as_python_never_through_a_stale_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOIDX_PURE_PYTHON", raising=False)
    sources, root = _build(tmp_path)
    with (sources / "scan.py").open("a") as f:
        f.write("\n# an edit\n")
    where, why = native_build(sources, root)
    assert where is None
    assert why == f"{sources / 'scan.py'} changed since it was compiled; " \
        "`pip install -e .` compiles it again"
    (sources / "dom.py").unlink()
    assert native_build(sources, root)[0] is None
    (root / "manifest.json").write_text("{not json")
    where, why = native_build(sources, root)
    assert where is None and why.startswith(f"{root / 'manifest.json'} unreadable")


def test_voidx_pure_python_reads_pages_with_the_sources(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    sources, root = _build(tmp_path)
    monkeypatch.setenv("VOIDX_PURE_PYTHON", "1")
    assert native_build(sources, root) == (None, "VOIDX_PURE_PYTHON is set")
    done = subprocess.run(
        [sys.executable, "-c", "import voidx.extract.dom as d; print(d.__file__)"],
        env={**os.environ, "VOIDX_PURE_PYTHON": "1"}, capture_output=True, text=True,
        check=True)
    assert done.stdout.strip() == str(Path(voidx.extract.__file__).parent / "dom.py")
