"""Study B design matrix (spec B §4.2): explicit treatment dummies with the spec's reference levels.

The matrix is a plain float64 ndarray (no pandas copy of a 2.5 M-row frame) plus its column names;
the first listed level of each categorical is the reference. A counterfactual ("set variable v to
level L for everyone") is a fixed assignment of the variable's columns, which `Design.setting`
returns, so the margins never need a modified copy of X.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models_py import bands

OUTCOMES = ["stay", "return", "onward"]  # y = 0, 1, 2; stay is the base

# first level = reference (spec B §4.2). Levels the panel may add beyond the spec ('none' income:
# no earned income in t-1; 'unknown' wealth) come after the listed ones.
CATS: dict[str, list] = {
    "age_band": bands.labels("age_band_b"),
    "dur_band": bands.labels("dur_band_b"),
    "educ": ["medium", *(b for b in bands.labels("educ_b") if b != "medium"), "unknown"],
    "inc_group": [
        "P40-49",
        "P0-9",
        "P10-19",
        "P20-29",
        "P30-39",
        "P50-59",
        "P60-69",
        "P70-79",
        "P80-89",
        "P90-94",
        "P95-98",
        "P99+",
        "none",
    ],
    "wealth_group": ["Q3", "le0", "Q1", "Q2", "Q4", "Q5", "unknown"],
    "origin": ["eu_east", "nordic", "eu_west", "other_europe", "non_europe"],
}
BIN = ["female", "citizen_no", "spouse_in_no", "child_in_hh", "employed", "welfare_any"]
# ordered categoricals: a sparse level may be merged into its neighbour (R8); nominal ones may not
ORDERED = {"age_band", "dur_band", "inc_group", "year"}
# knots of the linear income spline (percentile scale 0-1) for the spline sensitivity run
SPLINE_KNOTS = (0.25, 0.5, 0.75, 0.9, 0.95)


@dataclass
class DesignSpec:
    """Which regressors enter: categoricals with levels (first = reference), binaries, income form."""

    cats: dict[str, list] = field(default_factory=lambda: {k: list(v) for k, v in CATS.items()})
    binaries: list[str] = field(default_factory=lambda: list(BIN))
    year_fe: bool = True
    income: str = "groups"  # 'groups' (inc_group dummies) or 'spline' (linear spline in inc_pct)

    def variables(self) -> list[str]:
        cats = [c for c in self.cats if not (c == "inc_group" and self.income != "groups")]
        return (
            cats
            + (["year"] if self.year_fe else [])
            + list(self.binaries)
            + (["inc_pct"] if self.income == "spline" else [])
        )


def spline_basis(pct01: np.ndarray) -> np.ndarray:
    """Linear spline in the 0-1 percentile: x and (x - k)+ for each knot."""
    x = np.asarray(pct01, dtype=float)
    return np.column_stack([x] + [np.maximum(x - k, 0.0) for k in SPLINE_KNOTS])


@dataclass
class Design:
    X: np.ndarray  # n x K float64
    names: list[str]  # K column names
    spec: DesignSpec
    levels: dict[str, list]  # levels used per categorical (reference first, absent ones dropped)
    columns: dict[str, list[int]] = field(default_factory=dict)  # variable -> its column indices
    # columns left out because earlier columns determine them exactly ("name = combination of ...")
    aliased: list[str] = field(default_factory=list)
    # variable -> positions, within its full column list, of the columns kept (absent: all kept)
    kept: dict[str, list[int]] = field(default_factory=dict)

    def setting(self, variable: str, value) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and the values they take when `variable` is set to `value` for everyone."""
        cols = np.asarray(self.columns[variable], dtype=int)
        if variable in self.levels:
            lv = self.levels[variable]
            if value not in lv:
                raise ValueError(f"{variable}: level {value!r} not in the design")
            vals = np.array([1.0 if self.names[c] == f"{variable}={value}" else 0.0 for c in cols])
        elif variable == "inc_pct":
            vals = spline_basis(np.array([float(value) / 100.0]))[0]
        else:
            vals = np.array([float(value)])
        if variable in self.kept and variable not in self.levels:  # an aliased spline or binary column is gone
            vals = vals[self.kept[variable]]
        return cols, vals


def _year_levels(years: pd.Series) -> list:
    return sorted(int(v) for v in pd.unique(years))


