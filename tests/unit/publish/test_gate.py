"""The gate over the registry: no exhibit bypasses it by omission; model outputs need their model's verdict."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from models_py.exhibits.registry import Exhibit
from models_py.publish import disclosure as dc
from models_py.publish.gate import model_records, protect_exhibits, record_model_check
from tests.helpers.exhibits import make_exhibit


def _table_exhibit(**kw) -> Exhibit:
    return make_exhibit(
        **{"disclosure": {"family": "f", "dimensions": ["year"], "counts": {"persons": "persons"}}, **kw}
    )


def test_small_counts_are_suppressed_and_labelled_tables_published():
    frame = pd.DataFrame({"year": [2000, 2001, 2002], "persons": [120, 3, 0]})
    gate = protect_exhibits([_table_exhibit()], {"c_tab_x": frame})
    table, mask = gate.published["c_tab_x"]
    assert mask["persons"].tolist() == [False, True, False]
    assert np.isnan(table["persons"].iloc[1]) and table["persons"].iloc[0] == 120 and table["persons"].iloc[2] == 0
    row = gate.record.iloc[0]
    assert row["status"] in ("pass", "review") and row["primary_suppressed"] == 1


def test_an_exhibit_without_a_declaration_is_not_published():
    e = _table_exhibit(disclosure={})
    gate = protect_exhibits([e], {"c_tab_x": pd.DataFrame({"year": [2000], "persons": [3]})})
    assert gate.published == {}
    assert gate.record.iloc[0]["status"] == "fail" and "no disclosure declaration" in gate.record.iloc[0]["reason"]


def test_a_column_the_gate_does_not_know_is_not_published_and_summaries_are_rounded():
    frame = pd.DataFrame({"year": [2000, 2001], "persons": [120, 40], "mean_income": [412345.678, 398765.4321]})
    undeclared = _table_exhibit(columns=["year", "persons", "mean_income"])
    gate = protect_exhibits([undeclared], {"c_tab_x": frame})
    assert gate.published == {}
    row = gate.record.iloc[0]
    assert row["status"] == "fail" and row["reason"] == "columns not declared to the gate: mean_income"
    declared = _table_exhibit(
        columns=["year", "persons", "mean_income"],
        disclosure={**_table_exhibit().disclosure, "summaries": ["mean_income"]},
    )
    table, _ = protect_exhibits([declared], {"c_tab_x": frame}).published["c_tab_x"]
    assert table["mean_income"].tolist() == [412000.0, 399000.0]  # the policy's 3 significant digits


def test_model_outputs_need_a_passing_verdict_covering_their_columns():
    con = duckdb.connect()
    coefficients = pd.DataFrame({"term": ["a", "b"], "coef": [0.1, 0.2], "std_err": [0.01, 0.02]})
    e = make_exhibit(
        "b_tab_rrr",
        source="models.b_rrr",
        columns=["term", "coef", "std_err"],
        disclosure={"model": "person"},
    )
    assert protect_exhibits([e], {"b_tab_rrr": coefficients}, model_verdicts={}).published == {}

    good = dc.check_model(
        "b_rrr",
        "person",
        fields=["term", "coef", "std_err"],
        residual_df=5000,
        category_persons={"sex": {"1": 400, "2": 390}},
        outcome_persons={"stay": 700, "return": 90},
    )
    record_model_check(con, "models.b_rrr", good, ["term", "coef", "std_err"])
    gate = protect_exhibits([e], {"b_tab_rrr": coefficients}, model_verdicts=model_records(con))
    assert "b_tab_rrr" in gate.published and gate.record.iloc[0]["status"] == "pass"

    blocked = dc.check_model(
        "b_rrr",
        "person",
        fields=["term", "coef"],
        residual_df=5000,
        category_persons={"origin": {"EU": 400, "tiny": 3}},
        outcome_persons={"stay": 700},
    )
    assert blocked.status == "fail"  # a 3-person category (policy T9)
    record_model_check(con, "models.b_rrr", blocked, ["term", "coef", "std_err"])
    gate = protect_exhibits([e], {"b_tab_rrr": coefficients}, model_verdicts=model_records(con))
    assert gate.published == {} and "fewer than 10 persons" in gate.record.iloc[0]["reason"]
    assert gate.record.iloc[0]["status"] == "withheld"  # the data do not support it: withheld, the report goes on

    forbidden = dc.check_model(
        "b_rrr",
        "person",
        fields=["term", "residual"],
        residual_df=5000,
        category_persons={"sex": {"1": 400}},
        outcome_persons={"stay": 700},
    )
    record_model_check(con, "models.b_rrr", forbidden, ["term", "coef", "std_err"])
    gate = protect_exhibits([e], {"b_tab_rrr": coefficients}, model_verdicts=model_records(con))
    assert gate.record.iloc[0]["status"] == "fail"  # a forbidden field is a code error: it blocks publishing


def test_an_unprotectable_family_is_withheld_or_blocks_by_the_policy_setting():
    from models_py.publish.gate import WITHHELD, _unprotectable

    audit_failed = dc.GateRecord("c_fig_14", "table", "fail", "audit T5 still fails for 3 quantities", ["R5"])
    declaration = dc.GateRecord("c_fig_14", "table", "fail", "family f: margins are not the sum of their codes", [])
    assert _unprotectable(audit_failed, {"on_unprotectable": "withhold"}) == WITHHELD
    assert _unprotectable(audit_failed, {"on_unprotectable": "block"}) == "fail"
    assert _unprotectable(declaration, {"on_unprotectable": "withhold"}) == "fail"  # a registry bug always blocks
    assert dc.load_settings()["on_unprotectable"] == "withhold"


def test_a_model_not_estimable_on_these_data_is_withheld_not_failed():
    e = make_exhibit(
        "a_tab_4_2",
        source="models.a_sur_coefficients",
        columns=["term"],
        disclosure={"model": "aggregate"},
    )
    gate = protect_exhibits([e], {"a_tab_4_2": pd.DataFrame({"term": pd.Series(dtype="object")})}, model_verdicts={})
    assert gate.published == {} and gate.record.iloc[0]["status"] == "withheld"


def test_a_model_table_without_rows_for_the_exhibit_is_withheld_with_its_selection():
    """A sensitivity run that was not publishable leaves no rows in the shared table: its exhibit says so."""
    con = duckdb.connect()
    e = make_exhibit(
        "b_tab_sensitivity_two_step",
        source="models.b_sensitivity",
        columns=["term", "coef"],
        where={"run": "two_step"},
        disclosure={"model": "person"},
    )
    record_model_check(
        con,
        "models.b_sensitivity",
        dc.GateRecord("models.b_sensitivity", "model", "pass", "", ["R8"]),
        ["run", "term", "coef"],
    )
    empty = pd.DataFrame({"term": pd.Series(dtype="object"), "coef": pd.Series(dtype=float)})
    gate = protect_exhibits([e], {e.id: empty}, model_verdicts=model_records(con))
    assert gate.published == {} and gate.record.iloc[0]["status"] == "withheld"
    assert "no estimates for run = two_step" in gate.record.iloc[0]["reason"]
    rows = pd.DataFrame({"term": ["a"], "coef": [0.1]})
    assert e.id in protect_exhibits([e], {e.id: rows}, model_verdicts=model_records(con)).published
