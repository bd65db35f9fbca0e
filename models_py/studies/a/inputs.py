"""Study A Table 4.1 model inputs: the yearly panel of EMI/ANKO/ANME/POP/BEH and macro series, and the
regressors of every term of the specification (lags, logs, sums, differences, Trend) built once.

Panel columns (one row per year, consecutive years): EMI_gSa, ANKO_gSa, ANME_gSa, POP_gSa (1 Jan
stock) for group g, sex S (K women, M men), age group a (Table A2); BEH_g; LEDNOR, LED1, LED2,
RELINNT1-3 (levels, as delivered in the macro seed). EMI is a fraction (A §3.1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_py import bands
from models_py.publish import disclosure

from .spec import MACRO_SERIES, MAX_LAG, SEXES, Atom, Spec, System, Term

# Table A2 labels as the mart writes them (dbt macro age_group_a) -> the report's age-group number
AGE_GROUPS = {label: number for number, label in enumerate(bands.labels("age_group_a"), start=1)}
SEX_CODES = {2: "K", 1: "M"}  # register sex code -> the report's K (kvinner) / M (menn)
CELL_SERIES = ("EMI", "ANKO", "ANME", "POP")


def cell_columns() -> list[tuple[int, str, int]]:
    return [(g, s, a) for g in (1, 2, 3) for s in SEXES for a in range(1, 7)]


# the counts behind each cell series' rate (numerator, denominator), as the mart rate_a_macro names them
CELL_COUNTS = {
    "emi": ("emigrations", "population_jan1"),
    "anko": ("n_botid_short", "population_jan1"),
    "anme": ("n_botid_medium", "population_jan1"),
}
CELL_COUNT_COLUMNS = sorted({c for e_n in CELL_COUNTS.values() for c in e_n})
CELL_KEYS = ["country_group", "sex", "age_group"]


def pool_input_cells(rates: pd.DataFrame, years: tuple[int, int], settings: dict | None = None) -> pd.DataFrame:
    """The mart's cells of `years` (first, last), each cell that fails R2/R3 pooled with adjacent years of its
    series until the pooled cell passes (disclosure.pool_adjacent_periods, R9). A pooled year takes its block's
    rates (summed counts over summed 1 Jan stocks) for EMI, ANKO and ANME; POP stays the year's own stock, so the
    totals of the simulations keep each year's composition. Unpooled cells keep the mart's values."""
    cells = rates[rates["year"].between(*years) & rates["country_group"].isin([1, 2, 3])].copy()
    specs = [disclosure.RateSpec(rate, e, n) for rate, (e, n) in CELL_COUNTS.items()]
    counts = CELL_COUNT_COLUMNS
    own = cells[CELL_KEYS + ["year"] + counts]
    pooled = disclosure.pool_adjacent_periods(cells, CELL_KEYS, "year", specs, settings)
    for rate, (e, n) in CELL_COUNTS.items():
        recomputed = pooled[e] / pooled[n].where(pooled[n] > 0)
        pooled[rate] = pooled[rate].where(~pooled["pooled"], recomputed)
    # the block sums stay beside the year's own counts: the R9 check reads the blocks, the panel the own stock
    pooled = pooled.rename(columns={c: f"block_{c}" for c in counts}).merge(own, on=CELL_KEYS + ["year"])
    return pooled


def cell_series(system: System) -> set[tuple[int, str, int]]:
    """(group, sex K/M, age group number) of every EMI/ANKO/ANME series a system reads, dependent ones included."""
    out = {(system.group, key[0], int(key[1:])) for key in system.equations}
    for eq in system.equations.values():
        for term in eq.terms:
            for _, atom in term.atoms:
                if atom.kind in ("EMI", "ANKO", "ANME"):
                    out.add((system.group, atom.sex, int(atom.age)))
    return out


def mart_keys(series: set[tuple[int, str, int]]) -> set[tuple[int, int, str]]:
    """(group, sex K/M, age number) -> the mart's (country_group, sex code, age_group label)."""
    sex_code = {letter: code for code, letter in SEX_CODES.items()}
    age_label = {number: label for label, number in AGE_GROUPS.items()}
    return {(g, sex_code[s], age_label[a]) for g, s, a in series}


