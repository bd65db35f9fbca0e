"""R11 revisions: a cell suppressed in the previous release stays suppressed; a published difference between
releases of the same cell is 0 or at least 10 persons."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from models_py.publish.gate import previous_release, protect_exhibits, release_cells, save_release
from tests.helpers.exhibits import make_exhibit

E = make_exhibit(
    "c_tab_r",
    columns=["year", "group", "persons"],
    disclosure={
        "family": "r",
        "dimensions": ["year", "group"],
        "counts": {"persons": "persons"},
        "margins": {"group": "all"},
    },
)


def _frame(year: int, a: int, b: int, c: int) -> pd.DataFrame:
    return pd.DataFrame({"year": [year] * 4, "group": ["a", "b", "c", "all"], "persons": [a, b, c, a + b + c]})


def _suppressed(gate) -> dict:
    table, mask = gate.published["c_tab_r"]
    return {(y, g): bool(m) for y, g, m in zip(table["year"], table["group"], mask["persons"])}


def test_a_cell_suppressed_before_stays_suppressed_and_small_differences_are_not_published():
    first = protect_exhibits([E], {"c_tab_r": _frame(2003, 40, 50, 5)})
    assert _suppressed(first)[(2003, "c")]  # 5 persons: primary
    cells = release_cells([E], first, "release-1")
    assert set(cells.columns) >= {"release", "exhibit_id", "column_name", "cell", "value", "suppressed"}
    assert np.isnan(cells.loc[cells["suppressed"], "value"]).all()  # only published values are kept
    # late registrations: c grows to 12 (publishable on its own), b grows by 3, a is unchanged; a new year arrives
    frame = pd.concat([_frame(2003, 40, 53, 12), _frame(2004, 60, 70, 80)], ignore_index=True)
    without_history = _suppressed(protect_exhibits([E], {"c_tab_r": frame}))
    assert not without_history[(2003, "c")]  # alone, 12 persons would be published
    second = protect_exhibits([E], {"c_tab_r": frame}, previous=cells)
    now = _suppressed(second)
    assert now[(2003, "c")]  # suppressed before: stays suppressed (and 12 - 5 would count late registrations)
    assert now[(2003, "b")]  # 50 -> 53: the difference would count 3 persons
    assert sum(now[(2003, g)] for g in ("a", "b", "c", "all")) >= 2
    assert not any(now[(2004, g)] for g in ("a", "b", "c", "all"))  # a new register year is not constrained
    assert "R11" in second.record.iloc[0]["rules"]
    # every published difference is 0 or >= 10 persons
    table, mask = second.published["c_tab_r"]
    old = cells.set_index("cell")["value"]
    compared = 0
    for _, row in table[~mask["persons"]].iterrows():
        key = f'{{"group": "{row["group"]}", "year": "{row["year"]}"}}'
        if key in old.index and np.isfinite(old[key]):
            difference = abs(row["persons"] - old[key])
            assert difference == 0 or difference >= 10, key
            compared += 1
    assert compared >= 1  # the published cells of 2003 that were published before


def test_the_release_history_round_trips_through_the_warehouse():
    con = duckdb.connect()
    assert previous_release(con) is None
    first = release_cells([E], protect_exhibits([E], {"c_tab_r": _frame(2003, 40, 50, 5)}), "2026-01-01T00:00:00Z")
    save_release(con, first)
    second = release_cells([E], protect_exhibits([E], {"c_tab_r": _frame(2003, 41, 50, 20)}), "2026-02-01T00:00:00Z")
    save_release(con, second)
    save_release(con, second)  # saving a release twice keeps one copy
    newest = previous_release(con)
    assert len(newest) == len(second) and set(newest["release"]) == {"2026-02-01T00:00:00Z"}
    pd.testing.assert_frame_equal(
        newest.sort_values("cell").reset_index(drop=True)[["cell", "suppressed"]],
        second.sort_values("cell").reset_index(drop=True)[["cell", "suppressed"]],
    )


def test_the_same_data_released_again_is_published_the_same():
    """Cells kept suppressed by R11 are not sensitive themselves: a nightly rerun on unchanged data must not
    suppress more than the release before (it did while the kept cells were treated as primary)."""
    frame = pd.concat([_frame(2003, 40, 50, 5), _frame(2004, 60, 3, 80)], ignore_index=True)
    first = protect_exhibits([E], {"c_tab_r": frame})
    releases = [first]
    for n in range(3):
        previous = release_cells([E], releases[-1], f"release-{n}")
        releases.append(protect_exhibits([E], {"c_tab_r": frame}, previous=previous))
    assert sum(_suppressed(first).values()) >= 4  # two primaries, each with a partner: the test has something to keep
    for later in releases[1:]:
        assert _suppressed(later) == _suppressed(first)
        assert later.record.iloc[0]["primary_suppressed"] == first.record.iloc[0]["primary_suppressed"]
        pd.testing.assert_frame_equal(later.published["c_tab_r"][0], first.published["c_tab_r"][0])
