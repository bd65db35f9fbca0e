"""R9's remedy: input cells of an aggregate-series model pooled with adjacent years until they pass R2/R3."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from models_py.publish.disclosure import (
    RateSpec,
    TableSpec,
    check_model,
    load_settings,
    pool_adjacent_periods,
    rate_is_publishable,
)

EMI = [RateSpec("emi", "e", "n")]


def _series(e, n, key="a") -> pd.DataFrame:
    return pd.DataFrame({"series": key, "year": range(2000, 2000 + len(e)), "e": e, "n": n})


def _blocks(pooled: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted(set(zip(pooled["block_start"], pooled["block_end"])))


def test_failing_years_join_their_neighbours_and_passing_years_stay_alone():
    # 2000: zero events (published, R4); 2001-2003: 3 + 4 + 12 = 19 pass together; 2004-2005: 2 + 1 fail even
    # together, so the tail joins the block before it: 2001-2005 = 22 events.
    cells = _series([0, 3, 4, 12, 2, 1], [100] * 6)
    pooled = pool_adjacent_periods(cells, ["series"], "year", EMI)
    assert _blocks(pooled) == [(2000, 2000), (2001, 2005)]
    assert pooled["pooled"].tolist() == [False, True, True, True, True, True]
    assert pooled.loc[pooled["year"] == 2003, ["e", "n"]].iloc[0].tolist() == [22.0, 500.0]
    s = load_settings()
    assert all(rate_is_publishable(e, n, s) for e, n in zip(pooled["e"], pooled["n"]))


def test_a_cell_near_100_percent_is_pooled_until_the_complement_reaches_the_threshold():
    # 25 of 30 emigrate: e <= N - 10 fails; with the next year 45 of 60 passes
    cells = _series([25, 20, 15], [30, 30, 40])
    pooled = pool_adjacent_periods(cells, ["series"], "year", EMI)
    assert _blocks(pooled) == [(2000, 2001), (2002, 2002)]


def test_series_are_pooled_independently_and_every_count_of_every_rate_is_checked():
    cells = pd.concat([_series([12, 11], [100, 100], "a"), _series([12, 11], [100, 100], "b")], ignore_index=True)
    cells["k"] = [50, 50, 5, 6]  # series b: the second rate's numerator fails in each year, passes pooled (11)
    pooled = pool_adjacent_periods(cells, ["series"], "year", [*EMI, RateSpec("share", "k", "n")])
    assert _blocks(pooled[pooled["series"] == "a"]) == [(2000, 2000), (2001, 2001)]
    assert _blocks(pooled[pooled["series"] == "b"]) == [(2000, 2001)]


def test_a_series_that_fails_even_as_one_block_is_still_refused_by_the_r9_check():
    cells = _series([1, 2, 3], [100, 100, 100])
    pooled = pool_adjacent_periods(cells, ["series"], "year", EMI)
    assert _blocks(pooled) == [(2000, 2002)] and pooled["e"].iloc[0] == 6
    blocks = pooled.drop_duplicates(["series", "block_start"])
    record = check_model(
        "m",
        "aggregate",
        fields=["coef"],
        residual_df=20,
        input_tables=[TableSpec("cells", blocks, ["series", "block_start"], {"e": "e", "n": "n"}, EMI)],
    )
    assert record.status == "fail" and "1 of 1 cell(s) fail R2/R3" in record.reason


def test_pooling_off_keeps_every_year_alone():
    s = copy.deepcopy(load_settings())
    s["models"]["aggregate_input_pooling"] = "none"
    cells = _series([0, 3, 4, 12], [100] * 4)
    pooled = pool_adjacent_periods(cells, ["series"], "year", EMI, s)
    assert not pooled["pooled"].any() and pooled["e"].tolist() == [0, 3, 4, 12]
    s["models"]["aggregate_input_pooling"] = "sexes"
    with pytest.raises(ValueError, match="aggregate_input_pooling"):
        pool_adjacent_periods(cells, ["series"], "year", EMI, s)


def test_random_series_always_end_in_passing_blocks_that_partition_the_years():
    rng = np.random.default_rng(7)
    s = load_settings()
    for _ in range(200):
        length = int(rng.integers(1, 15))
        n = rng.integers(15, 200, size=length)
        e = rng.binomial(n, rng.uniform(0, 0.2))
        pooled = pool_adjacent_periods(_series(e, n), ["series"], "year", EMI)
        blocks = _blocks(pooled)
        covered = [y for lo, hi in blocks for y in range(lo, hi + 1)]
        assert covered == list(range(2000, 2000 + length))  # consecutive, no gap, no overlap
        assert pooled["e"].sum() >= e.sum()  # block sums repeated per year
        if rate_is_publishable(e.sum(), n.sum(), s):  # passable as a whole: every block passes
            assert all(rate_is_publishable(a, b, s) for a, b in zip(pooled["e"], pooled["n"]))
        # a year that passes alone and is not part of a failing tail stays alone
        for i in range(length):
            if rate_is_publishable(e[i], n[i], s) and pooled["pooled"].iloc[i]:
                assert pooled["block_end"].iloc[i] == 2000 + length - 1 or pooled["block_start"].iloc[i] < 2000 + i
