"""Tests of the test servers themselves (tests/servers.py), over real loopback."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import socket
import threading
import time
import urllib.robotparser
from collections.abc import Iterator
from html.parser import HTMLParser
from xml.etree import ElementTree

import httpx
import pytest

from tests.servers import FaultServer, ForwardProxy

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


class _Page(HTMLParser):
    """Collects hrefs and canonical links, and checks that every opened element is closed."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.canonical: list[str] = []
        self.title = ""
        self._open: list[str] = []
        self._in_title = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "link" and values.get("rel") == "canonical":
            self.canonical.append(values.get("href") or "")
        self._in_title = tag == "title"
        if tag not in self.VOID:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self._open and self._open[-1] == tag, f"</{tag}> closes {self._open}"
        self._open.pop()
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    @property
    def balanced(self) -> bool:
        return not self._open


def page(response: httpx.Response) -> _Page:
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.lower().startswith("<!doctype html>")
    parsed = _Page(response.text)
    assert parsed.balanced and parsed.title
    return parsed


@pytest.fixture(scope="module")
def _fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def site(_fault_server: FaultServer) -> FaultServer:
    _fault_server.reset(defaults=True)
    return _fault_server


@pytest.fixture
def client(site: FaultServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=10, trust_env=False) as c:
        yield c


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as p:
        yield p


# -- lifecycle -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [FaultServer, ForwardProxy])
def test_starts_fast_on_a_free_loopback_port_and_stops(cls: type[FaultServer | ForwardProxy]) -> None:
    started = time.perf_counter()
    server = cls().start()
    elapsed = time.perf_counter() - started
    try:
        assert elapsed < 0.1
        assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=2):
            pass
    finally:
        started = time.perf_counter()
        server.stop()
        assert time.perf_counter() - started < 1
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    server.stop()  # twice is fine


def test_context_manager_and_restart_on_the_same_port() -> None:
    with FaultServer() as server:
        port = server.port
        assert httpx.get(f"{server.url}/ok/1", trust_env=False).status_code == 200
        with pytest.raises(RuntimeError):
            server.start()
    assert not server.running
    with server:
        assert server.port == port
        assert httpx.get(f"{server.url}/ok/1", trust_env=False).status_code == 200


def test_two_servers_get_different_ports() -> None:
    with FaultServer() as a, FaultServer() as b, ForwardProxy() as c:
        assert len({a.port, b.port, c.port}) == 3


def test_stop_resets_open_connections() -> None:
    server = FaultServer().start()
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as c:
        results: list[BaseException | int] = []

        def fetch() -> None:
            try:
                results.append(c.get("/slow/5/hang").status_code)
            except httpx.TransportError as exc:
                results.append(exc)

        thread = threading.Thread(target=fetch)
        thread.start()
        deadline = time.monotonic() + 2
        while not server.hits and time.monotonic() < deadline:
            time.sleep(0.005)
        server.stop()
        thread.join(timeout=3)
    assert not thread.is_alive()
    assert isinstance(results[0], httpx.TransportError)


# -- FaultServer routes ----------------------------------------------------------------------


