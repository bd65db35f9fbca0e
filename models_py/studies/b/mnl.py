"""Study B estimator (spec B §4.2-§4.3): stay / return / onward multinomial logit on person-years.

statsmodels MNLogit, stay as the base, cluster-robust covariance by person, convergence asserted.
Every quantity after the fit (relative risk ratios, the onward-vs-return contrast, predictive
margins, the income profile) is computed from (params, covariance, X) with analytic gradients and
one pass over X per counterfactual: memory stays at X plus a few n-vectors, never statsmodels'
get_margeff, which needs ~40 KB per row (spec B §4.3.3). Outputs are tidy long DataFrames holding
only publishable quantities (disclosure policy R8): no per-person prediction leaves this module.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from models_py.studies.b.design import OUTCOMES, Design, DesignSpec, build_design

Z95 = float(stats.norm.ppf(0.975))
EQUATIONS = ["return_vs_stay", "onward_vs_stay"]


@dataclass
class MnlFit:
    """What later steps need: parameters (K x 2, columns = return, onward), their cluster covariance
    in the order params.ravel(order='F'), the design, and publishable summary figures."""

    params: np.ndarray
    cov: np.ndarray
    design: Design
    model: str
    summary: dict = field(default_factory=dict)

    @property
    def bflat(self) -> np.ndarray:
        return self.params.ravel(order="F")


def counts(panel: pd.DataFrame, model: str, pid: str = "person_id") -> pd.DataFrame:
    """models.b_counts rows: observations, persons and events by type (spec B §3 table precedent)."""
    y = panel["y"].to_numpy()
    return pd.DataFrame(
        [
            {
                "model": model,
                "observations": int(len(panel)),
                "persons": int(panel[pid].nunique()),
                "returns": int((y == 1).sum()),
                "onward": int((y == 2).sum()),
                "persons_return": int(panel.loc[y == 1, pid].nunique()),
                "persons_onward": int(panel.loc[y == 2, pid].nunique()),
            }
        ]
    )


def fit_mnl(
    panel: pd.DataFrame, spec: DesignSpec | None = None, model: str = "main", pid: str = "person_id", maxiter: int = 100
) -> MnlFit:
    """Fit the multinomial logit with person-clustered covariance; raise unless it converged with
    finite parameters and standard errors."""
    t0 = time.perf_counter()
    design = build_design(panel, spec)
    y = panel["y"].to_numpy(dtype=np.int64)
    if set(np.unique(y)) != {0, 1, 2}:
        raise ValueError("the outcome must take each of 0 (stay), 1 (return), 2 (onward)")
    groups = pd.factorize(panel[pid])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow in early Newton steps is handled
        res = sm.MNLogit(y, design.X, check_rank=False).fit(
            method="newton", maxiter=maxiter, disp=0, cov_type="cluster", cov_kwds={"groups": groups}
        )
    if not res.mle_retvals.get("converged", False):
        raise RuntimeError(f"study B MNL ({model}) did not converge in {maxiter} Newton steps")
    params = np.asarray(res.params, dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)
    if not (np.isfinite(params).all() and np.isfinite(np.diag(cov)).all() and (np.diag(cov) > 0).all()):
        raise RuntimeError(f"study B MNL ({model}): non-finite parameters or standard errors")
    n, k = design.X.shape
    summary = {
        "model": model,
        "observations": int(n),
        "persons": int(groups.max() + 1),
        "returns": int((y == 1).sum()),
        "onward": int((y == 2).sum()),
        "n_params": int(params.size),
        "df_resid": int(n - params.size),
        "clusters": int(groups.max() + 1),
        "cov_type": res.cov_type,
        "llf": float(res.llf),
        "llnull": float(res.llnull),
        "prsquared": float(res.prsquared),
        "aic": float(res.aic),
        "bic": float(res.bic),
        "converged": True,
        "iterations": int(res.mle_retvals.get("iterations", -1)),
        "fit_seconds": round(time.perf_counter() - t0, 3),
    }
    del res
    return MnlFit(params=params, cov=cov, design=design, model=model, summary=summary)


def _row(model, equation, term, est, se):
    z = est / se
    return {
        "model": model,
        "equation": equation,
        "term": term,
        "estimate": est,
        "std_error": se,
        "z": z,
        "p_value": float(2 * stats.norm.sf(abs(z))),
        "rrr": float(np.exp(est)),
        "ci_low": float(np.exp(est - Z95 * se)),
        "ci_high": float(np.exp(est + Z95 * se)),
    }


def rrr_table(fit: MnlFit) -> pd.DataFrame:
    """exp(beta) with cluster-robust 95% CIs for return vs stay and onward vs stay, and the contrast
    onward vs return exp(beta_onw - beta_ret), whose SE uses the full covariance (R = [-I, I])."""
    k = fit.params.shape[0]
    se = np.sqrt(np.diag(fit.cov))
    R = np.hstack([-np.eye(k), np.eye(k)])
    c_est = R @ fit.bflat
    c_se = np.sqrt(np.einsum("ij,jk,ik->i", R, fit.cov, R))
    rows = []
    for i, term in enumerate(fit.design.names):
        rows.append(_row(fit.model, "return_vs_stay", term, float(fit.params[i, 0]), float(se[i])))
        rows.append(_row(fit.model, "onward_vs_stay", term, float(fit.params[i, 1]), float(se[k + i])))
        rows.append(_row(fit.model, "onward_vs_return", term, float(c_est[i]), float(c_se[i])))
    return pd.DataFrame(rows)


# ---- predictive margins -----------------------------------------------------------------------


def probs(bflat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Row probabilities (stay, return, onward); bflat = params.ravel(order='F'). For tests and
    small samples (spec sketch); the margins below never materialise more than n x 3."""
    B = bflat.reshape(X.shape[1], -1, order="F")
    eta = X @ B
    return _probs_from_eta(eta)


