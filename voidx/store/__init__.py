"""The SQLite store every stage reads from and writes to."""

from voidx.store.db import Store, migrations
from voidx.store.runs import InterruptedRun, Run, RunLedger, RunTracker

__all__ = ["InterruptedRun", "Run", "RunLedger", "RunTracker", "Store", "migrations"]
