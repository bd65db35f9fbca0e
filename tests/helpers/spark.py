"""Helpers for the DuckDB/Spark parity test (tests/integration/test_spark_parity.py, make test-spark).

The same dbt project is built on DuckDB (target dev) and on local Spark (target spark, session
method); every model's output is then compared row by row as canonical text. Spark reads the raw
deliveries as Parquet directories, one per table, exported here from the DuckDB warehouse and
registered by the on-run-start macro register_raw_sources_on_spark (dbt/macros/engine.sql).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from models_py import engine
from models_py.contracts import DELIVERED_TABLES

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt"
DBT_BIN = Path(sys.executable).parent / "dbt"
RAW_TABLES = DELIVERED_TABLES
# floats are compared after rounding to this many significant digits: the engines sum in different
# orders, so the last bits of a double may differ; 9 digits is far below any published precision
FLOAT_DIGITS = 9


def missing_requirement() -> str | None:
    """Why the Spark parity test cannot run here, or None."""
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return (
            "Java is missing (install OpenJDK 17, e.g. apt-get install openjdk-17-jre-headless): "
            "Spark parity not tested"
        )
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (the `spark` extra of pyproject.toml): Spark parity not tested"
    return None


def spark_env(run_dir: Path, raw_dir: Path) -> dict[str, str]:
    """Environment of a dbt-on-Spark step: the pipeline's (models_py.engine), with the raw Parquet folder here."""
    return {**engine.spark_env(run_dir), "REGISTER_SPARK_RAW_DIR": str(raw_dir)}


def export_raw_parquet(warehouse: Path, out_dir: Path) -> dict[str, int]:
    """raw.<table> of the DuckDB warehouse -> out_dir/<table>/ (models_py.engine.export_raw_parquet)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return engine.export_raw_parquet(con, RAW_TABLES, out_dir)
    finally:
        con.close()


def run_dbt(target: str, args: list[str], target_path: Path, env: dict[str, str], log_path: Path):
    """One dbt invocation; per-target artefacts apart (--target-path), or each switch re-parses."""
    (target_path / "run_results.json").unlink(missing_ok=True)
    full_env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", **env)
    cmd = [
        str(DBT_BIN),
        *args,
        "--target",
        target,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
    ]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, cwd=ROOT, check=False)


def run_problems(target_path: Path) -> list[str]:
    """Every node of the last dbt invocation that did not succeed (model errors, test failures,
    skips), with dbt's message, from run_results.json (run_dbt removes the previous one)."""
    path = target_path / "run_results.json"
    if not path.exists():
        return [f"no run_results.json in {target_path}: dbt stopped before running any node"]
    out = []
    for r in json.loads(path.read_text())["results"]:
        if r["status"] not in ("success", "pass"):
            message = " ".join(str(r.get("message") or "").split())
            out.append(f"{r['unique_id']}: {r['status']}: {message[:600]}")
    return out


def models(target_path: Path) -> list[tuple[str, str, str]]:
    """(name, schema, relation name) of every enabled model in the manifest."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    out = []
    for node in manifest["nodes"].values():
        if (
            node["resource_type"] == "model"
            and node["config"].get("enabled", True)
            and node["config"].get("materialized") != "ephemeral"
        ):
            out.append((node["name"], node["schema"], node.get("alias") or node["name"]))
    return sorted(out)


def canonical(value) -> str:
    """Text rendering shared by both engines: NULL, numbers (integral values exactly, others to
    FLOAT_DIGITS significant digits), booleans, dates, strings (quoted, so '1' differs from 1)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, decimal.Decimal)):
        x = float(value)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        return f"{x:.{FLOAT_DIGITS}g}"
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(canonical(v) for v in value) + "]"
    return repr(value)


def canonical_rows(columns: list[str], rows) -> Counter:
    """Multiset of rows as text, columns in name order (Spark moves partition columns last)."""
    order = sorted(range(len(columns)), key=lambda i: columns[i].lower())
    return Counter("(" + ", ".join(canonical(row[i]) for i in order) + ")" for row in rows)


def duckdb_rows(con, schema: str, name: str) -> tuple[list[str], Counter]:
    rel = con.table(f"{schema}.{name}")
    return [c.lower() for c in rel.columns], canonical_rows(rel.columns, rel.fetchall())


def spark_session(run_dir: Path):
    """A Spark session on the metastore and warehouse dbt wrote (models_py.engine.spark_session)."""
    return engine.spark_session(run_dir)


def spark_rows(spark, schema: str, name: str) -> tuple[list[str], Counter]:
    df = spark.table(f"{schema}.{name}")
    return [c.lower() for c in df.columns], canonical_rows(df.columns, df.collect())


def difference(
    model: str, duck: tuple[list[str], Counter], spark: tuple[list[str], Counter], sample: int = 5
) -> str | None:
    """None if both outputs hold the same rows (as multisets), else a description with a sample of
    the rows only one engine produced (`except all` both ways)."""
    (dcols, drows), (scols, srows) = duck, spark
    if sorted(dcols) != sorted(scols):
        return (
            f"{model}: columns differ: only DuckDB {sorted(set(dcols) - set(scols))}, "
            f"only Spark {sorted(set(scols) - set(dcols))}"
        )
    only_duck, only_spark = drows - srows, srows - drows
    if not only_duck and not only_spark:
        return None
    cols = ", ".join(sorted(dcols))
    lines = [
        f"{model}: {sum(drows.values())} rows on DuckDB, {sum(srows.values())} on Spark; "
        f"{sum(only_duck.values())} only on DuckDB, {sum(only_spark.values())} only on Spark; columns ({cols})"
    ]
    lines += [f"  duckdb only: {r}" for r in sorted(only_duck)[:sample]]
    lines += [f"  spark only:  {r}" for r in sorted(only_spark)[:sample]]
    return "\n".join(lines)
