"""Table 4.1 inputs: the panel from mart rows and the macro seed; lags, logs, sums, differences, Trend."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models_py.studies.a.inputs import (
    AGE_GROUPS,
    build_design,
    build_panel,
    shocked_panel,
    system_frames,
)
from models_py.studies.a.spec import load_spec

YEARS = range(1990, 2014)


def mart_rows() -> pd.DataFrame:
    rows = []
    for y in YEARS:
        for g in (1, 2, 3):
            for sex in (1, 2):
                for label, a in AGE_GROUPS.items():
                    rows.append(
                        {
                            "year": y,
                            "country_group": g,
                            "sex": sex,
                            "age_group": label,
                            "emi": 0.001 * a + 0.0001 * (y - 1990) + 0.01 * g + 0.002 * sex,
                            "anko": 0.1 + 0.001 * (y - 1990),
                            "anme": 0.2 + 0.01 * a * sex,
                            "population_jan1": 1000 * g + 10 * a + y - 1990,
                            "beh": 5000 * g + 100 * (y - 1990),
                        }
                    )
        # a total row as the mart writes it must be ignored
        rows.append(
            {
                "year": y,
                "country_group": 0,
                "sex": 0,
                "age_group": "all",
                "emi": 9.0,
                "anko": 9.0,
                "anme": 9.0,
                "population_jan1": 1,
                "beh": 1,
            }
        )
    return pd.DataFrame(rows)


def macro() -> pd.DataFrame:
    years = np.arange(1988, 2024)
    return pd.DataFrame(
        {
            "year": years,
            "lednor": 3 + 0.1 * (years - 1988),
            "led1": 7 + 0.05 * (years - 1988),
            "led2": np.where(years < 1991, np.nan, 10 + 0.2 * (years - 1988)),
            "relinnt1": np.where(years < 1990, np.nan, 1.2 + 0.01 * (years - 1988)),
            "relinnt2": 2.5,
            "relinnt3": np.where(years < 1990, np.nan, 5 + 0.02 * (years - 1988)),
            "source_note": "x",
        }
    )


def test_terms_built_from_lags_logs_sums_differences_and_trend():
    panel = build_panel(mart_rows(), macro())
    d = build_design(load_spec(), panel)
    m = macro().set_index("year")
    assert list(panel.index) == list(range(1988, 2024))
    assert d.at[1995, "g1:lnRELINNT1[-1]"] == pytest.approx(math.log(m.at[1994, "relinnt1"]))
    assert d.at[1995, "g3:lnRELINNT3[-2]"] == pytest.approx(math.log(m.at[1993, "relinnt3"]))
    assert d.at[2000, "g2:LEDNOR - LED2"] == pytest.approx(m.at[2000, "lednor"] - m.at[2000, "led2"])
    assert d.at[2000, "g3:LEDNOR - LED1"] == pytest.approx(m.at[2000, "lednor"] - m.at[2000, "led1"])
    assert d.at[2000, "g2:LEDNOR[-1]"] == pytest.approx(m.at[1999, "lednor"])
    assert d.at[2013, "g1:Trend"] == 24 and d.at[1990, "g1:Trend"] == 1
    # sums of the own cell's shares; sex 2 = K (women), age 18-34 = group 3
    assert d.at[2001, "g1:ANKO_K3 + ANME_K3"] == pytest.approx((0.1 + 0.011) + (0.2 + 0.01 * 3 * 2))
    assert d.at[2001, "g2:lnBEH2"] == pytest.approx(math.log(10000 + 1100))
    assert d.at[2001, "g1:EMI_M3[-1]"] == pytest.approx(0.003 + 0.001 + 0.01 + 0.002)
    assert d.at[2001, "g2:EMI_K4"] == pytest.approx(0.004 + 0.0011 + 0.02 + 0.004)
    assert panel.at[2001, "POP_3M6"] == 3000 + 60 + 11
    # a lag reaching before the series is missing, not filled
    assert np.isnan(d.at[1990, "g1:lnRELINNT1[-1]"])


def test_missing_value_in_the_sample_names_series_and_year():
    rows = mart_rows()
    cell = (rows.year == 2005) & (rows.country_group == 1) & (rows.sex == 2) & (rows.age_group == "35-62")
    rows.loc[cell, "emi"] = np.nan
    spec = load_spec()
    d = build_design(spec, build_panel(rows, macro()))
    with pytest.raises(ValueError, match=r"EMI_K4 is missing or not finite in \[2005\]"):
        system_frames(spec.system(1), d)
    frames = system_frames(spec.system(2), d)  # other groups are unaffected
    assert list(frames["K3"][1].columns) == ["a_K3", "b_K3", "s_K3"] and len(frames["K3"][0]) == 23


def test_shock_enters_levels_from_the_year_on():
    panel = build_panel(mart_rows(), macro())
    s = shocked_panel(panel, ["RELINNT1", "LEDNOR"], 0.1, 2000)
    assert s.at[1999, "RELINNT1"] == panel.at[1999, "RELINNT1"]
    assert s.at[2000, "RELINNT1"] == pytest.approx(panel.at[2000, "RELINNT1"] + 0.1)
    assert s.at[2005, "LEDNOR"] == pytest.approx(panel.at[2005, "LEDNOR"] + 0.1)
    assert (s["LED1"] == panel["LED1"]).all()


def test_a_constant_rate_is_not_estimable():
    """A small cell with no emigration in any sample year has nothing to model (and a singular Sigma)."""
    from models_py.studies.a.inputs import missing_inputs

    rows = mart_rows()
    rows.loc[(rows.country_group == 2) & (rows.sex == 1) & (rows.age_group == "71+"), "emi"] = 0.0
    spec = load_spec()
    missing = missing_inputs(spec, build_panel(rows, macro()))
    assert list(missing) == [5] and "EMI_M6 is constant in 1992-2013" in missing[5]


def test_pooled_input_cells_take_their_blocks_rates_and_keep_their_own_stock():
    from models_py.studies.a.inputs import cell_series, mart_keys, pool_input_cells, pooled_cells_per_system

    spec = load_spec()
    rates = mart_rows()
    rates["emigrations"] = (rates["emi"] * rates["population_jan1"]).round()
    rates["n_botid_short"] = (rates["anko"] * rates["population_jan1"]).round()
    rates["n_botid_medium"] = (rates["anme"] * rates["population_jan1"]).round()
    rates["emi"] = rates["emigrations"] / rates["population_jan1"]
    # one cell series (group 2, women, age 35-62) made small: 4 emigrations in each of 1995-1997 (12 together)
    label = [k for k, v in AGE_GROUPS.items() if v == 4][0]
    small = (rates["country_group"] == 2) & (rates["sex"] == 2) & (rates["age_group"] == label)
    hit = small & rates["year"].between(1995, 1997)
    rates.loc[hit, "emigrations"] = 4
    rates.loc[hit, "emi"] = 4 / rates.loc[hit, "population_jan1"]
    cells = pool_input_cells(rates, (1991, 2013))
    assert cells["year"].between(1991, 2013).all() and (cells["country_group"] > 0).all()
    pooled = cells[cells["pooled"]]
    assert set(pooled["year"]) == {1995, 1996, 1997} and set(zip(pooled["country_group"], pooled["sex"])) == {(2, 2)}
    block = rates[hit]
    expected = 12 / block["population_jan1"].sum()
    assert np.allclose(pooled["emi"], expected)
    # the year's own stock and counts are kept beside the block sums
    assert pooled["population_jan1"].tolist() == block["population_jan1"].tolist()
    assert (pooled["block_emigrations"] == 12).all()
    # unpooled cells keep the mart's rates exactly
    rest = cells[~cells["pooled"]].merge(rates, on=["year", "country_group", "sex", "age_group"], suffixes=("", "_m"))
    assert (rest["emi"] == rest["emi_m"]).all() and (rest["anko"] == rest["anko_m"]).all()
    # per system: the systems reading that series count the 3 pooled cells, the others none
    per = pooled_cells_per_system(spec, cells).set_index("system")["pooled_input_cells"]
    reading = {s.id for s in spec.systems if (2, 2, label) in mart_keys(cell_series(s))}
    assert reading and all(per[i] == 3 for i in reading) and all(per[i] == 0 for i in per.index if i not in reading)
