"""UTC timestamps in the one format voidx stores and prints: ``2026-03-01T18:00:00Z``."""

from __future__ import annotations

from datetime import UTC, datetime

from voidx.errors import UsageError


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_ts() -> str:
    return format_ts(utcnow())


def parse_ts(text: str, *, option: str = "--as-of") -> datetime:
    """Parse ISO 8601; a value without a zone is taken as UTC, a bare date as midnight UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise UsageError(f"{option}: not an ISO 8601 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)
