"""Tests of the bundled demo shop: its catalog, its pages and its HTTP server, over real loopback."""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import time
from collections.abc import Iterator
from xml.etree import ElementTree

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from voidx.demo import Catalog, DemoShopServer, Product, ShopSite, start_demo_shop

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


# These override conftest's shared 120-product shop: the assertions below are about the
# 300-product catalog that demos and benchmarks use.
@pytest.fixture(scope="module")
def shop() -> Iterator[DemoShopServer]:
    server = start_demo_shop(n_products=300)
    yield server
    server.stop()


@pytest.fixture
def client(shop: DemoShopServer) -> Iterator[httpx.Client]:
    shop.site.day = 1
    with httpx.Client(base_url=shop.url, timeout=10) as c:
        yield c
    shop.site.day = 1


@pytest.fixture(scope="module")
def catalog(shop: DemoShopServer) -> Catalog:
    return shop.site.catalog


def _gtin_ok(gtin: str) -> bool:
    digits = [int(d) for d in gtin]
    weighted = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return len(gtin) == 13 and (10 - weighted % 10) % 10 == digits[12]


def _money(price: float, currency: str) -> str:
    return {"USD": "$", "EUR": "€", "GBP": "£"}[currency] + f"{price:,.2f}"


def _listed(catalog: Catalog, template: str | None = None) -> list[Product]:
    return [p for p in catalog.products if not p.js_only and template in (None, p.template)]


def _jsonld_product(page: HTMLParser) -> dict[str, object]:
    scripts = page.css('script[type="application/ld+json"]')
    assert len(scripts) == 1
    data = json.loads(scripts[0].text())
    items = data.get("@graph", [data])
    products = [item for item in items if item["@type"] == "Product"]
    assert len(products) == 1
    product: dict[str, object] = products[0]
    return product


def _raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# -- catalog ------------------------------------------------------------------------------


def test_catalog_is_deterministic() -> None:
    a, b = Catalog(300, seed=7), Catalog(300, seed=7)
    assert a.products == b.products
    for p in a.products[:80]:
        assert [a.offer(p, d) for d in range(1, 11)] == [b.offer(p, d) for d in range(1, 11)]
    # Asking for a later day first must not change earlier days.
    c = Catalog(300, seed=7)
    p = c.products[17]
    late = c.offer(p, 40)
    assert [c.offer(p, d) for d in range(1, 11)] == [a.offer(a.products[17], d) for d in range(1, 11)]
    assert late == a.offer(a.products[17], 40)
    assert Catalog(300, seed=8).products != a.products


def test_catalog_products_are_plausible() -> None:
    catalog = Catalog(300)
    products = catalog.products
    assert len(products) == 300
    assert 8 <= len(catalog.categories) <= 12
    assert {p.category for p in products} == set(catalog.categories)
    assert all(_gtin_ok(p.gtin) for p in products)
    for field in ("slug", "sku", "gtin"):
        assert len({getattr(p, field) for p in products}) == 300
    assert {p.currency for p in products} == {"USD", "EUR", "GBP"}
    assert sum(p.currency == "USD" for p in products) > 200
    templates = {t: sum(p.template == t for p in products) for t in ("jsonld", "microdata", "plain")}
    assert templates["jsonld"] > templates["microdata"] > templates["plain"] >= 30
    assert 1 <= sum(p.js_only for p in products) <= 10
    for p in products:
        assert catalog.by_slug(p.slug) is p
        assert p.name.startswith(p.brand) or p.category == "books"
        assert p.description.count(".") >= 2
        assert 0.99 <= p.base_price <= 2499.0
        assert round(p.base_price, 2) == p.base_price
        assert p.image.endswith(".jpg")
    assert Catalog(10_000).products[-1].id == 9999


def test_most_prices_stay_the_same_from_day_to_day() -> None:
    catalog = Catalog(300)
    for day in range(2, 6):
        changed = sum(catalog.offer(p, day).price != catalog.offer(p, day - 1).price for p in catalog.products)
        assert 5 <= changed <= 60, (day, changed)