def _probs_from_eta(eta: np.ndarray) -> np.ndarray:
    m = np.maximum(eta.max(axis=1, keepdims=True), 0.0)  # stable softmax with the base's 0
    e = np.exp(eta - m)
    d = np.exp(-m) + e.sum(axis=1, keepdims=True)
    return np.column_stack([np.exp(-m)[:, 0] / d[:, 0], e / d])


@dataclass
class _Margin:
    """Mean predicted P(stay), P(return), P(onward), mean P(onward | emigrate) and their gradients
    (each a 2K vector in bflat order) for one counterfactual setting."""

    mean: np.ndarray  # 4
    grad: np.ndarray  # 4 x 2K


def _margin(fit: MnlFit, eta: np.ndarray, sets: list[tuple[np.ndarray, np.ndarray]], chunk: int = 500_000) -> _Margin:
    """Predictive margin with every column in `sets` fixed for everyone. eta = X @ B of the data;
    the counterfactual linear predictor is eta - X[:, S] B[S] + s B[S]; the gradient X_cf' w is
    X' w with rows S replaced by s * sum(w). Processed in row chunks: O(chunk x K) extra memory."""
    X, B = fit.design.X, fit.params
    n, k = X.shape
    S = np.concatenate([c for c, _ in sets]) if sets else np.array([], dtype=int)
    s = np.concatenate([v for _, v in sets]) if sets else np.array([])
    shift = s @ B[S] if S.size else np.zeros(2)
    total = np.zeros(4)
    G = np.zeros((k, 8))  # X_cf' W: columns (stay, return, onward, ratio) x (eq return, eq onward)
    wsum = np.zeros(8)
    for a in range(0, n, chunk):
        Xc = X[a : a + chunk]
        e = eta[a : a + chunk]
        if S.size:
            e = e - Xc[:, S] @ B[S] + shift
        P = _probs_from_eta(e)
        r = P[:, 2] / (P[:, 1] + P[:, 2])
        total += np.column_stack([P, r]).sum(axis=0)
        # d P_j / d beta_m = P_j (1[j == m] - P_m) x, m in {1, 2}; d r / d beta_2 = r(1-r) x = -d r / d beta_1
        W = np.empty((len(P), 8))
        for j in range(3):
            W[:, 2 * j] = P[:, j] * ((j == 1) - P[:, 1])
            W[:, 2 * j + 1] = P[:, j] * ((j == 2) - P[:, 2])
        W[:, 6] = -r * (1 - r)
        W[:, 7] = r * (1 - r)
        G += Xc.T @ W
        wsum += W.sum(axis=0)
    if S.size:
        G[S] = np.outer(s, wsum)
    G /= n
    grad = np.vstack([np.concatenate([G[:, 2 * j], G[:, 2 * j + 1]]) for j in range(4)])
    return _Margin(mean=total / n, grad=grad)


