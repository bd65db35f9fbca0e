"""Iterated restricted SUR: equal to an independent numpy iterated FGLS, restrictions exact, and the
published data-generating process recovered (Monte Carlo interval coverage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models_py.studies.a import montecarlo as mc
from models_py.studies.a.bootstrap import equation_residual_df, iterated_fgls, stacked_design
from models_py.studies.a.inputs import build_design, system_frames
from models_py.studies.a.simulate import PanelArrays
from models_py.studies.a.spec import load_spec
from models_py.studies.a.sur import fit_all, fit_system, tidy

MACRO = Path(__file__).resolve().parents[4] / "dbt" / "seeds" / "macro_series.csv"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def dgp(spec):
    return mc.dgp_panel(pd.read_csv(MACRO))


@pytest.fixture(scope="module")
def drawn(spec, dgp):
    return mc.draw_panel(spec, dgp, np.random.default_rng(123))


@pytest.fixture(scope="module")
def design(spec, drawn):
    return build_design(spec, drawn)


@pytest.fixture(scope="module")
def analytic(spec):
    """The estimation settings with Student-t intervals (no bootstrap: tests of the point estimates)."""
    return dict(spec.estimation, interval="analytic")


def numpy_iterated_fgls(frames: dict, tol: float = 1e-14, max_iter: int = 10_000) -> dict[str, float]:
    """Iterated FGLS written out: a shared parameter is one column of the stacked design (so the
    restriction holds by construction); Sigma_ij = e_i'e_j / sqrt((T-k_i)(T-k_j))."""
    keys = list(frames)
    names = list(dict.fromkeys(p for k in keys for p in frames[k][1].columns))
    T = len(frames[keys[0]][0])
    X = np.zeros((T * len(keys), len(names)))
    for i, k in enumerate(keys):
        for p in frames[k][1].columns:
            X[i * T : (i + 1) * T, names.index(p)] = frames[k][1][p].to_numpy()
    y = np.concatenate([frames[k][0].to_numpy() for k in keys])
    dof = np.sqrt(np.array([T - frames[k][1].shape[1] for k in keys], dtype=float))
    sigma, beta = np.eye(len(keys)), np.zeros(len(names))
    for _ in range(max_iter):
        W = np.kron(np.linalg.inv(sigma), np.eye(T))
        new = np.linalg.solve(X.T @ W @ X, X.T @ W @ y)
        E = (y - X @ new).reshape(len(keys), T).T
        sigma = (E.T @ E) / np.outer(dof, dof)
        if np.max(np.abs(new - beta)) < tol:
            break
        beta = new
    return dict(zip(names, new))


def test_equals_handwritten_iterated_fgls_with_restrictions(spec, design, analytic):
    system = spec.system(1)  # three parameters shared by all four equations
    fit = fit_system(system, design, dict(analytic, tol=1e-13))
    ref = numpy_iterated_fgls(system_frames(system, design))
    assert fit.summary["converged"] and fit.summary["n_restrictions"] == 9
    for p, v in ref.items():
        assert fit.estimates[p] == pytest.approx(v, abs=1e-6), p
    assert max(abs(fit.estimates[p] - v) for p, v in ref.items()) < 1e-8


def test_all_nine_fit_with_exact_restrictions_and_tidy_outputs(spec, design, drawn):
    fits = fit_all(spec, design, drawn)
    t = tidy(fits)
    s = t["systems"].set_index("system")
    assert s["converged"].all()
    assert (s["max_restriction_violation"] < spec.estimation["restriction_tolerance"]).all()
    assert (s["min_residual_df"] >= spec.estimation["min_residual_df"]).all()
    assert (s["iterations"] > 1).all()  # iterated, not two-step
    c = t["coefficients"]
    assert len(c) == sum(len(x.params) for x in spec.systems) == 113
    assert {
        "system",
        "equation",
        "term",
        "estimate",
        "std_error",
        "t_value",
        "published_estimate",
        "published_t",
        "ci_low",
        "ci_high",
    } <= set(c.columns)
    assert np.allclose(c["t_value"], c["estimate"] / c["std_error"])
    d = t["diagnostics"]
    assert len(d) == 36 and (d["r2"] <= 1).all() and d["lm_p"].between(0, 1).all()
    assert d["dw"].between(0, 4).all()
    r = t["residual_cov"]
    assert len(r) == 9 * 10
    # the residual covariance is that of the residuals at the estimates (ML, e'e/T)
    f1 = fits[1]
    e = f1.resids[["K3", "M3"]].to_numpy()
    got = r[(r.system == 1) & (r.row == "M3") & (r.col == "K3")]["covariance"].item()
    assert got == pytest.approx(float(e[:, 0] @ e[:, 1]) / len(e))


