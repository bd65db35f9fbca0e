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
