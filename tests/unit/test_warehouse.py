"""models_py.warehouse: the relations dbt no longer builds are dropped, nothing else."""

import duckdb

from models_py.warehouse import drop_orphaned_relations


def test_only_relations_of_dbt_schemas_missing_from_the_manifest_are_dropped():
    con = duckdb.connect()
    con.execute("create schema marts; create schema staging; create schema models")
    con.execute("create table marts.dim_a_bands as select 1 as x")  # built today
    con.execute("create table marts.a_bands as select 1 as x")  # yesterday's name
    con.execute("create view staging.stg_old as select 1 as x")  # a removed view
    con.execute("create view staging.stg_persons as select 1 as x")
    con.execute('create table marts."Hand Made" as select 1 as x')  # no name dbt could make
    con.execute("create table models.b_fit as select 1 as x")  # a Python asset's schema: not dbt's
    expected = {("marts", "dim_a_bands"), ("staging", "stg_persons")}
    assert drop_orphaned_relations(con, expected) == ["marts.a_bands", "staging.stg_old"]
    left = set(con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall())
    assert left == {("marts.dim_a_bands",), ("staging.stg_persons",), ("marts.Hand Made",), ("models.b_fit",)}
    assert drop_orphaned_relations(con, expected) == []  # nothing more to do
    assert drop_orphaned_relations(con, set()) == []
