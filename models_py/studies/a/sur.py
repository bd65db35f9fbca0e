"""Iterated FGLS (iterated SUR) of study A's nine systems with cross-equation equality restrictions.

Each system is a linearmodels SUR whose parameters are named <equation>_<param>; a parameter shared by
several equations becomes equality constraints r beta = 0 (add_constraints). Outputs are tidy long
frames: coefficients beside the published ones, per-equation diagnostics beside Table B1, the
residual covariance beside Appendix C, and a one-row summary per system (iterations, tolerance).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from linearmodels.system import SUR
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan
from statsmodels.stats.stattools import durbin_watson

from .bootstrap import bootstrap_t_intervals, equation_residual_df
from .inputs import system_frames
from .simulate import PanelArrays
from .spec import Spec, System


@dataclass
class SystemFit:
    system: System
    estimates: pd.Series  # one value per parameter (a shared parameter once)
    std_errors: pd.Series
    coefficients: pd.DataFrame
    diagnostics: pd.DataFrame
    residual_cov: pd.DataFrame
    summary: dict
    resids: pd.DataFrame


def constraint_matrix(system: System, param_names: list[str]) -> pd.DataFrame | None:
    """r with r @ beta = 0: for each shared parameter, first equation's coefficient minus each other's."""
    rows = []
    for param, eqs in system.restrictions():
        for other in eqs[1:]:
            row = pd.Series(0.0, index=param_names)
            row[f"{eqs[0]}_{param}"] = 1.0
            row[f"{other}_{param}"] = -1.0
            rows.append(row)
    if not rows:
        return None
    return pd.DataFrame(rows, columns=param_names).reset_index(drop=True)


def interval_df(system: System, param: str, n_obs: int) -> int:
    """Residual df of a parameter's interval: the smallest over the equations it enters."""
    return min(n_obs - len(system.equations[e].terms) for e in system.param_equations()[param])


def residual_sigma(system: System, resids: pd.DataFrame) -> np.ndarray:
    """The debiased residual covariance e_i'e_j / sqrt(df_i df_j) that the iterations use."""
    E = resids[system.order].to_numpy()
    df = equation_residual_df(system, len(E))
    return E.T @ E / np.sqrt(np.outer(df, df))


