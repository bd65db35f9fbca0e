"""Independent recomputations from the raw tables in pandas, shared by the tests that check marts against them."""

from __future__ import annotations

import pandas as pd


def immigrant_emigration_by_year_sex(persons: pd.DataFrame, status: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Immigrants (category B) resident on 1 January of each register year and their emigrations in the year, by
    sex: index (year, sex), columns population_jan1, emigrations. `persons` is indexed by person_id; `events` has
    event_year."""
    immigrants = persons.index[persons["immigrant_category"] == "B"]
    resident = status[(status["status"] == "resident") & status["person_id"].isin(immigrants)]
    stock = resident.assign(sex=resident["person_id"].map(persons["sex"])).groupby(["register_year", "sex"]).size()
    out = events[(events["direction"] == "out") & events["person_id"].isin(immigrants)]
    emigrations = out.assign(sex=out["person_id"].map(persons["sex"])).groupby(["event_year", "sex"]).size()
    expected = pd.DataFrame({"population_jan1": stock})
    expected.index.names = ["year", "sex"]
    expected["emigrations"] = emigrations.reindex(expected.index, fill_value=0).to_numpy()
    return expected


def assert_group_year_rates_equal(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Study C's annual rates (rate_c_group_year columns) against a recomputation, row for row: counts exactly,
    the mean population and the rate to floating-point precision."""
    import numpy as np

    for c in ["emigrations", "population_jan1"]:
        np.testing.assert_array_equal(got[c].to_numpy(dtype=float), expected[c].to_numpy(dtype=float), err_msg=c)
    for c in ["population_dec31", "rate_per_100"]:
        np.testing.assert_allclose(
            got[c].to_numpy(dtype=float), expected[c].to_numpy(dtype=float), rtol=1e-12, err_msg=c
        )
