"""The registry's own rules, on hand-made entries (the real files are checked against a built warehouse in
tests/integration/test_exhibit_registry.py)."""

from __future__ import annotations

import duckdb
import pytest

from models_py.exhibits import registry
from models_py.exhibits.registry import Exhibit, RegistryError, _expand, extract, load_labels, load_registry, problems
from tests.helpers.exhibits import make_exhibit


def _exhibit(**kw) -> Exhibit:
    return make_exhibit(**{"id": "c_fig_5", "study": "c", "source": "rate_c", "columns": ["year", "sex", "n"], **kw})


def test_ids_follow_the_rule():
    ok = ["a_tab_4_2", "a_tab_b1", "a_tab_c_1", "a_fig_5_47", "c_tab_a1", "c_tab_reconciliation", "b_tab_rrr"]
    bad = ["a_table_4_2", "fig_5", "c_fig_5.1", "C_fig_5", "c_fig_", "c_fig_5__1"]
    assert all(registry.ID_RULE.match(i) for i in ok)
    assert not any(registry.ID_RULE.match(i) for i in bad)


def test_problems_name_missing_relations_columns_and_labels():
    columns = {"rate_c": {"year", "sex", "n"}}
    assert problems([_exhibit()], columns) == []
    found = problems(
        [
            _exhibit(id="x_fig_1"),
            _exhibit(id="c_fig_2", source="nope"),
            _exhibit(id="c_fig_3", columns=["year", "missing"]),
            _exhibit(id="c_fig_4", labels={"sex": "no_such_map"}),
            _exhibit(id="c_fig_6", figure={"kind": "pie", "x": "year", "y": "n"}),
            _exhibit(id="c_fig_7", disclosure={"counts": {"persons": "m"}}),
            _exhibit(id="a_fig_8"),
            _exhibit(id="c_fig_9", figure={"kind": "line", "x": "year", "y": "n", "band": ["n", "nope"]}),
            _exhibit(id="c_fig_10", figure={"kind": "bar", "x": "year", "y": "n", "reference": "n"}),
        ],
        columns,
    )
    text = "\n".join(found)
    for expected in (
        "x_fig_1: id does not follow",
        "c_fig_2: source 'nope' does not exist",
        "c_fig_3: column 'missing'",
        "label map 'no_such_map'",
        "c_fig_6: figure kind 'pie'",
        "c_fig_7: column 'persons' is not in rate_c",
        "a_fig_8: id's study letter",
        "c_fig_9: figure band ['n', 'nope'] is not two published columns",
        "c_fig_10: figure reference 'n' is not a published column of a line figure",
    ):
        assert expected in text, expected


def test_extract_binds_filters_and_refuses_non_identifiers():
    con = duckdb.connect()
    con.execute(
        "create schema models; create table models.t as select * from (values (2000, 'G1', 5), "
        "(2001, 'G2', 7), (2002, 'x''); drop table models.t; --', 9)) v(year, grp, n)"
    )
    hostile = "x'); drop table models.t; --"
    e = _exhibit(source="models.t", columns=["year", "grp", "n"], where={"grp": ["G2", hostile]}, order_by=["year"])
    df = extract(con, e, relation_of=lambda name: name)
    assert df["year"].tolist() == [2001, 2002]  # the hostile string is a value, never SQL
    with pytest.raises(RegistryError):
        extract(con, _exhibit(source="models.t", columns=["year; drop table models.t"]), relation_of=lambda n: n)
    assert con.execute("select count(*) from models.t").fetchone()[0] == 3


def test_registered_ids_are_unique_and_each_study_has_a_page_title():
    exhibits = load_registry()
    assert len({e.id for e in exhibits}) == len(exhibits)
    for study in registry.REGISTRY_FILES:
        assert registry.study_title(study)


def test_magnitude_rule_inputs_are_checked_and_extracted_but_not_published():
    magnitude = {
        "column": "mean_income",
        "persons": "persons",
        "statistic": "mean",
        "winsorised": [1, 99],
        "contributions": ["largest", "second"],
    }
    e = _exhibit(
        source="models.inc",
        columns=["year", "mean_income"],
        disclosure={"family": "f", "dimensions": ["year"], "counts": {}, "magnitudes": [magnitude]},
    )
    assert e.rule_inputs() == ["persons", "largest", "second"]
    assert e.published_columns() == ["year", "mean_income"]
    found = "\n".join(problems([e], {"models.inc": {"year", "mean_income", "persons"}}))
    assert "column 'largest' is not in models.inc" in found and "'second'" in found and "'persons'" not in found
    con = duckdb.connect()
    con.execute(
        "create schema models; create table models.inc as select * from (values (2000, 5.0, 20, 9.0, 8.0)) "
        "v(year, mean_income, persons, largest, second)"
    )
    df = extract(con, e, relation_of=lambda name: name)
    assert list(df.columns) == ["year", "mean_income", "persons", "largest", "second"]


def test_each_expands_an_entry_into_one_filtered_exhibit_per_label_code():
    entry = {
        "id": "b_tab_x",
        "title": "Runs",
        "source": "models.t",
        "columns": ["term", "rrr"],
        "where": {"k": 1},
        "each": {"column": "run", "labels": "study_b_run"},
    }
    expanded = _expand(entry, "f.yaml")
    codes = list(load_labels()["study_b_run"])
    assert [e["id"] for e in expanded] == [f"b_tab_x_{c}" for c in codes]
    first = expanded[0]
    assert first["where"] == {"k": 1, "run": codes[0]} and "each" not in first
    assert first["title"] == f"Runs: {load_labels()['study_b_run'][codes[0]]}"
    assert entry["where"] == {"k": 1}  # the entry itself is left as it was
    with pytest.raises(RegistryError, match="which each makes constant"):
        _expand({**entry, "columns": ["run", "rrr"]}, "f.yaml")
    with pytest.raises(RegistryError, match="label map"):
        _expand({**entry, "each": {"column": "run", "labels": "no_such_map"}}, "f.yaml")
