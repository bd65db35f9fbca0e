"""Failed runs change nothing (issue 15, item 7): a register year is replaced in one transaction, and
a run whose later blocking check fails leaves raw as it was before the run (restore points,
models_py/revisions.py; the full_rebuild hooks, dagster_project/jobs.py)."""

from __future__ import annotations

import hashlib

import dagster as dg
import duckdb
import pytest

from dagster_project.partitions import PARTITION_NAME
from models_py import ingest as gate
from models_py import revisions
from models_py.contracts import DELIVERED_TABLES
from models_py.ingest import IngestResult, ingest_year
from tests.helpers.delivery_factory import valid_tables, write_delivery

YEAR = 2005
# every raw table that holds per-year state (the restore point covers them all)
STATE = (*DELIVERED_TABLES, "quarantine", "ingest_log", "delivery_signatures", "revision_log")


VOLATILE = {"ingest_log": "exclude (loaded_at)", "revision_log": "exclude (recorded_at, run_id)"}


def raw_hashes(warehouse) -> dict[str, str]:
    """Per raw table, a hash of its rows (load times and run ids left out); empty tables when there is
    no warehouse yet."""
    if not warehouse.exists():
        return {t: hashlib.sha256(repr([]).encode()).hexdigest() for t in STATE}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        present = {
            n for (n,) in con.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()
        }
        out = {}
        for table in STATE:
            sql = f"select * {VOLATILE.get(table, '')} from raw.{table} order by all"
            rows = con.execute(sql).fetchall() if table in present else []
            out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def revised(year: int):
    """A genuine re-delivery: one income row dropped, one emigration's destination corrected."""
    tables = valid_tables(year)
    tables["income"] = tables["income"].iloc[1:].reset_index(drop=True)
    tables["migration_events"].loc[0, "country"] = "DNK"
    return tables


