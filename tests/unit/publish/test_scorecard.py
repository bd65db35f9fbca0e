"""Scorecard relations on hand-made published tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.publish.scorecard import FAILS, HOLDS, NOT_COMPUTED, NotComputed, check, measure

TABLES = {
    "c_fig_3": pd.DataFrame(
        {
            "population_group": ["G1", "G2", "G4", "G5"],
            "rate": [0.6, 0.8, 4.0, np.nan],
            "persons": [1000.0, 2000.0, 500.0, np.nan],
        }
    )
}


def m(group, column="rate", agg="first"):
    return {"exhibit": "c_fig_3", "column": column, "where": {"population_group": group}, "agg": agg}


def test_order_holds_and_fails():
    assert check({"relation": "order", "measures": [m("G1"), m("G2"), m("G4")]}, TABLES, None).status == HOLDS
    assert (
        check({"relation": "order", "direction": "descending", "measures": [m("G1"), m("G2")]}, TABLES, None).status
        == FAILS
    )


def test_value_with_tolerance_and_population_scale():
    spec = {
        "relation": "value",
        "measure": m(["G1", "G2"], "persons", "sum"),
        "published": 300000,
        "scale_with_population": True,
        "rel_tolerance": 0.05,
    }
    assert check(spec, TABLES, population_scale=0.01).status == HOLDS  # 3000 / 0.01 = 300,000
    assert check(spec, TABLES, population_scale=0.005).status == FAILS  # 600,000
    assert check({**spec, "scale_with_population": False}, TABLES, None).status == FAILS


def test_sign_and_ratio():
    assert check({"relation": "sign", "measure": m("G1"), "sign": "positive"}, TABLES, None).status == HOLDS
    ratio = {"relation": "ratio", "numerator": m("G4"), "denominator": m("G1"), "published": 6.0, "tolerance": 1}
    assert check(ratio, TABLES, None).status == HOLDS


def test_a_suppressed_or_missing_cell_is_not_computed():
    for spec in (m("G5"), m("G9"), {"exhibit": "nope", "column": "rate"}):
        try:
            measure(spec, TABLES)
        except NotComputed:
            continue
        raise AssertionError(f"{spec} should not be computable")
    from models_py.publish.scorecard import evaluate

    card = evaluate([], TABLES, None)
    assert list(card.columns)[:3] == ["study", "claim", "source"] and NOT_COMPUTED not in set(card["status"])


def test_same_sign_counts_rows_agreeing_with_the_published_sign():
    tables = {
        "a_tab_4_2": pd.DataFrame({"estimate": [0.5, -0.2, 0.1, 0.3], "published_estimate": [0.4, -0.1, -0.2, 0.0]})
    }
    spec = {
        "relation": "same_sign",
        "exhibit": "a_tab_4_2",
        "column": "estimate",
        "reference_column": "published_estimate",
        "min_share": 0.6,
    }
    outcome = check(spec, tables, None)
    assert outcome.status == HOLDS and outcome.pipeline.startswith("0.67 of 3")  # a published 0 has no sign
    assert check({**spec, "min_share": 0.7}, tables, None).status == FAILS


def _measures(node):
    """Every measure spec (a dict with exhibit and column) anywhere in a claim."""
    if isinstance(node, dict):
        if "exhibit" in node and "column" in node:
            yield node
        for value in node.values():
            yield from _measures(value)
    elif isinstance(node, list):
        for value in node:
            yield from _measures(value)


def test_every_claim_uses_a_known_aggregate():
    """A claim's aggregate is checked only once its exhibit publishes (study B's income profile first did at scale
    0.1, and an unknown 'last' crashed the scorecard): check every claim file up front."""
    from models_py.publish.scorecard import AGGREGATES, load_claims

    specs = [m for study in ("a", "b", "c") for claim in load_claims(study) for m in _measures(claim)]
    assert len(specs) > 100
    assert {m.get("agg", "first") for m in specs} <= set(AGGREGATES)
    table = pd.DataFrame({"q": ["p", "p", "p"], "estimate": [1.0, 2.0, 3.0]})
    assert measure({"exhibit": "x", "column": "estimate", "where": {"q": "p"}, "agg": "last"}, {"x": table}) == 3.0
