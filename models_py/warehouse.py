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
