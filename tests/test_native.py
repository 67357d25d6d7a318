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
from voidx.extract import NATIVE_STATUS
print(json.dumps({"status": NATIVE_STATUS, "rows": rows}))
"""


# Pages whose data holds values of every odd type where a field's text is expected (numbers,
# booleans, lists, objects, null), in JSON-LD, embedded state and microdata: compiled code
# checks the types it was written for where Python code never did.
READ_ODD = r"""
import json, random, sys
from voidx.extract.workers import as_row, extract_one

rng = random.Random(int(sys.argv[1]))
SCALARS = ["Widget", "19.99", "$19.99", "1.299,00 €", "", " ", "W-1", "InStock", "USD",
           "https://schema.org/OutOfStock", "4006381333931", "4.5", "12 reviews", "/img/a.jpg",
           "false", "0", "NaN", "ΟΔΟΣ", 19.99, 0, -5, 10**25, 1e308, True, False, None, 1999]
KEYS = ["name", "url", "sku", "gtin13", "brand", "category", "image", "aggregateRating",
        "model", "offers", "price", "priceCurrency", "availability", "ratingValue",
        "reviewCount", "lowPrice", "valueAddedTaxIncluded", "@type", "@id", "title",
        "variants", "currency", "amount", "vendor", "handle", "options", "available"]

def value(depth=0):
    roll = rng.random()
    if roll < 0.6 or depth > 2:
        return rng.choice(SCALARS)
    if roll < 0.8:
        return [value(depth + 1) for _ in range(rng.randint(0, 3))]
    return {k: value(depth + 1) for k in rng.sample(KEYS, rng.randint(0, 4))}

def node(kind):
    data = {k: value() for k in rng.sample(KEYS, rng.randint(1, 10))}
    if rng.random() < 0.5:
        data["offers"] = {k: value() for k in rng.sample(KEYS, rng.randint(1, 5))}
    if kind == "ld":
        data["@type"] = rng.choice(["Product", ["Product", "Thing"], value()])
    return data

rows = []
for i in range(int(sys.argv[2])):
    head = body = ""
    if rng.random() < 0.7:
        head = '<script type="application/ld+json">' + json.dumps(node("ld")) + "</script>"
    if rng.random() < 0.5:
        body += "<script>window.__STATE__ = " + json.dumps({"product": node("state")}) + ";</script>"
    if rng.random() < 0.4:
        props = "".join(rng.choice([
            f'<meta itemprop="{k}" content="{rng.choice(SCALARS[:18])}">',
            f'<span itemprop="{k}">{rng.choice(SCALARS[:18])}</span>',
            f'<div itemprop="{k}" itemscope><meta itemprop="name" content="x"></div>'])
            for k in rng.sample(KEYS[:17], rng.randint(1, 6)))
        body += f'<div itemscope itemtype="https://schema.org/Product">{props}</div>'
    body += rng.choice(["<h1>Widget</h1><p>$19.99</p><button>Add to cart</button>",
                        "<h1>ΟΔΟΣ</h1><p>Sold out</p>", "<p>SKU: AB-1234</p>", ""])
    page = f"<html><head>{head}</head><body>{body}</body></html>".encode()
    rows.append(as_row(extract_one(page, "https://shop.example/p/widget", None)))