def test_designed_price_and_stock_events_happen_in_five_days() -> None:
    catalog = Catalog(300)
    drops = spikes = restocks = 0
    for p in catalog.products:
        offers = [catalog.offer(p, d) for d in range(1, 6)]
        for before, after in itertools.pairwise(offers):
            if before.price and after.price:
                drops += after.price <= before.price * 0.8
                spikes += after.price >= before.price * 1.2
        stock = [o.availability for o in offers]
        if "out_of_stock" in stock and "in_stock" in stock[stock.index("out_of_stock") :]:
            restocks += 1
        for o in offers:
            assert o.availability in ("in_stock", "out_of_stock", "preorder")
            if o.price is not None:
                assert round(o.price, 2) == o.price and o.price > 0
            if o.regular_price is not None:
                assert o.price is not None and o.regular_price > o.price
    assert drops >= 1 and spikes >= 1 and restocks >= 1
    no_price = [p for p in catalog.products if catalog.offer(p, 1).price is None]
    assert no_price
    assert all(catalog.offer(p, d).price is None for p in no_price for d in range(1, 8))
    assert any(catalog.offer(p, 1).availability == "preorder" for p in catalog.products)


def test_offer_rejects_day_zero() -> None:
    catalog = Catalog(10)
    with pytest.raises(ValueError):
        catalog.offer(catalog.products[0], 0)


def test_expected_record_matches_offer_and_product() -> None:
    catalog = Catalog(300)
    p = _listed(catalog)[3]
    offer = catalog.offer(p, 4)
    record = catalog.expected_record(p, 4)
    assert record == {
        "url": f"/product/{p.slug}",
        "name": p.name,
        "price": offer.price,
        "currency": p.currency,
        "availability": offer.availability,
        "sku": p.sku,
        "gtin": p.gtin,
        "brand": p.brand,
        "category": catalog.category_name(p.category),
        "rating": p.rating if p.review_count else None,
        "review_count": p.review_count,
    }
    js = next(p for p in catalog.products if p.js_only)
    assert catalog.expected_record(js, 1)["url"] == f"/app/product/{js.slug}"


# -- product pages ------------------------------------------------------------------------


def test_jsonld_pages_carry_the_expected_record(client: httpx.Client, catalog: Catalog, shop: DemoShopServer) -> None:
    graphs = string_prices = number_prices = 0
    for p in _listed(catalog, "jsonld"):
        r = client.get(f"/product/{p.slug}")
        assert r.status_code == 200
        page = HTMLParser(r.text)
        graphs += '"@graph"' in r.text
        ld = _jsonld_product(page)
        expected = catalog.expected_record(p, 1)
        assert ld["name"] == expected["name"]
        assert ld["sku"] == expected["sku"]
        assert ld["gtin13"] == expected["gtin"]
        assert ld["brand"] == {"@type": "Brand", "name": expected["brand"]}
        assert ld["category"] == expected["category"]
        offers = ld["offers"]
        assert isinstance(offers, dict)
        assert offers["priceCurrency"] == expected["currency"]
        assert offers["availability"] == {
            "in_stock": "https://schema.org/InStock",
            "out_of_stock": "https://schema.org/OutOfStock",
            "preorder": "https://schema.org/PreOrder",
        }[str(expected["availability"])]
        assert offers["url"] == f"{shop.url}/product/{p.slug}"
        if expected["price"] is None:
            assert "price" not in offers
        else:
            string_prices += isinstance(offers["price"], str)
            number_prices += isinstance(offers["price"], float)
            assert float(offers["price"]) == expected["price"]
            og = {m.attributes["property"]: m.attributes["content"] for m in page.css("meta[property]")}
            assert og["og:type"] == "product"
            assert og["og:title"] == p.name
            assert og["product:price:amount"] == f"{expected['price']:.2f}"
            assert og["product:price:currency"] == p.currency
        if p.review_count:
            assert ld["aggregateRating"] == {
                "@type": "AggregateRating",
                "ratingValue": p.rating,
                "reviewCount": p.review_count,
                "bestRating": 5,
            }
    assert graphs >= 10 and string_prices >= 10 and number_prices >= 10


