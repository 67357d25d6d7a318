"""Export of the store's public tables as JSON, JSON lines or CSV, streamed row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from voidx.errors import UsageError
from voidx.store.db import Store

# table name -> (SQL, JSON-encoded columns to decode)
EXPORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pages": ("SELECT url, source, final_url, status_code, content_type, content_hash, fetched_at,"
              " first_fetched_at, changed_at, renderer, bytes, elapsed_ms, error FROM pages"
              " ORDER BY url", ()),
    "products": ("SELECT url, name, price, currency, availability, sku, gtin, brand, category,"
                 " rating, review_count, image, method, first_seen, last_seen, source"
                 " FROM products ORDER BY url", ()),
    "history": ("SELECT id, url, source, valid_from, valid_to, price, currency, availability,"
                " record FROM price_history ORDER BY url, valid_from, id", ("record",)),
    "alerts": ("SELECT id, kind, subject, severity, observed_at, details, fingerprint"
               " FROM alerts ORDER BY observed_at, id", ("details",)),
    "quarantine": ("SELECT url, content_hash, source, reason, extracted_at FROM quarantine"
                   " ORDER BY url", ()),
    "runs": ("SELECT id, command, args, as_of, started_at, ended_at, status, counters, error"
             " FROM runs ORDER BY id", ("args", "counters")),
}
FORMATS = ("json", "jsonl", "csv")


def export_rows(store: Store, table: str) -> Iterator[dict[str, Any]]:
    if table not in EXPORTS:
        raise UsageError(f"TABLE: expected one of {', '.join(EXPORTS)}, got {table!r}")
    sql, json_columns = EXPORTS[table]
    for row in store.execute(sql):
        item = dict(row)
        for column in json_columns:
            if item.get(column) is not None:
                item[column] = json.loads(item[column])
        yield item


def write_export(store: Store, table: str, fmt: str, out: TextIO) -> int:
    if fmt not in FORMATS:
        raise UsageError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    rows = export_rows(store, table)
    count = 0
    if fmt == "jsonl":
        for count, row in enumerate(rows, start=1):  # noqa: B007
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "json":
        out.write("[")
        for count, row in enumerate(rows, start=1):
            out.write(("," if count > 1 else "") + "\n" + json.dumps(row, ensure_ascii=False))
        out.write("\n]\n" if count else "]\n")
    else:
        writer: csv.DictWriter[str] | None = None
        for count, row in enumerate(rows, start=1):  # noqa: B007
            flat = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(flat))
                writer.writeheader()
            writer.writerow(flat)
    return count
