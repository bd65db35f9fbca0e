"""§4.10 simulations of the nine systems [A §4.5]: static (Fig 4.1), dynamic reference path, and the
Table 4.11 counterfactuals; also the error-driven path used as the Monte Carlo data-generating process.

Coefficients are given per system as {param: value} (estimated or published). A year is solved in
the spec's order, adults (3,4) first, then (5,6), then children (1,2), who use the adults' current
rates; in a dynamic path every lagged or current EMI regressor takes the simulated value.
A system without coefficients (not estimable on the data) is not solved: its cells keep their observed rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inputs import atom_column, cell_columns, shocked_panel
from .spec import Atom, Spec, System, Term


class PanelArrays:
    """The panel as numpy columns (fast per-year access; EMI columns are overwritten by a path)."""

    def __init__(self, panel: pd.DataFrame, trend_base_year: int):
        self.year0 = int(panel.index[0])
        self.years = panel.index
        self.base = trend_base_year
        self.cols = {c: panel[c].to_numpy(dtype=float).copy() for c in panel.columns}

    def atom(self, atom: Atom, group: int, year: int) -> float:
        if atom.kind == "const":
            return 1.0
        if atom.kind == "Trend":
            return float(year - self.base)
        col, log = atom_column(atom, group)
        i = year + atom.lag - self.year0
        if i < 0:
            return float("nan")
        v = self.cols[col][i]
        return float(np.log(v)) if log else float(v)

    def term(self, term: Term, group: int, year: int) -> float:
        return sum(sign * self.atom(a, group, year) for sign, a in term.atoms)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.cols, index=self.years)


def predict(system: System, coefs: dict[str, float], arrays: PanelArrays, year: int) -> np.ndarray:
    """The four equations' systematic parts in the spec's equation order."""
    return np.array(
        [sum(coefs[t.param] * arrays.term(t, system.group, year) for t in eq.terms) for eq in system.equations.values()]
    )


def solve_path(
    spec: Spec,
    coefs: dict[int, dict[str, float]],
    panel: pd.DataFrame,
    years: range,
    rng: np.random.Generator | None = None,
    from_sample: bool = False,
) -> PanelArrays:
    """A dynamic path: each year's 36 rates from the equations with simulated lags; errors drawn from
    the Appendix C covariance when `rng` is given (else zero). With from_sample, a system starts at
    its own sample's first year (earlier years keep the panel's values)."""
    arrays = PanelArrays(panel, spec.trend_base_year)
    chol = {s.id: np.linalg.cholesky(s.covariance()) for s in spec.systems} if rng is not None else {}
    order = spec.solve_order()
    for year in years:
        for s in order:
            if s.id not in coefs or (from_sample and year < s.sample[0]):
                continue
            values = predict(s, coefs[s.id], arrays, year)
            if rng is not None:
                values = values + chol[s.id] @ rng.standard_normal(4)
            for key, v in zip(s.order, values):
                arrays.cols[f"EMI_{s.group}{key}"][year - arrays.year0] = v
    return arrays


def _totals(arrays: PanelArrays, years, emi_source: PanelArrays | None = None) -> pd.DataFrame:
    """Emigrations = sum over the 36 cells of EMI x POP (1 Jan); total rate = emigrations / POP."""
    rows = []
    for year in years:
        i = year - arrays.year0
        em = pop = 0.0
        for g, s, a in cell_columns():
            p = arrays.cols[f"POP_{g}{s}{a}"][i]
            em += arrays.cols[f"EMI_{g}{s}{a}"][i] * p
            pop += p
        rows.append({"year": int(year), "emigrations": em, "population_jan1": pop, "rate_pct": 100.0 * em / pop})
    return pd.DataFrame(rows)


def static_simulation(spec: Spec, coefs: dict[int, dict[str, float]], panel: pd.DataFrame) -> pd.DataFrame:
    """Fig 4.1: each year's 36 rates predicted from the actual lags and regressors; total rate in %."""
    lo, hi = spec.simulation["static_years"]
    actual = PanelArrays(panel, spec.trend_base_year)
    predicted = PanelArrays(panel, spec.trend_base_year)
    for year in range(lo, hi + 1):
        for s in (s for s in spec.systems if s.id in coefs):
            for key, v in zip(s.order, predict(s, coefs[s.id], actual, year)):
                predicted.cols[f"EMI_{s.group}{key}"][year - predicted.year0] = v
    sim, act = _totals(predicted, range(lo, hi + 1)), _totals(actual, range(lo, hi + 1))
    return pd.DataFrame(
        {
            "kind": "static",
            "year": sim["year"],
            "simulated_rate_pct": sim["rate_pct"],
            "actual_rate_pct": act["rate_pct"],
            "simulated_emigrations": sim["emigrations"],
            "actual_emigrations": act["emigrations"],
        }
    )