def fit_system(
    system: System,
    design: pd.DataFrame,
    estimation: dict,
    panel: PanelArrays | None = None,
    rng: np.random.Generator | None = None,
) -> SystemFit:
    """One system by iterated FGLS. Intervals per estimation['interval']: 'analytic' (Student t on the
    GLS covariance) or 'bootstrap_t' (models_py/studies/a/bootstrap.py; needs the observed `panel`; draws
    from `rng`, default seeded by estimation['bootstrap_seed'] and the system's id)."""
    frames = system_frames(system, design)
    started = time.perf_counter()
    try:
        model = SUR({key: {"dependent": y, "exog": X} for key, (y, X) in frames.items()})
    except ValueError as exc:  # e.g. a regressor matrix that is not of full rank
        raise ValueError(f"system {system.id} (Table {system.table}): {exc}") from exc
    r = constraint_matrix(system, model.param_names)
    if r is not None:
        model.add_constraints(r)
    iter_limit, tol = int(estimation["iter_limit"]), float(estimation["tol"])
    res = model.fit(
        method="gls",
        iterate=True,
        iter_limit=iter_limit,
        tol=tol,
        cov_type=str(estimation["cov_type"]),
        debiased=bool(estimation["debiased"]),
    )
    seconds = time.perf_counter() - started
    beta, se = res.params, res.std_errors
    violation = 0.0
    for param, eqs in system.restrictions():
        vals = np.array([beta[f"{e}_{param}"] for e in eqs])
        violation = max(violation, float(np.max(np.abs(vals - vals[0]))))
    where = system.param_equations()
    est = pd.Series({p: float(beta[f"{eqs[0]}_{p}"]) for p, eqs in where.items()})
    ses = pd.Series({p: float(se[f"{eqs[0]}_{p}"]) for p, eqs in where.items()})
    T = len(res.resids)
    level = float(estimation["level"])
    coef_rows = []
    for p, eqs in where.items():
        pub = system.params[p]
        term = next(t for t in system.equations[eqs[0]].terms if t.param == p)
        coef_rows.append(
            {
                "system": system.id,
                "table": system.table,
                "term": p,
                "variable": term.expr,
                "equation": ", ".join(system.equations[e].number for e in eqs),
                "shared": len(eqs) > 1,
                "estimate": est[p],
                "std_error": ses[p],
                "t_value": est[p] / ses[p],
                "residual_df": interval_df(system, p, T),
                "published_estimate": pub.estimate,
                "published_t": pub.t,
            }
        )
    coefficients = pd.DataFrame(coef_rows)
    method = str(estimation["interval"])
    if method == "analytic":
        q = stats.t.ppf(0.5 + level / 2, coefficients["residual_df"])
        coefficients["ci_low"] = coefficients["estimate"] - q * coefficients["std_error"]
        coefficients["ci_high"] = coefficients["estimate"] + q * coefficients["std_error"]
    elif method == "bootstrap_t":
        if panel is None:
            raise ValueError(f"system {system.id}: bootstrap_t intervals need the observed panel")
        rng = rng or np.random.default_rng([int(estimation["bootstrap_seed"]), system.id])
        sigma = residual_sigma(system, res.resids)
        iv = bootstrap_t_intervals(system, panel, est.to_dict(), sigma, ses.to_dict(), estimation, rng)
        coefficients["ci_low"] = coefficients["term"].map(lambda p: iv[p][0])
        coefficients["ci_high"] = coefficients["term"].map(lambda p: iv[p][1])
    else:
        raise ValueError(f"estimation interval {method!r}: expected analytic or bootstrap_t")
    coefficients["interval"] = method
    diag_rows = []
    for key, (y, X) in frames.items():
        e = res.resids[key].to_numpy()
        yy = y.to_numpy()
        pub = system.b1[key]
        diag_rows.append(
            {
                "system": system.id,
                "equation": system.equations[key].number,
                "cell": key,
                "n_obs": T,
                "n_regressors": X.shape[1],
                "residual_df": T - X.shape[1],
                "r2": 1.0 - float(e @ e) / float(((yy - yy.mean()) ** 2).sum()),
                # Koenker's studentised Breusch-Pagan LM: e^2 on the equation's regressors, n R^2 ~ chi2
                "lm_p": float(het_breuschpagan(e, X.to_numpy(), robust=True)[1]),
                "dw": float(durbin_watson(e)),
                "published_r2": pub[0],
                "published_lm_p": pub[1],
                "published_dw": pub[2],
            }
        )
    E = res.resids[system.order].to_numpy()
    cov = E.T @ E / T  # ML residual covariance at the converged estimates
    pub_cov = system.covariance()
    cov_rows = [
        {
            "system": system.id,
            "row": system.order[i],
            "col": system.order[j],
            "covariance": float(cov[i, j]),
            "published_magnitude": float(system.cov_lower[i][j]) * system.cov_scale,
            "published_used": float(pub_cov[i, j]),
            "scale": system.cov_scale,
        }
        for i in range(4)
        for j in range(i + 1)
    ]
    summary = {
        "system": system.id,
        "table": system.table,
        "country_group": system.group,
        "ages": f"{system.ages[0]},{system.ages[1]}",
        "sample_start": system.sample[0],
        "sample_end": system.sample[1],
        "n_obs": T,
        "n_params": len(est),
        "n_restrictions": 0 if r is None else len(r),
        "iterations": int(res.iterations),
        "iter_limit": iter_limit,
        "tol": tol,
        "converged": bool(res.iterations < iter_limit and np.all(np.isfinite(beta)) and np.all(np.isfinite(se))),
        "max_restriction_violation": violation,
        "min_residual_df": min(d["residual_df"] for d in diag_rows),
        "fit_seconds": seconds,
    }
    return SystemFit(
        system, est, ses, coefficients, pd.DataFrame(diag_rows), pd.DataFrame(cov_rows), summary, res.resids
    )


def fit_all(
    spec: Spec, design: pd.DataFrame, panel: pd.DataFrame | None = None, skip: set[int] | frozenset = frozenset()
) -> dict[int, SystemFit]:
    """Every system except those in `skip` (e.g. inputs incomplete at a small simulated scale)."""
    arrays = None if panel is None else PanelArrays(panel, spec.trend_base_year)
    return {s.id: fit_system(s, design, spec.estimation, arrays) for s in spec.systems if s.id not in skip}


def tidy(fits: dict[int, SystemFit]) -> dict[str, pd.DataFrame]:
    """The four long tables: coefficients, diagnostics, residual_cov, systems."""
    ordered = [fits[k] for k in sorted(fits)]
    return {
        "coefficients": pd.concat([f.coefficients for f in ordered], ignore_index=True),
        "diagnostics": pd.concat([f.diagnostics for f in ordered], ignore_index=True),
        "residual_cov": pd.concat([f.residual_cov for f in ordered], ignore_index=True),
        "systems": pd.DataFrame([f.summary for f in ordered]),
    }


def estimates_by_system(fits: dict[int, SystemFit]) -> dict[int, dict[str, float]]:
    return {k: f.estimates.to_dict() for k, f in fits.items()}
