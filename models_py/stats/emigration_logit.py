"""Logit of emigration in a person-year on categorical covariates, fitted on aggregated cells.

A binomial GLM on cell counts (person-years n, emigrations k per covariate cell) has exactly the
same likelihood, estimates and standard errors as the person-level logit, but its memory does not
grow with the number of person-years, so it runs at full scale.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


def design_matrix(cells: pd.DataFrame, categorical: dict[str, list]) -> pd.DataFrame:
    """Constant plus treatment dummies; the first listed level of each covariate is the reference."""
    parts = [pd.Series(1.0, index=cells.index, name="const")]
    for column, levels in categorical.items():
        unknown = set(cells[column].dropna().unique()) - set(levels)
        if unknown:
            raise ValueError(f"covariate {column!r} has levels {sorted(unknown)} not in {levels}")
        dummies = pd.get_dummies(pd.Categorical(cells[column], categories=levels), prefix=column, prefix_sep="=", dtype=float)
        parts.append(dummies.iloc[:, 1:].set_index(cells.index))
    return pd.concat(parts, axis=1)


def fit_cell_logit(cells: pd.DataFrame, categorical: dict[str, list], n: str = "n", events: str = "events") -> pd.DataFrame:
    """Fit P(event) = logistic(X b) on cells; returns one row per coefficient.

    cells: one row per covariate combination with the number of person-years `n` and events `events`.
    """
    cells = cells[cells[n] > 0].reset_index(drop=True)
    X = design_matrix(cells, categorical)
    endog = np.column_stack([cells[events].to_numpy(float), (cells[n] - cells[events]).to_numpy(float)])
    result = sm.GLM(endog, X, family=sm.families.Binomial()).fit()
    z_crit = stats.norm.ppf(0.975)
    table = pd.DataFrame(
        {
            "term": X.columns,
            "estimate": result.params.to_numpy(),
            "std_error": result.bse.to_numpy(),
        }
    )
    table["z"] = table["estimate"] / table["std_error"]
    table["p_value"] = 2 * stats.norm.sf(np.abs(table["z"]))
    table["odds_ratio"] = np.exp(table["estimate"])
    table["ci_low"] = np.exp(table["estimate"] - z_crit * table["std_error"])
    table["ci_high"] = np.exp(table["estimate"] + z_crit * table["std_error"])
    table.attrs["person_years"] = int(cells[n].sum())
    table.attrs["events"] = int(cells[events].sum())
    table.attrs["deviance"] = float(result.deviance)
    table.attrs["converged"] = bool(result.converged)
    return table
