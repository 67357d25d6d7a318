"""Renders the demo shop's pages from a Catalog, without sockets: request in, response out.

Stable markup for user-configured selectors (identical on all three product templates;
only the "plain" template has no JSON-LD, microdata or OpenGraph at all):

    div.product-main           the product itself (related products live outside it)
    h1.product-title           name
    a.brand                    brand
    span.price                 current price, "$1,299.00" ("Call for price" with .price-call)
    del.price-was              regular price, only while on sale
    div.sku                    "SKU: NOR-LA00042"
    div.gtin                   "EAN: 4012345000423"
    p.stock                    .in-stock "In stock" | .out-of-stock "Out of stock" |
                               .preorder "Pre-order"
    div.rating                 data-rating="4.5"; span.review-count "123 reviews"
    nav.breadcrumbs a          Home > category
    section.related .price     prices of OTHER products (the trap for naive extraction)

Listing pages: li.product-card > h3.product-name a, span.price; nav.pagination a[rel=next].
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import parse_qs, quote_plus, unquote, urlsplit

from voidx.demo.catalog import Catalog, Offer, Product

__all__ = ["SHOP_NAME", "ShopSite"]

SHOP_NAME = "Voidx Demo Shop"
_DAY_ONE = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
_CACHE_MAX_BYTES = 64 * 1024 * 1024

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
JSON = "application/json"
JS = "application/javascript; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
_SCHEMA_AVAILABILITY = {
    "in_stock": "https://schema.org/InStock",
    "out_of_stock": "https://schema.org/OutOfStock",
    "preorder": "https://schema.org/PreOrder",
}
_OG_AVAILABILITY = {"in_stock": "instock", "out_of_stock": "oos", "preorder": "preorder"}
_STOCK_LINE = {
    "in_stock": '<p class="stock in-stock">In stock</p>',
    "out_of_stock": '<p class="stock out-of-stock">Out of stock</p>',
    "preorder": '<p class="stock preorder">Pre-order</p>',
}
_CART_BUTTON = {
    "in_stock": '<button class="add-to-cart" type="submit">Add to cart</button>',
    "out_of_stock": '<button class="add-to-cart" type="submit" disabled>Out of stock</button>',
    "preorder": '<button class="add-to-cart" type="submit">Pre-order now</button>',
}
_TRACKING = "?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=weekly"

Response = tuple[int, dict[str, str], bytes]


class _Page(NamedTuple):
    status: int
    content_type: str
    body: bytes
    modified_day: int  # the day whose date is sent as Last-Modified
    cacheable: bool = True
    location: str | None = None


def _tiny_jpeg() -> bytes:
    """A valid 1x1 grey baseline JPEG: every product image, 159 bytes."""

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15) + b"\x00"
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)
        + segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code)
        + segment(0xC4, b"\x10" + one_code)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f\xff\xd9"
    )


_JPEG = _tiny_jpeg()

_CSS = b"""body{font-family:system-ui,sans-serif;margin:0;color:#222}
.site-header,.site-footer{background:#f4f4f4;padding:1em}
.main-nav ul{list-style:none;display:flex;gap:1em;padding:0;flex-wrap:wrap}
.product-grid{list-style:none;display:grid;grid-template-columns:repeat(4,1fr);gap:1em;padding:0}
.price{font-weight:bold}.price-was{color:#888}.out-of-stock{color:#b00}
main{padding:1em}
"""

_APP_JS = b"""// App-exclusive section: everything below exists only once this script runs.
(function () {
  "use strict";
  var root = document.getElementById("root");
  var symbols = { USD: "$", EUR: "\\u20ac", GBP: "\\u00a3" };

  function money(price, currency) {
    if (price === null) return "Call for price";
    return (symbols[currency] || currency + " ") + price.toLocaleString("en-US",
      { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderList(data) {
    root.appendChild(el("h1", "page-title", "App exclusives"));
    var list = el("ul", "product-grid");
    data.products.forEach(function (p) {
      var card = el("li", "product-card");
      var title = el("h3", "product-name");
      var link = el("a", "", p.name);
      link.href = p.url;
      title.appendChild(link);
      card.appendChild(title);
      card.appendChild(el("span", "price", money(p.price, p.currency)));
      list.appendChild(card);
    });
    root.appendChild(list);
  }

  function renderProduct(p) {
    document.title = p.name + " | Voidx Demo Shop";
    var main = el("div", "product-main");
    main.appendChild(el("h1", "product-title", p.name));
    main.appendChild(el("a", "brand", p.brand));
    main.appendChild(el("span", "price", money(p.price, p.currency)));
    main.appendChild(el("div", "sku", "SKU: " + p.sku));
    main.appendChild(el("p", "description", p.description));
    root.appendChild(main);
    var ld = el("script");
    ld.type = "application/ld+json";
    ld.textContent = JSON.stringify(p.jsonld);
    document.head.appendChild(ld);
  }

  function fail(message) {
    root.appendChild(el("p", "error", message));
  }

  function load(url, render) {
    fetch(url)
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(render)
      .catch(function (e) { fail("Could not load: " + e.message); });
  }

  var match = location.pathname.match(/^\\/app\\/product\\/([^\\/]+)$/);
  if (match) load("/api/products/" + match[1] + ".json", renderProduct);
  else load("/api/products.json?section=app", renderList);
})();
"""


@functools.lru_cache(maxsize=1 << 16)
def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _money(price: float, currency: str) -> str:
    return f"{_SYMBOLS.get(currency, currency + ' ')}{price:,.2f}"


def _http_date(day: int) -> str:
    return format_datetime(_DAY_ONE + timedelta(days=day - 1), usegmt=True)


def _iso_date(day: int) -> str:
    return (_DAY_ONE + timedelta(days=day - 1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _json_script(data: object) -> str:
    # "</" inside a script element would end it early.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/")


class ShopSite:
    """The demo shop's pages and files for one catalog; set ``day`` to move time forward."""

    def __init__(self, catalog: Catalog, day: int = 1, page_size: int = 24) -> None:
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.catalog = catalog
        self.day = day
        self.page_size = page_size
        self._listed: dict[str, list[Product]] = {c: catalog.in_category(c) for c in catalog.categories}
        self._js: dict[str, Product] = {p.slug: p for p in catalog.js_products}
        self._rank: dict[int, int] = {
            p.id: i for products in self._listed.values() for i, p in enumerate(products)
        }
        self._cache: dict[tuple[int, str, str], tuple[int, dict[str, str], bytes]] = {}
        self._cache_bytes = 0
        self._dates: dict[int, str] = {}
        self._cards: dict[tuple[int, int, str | None], str] = {}
        self._cards_day = day
        nav = "".join(
            f'<li><a href="/category/{c}">{_esc(catalog.category_name(c))}</a></li>'
            for c in catalog.categories
        )
        self._nav = nav + '<li><a href="/app/">App exclusives</a></li>'
        self._routes: dict[str, Callable[[str, str, int], _Page]] = {
            "/": self._home,
            "/robots.txt": self._robots,
            "/sitemap.xml": self._sitemap_index,
            "/sitemap-products.xml": self._sitemap_products,
            "/sitemap-products.xml.gz": self._sitemap_products_gz,
            "/sitemap-categories.xml": self._sitemap_categories,
            "/about": self._about,
            "/contact": self._contact,
            "/cart": self._cart,
            "/account/login": self._login,
            "/app/": self._app_shell,
            "/static/app.js": lambda q, h, d: _Page(200, JS, _APP_JS, 1),
            "/static/shop.css": lambda q, h, d: _Page(200, "text/css; charset=utf-8", _CSS, 1),
            "/api/products.json": self._api_products,
        }

    @property
    def day(self) -> int:
        """The shop's current day (1-based): prices and stock are those of this day."""
        return self._day

    @day.setter
    def day(self, value: int) -> None:
        if value < 1:
            raise ValueError("day must be >= 1")
        self._day = value

    def crawlable_paths(self) -> list[str]:
        """Every page a polite crawler can reach from the home page today, in link order."""
        paths = ["/", "/robots.txt", "/sitemap.xml", "/sitemap-products.xml", "/sitemap-categories.xml"]
        for category, products in self._listed.items():
            pages = max(1, -(-len(products) // self.page_size))
            paths.append(f"/category/{category}")
            paths += [f"/category/{category}?page={n}" for n in range(2, pages + 1)]
        paths += [f"/product/{p.slug}" for products in self._listed.values() for p in products]
        paths += ["/about", "/contact", "/app/", *(f"/app/product/{slug}" for slug in self._js)]
        return paths

    # -- entry point --------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str]) -> Response:
        """Answer one request: (status, response headers, body). Header names: any case."""
        low = {k.lower(): v for k, v in headers.items()}
        if method not in ("GET", "HEAD"):
            body = self._layout("Method not allowed", "<h1>Method not allowed</h1>", "/").encode()
            hdrs = {"Content-Type": HTML, "Content-Length": str(len(body)), "Allow": "GET, HEAD"}
            return 405, hdrs, body
        host = low.get("host") or "localhost"
        day = self.day
        key = (day, host, target)
        cached = self._cache.get(key)
        if cached is None:
            page = self._page(target, host, day)
            cached = self._response(page)
            if page.cacheable:
                self._remember(key, cached)
        status, hdrs, body = cached
        if status == 200 and self._not_modified(low, hdrs):
            return 304, {"ETag": hdrs["ETag"], "Last-Modified": hdrs["Last-Modified"]}, b""
        return status, dict(hdrs), b"" if method == "HEAD" else body

    def _remember(self, key: tuple[int, str, str], response: tuple[int, dict[str, str], bytes]) -> None:
        size = len(response[2]) + 300
        if self._cache_bytes + size > _CACHE_MAX_BYTES:
            self._cache.clear()
            self._cache_bytes = 0
        self._cache[key] = response
        self._cache_bytes += size

    @staticmethod
    def _not_modified(low: dict[str, str], hdrs: dict[str, str]) -> bool:
        inm = low.get("if-none-match")
        if inm is not None:
            etag = hdrs["ETag"]
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = low.get("if-modified-since")
        if ims is None:
            return False
        try:
            since = parsedate_to_datetime(ims)
            modified = parsedate_to_datetime(hdrs["Last-Modified"])
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and modified <= since

    def _page(self, target: str, host: str, day: int) -> _Page:
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            path, query = parts.path or "/", parts.query
        else:
            path, _, query = target.partition("?")
        return self._route(unquote(path), query, host, day)

    def _response(self, page: _Page) -> tuple[int, dict[str, str], bytes]:
        modified = self._dates.get(page.modified_day)
        if modified is None:
            modified = self._dates[page.modified_day] = _http_date(page.modified_day)
        hdrs = {
            "Content-Type": page.content_type,
            "Content-Length": str(len(page.body)),
            "ETag": _etag(page.body),
            "Last-Modified": modified,
        }
        if page.location is not None:
            hdrs["Location"] = page.location
        return page.status, hdrs, page.body

    def _route(self, path: str, query: str, host: str, day: int) -> _Page:
        route = self._routes.get(path)
        if route is not None:
            return route(query, host, day)
        if path.startswith("/product/"):
            return self._product(path[9:], host, day)
        if path.startswith("/category/"):
            return self._category(path[10:], query, host, day)
        if path.startswith("/app/product/"):
            return self._app_product_shell(path[13:], host, day)
        if path.startswith("/api/products/") and path.endswith(".json"):
            return self._api_product(path[14:-5], host, day)
        if path == "/search":
            return self._search(query, day)
        if path == "/app":
            return _Page(301, HTML, b"", 1, location="/app/")
        if path.startswith("/static/") and path.endswith(".jpg"):
            return _Page(200, "image/jpeg", _JPEG, 1)
        return self._not_found()

    # -- layout -------------------------------------------------------------------------

    def _layout(self, title: str, main: str, canonical: str, head: str = "", host: str = "") -> str:
        link = f'<link rel="canonical" href="http://{_esc(host)}{canonical}">\n' if host else ""
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)} | {SHOP_NAME}</title>
{link}<link rel="stylesheet" href="/static/shop.css">
{head}</head>
<body>
<header class="site-header">
<a class="logo" href="/">{SHOP_NAME}</a>
<nav class="main-nav"><ul>{self._nav}</ul></nav>
<form class="search" action="/search" method="get"><input type="search" name="q" placeholder="Search products"></form>
<a class="cart-link" href="/cart">Cart (0)</a> <a class="account-link" href="/account/login">Sign in</a>
</header>
<main id="content">
{main}
</main>
<footer class="site-footer">
<ul class="footer-links"><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li><li><a href="/cart">Cart</a></li><li><a href="/account/login">My account</a></li></ul>
<p>&copy; 2026 {SHOP_NAME}. All prices include VAT where applicable.</p>
</footer>
</body>
</html>
"""

    def _html(self, title: str, main: str, canonical: str, host: str, day: int, head: str = "") -> _Page:
        return _Page(200, HTML, self._layout(title, main, canonical, head, host).encode(), day)

    def _not_found(self) -> _Page:
        main = '<h1>Page not found</h1>\n<p>Sorry, we could not find that page. <a href="/">Back to the shop</a>.</p>'
        return _Page(404, HTML, self._layout("Page not found", main, "/").encode(), 1, cacheable=False)

    def _price_html(self, offer: Offer, currency: str) -> str:
        if offer.price is None:
            return '<span class="price price-call">Call for price</span>'
        now = f'<span class="price">{_money(offer.price, currency)}</span>'
        if offer.regular_price is not None:
            return f'<del class="price-was">{_money(offer.regular_price, currency)}</del> {now}'
        return now

    def _card(self, p: Product, day: int, image_href: str | None = None) -> str:
        # Each product's card appears on its listing page and as related product on four
        # others: rendering it once per day saves most of a cold product page's time.
        if day != self._cards_day:
            self._cards = {}
            self._cards_day = day
        key = (day, p.id, image_href)
        card = self._cards.get(key)
        if card is None:
            card = self._cards[key] = self._render_card(p, day, image_href)
        return card

    def _render_card(self, p: Product, day: int, image_href: str | None) -> str:
        offer = self.catalog.offer(p, day)
        badge = ""
        if offer.availability == "out_of_stock":
            badge = ' <span class="badge out-of-stock">Out of stock</span>'
        elif offer.availability == "preorder":
            badge = ' <span class="badge preorder">Pre-order</span>'
        elif offer.regular_price is not None:
            badge = ' <span class="badge sale">Sale</span>'
        href = f"/product/{p.slug}"
        name = _esc(p.name)
        return (
            f'<li class="product-card" data-product-id="{p.id}">'
            f'<a class="product-image" href="{image_href or href}"><img src="{p.image}" alt="{name}" width="300" height="300" loading="lazy"></a>'
            f'<h3 class="product-name"><a href="{href}">{name}</a></h3>'
            f'<div class="card-price">{self._price_html(offer, p.currency)}{badge}</div></li>\n'
        )

    # -- pages --------------------------------------------------------------------------

    def _home(self, query: str, host: str, day: int) -> _Page:
        featured = [products[0] for products in self._listed.values() if products][:8]
        cards = "".join(self._card(p, day) for p in featured)
        deal = ""
        if featured:
            p = featured[-1]
            deal = (
                f'<p class="deal-banner">Deal of the day: <a href="/product/{p.slug}?utm_source=homepage&amp;utm_campaign=deal">'
                f"{_esc(p.name)}</a></p>\n"
            )
        categories = "".join(
            f'<li><a href="/category/{c}">{_esc(self.catalog.category_name(c))}</a> ({len(ps)})</li>'
            for c, ps in self._listed.items()
        )
        main = (
            f"<h1>Welcome to the {SHOP_NAME}</h1>\n{deal}"
            f'<section class="featured"><h2>Featured products</h2><ul class="product-grid">\n{cards}</ul></section>\n'
            f'<section class="categories"><h2>Shop by category</h2><ul>{categories}</ul></section>'
        )
        return self._html("Home", main, "/", host, day)

    def _category(self, slug: str, query: str, host: str, day: int) -> _Page:
        products = self._listed.get(slug)
        if products is None:
            return self._not_found()
        page = 1
        if query:
            raw = parse_qs(query).get("page", ["1"])[0]
            if not (raw.isascii() and raw.isdigit()):
                return self._not_found()
            page = int(raw)
        pages = max(1, -(-len(products) // self.page_size))
        if not 1 <= page <= pages:
            return self._not_found()
        start = (page - 1) * self.page_size
        shown = products[start : start + self.page_size]
        # Odd pages send some image links through newsletter tracking parameters.
        cards = "".join(
            self._card(p, day, f"/product/{p.slug}{_TRACKING}" if page % 2 and p.id % 4 == 0 else None)
            for p in shown
        )
        base = f"/category/{slug}"

        def page_url(n: int) -> str:
            return base if n == 1 else f"{base}?page={n}"

        links = []
        head = ""
        if page > 1:
            links.append(f'<a rel="prev" href="{page_url(page - 1)}">Previous</a>')
            head += f'<link rel="prev" href="{page_url(page - 1)}">\n'
        for n in range(1, pages + 1):
            if n == page:
                links.append(f'<span class="current">{n}</span>')
            elif n in (1, pages) or abs(n - page) <= 3:
                links.append(f'<a href="{page_url(n)}">{n}</a>')
            elif n in (2, pages - 1):
                links.append('<span class="gap">&hellip;</span>')
        if page < pages:
            links.append(f'<a rel="next" href="{page_url(page + 1)}">Next</a>')
            head += f'<link rel="next" href="{page_url(page + 1)}">\n'
        name = self.catalog.category_name(slug)
        count = (
            f'<p class="result-count">Showing {start + 1}&ndash;{start + len(shown)} of {len(products)} products</p>'
            if products
            else '<p class="result-count">No products in this category yet.</p>'
        )
        main = (
            f'<nav class="breadcrumbs"><a href="/">Home</a> &rsaquo; <span>{_esc(name)}</span></nav>\n'
            f'<h1 class="page-title">{_esc(name)}</h1>\n{count}\n'
            f'<ul class="product-grid">\n{cards}</ul>\n'
            f'<nav class="pagination">{" ".join(links)}</nav>'
        )
        title = name if page == 1 else f"{name} - page {page}"
        return self._html(title, main, page_url(page), host, day, head)

    def _related(self, p: Product) -> list[Product]:
        siblings = self._listed[p.category]
        i = self._rank[p.id]
        picked = [siblings[(i + k) % len(siblings)] for k in range(1, min(5, len(siblings)))]
        if len(picked) < 4:
            others = [q for q in self.catalog.products if not q.js_only and q.id != p.id and q not in picked]
            picked += others[: 4 - len(picked)]
        return picked

    def _product(self, slug: str, host: str, day: int) -> _Page:
        try:
            p = self.catalog.by_slug(slug)
        except KeyError:
            return self._not_found()
        if p.js_only:
            return self._not_found()
        offer = self.catalog.offer(p, day)
        base = f"http://{host}"
        path = f"/product/{p.slug}"
        category = self.catalog.category_name(p.category)
        micro = p.template == "microdata"
        name, brand = _esc(p.name), _esc(p.brand)

        def prop(field: str) -> str:
            return f' itemprop="{field}"' if micro else ""

        price = self._price_html(offer, p.currency)
        offer_meta = ""
        if micro:
            offer_meta = (
                f'<meta itemprop="priceCurrency" content="{p.currency}">'
                f'<link itemprop="availability" href="{_SCHEMA_AVAILABILITY[offer.availability]}">'
                f'<link itemprop="url" href="{_esc(base)}{path}">'
            )
            if offer.price is not None:
                amount = f"{offer.price:.2f}"
                if p.id % 2:
                    offer_meta += f'<meta itemprop="price" content="{amount}">'
                else:
                    price = price.replace('<span class="price">', f'<span class="price" itemprop="price" content="{amount}">')
        if p.review_count:
            if micro:
                rating = (
                    f'<div class="rating" data-rating="{p.rating}" itemprop="aggregateRating" itemscope itemtype="https://schema.org/AggregateRating">'
                    f'Rated <span itemprop="ratingValue">{p.rating}</span> out of <span itemprop="bestRating">5</span> '
                    f'(<span class="review-count"><span itemprop="reviewCount">{p.review_count}</span> reviews</span>)</div>'
                )
            else:
                rating = (
                    f'<div class="rating" data-rating="{p.rating}">Rated {p.rating} out of 5 '
                    f'(<span class="review-count">{p.review_count} reviews</span>)</div>'
                )
        else:
            rating = '<div class="rating no-reviews">No reviews yet</div>'
        scope = ' itemscope itemtype="https://schema.org/Product"' if micro else ""
        brand_html = (
            f'<div itemprop="brand" itemscope itemtype="https://schema.org/Brand"><a class="brand" href="/search?q={quote_plus(p.brand)}"><span itemprop="name">{brand}</span></a></div>'
            if micro
            else f'<a class="brand" href="/search?q={quote_plus(p.brand)}">{brand}</a>'
        )
        ids = (
            f'<meta itemprop="sku" content="{p.sku}"><meta itemprop="gtin13" content="{p.gtin}"><meta itemprop="category" content="{_esc(category)}">'
            if micro
            else ""
        )
        offers_scope = ' itemprop="offers" itemscope itemtype="https://schema.org/Offer"' if micro else ""
        related = "".join(self._card(q, day) for q in self._related(p))
        if offer.price is None:
            buy = '<a class="contact-for-price" href="/contact">Contact us for a quote</a>'
        else:
            buy = (
                f'<form class="buy" action="/cart" method="post"><input type="hidden" name="sku" value="{p.sku}">'
                f"{_CART_BUTTON[offer.availability]}</form>"
            )
        main = f"""<nav class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/category/{p.category}">{_esc(category)}</a> &rsaquo; <span>{name}</span></nav>
<div class="product-main" data-product-id="{p.id}"{scope}>
<div class="gallery"><img{prop("image")} src="{p.image}" alt="{name}" width="600" height="600"></div>
<div class="details">
<h1 class="product-title"{prop("name")}>{name}</h1>
{brand_html}{ids}
{rating}
<div class="price-box"{offers_scope}>{price}{offer_meta}</div>
{_STOCK_LINE[offer.availability]}
{buy}
<div class="sku">SKU: {p.sku}</div>
<div class="gtin">EAN: {p.gtin}</div>
<div class="description"{prop("description")}><p>{_esc(p.description)}</p></div>
</div>
</div>
<section class="related"><h2>Customers also viewed</h2><ul class="product-grid">
{related}</ul></section>"""
        head = f'<meta name="description" content="{_esc(p.description)}">\n'
        if p.template != "plain":
            head += self._opengraph(p, offer, base, path)
        if p.template == "jsonld":
            data = self._jsonld(p, offer, base, path, graph=p.id % 3 == 0)
            head += f'<script type="application/ld+json">{_json_script(data)}</script>\n'
        return self._html(p.name, main, path, host, day, head)

    @staticmethod
    def _opengraph(p: Product, offer: Offer, base: str, path: str) -> str:
        tags = [
            ("og:type", "product"),
            ("og:title", p.name),
            ("og:url", base + path),
            ("og:image", base + p.image),
            ("og:site_name", SHOP_NAME),
            ("og:description", p.description),
        ]
        if offer.price is not None:
            tags += [("product:price:amount", f"{offer.price:.2f}"), ("product:price:currency", p.currency)]
        tags.append(("product:availability", _OG_AVAILABILITY[offer.availability]))
        return "".join(f'<meta property="{k}" content="{_esc(v)}">\n' for k, v in tags)

    def _jsonld(self, p: Product, offer: Offer, base: str, path: str, graph: bool) -> dict[str, object]:
        offer_ld: dict[str, object] = {
            "@type": "Offer",
            "url": base + path,
            "priceCurrency": p.currency,
            "availability": _SCHEMA_AVAILABILITY[offer.availability],
            "itemCondition": "https://schema.org/NewCondition",
        }
        if offer.price is not None:
            # Real sites disagree on the type; extractors must take both.
            offer_ld["price"] = f"{offer.price:.2f}" if p.id % 2 == 0 else offer.price
        product: dict[str, object] = {
            "@type": "Product",
            "@id": f"{base}{path}#product",
            "name": p.name,
            "sku": p.sku,
            "gtin13": p.gtin,
            "brand": {"@type": "Brand", "name": p.brand},
            "image": base + p.image,
            "description": p.description,
            "category": self.catalog.category_name(p.category),
            "offers": offer_ld,
        }
        if p.review_count:
            product["aggregateRating"] = {
                "@type": "AggregateRating",
                "ratingValue": p.rating,
                "reviewCount": p.review_count,
                "bestRating": 5,
            }
        if not graph:
            return {"@context": "https://schema.org", **product}
        crumbs = [
            ("Home", base + "/"),
            (self.catalog.category_name(p.category), f"{base}/category/{p.category}"),
            (p.name, base + path),
        ]
        return {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "Organization", "@id": base + "/#org", "name": SHOP_NAME, "url": base + "/"},
                {
                    "@type": "BreadcrumbList",
                    "itemListElement": [
                        {"@type": "ListItem", "position": i, "name": n, "item": u}
                        for i, (n, u) in enumerate(crumbs, start=1)
                    ],
                },
                product,
            ],
        }

    def _search(self, query: str, day: int) -> _Page:
        q = parse_qs(query).get("q", [""])[0].strip()
        hits = [p for p in self.catalog.products if not p.js_only and q.lower() in p.name.lower()] if q else []
        cards = "".join(self._card(p, day) for p in hits[: self.page_size])
        main = (
            f'<h1>Search results for &ldquo;{_esc(q)}&rdquo;</h1>\n<p class="result-count">{len(hits)} results</p>\n'
            f'<ul class="product-grid">\n{cards}</ul>'
        )
        return _Page(200, HTML, self._layout("Search", main, "/search").encode(), day, cacheable=False)

    def _about(self, query: str, host: str, day: int) -> _Page:
        main = (
            f"<h1>About us</h1>\n<p>{SHOP_NAME} has sold electronics, home and leisure goods since 2011. "
            "Prices change often: check back daily for deals.</p>"
        )
        return self._html("About us", main, "/about", host, 1)

    def _contact(self, query: str, host: str, day: int) -> _Page:
        main = (
            "<h1>Contact</h1>\n<p>Customer service: <a href=\"mailto:help@shop.example\">help@shop.example</a>, "
            "Monday to Friday 9:00-17:00.</p>\n<address>1 Harbour Road, Example City</address>"
        )
        return self._html("Contact", main, "/contact", host, 1)

    def _cart(self, query: str, host: str, day: int) -> _Page:
        main = '<h1>Your cart</h1>\n<p class="cart-empty">Your cart is empty.</p>\n<a href="/">Continue shopping</a>'
        return self._html("Cart", main, "/cart", host, 1)

    def _login(self, query: str, host: str, day: int) -> _Page:
        main = (
            '<h1>Sign in</h1>\n<form class="login" action="/account/login" method="post">'
            '<label>E-mail <input type="email" name="email"></label> '
            '<label>Password <input type="password" name="password"></label> '
            '<button type="submit">Sign in</button></form>'
        )
        return self._html("Sign in", main, "/account/login", host, 1)

    # -- JavaScript-only section --------------------------------------------------------

    def _shell(self, title: str, canonical: str, host: str) -> _Page:
        main = '<div id="root"></div>\n<noscript>This section of the shop needs JavaScript.</noscript>\n<script src="/static/app.js" defer></script>'
        return self._html(title, main, canonical, host, 1)

    def _app_shell(self, query: str, host: str, day: int) -> _Page:
        return self._shell("App exclusives", "/app/", host)

    def _app_product_shell(self, slug: str, host: str, day: int) -> _Page:
        if slug not in self._js:
            return self._not_found()
        return self._shell("App exclusive", f"/app/product/{slug}", host)

    def _api_item(self, p: Product, day: int) -> dict[str, object]:
        offer = self.catalog.offer(p, day)
        return {
            "slug": p.slug,
            "name": p.name,
            "url": f"/app/product/{p.slug}",
            "price": offer.price,
            "currency": p.currency,
            "availability": offer.availability,
            "image": p.image,
        }

    def _api_products(self, query: str, host: str, day: int) -> _Page:
        if parse_qs(query).get("section", [""])[0] != "app":
            body = json.dumps({"error": "unknown section; try ?section=app"}).encode()
            return _Page(404, JSON, body, 1, cacheable=False)
        items = [self._api_item(p, day) for p in self._js.values()]
        return _Page(200, JSON, json.dumps({"section": "app", "products": items}).encode(), day)

    def _api_product(self, slug: str, host: str, day: int) -> _Page:
        p = self._js.get(slug)
        if p is None:
            return _Page(404, JSON, json.dumps({"error": "no such product"}).encode(), 1, cacheable=False)
        offer = self.catalog.offer(p, day)
        item = self._api_item(p, day)
        item |= {
            "brand": p.brand,
            "sku": p.sku,
            "gtin": p.gtin,
            "category": self.catalog.category_name(p.category),
            "description": p.description,
            "rating": p.rating if p.review_count else None,
            "review_count": p.review_count,
            "jsonld": self._jsonld(p, offer, f"http://{host}", f"/app/product/{p.slug}", graph=False),
        }
        return _Page(200, JSON, json.dumps(item).encode(), day)

    # -- crawler files ------------------------------------------------------------------

    def _robots(self, query: str, host: str, day: int) -> _Page:
        body = (
            "User-agent: *\nDisallow: /cart\nDisallow: /account/\nDisallow: /search\n\n"
            f"Sitemap: http://{host}/sitemap.xml\n"
        )
        return _Page(200, TEXT, body.encode(), 1)

    def _sitemap_index(self, query: str, host: str, day: int) -> _Page:
        entries = "".join(
            f"<sitemap><loc>http://{_esc(host)}{path}</loc><lastmod>{_iso_date(day)}</lastmod></sitemap>\n"
            for path in ("/sitemap-products.xml", "/sitemap-categories.xml")
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</sitemapindex>\n'
        )
        return _Page(200, XML, body.encode(), day)

    @staticmethod
    def _urlset(host: str, entries: list[tuple[str, int]]) -> bytes:
        urls = "".join(
            f"<url><loc>http://{_esc(host)}{path}</loc><lastmod>{_iso_date(d)}</lastmod></url>\n"
            for path, d in entries
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
        ).encode()

    def _sitemap_products(self, query: str, host: str, day: int) -> _Page:
        entries = [
            (f"/product/{p.slug}", self.catalog.last_changed_day(p, day))
            for products in self._listed.values()
            for p in products
        ]
        return _Page(200, XML, self._urlset(host, entries), day)

    def _sitemap_products_gz(self, query: str, host: str, day: int) -> _Page:
        body = self._sitemap_products(query, host, day).body
        return _Page(200, "application/gzip", gzip.compress(body, mtime=0), day)

    def _sitemap_categories(self, query: str, host: str, day: int) -> _Page:
        entries = [("/", day)] + [(f"/category/{c}", day) for c in self.catalog.categories]
        return _Page(200, XML, self._urlset(host, entries), day)