def test_robots_default_configurable_and_absent(site: FaultServer, client: httpx.Client) -> None:
    r = client.get("/robots.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text == "User-agent: *\nDisallow: /private/\nCrawl-delay: 0\n"
    rules = urllib.robotparser.RobotFileParser()
    rules.parse(r.text.splitlines())
    assert not rules.can_fetch("voidx", f"{site.url}/private/p1")
    assert rules.can_fetch("voidx", f"{site.url}/ok/1")
    assert client.get("/private/p1").status_code == 200  # the server itself does not enforce it

    site.robots = f"User-agent: *\nAllow: /\nSitemap: {site.url}/sitemap.xml\n"
    assert client.get("/robots.txt").text.endswith(f"Sitemap: {site.url}/sitemap.xml\n")
    site.robots = None
    assert client.get("/robots.txt").status_code == 404


def test_index_links_to_the_configured_links(site: FaultServer, client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert page(r).links == list(FaultServer.DEFAULT_LINKS)
    for link in page(r).links:  # every default link leads somewhere that answers
        assert client.get(link, follow_redirects=True).status_code in (200, 503)

    site.links = ["/ok/a", "/ok/b?x=1&y=2", "http://example.invalid/elsewhere"]
    assert page(client.get("/")).links == site.links
    site.links = []
    assert page(client.get("/")).links == []


@pytest.mark.parametrize("path", ["/ok/1", "/ok/deep/er/path", "/ok/", "/page", "/private/p9"])
def test_plain_pages(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert page(r).links == []


def test_flaky_answers_503_n_times_per_path(site: FaultServer, client: httpx.Client) -> None:
    assert [client.get("/flaky/2/a").status_code for _ in range(4)] == [503, 503, 200, 200]
    assert client.get("/flaky/2/b").status_code == 503  # its own counter
    assert client.get("/flaky/0/c").status_code == 200
    # the query string does not make a new path for the fault, only for hits
    assert client.get("/flaky/1/q?utm_source=x").status_code == 503
    assert client.get("/flaky/1/q?utm_source=y").status_code == 200
    assert site.hits["/flaky/2/a"] == 4 and site.hits["/flaky/2/b"] == 1
    assert site.hits["/flaky/1/q?utm_source=x"] == 1 and site.hits["/flaky/1/q?utm_source=y"] == 1
    assert client.get("/flaky/x/a").status_code == 404


def test_ratelimit_answers_429_once_with_retry_after(site: FaultServer, client: httpx.Client) -> None:
    first = client.get("/ratelimit/3/a")
    assert first.status_code == 429 and first.headers["retry-after"] == "3"
    page(first)
    second = client.get("/ratelimit/3/a")
    assert second.status_code == 200 and "retry-after" not in second.headers
    assert client.get("/ratelimit/3/a").status_code == 200
    assert client.get("/ratelimit/1/b").headers["retry-after"] == "1"
    assert site.hits["/ratelimit/3/a"] == 3


def _timed_get(site: FaultServer, path: str) -> float:
    started = time.monotonic()
    assert httpx.get(site.url + path, trust_env=False, timeout=10).status_code == 200
    return time.monotonic() - started


def test_slow_waits_without_blocking_other_requests(site: FaultServer) -> None:
    done: dict[str, float] = {}
    started = time.monotonic()

    def fetch(path: str) -> None:
        with httpx.Client(base_url=site.url, timeout=10, trust_env=False) as c:
            assert c.get(path).status_code == 200
        done[path] = time.monotonic() - started

    slow = threading.Thread(target=fetch, args=("/slow/1/x",))
    slow.start()
    while not site.hits["/slow/1/x"]:
        time.sleep(0.002)
    fetch("/ok/y")
    slow.join()
    assert done["/ok/y"] < 0.5
    assert 1.0 <= done["/slow/1/x"] < 3
    assert _timed_get(site, "/slow/0.2/z") >= 0.2
    assert httpx.get(f"{site.url}/slow/abc/z", trust_env=False).status_code == 404


def test_reset_drops_the_connection_then_answers(site: FaultServer, client: httpx.Client) -> None:
    assert client.get("/ok/warm").status_code == 200  # the next request reuses this connection
    with pytest.raises(httpx.TransportError):
        client.get("/reset/1/x")
    assert client.get("/reset/1/x").status_code == 200
    assert site.hits["/reset/1/x"] == 2

    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            client.get("/reset/2/y")
    assert client.get("/reset/2/y").status_code == 200


def test_reset_is_a_tcp_rst(site: FaultServer) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(b"GET /reset/1/raw HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            while sock.recv(4096):
                pass


def test_redirect_chain_and_loop(client: httpx.Client) -> None:
    r = client.get("/redirect/3")
    assert r.status_code == 302 and r.headers["location"] == "/redirect/2"
    r = client.get("/redirect/3", follow_redirects=True)
    assert r.status_code == 200 and len(r.history) == 3
    assert [h.headers["location"] for h in r.history] == ["/redirect/2", "/redirect/1", "/redirect/0"]
    page(r)
    assert client.get("/redirect/0").status_code == 200

    a, b = client.get("/loop/a"), client.get("/loop/b")
    assert (a.status_code, a.headers["location"]) == (302, "/loop/b")
    assert (b.status_code, b.headers["location"]) == (302, "/loop/a")
    with pytest.raises(httpx.TooManyRedirects):
        client.get("/loop/a", follow_redirects=True)
    assert client.get("/redirect/-1").status_code == 404
    assert client.get("/loop/c").status_code == 404


@pytest.mark.parametrize("size", [0, 10, 1000, 65_536, 1_000_003])
def test_big_has_exactly_the_size(client: httpx.Client, size: int) -> None:
    with client.stream("GET", f"/big/{size}") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.headers["content-length"] == str(size)
        body = r.read()
    assert len(body) == size
    if size >= 1000:
        assert body.startswith(b"<!doctype html>") and body.endswith(b"</html>\n")


def test_head_sends_headers_only(client: httpx.Client) -> None:
    r = client.head("/big/5000")
    assert r.status_code == 200 and r.headers["content-length"] == "5000" and r.content == b""
    assert client.get("/ok/after-head").status_code == 200  # the connection is still in sync


@pytest.mark.parametrize("code", [200, 201, 204, 301, 304, 400, 403, 404, 410, 418, 429, 500, 502, 503, 599])
def test_status(client: httpx.Client, code: int) -> None:
    r = client.get(f"/status/{code}")
    assert r.status_code == code
    if code in (204, 304):
        assert r.content == b""
    else:
        assert str(code) in page(r).title


@pytest.mark.parametrize("path", ["/status/99", "/status/600", "/status/abc", "/nope", "/ok",
                                  "/flaky/1", "/big/x", "/etag/", "/private/"])
def test_unknown_routes_are_404(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    page(r)


def test_etag_and_conditional_requests(site: FaultServer, client: httpx.Client) -> None:
    first = client.get("/etag/e1")
    assert first.status_code == 200 and first.headers["etag"] == '"v1-e1"'
    last_modified = first.headers["last-modified"]
    page(first)

    r = client.get("/etag/e1", headers={"If-None-Match": '"v1-e1"'})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == '"v1-e1"'
    assert client.get("/etag/e1", headers={"If-None-Match": 'W/"v1-e1", "other"'}).status_code == 304
    assert client.get("/etag/e1", headers={"If-None-Match": '"v0-e1"'}).status_code == 200
    assert client.get("/etag/e1", headers={"If-Modified-Since": last_modified}).status_code == 304

    site.etag_version = 2
    r = client.get("/etag/e1", headers={"If-None-Match": '"v1-e1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"v2-e1"'
    assert r.content != first.content and "version 2" in r.text
    assert client.get("/etag/e1", headers={"If-Modified-Since": last_modified}).status_code == 200
    assert client.get("/etag/e1", headers={"If-None-Match": '"v2-e1"'}).status_code == 304


def test_binary_is_a_png(client: httpx.Client) -> None:
    r = client.get("/binary/b1")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n") and int(r.headers["content-length"]) == len(r.content)


def test_canonical(client: httpx.Client) -> None:
    r = client.get("/canonical/c7?utm_source=x")
    assert r.status_code == 200
    assert page(r).canonical == ["/ok/c7"]


def _locs(xml: bytes) -> list[str]:
    return [e.text or "" for e in ElementTree.fromstring(xml).findall(".//sm:loc", SITEMAP_NS)]


def test_sitemaps(site: FaultServer, client: httpx.Client) -> None:
    index = client.get("/sitemap.xml")
    assert index.status_code == 200 and "xml" in index.headers["content-type"]
    assert ElementTree.fromstring(index.content).tag == f"{{{SITEMAP_NS['sm']}}}sitemapindex"
    assert _locs(index.content) == [f"{site.url}/sitemap-a.xml", f"{site.url}/sitemap-b.xml.gz"]

    a = client.get("/sitemap-a.xml")
    assert a.status_code == 200 and "xml" in a.headers["content-type"]
    b = client.get("/sitemap-b.xml.gz")
    assert b.status_code == 200
    assert b.headers["content-type"] in ("application/gzip", "application/x-gzip")
    assert "content-encoding" not in b.headers
    unzipped = gzip.decompress(b.content)
    assert ElementTree.fromstring(unzipped).tag == f"{{{SITEMAP_NS['sm']}}}urlset"
    assert _locs(a.content) == [f"{site.url}/ok/s{i}" for i in (1, 2, 3)]
    assert _locs(unzipped) == [f"{site.url}/ok/s{i}" for i in (4, 5, 6)]

    site.sitemap_urls = ["/ok/x?a=1&b=2", "/page", "http://example.invalid/abs"]
    a_locs, b_locs = _locs(client.get("/sitemap-a.xml").content), _locs(gzip.decompress(client.get("/sitemap-b.xml.gz").content))
    assert a_locs == [f"{site.url}/ok/x?a=1&b=2", f"{site.url}/page"]
    assert b_locs == ["http://example.invalid/abs"]
    site.sitemap_urls = []
    assert _locs(client.get("/sitemap-a.xml").content) == []


def test_query_strings_are_ignored_except_for_hits(site: FaultServer, client: httpx.Client) -> None:
    assert client.get("/page?utm_source=x&id=1").status_code == 200
    assert client.get("/page?id=1").status_code == 200
    assert client.get("/ok/1?utm_source=x").status_code == 200
    assert site.hits == {"/page?utm_source=x&id=1": 1, "/page?id=1": 1, "/ok/1?utm_source=x": 1}


def test_requests_are_recorded_and_reset(site: FaultServer, client: httpx.Client) -> None:
    before = time.monotonic()
    client.get("/ok/1?x=1", headers={"X-Test": "yes"})
    client.head("/ok/2")
    after = time.monotonic()
    assert [(r["method"], r["path"]) for r in site.requests] == [("GET", "/ok/1?x=1"), ("HEAD", "/ok/2")]
    headers = site.requests[0]["headers"]
    assert headers["x-test"] == "yes" and headers["user-agent"].startswith("python-httpx")
    assert all(k == k.lower() for k in headers)
    assert before <= site.requests[0]["time"] <= site.requests[1]["time"] <= after

    client.get("/flaky/1/r")
    site.reset()
    assert site.hits == {} and site.requests == []
    assert client.get("/flaky/1/r").status_code == 503  # fault counters start over too


def test_reset_defaults(site: FaultServer) -> None:
    site.robots, site.links, site.sitemap_urls, site.etag_version = None, [], [], 5
    site.reset()
    assert site.robots is None and site.etag_version == 5
    site.reset(defaults=True)
    assert site.robots == FaultServer.DEFAULT_ROBOTS and site.etag_version == 1
    assert site.links == list(FaultServer.DEFAULT_LINKS)
    assert site.sitemap_urls == list(FaultServer.DEFAULT_SITEMAP_URLS)


def test_keep_alive(site: FaultServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    try:
        conn.request("GET", "/ok/1")
        first = conn.getresponse()
        assert first.status == 200 and first.getheader("connection") == "keep-alive"
        first.read()
        sock = conn.sock
        for path in ("/big/200000", "/status/404", "/etag/k", "/ok/2"):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert conn.sock is sock and sock is not None  # same connection, never reopened
        conn.request("GET", "/ok/3", headers={"Connection": "close"})
        last = conn.getresponse()
        assert last.getheader("connection") == "close"
        last.read()
    finally:
        conn.close()


def test_http10_and_pipelining_over_a_raw_socket(site: FaultServer) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(b"GET /ok/p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /ok/p2 HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2 and data.endswith(b"</html>\n")
    assert site.hits["/ok/p1"] == site.hits["/ok/p2"] == 1


def test_malformed_request_gets_400(site: FaultServer) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")


# -- ForwardProxy ----------------------------------------------------------------------------


def test_proxy_relays_status_headers_and_body(site: FaultServer, proxy: ForwardProxy) -> None:
    direct = httpx.get(f"{site.url}/canonical/p", trust_env=False)
    with httpx.Client(proxy=proxy.url, trust_env=False, timeout=10) as c:
        r = c.get(f"{site.url}/canonical/p?q=1")
        assert r.status_code == 200 and r.content == direct.content
        assert r.headers["x-proxy"] == str(proxy.port)
        assert r.headers["content-type"] == direct.headers["content-type"]
        assert c.get(f"{site.url}/nope").status_code == 404
        limited = c.get(f"{site.url}/ratelimit/7/p")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
        assert c.get(f"{site.url}/ratelimit/7/p").status_code == 200
        big = c.get(f"{site.url}/big/300000")
        assert len(big.content) == 300_000
        assert c.head(f"{site.url}/big/300000").headers["content-length"] == "300000"
        redirect = c.get(f"{site.url}/redirect/1")
        assert redirect.status_code == 302 and redirect.headers["location"] == "/redirect/0"
        assert c.get(f"{site.url}/etag/p", headers={"If-None-Match": '"v1-p"'}).status_code == 304
        png = c.get(f"{site.url}/binary/p")
        assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert proxy.hits == 9
    assert proxy.requests[0] == f"{site.url}/canonical/p?q=1"
    assert site.hits["/canonical/p?q=1"] == 1
    forwarded = next(r for r in site.requests if r["path"] == "/canonical/p?q=1")
    assert forwarded["headers"]["host"] == f"127.0.0.1:{site.port}"
    assert "proxy-connection" not in forwarded["headers"]


def test_proxy_forwards_request_bodies(site: FaultServer, proxy: ForwardProxy) -> None:
    with httpx.Client(proxy=proxy.url, trust_env=False, timeout=10) as c:
        assert c.post(f"{site.url}/ok/post", content=b"hello").status_code == 200
    forwarded = site.requests[-1]
    assert forwarded["method"] == "POST" and forwarded["headers"]["content-length"] == "5"


def test_proxy_failures(site: FaultServer) -> None:
    with ForwardProxy(fail=True) as broken, ForwardProxy() as good, \
            httpx.Client(trust_env=False, timeout=10, proxy=broken.url) as via_broken, \
            httpx.Client(trust_env=False, timeout=10, proxy=good.url) as via_good:
        r = via_broken.get(f"{site.url}/ok/1")
        assert r.status_code == 502 and r.headers["x-proxy"] == str(broken.port)
        assert broken.hits == 1 and broken.requests == [f"{site.url}/ok/1"]
        assert site.hits["/ok/1"] == 0  # never reached the origin

        ok = via_good.get(f"{site.url}/ok/1")
        assert ok.status_code == 200 and ok.headers["x-proxy"] == str(good.port)
        good.fail = True
        assert via_good.get(f"{site.url}/ok/1").status_code == 502
        good.fail = False
        assert via_good.get(f"{site.url}/ok/1").status_code == 200
        assert good.hits == 3

        # an origin that resets the connection, or nobody listening, is a 502 from the proxy
        reset = via_good.get(f"{site.url}/reset/1/p")
        assert reset.status_code == 502 and reset.headers["x-proxy"] == str(good.port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()[1]
        assert via_good.get(f"http://127.0.0.1:{dead}/x").status_code == 502
    good.reset()
    assert good.hits == 0 and good.requests == []


def test_proxy_rejects_origin_form_and_connect(proxy: ForwardProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"GET /origin-form HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 501 ")
    assert proxy.hits == 0


def test_proxy_with_httpx_async_client(site: FaultServer, proxy: ForwardProxy) -> None:
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(proxy=proxy.url, trust_env=False, timeout=10) as c:
            return list(await asyncio.gather(*(c.get(f"{site.url}/ok/a{i}") for i in range(5)),
                                             c.get(f"{site.url}/slow/0.3/a")))

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 6
    assert {r.headers["x-proxy"] for r in responses} == {str(proxy.port)}
    assert proxy.hits == 6 and sorted(proxy.requests)[0] == f"{site.url}/ok/a0"


def test_proxy_with_aiohttp(site: FaultServer, proxy: ForwardProxy) -> None:
    aiohttp = pytest.importorskip("aiohttp")

    async def main() -> list[tuple[int, str, int]]:
        results = []
        async with aiohttp.ClientSession() as session:
            for path in ("/ok/aio", "/flaky/1/aio", "/flaky/1/aio", "/big/123456"):
                async with session.get(f"{site.url}{path}", proxy=proxy.url) as r:
                    results.append((r.status, r.headers["X-Proxy"], len(await r.read())))
        return results

    results = asyncio.run(main())
    assert [status for status, _, _ in results] == [200, 503, 200, 200]
    assert {via for _, via, _ in results} == {str(proxy.port)}
    assert results[-1][2] == 123_456
    assert proxy.requests == [f"{site.url}/ok/aio", f"{site.url}/flaky/1/aio",
                              f"{site.url}/flaky/1/aio", f"{site.url}/big/123456"]
    assert site.hits["/flaky/1/aio"] == 2


def test_reset_with_aiohttp_which_retries_once_by_itself(site: FaultServer) -> None:
    """aiohttp silently repeats an idempotent request once when the connection is reset, so
    ``/reset/1/...`` never surfaces there: a reset it reports takes ``/reset/2/...``."""
    aiohttp = pytest.importorskip("aiohttp")

    async def main() -> tuple[int, type[BaseException] | None, int]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{site.url}/reset/1/aio") as r:
                hidden = r.status
            error: type[BaseException] | None = None
            try:
                async with session.get(f"{site.url}/reset/2/aio") as r:
                    await r.read()
            except aiohttp.ClientError as exc:
                error = type(exc)
            async with session.get(f"{site.url}/reset/2/aio") as r:
                return hidden, error, r.status

    hidden, error, after = asyncio.run(main())
    assert hidden == 200 and site.hits["/reset/1/aio"] == 2
    assert error is not None and after == 200 and site.hits["/reset/2/aio"] == 3
