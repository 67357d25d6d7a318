"""The Typer app, its global options, and the one way a command runs: ``execute``.

A command parses its options, then hands ``execute`` a function that calls one stage
function; ``execute`` loads the settings (bad config exits 2 before any work), opens the
store, records the run, maps errors to exit codes and prints JSON or a rich rendering.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from loguru import logger
from rich.console import Console

from voidx.clock import format_ts, parse_ts
from voidx.config import Settings, load_settings
from voidx.errors import VoidxError
from voidx.ops.logging import setup_logging
from voidx.store import InterruptedRun, Run, RunTracker, Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
LOG_LEVELS = ("debug", "info", "warning", "error")

app = typer.Typer(
    name="voidx",
    help="Local-first web and data intelligence: crawl, extract, warehouse, analyze, alert, "
         "report and serve, from one SQLite store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class AppContext:
    project: Path | None = None
    db: Path | None = None
    config: Path | None = None
    json: bool = False
    log_level: str = "info"
    as_of: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.project, self.db, self.config)
        return self._settings


@app.callback()
def main_options(
    ctx: typer.Context,
    project: Path = typer.Option(None, "--project", help="Project directory (default: the "
                                 "current one); state lives in DIR/.voidx/voidx.db."),
    db: Path = typer.Option(None, "--db", envvar="VOIDX_DB",
                            help="SQLite store to use instead of DIR/.voidx/voidx.db."),
    config: Path = typer.Option(None, "--config", help="Config file (default DIR/voidx.toml)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout; "
                                  "logs and progress go to stderr."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    as_of: str = typer.Option(None, "--as-of", help="Time recorded for this run's observations"
                              " (ISO 8601, UTC if no zone); default: now."),
) -> None:
    if log_level.lower() not in LOG_LEVELS:
        fail_usage(f"--log-level: expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    try:
        as_of_ts = format_ts(parse_ts(as_of)) if as_of else None
    except VoidxError as exc:
        fail_usage(str(exc))
    ctx.obj = AppContext(project, db, config, json_out, log_level.lower(), as_of_ts)
    setup_logging(log_level.lower(), None)


def fail_usage(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj


def execute(ctx: typer.Context, command: str, args: dict[str, Any],
            work: Callable[[Store, Settings, Run], dict[str, Any]],
            render: Callable[[dict[str, Any]], None] | None = None,
            *, record: bool = True, readonly: bool = False) -> None:
    """Run one command: settings, logging, store, run ledger, errors -> exit codes, output."""
    app_ctx = app_context(ctx)
    code = EXIT_OK
    try:
        settings = app_ctx.settings()
        setup_logging(app_ctx.log_level, settings.log_dir)
        with Store(settings.db_path, readonly=readonly) as store:
            if record and not readonly:
                with RunTracker(store).track(command, args, app_ctx.as_of) as run, \
                        logger.contextualize(run_id=run.id, command=command, stage=command):
                    result = work(store, settings, run)
                    partial = bool(run.counters.get("_partial"))
            else:
                run = Run(id=0, command=command, as_of=app_ctx.as_of)
                with logger.contextualize(command=command, stage=command):
                    result = work(store, settings, run)
                partial = False
        if partial:
            code = EXIT_PARTIAL
        emit(app_ctx, result, render)
    except BrokenPipeError:
        # The reader went away (`voidx export ... | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (KeyboardInterrupt, InterruptedRun):
        err.print("[yellow]interrupted:[/yellow] work done so far is saved; run the command "
                  "again to continue", highlight=False)
        code = EXIT_INTERRUPTED
    except VoidxError as exc:
        report_error(app_ctx, str(exc))
        code = exc.exit_code
    except Exception as exc:
        if app_ctx.log_level == "debug":
            raise
        report_error(app_ctx, f"unexpected {type(exc).__name__}: {exc} "
                              "(run with --log-level debug for the traceback)")
        code = EXIT_FAILED
    if code:
        raise typer.Exit(code)


def report_error(app_ctx: AppContext, message: str) -> None:
    from rich.markup import escape

    from voidx.ops.logging import mask

    err.print(f"[red]error:[/red] {escape(mask(message))}", highlight=False, markup=True)


def emit(app_ctx: AppContext, result: Any, render: Callable[[Any], None] | None) -> None:
    if app_ctx.json or render is None:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
    else:
        render(result)


def render_summary(title: str) -> Callable[[dict[str, Any]], None]:
    """A two-column table of the flat counters of a stage's summary."""
    from rich.table import Table

    def render(result: dict[str, Any]) -> None:
        table = Table(title=title, show_header=False, title_justify="left")
        for key, value in result.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
            elif isinstance(value, list):
                continue
            table.add_row(key, str(value))
        out.print(table)

    return render