def build_design(panel: pd.DataFrame, spec: DesignSpec | None = None) -> Design:
    """Design matrix for the panel. A value outside a categorical's levels is an error (never a silent
    reference); a level absent from the panel gets no column (it would make the Hessian singular)."""
    spec = spec or DesignSpec()
    n = len(panel)
    levels: dict[str, list] = {}
    cats = {c: lv for c, lv in spec.cats.items() if not (c == "inc_group" and spec.income != "groups")}
    if spec.year_fe:
        cats = {**cats, "year": _year_levels(panel["year"])}
    names = ["const"]
    columns: dict[str, list[int]] = {}
    ncols = 1 + len(spec.binaries) + (len(SPLINE_KNOTS) + 1 if spec.income == "spline" else 0)
    codes_by_var = {}
    for c, lv in cats.items():
        values = panel[c].astype(int) if c == "year" else panel[c].astype(object)
        present = set(pd.unique(values))
        unknown = present - set(lv)
        if unknown:
            raise ValueError(f"covariate {c!r} has {len(unknown)} value(s) outside its levels")
        used = [v for v in lv if v in present]
        if not used or used[0] != lv[0]:
            raise ValueError(f"covariate {c!r}: the reference level {lv[0]!r} is absent from the panel")
        levels[c] = used
        codes_by_var[c] = pd.Categorical(values, categories=used).codes
        ncols += len(used) - 1
    X = np.zeros((n, ncols), dtype=np.float64)
    X[:, 0] = 1.0
    j = 1
    for b in spec.binaries:
        X[:, j] = panel[b].astype(float).to_numpy()
        names.append(b)
        columns[b] = [j]
        j += 1
    if spec.income == "spline":
        basis = spline_basis(panel["inc_pct"].astype(float).to_numpy() / 100.0)
        X[:, j : j + basis.shape[1]] = basis
        names += ["inc_pct"] + [f"inc_pct_knot{k:g}" for k in SPLINE_KNOTS]
        columns["inc_pct"] = list(range(j, j + basis.shape[1]))
        j += basis.shape[1]
    for c, used in levels.items():
        codes = codes_by_var[c]
        columns[c] = list(range(j, j + len(used) - 1))
        for k, lv in enumerate(used[1:], start=1):
            X[:, j] = codes == k
            names.append(f"{c}={lv}")
            j += 1
    if np.isnan(X).any():
        raise ValueError("the design has missing values (a binary or inc_pct is null)")
    keep, aliased = aliased_columns(X, names)
    kept: dict[str, list[int]] = {}
    if aliased:
        # e.g. no earned income in t-1 <=> wealth not delivered: the later column's effect is the earlier one's
        X = np.ascontiguousarray(X[:, keep])
        dropped = {names[j] for j in range(len(names)) if j not in keep}
        new_index = {old: k for k, old in enumerate(keep)}
        for v, cols in columns.items():
            if any(c not in new_index for c in cols):
                kept[v] = [i for i, c in enumerate(cols) if c in new_index]
        columns = {v: [new_index[c] for c in cols if c in new_index] for v, cols in columns.items()}
        names = [names[j] for j in keep]
        levels = {c: [lv[0]] + [x for x in lv[1:] if f"{c}={x}" not in dropped] for c, lv in levels.items()}
    return Design(X=X, names=names, spec=spec, levels=levels, columns=columns, aliased=aliased, kept=kept)


def aliased_columns(X: np.ndarray, names: list[str], tol: float = 1e-9) -> tuple[list[int], list[str]]:
    """Columns kept, and a note per column that earlier kept columns determine exactly (perfect
    collinearity makes the Hessian singular and the cluster covariance meaningless). Works on X'X (K x K),
    column by column in order, so the later of two aliased columns goes, as in R's lm."""
    G = X.T @ X
    keep: list[int] = []
    notes: list[str] = []
    for j in range(G.shape[0]):
        if keep:
            Gk = G[np.ix_(keep, keep)]
            coef = np.linalg.solve(Gk, G[keep, j])
            residual = G[j, j] - G[keep, j] @ coef
        else:
            coef, residual = np.zeros(0), G[j, j]
        if residual > tol * max(G[j, j], 1.0):
            keep.append(j)
            continue
        terms = [f"{c:+.3g} {names[k]}" for c, k in zip(coef, keep) if abs(c) > 1e-6]
        notes.append(f"{names[j]} = {' '.join(terms) if terms else '0'} (aliased, not estimated)")
    return keep, notes