def _eta(fit: MnlFit, chunk: int = 500_000) -> np.ndarray:
    X = fit.design.X
    return np.vstack([X[a : a + chunk] @ fit.params for a in range(0, len(X), chunk)]) if len(X) else np.zeros((0, 2))


QUANTITIES = ["p_stay", "p_return", "p_onward", "p_onward_given_emigrate"]


def ame_table(fit: MnlFit, per: float = 1000.0) -> pd.DataFrame:
    """Average marginal effects as counterfactual predictive-margin contrasts: each level of each
    categorical vs its reference, each binary 1 vs 0; per `per` person-years, delta-method SEs from
    the cluster covariance. The conditional share P(onward | emigrate) is reported per 1 (a share)."""
    eta = _eta(fit)
    d = fit.design
    rows = []
    for var in d.spec.variables():
        if var in ("inc_pct", "year"):
            continue  # the spline's effect is the income profile; year effects are controls
        if var in d.levels:
            ref = d.levels[var][0]
            base = _margin(fit, eta, [d.setting(var, ref)])
            targets = [(lv, d.setting(var, lv)) for lv in d.levels[var][1:]]
            ref_label = str(ref)
        else:
            base = _margin(fit, eta, [d.setting(var, 0)])
            targets = [("1", d.setting(var, 1))]
            ref_label = "0"
        for lv, st in targets:
            m = _margin(fit, eta, [st])
            diff = m.mean - base.mean
            g = m.grad - base.grad
            se = np.sqrt(np.einsum("ij,jk,ik->i", g, fit.cov, g))
            for q, name in enumerate(QUANTITIES):
                scale = per if q < 3 else 1.0
                rows.append(
                    {
                        "model": fit.model,
                        "variable": var,
                        "level": str(lv),
                        "reference": ref_label,
                        "quantity": name,
                        "scale": "per_1000_person_years" if q < 3 else "share",
                        "ame": float(diff[q] * scale),
                        "std_error": float(se[q] * scale),
                        "ci_low": float((diff[q] - Z95 * se[q]) * scale),
                        "ci_high": float((diff[q] + Z95 * se[q]) * scale),
                    }
                )
    return pd.DataFrame(rows)


def ame_continuous(fit: MnlFit, column: str, eps: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Average derivative of (P_stay, P_return, P_onward) w.r.t. a continuous column, with delta-method
    SEs: the quantity statsmodels' get_margeff(dummy=False) reports; used to test the helper."""
    j = fit.design.names.index(column)
    X = fit.design.X
    k = X.shape[1]

    def f(bflat):
        Bm = bflat.reshape(k, 2, order="F")
        P = _probs_from_eta(X @ Bm)
        pb = P[:, 1:] @ Bm[j]  # sum_m P_m beta_mj
        return np.column_stack([P[:, 0] * (0 - pb), P[:, 1] * (Bm[j, 0] - pb), P[:, 2] * (Bm[j, 1] - pb)]).mean(axis=0)

    b = fit.bflat
    unit = np.eye(b.size)
    J = np.column_stack([(f(b + eps * unit[i]) - f(b - eps * unit[i])) / (2 * eps) for i in range(b.size)])
    return f(b), np.sqrt(np.diag(J @ fit.cov @ J.T))


def income_points(
    panel: pd.DataFrame,
    fit: MnlFit,
    min_persons: int,
    pid: str = "person_id",
    grid: tuple = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 99),
) -> list[tuple[str, float, object]]:
    """Where the income profile is evaluated (R8: micro-aggregated percentile values, never one
    person's value): for income groups, each group's mean inc_pct; for the spline, the mean inc_pct of
    the rows in a window around each grid point holding at least `min_persons` persons.
    Returns (label, mean percentile, value to set)."""
    pct = panel["inc_pct"].astype(float)
    out = []
    if fit.design.spec.income == "groups":
        for lv in sorted(
            fit.design.levels.get("inc_group", []),
            key=lambda v: (v == "none", str(v).removeprefix("P").split("-")[0].rstrip("+").zfill(3)),
        ):
            if lv == "none":
                continue
            sel = panel["inc_group"] == lv
            if panel.loc[sel, pid].nunique() >= min_persons:
                out.append((str(lv), float(pct[sel].mean()), lv))
        return out
    for g in grid:
        for half in (0.5, 1, 2.5, 5, 10):
            sel = (pct >= g - half) & (pct < g + half)
            if panel.loc[sel, pid].nunique() >= min_persons:
                m = float(pct[sel].mean())
                out.append((f"P{g}", m, m))
                break
    return out