def dynamic_simulation(spec: Spec, coefs: dict[int, dict[str, float]], panel: pd.DataFrame) -> pd.DataFrame:
    """The reference path: simulated lags, zero errors, observed macro series and composition."""
    lo, hi = spec.simulation["dynamic_years"]
    path = solve_path(spec, coefs, panel, range(lo, hi + 1))
    sim = _totals(path, range(lo, hi + 1))
    act = _totals(PanelArrays(panel, spec.trend_base_year), range(lo, hi + 1))
    return pd.DataFrame(
        {
            "kind": "dynamic",
            "year": sim["year"],
            "simulated_rate_pct": sim["rate_pct"],
            "actual_rate_pct": act["rate_pct"],
            "simulated_emigrations": sim["emigrations"],
            "actual_emigrations": act["emigrations"],
        }
    )


def counterfactuals(spec: Spec, coefs: dict[int, dict[str, float]], panel: pd.DataFrame) -> pd.DataFrame:
    """Table 4.11: change in emigrations vs the reference path, each shock from `shock_from` on."""
    sim = spec.simulation
    lo, hi = sim["dynamic_years"]
    start = int(sim["shock_from"])
    years = range(lo, hi + 1)
    ref = _totals(solve_path(spec, coefs, panel, years), years).set_index("year")["emigrations"]
    pub = sim["published_table_4_11"]
    rows = []
    for name, cf in sim["counterfactuals"].items():
        shocked = shocked_panel(panel, list(cf["series"]), float(cf["delta"]), start)
        alt = _totals(solve_path(spec, coefs, shocked, years), years).set_index("year")["emigrations"]
        published = dict(zip(pub["years"], pub.get(name, [None] * len(pub["years"]))))
        for year in range(start, hi + 1):
            rows.append(
                {
                    "scenario": name,
                    "year": year,
                    "reference_emigrations": float(ref[year]),
                    "counterfactual_emigrations": float(alt[year]),
                    "difference": float(alt[year] - ref[year]),
                    "published_difference": published.get(year),
                }
            )
    out = pd.DataFrame(rows)
    out["published_difference"] = out["published_difference"].astype(float)
    return out


def published_coefficients(spec: Spec) -> dict[int, dict[str, float]]:
    return {s.id: s.true_coefficients() for s in spec.systems}


def run_all(spec: Spec, coefs_by_source: dict[str, dict[int, dict[str, float]]], panel: pd.DataFrame):
    """(simulation, counterfactuals) long frames with a `coefficients` column naming the source."""
    sims, cfs = [], []
    for source, coefs in coefs_by_source.items():
        for frame in (static_simulation(spec, coefs, panel), dynamic_simulation(spec, coefs, panel)):
            sims.append(frame.assign(coefficients=source))
        cfs.append(counterfactuals(spec, coefs, panel).assign(coefficients=source))
    return pd.concat(sims, ignore_index=True), pd.concat(cfs, ignore_index=True)
