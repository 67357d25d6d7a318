"""Shared benchmark helper: the demo shop served from its own process, pages pre-rendered.

A separate process keeps the shop from competing for the GIL with the client being measured;
``warm_up()`` runs before the URL is reported, so every contender meets the same cached server.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request

__all__ = ["start_shop_process", "stop"]

_CHILD = """
import sys
from voidx.demo import Catalog, DemoShopServer, ShopSite

n_products, latency_s = int(sys.argv[1]), float(sys.argv[2])
site = ShopSite(Catalog(n_products=n_products, seed=7), day=1)


def ready(server):
    server.warm_up()
    print(server.url, flush=True)


DemoShopServer(site, port=0, latency_s=latency_s).serve_forever(on_ready=ready)
"""


def start_shop_process(n_products: int, latency_s: float = 0.0,
                       timeout_s: float = 300.0) -> tuple[subprocess.Popen[str], str]:
    """Start the demo shop (seed 7, day 1) in a child process; returns it and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(n_products), str(latency_s)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    # The child prints its URL only once it listens and has rendered every page.
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        stop(proc)
        raise RuntimeError(f"demo shop did not start (exit code {proc.returncode})")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url + "/robots.txt", timeout=5) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                stop(proc)
                raise RuntimeError(f"demo shop at {url} does not answer") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop the shop (SIGTERM, then SIGKILL after 10 s) and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        with contextlib.suppress(OSError):
            proc.stdout.close()
