"""Run the demo shop in the foreground: ``python -m voidx.demo --port 8000``."""

from __future__ import annotations

import argparse
import sys

from voidx.demo import Catalog, DemoShopServer, ShopSite


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m voidx.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--day", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each response")
    args = parser.parse_args(argv)
    site = ShopSite(Catalog(n_products=args.products, seed=args.seed), day=args.day)
    server = DemoShopServer(site, host=args.host, port=args.port, latency_s=args.latency)
    server.serve_forever(lambda s: print(f"Demo shop on {s.url} (Ctrl-C stops)", file=sys.stderr))


if __name__ == "__main__":
    main()
