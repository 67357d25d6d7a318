"""The command-line contract: help, global options, --json output, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli, voidx_process
from voidx.cli import hoist_global_options
from voidx.demo import DemoShopServer

CONTRACT_COMMANDS = ["init", "crawl", "extract", "etl", "ingest", "dq", "analyze", "anomalies",
                     "alerts", "report", "serve", "bot", "run", "schedule", "status", "logs",
                     "query", "export", "worker", "demo", "demo-site"]


def test_help_names_every_command(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in CONTRACT_COMMANDS:
        assert f" {command} " in result.stdout, command


def test_broken_config_exits_2_with_its_line_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "voidx.toml").write_text('[crawl]\nconcurrency = 4\nbogus = true\n')
    result = Cli(tmp_path)("crawl")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: voidx.toml line 3: crawl.bogus: unknown key"
    assert not (tmp_path / ".voidx" / "voidx.db").exists()
    # the same through the real process
    proc = voidx_process(tmp_path, "--json", "etl")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    assert err.strip().splitlines() == ["error: voidx.toml line 3: crawl.bogus: unknown key"]


def test_bad_global_options_exit_2(cli: Cli) -> None:
    result = cli("--as-of", "yesterday", "status")
    assert result.exit_code == 2 and "--as-of: not an ISO 8601 timestamp" in result.stderr
    assert cli("--log-level", "loud", "status").exit_code == 2
    assert cli("export", "nope").exit_code == 2
    assert cli("crawl", "--max-pages", "0").exit_code == 2


def test_commands_of_later_stages_say_so_with_exit_1(cli: Cli, project: Path) -> None:
    for command in ("ingest", "dq", "anomalies", "schedule", "worker", "bot"):
        result = cli(command)
        assert result.exit_code == 1, command
        assert "is not available yet" in result.stderr and result.stdout == ""
    assert not (project / ".voidx" / "voidx.db").exists()


def test_global_options_after_the_command() -> None:
    assert hoist_global_options(["demo", "--json", "--days", "2"]) == ["--json", "demo", "--days",
                                                                       "2"]
    assert hoist_global_options(["query", "select 1", "--db", "x.db"]) == ["--db", "x.db",
                                                                           "query", "select 1"]
    assert hoist_global_options(["export", "pages", "--", "--json"]) == ["export", "pages", "--",
                                                                         "--json"]


def test_status_on_an_empty_project_parses(tmp_path: Path) -> None:
    status = Cli(tmp_path).ok("status")
    assert status["health"] == "empty" and status["runs"] == []


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    result = cli.ok("init")
    assert Path(result["config"]).exists() and Path(result["db"]).exists()
    assert cli("init").exit_code == 2  # never overwrites without --force
    assert cli.ok("init", "--force")["schema_version"] >= 5


def test_query_errors_are_usage_errors(cli: Cli) -> None:
    cli.ok("etl")  # creates the store
    result = cli("query", "SELEC nonsense")
    assert result.exit_code == 2 and result.stderr.startswith("error: query: ")
    assert cli.ok("query", "SELECT 1 AS one, 'a' AS two") == [{"one": 1, "two": "a"}]


def test_ad_hoc_crawl_and_partial_exit_code(tmp_path: Path, shop: DemoShopServer) -> None:
    cli = Cli(tmp_path)  # no voidx.toml at all
    result = cli("--json", "crawl", f"{shop.url}/category/books", f"{shop.url}/no-such-page",
                 "--max-depth", "0")
    assert result.exit_code == 3, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["pages_fetched"], summary["pages_failed"]) == (1, 1)
    pages = {p["url"]: p for p in map(json.loads, cli("export", "pages").stdout.splitlines())}
    assert pages[f"{shop.url}/no-such-page"]["status_code"] == 404
    assert pages[f"{shop.url}/no-such-page"]["error"] == "HTTP 404"
    status = cli.ok("status")
    assert status["runs"][0]["status"] == "partial"
    (tmp_path / "other").mkdir()
    everything_fails = Cli(tmp_path / "other")("crawl", f"{shop.url}/missing")
    assert everything_fails.exit_code == 1
    assert "every page failed" in everything_fails.stderr


def test_demo_json(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    result = cli.ok("demo", "--days", "3", "--products", "60")
    assert Path(result["report"]).exists()
    assert result["products"] == 58  # the shop's JavaScript-only products need a browser
    assert [d["day"] for d in result["days"]] == [1, 2, 3]
    assert result["alerts"] == sum(result["alerts_by_kind"].values()) > 0
    runs = Cli(tmp_path).ok("--db", result["db"], "status")["runs"]
    assert {r["command"] for r in runs} >= {"crawl", "extract", "etl", "analyze", "report"}


def test_logs_are_structured_and_secrets_masked(cli: Cli, project: Path,
                                                monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("VOIDX_TELEGRAM_TOKEN", "123456:SECRET-TOKEN-VALUE")
    monkeypatch.setenv("VOIDX_CRAWL__RETRIES", "0")
    result = cli("crawl", "http://127.0.0.1:9/?token=123456:SECRET-TOKEN-VALUE")
    assert result.exit_code == 1
    assert "SECRET-TOKEN-VALUE" not in result.stderr
    log = (project / ".voidx" / "logs" / "voidx.jsonl").read_text()
    assert "SECRET-TOKEN-VALUE" not in log
    events = [json.loads(line) for line in log.splitlines()]
    failed = [e for e in events if e["message"].startswith("failed ")]
    assert failed and failed[0]["run_id"] == 1 and failed[0]["command"] == "crawl"
    assert failed[0]["url"].startswith("http://127.0.0.1:9/") and "***" in failed[0]["url"]
    shown = cli.ok("logs", "--run", "1", "--level", "warning")["events"]
    assert shown and all(e["run_id"] == 1 for e in shown)


def test_query_is_read_only(cli: Cli, project: Path) -> None:
    cli.ok("crawl", "--max-pages", "5")
    for sql in ("DELETE FROM pages", "ATTACH 'x.db' AS w (TYPE sqlite)",
                "COPY (SELECT 1) TO 'out.csv'", "SELECT 1; DROP TABLE pages"):
        result = cli("query", sql)
        assert result.exit_code == 2, sql
        assert "only SELECT statements" in result.stderr
    assert cli("query", "SELECT * FROM read_csv('/etc/passwd')").exit_code == 2
    assert cli.ok("query", "SELECT COUNT(*) AS n FROM pages") == [{"n": 5}]
    assert not (project / "out.csv").exists()


def test_alerts_since_is_a_timestamp(cli: Cli) -> None:
    cli.ok("etl")
    assert cli("alerts", "--since", "yesterday").exit_code == 2
    assert cli.ok("alerts", "--since", "2026-03-01")["alerts"] == []