def test_diagnostics_detect_autocorrelation_and_heteroskedasticity(spec, dgp, analytic):
    """DW and the Koenker LM p-value respond to what they test: errors made AR(1) / heteroskedastic."""
    design = build_design(spec, mc.draw_panel(spec, dgp, np.random.default_rng(9)))
    system = spec.system(5)
    base = fit_system(system, design, analytic).diagnostics.set_index("cell")
    rho_design = design.copy()
    key = "g2:EMI_M5"
    e = 0.05 * np.sin(np.arange(len(design)) / 3)  # a slow wave: strongly autocorrelated errors
    rho_design[key] = design[key] + e
    ar = fit_system(system, rho_design, analytic).diagnostics.set_index("cell")
    assert ar.at["M5", "dw"] < 1.0 < base.at["M5", "dw"]
    het = design.copy()
    x = design["g2:ANKO_M5 + ANME_M5"].to_numpy()
    alternating = np.where(np.arange(len(x)) % 2 == 0, 1.0, -1.0)
    het[key] = design[key] + alternating * 0.05 * (x - np.nanmin(x)) / (np.nanmax(x) - np.nanmin(x))
    h = fit_system(system, het, analytic).diagnostics.set_index("cell")
    assert h.at["M5", "lm_p"] < 0.05


def test_numpy_iterated_fgls_of_the_bootstrap_equals_linearmodels(spec, design, drawn, analytic):
    """The bootstrap's fast refits (models_py/studies/a/bootstrap.py) are the estimator itself."""
    arrays = PanelArrays(drawn, spec.trend_base_year)
    for sid in (2, 6):
        system = spec.system(sid)
        fit = fit_system(system, design, dict(analytic, tol=1e-13))
        years = range(system.sample[0], system.sample[1] + 1)
        X, y, names = stacked_design(system, arrays, years)
        df = equation_residual_df(system, len(years))
        beta, se, _ = iterated_fgls(X, y, df, tol=1e-13, iter_limit=10_000)
        assert np.abs(beta - fit.estimates[names].to_numpy()).max() < 1e-7
        assert np.abs(se / fit.std_errors[names].to_numpy() - 1).max() < 1e-5


def test_bootstrap_intervals_widen_where_analytic_ones_are_too_narrow(spec, dgp):
    """On one draw, the bootstrap-t intervals are reproducible (seeded), contain the estimate, leave the
    observed panel untouched and are wider than the analytic ones for the lag coefficient of system 2."""
    panel = mc.draw_panel(spec, dgp, np.random.default_rng(5))
    design, arrays = build_design(spec, panel), PanelArrays(panel, spec.trend_base_year)
    before = {k: v.copy() for k, v in arrays.cols.items()}
    system = spec.system(2)
    est = dict(spec.estimation, bootstrap_draws=49)
    boot = fit_system(system, design, est, arrays).coefficients.set_index("term")
    again = fit_system(system, design, est, arrays).coefficients.set_index("term")
    analytic = fit_system(system, design, dict(est, interval="analytic")).coefficients.set_index("term")
    assert all(np.array_equal(before[k], arrays.cols[k], equal_nan=True) for k in before)
    assert boot["ci_low"].equals(again["ci_low"]) and (boot["interval"] == "bootstrap_t").all()
    assert ((boot["ci_low"] < boot["estimate"]) & (boot["estimate"] < boot["ci_high"])).all()
    width = (boot["ci_high"] - boot["ci_low"]) / (analytic["ci_high"] - analytic["ci_low"])
    assert width["b_K3"] > 1.0, width
    with pytest.raises(ValueError, match="need the observed panel"):
        fit_system(system, design, est)


def test_monte_carlo_coverage_fast(spec, dgp):
    """Few replications, wide band: catches a wrong DGP, a wrong estimator or wrong intervals (49
    bootstrap draws per interval keep it short)."""
    cov = mc.coverage(spec, dgp, reps=12, seed=7, estimation=dict(spec.estimation, bootstrap_draws=49))
    cov = cov.set_index("system")
    print(cov.to_string())
    assert (cov["unconverged"] == 0).all()
    assert cov["coverage"].between(0.80, 1.0).all(), cov
    assert cov["coverage"].mean() > 0.88


@pytest.mark.slow
def test_monte_carlo_coverage_200_replications(spec, dgp):
    """95 % intervals cover the published coefficients in 0.90-0.98 of cases, per system (99 bootstrap
    draws per interval: the production setting's 199 would double a run of about half an hour)."""
    cov = mc.coverage(spec, dgp, reps=200, seed=20150517, estimation=dict(spec.estimation, bootstrap_draws=99))
    print(cov.attrs["by_parameter"].sort_values("coverage").head(15).to_string())
    cov = cov.set_index("system")
    print(cov.to_string())
    assert (cov["unconverged"] == 0).all()
    assert cov["coverage"].between(0.90, 0.98).all(), cov
