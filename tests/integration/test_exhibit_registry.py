"""Every registry entry names relations and columns that exist in a built warehouse, and every registered
exhibit is published with its files."""

from __future__ import annotations

import json

import duckdb

from models_py.exhibits.registry import load_registry, problems


def _relation_columns(warehouse) -> dict[str, set[str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select table_schema, table_name, column_name from information_schema.columns").fetchall()
    finally:
        con.close()
    out: dict[str, set[str]] = {}
    for schema, table, column in rows:
        out.setdefault(f"{schema}.{table}", set()).add(column)
        out.setdefault(table, set()).add(column)  # dbt models by name (names are unique across the dbt schemas)
    return out


def test_every_entry_names_existing_relations_and_columns(published_pipeline):
    env, _ = published_pipeline
    assert problems(load_registry(), _relation_columns(env.warehouse)) == []


def test_every_registered_exhibit_is_published_with_its_files(published_pipeline, published_report):
    env, _ = published_pipeline
    con = duckdb.connect(str(env.warehouse), read_only=True)
    withheld = {
        i
        for (i,) in con.execute(
            "select exhibit_id from exhibits_published.gate_record where status = 'withheld'"
        ).fetchall()
    }
    con.close()
    manifest = json.loads((published_report / "manifest.json").read_text())["files"]
    by_exhibit: dict[str, set[str]] = {}
    for f in manifest:
        by_exhibit.setdefault(f["exhibit"], set()).add(f["file"].rsplit(".", 1)[-1])
    for exhibit in load_registry():
        if exhibit.id in withheld:  # disclosure control withheld it; the study page lists it with the reason
            assert exhibit.id not in by_exhibit
            continue
        kinds = by_exhibit.get(exhibit.id, set())
        assert {"csv", "parquet"} <= kinds, exhibit.id
        if exhibit.figure:
            assert {"svg", "png"} <= kinds, exhibit.id
