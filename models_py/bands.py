"""Banded classifications (age groups, duration-of-residence bands, education levels), read from their one home:
the `bands` var of dbt/dbt_project.yml, which dbt's `band()` macro reads too."""

from __future__ import annotations

import numpy as np

from models_py.settings import setting


def band_spec(name: str) -> dict:
    spec = setting("bands")[name]
    if len(spec["labels"]) != len(spec["upper"]) + 1:
        raise ValueError(f"band {name}: {len(spec['upper'])} upper bounds need {len(spec['upper']) + 1} labels")
    return spec


def labels(name: str) -> list[str]:
    return list(band_spec(name)["labels"])


def lower_edges(name: str) -> np.ndarray:
    """The first value of every band but the first (integer bands): np.searchsorted(edges, x, side='right')
    gives the 0-based band of x."""
    return np.array([u + 1 for u in band_spec(name)["upper"]])


def band_index(name: str, values) -> np.ndarray:
    return np.searchsorted(lower_edges(name), values, side="right")


def sql_case(name: str, value_sql: str) -> str:
    """The band as SQL text over an expression of trusted code (never delivery content), as dbt's band() writes it."""
    spec = band_spec(name)
    whens = " ".join(f"when {value_sql} <= {int(u)} then '{label}'" for u, label in zip(spec["upper"], spec["labels"]))
    return f"case when {value_sql} is null then 'unknown' {whens} else '{spec['labels'][-1]}' end"
