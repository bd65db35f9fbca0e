"""T8: random small 2-D and 3-D tables with zeros, ones and margins; after protection T1, T3, T4 and T5 hold
(checked by an oracle written here from the dense array: numpy ranks and scipy HiGHS) and every published cell
equals its true value."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from models_py.publish.disclosure import TableSpec, protect

VALUES = st.sampled_from([0, 0, 1, 1, 2, 3, 5, 9, 10, 12, 25, 60])


def dense_table(v: np.ndarray):
    """Every cell of the table and its margins (code -1 = total), and the relations among them."""
    shape = v.shape
    codes = [list(range(n)) + [-1] for n in shape]
    cells = list(product(*codes))
    index = {c: i for i, c in enumerate(cells)}

    def value(c):
        sl = tuple(slice(None) if x == -1 else x for x in c)
        return float(np.sum(v[sl]))

    rel = []
    for c in cells:
        for d, x in enumerate(c):
            if x == -1:
                row = np.zeros(len(cells))
                row[index[c]] = 1
                for k in range(shape[d]):
                    cc = list(c)
                    cc[d] = k
                    row[index[tuple(cc)]] -= 1
                rel.append(row)
    return cells, np.array([value(c) for c in cells]), np.array(rel)


def width(A, vals, sup, j, fixed=()):
    S, P = np.flatnonzero(sup), np.flatnonzero(~sup)
    b = -A[:, P] @ vals[P]
    bounds = [(1, 1) if s in fixed else (1, None) for s in S]
    c = (S == j).astype(float)
    lo = linprog(c, A_eq=A[:, S], b_eq=b, bounds=bounds, method="highs")
    hi = linprog(-c, A_eq=A[:, S], b_eq=b, bounds=bounds, method="highs")
    assert lo.status == 0 and hi.status in (0, 3)
    return np.inf if hi.status == 3 else -hi.fun - lo.fun


def check(v: np.ndarray):
    cells, vals, A = dense_table(v)
    dims = [f"d{i}" for i in range(v.ndim)]
    df = pd.DataFrame([[("T" if x == -1 else f"k{x}") for x in c] for c in cells], columns=dims)
    df["n"] = vals
    out = protect([TableSpec("t", df, dims, {"n": "n"}, margins={d: "T" for d in dims})])
    assert out.record("t").status in ("pass", "review")
    f = out.frames["t"]
    sup = f["n_suppressed"].to_numpy()
    pub = ~sup
    # published cells equal the truth, and T1
    assert np.array_equal(f["n"].to_numpy()[pub], vals[pub])
    assert ((vals[pub] == 0) | (vals[pub] >= 10)).all()
    # T3: no suppressed cell's unit vector lies in the row space of the relations restricted to suppressed cells
    S = np.flatnonzero(sup)
    if len(S):
        As = A[:, S]
        rk = np.linalg.matrix_rank(As)
        for k in range(len(S)):
            e = np.zeros(len(S))
            e[k] = 1
            assert np.linalg.matrix_rank(np.vstack([As, e])) > rk
    # T4 and T5 on every primary cell
    primaries = np.flatnonzero((vals > 0) & (vals < 10))
    singles = [int(s) for s in S if vals[s] == 1]
    for p in primaries:
        assert width(A, vals, sup, p) >= 1 - 1e-7
        for s in singles:
            if s == p:
                continue
            # the person alone in s learns p minus themselves: nothing when p holds 1 and s and p share that one
            meet = tuple(
                a if b == -1 else b if a == -1 else (a if a == b else None) for a, b in zip(cells[s], cells[p])
            )
            if vals[p] == 1 and None not in meet and vals[cells.index(meet)] == 1:
                continue
            assert width(A, vals, sup, p, fixed=(s,)) >= 1 - 1e-7


PROFILE = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROFILE
@given(
    st.integers(2, 4).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(VALUES, min_size=r * c, max_size=r * c).map(lambda x: np.array(x).reshape(r, c))
        )
    )
)
def test_t8_random_2d(v):
    check(v)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(VALUES, min_size=12, max_size=12).map(lambda x: np.array(x).reshape(2, 3, 2)))
def test_t8_random_3d(v):
    check(v)
