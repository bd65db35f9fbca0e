"""Small numeric helpers: parameter lookups and the random draws every mechanism shares.

Every draw takes the generator explicitly; the number and order of draws decide the deliveries
(same seed => byte-identical files), so a helper never draws more than it documents.
"""

from __future__ import annotations

import numpy as np


def interp_knots(knots: dict, x):
    """Linear interpolation between {x: value} knots, constant beyond the ends."""
    xs = np.array(sorted(float(k) for k in knots))
    values = np.array([float(knots[k]) for k in sorted(knots, key=float)])
    return np.interp(x, xs, values)


def year_value(table: dict, year: int):
    """Piecewise-constant lookup: the entry of the latest key <= year (or the first)."""
    keys = sorted(int(k) for k in table)
    key = max([k for k in keys if k <= year], default=keys[0])
    return table[key]


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def stochastic_round(rng: np.random.Generator, x: float) -> int:
    """floor(x) plus one with probability frac(x): one uniform draw."""
    whole = np.floor(x)
    return int(whole + (rng.random() < (x - whole)))


def weighted_choice(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """n indices drawn with probabilities proportional to weights: n uniform draws."""
    cumulative = np.cumsum(weights)
    cumulative = cumulative / cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), len(weights) - 1)


def pair_sample(
    rng: np.random.Generator, target_keys: np.ndarray, pool: np.ndarray, pool_keys: np.ndarray
) -> np.ndarray:
    """For each target key pick a random pool member with the same key (-1 if none).
    One uniform draw per target, none when the pool or the targets are empty."""
    if len(pool) == 0 or len(target_keys) == 0:
        return np.full(len(target_keys), -1, dtype=np.int64)
    order = np.argsort(pool_keys, kind="stable")
    sorted_keys = pool_keys[order]
    first = np.searchsorted(sorted_keys, target_keys, "left")
    count = np.searchsorted(sorted_keys, target_keys, "right") - first
    pick = first + np.floor(rng.random(len(target_keys)) * np.maximum(count, 1)).astype(np.int64)
    chosen = np.where(count > 0, pool[order][np.minimum(pick, len(sorted_keys) - 1)], -1)
    return chosen.astype(np.int64)
