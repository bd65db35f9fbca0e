"""The revision log (models_py/revisions.py): what a new or revised delivery changed, recorded exactly once."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from models_py import revisions
from models_py.contracts import DELIVERED_TABLES
from models_py.ingest import DeliveryError, ingest_table
from tests.helpers.delivery_factory import rewrite_manifest, valid_tables, write_delivery
from tests.helpers.warehouse import query_rows


def load(warehouse, landing, year, tables=DELIVERED_TABLES, finalize=True):
    """What the ingest asset does for each table-year: capture, replace, finalize."""
    for table in tables:
        revisions.capture(warehouse, year, table)
        ingest_table(warehouse, landing / str(year), year, table)
        if finalize:
            revisions.finalize(warehouse, year, table, run_id="test")


def log(warehouse) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select * exclude (recorded_at) from raw.revision_log order by register_year, table_name, rows_after"
        ).df()
    finally:
        con.close()


def revised_2001() -> dict[str, pd.DataFrame]:
    """2001 re-delivered: one event's country corrected, one income row dropped, and one late
    administrative emigration dated in 2000 added."""
    tables = valid_tables(2001)
    tables["migration_events"].loc[0, "country"] = "DNK"  # changed
    late = pd.DataFrame(
        {
            "event_id": ["E2001-3"],
            "person_id": ["P1"],
            "direction": ["out"],
            "event_date": [dt.date(2000, 11, 1)],
            "registration_date": [dt.date(2001, 2, 1)],
            "country": [None],
            "registration_type": ["administrative"],
            "immigration_reason": [None],
            "municipality": ["0301"],
        }
    )
    tables["migration_events"] = pd.concat([tables["migration_events"], late], ignore_index=True)  # added
    tables["income"] = tables["income"].iloc[1:].reset_index(drop=True)  # removed
    return tables


@pytest.fixture
def loaded(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    for year in (2000, 2001):
        write_delivery(landing, year)
        load(warehouse, landing, year)
    return landing, warehouse


def test_first_deliveries_are_logged_as_initial_loads(loaded):
    _, warehouse = loaded
    entries = log(warehouse)
    assert len(entries) == 2 * len(DELIVERED_TABLES)
    assert set(entries["kind"]) == {"initial"}
    persons = entries[(entries.table_name == "persons") & (entries.register_year == 2001)].iloc[0]
    assert (persons.rows_before, persons.rows_after, persons.rows_added, persons.rows_removed) == (0, 5, 5, 0)
    assert persons.from_sha256 is None and len(persons.to_sha256) == 64


def test_a_revision_logs_added_removed_changed_rows_and_emigrations_per_event_year(loaded):
    landing, warehouse = loaded
    emigrations_2000_before = query_rows(
        warehouse, "select count(*) from raw.migration_events where direction = 'out' and year(event_date) = 2000"
    )[0][0]
    write_delivery(landing, 2001, revised_2001(), vintage="2003-01-15")
    load(warehouse, landing, 2001)

    entries = log(warehouse)
    revised = entries[entries.kind == "revision"].set_index("table_name")
    # only the tables whose file changed are logged; persons, status and education are identical files
    assert sorted(revised.index) == ["income", "migration_events"]
    assert revised.loc[
        "migration_events", ["rows_before", "rows_after", "rows_added", "rows_removed", "rows_changed"]
    ].tolist() == [2, 3, 1, 0, 1]
    assert revised.loc["income", ["rows_added", "rows_removed", "rows_changed"]].tolist() == [0, 1, 0]
    assert (
        str(revised.loc["income", "from_vintage"])[:10] == "2002-03-31"
        and str(revised.loc["income", "to_vintage"])[:10] == "2003-01-15"
    )

    per_year = query_rows(
        warehouse,
        "select event_year, registration_type, emigrations_before, emigrations_after"
        " from raw.revision_emigrations order by all",
    )
    assert (2000, "administrative", emigrations_2000_before, emigrations_2000_before + 1) in per_year
    reported_2001 = [r for r in per_year if r[0] == 2001 and r[1] == "reported"][-1]
    assert reported_2001[2] == reported_2001[3]  # the corrected country changes no count
    # nothing left behind
    assert query_rows(warehouse, "select count(*) from raw.revision_pending") == [(0,)]
    assert query_rows(warehouse, "select count(*) from raw._revision_before_migration_events") == [(0,)]


def test_reingesting_an_unchanged_delivery_logs_nothing(loaded):
    landing, warehouse = loaded
    before = log(warehouse)
    load(warehouse, landing, 2001)
    pd.testing.assert_frame_equal(log(warehouse), before)


def test_an_interrupted_ingestion_logs_the_revision_exactly_once(loaded):
    """Killed after the replacement committed but before the log was written: the next run resumes
    from the kept capture (the state before the first attempt) and writes one correct entry."""
    landing, warehouse = loaded
    write_delivery(landing, 2001, revised_2001(), vintage="2003-01-15")
    load(warehouse, landing, 2001, tables=["migration_events"], finalize=False)  # "killed" here
    assert query_rows(warehouse, "select count(*) from raw.revision_pending") == [(1,)]
    assert revisions.capture(warehouse, 2001, "migration_events") == "resumed"
    ingest_table(warehouse, landing / "2001", 2001, "migration_events")
    revisions.finalize(warehouse, 2001, "migration_events", run_id="rerun")
    revised = log(warehouse).query("kind == 'revision'")
    assert len(revised) == 1
    assert revised[["rows_added", "rows_removed", "rows_changed"]].iloc[0].tolist() == [1, 0, 1]


def test_a_refused_delivery_changes_nothing_and_is_logged_once_fixed(loaded):
    landing, warehouse = loaded
    folder = write_delivery(landing, 2001, revised_2001(), vintage="2003-01-15")
    good = (folder / "migration_events.parquet").read_bytes()
    (folder / "migration_events.parquet").write_bytes(good[:-10] + b"0123456789")  # checksum no longer matches
    revisions.capture(warehouse, 2001, "migration_events")
    with pytest.raises(DeliveryError):
        ingest_table(warehouse, folder, 2001, "migration_events")
    assert query_rows(warehouse, "select count(*) from raw.migration_events where register_year = 2001") == [(2,)]
    assert log(warehouse).query("kind == 'revision'").empty

    (folder / "migration_events.parquet").write_bytes(good)  # the producer re-sends it
    rewrite_manifest(folder, vintage="2003-01-20")
    load(warehouse, landing, 2001, tables=["migration_events"])
    revised = log(warehouse).query("kind == 'revision'")
    assert revised[["rows_before", "rows_after", "rows_added"]].iloc[0].tolist() == [2, 3, 1]


def test_the_year_pass_logs_what_table_by_table_logs(tmp_path, loaded):
    """The Dagster ingestion (ingest_year with a run id: capture, load and log in the year's one
    transaction) writes the same revision log as capture / ingest_table / finalize."""
    from models_py.ingest import ingest_year

    landing, warehouse = loaded
    year_pass = tmp_path / "year.duckdb"
    for year in (2000, 2001):
        ingest_year(year_pass, landing / str(year), year, run_id="test")
    write_delivery(landing, 2001, revised_2001(), vintage="2003-01-15")
    load(warehouse, landing, 2001)
    results = ingest_year(year_pass, landing / "2001", 2001, run_id="test")
    pd.testing.assert_frame_equal(log(year_pass), log(warehouse))
    assert results["income"].revision.kind == "revision" and results["persons"].revision is None
    assert query_rows(year_pass, "select count(*) from raw.revision_pending") == [(0,)]