def empty_outcome_levels(panel: pd.DataFrame, variable: str, outcome: str = "y") -> dict:
    """Level -> the outcome values of the panel that never occur in it (separation: the level's coefficient for
    that outcome has no maximum-likelihood estimate). Levels where every outcome occurs are left out."""
    cells = pd.crosstab(panel[variable], panel[outcome])
    return {level: [j for j, k in row.items() if k == 0] for level, row in cells.iterrows() if (row == 0).any()}


def merge_sparse_levels(
    panel: pd.DataFrame, spec: DesignSpec, min_persons: int, pid: str = "person_id", outcome: str | None = "y"
) -> tuple[pd.DataFrame, DesignSpec, list[str]]:
    """R8: an ordered level with fewer than `min_persons` persons, or in which an outcome category of the panel
    never occurs (its coefficient would not exist: separation), is merged into its neighbour (the previous
    level, the next for the first); nominal levels are left for the checks to refuse.
    Returns the panel with merged labels, the spec with merged level lists and what was merged."""
    panel = panel.copy()
    cats = {k: list(v) for k, v in spec.cats.items()}
    merged: list[str] = []
    order = {**cats, "year": _year_levels(panel["year"])} if spec.year_fe else dict(cats)
    for c, lv in order.items():
        if c not in ORDERED or c not in panel:
            continue
        while True:
            persons = panel.groupby(c, observed=True)[pid].nunique()
            empty = empty_outcome_levels(panel, c, outcome) if outcome is not None else {}
            natural = sorted(lv, key=_natural_key) if c != "year" else sorted(lv)
            # only numbered bands have neighbours ('none', 'unknown' are left for the check)
            natural = [v for v in natural if v in persons.index and _natural_key(v)[0] == 0]
            small = [v for v in natural if persons[v] < min_persons or v in empty]
            if not small or len(natural) < 2:
                break
            v = small[0]
            i = natural.index(v)
            into = natural[i - 1] if i > 0 else natural[1]
            if c in cats and v == cats[c][0]:  # the reference stays the reference: its neighbour joins it
                v, into = into, v
            panel[c] = panel[c].where(panel[c] != v, into)  # a year takes its neighbour's fixed effect
            if v in lv and c in cats:
                cats[c] = [x for x in cats[c] if x != v]
            merged.append(f"{c}: {v} -> {into}")
            lv = [x for x in lv if x != v]
    return panel, DesignSpec(cats=cats, binaries=spec.binaries, year_fe=spec.year_fe, income=spec.income), merged


def exclude_empty_levels(panel: pd.DataFrame, spec: DesignSpec, outcome: str = "y") -> tuple[pd.DataFrame, list[str]]:
    """R8 after `merge_sparse_levels`: a non-reference level of a categorical regressor that has no neighbour to
    merge into (a nominal level such as an origin, or 'none' income / 'unknown' wealth) and in which an outcome
    category never occurs has no maximum-likelihood estimate. Its person-years leave the run (a separate model by
    origin can have no onward move among persons without earned income); the note names variable, level and
    outcome, never a count. The reference level is never dropped: such a run stays refused."""
    notes: list[str] = []
    names = dict(enumerate(OUTCOMES))
    for c, levels in spec.cats.items():
        if c not in panel or (c == "inc_group" and spec.income != "groups"):
            continue
        for level, missing in empty_outcome_levels(panel, c, outcome).items():
            if level == levels[0] or (c in ORDERED and _natural_key(level)[0] == 0):
                continue  # the reference, or a numbered band merge_sparse_levels could not merge: left to the check
            panel = panel[panel[c] != level]
            notes.append(
                f"{c}={level}: no {', '.join(names.get(int(j), str(j)) for j in missing)} outcome, its person-years left out"
            )
    return panel, notes


def _natural_key(level) -> tuple:
    """Sort key for band labels like '20-27', '10+', 'P0-9', 'P99+', 2003 (numbers first, others last)."""
    s = str(level).removeprefix("P")
    digits = ""
    for ch in s:
        if ch.isdigit():
            digits += ch
        else:
            break
    return (0, int(digits), s) if digits else (1, 0, s)
