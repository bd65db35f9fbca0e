"""R7 magnitudes through the gate: persons threshold, p%-rule, secondary suppression over margins, declarations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.exhibits.registry import Exhibit
from models_py.publish import disclosure as dc
from models_py.publish.gate import protect_exhibits
from tests.helpers.exhibits import make_exhibit


def _exhibit(magnitude: dict, columns=None, margins=None) -> Exhibit:
    return make_exhibit(
        "b_tab_income",
        columns=columns or ["group", "persons", "mean_income"],
        disclosure={
            "family": "b_income",
            "dimensions": ["group"],
            "counts": {"persons": "b_income_persons"},
            "margins": margins if margins is not None else {"group": "all"},
            "magnitudes": [magnitude],
        },
    )


MEAN = {
    "column": "mean_income",
    "persons": "persons",
    "statistic": "mean",
    "winsorised": [1, 99],
    "contributions": ["largest", "second"],
}


def _frame():
    persons = np.array([25, 30, 5])
    means = np.array([400_000.0, 350_000.0, 600_000.0])
    frame = pd.DataFrame({"group": ["a", "b", "c"], "persons": persons, "mean_income": means})
    frame["largest"], frame["second"] = means * 2, means * 1.5  # no dominance in these cells
    total = pd.DataFrame(
        {
            "group": ["all"],
            "persons": [persons.sum()],
            "mean_income": [(persons * means).sum() / persons.sum()],
            "largest": [means.max() * 2],
            "second": [means.max() * 1.5],
        }
    )
    return pd.concat([frame, total], ignore_index=True)


def test_a_mean_of_fewer_than_ten_persons_is_suppressed_and_not_derivable_from_the_margin():
    gate = protect_exhibits([_exhibit(MEAN)], {"b_tab_income": _frame()})
    table, mask = gate.published["b_tab_income"]
    rows = dict(zip(table["group"], range(len(table))))
    assert mask["mean_income"].iloc[rows["c"]] and np.isnan(table["mean_income"].iloc[rows["c"]])
    # all = weighted sum of a, b, c: one more mean (or the margin) must go, or c = (all*N - a*Na - b*Nb) / Nc
    assert mask["mean_income"].sum() >= 2
    assert "largest" not in table.columns and "second" not in table.columns  # rule inputs are never published
    record = gate.record.iloc[0]
    assert "R7" in record["rules"] and record["status"] in ("pass", "review")
    # an intruder's view of the magnitude totals (mean x persons): no suppressed total is determined
    published = ~mask["mean_income"]
    frame = _frame()
    spec = dc.TableSpec(
        "x",
        pd.DataFrame({"group": frame["group"], "t": frame["mean_income"] * frame["persons"], "p": frame["persons"]}),
        ["group"],
        {"t": "total"},
        margins={"group": "all"},
        family="x",
        persons={"t": "p"},
    )
    audit = dc.audit_pattern([spec], {"x": {"t": (~published).tolist()}})
    assert audit["x"]["exact_passed"] and audit["x"]["determined"] == []


def test_the_p_percent_rule_suppresses_a_dominated_cell():
    frame = _frame()
    # group a: 25 persons, one of them holds 95 % of the total income
    total_a = 25 * 400_000.0
    frame.loc[frame["group"] == "a", ["largest", "second"]] = [0.95 * total_a, 0.01 * total_a]
    gate = protect_exhibits([_exhibit(MEAN, margins={})], {"b_tab_income": frame})
    table, mask = gate.published["b_tab_income"]
    by_group = dict(zip(table["group"], mask["mean_income"]))
    assert by_group["a"] and by_group["c"]  # dominated, and too few persons
    assert not by_group["b"] and not by_group["all"]  # no margins declared: nothing else needs to go


def test_declarations_r7_refuses():
    frame = _frame()
    cases = {
        "a total needs the two largest contributions": {**MEAN, "statistic": "total", "contributions": "none"},
        "winsorised at": {**MEAN, "winsorised": None},
        "values nearest to it": {**MEAN, "statistic": "percentile", "nearest_values": 5},
        "never published": MEAN,  # published contributions (see columns below)
    }
    for reason, magnitude in cases.items():
        columns = ["group", "persons", "mean_income"] + (["largest"] if reason == "never published" else [])
        gate = protect_exhibits([_exhibit(magnitude, columns=columns)], {"b_tab_income": frame})
        assert gate.published == {}, reason
        assert gate.record.iloc[0]["status"] == "fail" and reason in gate.record.iloc[0]["reason"], reason
    # no minimum or maximum, with or without a magnitude declaration
    with_max = frame.assign(max_income=frame["mean_income"] * 3)
    e = _exhibit(MEAN, columns=["group", "persons", "mean_income", "max_income"])
    gate = protect_exhibits([e], {"b_tab_income": with_max})
    assert gate.published == {} and "no minimum or maximum" in gate.record.iloc[0]["reason"]
    assert "R7" in gate.record.iloc[0]["rules"]


def test_a_percentile_of_fewer_than_ten_persons_is_suppressed_and_a_mean_without_contributions_is_published():
    frame = _frame().assign(p50_income=[390_000.0, 340_000.0, 610_000.0, 380_000.0])
    percentile = {"column": "p50_income", "persons": "persons", "statistic": "percentile", "nearest_values": 10}
    mean = {**MEAN, "contributions": "none"}
    e = _exhibit(mean, columns=["group", "persons", "mean_income", "p50_income"])
    e.disclosure["magnitudes"].append(percentile)
    gate = protect_exhibits([e], {"b_tab_income": frame})
    table, mask = gate.published["b_tab_income"]
    by_group = dict(zip(table["group"], mask["p50_income"]))
    assert by_group == {"a": False, "b": False, "c": True, "all": False}
    assert table.loc[table["group"] == "a", "p50_income"].iloc[0] == 390_000.0
    assert mask["mean_income"].sum() >= 2  # persons rule and the margin, without the p%-rule
