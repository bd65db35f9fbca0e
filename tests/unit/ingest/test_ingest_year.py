"""The gate's one pass per year (`ingest_year`) against the same gate table by table (`ingest_table`):
same warehouse contents, same refusals with the same messages."""

from __future__ import annotations

import duckdb

from models_py.contracts import DELIVERED_TABLES
from models_py.ingest import DeliveryError, ingest_table, ingest_year, reconcile
from tests.helpers.delivery_factory import valid_tables, write_delivery

YEAR = 2005


def contents(warehouse) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {t: con.execute(f"select * from raw.{t} order by all").fetchall() for t in DELIVERED_TABLES}
        out["quarantine"] = con.execute("select * from raw.quarantine order by all").fetchall()
        out["ingest_log"] = con.execute("select * exclude (loaded_at) from raw.ingest_log order by all").fetchall()
        out["signatures"] = con.execute("select * from raw.delivery_signatures order by all").fetchall()
        return out
    finally:
        con.close()


def by_table(warehouse, folder, year=YEAR) -> dict:
    out = {}
    for table in DELIVERED_TABLES:
        try:
            out[table] = ingest_table(warehouse, folder, year, table)
        except DeliveryError as exc:
            out[table] = exc
    return out


def test_year_pass_loads_what_table_by_table_loads_bad_rows_included(tmp_path):
    tables = valid_tables(YEAR)
    tables["persons"].loc[1, "sex"] = 3  # quarantined, so person 1's rows elsewhere are orphans
    tables["migration_events"].loc[0, "person_id"] = "P99"
    folder = write_delivery(tmp_path / "landing", YEAR, tables)
    one, many = tmp_path / "year.duckdb", tmp_path / "tables.duckdb"
    results = ingest_year(one, folder, YEAR)
    expected = by_table(many, folder)
    assert results == expected
    assert results["migration_events"].quarantined_by_rule == {"person_id.references_persons": 2}
    assert contents(one) == contents(many)
    con = duckdb.connect(str(one), read_only=True)
    try:
        for table in DELIVERED_TABLES:
            counts = reconcile(con, YEAR, table)
            assert counts["balanced"] and counts["delivered"] == len(tables[table]), (table, counts)
    finally:
        con.close()


def test_year_pass_refuses_every_table_with_the_messages_of_the_table_gate(tmp_path):
    good = write_delivery(tmp_path / "landing", YEAR)
    tables = valid_tables(YEAR + 1)
    tables["income"] = tables["income"].drop(columns=["net_wealth"])
    bad = write_delivery(tmp_path / "landing", YEAR + 1, tables)
    one, many = tmp_path / "year.duckdb", tmp_path / "tables.duckdb"
    ingest_year(one, good, YEAR)
    by_table(many, good)
    before = contents(one)
    results = ingest_year(one, bad, YEAR + 1)
    expected = by_table(many, bad, YEAR + 1)
    assert all(isinstance(r, DeliveryError) for r in results.values())
    assert {t: str(r) for t, r in results.items()} == {t: str(r) for t, r in expected.items()}
    assert (results["income"].rule, results["income"].column) == ("column_present", "net_wealth")
    assert {r.rule for t, r in results.items() if t != "income"} == {"delivery_complete"}
    assert contents(one) == before == contents(many)


def test_a_subset_of_tables_is_judged_against_the_whole_delivery(tmp_path):
    tables = valid_tables(YEAR)
    tables["persons"].loc[1, "sex"] = 3
    folder = write_delivery(tmp_path / "landing", YEAR, tables)
    only = ingest_year(tmp_path / "w.duckdb", folder, YEAR, ["income"])
    assert list(only) == ["income"]
    # person 1 is quarantined in persons' own ingestion, so its income row is an orphan here too
    assert only["income"].quarantined_by_rule == {"person_id.references_persons": 1}
