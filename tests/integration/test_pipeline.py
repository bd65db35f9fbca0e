"""The whole path through Dagster on a tiny simulated register."""

from __future__ import annotations

import hashlib

import dagster as dg
import duckdb
import pandas as pd
import pytest

from models_py.delivery import delivery_years
from tests.helpers.dagster_runs import raw_fingerprint
from tests.helpers.pipeline import run_years


@pytest.fixture
def built(dbt_manifest, pipeline_env):
    result = run_years(pipeline_env)
    return pipeline_env, result


def test_full_materialization_publishes_a_report(published_pipeline):
    env, result = published_pipeline
    assert result.success
    # no check of severity ERROR failed; a WARN check (small input cells of study A's series on a tiny register)
    # may, and says so in its metadata
    failed = [
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert failed == []
    latest = env.reports / "latest"
    assert (latest / "index.html").exists()
    rates = pd.read_csv(latest / "exhibits" / "p_fig_rate_year_sex.csv")
    years = [int(y) for y in delivery_years(env.landing)]
    assert set(rates["year"]) <= set(years) and len(rates) > 0
    assert set(rates["sex_label"]) == {"Men", "Women"}
    # every delivered row is accounted for
    con = duckdb.connect(str(env.warehouse), read_only=True)
    balance = con.execute("select sum(delivered), sum(accepted + quarantined) from raw.ingest_log").fetchone()
    con.close()
    assert balance[0] == balance[1] and balance[0] > 0


def test_no_published_count_is_disclosive(published_report):
    """Every column the registry declares a count is 0, at least min_persons, or suppressed, in every CSV."""
    from models_py.exhibits.registry import load_registry
    from models_py.publish.disclosure import load_settings

    smallest = load_settings()["min_persons"]
    checked = 0
    for exhibit in load_registry():
        path = published_report / "exhibits" / f"{exhibit.id}.csv"
        if not path.exists():
            continue
        table = pd.read_csv(path)
        for column in (exhibit.disclosure or {}).get("counts", {}):
            values = pd.to_numeric(table[column], errors="coerce").dropna()
            assert not ((values > 0) & (values < smallest)).any(), (exhibit.id, column)
            checked += 1
    assert checked >= 5


def test_rematerializing_a_partition_is_idempotent(built):
    env, _ = built
    before = raw_fingerprint(env.warehouse)
    year = delivery_years(env.landing)[3]
    again = run_years(env, [year], selection=dg.AssetSelection.groups("ingest"))
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
    again = run_years(env, [newest], log_messages=messages)
    assert again.success
    start = int(newest) - lookahead_years()
    assert f"dbt build --event-time-start {start}-01-01 --event-time-end {int(newest) + 1}-01-01" in messages, [
        m for m in messages if m.startswith("dbt ")
    ]
    assert panel_fingerprint(env.warehouse) == before
