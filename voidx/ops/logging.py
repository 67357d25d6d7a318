"""Logging: human lines on stderr, structured JSON lines in .voidx/logs/voidx.jsonl, secrets masked.

Every event carries the run id, command and stage bound with ``logger.bind`` /
``logger.contextualize``; extra keyword fields become JSON fields, so ``voidx logs`` can filter.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|_KEY)$", re.IGNORECASE)
SECRET_SHAPES = re.compile(r"(sk-ant-[A-Za-z0-9_\-]{8,}|bot\d{6,}:[A-Za-z0-9_\-]{20,})")
MASK = "***"
LOG_FILE = "voidx.jsonl"


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= 6}
    # A secret can reach a message URL-encoded (in a query string, say).
    encoded = {quote(v, safe="") for v in values} | {quote_plus(v) for v in values}
    return sorted(values | encoded, key=len, reverse=True)


def mask(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, MASK)
    return SECRET_SHAPES.sub(MASK, text)


def _mask_any(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {k: _mask_any(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_any(v, secrets) for v in value]
    return value


def setup_logging(level: str = "info", log_dir: Path | None = None) -> None:
    """Replace loguru's handlers with voidx's stderr and JSON-file sinks."""
    secrets = secret_values()

    def patch(record: Record) -> None:
        record["message"] = mask(record["message"], secrets)
        record["extra"].update(_mask_any(dict(record["extra"]), secrets))

    logger.remove()
    logger.configure(patcher=patch)
    stderr_fmt = ("<dim>{time:HH:mm:ss}</dim> <level>{level: <7}</level> "
                  "{extra[stage]: <8} {message}")
    logger.configure(extra={"stage": "-", "run_id": None, "command": None})
    logger.add(sys.stderr, level=level.upper(), format=stderr_fmt,
               colorize=sys.stderr.isatty(), backtrace=False, diagnose=False)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        logger.add(log_dir / LOG_FILE, level="DEBUG", format=_json_line, rotation="20 MB",
                   retention=5, enqueue=False, backtrace=False, diagnose=False)


def _json_line(record: Record) -> str:
    event = {
        "ts": datetime.fromtimestamp(record["time"].timestamp(), UTC)
        .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "level": record["level"].name.lower(),
        "message": record["message"],
        **{k: v for k, v in record["extra"].items() if k != "_json"},
    }
    if record["exception"] is not None and record["exception"].value is not None:
        event["error"] = repr(record["exception"].value)
    record["extra"]["_json"] = json.dumps(event, default=str)
    return "{extra[_json]}\n"


def read_events(log_dir: Path) -> list[dict[str, Any]]:
    """Every structured event in the log files, oldest first (rotated files included)."""
    files = sorted(log_dir.glob("voidx*.jsonl"), key=lambda p: p.stat().st_mtime)
    events = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return events