def reads_series(cells: pd.DataFrame, series: set[tuple[int, str, int]]) -> np.ndarray:
    """Mask of the mart cells (country_group, sex, age_group columns) that belong to `series` (group, K/M, age)."""
    wanted = mart_keys(series)
    return np.array([k in wanted for k in zip(cells["country_group"], cells["sex"], cells["age_group"])], dtype=bool)


def input_years(sample: tuple[int, int]) -> tuple[int, int]:
    """The register years an estimation sample reads: its own and the MAX_LAG years before it (lagged terms)."""
    return sample[0] - MAX_LAG, sample[1]


def pooled_cells_per_system(spec: Spec, cells: pd.DataFrame) -> pd.DataFrame:
    """Per system: its input cells (series x input years of its sample) and how many of them are pooled."""
    rows = []
    for system in spec.systems:
        reads = reads_series(cells, cell_series(system))
        mine = cells[reads & cells["year"].between(*input_years(system.sample)).to_numpy()]
        rows.append({"system": system.id, "input_cells": len(mine), "pooled_input_cells": int(mine["pooled"].sum())})
    return pd.DataFrame(rows)


def build_panel(rates: pd.DataFrame, macro: pd.DataFrame) -> pd.DataFrame:
    """The wide yearly panel from the mart rows (year, country_group, sex, age_group, emi, anko, anme,
    population_jan1, beh) and the macro seed (year, lednor, led1, led2, relinnt1-3)."""
    need = {"year", "country_group", "sex", "age_group", "emi", "anko", "anme", "population_jan1", "beh"}
    missing = need - set(rates.columns)
    if missing:
        raise ValueError(f"rate series lack columns {sorted(missing)}")
    r = rates[
        rates["country_group"].isin([1, 2, 3])
        & rates["sex"].isin(list(SEX_CODES))
        & rates["age_group"].isin(list(AGE_GROUPS))
    ].copy()
    if r.duplicated(["year", "country_group", "sex", "age_group"]).any():
        raise ValueError("rate series have more than one row for a year x group x sex x age cell")
    r["cell"] = (
        r["country_group"].astype(int).astype(str)
        + r["sex"].map(SEX_CODES)
        + r["age_group"].map(AGE_GROUPS).astype(str)
    )
    m = macro.rename(columns=str.upper).rename(columns={"YEAR": "year"})
    years = sorted(set(r["year"].astype(int)) | set(m["year"].astype(int)))
    index = pd.RangeIndex(min(years), max(years) + 1, name="year")
    cols = {}
    for series, src in (("EMI", "emi"), ("ANKO", "anko"), ("ANME", "anme"), ("POP", "population_jan1")):
        wide = r.pivot(index="year", columns="cell", values=src).reindex(index)
        for g, s, a in cell_columns():
            key = f"{g}{s}{a}"
            cols[f"{series}_{key}"] = wide[key].astype(float) if key in wide else pd.Series(np.nan, index=index)
    beh = r.groupby(["year", "country_group"])["beh"].first().unstack().reindex(index)
    for g in (1, 2, 3):
        cols[f"BEH_{g}"] = beh[g].astype(float) if g in beh else pd.Series(np.nan, index=index)
    m = m.set_index("year").reindex(index)
    for name in MACRO_SERIES:
        cols[name] = m[name].astype(float)
    return pd.DataFrame(cols, index=index)


def atom_column(atom: Atom, group: int) -> tuple[str | None, bool]:
    """(panel column, take log) for an atom of a system of `group`; None for const/Trend."""
    if atom.kind in ("const", "Trend"):
        return None, False
    if atom.kind in ("EMI", "ANKO", "ANME"):
        return f"{atom.kind}_{group}{atom.sex}{atom.age}", False
    if atom.kind == "lnBEH":
        return f"BEH_{atom.group}", True
    if atom.kind == "lnRELINNT":
        return f"RELINNT{atom.group}", True
    return atom.series, False


