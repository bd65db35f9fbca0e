"""Reading a test warehouse: one query, read-only, the connection closed before the next step opens the file."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd


@contextmanager
def read_only(warehouse: Path):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        yield con
    finally:
        con.close()


def query_df(warehouse: Path, sql: str, params=()) -> pd.DataFrame:
    with read_only(warehouse) as con:
        return con.execute(sql, list(params)).df()


def query_rows(warehouse: Path, sql: str, params=()) -> list[tuple]:
    with read_only(warehouse) as con:
        return con.execute(sql, list(params)).fetchall()
