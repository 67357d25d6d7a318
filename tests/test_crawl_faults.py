"""The collector against a misbehaving site on loopback: retries, backoff, robots.txt,
redirects, size caps, canonical dedup, sitemaps, conditional requests and proxies."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.servers import FaultServer, ForwardProxy


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def make_cli(root: Path, **crawl: Any) -> Cli:
    settings = {"retries": 3, "backoff_s": 0.05, "timeout_s": 2.0, "concurrency": 4,
                "per_host": 4, **crawl}
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    root.mkdir(exist_ok=True)
    (root / "voidx.toml").write_text("[crawl]\n" + lines)
    return Cli(root)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return make_cli(tmp_path / "project")


def crawl(cli: Cli, *args: str, expect: int = 0) -> dict[str, Any]:
    result = cli("--json", "crawl", *args)
    assert result.exit_code == expect, result.stderr
    return dict(json.loads(result.stdout)) if result.stdout else {}


def pages(cli: Cli) -> dict[str, dict[str, Any]]:
    rows = (json.loads(line) for line in cli("export", "pages").stdout.splitlines())
    return {"/" + r["url"].split("/", 3)[3]: r for r in rows}


def test_5xx_is_retried_until_it_succeeds(cli: Cli, site: FaultServer) -> None:
    summary = crawl(cli, f"{site.url}/flaky/2/a", "--max-depth", "0")
    assert (summary["pages_fetched"], summary["retries"]) == (1, 2)
    assert site.hits["/flaky/2/a"] == 3
    assert pages(cli)["/flaky/2/a"]["status_code"] == 200


def test_retries_give_up_after_the_configured_count(cli: Cli, site: FaultServer) -> None:
    summary = crawl(cli, f"{site.url}/flaky/9/b", f"{site.url}/ok/1", "--max-depth", "0",
                    expect=3)
    assert summary["pages_failed"] == 1 and site.hits["/flaky/9/b"] == 4  # 1 + 3 retries
    failed = pages(cli)["/flaky/9/b"]
    assert (failed["status_code"], failed["error"]) == (503, "HTTP 503")


def test_429_waits_for_retry_after(cli: Cli, site: FaultServer) -> None:
    summary = crawl(cli, f"{site.url}/ratelimit/1/c", "--max-depth", "0")
    assert summary["pages_fetched"] == 1
    times = [r["time"] for r in site.requests if r["path"] == "/ratelimit/1/c"]
    assert len(times) == 2 and times[1] - times[0] >= 0.95


def test_timeouts_and_resets_are_retried(tmp_path: Path, site: FaultServer) -> None:
    cli = make_cli(tmp_path / "p", timeout_s=0.4, retries=2)
    summary = crawl(cli, f"{site.url}/slow/2/d", f"{site.url}/reset/2/e", "--max-depth", "0",
                    expect=3)
    assert (summary["pages_fetched"], summary["pages_failed"]) == (1, 1)
    found = pages(cli)
    assert found["/slow/2/d"]["error"] == "timeout" and site.hits["/slow/2/d"] == 3
    assert found["/reset/2/e"]["status_code"] == 200 and site.hits["/reset/2/e"] == 3


def test_4xx_is_never_retried(cli: Cli, site: FaultServer) -> None:
    crawl(cli, f"{site.url}/status/404", f"{site.url}/status/403", f"{site.url}/ok/1",
          "--max-depth", "0", expect=3)
    assert site.hits["/status/404"] == site.hits["/status/403"] == 1
    assert pages(cli)["/status/403"]["error"] == "HTTP 403"


def test_robots_disallow_and_crawl_delay(cli: Cli, site: FaultServer) -> None:
    site.robots = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.3\n"
    site.links = ["/ok/1", "/ok/2", "/private/p1", "/ok/3"]
    summary = crawl(cli, f"{site.url}/")
    assert summary["pages_fetched"] == 4 and summary["pages_skipped"] == 1
    assert site.hits["/private/p1"] == 0
    status = cli.ok("query", "SELECT status, last_error FROM frontier WHERE url LIKE '%private%'")
    assert status == [{"status": "skipped_robots", "last_error": "disallowed by robots.txt"}]
    starts = sorted(r["time"] for r in site.requests if r["path"] != "/robots.txt")
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 3 and min(gaps) >= 0.28


def test_ignore_robots(cli: Cli, site: FaultServer) -> None:
    site.links = ["/private/p1"]
    crawl(cli, f"{site.url}/", "--ignore-robots")
    assert site.hits["/private/p1"] == 1 and site.hits["/robots.txt"] == 0


def test_redirects_followed_and_loops_stopped(cli: Cli, site: FaultServer) -> None:
    crawl(cli, f"{site.url}/redirect/3", f"{site.url}/loop/a", "--max-depth", "0", expect=3)
    found = pages(cli)
    assert found["/redirect/3"]["status_code"] == 200
    assert found["/redirect/3"]["final_url"] == f"{site.url}/redirect/0"
    assert found["/loop/a"]["error"].startswith("redirect loop: ")
    assert site.hits["/loop/a"] == 1 and site.hits["/loop/b"] == 1  # a loop is not retried


def test_oversized_body_is_refused(tmp_path: Path, site: FaultServer) -> None:
    cli = make_cli(tmp_path / "p", max_body_bytes=100_000)
    crawl(cli, f"{site.url}/big/500000", f"{site.url}/big/5000", "--max-depth", "0", expect=3)
    found = pages(cli)
    assert found["/big/500000"]["error"].startswith("body larger than 100000 bytes")
    assert found["/big/500000"]["content_hash"] is None
    assert found["/big/5000"]["bytes"] == 5000 and found["/big/5000"]["error"] is None


def test_canonical_urls_are_fetched_once(cli: Cli, site: FaultServer) -> None:
    site.links = ["/ok/1?utm_source=news", "/ok/1#reviews", f"{site.url}/ok/1",
                  "/ok/1?fbclid=x&utm_medium=y", "/page?b=2&a=1", "/page?a=1&b=2&gclid=z"]
    crawl(cli, f"{site.url}/")
    assert [p for p in site.hits if p.startswith("/ok/")] == ["/ok/1"]
    assert site.hits["/ok/1"] == 1
    assert sum(n for p, n in site.hits.items() if p.startswith("/page")) == 1
    assert set(pages(cli)) == {"/", "/ok/1", "/page?a=1&b=2"}


def test_sitemaps_seed_the_frontier(cli: Cli, site: FaultServer, tmp_path: Path) -> None:
    site.robots = f"User-agent: *\nSitemap: {site.url}/sitemap.xml\n"
    site.links = []
    (tmp_path / "project" / "voidx.toml").write_text(
        f'[crawl]\nbackoff_s = 0.05\n[[sources]]\nname = "site"\nstart_urls = ["{site.url}/"]\n')
    summary = crawl(cli)
    assert summary["sitemap_urls"] == 6
    assert site.hits["/sitemap-b.xml.gz"] == 1  # the gzip half was read too
    assert {f"/ok/s{i}" for i in range(1, 7)} <= set(pages(cli))


def test_unchanged_pages_answer_304(cli: Cli, site: FaultServer) -> None:
    first = crawl(cli, f"{site.url}/etag/x", "--max-depth", "0")
    second = crawl(cli, f"{site.url}/etag/x", "--max-depth", "0")
    assert (first["pages_unchanged"], second["pages_unchanged"]) == (0, 1)
    conditional = [r for r in site.requests if r["path"] == "/etag/x"][1]
    assert conditional["headers"]["if-none-match"] == '"v1-x"'
    assert second["status_codes"] == {"304": 1}
    site.etag_version = 2
    assert crawl(cli, f"{site.url}/etag/x", "--max-depth", "0")["pages_unchanged"] == 0
    history = cli.ok("query", "SELECT status_code, unchanged, content_hash FROM fetches ORDER BY id")
    assert [(h["status_code"], h["unchanged"]) for h in history] == [(200, 0), (304, 1), (200, 0)]
    assert history[0]["content_hash"] == history[1]["content_hash"] != history[2]["content_hash"]


def test_binary_content_is_not_stored(cli: Cli, site: FaultServer) -> None:
    crawl(cli, f"{site.url}/binary/b1", "--max-depth", "0")
    row = pages(cli)["/binary/b1"]
    assert (row["content_type"], row["content_hash"], row["bytes"]) == ("image/png", None, 0)


def test_proxies_rotate_and_a_failing_one_is_benched(tmp_path: Path, site: FaultServer) -> None:
    site.links = [f"/ok/{i}" for i in range(12)]
    with ForwardProxy() as good, ForwardProxy() as other, ForwardProxy(fail=True) as bad:
        proxy_file = tmp_path / "proxies.txt"
        proxy_file.write_text(f"{good.url}\n{other.url}\n")
        cli = make_cli(tmp_path / "rotate", concurrency=1, per_host=1)
        summary = crawl(cli, f"{site.url}/", "--proxy-file", str(proxy_file), "--ignore-robots")
        assert summary["pages_fetched"] == 13
        assert good.hits + other.hits == 13 and abs(good.hits - other.hits) <= 1
        assert summary["proxies"][good.url]["requests"] == good.hits

        proxy_file.write_text(f"{bad.url}\n{good.url}\n")
        good.reset()
        cli = make_cli(tmp_path / "bench", concurrency=1, per_host=1)
        summary = crawl(cli, f"{site.url}/", "--proxy-file", str(proxy_file), "--ignore-robots")
        assert summary["pages_fetched"] == 13 and summary["pages_failed"] == 0
        assert summary["proxies"][bad.url]["benched"] == 1
        assert bad.hits == 3  # three failures in a row, then it sat out the rest

        (tmp_path / "sticky").mkdir()
        (tmp_path / "sticky" / "voidx.toml").write_text(
            f'[crawl]\nproxy_mode = "sticky"\nproxies = ["{good.url}", "{other.url}"]\n')
        good.reset()
        other.reset()
        crawl(Cli(tmp_path / "sticky"), f"{site.url}/", "--ignore-robots")
        assert sorted([good.hits, other.hits]) == [0, 13]  # one host, one proxy