from voidx.extract import NATIVE_STATUS
print(json.dumps({"status": NATIVE_STATUS, "rows": rows}))
"""


def read_all(pure: bool, script: str = READ_ALL, *args: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "VOIDX_PURE_PYTHON"}
    if pure:
        env["VOIDX_PURE_PYTHON"] = "1"
    done = subprocess.run([sys.executable, "-c", script, *(args or (str(FIXTURES),))], env=env,
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


def test_compiled_and_python_extractors_read_odd_data_alike() -> None:
    require(NATIVE_STATUS.startswith("compiled"), f"compiled extractor: {NATIVE_STATUS}")
    compiled = read_all(False, READ_ODD, "5", "1500")
    python = read_all(True, READ_ODD, "5", "1500")
    rows, expected = compiled["rows"], python["rows"]
    assert isinstance(rows, list) and isinstance(expected, list) and len(rows) == 1500
    assert sum(row[0] == "ok" for row in expected) > 300
    errors = [row[4] for row in rows if str(row[4]).startswith("extractor error")]
    assert errors == [row[4] for row in expected if str(row[4]).startswith("extractor error")]
    assert [i for i, (a, b) in enumerate(zip(rows, expected, strict=True)) if a != b] == []


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
    """A copy of the package's sources (in ``sources``/voidx) and a compiled build of two of
    its modules (empty files where the extensions would be) with its manifest."""
    from importlib.machinery import EXTENSION_SUFFIXES

    sources = tmp_path / "src"
    package = Path(voidx.extract.__file__).parents[1]
    shutil.copytree(package, sources / "voidx", ignore=shutil.ignore_patterns("__pycache__"))
    root = tmp_path / "site" / "voidx_native"
    (root / "extract").mkdir(parents=True)
    suffix = EXTENSION_SUFFIXES[0]
    for name in ("dom", "scan"):
        (root / "extract" / f"{name}{suffix}").touch()
    (root.parent / f"voidx_native__mypyc{suffix}").touch()
    import hashlib

    (root / "manifest.json").write_text(json.dumps({
        "suffix": suffix, "modules": ["dom", "scan"], "sources": {
            name: hashlib.sha256((sources / name).read_bytes()).hexdigest()
            for name in ("voidx/extract/dom.py", "voidx/extract/scan.py", "voidx/config.py")}}))
    return sources, root


def test_a_build_of_the_current_sources_is_used(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for off in ("", "0", "false"):
        monkeypatch.setenv("VOIDX_PURE_PYTHON", off)
        sources, root = _build(tmp_path / off)
        assert native_build(sources, root) == (root / "extract", "compiled (2 modules)")


def test_an_edited_source_is_read_as_python_never_through_a_stale_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOIDX_PURE_PYTHON", raising=False)
    sources, root = _build(tmp_path)
    with (sources / "voidx" / "extract" / "scan.py").open("a") as f:
        f.write("\n# an edit\n")
    where, why = native_build(sources, root)
    assert where is None
    assert why == f"{sources / 'voidx/extract/scan.py'} changed since it was compiled; " \
        "reinstall voidx (`pip install -e .` in a checkout) to compile it again"
    # A module the compiled ones import counts as well: their types are compiled in.
    sources, root = _build(tmp_path / "dependency")
    config = sources / "voidx" / "config.py"
    config.write_text(config.read_text().replace("list[str]", "tuple[str, ...]"))
    where, why = native_build(sources, root)
    assert where is None and why.startswith(f"{config} changed since it was compiled")
    (sources / "voidx" / "extract" / "dom.py").unlink()
    assert native_build(sources, root)[0] is None
    (root / "manifest.json").write_text("{not json")
    where, why = native_build(sources, root)
    assert where is None and why.startswith(f"{root / 'manifest.json'} unreadable")
    # An install that could not compile keeps the reason (pip shows it only with -v).
    (root / "manifest.json").write_text(json.dumps({"error": "gcc: command not found"}))
    assert native_build(sources, root) == (
        None, "not compiled at install: gcc: command not found")


def test_a_build_for_another_python_is_not_used(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOIDX_PURE_PYTHON", raising=False)
    sources, root = _build(tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps({**manifest, "suffix": ".cpython-399-x.so"}))
    assert native_build(sources, root) == (
        None, f"{root} was built for another Python (.cpython-399-x.so)")
    (root / "manifest.json").write_text(json.dumps(manifest))
    next(root.parent.glob("voidx_native__mypyc*")).unlink()  # the modules' shared library
    assert native_build(sources, root)[1] == f"{root} was built for another Python " \
        f"({manifest['suffix']})"


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
