"""The whole path through Dagster on a tiny simulated register."""
from __future__ import annotations

import hashlib

import dagster as dg
import duckdb
import pandas as pd
import pytest

from models_py.contracts import DELIVERED_TABLES
from models_py.delivery import delivery_years
from tests.conftest import resources_for

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def run_job(env, selection=None, years=None, log_messages: list | None = None):
    from dagster_project.definitions import build_definitions

    defs = build_definitions(resources_for(env))
    years = years or delivery_years(env.landing)
    # Dispose the instance when done: it registers itself as the current defs-state storage (a
    # context variable) until disposed, and a later load would find a dead instance there.
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("register_year", delivery_years(env.landing))
        job = defs.resolve_job_def("full_rebuild")
        if selection is not None:
            job = job.get_subset(asset_selection=set(selection.resolve(defs.resolve_asset_graph())))
        result = job.execute_in_process(instance=instance, tags={RANGE_START: years[0], RANGE_END: years[-1]},
                                        raise_on_error=False)
        if log_messages is not None:
            log_messages.extend(e.user_message for e in instance.all_logs(result.run_id) if e.user_message)
        return result


def raw_fingerprint(warehouse) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in (*DELIVERED_TABLES, "quarantine"):
            rows = con.execute(f"select * exclude (vintage) from raw.{table} order by all").fetchall()
            out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


@pytest.fixture
def built(dbt_manifest, pipeline_env):
    result = run_job(pipeline_env)
    return pipeline_env, result


def test_full_materialization_publishes_a_report(built):
    env, result = built
    assert result.success
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []
    index = env.reports / "latest" / "index.html"
    assert index.exists()
    rates = pd.read_csv(env.reports / "latest" / "rate_emigration_year_sex.csv")
    years = [int(y) for y in delivery_years(env.landing)]
    assert set(rates["year"]) <= set(years) and len(rates) > 0
    # disclosure control: no published count between 1 and disclosure_min_count - 1
    from models_py.settings import setting

    min_count = int(setting("disclosure_min_count"))
    counts = [c for c in rates.columns if c in ("emigrations", "administrative_emigrations",
                                                "multi_migrant_emigrations", "population_jan1")]
    assert len(counts) >= 2
    for column in counts:
        values = rates[column].dropna()
        assert not ((values > 0) & (values < min_count)).any(), column
    # every delivered row is accounted for
    con = duckdb.connect(str(env.warehouse), read_only=True)
    balance = con.execute(
        "select sum(delivered), sum(accepted + quarantined) from raw.ingest_log"
    ).fetchone()
    con.close()
    assert balance[0] == balance[1] and balance[0] > 0


def test_rematerializing_a_partition_is_idempotent(built):
    env, _ = built
    before = raw_fingerprint(env.warehouse)
    year = delivery_years(env.landing)[3]
    again = run_job(env, selection=dg.AssetSelection.groups("ingest"), years=[year])
    assert again.success
    assert raw_fingerprint(env.warehouse) == before


def panel_fingerprint(warehouse) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select * from marts.fct_person_year order by person_id, year").fetchall()
    finally:
        con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_a_run_for_the_newest_year_rebuilds_the_panel_from_its_lookback_window(built):
    """Through Dagster: the dbt step of a run taking in one (newest) year rebuilds the panel's batches
    from year - panel_lookback_years only (no full refresh), and the panel is what it was."""
    from dagster_project.automation import lookahead_years

    env, first = built
    assert first.success
    before = panel_fingerprint(env.warehouse)
    newest = delivery_years(env.landing)[-1]
    messages: list[str] = []
    again = run_job(env, years=[newest], log_messages=messages)
    assert again.success
    start = int(newest) - lookahead_years()
    assert f"dbt build --event-time-start {start}-01-01 --event-time-end {int(newest) + 1}-01-01" in messages, \
        [m for m in messages if m.startswith("dbt ")]
    assert panel_fingerprint(env.warehouse) == before
