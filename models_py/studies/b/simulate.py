"""Synthetic study B panels with known parameters (spec B §4.4 data-generating process).

Persons arrive 1990-2020 aged 20-55; a person-level ability drives the within-year income
percentile; citizenship (possible after 7 years), employment, wealth and welfare vary by year;
origin is eu_east (reference), nordic or non_europe. Each year at risk a multinomial draw with the
true coefficients below decides stay / return / onward; a person leaves the risk set after an event
or after age 65; only 2000-2020 rows are kept (left truncation for earlier arrivals). The truth is
stated on the estimator's own design (income groups as dummies), so every coefficient has a true
value to recover. Signs follow the brief (spec B §1.2); the intercepts give an onward share of about
10 % of emigrations. Optional person frailty shifts both equations (the §4.4 misspecification run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_py import bands
from models_py.studies.b.design import Design

INC_MID = {
    "P0-9": 0.05,
    "P10-19": 0.15,
    "P20-29": 0.25,
    "P30-39": 0.35,
    "P40-49": 0.45,
    "P50-59": 0.55,
    "P60-69": 0.65,
    "P70-79": 0.75,
    "P80-89": 0.85,
    "P90-94": 0.92,
    "P95-98": 0.965,
    "P99+": 0.995,
}
INC_SLOPE = (-0.8, 1.0)  # per unit of the 0-1 percentile, return / onward (spec B §4.4)

# (return, onward) log relative risks vs stay, by design column name; absent names are 0
TRUE = {
    "const": (-3.22, -6.50),
    "female": (-0.1, 0.2),
    "citizen_no": (-0.5, 0.0),
    "spouse_in_no": (-0.6, -1.0),
    "child_in_hh": (-0.4, -0.2),
    "employed": (-0.5, -0.9),
    "welfare_any": (0.3, -0.2),
    "age_band=28-34": (-0.3, 0.1),
    "age_band=35-39": (-0.5, 0.2),
    "age_band=40-49": (-0.6, 0.3),
    "age_band=50-65": (-0.4, 0.0),
    "dur_band=2-4": (-0.2, -0.1),
    "dur_band=5-9": (-0.5, -0.2),
    "dur_band=10+": (-0.8, -0.3),
    "educ=low": (0.1, 0.3),
    "educ=high": (0.2, 0.8),
    "educ=unknown": (0.3, 0.2),
    "wealth_group=le0": (0.2, -0.1),
    "wealth_group=Q5": (0.0, 0.3),
    "origin=nordic": (0.8, -1.0),
    "origin=non_europe": (-0.3, 0.6),
    **{f"inc_group={g}": (INC_SLOPE[0] * (m - 0.45), INC_SLOPE[1] * (m - 0.45)) for g, m in INC_MID.items()},
    **{f"year={t}": (0.01 * (t - 2000), 0.015 * (t - 2000)) for t in range(2001, 2021)},
}


def true_params(design: Design) -> np.ndarray:
    """The true K x 2 coefficient matrix on a design's columns (a design without year dummies is
    correct only for a panel drawn with year_effects=False)."""
    return np.array([TRUE.get(name, (0.0, 0.0)) for name in design.names], dtype=float)


def _band(x, edges, labels):
    return np.asarray(labels, dtype=object)[np.searchsorted(np.asarray(edges), x, side="right")]


def simulate_panel(
    n_persons: int = 60_000,
    seed: int = 20251,
    frailty_sd: float = 0.0,
    first_arrival: int = 1990,
    last_year: int = 2020,
    year_effects: bool = True,
) -> pd.DataFrame:
    """One row per person-year at risk 2000-`last_year`, columns as fct_b_person_year plus
    inc_group and wealth_group. Vectorised over persons, one loop over calendar years.
    year_effects=False draws without the calendar-year trend (for fits without year dummies)."""
    rng = np.random.default_rng(seed)
    n = n_persons
    arrival = rng.integers(first_arrival, last_year + 1, n)
    arr_age = rng.integers(20, 56, n)
    female = rng.random(n) < 0.4
    origin = rng.choice(np.array(["eu_east", "nordic", "non_europe"], dtype=object), n, p=[0.45, 0.2, 0.35])
    educ = rng.choice(np.array(["medium", "low", "high", "unknown"], dtype=object), n, p=[0.35, 0.2, 0.3, 0.15])
    ability = rng.normal(0, 1, n)
    naturalise = arrival + 7 + rng.geometric(0.15, n)  # citizenship possible after 7 years
    spouse = rng.random(n) < 0.45
    frailty = rng.normal(0, frailty_sd, n) if frailty_sd > 0 else np.zeros(n)
    alive = np.ones(n, dtype=bool)
    # coefficients by name for the draw (the same mapping the estimator's design uses)
    T = {k: np.array(v) for k, v in TRUE.items()}
    out = []
    for t in range(first_arrival, last_year + 1):
        idx = np.flatnonzero(alive & (arrival <= t))
        age = arr_age[idx] + (t - arrival[idx])
        keep = age <= 65
        alive[idx[~keep]] = False
        idx, age = idx[keep], age[keep]
        m = len(idx)
        if m == 0:
            continue
        dur = t - arrival[idx]
        cit = t >= naturalise[idx]
        child = rng.random(m) < np.where((age >= 28) & (age <= 50), 0.45, 0.15)
        employed = rng.random(m) < 1 / (1 + np.exp(-(1.5 + 0.5 * ability[idx])))
        welfare = rng.random(m) < np.where(employed, 0.05, 0.3)
        score = ability[idx] + rng.normal(0, 0.5, m) + 0.05 * np.minimum(dur, 10)
        pct = np.argsort(np.argsort(score)) / max(m - 1, 1)  # within-year percentile rank, 0-1
        wscore = 0.6 * ability[idx] + 0.08 * np.minimum(dur, 15) + rng.normal(0, 1, m)
        le0 = wscore < np.quantile(wscore, 0.15)
        wq = np.zeros(m, dtype=object)
        wq[le0] = "le0"
        pos = np.flatnonzero(~le0)
        wq[pos] = np.asarray(["Q1", "Q2", "Q3", "Q4", "Q5"], dtype=object)[
            np.minimum((np.argsort(np.argsort(wscore[pos])) * 5) // max(len(pos), 1), 4)
        ]
        ab = _band(age, bands.band_spec("age_band_b")["upper"], bands.labels("age_band_b"))
        db = _band(dur, bands.band_spec("dur_band_b")["upper"], bands.labels("dur_band_b"))
        pc = pct * 100
        ig = np.where(
            pc >= 99,
            "P99+",
            np.where(
                pc >= 95,
                "P95-98",
                np.where(
                    pc >= 90,
                    "P90-94",
                    np.char.add(
                        np.char.add("P", (np.floor(pc / 10) * 10).astype(int).astype(str)),
                        np.char.add("-", (np.floor(pc / 10) * 10 + 9).astype(int).astype(str)),
                    ),
                ),
            ),
        )
        ig = ig.astype(object)
        eta = np.tile(T["const"], (m, 1)) + frailty[idx, None]
        for name, x in (
            ("female", female[idx]),
            ("citizen_no", cit),
            ("spouse_in_no", spouse[idx]),
            ("child_in_hh", child),
            ("employed", employed),
            ("welfare_any", welfare),
        ):
            eta += np.outer(x.astype(float), T[name])
        for var, vals in (
            ("age_band", ab),
            ("dur_band", db),
            ("educ", educ[idx]),
            ("wealth_group", wq),
            ("origin", origin[idx]),
            ("inc_group", ig),
        ):
            for lv in pd.unique(vals):
                key = f"{var}={lv}"
                if key in T:
                    eta[vals == lv] += T[key]
        if year_effects and f"year={t}" in T:
            eta += T[f"year={t}"]
        e = np.exp(eta)
        p = np.column_stack([np.ones(m), e]) / (1 + e.sum(1))[:, None]
        u = rng.random(m)
        y = (u > p[:, 0]).astype(np.int8) + (u > p[:, 0] + p[:, 1]).astype(np.int8)
        alive[idx[y > 0]] = False
        if t >= 2000:
            out.append(
                pd.DataFrame(
                    {
                        "person_id": idx.astype(np.int64),
                        "year": np.full(m, t, dtype=np.int64),
                        "y": y,
                        "age": age,
                        "age_band": ab,
                        "female": female[idx],
                        "citizen_no": cit,
                        "spouse_in_no": spouse[idx],
                        "child_in_hh": child,
                        "dur_years": dur,
                        "dur_band": db,
                        "educ": educ[idx],
                        "employed": employed,
                        "welfare_any": welfare,
                        "inc_pct": pc,
                        "inc_group": ig,
                        "wealth_group": wq,
                        "origin": origin[idx],
                        "arrival_year": arrival[idx],
                    }
                )
            )
    return pd.concat(out, ignore_index=True)
