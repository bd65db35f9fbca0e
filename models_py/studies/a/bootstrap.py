"""Small-sample intervals for the SUR systems: a dynamic parametric bootstrap-t.

Why: with T = 22-23 years, four equations and a lagged dependent variable, the analytic iterated-FGLS
covariance is too small (it ignores the estimation error in Sigma: Monte Carlo standard deviations
of the estimates are 1.1-1.5 times the mean standard error) and the lag coefficients are biased
towards zero (Hurwicz bias, up to one standard deviation in system 2). Intervals from the analytic
covariance covered the true values in only 0.84-0.95 of draws per system.

Each bootstrap draw regenerates the system's four rate series year by year from the estimated
coefficients, the own simulated lags (regressors from other systems and the macro series stay as
observed; years before the sample keep the observed rates) and errors from the estimated residual
covariance, then refits. The percentile-t interval [b - t*_hi se, b - t*_lo se], with t* = (b* - b) / se*
over the draws, carries both the bias and the too-small standard errors into the interval.

Refits use a numpy iterated FGLS (a shared parameter is one column of the stacked design, so the
restrictions hold by construction); it equals linearmodels' estimates (tested) and is about 15 times
faster, which keeps the bootstrap at about half a second per system.
"""

from __future__ import annotations

import numpy as np

from .simulate import PanelArrays, predict
from .spec import System


def equation_residual_df(system: System, n_years: int) -> np.ndarray:
    """Residual degrees of freedom of the four equations, in the spec's order."""
    return np.array([n_years - len(system.equations[k].terms) for k in system.order], dtype=float)


def stacked_design(system: System, arrays: PanelArrays, years: range) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(X, y, parameter names): the four equations stacked in the spec's order, a shared parameter one column."""
    names = list(dict.fromkeys(t.param for eq in system.equations.values() for t in eq.terms))
    T = len(years)
    X = np.zeros((T * 4, len(names)))
    y = np.empty(T * 4)
    for i, key in enumerate(system.order):
        eq = system.equations[key]
        column = arrays.cols[f"EMI_{system.group}{key}"]
        for r, year in enumerate(years):
            y[i * T + r] = column[year - arrays.year0]
            for term in eq.terms:
                X[i * T + r, names.index(term.param)] = arrays.term(term, system.group, year)
    return X, y, names


def iterated_fgls(
    X: np.ndarray, y: np.ndarray, residual_df: np.ndarray, tol: float, iter_limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(beta, standard errors, Sigma) of iterated FGLS with Sigma_ij = e_i'e_j / sqrt(df_i df_j)."""
    m = len(residual_df)
    T = len(y) // m
    scale = np.sqrt(np.outer(residual_df, residual_df))
    sigma, beta = np.eye(m), None
    for _ in range(iter_limit):
        w = np.kron(np.linalg.inv(sigma), np.eye(T))
        xtw = X.T @ w
        new = np.linalg.solve(xtw @ X, xtw @ y)
        E = (y - X @ new).reshape(m, T).T
        sigma = E.T @ E / scale
        done = beta is not None and np.sqrt(np.mean((new - beta) ** 2)) < tol
        beta = new
        if done:
            break
    w = np.kron(np.linalg.inv(sigma), np.eye(T))
    se = np.sqrt(np.diag(np.linalg.inv(X.T @ w @ X)))
    return beta, se, sigma


def bootstrap_t_intervals(
    system: System,
    arrays: PanelArrays,
    estimates: dict[str, float],
    sigma: np.ndarray,
    std_errors: dict[str, float],
    estimation: dict,
    rng: np.random.Generator,
) -> dict[str, tuple[float, float]]:
    """{parameter: (low, high)} percentile-t intervals at estimation['level'] from
    estimation['bootstrap_draws'] dynamic parametric draws. `arrays` holds the observed panel."""
    lo_year, hi_year = system.sample
    years = range(lo_year, hi_year + 1)
    X, _, names = stacked_design(system, arrays, years)
    residual_df = equation_residual_df(system, len(years))
    chol = np.linalg.cholesky(sigma)
    observed = {k: arrays.cols[f"EMI_{system.group}{k}"].copy() for k in system.order}
    b = np.array([estimates[p] for p in names])
    tstats = []
    try:
        for _ in range(int(estimation["bootstrap_draws"])):
            for year in years:
                values = predict(system, estimates, arrays, year) + chol @ rng.standard_normal(4)
                for key, v in zip(system.order, values):
                    arrays.cols[f"EMI_{system.group}{key}"][year - arrays.year0] = v
            Xb, yb, _ = stacked_design(system, arrays, years)
            bb, seb, _ = iterated_fgls(Xb, yb, residual_df, float(estimation["tol"]), int(estimation["iter_limit"]))
            tstats.append((bb - b) / seb)
    finally:  # the caller's observed rates come back whatever happens
        for key, col in observed.items():
            arrays.cols[f"EMI_{system.group}{key}"][:] = col
    alpha = 1.0 - float(estimation["level"])
    t_lo, t_hi = np.quantile(np.array(tstats), [alpha / 2, 1 - alpha / 2], axis=0)
    se = np.array([std_errors[p] for p in names])
    return {p: (float(b[i] - t_hi[i] * se[i]), float(b[i] - t_lo[i] * se[i])) for i, p in enumerate(names)}
