"""Which engine builds the dbt layer, and the hand-over between the engines (shared/spec/distributed_engine.md).

REGISTER_ENGINE=duckdb (default): dbt builds every model in the DuckDB warehouse. REGISTER_ENGINE=spark: the same
dbt project is built on Spark (dbt profile target `spark`, local session): the raw deliveries, which the ingest
gate accepted into the DuckDB warehouse, are handed to Spark as Parquet (one directory per table), dbt builds and
tests every model there, and every model and seed Spark built is copied back into the DuckDB warehouse, so that the
checks, the Python models and the report read the same relations whichever engine built them. On a cluster the raw
tables live in the lake and the copy back would read from it the same way (README "Running on a cluster").

Paths here are operator settings and the project's own folders, never delivery content; tables are moved through
DuckDB relations and the Spark DataFrame API, so no SQL text is built from a path.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

ENV_ENGINE = "REGISTER_ENGINE"
ENGINES = ("duckdb", "spark")
DBT_TARGETS = {"duckdb": "dev", "spark": "spark"}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def engine() -> str:
    """The engine named by REGISTER_ENGINE (default duckdb); anything else is an error, never a silent default."""
    name = os.environ.get(ENV_ENGINE, "duckdb").strip().lower() or "duckdb"
    if name not in ENGINES:
        raise ValueError(f"{ENV_ENGINE}={name!r}: the engine must be one of {', '.join(ENGINES)}")
    return name


def spark_run_dir(warehouse: Path) -> Path:
    """Spark's folder beside the DuckDB warehouse: its warehouse, Derby metastore, raw Parquet and the export."""
    return Path(f"{warehouse}.spark")


def spark_env(run_dir: Path) -> dict[str, str]:
    """Environment of dbt on the `spark` target (dbt/profiles.yml): per-warehouse Spark folder, raw Parquet folder."""
    return {
        "REGISTER_SPARK_DIR": str(run_dir),
        "REGISTER_SPARK_RAW_DIR": str(run_dir / "raw"),
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "TZ": "UTC",
        "PYSPARK_PYTHON": sys.executable,
    }


def export_raw_parquet(con, tables: Iterable[str], out_dir: Path) -> dict[str, int]:
    """raw.<table> of the DuckDB warehouse -> out_dir/<table>/part-0.parquet (Hive wants a directory per table).
    Returns the rows written per table."""
    rows = {}
    for table in tables:
        folder = out_dir / table
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rel = con.table(f"raw.{table}")
        rel.write_parquet(str(folder / "part-0.parquet"))
        rows[table] = rel.aggregate("count(*)").fetchall()[0][0]
    return rows


def spark_session(run_dir: Path):
    """A local Spark session on the metastore and warehouse that dbt wrote (start it after dbt has exited: the Derby
    metastore admits one process). The same settings as the `spark` target of dbt/profiles.yml."""
    os.environ.update({k: v for k, v in spark_env(run_dir).items() if k != "REGISTER_SPARK_RAW_DIR"})
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("register-pipeline")
        .config("spark.sql.warehouse.dir", f"{run_dir}/warehouse")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={run_dir}/metastore_db;create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={run_dir}")
        .config("spark.driver.memory", os.environ.get("REGISTER_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .enableHiveSupport()
        .getOrCreate()
    )


def copy_spark_relations(con, relations: Iterable[tuple[str, str]], run_dir: Path) -> dict[str, int]:
    """Every (schema, name) that dbt built on Spark, replaced in the DuckDB warehouse by Spark's rows: written by Spark
    as Parquet (one folder per relation, under run_dir/export), read by DuckDB into a table of the same name. A
    relation missing on Spark is an error (dbt built it, or the build failed before this point). Returns rows per
    relation."""
    relations = sorted(relations)
    for schema, name in relations:  # names from the dbt manifest, checked before they enter a statement
        if not (IDENTIFIER.match(schema) and IDENTIFIER.match(name)):
            raise ValueError(f"{schema}.{name} is not a plain relation name")
    export = run_dir / "export"
    shutil.rmtree(export, ignore_errors=True)
    spark = spark_session(run_dir)
    rows = {}
    try:
        for schema, name in relations:
            folder = export / schema / name
            spark.table(f"{schema}.{name}").write.mode("overwrite").parquet(str(folder))
            files = sorted(str(p) for p in folder.glob("*.parquet"))
            if not files:
                raise RuntimeError(f"Spark wrote no Parquet file for {schema}.{name}")
            con.execute(f'create schema if not exists "{schema}"')
            kind = con.execute(
                "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()
            if kind:
                con.execute(f'drop {"view" if kind[0][0] == "VIEW" else "table"} "{schema}"."{name}"')
            rel = con.read_parquet(files)
            rel.to_table(f'"{schema}"."{name}"')
            rows[f"{schema}.{name}"] = con.table(f'"{schema}"."{name}"').aggregate("count(*)").fetchall()[0][0]
    finally:
        spark.stop()
    return rows
