"""Report building: gather the figures with DuckDB, render a jinja2 template to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

import voidx
from voidx.clock import now_ts
from voidx.errors import UsageError
from voidx.intel import duck
from voidx.intel.prices import list_alerts
from voidx.store import Run, Store

FORMATS = {"html": "report.html.j2", "md": "report.md.j2"}

PRODUCTS_SQL = """
WITH first AS (
    SELECT url, arg_min(price, valid_from) AS first_price, COUNT(*) AS versions,
           MIN(price) AS low, MAX(price) AS high
    FROM price_history GROUP BY url
)
SELECT p.url, p.name, p.brand, p.category, p.price, p.currency, p.availability, p.method,
       p.first_seen, p.last_seen, f.first_price, f.versions, f.low, f.high,
       CASE WHEN f.first_price > 0 AND p.price IS NOT NULL
            THEN round((p.price - f.first_price) / f.first_price * 100, 1) END AS change_pct
FROM products p JOIN first f USING (url)
ORDER BY abs(coalesce(change_pct, 0)) DESC, p.name
"""


def template_dirs(project_dir: Path) -> list[Path]:
    """A project's own reports/templates first, then the ones voidx ships."""
    package = Path(voidx.__file__).parent
    return [d for d in (project_dir / "reports" / "templates",
                        package.parent / "reports" / "templates",
                        package / "report" / "templates") if d.is_dir()]


def gather(store: Store, db_path: Path) -> dict[str, Any]:
    con = duck.connect(db_path)
    try:
        columns, found = duck.rows(con, PRODUCTS_SQL)
        products = [dict(zip(columns, r, strict=True)) for r in found]
        _, summary = duck.rows(con, """
            SELECT (SELECT COUNT(*) FROM products),
                   (SELECT COUNT(*) FROM price_history),
                   (SELECT COUNT(*) FROM pages),
                   (SELECT COUNT(*) FROM fetches),
                   (SELECT COUNT(*) FROM extractions WHERE status = 'quarantined'),
                   (SELECT MIN(valid_from) FROM price_history),
                   (SELECT MAX(last_seen) FROM products)""")
    finally:
        con.close()
    n_products, n_versions, n_pages, n_fetches, n_quarantined, since, until = summary[0]
    alerts = list_alerts(store)
    by_kind: dict[str, int] = {}
    for a in alerts:
        by_kind[a["kind"]] = by_kind.get(a["kind"], 0) + 1
    return {
        "summary": {"products": n_products, "versions": n_versions, "pages": n_pages,
                    "fetches": n_fetches, "quarantined": n_quarantined, "since": since,
                    "until": until, "alerts": len(alerts), "alerts_by_kind": by_kind,
                    "in_stock": sum(p["availability"] == "in_stock" for p in products),
                    "out_of_stock": sum(p["availability"] == "out_of_stock" for p in products)},
        "products": products,
        "alerts": sorted(alerts, key=lambda a: a["observed_at"], reverse=True),
    }


def build_report(store: Store, db_path: Path, project_dir: Path, run: Run, *,
                 output: Path | None = None, fmt: str = "html", title: str = "voidx report"
                 ) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise UsageError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    data = gather(store, db_path)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in
                                                             template_dirs(project_dir)]),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined)
    env.filters["money"] = _money
    env.filters["tojson_compact"] = lambda v: json.dumps(v, separators=(",", ":"))
    template = env.get_template(FORMATS[fmt])
    generated = now_ts()
    html = template.render(title=title, generated_at=generated, as_of=run.as_of or generated,
                           **data)
    if output is None:
        stamp = (run.as_of or generated).replace(":", "").replace("-", "")
        output = project_dir / ".voidx" / "reports" / f"report-{stamp}.{fmt}"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    counts = {"products": data["summary"]["products"], "alerts": data["summary"]["alerts"]}
    run.counters.update(counts)
    return {"report": str(output), **counts}


def _money(value: float | None, currency: str | None = None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f} {currency or ''}".strip()
