"""The ingestion gate on hand-made deliveries with known content."""

from __future__ import annotations

import duckdb
import pytest

from models_py.contracts import DELIVERED_TABLES
from models_py.ingest import DeliveryError, ingest_table, reconcile
from tests.helpers.delivery_factory import valid_tables, write_delivery

YEAR = 2005


def ingest_all(warehouse, folder, year=YEAR):
    return {t: ingest_table(warehouse, folder, year, t) for t in DELIVERED_TABLES}


def table_rows(warehouse, table):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"select * exclude (vintage) from raw.{table} order by all").fetchall()
    finally:
        con.close()


def test_valid_delivery_is_accepted_whole(tmp_path):
    folder = write_delivery(tmp_path / "landing", YEAR)
    results = ingest_all(tmp_path / "w.duckdb", folder)
    expected = {name: len(df) for name, df in valid_tables(YEAR).items()}
    assert {t: r.accepted for t, r in results.items()} == expected
    assert all(r.quarantined == 0 for r in results.values())


def test_reingesting_a_year_replaces_it_and_never_duplicates(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    folder = write_delivery(tmp_path / "landing", YEAR)
    other = write_delivery(tmp_path / "landing", YEAR + 1)
    ingest_all(warehouse, folder)
    ingest_all(warehouse, other, YEAR + 1)
    first = {t: table_rows(warehouse, t) for t in DELIVERED_TABLES}
    ingest_all(warehouse, folder)  # the same year again
    assert {t: table_rows(warehouse, t) for t in DELIVERED_TABLES} == first
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select register_year, count(*) from raw.persons group by 1 order by 1").fetchall() == [
        (YEAR, 5),
        (YEAR + 1, 5),
    ]
    con.close()


def test_bad_rows_are_quarantined_with_their_rule_and_nothing_is_lost(tmp_path):
    tables = valid_tables(YEAR)
    tables["persons"].loc[1, "sex"] = 3  # not a valid code
    tables["migration_events"].loc[0, "person_id"] = "P99"  # orphan event
    folder = write_delivery(tmp_path / "landing", YEAR, tables)
    warehouse = tmp_path / "w.duckdb"
    results = ingest_all(warehouse, folder)
    assert results["persons"].quarantined_by_rule == {"sex.valid_values": 1}
    # the orphan event, and person 1's own event: person 1 is quarantined, so it is no parent
    assert results["migration_events"].quarantined_by_rule == {"person_id.references_persons": 2}
    for table in ("population_status", "education", "income"):  # person 1's rows follow it
        assert results[table].quarantined_by_rule == {"person_id.references_persons": 1}, table
    con = duckdb.connect(str(warehouse), read_only=True)
    # nothing in the warehouse refers to a person that is not there
    for table in ("population_status", "migration_events", "education", "income"):
        assert (
            con.execute(f"select count(*) from raw.{table} anti join raw.persons using (person_id)").fetchone()[0] == 0
        )
    for table in DELIVERED_TABLES:
        counts = reconcile(con, YEAR, table)
        assert counts["balanced"], (table, counts)
        assert counts["delivered"] == len(tables[table])
    con.close()


def test_structural_error_names_delivery_table_column_and_rule_and_leaves_warehouse(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    folder = write_delivery(tmp_path / "landing", YEAR)
    ingest_all(warehouse, folder)
    before = table_rows(warehouse, "income")
    tables = valid_tables(YEAR)
    tables["income"] = tables["income"].drop(columns=["net_wealth"])
    bad = write_delivery(tmp_path / "landing", YEAR, tables)
    with pytest.raises(DeliveryError) as err:
        ingest_table(warehouse, bad, YEAR, "income")
    message = str(err.value)
    assert str(bad) in message and "table income" in message and "column net_wealth" in message
    assert "rule column_present" in message
    assert table_rows(warehouse, "income") == before