def atom_series(panel: pd.DataFrame, atom: Atom, group: int, trend_base_year: int) -> pd.Series:
    """The atom's value in every panel year: value of year t + lag, logged where the spec says ln."""
    if atom.kind == "const":
        return pd.Series(1.0, index=panel.index)
    if atom.kind == "Trend":
        return pd.Series((panel.index - trend_base_year).astype(float), index=panel.index)
    col, log = atom_column(atom, group)
    v = panel[col]
    if log:
        v = np.log(v.where(v > 0))
    return v.shift(-atom.lag)


def term_series(panel: pd.DataFrame, term: Term, group: int, trend_base_year: int) -> pd.Series:
    out = None
    for sign, atom in term.atoms:
        v = sign * atom_series(panel, atom, group, trend_base_year)
        out = v if out is None else out + v
    return out


def design_key(group: int, expr: str) -> str:
    return f"g{group}:{expr}"


def build_design(spec: Spec, panel: pd.DataFrame) -> pd.DataFrame:
    """Every regressor and dependent variable of the nine systems, one column each, built once."""
    cols: dict[str, pd.Series] = {}
    for s in spec.systems:
        for key, eq in s.equations.items():
            cols.setdefault(design_key(s.group, f"EMI_{key}"), panel[f"EMI_{s.group}{key}"])
            for term in eq.terms:
                k = design_key(s.group, term.expr)
                if k not in cols:
                    cols[k] = term_series(panel, term, s.group, spec.trend_base_year)
    return pd.DataFrame(cols, index=panel.index)


def system_frames(system: System, design: pd.DataFrame) -> dict[str, tuple[pd.Series, pd.DataFrame]]:
    """Per equation (dependent, regressors named by parameter) on the system's common sample.

    A missing value in the sample is an error naming the series and years (never a silent drop)."""
    lo, hi = system.sample
    years = pd.RangeIndex(lo, hi + 1, name="year")
    if lo < design.index.min() or hi > design.index.max():
        raise ValueError(
            f"system {system.id}: sample {lo}-{hi} outside the input years {design.index.min()}-{design.index.max()}"
        )
    out = {}
    for key, eq in system.equations.items():
        y = design.loc[years, design_key(system.group, f"EMI_{key}")].rename(f"EMI_{key}")
        X = pd.DataFrame({t.param: design.loc[years, design_key(system.group, t.expr)] for t in eq.terms})
        for name, v in [(f"EMI_{key}", y)] + [(f"{t.expr} ({t.param})", X[t.param]) for t in eq.terms]:
            bad = v.index[~np.isfinite(v.to_numpy(dtype=float))]
            if len(bad):
                raise ValueError(
                    f"system {system.id}, equation {eq.number}: {name} is missing or not finite "
                    f"in {list(map(int, bad))}"
                )
        if np.ptp(y.to_numpy(dtype=float)) == 0:
            # e.g. a small simulated cell with no emigration in any year: nothing to model, singular Sigma
            raise ValueError(f"system {system.id}, equation {eq.number}: EMI_{key} is constant in {lo}-{hi}")
        out[key] = (y, X)
    return out


def missing_inputs(spec: Spec, panel: pd.DataFrame) -> dict[int, str]:
    """Systems whose common sample has a missing regressor or rate -> the reason (empty = all estimable)."""
    design = build_design(spec, panel)
    out = {}
    for system in spec.systems:
        try:
            system_frames(system, design)
        except ValueError as exc:
            out[system.id] = str(exc)
    return out


def shocked_panel(panel: pd.DataFrame, series: list[str], delta: float, from_year: int) -> pd.DataFrame:
    """The panel with `delta` added to the level of each macro series from `from_year` on."""
    out = panel.copy()
    mask = out.index >= from_year
    for name in series:
        out.loc[mask, name] = out.loc[mask, name] + delta
    return out
