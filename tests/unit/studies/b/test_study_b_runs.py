"""Study B sensitivity variants and the R8 publication gate on small hand-made panels (no fits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py.exhibits.registry import load_labels, load_registry
from models_py.studies.b.design import CATS, DesignSpec
from models_py.studies.b.runs import (
    SENSITIVITY_RUNS,
    empty_outcome_cells,
    level_persons,
    missing_destination_runs,
    publication_problems,
    run_missing_destination,
    variant,
)


def _panel(n_persons: int = 30) -> pd.DataFrame:
    """Two rows per person; person p has origin by p % 3, an event on the last row for some."""
    rows = []
    for p in range(n_persons):
        for k, year in enumerate((2001, 2002)):
            rows.append(
                {
                    "person_id": p,
                    "year": year,
                    "y": (1 + p % 2) if (k == 1 and p % 3 == 0) else 0,
                    "origin": ["eu_east", "nordic", "non_europe"][p % 3],
                    "educ": "medium",
                    "female": p % 2 == 0,
                    "inc_pct": None if p == 0 else float(p),
                    "nordic_route": p % 3 == 1,
                    "ever_self_employed": p % 5 == 0,
                }
            )
    return pd.DataFrame(rows)


SPEC = DesignSpec(cats={"origin": CATS["origin"], "educ": CATS["educ"]}, binaries=["female"], year_fe=True)


def test_variants_filter_persons_and_change_the_design():
    p = _panel()
    nx, spec = variant(p, "nordic_excluded", SPEC)
    assert not nx["nordic_route"].any() and nx["person_id"].nunique() == 20 and spec is SPEC
    se, _ = variant(p, "ever_self_employed_excluded", SPEC)
    assert not se["ever_self_employed"].any() and se["person_id"].nunique() == 24
    orig, spec = variant(p, "origin_nordic", SPEC)
    assert set(orig["origin"]) == {"nordic"} and "origin" not in spec.cats and "origin" in SPEC.cats
    sp, spec = variant(p, "income_spline", SPEC)
    assert spec.income == "spline" and spec.binaries == ["female", "no_income"]
    assert sp["inc_pct"].notna().all() and sp.loc[sp["person_id"] == 0, "no_income"].all()
    assert p["inc_pct"].isna().sum() == 2  # the input panel is not modified
    with pytest.raises(ValueError):
        variant(p, "random_effects", SPEC)
    assert "two_step" in SENSITIVITY_RUNS and all(r.startswith("origin_") for r in SENSITIVITY_RUNS[4:])


def test_publication_gate_names_levels_and_outcomes_without_counts():
    p = _panel()
    # 30 persons: 10 per origin; events: persons 0, 3, ..., 27 -> return for even, onward for odd
    assert publication_problems(p, SPEC, n_params=10, min_persons=5, min_df=10) == []
    probs = publication_problems(p, SPEC, n_params=10, min_persons=11, min_df=10)
    assert "origin=nordic: fewer than 11 persons" in probs and "outcome onward: fewer than 11 persons" in probs
    assert all(not any(ch.isdigit() for ch in x.split(":")[-1].replace("11", "")) for x in probs)  # no counts
    assert publication_problems(p, SPEC, n_params=55, min_persons=5, min_df=10) == ["residual df below 10"]
    same = p.assign(female=True)
    assert "female: no variation" in publication_problems(same, SPEC, None, 5, 10)
    # events only among eu_east (p % 3 == 0): nordic and non_europe have no return / onward outcome
    empty = empty_outcome_cells(p, SPEC)
    assert "origin=nordic: no return outcome" in empty and "origin=non_europe: no onward outcome" in empty
    assert not any(e.startswith("origin=eu_east") for e in empty)
    lv = level_persons(p, SPEC, "m")
    assert set(lv.loc[lv["variable"] == "outcome", "level"]) == {"stay", "return", "onward"}
    assert lv.loc[(lv["variable"] == "female") & (lv["level"] == "1"), "persons"].item() == 15


def test_an_aliased_level_is_left_out_and_named():
    """No earned income <=> wealth not delivered (as in the simulated registers): the later column is
    exactly the earlier one, so it is dropped with a note; without the alias every column stays."""
    from models_py.studies.b.design import build_design

    p = _panel(40)
    p["inc_group"] = ["none" if i % 4 == 0 else ("P40-49" if i % 4 == 1 else "P0-9") for i in p["person_id"]]
    p["wealth_group"] = ["unknown" if i % 4 == 0 else ("Q3" if (i // 4) % 2 else "Q1") for i in p["person_id"]]
    spec = DesignSpec(
        cats={"inc_group": CATS["inc_group"], "wealth_group": CATS["wealth_group"]}, binaries=["female"], year_fe=True
    )
    d = build_design(p, spec)
    assert d.aliased == ["wealth_group=unknown = +1 inc_group=none (aliased, not estimated)"]
    assert "wealth_group=unknown" not in d.names and d.X.shape[1] == len(d.names)
    assert d.levels["wealth_group"] == ["Q3", "Q1"]
    assert [d.names[j] for j in d.columns["wealth_group"]] == ["wealth_group=Q1"]
    p.loc[p["person_id"] == 4, "wealth_group"] = "Q1"  # one person breaks the alias
    full = build_design(p, spec)
    assert full.aliased == [] and "wealth_group=unknown" in full.names


def test_settings_follow_the_kept_columns_when_a_level_is_aliased():
    """The income spline's settings keep all six basis values (no spline column is aliased) and a level
    setting covers the variable's remaining columns, after an alias removed a wealth column."""
    from models_py.studies.b.design import build_design

    p = _panel(40)
    p["inc_pct"] = p["person_id"] * 2.5  # percentiles 0-97.5: every knot of the spline is active
    p["wealth_group"] = ["unknown" if i % 4 == 0 else ("Q3" if (i // 4) % 2 else "Q1") for i in p["person_id"]]
    p["no_wealth"] = p["person_id"] % 4 == 0  # a binary equal to the unknown-wealth level
    spec = DesignSpec(
        cats={"wealth_group": CATS["wealth_group"]}, binaries=["female", "no_wealth"], year_fe=False, income="spline"
    )
    d = build_design(p, spec)
    assert d.aliased and d.aliased[0].startswith("wealth_group=unknown = +1 no_wealth")
    cols, vals = d.setting("inc_pct", 50)
    assert len(cols) == len(vals) == 6
    cols, vals = d.setting("wealth_group", "Q1")
    assert [d.names[c] for c in cols] == ["wealth_group=Q1"] and list(vals) == [1.0]
    X = d.X.copy()
    for setting in (d.setting("inc_pct", 50), d.setting("no_wealth", 1)):
        X[:, setting[0]] = setting[1]  # a counterfactual assignment has matching shapes
    p["inc_pct"] = p["person_id"] * 1.0  # percentiles 0-39: the knots from 0.5 up are all-zero columns
    low = build_design(p, spec)
    assert [a.split(" =")[0] for a in low.aliased[:4]] == [f"inc_pct_knot{k}" for k in (0.5, 0.75, 0.9, 0.95)]
    cols, vals = low.setting("inc_pct", 30)
    assert [low.names[c] for c in cols] == ["inc_pct", "inc_pct_knot0.25"] and np.allclose(vals, [0.3, 0.05])


def test_every_sensitivity_run_has_its_own_exhibit_and_no_exhibit_lacks_a_run():
    """The label map study_b_run expands b_tab_sensitivity into one exhibit per run: it must name exactly the runs
    the asset fits (a run without an exhibit would go unpublished; an exhibit without a run would always be empty)."""
    runs = [*SENSITIVITY_RUNS, *missing_destination_runs()]
    assert sorted(load_labels()["study_b_run"]) == sorted(runs)
    ids = {e.id for e in load_registry(("b",))}
    assert {f"b_tab_sensitivity_{r}" for r in runs} <= ids and "b_tab_sensitivity" not in ids
    assert missing_destination_runs() == ["missing_destination_censor", "missing_destination_return"]


def test_a_rule_whose_risk_set_is_empty_is_a_refused_run_not_a_missing_one():
    """b_sensitivity fits every rule of the settings; a rule whose variant panel came out empty must come back as a
    run that names why it is not published (the gate then withholds its exhibit), not raise or vanish."""
    empty = _panel().iloc[0:0]
    result = run_missing_destination(empty, "censor", min_persons=10, min_df=10, base=SPEC)
    assert result.model == "missing_destination_censor"
    assert not result.publishable and result.problems


def test_the_simulators_truth_names_terms_of_the_main_design():
    """The mapping from the simulator's onward logit to study B's terms follows the design's names and references:
    every term is a binary or a non-reference level of the main design (a reference carries no term)."""
    from models_py.studies.b.design import BIN
    from models_py.studies.b.simulator_truth import onward_vs_return_truth

    truth = onward_vs_return_truth()
    spec = DesignSpec()
    terms = set(BIN) | {f"{v}={level}" for v, levels in spec.cats.items() for level in levels[1:]}
    assert set(truth) <= terms and len(truth) == 20
    assert truth["origin=nordic"] == -1.6 and truth["age_band=40-49"] == 0.9  # 0.45 - (-0.45): relative to 20-27
