"""Pipeline stage commands: crawl, extract, etl, analyze, alerts, run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voidx.cli.app import (
    app,
    app_context,
    err,
    execute,
    out,
    render_summary,
)
from voidx.config import Settings
from voidx.store import Run, Store

# Stage modules are imported inside the commands: a crawl need not load DuckDB or jinja2.


@app.command("crawl")
def crawl_cmd(
    ctx: typer.Context,
    urls: list[str] = typer.Argument(None, help="Start URLs; without --source, their hosts are "
                                     "crawled ad hoc (same host, links followed)."),
    source: str = typer.Option(None, "--source", help="Crawl only this \\[\\[sources]] entry."),
    max_pages: int = typer.Option(None, "--max-pages", min=1, help="Pages per source in this run."),
    max_depth: int = typer.Option(None, "--max-depth", min=0, help="Link depth from the seeds."),
    concurrency: int = typer.Option(None, "--concurrency", min=1, help="Requests in flight."),
    per_host: int = typer.Option(None, "--per-host", min=1, help="Requests in flight per host."),
    delay: float = typer.Option(None, "--delay", min=0, help="Seconds between requests to a host."),
    render: str = typer.Option(None, "--render", help="http, browser (Chromium via Playwright) "
                               "or auto (the browser only for pages that need JavaScript)."),
    allow: list[str] = typer.Option(None, "--allow", help="Follow only URLs matching a regex."),
    deny: list[str] = typer.Option(None, "--deny", help="Never follow URLs matching a regex."),
    ignore_robots: bool = typer.Option(False, "--ignore-robots", help="Do not obey robots.txt."),
    user_agent: str = typer.Option(None, "--user-agent", help="User-Agent header to send."),
    proxy_file: Path = typer.Option(None, "--proxy-file", help="Proxies, one URL per line "
                                    "(rotated per request, or sticky per host by config)."),
) -> None:
    """Fetch pages into the store: resumes an interrupted cycle, else revisits and discovers."""
    from voidx.collect.crawler import CrawlOptions, CrawlStats, crawl, judge

    options = CrawlOptions(urls=urls or [], source=source, max_pages=max_pages,
                           max_depth=max_depth, concurrency=concurrency, per_host=per_host,
                           delay_s=delay, allow=allow or [], deny=deny or [],
                           ignore_robots=ignore_robots, user_agent=user_agent, render=render,
                           proxy_file=proxy_file)
    show_progress = sys.stderr.isatty() and not app_context(ctx).json

    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        if not show_progress:
            return judge(crawl(store, settings.config, run, options, run.as_of), run)
        with Progress(TextColumn("[bold]crawl"), BarColumn(bar_width=None),
                      TextColumn("{task.fields[line]}"), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("crawl", total=None, line="")

            def progress(stats: CrawlStats) -> None:
                s = stats.as_dict()
                bar.update(task, line=f"{s['pages_fetched']} pages · {s['pages_per_s']}/s · "
                                      f"{s['pages_failed']} errors · {s['queued']} queued")

            return judge(crawl(store, settings.config, run, options, run.as_of, progress),
                               run)

    execute(ctx, "crawl", _args(urls=urls, source=source, max_pages=max_pages), work,
            render_summary("crawl"))


@app.command("extract")
def extract_cmd(
    ctx: typer.Context,
    reextract: bool = typer.Option(False, "--reextract", help="Extract every stored page again."),
    budget_usd: float = typer.Option(None, "--budget-usd", min=0,
                                     help="Stop calling the LLM once this much is spent."),
    llm_batch: bool = typer.Option(False, "--llm-batch", help="Send LLM pages as one Message "
                                   "Batch (half the cost, answers within hours)."),
    explain_url: str = typer.Option(None, "--explain", metavar="URL", help="Show every "
                                    "candidate per field for one stored page, and the winner."),
    workers: int = typer.Option(None, "--workers", min=1, help="Processes reading pages when "
                                "the backlog is large (default: \\[extract] workers, else one "
                                "per core)."),
) -> None:
    """Turn fetched pages into product records (JSON-LD, microdata, OpenGraph, selectors, LLM)."""
    from voidx.extract.stage import explain, extract_pending

    if explain_url:
        execute(ctx, "extract", {}, lambda store, settings, run: explain(
            store, settings.config, explain_url), _render_explain, record=False, readonly=True)
        return

    execute(ctx, "extract", _args(reextract=reextract, budget_usd=budget_usd,
                                  llm_batch=llm_batch, workers=workers),
            lambda store, settings, run: extract_pending(
                store, settings.config, run, reextract=reextract, budget_usd=budget_usd,
                llm_batch=llm_batch, workers=workers),
            render_summary("extract"))


def _render_explain(result: dict[str, Any]) -> None:
    out.print(f"[bold]{result['url']}[/bold]: {result['status']}"
              + (f" ({result['reason']})" if result["reason"] else ""))
    table = Table("field", "", "value", "source", "score", "why / where", title_justify="left")
    for c in sorted(result["candidates"], key=lambda c: (c["field"], not c["chosen"],
                                                         -c["score"])):
        table.add_row(c["field"], "✔" if c["chosen"] else "", str(c["value"])[:40], c["source"],
                      f"{c['score']:.1f}" if c["score"] else "",
                      (c["why"] or c["detail"])[:90])
    out.print(table)


@app.command("etl")
def etl_cmd(ctx: typer.Context) -> None:
    """Load extracted records into the warehouse: products and their price history (SCD2)."""
    from voidx.etl.warehouse import load_pending

    execute(ctx, "etl", {}, lambda store, settings, run: load_pending(store, run),
            render_summary("etl"))


@app.command("analyze")
def analyze_cmd(ctx: typer.Context) -> None:
    """Find price drops, spikes and stock changes with DuckDB; store them as alerts."""
    from voidx.intel.prices import analyze


    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        return analyze(store, settings.db_path, settings.config, run)

    def render(result: dict[str, Any]) -> None:
        render_summary("analyze")({k: v for k, v in result.items() if k != "new"})
        _alerts_table(result["new"], "new alerts")

    execute(ctx, "analyze", {}, work, render)


@app.command("alerts")
def alerts_cmd(
    ctx: typer.Context,
    kind: str = typer.Option(None, "--kind", help="Only alerts of this kind."),
    since: str = typer.Option(None, "--since", help="Only alerts observed at or after (ISO)."),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many alerts."),
) -> None:
    """List stored alerts (delivery to channels lands with the notify issue)."""
    from voidx.clock import format_ts, parse_ts
    from voidx.intel.prices import list_alerts

    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        since_ts = format_ts(parse_ts(since, option="--since")) if since else None
        return {"alerts": list_alerts(store, kind=kind, since=since_ts, limit=limit)}

    execute(ctx, "alerts", {}, work, lambda r: _alerts_table(r["alerts"], "alerts"),
            record=False, readonly=True)


def _alerts_table(alerts: list[dict[str, Any]], title: str) -> None:
    table = Table(title=f"{title} ({len(alerts)})", title_justify="left")
    for column in ("observed", "kind", "product", "details"):
        table.add_column(column)
    for a in alerts[-50:]:
        d = a["details"]
        detail = (f"{d['old_price']} → {d['new_price']} {d.get('currency') or ''} "
                  f"({d['change_pct']:+.1f}%)" if "old_price" in d
                  else f"{d.get('was')} → {d.get('now')}")
        table.add_row(a["observed_at"], a["kind"], str(d.get("name") or a["subject"]), detail)
    out.print(table)


@app.command("run")
def run_cmd(ctx: typer.Context) -> None:
    """Run the pipeline once: crawl -> extract -> etl -> analyze (what cron calls)."""
    from voidx.pipeline import run_pipeline


    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        result = run_pipeline(store, settings.db_path, settings.config, run.as_of)
        if result.pop("_partial", False):
            run.counters["_partial"] = True  # some pages failed: exit 3, as crawl would
        return result

    def render(result: dict[str, Any]) -> None:
        for stage, summary in result.items():
            render_summary(stage)(summary)

    execute(ctx, "run", {}, work, render)


from voidx.cli.project import _later  # noqa: E402


@app.command("ingest")
def ingest_cmd(ctx: typer.Context) -> None:
    """Load events from JSON lines, CSV, a REST API or a SQL table into the warehouse."""
    _later(ctx, "ingest", "ingest of [[datasets]] lands with the ETL issue")


@app.command("dq")
def dq_cmd(ctx: typer.Context) -> None:
    """Check data quality expectations on the warehouse's datasets."""
    _later(ctx, "dq", "data quality checks land with the ETL issue")


@app.command("anomalies")
def anomalies_cmd(ctx: typer.Context) -> None:
    """Detect anomalies in time series of the warehouse (NAB-scored detectors)."""
    _later(ctx, "anomalies", "anomaly detection lands with the intelligence issue")


def _args(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v not in (None, [], False)}