def test_microdata_pages_carry_the_expected_record(client: httpx.Client, catalog: Catalog) -> None:
    for p in _listed(catalog, "microdata"):
        r = client.get(f"/product/{p.slug}")
        page = HTMLParser(r.text)
        expected = catalog.expected_record(p, 1)
        assert "application/ld+json" not in r.text
        scope = page.css_first('[itemscope][itemtype="https://schema.org/Product"]')
        assert scope is not None
        assert scope.css_first('[itemprop="name"]').text() == p.name  # type: ignore[union-attr]
        assert scope.css_first('meta[itemprop="sku"]').attributes["content"] == p.sku  # type: ignore[union-attr]
        assert scope.css_first('meta[itemprop="gtin13"]').attributes["content"] == p.gtin  # type: ignore[union-attr]
        brand = scope.css_first('[itemprop="brand"][itemtype="https://schema.org/Brand"] [itemprop="name"]')
        assert brand is not None and brand.text() == p.brand
        offer = scope.css_first('[itemprop="offers"][itemtype="https://schema.org/Offer"]')
        assert offer is not None
        currency = offer.css_first('meta[itemprop="priceCurrency"]')
        assert currency is not None and currency.attributes["content"] == p.currency
        availability = offer.css_first('link[itemprop="availability"]')
        assert availability is not None
        assert availability.attributes["href"] == (
            "https://schema.org/"
            + {"in_stock": "InStock", "out_of_stock": "OutOfStock", "preorder": "PreOrder"}[str(expected["availability"])]
        )
        price = offer.css_first('[itemprop="price"]')
        if expected["price"] is None:
            assert price is None
        else:
            assert price is not None and price.attributes["content"] == f"{expected['price']:.2f}"
        if p.review_count:
            rating = scope.css_first('[itemprop="aggregateRating"] [itemprop="ratingValue"]')
            assert rating is not None and float(rating.text()) == p.rating


def test_plain_pages_have_stable_selectors_and_no_structured_data(client: httpx.Client, catalog: Catalog) -> None:
    for p in _listed(catalog, "plain"):
        r = client.get(f"/product/{p.slug}")
        assert "application/ld+json" not in r.text
        assert "itemprop" not in r.text and "itemscope" not in r.text
        assert 'property="og:' not in r.text
        main = HTMLParser(r.text).css_first("div.product-main")
        assert main is not None
        expected = catalog.expected_record(p, 1)
        assert main.css_first("h1.product-title").text() == p.name  # type: ignore[union-attr]
        assert main.css_first("a.brand").text() == p.brand  # type: ignore[union-attr]
        assert main.css_first("div.sku").text() == f"SKU: {p.sku}"  # type: ignore[union-attr]
        assert main.css_first("div.gtin").text() == f"EAN: {p.gtin}"  # type: ignore[union-attr]
        stock = main.css_first("p.stock")
        assert stock is not None
        assert stock.text() == {"in_stock": "In stock", "out_of_stock": "Out of stock", "preorder": "Pre-order"}[
            str(expected["availability"])
        ]
        price = main.css_first("span.price")
        assert price is not None
        if expected["price"] is None:
            assert price.text() == "Call for price"
        else:
            assert isinstance(expected["price"], float)
            assert price.text() == _money(expected["price"], p.currency)


def test_product_pages_have_related_products_with_their_own_prices(client: httpx.Client, catalog: Catalog) -> None:
    p = _listed(catalog, "plain")[0]
    page = HTMLParser(client.get(f"/product/{p.slug}").text)
    cards = page.css("section.related li.product-card")
    assert len(cards) == 4
    for card in cards:
        link = card.css_first("h3.product-name a")
        assert link is not None
        other = catalog.by_slug(link.attributes["href"].removeprefix("/product/"))  # type: ignore[union-attr]
        assert other.id != p.id
        offer = catalog.offer(other, 1)
        text = card.css_first(".price").text()  # type: ignore[union-attr]
        assert text == ("Call for price" if offer.price is None else _money(offer.price, other.currency))
    crumbs = [a.attributes["href"] for a in page.css("nav.breadcrumbs a")]
    assert crumbs == ["/", f"/category/{p.category}"]


def test_sale_and_out_of_stock_are_visible(client: httpx.Client, catalog: Catalog, shop: DemoShopServer) -> None:
    day = 2
    shop.site.day = day
    sale = next(p for p in _listed(catalog) if catalog.offer(p, day).regular_price is not None)
    offer = catalog.offer(sale, day)
    main = HTMLParser(client.get(f"/product/{sale.slug}").text).css_first("div.product-main")
    assert main is not None
    assert offer.regular_price is not None and offer.price is not None
    assert main.css_first("del.price-was").text() == _money(offer.regular_price, sale.currency)  # type: ignore[union-attr]
    assert main.css_first("span.price").text() == _money(offer.price, sale.currency)  # type: ignore[union-attr]

    gone = next(p for p in _listed(catalog) if catalog.offer(p, day).availability == "out_of_stock")
    main = HTMLParser(client.get(f"/product/{gone.slug}").text).css_first("div.product-main")
    assert main is not None
    button = main.css_first("button.add-to-cart")
    assert button is not None and "disabled" in button.attributes
    assert main.css_first("p.stock.out-of-stock") is not None


