"""The cell logit recovers known parameters, and equals the person-level logit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from models_py.stats.emigration_logit import design_matrix, fit_cell_logit

LEVELS = {"age_group": ["18-34", "0-6", "35-62", "71+"], "sex": ["male", "female"]}
TRUE = {"const": -3.0, "age_group=0-6": -0.4, "age_group=35-62": -1.1, "age_group=71+": -2.0, "sex=female": -0.25}


def simulate_person_years(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age_group": rng.choice(LEVELS["age_group"], size=n, p=[0.35, 0.15, 0.4, 0.1]),
        "sex": rng.choice(LEVELS["sex"], size=n),
    })
    X = design_matrix(df, LEVELS)
    beta = np.array([TRUE[c] for c in X.columns])
    p = 1 / (1 + np.exp(-(X.to_numpy() @ beta)))
    df["emigrated"] = (rng.random(n) < p).astype(int)
    return df


def to_cells(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby(["age_group", "sex"], as_index=False).agg(n=("emigrated", "size"), events=("emigrated", "sum"))


def test_recovers_known_parameters():
    table = fit_cell_logit(to_cells(simulate_person_years(400_000, seed=11)), LEVELS).set_index("term")
    z = (table["estimate"] - pd.Series(TRUE)) / table["std_error"]
    assert table.attrs["converged"]
    assert (z.abs() < 3.5).all(), z  # 5 parameters: |z| < 3.5 fails by chance with p < 0.003
    assert table.attrs["person_years"] == 400_000


def test_cell_fit_equals_person_level_logit():
    people = simulate_person_years(30_000, seed=5)
    cell = fit_cell_logit(to_cells(people), LEVELS).set_index("term")
    X = design_matrix(people, LEVELS)
    person = sm.Logit(people["emigrated"], X).fit(disp=0)
    np.testing.assert_allclose(cell["estimate"], person.params[cell.index], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cell["std_error"], person.bse[cell.index], rtol=1e-5)


def test_unknown_level_is_an_error_not_a_silent_drop():
    cells = pd.DataFrame({"age_group": ["18-34", "99+"], "sex": ["male", "male"], "n": [10, 10], "events": [1, 1]})
    try:
        fit_cell_logit(cells, LEVELS)
    except ValueError as exc:
        assert "99+" in str(exc)
    else:
        raise AssertionError("an unknown level must raise")
