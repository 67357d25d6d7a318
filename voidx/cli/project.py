"""Project commands: init, demo, demo-site, and the ones whose stage lands later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from voidx.cli.app import (
    EXIT_FAILED,
    EXIT_USAGE,
    app,
    app_context,
    emit,
    err,
    out,
    report_error,
)
from voidx.config import EXAMPLE_CONFIG
from voidx.errors import NotAvailableError, VoidxError


@app.command("init")
def init_cmd(ctx: typer.Context,
             force: bool = typer.Option(False, "--force", help="Overwrite an existing voidx.toml.")
             ) -> None:
    """Write a commented example voidx.toml and create the project's .voidx/ store."""
    from voidx.store import Store

    app_ctx = app_context(ctx)
    project = (app_ctx.project or Path.cwd()).resolve()
    config = (app_ctx.config or project / "voidx.toml").resolve()
    if config.exists() and not force:
        report_error(app_ctx, f"{config} exists already (use --force to overwrite it)")
        raise typer.Exit(EXIT_USAGE)
    project.mkdir(parents=True, exist_ok=True)
    config.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    try:
        settings = app_ctx.settings()
        with Store(settings.db_path) as store:
            version = store.schema_version()
    except VoidxError as exc:
        report_error(app_ctx, str(exc))
        raise typer.Exit(exc.exit_code) from None
    emit(app_ctx, {"config": str(config), "db": str(settings.db_path), "schema_version": version},
         lambda r: out.print(f"wrote {r['config']}\nstore  {r['db']} (schema {version})\n"
                             "next: edit the \\[\\[sources]] in voidx.toml, then `voidx run`"))


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    days: int = typer.Option(5, "--days", min=1, max=60, help="Simulated days to crawl."),
    products: int = typer.Option(300, "--products", min=10, help="Products in the demo shop."),
    port: int = typer.Option(0, "--port", help="Port for the demo shop (0: any free port)."),
) -> None:
    """Run the whole pipeline on the bundled demo shop over several simulated days."""
    from voidx.pipeline import run_demo

    app_ctx = app_context(ctx)
    project = (app_ctx.project or Path.cwd()).resolve()
    from voidx.ops.logging import setup_logging

    setup_logging(app_ctx.log_level, project / ".voidx" / "logs")
    say = (lambda m: None) if app_ctx.json else (lambda m: err.print(m, highlight=False))
    try:
        result = run_demo(project, days=days, products=products, start=app_ctx.as_of,
                          port=port, step=say)
    except VoidxError as exc:
        report_error(app_ctx, str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None

    def render(r: dict[str, Any]) -> None:
        kinds = ", ".join(f"{v} {k}" for k, v in sorted(r["alerts_by_kind"].items())) or "none"
        out.print(f"\n[bold]{r['products']}[/bold] products tracked over {len(r['days'])} days; "
                  f"[bold]{r['alerts']}[/bold] alerts ({kinds}); {r['elapsed_s']:.1f} s")
        out.print(f"report: {r['report']}")
        out.print(f"store:  {r['db']}  (try: voidx --db {r['db']} query "
                  "\"SELECT name, price FROM products ORDER BY price DESC LIMIT 5\")")

    emit(app_ctx, result, render)


@app.command("demo-site")
def demo_site_cmd(
    ctx: typer.Context,
    port: int = typer.Option(8000, "--port", help="Port to listen on (0: any free port)."),
    day: int = typer.Option(1, "--day", min=1, help="Simulated day: prices and stock move with it."),
    products: int = typer.Option(300, "--products", min=10, help="Products in the catalog."),
    seed: int = typer.Option(7, "--seed", help="Catalog seed (same seed, same shop)."),
) -> None:
    """Serve the bundled demo shop on 127.0.0.1 (Ctrl-C stops)."""
    from voidx.demo import Catalog, DemoShopServer, ShopSite

    site = ShopSite(Catalog(n_products=products, seed=seed), day=day)
    server = DemoShopServer(site, port=port)
    try:
        server.serve_forever(on_ready=lambda s: err.print(
            f"demo shop ({products} products, day {day}) on {s.url}/ (Ctrl-C stops)"))
    except OSError as exc:
        report_error(app_context(ctx), f"--port {port}: cannot listen: {exc.strerror or exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        pass


def _later(ctx: typer.Context, command: str, what: str) -> None:
    report_error(app_context(ctx), str(NotAvailableError(command, what)))
    raise typer.Exit(EXIT_FAILED)


@app.command("schedule")
def schedule_cmd(ctx: typer.Context) -> None:
    """Run the schedules of voidx.toml (or print crontab lines for them)."""
    _later(ctx, "schedule", "schedules land with the operations issue; use cron with `voidx run`")


@app.command("worker")
def worker_cmd(ctx: typer.Context) -> None:
    """Start a Celery worker that fetches and extracts for a coordinator (scale-out)."""
    _later(ctx, "worker", "Celery scale-out lands with the operations issue")


@app.command("bot")
def bot_cmd(ctx: typer.Context) -> None:
    """Answer questions about the store in Telegram."""
    _later(ctx, "bot", "the Telegram bot lands with the API issue")