def test_canonical_uses_the_host_header_and_ignores_tracking(client: httpx.Client, catalog: Catalog) -> None:
    p = _listed(catalog)[0]
    clean = client.get(f"/product/{p.slug}", headers={"Host": "shop.example:8080"})
    tracked = client.get(
        f"/product/{p.slug}?utm_source=newsletter&utm_medium=email", headers={"Host": "shop.example:8080"}
    )
    canonical = HTMLParser(tracked.text).css_first('link[rel="canonical"]')
    assert canonical is not None
    assert canonical.attributes["href"] == f"http://shop.example:8080/product/{p.slug}"
    assert tracked.content == clean.content


def test_day_changes_what_is_served(client: httpx.Client, catalog: Catalog, shop: DemoShopServer) -> None:
    p = next(
        p
        for p in _listed(catalog, "plain")
        if catalog.offer(p, 1).price is not None and catalog.offer(p, 2).price != catalog.offer(p, 1).price
    )
    first = client.get(f"/product/{p.slug}")
    shop.site.day = 2
    second = client.get(f"/product/{p.slug}")
    price = HTMLParser(second.text).css_first("div.product-main span.price")
    new_price = catalog.offer(p, 2).price
    assert price is not None and new_price is not None
    assert price.text() == _money(new_price, p.currency)
    assert first.headers["etag"] != second.headers["etag"]
    assert first.headers["last-modified"] != second.headers["last-modified"]


# -- listings, crawler files ----------------------------------------------------------------


