"""Writing a data frame into the DuckDB warehouse as a table (the one way the Python assets do it)."""

from __future__ import annotations

import re

import pandas as pd

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def replace_table(con, schema: str, table: str, frame: pd.DataFrame) -> None:
    """Replace <schema>.<table> with the frame. Names are code constants or registry ids, checked as identifiers
    (never delivery content)."""
    for name in (schema, table):
        if not IDENTIFIER.match(name):
            raise ValueError(f"{name!r} is not a plain identifier")
    con.execute(f'create schema if not exists "{schema}"')
    con.register("_frame", frame)
    try:
        con.execute(f'create or replace table "{schema}"."{table}" as select * from _frame')
    finally:
        con.unregister("_frame")


def connect(path, read_only: bool = False, wait_seconds: float = 30.0):
    """Open the warehouse file, waiting while another process still holds DuckDB's file lock.

    Steps that open the warehouse are serialized by the Dagster pool, but a process may release its pool slot a
    moment before the operating system releases its file lock; a step of another run starting in that moment would
    fail with a lock conflict. Other errors are raised at once."""
    import time

    import duckdb

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def drop_orphaned_relations(con, expected: set[tuple[str, str]]) -> list[str]:
    """Drop the tables and views in the schemas of `expected` (schema, name) that are not in it, and name them.

    Why: dbt never drops a relation whose model was renamed or removed, so an existing warehouse would keep
    yesterday's marts beside today's (the 2026-11 renames left `marts.a_bands` beside `marts.dim_a_bands`).
    Only the schemas dbt builds into are touched; the names come from the warehouse's own catalogue."""
    schemas = sorted({schema for schema, _ in expected})
    if not schemas:
        return []
    rows = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables"
        " where table_schema in (select unnest(?::varchar[]))",
        [schemas],
    ).fetchall()
    from models_py.contracts import ident

    dropped = []
    for schema, name, kind in sorted(rows):
        if (schema, name) in expected or not (IDENTIFIER.match(schema) and IDENTIFIER.match(name)):
            continue  # a name dbt could not have made is not dbt's to drop
        statement = "drop view" if kind == "VIEW" else "drop table"
        con.execute(f"{statement} if exists {ident(schema)}.{ident(name)}")
        dropped.append(f"{schema}.{name}")
    return dropped
