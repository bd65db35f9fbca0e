"""Monte Carlo on the published data-generating process: published coefficients and Appendix C
covariances, the real macro series, and a fixed exogenous composition (ANKO/ANME shares, BEH, POP);
each replication draws the 36 rate series as a dynamic path with errors and refits the nine systems.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inputs import build_design, cell_columns
from .simulate import PanelArrays, published_coefficients, solve_path
from .spec import MACRO_SERIES, Spec
from .sur import fit_system

# [ASSUMPTION] rates before each system's first sample year only start the path (every replication
# conditions on them): report-like levels per age group (fractions) [A §5 Figs 3.14/3.18].
START_RATES = {1: 0.06, 2: 0.03, 3: 0.08, 4: 0.04, 5: 0.02, 6: 0.012}


def dgp_panel(macro: pd.DataFrame, seed: int = 20150517, last_year: int = 2013) -> pd.DataFrame:
    """A panel with the real macro series and a fixed synthetic composition (drawn once from `seed`):
    shares of short/medium duration of residence with trends and noise, group stocks growing as in
    the report's period (G2 surging after 2004)."""
    rng = np.random.default_rng(seed)
    m = macro.rename(columns=str.upper).rename(columns={"YEAR": "year"}).set_index("year")
    years = pd.RangeIndex(int(m.index.min()), last_year + 1, name="year")
    t = (years - 1990).to_numpy(dtype=float)
    cols: dict[str, np.ndarray] = {}
    beh = {
        1: 60e3 * np.exp(0.03 * t),
        2: 8e3 * np.exp(0.05 * t + 1.6 / (1 + np.exp(-(t - 15)))),
        3: 90e3 * np.exp(0.045 * t),
    }
    # year-to-year noise keeps ln BEH from being an exact linear function of Trend (collinear)
    beh = {g: v * np.exp(rng.normal(0, 0.04, len(t))) for g, v in beh.items()}
    for g, s, a in cell_columns():
        anko = np.clip(0.18 + 0.10 * np.sin(t / 4 + g + a) + rng.normal(0, 0.03, len(t)), 0.02, 0.6)
        anme = np.clip(0.30 - 0.004 * t * (g - 2) + rng.normal(0, 0.03, len(t)), 0.05, 0.6)
        cols[f"ANKO_{g}{s}{a}"], cols[f"ANME_{g}{s}{a}"] = anko, anme
        cols[f"POP_{g}{s}{a}"] = beh[g] * (0.25 if a in (3, 4) else 0.08 if a in (1, 2) else 0.04) / 2
        cols[f"EMI_{g}{s}{a}"] = np.full(len(t), START_RATES[a])
    for g in (1, 2, 3):
        cols[f"BEH_{g}"] = beh[g]
    panel = pd.DataFrame(cols, index=years)
    for name in MACRO_SERIES:
        panel[name] = m[name].reindex(years).astype(float)
    return panel


def draw_panel(spec: Spec, panel: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One replication: rates from each system's first sample year to its last, with errors."""
    first = min(s.sample[0] for s in spec.systems)
    last = max(s.sample[1] for s in spec.systems)
    path = solve_path(spec, published_coefficients(spec), panel, range(first, last + 1), rng=rng, from_sample=True)
    return path.to_frame()


def coverage(spec: Spec, panel: pd.DataFrame, reps: int, seed: int, estimation: dict | None = None) -> pd.DataFrame:
    """Per system: share of (parameter x replication) whose interval (ci_low, ci_high of the estimator's
    coefficient table, built as `estimation` says: default the spec's) covers the true value.
    attrs["by_parameter"] holds the coverage, mean error and mean standard error per parameter."""
    estimation = estimation or spec.estimation
    rng = np.random.default_rng(seed)
    unconverged = {s.id: 0 for s in spec.systems}
    rows = []
    for _ in range(reps):
        drawn = draw_panel(spec, panel, rng)
        design, arrays = build_design(spec, drawn), PanelArrays(drawn, spec.trend_base_year)
        for s in spec.systems:
            fit = fit_system(s, design, estimation, arrays, rng=rng)
            if not fit.summary["converged"]:
                unconverged[s.id] += 1
                continue
            c = fit.coefficients
            true = c["term"].map(s.true_coefficients())
            rows.append(
                pd.DataFrame(
                    {
                        "system": s.id,
                        "term": c["term"],
                        "error": c["estimate"] - true,
                        "std_error": c["std_error"],
                        "covered": (c["ci_low"] <= true) & (true <= c["ci_high"]),
                    }
                )
            )
    draws = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["system", "term", "error", "std_error", "covered"])
    )
    out = pd.DataFrame(
        [
            {
                "system": k,
                "replications": reps,
                "intervals": int((draws["system"] == k).sum()),
                "coverage": float(draws.loc[draws["system"] == k, "covered"].mean())
                if (draws["system"] == k).any()
                else float("nan"),
                "unconverged": unconverged[k],
            }
            for k in sorted(unconverged)
        ]
    )
    out.attrs["by_parameter"] = (
        draws.groupby(["system", "term"], sort=False)
        .agg(
            coverage=("covered", "mean"),
            mean_error=("error", "mean"),
            sd_error=("error", "std"),
            mean_std_error=("std_error", "mean"),
        )
        .reset_index()
    )
    return out