def test_pagination_reaches_every_product_of_each_category(
    client: httpx.Client, catalog: Catalog, shop: DemoShopServer
) -> None:
    for category in catalog.categories:
        seen: list[str] = []
        url: str | None = f"/category/{category}"
        pages = 0
        while url is not None:
            r = client.get(url)
            assert r.status_code == 200
            page = HTMLParser(r.text)
            pages += 1
            seen += [a.attributes["href"] or "" for a in page.css("li.product-card h3.product-name a")]
            following = page.css_first('nav.pagination a[rel="next"]')
            url = following.attributes["href"] if following is not None else None
        expected = [f"/product/{p.slug}" for p in catalog.in_category(category)]
        assert seen == expected
        assert pages == max(1, -(-len(expected) // shop.site.page_size))
    assert client.get("/category/laptops?page=99").status_code == 404
    assert client.get("/category/laptops?page=abc").status_code == 404
    assert client.get("/category/no-such-thing").status_code == 404


def test_listing_cards_show_current_prices_and_some_tracking_links(client: httpx.Client, catalog: Catalog) -> None:
    tracked = 0
    for category in catalog.categories:
        page = HTMLParser(client.get(f"/category/{category}").text)
        for card in page.css("li.product-card"):
            name_link = card.css_first("h3.product-name a")
            assert name_link is not None
            p = catalog.by_slug((name_link.attributes["href"] or "").removeprefix("/product/"))
            offer = catalog.offer(p, 1)
            price = card.css_first("span.price")
            assert price is not None
            assert price.text() == ("Call for price" if offer.price is None else _money(offer.price, p.currency))
            image_link = card.css_first("a.product-image")
            assert image_link is not None
            tracked += "utm_source=newsletter" in (image_link.attributes["href"] or "")
    assert tracked >= 3


def test_home_links_categories_and_footer(client: httpx.Client, catalog: Catalog) -> None:
    page = HTMLParser(client.get("/").text)
    hrefs = {a.attributes["href"] for a in page.css("a")}
    assert {f"/category/{c}" for c in catalog.categories} <= hrefs
    assert {"/about", "/contact", "/cart", "/account/login", "/app/"} <= hrefs
    assert len(page.css("section.featured li.product-card")) >= 4
    for path in ("/about", "/contact", "/cart", "/account/login", "/search?q=Laptop"):
        assert client.get(path).status_code == 200


def test_robots_txt(client: httpx.Client, shop: DemoShopServer) -> None:
    r = client.get("/robots.txt")
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert "User-agent: *" in lines
    assert {"Disallow: /cart", "Disallow: /account/", "Disallow: /search"} <= set(lines)
    assert f"Sitemap: {shop.url}/sitemap.xml" in lines


def test_sitemaps_list_every_listed_product_and_category(
    client: httpx.Client, catalog: Catalog, shop: DemoShopServer
) -> None:
    index = ElementTree.fromstring(client.get("/sitemap.xml").content)
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    locs = [e.text for e in index.findall("sm:sitemap/sm:loc", SITEMAP_NS)]
    assert locs == [f"{shop.url}/sitemap-products.xml", f"{shop.url}/sitemap-categories.xml"]

    r = client.get("/sitemap-products.xml")
    assert r.headers["content-type"].startswith("application/xml")
    urlset = ElementTree.fromstring(r.content)
    urls = [e.text or "" for e in urlset.findall("sm:url/sm:loc", SITEMAP_NS)]
    assert sorted(urls) == sorted(f"{shop.url}/product/{p.slug}" for p in _listed(catalog))
    lastmods = [e.text or "" for e in urlset.findall("sm:url/sm:lastmod", SITEMAP_NS)]
    assert len(lastmods) == len(urls) and all(m.startswith("2026-03-01T") for m in lastmods)

    gz = client.get("/sitemap-products.xml.gz")
    assert gz.headers["content-type"] == "application/gzip"
    assert gzip.decompress(gz.content) == r.content

    categories = ElementTree.fromstring(client.get("/sitemap-categories.xml").content)
    cat_urls = {e.text for e in categories.findall("sm:url/sm:loc", SITEMAP_NS)}
    assert {f"{shop.url}/category/{c}" for c in catalog.categories} <= cat_urls


def test_sitemap_lastmod_follows_offer_changes(client: httpx.Client, catalog: Catalog, shop: DemoShopServer) -> None:
    shop.site.day = 3
    urlset = ElementTree.fromstring(client.get("/sitemap-products.xml").content)
    lastmod = {
        (u.findtext("sm:loc", namespaces=SITEMAP_NS) or "").rsplit("/", 1)[1]: u.findtext("sm:lastmod", namespaces=SITEMAP_NS)
        for u in urlset.findall("sm:url", SITEMAP_NS)
    }
    for p in _listed(catalog):
        changed = catalog.offer(p, 3) != catalog.offer(p, 2)
        if changed:
            assert lastmod[p.slug] == "2026-03-03T06:00:00Z"
    assert len(set(lastmod.values())) >= 2


# -- JavaScript-only section ----------------------------------------------------------------


def test_js_section_is_an_empty_shell(client: httpx.Client, catalog: Catalog) -> None:
    js_products = [p for p in catalog.products if p.js_only]
    assert js_products
    shell = client.get("/app/")
    assert shell.status_code == 200
    assert '<div id="root"></div>' in shell.text
    assert '<script src="/static/app.js"' in shell.text
    for p in js_products:
        assert p.name not in shell.text
        product_shell = client.get(f"/app/product/{p.slug}")
        assert product_shell.status_code == 200
        assert p.name not in product_shell.text
        assert client.get(f"/product/{p.slug}").status_code == 404
    script = client.get("/static/app.js")
    assert script.headers["content-type"].startswith("application/javascript")
    assert "/api/products.json?section=app" in script.text
    assert "application/ld+json" in script.text
    assert client.get("/app").headers["location"] == "/app/"
    assert client.get("/app/product/no-such-product").status_code == 404


def test_js_section_api_serves_what_the_script_renders(client: httpx.Client, catalog: Catalog) -> None:
    listing = client.get("/api/products.json?section=app")
    assert listing.headers["content-type"] == "application/json"
    items = listing.json()["products"]
    js_products = [p for p in catalog.products if p.js_only]
    assert [i["name"] for i in items] == [p.name for p in js_products]
    assert all(i["url"] == f"/app/product/{i['slug']}" for i in items)
    p = js_products[0]
    detail = client.get(f"/api/products/{p.slug}.json").json()
    expected = catalog.expected_record(p, 1)
    assert detail["price"] == expected["price"]
    assert detail["jsonld"]["@type"] == "Product"
    assert detail["jsonld"]["sku"] == p.sku
    sitemap = client.get("/sitemap-products.xml").text
    for p in js_products:
        assert f"/product/{p.slug}</loc>" not in sitemap
        assert p.name not in client.get(f"/category/{p.category}").text


# -- HTTP behaviour -------------------------------------------------------------------------


def test_response_headers_and_conditional_get(client: httpx.Client, catalog: Catalog) -> None:
    path = f"/product/{_listed(catalog)[0].slug}"
    r = client.get(path)
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert int(r.headers["content-length"]) == len(r.content)
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert r.headers["last-modified"].endswith("GMT")
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert client.get(path, headers={"If-Modified-Since": r.headers["last-modified"]}).status_code == 304
    # The connection still works after a 304 without a body.
    assert client.get(path).content == r.content


def test_head_404_405_and_content_types(client: httpx.Client) -> None:
    get = client.get("/")
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["etag"] == get.headers["etag"]
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert missing.headers["content-type"] == "text/html; charset=utf-8"
    post = client.post("/", content=b"x=1")
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
    image = client.get("/static/img/anything.jpg")
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8" and image.content[-2:] == b"\xff\xd9"
    assert client.get("/sitemap.xml").headers["content-type"].startswith("application/xml")
    # The connection survives the POST body that the server skipped.
    assert client.get("/").content == get.content


def test_keep_alive_serves_several_requests_on_one_connection(shop: DemoShopServer) -> None:
    request = b"GET /robots.txt HTTP/1.1\r\nHost: shop.test\r\n\r\n"
    with socket.create_connection(("127.0.0.1", shop.port), timeout=5) as sock:
        for _ in range(3):
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")).split(b":")[1])
            while len(body) < length:
                body += sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert b"Connection: keep-alive" in head
            assert body.startswith(b"User-agent: *")


def test_connection_close_and_http10_are_honoured(shop: DemoShopServer) -> None:
    # _raw_exchange reads until the server closes, so returning at all proves the close.
    closed = _raw_exchange(shop.port, b"GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert closed.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in closed
    old = _raw_exchange(shop.port, b"GET /robots.txt HTTP/1.0\r\n\r\n")
    assert old.startswith(b"HTTP/1.1 200 OK") and old.endswith(b"/sitemap.xml\n")
    bad = _raw_exchange(shop.port, b"NONSENSE\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 400 ")


def test_httpx_client_reuses_its_connection(client: httpx.Client) -> None:
    streams = {id(client.get(path).extensions["network_stream"]) for path in ("/", "/about", "/contact", "/")}
    assert len(streams) == 1


def test_hits_count_each_target(client: httpx.Client, shop: DemoShopServer) -> None:
    shop.reset_hits()
    client.get("/about")
    client.get("/about")
    client.get("/about?ref=x")
    client.head("/contact")
    assert shop.hits["/about"] == 2
    assert shop.hits["/about?ref=x"] == 1
    assert shop.hits["/contact"] == 1
    shop.reset_hits()
    assert sum(shop.hits.values()) == 0


def test_server_survives_clients_that_vanish_mid_request(client: httpx.Client, shop: DemoShopServer) -> None:
    for partial in (b"GET /ab", b"GET / HTTP/1.1\r\nHost: x\r\n", b"GET / HTTP/1.1\r\nContent-Length: 100\r\n\r\nab"):
        with socket.create_connection(("127.0.0.1", shop.port), timeout=5) as sock:
            sock.sendall(partial)
    assert client.get("/").status_code == 200


def test_separate_servers_latency_and_lifecycle() -> None:
    site = ShopSite(Catalog(30), day=1, page_size=5)
    with DemoShopServer(site, latency_s=0.05) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        started = time.perf_counter()
        r = httpx.get(server.url + "/category/books")
        assert r.status_code == 200
        assert time.perf_counter() - started >= 0.05
        with pytest.raises(OSError):
            DemoShopServer(site, port=server.port).start()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/", timeout=2)


def test_crawlable_paths_all_answer_and_warm_up_renders_them(client: httpx.Client, shop: DemoShopServer) -> None:
    paths = shop.site.crawlable_paths()
    assert shop.warm_up() == len(paths)
    assert len(paths) == len(set(paths))
    shop.reset_hits()
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert shop.hits == dict.fromkeys(paths, 1)
