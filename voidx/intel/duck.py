"""DuckDB over the SQLite store: the sqlite extension is loaded from its PyPI package, offline."""

from __future__ import annotations

from pathlib import Path

import duckdb

from voidx.errors import StoreError, UsageError


def sqlite_extension_path() -> Path:
    import duckdb_extension_sqlite_scanner as package

    folder = Path(package.__file__).parent / "extensions"
    found = sorted(folder.glob(f"v{duckdb.__version__}/sqlite_scanner.duckdb_extension"))
    if not found:
        raise StoreError(f"DuckDB's sqlite extension for duckdb {duckdb.__version__} is missing:"
                         " install duckdb-extension-sqlite-scanner of the same version")
    return found[0]


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the store attached read-only as the default schema."""
    if not Path(db_path).exists():
        raise StoreError(f"{db_path}: no voidx store here yet (run a stage first)")
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute(f"LOAD '{sqlite_extension_path()}'")
    escaped = str(db_path).replace("'", "''")
    con.execute(f"ATTACH '{escaped}' AS store (TYPE sqlite, READ_ONLY)")
    con.execute("USE store")
    # Queries may read the store and nothing else: no ATTACH of files, no COPY, no read_csv.
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


READ_ONLY = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Only SELECT (and EXPLAIN) statements: a query must never change or attach anything."""
    kinds = {statement.type for statement in con.extract_statements(sql)}
    refused = kinds - READ_ONLY
    if refused:
        names = ", ".join(sorted(k.name for k in refused))
        raise UsageError(f"query: only SELECT statements can run here (got {names})")


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
         ) -> tuple[list[str], list[tuple[object, ...]]]:
    cur = con.execute(sql, params or [])
    columns = [d[0] for d in cur.description] if cur.description else []
    return columns, cur.fetchall()