@pytest.fixture
def loaded(tmp_path):
    """(warehouse holding two good years, loaded by a finished run, landing)."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    for year in (YEAR - 1, YEAR):
        results = ingest_year(warehouse, write_delivery(landing, year), year, run_id="good-run")
        assert all(isinstance(r, IngestResult) for r in results.values()), results
    revisions.release(warehouse, "good-run")
    return warehouse, landing


def test_a_refused_fifth_table_replaces_no_table_of_the_year(loaded):
    warehouse, landing = loaded
    before = raw_hashes(warehouse)
    tables = revised(YEAR)
    tables["income"] = tables["income"].drop(columns=["net_wealth"])  # the 5th table is refused
    results = ingest_year(warehouse, write_delivery(landing, YEAR, tables, vintage="2007-01-15"), YEAR, run_id="r2")
    assert list(results) == list(DELIVERED_TABLES) and DELIVERED_TABLES[-1] == "income"
    assert (results["income"].rule, results["income"].column) == ("column_present", "net_wealth")
    assert {results[t].rule for t in DELIVERED_TABLES[:-1]} == {"delivery_complete"}
    assert raw_hashes(warehouse) == before
    assert revisions.pending_runs(warehouse) == []  # nothing was replaced, so nothing to restore


def test_a_crash_in_the_fifth_table_rolls_back_the_four_before_it(loaded, monkeypatch):
    """The four tables before income were replaced inside the year's transaction when the fifth
    failed: none of the replacements is visible, nor the restore point or the revision log."""
    warehouse, landing = loaded
    before = raw_hashes(warehouse)
    real, loaded_tables = gate._load_table, []

    def load_or_crash(con, delivery_dir, year, table, *rest):
        if table == "income":
            raise RuntimeError("disk full")
        loaded_tables.append(table)
        return real(con, delivery_dir, year, table, *rest)

    monkeypatch.setattr(gate, "_load_table", load_or_crash)
    folder = write_delivery(landing, YEAR, revised(YEAR), vintage="2007-01-15")
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_year(warehouse, folder, YEAR, run_id="r2")
    assert loaded_tables == list(DELIVERED_TABLES[:-1])
    assert raw_hashes(warehouse) == before
    assert revisions.pending_runs(warehouse) == []


def test_restore_puts_back_every_table_of_the_years_a_run_changed(loaded):
    warehouse, landing = loaded
    before = raw_hashes(warehouse)
    write_delivery(landing, YEAR, revised(YEAR), vintage="2007-01-15")
    results = ingest_year(warehouse, landing / str(YEAR), YEAR, run_id="r2")
    assert results["income"].revision.rows_removed == 1  # the revision log is written in the same transaction
    assert raw_hashes(warehouse) != before
    assert revisions.pending_runs(warehouse) == ["r2"]
    assert revisions.restore(warehouse, "r2") == [YEAR]
    assert raw_hashes(warehouse) == before  # the revision log entry of the undone load is gone too
    assert revisions.pending_runs(warehouse) == [] and revisions.restore(warehouse, "r2") == []


def test_leftover_points_are_settled_by_the_status_of_their_run(loaded):
    warehouse, landing = loaded
    before = raw_hashes(warehouse)
    write_delivery(landing, YEAR, revised(YEAR), vintage="2007-01-15")
    ingest_year(warehouse, landing / str(YEAR), YEAR, run_id="killed")
    changed = raw_hashes(warehouse)
    status = {"killed": "running"}
    assert revisions.settle(warehouse, "next", status.get) == {}  # still running: left alone
    assert raw_hashes(warehouse) == changed
    status["killed"] = "failed"
    assert revisions.settle(warehouse, "next", status.get) == {"killed": "restored"}
    assert raw_hashes(warehouse) == before
    ingest_year(warehouse, landing / str(YEAR), YEAR, run_id="finished")
    assert revisions.settle(warehouse, "next", lambda run: "done") == {"finished": "released"}
    assert raw_hashes(warehouse) == changed  # a finished run's load stays


# ------------------------------------------------------------------------------ through Dagster
def ingest_job(landing, warehouse, reports, fail_check: bool):
    """The project's ingest multi-asset and balance checks with the full_rebuild hooks, plus (when
    `fail_check`) a blocking check that fails: a later gate refusing what the ingestion loaded."""
    from dagster_project.assets.ingest import ingest_assets
    from dagster_project.checks.ingest_checks import ingest_checks
    from dagster_project.jobs import RAW_HOOKS
    from dagster_project.partitions import register_years
    from dagster_project.resources import RegisterPaths, Warehouse

    @dg.asset_check(asset=dg.AssetKey(["raw", "income"]), blocking=True, partitions_def=register_years)
    def later_gate():
        return dg.AssetCheckResult(passed=not fail_check)

    @dg.asset(deps=[dg.AssetKey(["raw", t]) for t in DELIVERED_TABLES])
    def emigration_report():  # stands for the report: the run publishes when it materializes
        return None

    defs = dg.Definitions(
        assets=[*ingest_assets, emigration_report],
        asset_checks=[*ingest_checks, later_gate],
        jobs=[dg.define_asset_job("ingest_years", selection=dg.AssetSelection.all(), hooks=RAW_HOOKS)],
        resources={
            "warehouse": Warehouse(path=str(warehouse)),
            "paths": RegisterPaths(landing=str(landing), reports=str(reports)),
        },
        executor=dg.in_process_executor,
    )
    return defs.resolve_job_def("ingest_years")


def test_a_run_whose_later_blocking_check_fails_leaves_raw_as_before(tmp_path):
    from dagster_project.automation import full_rebuild_tags

    landing, warehouse, reports = tmp_path / "landing", tmp_path / "w.duckdb", tmp_path / "reports"
    years = [str(YEAR - 1), str(YEAR)]
    for year in years:
        write_delivery(landing, int(year))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(PARTITION_NAME, years)

        def run(fail_check: bool):
            return ingest_job(landing, warehouse, reports, fail_check).execute_in_process(
                instance=instance, tags=full_rebuild_tags(years), raise_on_error=False
            )

        first = run(fail_check=False)
        assert first.success
        assert revisions.pending_runs(warehouse) == []  # published: the points are released
        before = raw_hashes(warehouse)

        write_delivery(landing, YEAR, revised(YEAR), vintage="2007-01-15")
        second = run(fail_check=True)
        assert not second.success
        assert [e.check_name for e in second.get_asset_check_evaluations() if not e.passed] == ["later_gate"]
        materialized = {e.asset_key for e in second.get_asset_materialization_events()}
        assert dg.AssetKey(["raw", "income"]) in materialized  # the ingestion itself succeeded ...
        assert dg.AssetKey("emigration_report") not in materialized
        assert raw_hashes(warehouse) == before  # ... and was undone when the gate failed
        assert revisions.pending_runs(warehouse) == []

        third = run(fail_check=False)  # the same re-delivery, now accepted, is loaded and logged once
        assert third.success
    after = raw_hashes(warehouse)
    assert after["income"] != before["income"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        logged = con.execute(
            "select table_name, rows_removed from raw.revision_log where kind = 'revision' order by 1"
        ).fetchall()
    finally:
        con.close()
    assert logged == [("income", 1), ("migration_events", 0)]


def test_a_refused_year_in_a_run_undoes_the_years_loaded_before_it(tmp_path):
    from dagster_project.automation import full_rebuild_tags

    landing, warehouse, reports = tmp_path / "landing", tmp_path / "w.duckdb", tmp_path / "reports"
    years = [str(YEAR - 1), str(YEAR)]
    write_delivery(landing, YEAR - 1)
    tables = valid_tables(YEAR)
    tables["income"] = tables["income"].drop(columns=["net_wealth"])
    write_delivery(landing, YEAR, tables)
    before = raw_hashes(warehouse)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(PARTITION_NAME, years)
        result = ingest_job(landing, warehouse, reports, fail_check=False).execute_in_process(
            instance=instance, tags=full_rebuild_tags(years), raise_on_error=False
        )
    assert not result.success
    [failure] = [e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure]
    assert f"register year {YEAR} refused, no table of it replaced" in failure
    assert "table income, column net_wealth: rule column_present failed" in failure
    assert raw_hashes(warehouse) == before  # the year before it, loaded in the same step, is undone
    assert revisions.pending_runs(warehouse) == []
