"""Rendering pages in Chromium through Playwright, for pages whose content needs JavaScript.

The system browser is used (``/usr/bin/chromium`` by default); nothing is downloaded. A pool
of pages renders concurrently; images, fonts and media are not loaded.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from voidx.collect.fetch import FetchResult
from voidx.errors import UsageError

BLOCKED_RESOURCES = frozenset({"image", "font", "media"})
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]
_SHELL_ROOT = re.compile(r'<div[^>]+id=["\'](?:root|app|__next|__nuxt|main-app)["\'][^>]*>\s*</div>',
                         re.I)


INSTALL_HINT = ("install it (Debian/Ubuntu: `apt-get install chromium`) or set [crawl] "
                "browser_path to a Chromium/Chrome executable")


def find_browser(configured: str | None) -> str:
    """The browser to drive: the configured one, else the system's Chromium."""
    if configured:
        if Path(configured).exists():
            return configured
        raise UsageError(f"browser_path {configured!r} does not exist: {INSTALL_HINT}")
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    raise UsageError(f"rendering with a browser needs Chromium: {INSTALL_HINT}")


def needs_browser(html: bytes) -> bool:
    """True for an app shell: a page whose HTML carries scripts but almost no content."""
    text = html[:400_000].decode("utf-8", "replace")
    if _SHELL_ROOT.search(text):
        return True
    tree = LexborHTMLParser(text)
    body = tree.body
    if body is None:
        return False
    has_script = tree.css_first("script[src], script") is not None
    for node in body.css("script, style, noscript, template"):
        node.decompose()
    visible = body.text(deep=True, separator=" ").split()
    return has_script and len(visible) < 40


class BrowserFetcher:
    """Renders URLs with a pool of Chromium pages; start() before use, aclose() after."""

    def __init__(self, *, executable: str | None, user_agent: str, pages: int = 4,
                 timeout_s: float = 30.0, wait: str = "networkidle",
                 wait_for: str | None = None) -> None:
        self.executable = find_browser(executable)
        self.user_agent = user_agent
        self.size = max(1, pages)
        self.timeout_ms = timeout_s * 1000
        self.wait = wait
        self.wait_for = wait_for
        self._playwright: Any = None
        self._browser: Any = None
        self._pool: asyncio.Queue[Any] = asyncio.Queue()
        self._lock = asyncio.Lock()

    async def _start(self) -> None:
        async with self._lock:
            if self._browser is not None:
                return
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                raise UsageError("render = \"browser\" needs Playwright: "
                                 "pip install 'voidx[browser]'") from None
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable, headless=True, args=CHROMIUM_ARGS)
            context = await self._browser.new_context(user_agent=self.user_agent,
                                                      service_workers="block")
            await context.route("**/*", _block_heavy)
            for _ in range(self.size):
                self._pool.put_nowait(await context.new_page())

    async def fetch(self, url: str) -> FetchResult:
        await self._start()
        page = await self._pool.get()
        started = time.perf_counter()
        try:
            response = await page.goto(url, wait_until=self.wait, timeout=self.timeout_ms)
            if self.wait_for:
                await page.wait_for_selector(self.wait_for, timeout=self.timeout_ms)
            html = await page.content()
            status = response.status if response is not None else 200
            headers = dict(response.headers) if response is not None else {}
            headers["content-type"] = "text/html; charset=utf-8"
            result = FetchResult(url, page.url, status, headers=headers,
                                 body=html.encode("utf-8"), renderer="browser")
            if status >= 400:
                result.error = f"HTTP {status}"
        except Exception as exc:  # Playwright's TimeoutError and navigation errors
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            result = FetchResult(url, url, None, error=f"browser: {message}", transient=True,
                                 renderer="browser")
        finally:
            self._pool.put_nowait(page)
        result.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return result

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None


async def _block_heavy(route: Any) -> None:
    if route.request.resource_type in BLOCKED_RESOURCES:
        await route.abort()
    else:
        await route.continue_()
