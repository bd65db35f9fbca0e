"""The data-quality summary per register year, on hand-made deliveries with known content."""

from __future__ import annotations

import duckdb
import pytest

from models_py.contracts import DELIVERED_TABLES
from models_py.ingest import ingest_table
from models_py.quality.summary import COLUMNS, dq_summary, dq_summary_markdown
from models_py.settings import setting
from tests.helpers.delivery_factory import valid_tables, write_delivery

YEARS = (2003, 2004, 2005)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("summary")
    for year in YEARS:
        tables = valid_tables(year)
        if year == 2004:
            tables["persons"].loc[1, "sex"] = 3  # one row quarantined: sex.valid_values
            tables["migration_events"].loc[0, "registration_type"] = "administrative"  # P4's emigration
            tables["migration_events"].loc[0, "country"] = None
        for table in DELIVERED_TABLES:
            ingest_table(root / "w.duckdb", write_delivery(root / "landing", year, tables), year, table)
    return root / "w.duckdb"


def value(df, year, table, measure, rule="all"):
    row = df[(df.register_year == year) & (df.table == table) & (df.measure == measure) & (df.rule == rule)]
    assert len(row) == 1, (year, table, measure, rule)
    return row.value.iloc[0]


def test_summary_counts_rows_by_table_and_rule(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    df = dq_summary(con, provisional_years=2)
    con.close()
    assert list(df.columns) == COLUMNS
    assert sorted(df.register_year.unique()) == list(YEARS)
    assert value(df, 2004, "persons", "delivered") == 5
    assert value(df, 2004, "persons", "accepted") == 4
    assert value(df, 2004, "persons", "quarantined") == 1
    assert value(df, 2004, "persons", "quarantined", "sex.valid_values") == 1
    assert value(df, 2003, "persons", "quarantined") == 0
    for year in YEARS:  # delivered = accepted + quarantined for every table
        for table in DELIVERED_TABLES:
            assert value(df, year, table, "delivered") == value(df, year, table, "accepted") + value(
                df, year, table, "quarantined"
            )
    assert value(df, 2004, "migration_events", "emigrations") == 1
    assert value(df, 2004, "migration_events", "administrative_share") == 1.0
    assert value(df, 2004, "migration_events", "unknown_destination_share") == 1.0
    assert value(df, 2003, "migration_events", "administrative_share") == 0.0
    provisional = df.groupby("register_year").provisional.agg(set).to_dict()
    assert provisional == {2003: {False}, 2004: {True}, 2005: {True}}


def test_provisional_window_comes_from_the_dbt_var(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    df = dq_summary(con)
    con.close()
    k = int(setting("provisional_years"))
    assert sorted(df[df.provisional].register_year.unique()) == [y for y in YEARS if y > max(YEARS) - k]


def test_markdown_has_one_line_per_year_with_aggregates_only(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    text = dq_summary_markdown(dq_summary(con, provisional_years=1))
    con.close()
    lines = text.splitlines()
    assert len(lines) == 2 + len(YEARS)
    # the quarantined person (P1) takes their four rows in the other tables along
    assert lines[3] == (
        "| 2004 | 20 | 15 | 5 | education.person_id.references_persons: 1, "
        "income.person_id.references_persons: 1, migration_events.person_id.references_persons: 1, "
        "persons.sex.valid_values: 1, population_status.person_id.references_persons: 1 "
        "| 1 | 100.0 % | 100.0 % | no |"
    )
    assert lines[4].endswith("| yes |")
    assert "P1" not in text and "P2" not in text


def test_empty_warehouse_gives_an_empty_summary():
    con = duckdb.connect()
    df = dq_summary(con)
    assert df.empty and list(df.columns) == COLUMNS
    assert "no deliveries ingested" in dq_summary_markdown(df)
