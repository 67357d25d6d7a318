"""The bundled demo shop: a local e-commerce site with changing prices, for tests, demos and benchmarks."""

from __future__ import annotations

from voidx.demo.catalog import Catalog, Offer, Product
from voidx.demo.server import DemoShopServer
from voidx.demo.site import ShopSite

__all__ = ["Catalog", "DemoShopServer", "Offer", "Product", "ShopSite", "start_demo_shop"]


def start_demo_shop(n_products: int = 300, day: int = 1, port: int = 0, seed: int = 7) -> DemoShopServer:
    """Build a catalog and start serving it on 127.0.0.1 in the background; ``.site.day`` moves time."""
    site = ShopSite(Catalog(n_products=n_products, seed=seed), day=day)
    return DemoShopServer(site, port=port).start()
