"""What ``voidx status`` and ``/health`` report: recent runs and what the store holds."""

from __future__ import annotations

from typing import Any

from voidx.config import Settings
from voidx.store import RunLedger, Store

COUNTS = {
    "frontier_queued": "SELECT COUNT(*) FROM frontier WHERE status IN ('queued', 'claimed')",
    "pages": "SELECT COUNT(*) FROM pages",
    "fetches": "SELECT COUNT(*) FROM fetches",
    "extracted": "SELECT COUNT(*) FROM extractions WHERE status = 'ok'",
    "quarantined": "SELECT COUNT(*) FROM extractions WHERE status = 'quarantined'",
    "products": "SELECT COUNT(*) FROM products",
    "versions": "SELECT COUNT(*) FROM price_history",
    "alerts": "SELECT COUNT(*) FROM alerts",
}


def judge_runs(ledger: RunLedger, recent: list[dict[str, Any]]) -> str:
    """ok, degraded (a recent run failed or was killed) or failing (the last run failed).
    Marks runs whose process is gone as abandoned, in the list given (read-only)."""
    for r in recent:  # a killed process cannot say so itself; this read-only view can
        if r["status"] == "running" and not ledger.is_live(r["id"]):
            r["status"] = "abandoned"
    if recent and recent[0]["status"] == "failed":
        return "failing"
    return "degraded" if any(r["status"] in ("failed", "abandoned") for r in recent) else "ok"


def project_status(store: Store, settings: Settings, runs: int = 10) -> dict[str, Any]:
    ledger = RunLedger(store)
    recent = ledger.recent(limit=runs)
    health = judge_runs(ledger, recent)
    counts = {key: int(store.scalar(sql) or 0) for key, sql in COUNTS.items()}
    running = [r for r in recent if r["status"] == "running"]
    return {"health": health, "db": str(settings.db_path),
            "config": str(settings.config_path) if settings.config_path.exists() else None,
            "schema_version": store.schema_version(), "counts": counts,
            "running": [r["id"] for r in running], "runs": recent}
