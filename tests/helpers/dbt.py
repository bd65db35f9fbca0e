"""Running dbt on a test warehouse, and loading simulated deliveries into raw without the ingestion gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

from models_py.contracts import DELIVERED_TABLES

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt"
DBT_BIN = Path(sys.executable).parent / "dbt"
if not DBT_BIN.exists():  # pragma: no cover
    DBT_BIN = ROOT / ".venv" / "bin" / "dbt"


def run_dbt(warehouse: Path, *args: str, check: bool = True, extra_env: dict | None = None):
    env = dict(os.environ, REGISTER_WAREHOUSE=str(warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.update(extra_env or {})
    target = warehouse.parent / "dbt_target"
    cmd = [
        str(DBT_BIN),
        *args,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(warehouse.parent / "dbt_logs"),
    ]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{res.stdout[-8000:]}\n{res.stderr[-3000:]}")
    return res


def load_landing(landing: Path, con: duckdb.DuckDBPyConnection) -> list[int]:
    """dbt's input without the ingestion gate, for tests of the dbt layer alone: every year's parquet ->
    raw.<table> with register_year and vintage from the manifest (one statement per table; file paths are bound
    as parameters, table names come from the contracts' list)."""
    con.execute("create schema if not exists raw")
    years = sorted(int(p.name) for p in landing.iterdir() if p.is_dir() and p.name.isdigit())
    mans = {y: json.loads((landing / str(y) / "manifest.json").read_text()) for y in years}
    con.register("vintages", pd.DataFrame({"ry": years, "vintage": [pd.Timestamp(mans[y]["vintage"]) for y in years]}))
    for t in DELIVERED_TABLES:
        files = [str(landing / str(y) / mans[y]["tables"][t]["file"]) for y in years]
        con.execute(
            f"""
            create or replace table raw.{t} as
            select d.* exclude (filename), cast(v.ry as smallint) as register_year, cast(v.vintage as date) as vintage
            from read_parquet(?, filename = true) as d
            join vintages as v on v.ry = cast(regexp_extract(d.filename, '([0-9]{{4}})[/\\\\][^/\\\\]+$', 1) as integer)
        """,
            [files],
        )
        delivered = sum(m["tables"][t]["rows"] for m in mans.values())
        assert con.execute(f"select count(*) from raw.{t}").fetchall()[0][0] == delivered, t
    con.unregister("vintages")
    return years
