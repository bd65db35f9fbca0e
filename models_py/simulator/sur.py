"""Study A's nine SUR systems as a data-generating process for immigrants' cell emigration rates.

Cells: country group g (1..3) x sex S (K = women, M = men) x age group a (1..6) [A §3.2-3.4].
Each year the 36 rates are computed from the published equations [A §4.2] with the macro series,
the simulated 1 Jan composition (ANKO/ANME shares, ln BEH) and the previous years' rates, plus an
error vector per system drawn from the Appendix C covariance [A §4.4]; then clipped (params.yaml).
The systems themselves (equations, coefficients, covariances, Trend base) are read from the one
home of the published specification, models_py/studies/a/sur_spec.yaml; params.yaml keeps only
the simulator's own settings (clipping, initial rates, trend freeze, error draws).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from models_py.studies.a.spec import load_spec, simulator_systems

SEXES = ("K", "M")
_TERM = re.compile(r"^(EMI_|ANKO_|ANME_)?([A-Za-z]+?)(\d)?(?:\[(-?\d+)\])?$")


class MacroSeries:
    """Macro series with the params' rule for blank cells (nearest available year)."""

    def __init__(self, df: pd.DataFrame):
        self.df = df.set_index("year").sort_index()

    def get(self, name: str, year: int) -> float:
        s = self.df[name.lower()].dropna()
        if s.empty:
            raise ValueError(f"macro series {name} is empty")
        if year in s.index:
            return float(s.loc[year])
        idx = np.asarray(s.index)
        j = int(np.argmin(np.abs(idx - year) + (idx > year) * 0.1))  # ties -> earlier year
        return float(s.iloc[j])


def _parse_expr(expr: str):
    """'ANKO_K3 + ANME_K3' -> [(+1, 'ANKO_K3'), (+1, 'ANME_K3')]"""
    parts = []
    sign = 1
    for tok in expr.replace("+", " + ").replace(" - ", " - ").split():
        if tok == "+":
            sign = 1
        elif tok == "-":
            sign = -1
        else:
            parts.append((sign, tok))
            sign = 1
    return parts


class SurProcess:
    def __init__(self, params: dict, macro: MacroSeries, rng: np.random.Generator):
        self.p = params["sur"]
        self.macro = macro
        self.rng = rng
        self.history: dict[int, dict[str, float]] = {}  # year -> {"1K3": rate}
        init = self.p["initial_rates"]
        for lag in (1, 2):
            self.history[-lag] = {
                f"{g}{s}{a}": float(init[g][a]) for g in (1, 2, 3) for s in SEXES for a in range(1, 7)
            }
        spec = load_spec()
        self.trend_base_year = spec.trend_base_year
        self.systems = []
        for sysd in simulator_systems(spec):
            tri = sysd["cov"]
            cov = np.zeros((4, 4))
            for i, row in enumerate(tri):
                for j, v in enumerate(row):
                    cov[i, j] = cov[j, i] = float(v) * float(sysd["cov_scale"])
            # guard: make PSD (unknown-sign entries were zeroed; keep PSD by eigenvalue floor)
            w, v = np.linalg.eigh(cov)
            w = np.clip(w, 0, None)
            chol_like = v * np.sqrt(w)
            a_young, a_old = sysd["ages"]
            order = [f"K{a_young}", f"K{a_old}", f"M{a_young}", f"M{a_old}"]
            eqs = {k: [(float(c), _parse_expr(str(e))) for c, e in terms] for k, terms in sysd["eq"].items()}
            self.systems.append(
                {"id": sysd["id"], "g": int(sysd["group"]), "order": order, "eqs": eqs, "L": chol_like, "cov": cov}
            )
        self.first_year = None

    def _rate(self, year: int, key: str) -> float:
        h = self.history.get(year)
        if h is None:
            # before the first simulated year: initial rates
            h = self.history[-1]
        return h[key]

    def _term(self, year: int, trend: int, comp: dict, current: dict[str, float], group: int, token: str) -> float:
        """The value of one term of an equation, e.g. `EMI_K3[-1]`, `lnRELINNT1`, `Trend`, for a group."""
        lag = 0
        lagged = re.match(r"^(.*)\[(-?\d+)\]$", token)
        if lagged:
            token, lag = lagged.group(1), int(lagged.group(2))
        at = year + lag
        if token == "const":
            return 1.0
        if token == "Trend":
            return float(trend)
        if token.startswith("EMI_"):
            key = f"{group}{token[4]}{token[5:]}"
            return current[key] if lag == 0 else self._rate(at, key)
        if token.startswith("ANKO_") or token.startswith("ANME_"):
            sex, age = token[5], int(token[6:])
            anko, anme = comp["shares"].get((group, sex, age), (0.0, 0.0))
            return anko if token.startswith("ANKO_") else anme
        if token.startswith("lnBEH"):
            return math.log(max(comp["BEH"][int(token[5:])], 1.0))
        if token.startswith("lnRELINNT"):
            return math.log(self.macro.get("relinnt" + token[9:], at))
        if token in ("LEDNOR", "LED1", "LED2"):
            return self.macro.get(token.lower(), at)
        raise KeyError(token)

    def _draw_errors(self) -> dict[tuple[int, str], float]:
        """One year's correlated equation errors per (group, equation), zero when errors are off."""
        errors = {}
        for system in self.systems:
            if self.p.get("draw_errors", True):
                draw = system["L"] @ self.rng.standard_normal(4)
            else:
                draw = np.zeros(4)
            for k, name in enumerate(system["order"]):
                errors[(system["g"], name)] = float(draw[k])
        return errors

    def step(self, year: int, comp: dict) -> dict[str, float]:
        """comp: {(g, 'K', a): (anko, anme)}, {'BEH': {g: stock_at_scale1}}. Returns {'1K3': rate,...}."""
        if self.first_year is None:
            self.first_year = year
            self.history[year - 1] = self.history[-1]
            self.history[year - 2] = self.history[-2]
        p = self.p
        trend = min(year, int(p["trend_freeze_after"])) - int(self.trend_base_year)
        current: dict[str, float] = {}
        errors = self._draw_errors()
        # adults first, then elderly, then children (children use current adult rates)
        for ages in ((3, 4), (5, 6), (1, 2)):
            for system in self.systems:
                if tuple(sorted(int(x[1]) for x in system["order"][:2])) != ages:
                    continue
                group = system["g"]
                for name in system["order"]:
                    value = 0.0
                    for coef, parts in system["eqs"][name]:
                        value += coef * sum(
                            sign * self._term(year, trend, comp, current, group, t) for sign, t in parts
                        )
                    value += errors[(group, name)]
                    age = int(name[1])
                    current[f"{group}{name}"] = min(max(value, float(p["clip_min"][age])), float(p["clip_max"][age]))
        self.history[year] = current
        return current
