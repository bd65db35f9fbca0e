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
    """dbt sources against the built warehouse; a model output that the tiny register cannot support (study A's
    SUR tables) is absent there: it must be a declared model table, withheld by the gate with that reason, and its
    columns are checked against a fitted warehouse in test_a_sur_assets.py."""
    from dagster_project.assets.exhibits import MODEL_TABLE_ASSETS

    env, _ = published_pipeline
    columns = _relation_columns(env.warehouse)
    exhibits = load_registry()
    absent = [e for e in exhibits if e.is_model_output and e.source not in columns]
    assert problems([e for e in exhibits if e not in absent], columns) == []
    con = duckdb.connect(str(env.warehouse), read_only=True)
    record = dict(con.execute("select exhibit_id, reason from exhibits_published.gate_record").fetchall())
    con.close()
    for e in absent:
        assert e.source in MODEL_TABLE_ASSETS, e.id
        assert record[e.id] == "the model was not estimable on these data", e.id


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
