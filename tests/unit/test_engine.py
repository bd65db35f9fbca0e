"""The engine setting and the raw hand-over to Spark (models_py/engine.py); the Spark side runs in make test-spark."""

from __future__ import annotations

import os

import duckdb
import pytest

from models_py import engine


def test_the_engine_is_duckdb_unless_set_and_a_wrong_name_is_an_error(monkeypatch):
    monkeypatch.delenv(engine.ENV_ENGINE, raising=False)
    assert engine.engine() == "duckdb"
    monkeypatch.setenv(engine.ENV_ENGINE, " Spark ")
    assert engine.engine() == "spark"
    monkeypatch.setenv(engine.ENV_ENGINE, "postgres")
    with pytest.raises(ValueError, match="REGISTER_ENGINE='postgres'"):
        engine.engine()


def test_raw_tables_go_to_one_parquet_folder_each_and_a_new_export_replaces_the_old(tmp_path):
    con = duckdb.connect()
    con.execute("create schema raw; create table raw.persons as select range as person_id from range(5)")
    con.execute("create table raw.income as select range as person_id, 1.5 as earned from range(3)")
    out = tmp_path / "raw"
    assert engine.export_raw_parquet(con, ["persons", "income"], out) == {"persons": 5, "income": 3}
    (out / "persons" / "stale.parquet").write_bytes(b"left from an earlier export")
    con.execute("delete from raw.persons where person_id > 1")
    assert engine.export_raw_parquet(con, ["persons"], out) == {"persons": 2}
    assert sorted(p.name for p in (out / "persons").iterdir()) == ["part-0.parquet"]
    folder = str(out / "persons" / "part-0.parquet")
    assert duckdb.read_parquet(folder).aggregate("count(*)").fetchall() == [(2,)]


def test_spark_env_keeps_spark_beside_the_warehouse(tmp_path):
    run_dir = engine.spark_run_dir(tmp_path / "w.duckdb")
    env = engine.spark_env(run_dir)
    assert run_dir == tmp_path / "w.duckdb.spark"
    assert env["REGISTER_SPARK_DIR"] == str(run_dir) and env["REGISTER_SPARK_RAW_DIR"] == str(run_dir / "raw")


def test_a_relation_name_that_is_not_an_identifier_is_refused_before_spark_starts(tmp_path):
    with pytest.raises(ValueError, match="not a plain relation name"):
        engine.copy_spark_relations(duckdb.connect(), [("main", "ok"), ("main", "x; drop table y")], tmp_path)


def test_duckdb_memory_limit_is_a_share_of_the_machine_unless_set(monkeypatch):
    """The dbt build's DuckDB limit: the variable wins; unset, a fifth of physical memory in whole GB (at least 1),
    so that the process tree stays under a third of the machine with DuckDB's overshoot and Dagster beside it."""
    from models_py import settings

    monkeypatch.setenv(settings.ENV_DUCKDB_MEMORY_LIMIT, "3GB")
    assert settings.duckdb_memory_limit() == "3GB"
    monkeypatch.delenv(settings.ENV_DUCKDB_MEMORY_LIMIT)
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert settings.duckdb_memory_limit() == f"{max(1, int(physical * settings.DUCKDB_MEMORY_SHARE / 1e9))}GB"
    monkeypatch.setattr(os, "sysconf", lambda name: {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2**20}[name])  # 4 GiB
    assert settings.duckdb_memory_limit() == "1GB"