def income_profile(fit: MnlFit, points: list[tuple[str, float, object]], per: float = 1000.0) -> pd.DataFrame:
    """Predicted annual P(return), P(onward) per `per` person-years and P(onward | emigrate) with
    income set to each point for everyone (other covariates as observed), delta-method 95% bands.
    Under the spline, persons without earned income carry a no_income indicator beside inc_pct 0: setting
    income for everyone sets it to 0 too, as setting an income group replaces the groups model's 'none'."""
    eta = _eta(fit)
    var = "inc_group" if fit.design.spec.income == "groups" else "inc_pct"
    also = [fit.design.setting("no_income", 0)] if var == "inc_pct" and "no_income" in fit.design.columns else []
    rows = []
    for label, pct_mean, value in points:
        m = _margin(fit, eta, [fit.design.setting(var, value), *also])
        se = np.sqrt(np.einsum("ij,jk,ik->i", m.grad, fit.cov, m.grad))
        for q, name in enumerate(QUANTITIES):
            if name == "p_stay":
                continue
            scale = per if q < 3 else 1.0
            rows.append(
                {
                    "model": fit.model,
                    "income_point": label,
                    "inc_pct_mean": pct_mean,
                    "quantity": name,
                    "scale": "per_1000_person_years" if q < 3 else "share",
                    "estimate": float(m.mean[q] * scale),
                    "std_error": float(se[q] * scale),
                    "ci_low": float((m.mean[q] - Z95 * se[q]) * scale),
                    "ci_high": float((m.mean[q] + Z95 * se[q]) * scale),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "income_point",
            "inc_pct_mean",
            "quantity",
            "scale",
            "estimate",
            "std_error",
            "ci_low",
            "ci_high",
        ],
    )


def conditional_logit(panel: pd.DataFrame, spec: DesignSpec | None = None, pid: str = "person_id") -> pd.DataFrame:
    """Cross-check of the contrast (spec B §4.3.2): binary logit onward (1) vs return (0) on the
    emigration rows only, same design, cluster-robust by person."""
    em = panel[panel["y"] > 0].reset_index(drop=True)
    d = build_design(em, spec)
    res = sm.Logit((em["y"] == 2).astype(float).to_numpy(), d.X, check_rank=False).fit(
        method="newton", disp=0, maxiter=100, cov_type="cluster", cov_kwds={"groups": pd.factorize(em[pid])[0]}
    )
    if not res.mle_retvals.get("converged", False):
        raise RuntimeError("conditional logit (onward vs return) did not converge")
    return pd.DataFrame({"term": d.names, "estimate": np.asarray(res.params), "std_error": np.asarray(res.bse)})


def peak_memory_mb() -> float:
    """Peak resident set of this process so far (ru_maxrss), in MB."""
    import resource
    import sys

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 / 1024 if sys.platform == "darwin" else r / 1024


__all__ = [
    "OUTCOMES",
    "EQUATIONS",
    "MnlFit",
    "counts",
    "fit_mnl",
    "rrr_table",
    "ame_table",
    "ame_continuous",
    "income_points",
    "income_profile",
    "conditional_logit",
    "probs",
    "peak_memory_mb",
]
