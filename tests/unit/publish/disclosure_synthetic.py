"""A synthetic study family for the disclosure tests and the audit benchmark (no test collected here)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.publish.disclosure import RateSpec, TableSpec

POOLED = "1990-2023"


def atoms(
    seed: int = 1,
    years=range(1990, 2024),
    counties: int = 11,
    groups: int = 5,
    event_rate: float = 0.03,
    pop_scale: float = 250.0,
) -> pd.DataFrame:
    """Finest cells: year x county x sex x group with a population and emigrants (many small counts)."""
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product(
        [
            list(years),
            [f"c{c:02d}" for c in range(1, counties + 1)],
            ["1", "2"],
            [f"g{g}" for g in range(1, groups + 1)],
        ],
        names=["year", "county", "sex", "group"],
    )
    size = rng.lognormal(0.0, 1.0, counties)[idx.codes[1]] * rng.lognormal(0.0, 1.2, groups)[idx.codes[3]]
    population = rng.poisson(pop_scale * size)
    emigrants = rng.binomial(population, event_rate)
    return pd.DataFrame({"population": population, "emigrants": emigrants}, index=idx).reset_index()


def margins_of(df: pd.DataFrame, dims: list[str], totals: dict[str, str]) -> pd.DataFrame:
    """Every combination of codes and totals over `dims` (the published table with all its margins)."""
    out = []
    from itertools import product

    for mask in product([False, True], repeat=len(dims)):
        keep = [d for d, m in zip(dims, mask) if not m]
        g = (
            df.groupby(keep, observed=True)[["population", "emigrants"]].sum().reset_index()
            if keep
            else df[["population", "emigrants"]].sum().to_frame().T
        )
        for d, m in zip(dims, mask):
            if m:
                g[d] = totals[d]
        out.append(g[[*dims, "population", "emigrants"]])
    res = pd.concat(out, ignore_index=True)
    for d in dims:
        res[d] = res[d].astype(str)
    return res


TOTALS = {"year": POOLED, "sex": "all", "group": "all", "county": "national"}
MARGINS = TOTALS


def with_rate(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["rate"] = df["emigrants"] / df["population"].where(df["population"] > 0)
    return df


def study_tables(a: pd.DataFrame, family: str = "study") -> list[TableSpec]:
    """National year x sex x group, county x year x sex x group, pooled county x group: one family, shared cells."""
    counts = {"population": "population", "emigrants": "emigrants"}
    rate = [RateSpec("rate", "emigrants", "population")]
    specs = []
    for eid, dims in (
        ("national", ["year", "sex", "group"]),
        ("county", ["year", "county", "sex", "group"]),
        ("county_pooled", ["county", "group"]),
    ):
        src = a if eid != "county_pooled" else a
        frame = with_rate(margins_of(src, dims, TOTALS))
        if eid == "county_pooled":
            frame = frame[frame["county"] != "national"].reset_index(drop=True)  # the national rows live elsewhere
        specs.append(
            TableSpec(
                eid,
                frame,
                dims,
                counts,
                rate,
                {d: TOTALS[d] for d in dims} | {"year": POOLED, "county": "national"},
                family,
            )
        )
    return specs
