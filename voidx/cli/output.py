"""Commands that read the store: query, export, report, serve, status, logs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from voidx.cli.app import (
    app,
    app_context,
    emit,
    err,
    execute,
    out,
    render_summary,
    report_error,
)
from voidx.config import Settings
from voidx.errors import UsageError, VoidxError
from voidx.ops.status import project_status
from voidx.store import Run, Store
from voidx.store.export import EXPORTS, FORMATS, write_export


@app.command("query")
def query_cmd(
    ctx: typer.Context,
    sql: str = typer.Argument(..., help="DuckDB SQL over the store's tables, e.g. "
                              "\"SELECT name, price FROM products ORDER BY price DESC LIMIT 5\"."),
    limit: int = typer.Option(None, "--limit", min=1, help="Print at most this many rows."),
) -> None:
    """Run a DuckDB SQL query over the store (read-only); --json prints an array of rows."""
    from voidx.intel import duck


    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        con = duck.connect(settings.db_path)
        try:
            duck.check_read_only(con, sql)
            columns, rows = duck.rows(con, sql)
        except UsageError:
            raise
        except Exception as exc:  # DuckDB's parser and binder errors
            message = str(exc).splitlines()[0]
            raise UsageError(f"query: {message}") from None
        finally:
            con.close()
        if limit is not None:
            rows = rows[:limit]
        return {"columns": columns, "rows": [_jsonable(dict(zip(columns, r, strict=True)))
                                             for r in rows]}

    def render(result: dict[str, Any]) -> None:
        table = Table(*result["columns"], title=f"{len(result['rows'])} rows",
                      title_justify="left")
        for row in result["rows"]:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        out.print(table)

    app_ctx = app_context(ctx)
    if app_ctx.json:
        # The contract: `voidx query --json` prints the array of row objects itself.
        execute(ctx, "query", {}, lambda s, st, r: work(s, st, r)["rows"], None, record=False,
                readonly=True)
    else:
        execute(ctx, "query", {}, work, render, record=False, readonly=True)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if v is None or isinstance(v, str | int | float | bool | list | dict)
                else str(v)) for k, v in row.items()}


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    table: str = typer.Argument(..., help=f"One of: {', '.join(EXPORTS)}."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default stdout)."),
) -> None:
    """Write a table (pages, products, history, alerts, ...) as JSON, JSON lines or CSV."""
    if table not in EXPORTS:
        from voidx.cli.app import fail_usage
        fail_usage(f"TABLE: expected one of {', '.join(EXPORTS)}, got {table!r}")

    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        if output is None:
            count = write_export(store, table, fmt, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                count = write_export(store, table, fmt, fh)
        return {"table": table, "format": fmt, "rows": count,
                "output": str(output) if output else None}

    def quiet(result: dict[str, Any]) -> None:
        if output is not None:
            err.print(f"wrote {result['rows']} rows to {output}")

    app_ctx = app_context(ctx)
    # To stdout, the rows themselves are the output (in every mode).
    app_ctx_json, app_ctx.json = app_ctx.json, app_ctx.json and output is not None
    try:
        execute(ctx, "export", {}, work, quiet, record=False, readonly=True)
    finally:
        app_ctx.json = app_ctx_json


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the report "
                                "(default .voidx/reports/report-<as-of>.<format>)."),
    fmt: str = typer.Option("html", "--format", "-f", help="html or md."),
    title: str = typer.Option("voidx report", "--title", help="Title of the report."),
) -> None:
    """Render a report (products, price changes, alerts) from reports/templates/."""
    from voidx.report.build import build_report


    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        return build_report(store, settings.db_path, settings.project_dir, run,
                            output=output, fmt=fmt, title=title)

    execute(ctx, "report", {"format": fmt}, work, render_summary("report"))


@app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on (0: any free port)."),
) -> None:
    """Serve the store read-only as JSON: /products, /history, /alerts, /runs, /health."""
    from voidx.api.server import make_server

    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        server = make_server(settings.db_path, host, port)
        address = f"http://{host}:{server.server_address[1]}"
        err.print(f"serving {settings.db_path} read-only on {address} (Ctrl-C stops)")
        if app_context(ctx).json:
            sys.stdout.write(json.dumps({"url": address}) + "\n")
            sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return {"url": address, "stopped": True}

    execute(ctx, "serve", {}, work, lambda r: None, record=False, readonly=True)


@app.command("status")
def status_cmd(ctx: typer.Context,
               runs: int = typer.Option(10, "--runs", min=1, help="How many recent runs.")
               ) -> None:
    """Say whether all is well: recent runs, their counters, and what the store holds."""

    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        return project_status(store, settings, runs)

    def render(result: dict[str, Any]) -> None:
        render_summary("store")(result["counts"])
        table = Table("id", "command", "status", "started", "counters",
                      title="recent runs", title_justify="left")
        for r in result["runs"]:
            shown = {k: v for k, v in r["counters"].items()
                     if isinstance(v, int | float) and v and not k.startswith("llm_")}
            counters = ", ".join(f"{k}={v}" for k, v in list(shown.items())[:4])
            table.add_row(str(r["id"]), r["command"], r["status"], r["started_at"],
                          counters + (f" | {r['error']}" if r["error"] else ""))
        out.print(table)
        out.print(f"health: [bold]{result['health']}[/bold]")

    app_ctx = app_context(ctx)
    try:
        settings = app_ctx.settings()
    except VoidxError as exc:
        report_error(app_ctx, str(exc))
        raise typer.Exit(exc.exit_code) from None
    if not settings.db_path.exists():
        emit(app_ctx, {"health": "empty", "db": str(settings.db_path), "counts": {},
                       "runs": []}, lambda r: out.print(f"no store yet at {r['db']}"))
        return
    execute(ctx, "status", {}, work, render, record=False, readonly=True)


@app.command("logs")
def logs_cmd(
    ctx: typer.Context,
    run_id: int = typer.Option(None, "--run", help="Only events of this run id."),
    level: str = typer.Option(None, "--level", help="Only events at or above this level."),
    stage: str = typer.Option(None, "--stage", help="Only events of this stage."),
    grep: str = typer.Option(None, "--grep", help="Only events whose message contains this."),
    tail: int = typer.Option(50, "--tail", min=1, help="The last N matching events."),
) -> None:
    """Show structured log events from .voidx/logs, filtered by run, level, stage or text."""
    from voidx.ops.logging import read_events

    order = ["trace", "debug", "info", "success", "warning", "error", "critical"]

    def work(store: Store, settings: Settings, run: Run) -> dict[str, Any]:
        events = read_events(settings.log_dir)
        if run_id is not None:
            events = [e for e in events if e.get("run_id") == run_id]
        if level:
            floor = order.index(level.lower()) if level.lower() in order else 0
            events = [e for e in events if order.index(e.get("level", "info")) >= floor]
        if stage:
            events = [e for e in events if e.get("stage") == stage]
        if grep:
            events = [e for e in events if grep.lower() in str(e.get("message", "")).lower()]
        return {"events": events[-tail:]}

    def render(result: dict[str, Any]) -> None:
        for e in result["events"]:
            out.print(f"{e.get('ts')} {e.get('level', ''):<7} run={e.get('run_id')} "
                      f"{e.get('stage', '-'):<8} {e.get('message')}", highlight=False,
                      markup=False)

    execute(ctx, "logs", {}, work, render, record=False, readonly=False)
