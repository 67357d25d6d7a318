"""Fixtures that build worlds: a running demo shop, a project pointed at it, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from voidx.cli import app, hoist_global_options
from voidx.demo import Catalog, DemoShopServer, ShopSite

N_PRODUCTS = 120


def require(condition: bool, reason: str) -> None:
    """Skip when a service is missing; under VOIDX_REQUIRE_SERVICES=1 (CI) fail instead."""
    if condition:
        return
    if os.environ.get("VOIDX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``pure_python`` watch the extractor by patching its modules' functions:
    compiled modules call each other directly, past any patch, so these run only where pages
    are read by the Python sources (``nox -s tests`` runs them again under
    VOIDX_PURE_PYTHON=1)."""
    from voidx.extract import NATIVE_STATUS

    if item.get_closest_marker("pure_python") and NATIVE_STATUS.startswith("compiled"):
        pytest.skip("patches the extractor's modules: run under VOIDX_PURE_PYTHON=1")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(n_products=N_PRODUCTS, seed=7)


@pytest.fixture(scope="session")
def _shop_server(catalog: Catalog) -> Iterator[DemoShopServer]:
    with DemoShopServer(ShopSite(catalog, day=1)) as server:
        yield server


@pytest.fixture
def shop(_shop_server: DemoShopServer) -> DemoShopServer:
    """The shared demo shop, reset to day 1 with its hit counter cleared."""
    _shop_server.site.day = 1
    _shop_server.reset_hits()
    return _shop_server


def project_config(shop_url: str, **crawl: Any) -> str:
    crawl_lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in
                          {"concurrency": 8, **crawl}.items())
    return rf'''
[crawl]
{crawl_lines}
[[sources]]
name = "shop"
start_urls = ["{shop_url}/"]
allow = ["/category/", "/product/"]

[sources.selectors]
name = "h1.product-title"
price = ".product-main .price"
sku = {{ css = ".sku", regex = 'SKU:\s*(\S+)' }}
availability = ".product-main .stock"
brand = ".product-main a.brand"
gtin = {{ css = ".product-main .gtin", regex = '(\d{{8,14}})' }}
category = "nav.breadcrumbs a:nth-of-type(2)"
rating = ".product-main .rating@data-rating"
review_count = {{ css = ".product-main .review-count", regex = '(\d+)' }}
'''


@pytest.fixture
def project(tmp_path: Path, shop: DemoShopServer) -> Path:
    (tmp_path / "voidx.toml").write_text(project_config(shop.url), encoding="utf-8")
    return tmp_path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.runner = CliRunner()

    def __call__(self, *args: str) -> CliResult:
        argv = hoist_global_options(["--project", str(self.project), *args])
        result = self.runner.invoke(app, argv)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str) -> Any:
        result = self("--json", *args)
        assert result.exit_code == 0, result.stderr + result.stdout
        return result.json()


@pytest.fixture
def cli(project: Path) -> Cli:
    return Cli(project)


def voidx_process(project: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """The real command in its own process (for kill -9 and exit-code tests)."""
    return subprocess.Popen([sys.executable, "-m", "voidx", "--project", str(project), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def before_each_page(monkeypatch: pytest.MonkeyPatch, before: Callable[[str], None]) -> None:
    """The workers' page reader calls ``before(url)`` as each page's reading starts (to make
    a page crash its worker, hang or take its time), the pages then read one by one; forked
    workers inherit it."""
    from voidx.extract import workers

    real = workers.extract_pages

    def reader(pages: Any, *, beat: Callable[[float], None] | None = None,
               **kwargs: Any) -> Any:
        out = []
        for page in pages:
            if beat is not None:
                beat(0.0)  # (a page's reading starts: the watchdog's clock for it too)
            before(page[1])
            out.extend(real([page], beat=beat, **kwargs))
        return out

    monkeypatch.setattr(workers, "extract_pages", reader)
