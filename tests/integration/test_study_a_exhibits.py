"""Study A exhibits (issue #11): the registry entries against a dbt build on simulated deliveries, independent
recomputations from the raw tables (Figure 3.12, Table 5.1, Figure 5.47, the registration-lag triangle), the
dating variants built side by side, and the dating setting reaching every rate exhibit.

The session's tiny deliveries cover 1996-2004, so the study's windows are moved inside them through the settings
(dbt vars), which is also how an operator would change them. The hand-made back-dating cases are dbt unit tests
(dbt/models/marts/study_a/_unit_tests_study_a.yml); they run inside the build here and must pass.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from models_py.contracts import DELIVERED_TABLES
from models_py.exhibits import registry
from tests.helpers.dbt import load_landing, run_dbt
from tests.helpers.recompute import immigrant_emigration_by_year_sex
from tests.helpers.warehouse import query_df

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt"
SEEDS = DBT_DIR / "seeds"
TABLES = DELIVERED_TABLES
FIRST, LAST = 1996, 2004  # conftest.TINY
PERIODS = [[1997, 2000], [2001, 2004]]
VARS = {
    "study_a_first_year": FIRST,
    "study_a_last_year": LAST,
    "study_a_micro_first_year": 1997,
    "study_a_county_periods": PERIODS,
    "study_a_centrality_reference_year": LAST,
    "study_a_pooled_years": [2000, LAST],
}
SELECT = [
    "+path:models/marts/study_a",
    "+rate_a_flows",
    "+rate_a_micro",
    "+rate_a_macro",
    "+rate_a_county_period",
    "+count_a_emigrants_pooled",
    "+share_a_administrative",
]
UNIT_TESTS = {
    "backdating_moves_year_age_and_duration_of_residence",
    "backdating_removes_the_stocks_between_the_move_and_the_registration",
    "the_stock_flags_the_person_years_backdating_removes",
}
# Rate exhibits that do not follow the dating setting by design: they show every dating side by side, or do not
# depend on emigrations' dating (shares of residents; administrative share by registered year).
DATING_FREE = {"a_fig_admin_dating", "a_fig_admin_dating_botid", "a_tab_5_1", "a_fig_admin_share"}


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_landing):
    """One build with the default settings (registered dating) and a copy rebuilt with back-dating."""
    d = tmp_path_factory.mktemp("study_a")
    wh = d / "registered" / "warehouse.duckdb"
    wh.parent.mkdir()
    con = duckdb.connect(str(wh))
    load_landing(tiny_landing, con)
    con.close()
    res = run_dbt(wh, "build", "--select", *SELECT, "--vars", json.dumps(VARS))
    results = json.loads((wh.parent / "dbt_target" / "run_results.json").read_text())["results"]
    wh_b = d / "backdated" / "warehouse.duckdb"
    wh_b.parent.mkdir()
    shutil.copy(wh, wh_b)
    run_dbt(
        wh_b,
        "run",
        "--select",
        "dim_a_variants+",
        "--vars",
        json.dumps({**VARS, "study_a_admin_emigration_dating": "backdated"}),
    )
    return wh, wh_b, results, res


def _exhibits() -> dict[str, registry.Exhibit]:
    registry._load_file.cache_clear()
    registry.load_labels.cache_clear()
    return {e.id: e for e in registry.load_registry(("a",))}


def _extract(wh: Path, exhibit: registry.Exhibit) -> pd.DataFrame:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return registry.extract(con, exhibit, lambda name: f'marts."{name}"')
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# Raw tables, read apart from dbt
# ---------------------------------------------------------------------------------------------
def _raw(wh: Path):
    persons = query_df(wh, "select * from raw.persons")
    persons = persons.sort_values("register_year").groupby("person_id").tail(1).set_index("person_id")
    status = query_df(wh, "select * from raw.population_status")
    events = query_df(wh, "select * from raw.migration_events")
    events = events.sort_values("register_year").groupby("event_id").tail(1)
    events["event_year"] = pd.to_datetime(events["event_date"]).dt.year
    return persons, status, events


def _to_2013(codes: pd.Series) -> pd.Series:
    """Municipality codes onto 2013 borders by following municipality_changes forward (codes already of 2013
    stay; anything else is unknown)."""
    m2013 = set(pd.read_csv(SEEDS / "municipalities_2013.csv", dtype=str)["municipality_code"])
    changes = pd.read_csv(SEEDS / "municipality_changes.csv", dtype=str).dropna(subset=["old_code", "new_code"])
    step = dict(zip(changes["old_code"], changes["new_code"]))

    def one(code):
        for _ in range(6):
            if code in m2013:
                return code
            code = step.get(code)
            if code is None:
                return None
        return None

    return codes.map(lambda c: one(c) if isinstance(c, str) and c.strip() else None)


def _seed_municipalities() -> pd.DataFrame:
    return pd.read_csv(SEEDS / "municipalities_2013.csv", dtype=str).set_index("municipality_code")


# ---------------------------------------------------------------------------------------------
def test_build_passes_with_the_backdating_unit_tests(built):
    _, _, results, res = built
    assert "ERROR=0" in res.stdout.replace(" ", "")
    unit = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert UNIT_TESTS <= set(unit), sorted(unit)
    assert {unit[n] for n in UNIT_TESTS} == {"pass"}


def test_registry_entries_resolve_and_cover_the_catalogue(built):
    wh, _, _, _ = built
    cols = query_df(wh, "select table_name, column_name from information_schema.columns where table_schema = 'marts'")
    relation_columns = cols.groupby("table_name")["column_name"].apply(set).to_dict()
    # chapter 4's model outputs are checked against a fitted warehouse in test_a_sur_assets.py
    exhibits = {k: e for k, e in _exhibits().items() if not e.is_model_output}
    assert registry.problems(list(exhibits.values()), relation_columns) == []
    expected = (
        {f"a_fig_3_{i}" for i in range(1, 19)}
        | {"a_tab_4_1", "a_fig_4_2", "a_tab_5_1"}
        | {f"a_fig_5_{i}" for i in range(1, 48)}
        | {"a_tab_a1", "a_tab_a2", "a_tab_a3", "a_tab_d"}
        | {"a_fig_admin_dating", "a_fig_multi_migrants", "a_fig_admin_share", "a_tab_registration_lag"}
    )
    assert expected <= set(exhibits)
    labels = registry.load_labels()
    for e in exhibits.values():
        assert e.disclosure, f"{e.id} has no disclosure declaration"
        df = _extract(wh, e)
        assert len(df) > 0, f"{e.id} is empty"
        for column, label_map in e.labels.items():
            unlabelled = {str(v) for v in df[column].dropna().unique()} - set(labels[label_map])
            assert not unlabelled, f"{e.id}: codes of {column} without a label: {sorted(unlabelled)}"


def test_fig_3_12_rates_recomputed_from_raw(built):
    """Figure 3.12: immigrants' emigrations in t by sex (registered dating, multi-migrants included) / immigrants
    resident on 1 January t, computed in pandas from the raw deliveries."""
    wh, _, _, _ = built
    persons, status, events = _raw(wh)
    exp = immigrant_emigration_by_year_sex(persons, status, events).reset_index()
    exp = exp[(exp["year"] >= VARS["study_a_micro_first_year"]) & (exp["year"] <= LAST)]
    exp["rate_per_100"] = 100.0 * exp["emigrations"] / exp["population_jan1"]

    got = _extract(wh, _exhibits()["a_fig_3_12"])
    got = got.assign(sex=got["level1"].astype(int))
    m = exp.merge(got, on=["year", "sex"], suffixes=("_exp", "_got"), how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"]
    assert m["emigrations_exp"].sum() > 0
    assert (m["emigrations_exp"] == m["emigrations_got"]).all()
    assert (m["population_jan1_exp"] == m["population_jan1_got"]).all()
    assert np.allclose(m["rate_per_100_exp"], m["rate_per_100_got"])


def test_tab_5_1_counts_recomputed_from_raw(built):
    """Table 5.1: municipalities per centrality (the 2013 list) and residents / immigrants on 1 January of the
    reference year by the centrality of their municipality on 2013 borders."""
    wh, _, _, _ = built
    persons, status, _ = _raw(wh)
    munis = _seed_municipalities()
    st = status[(status["register_year"] == LAST) & (status["status"] == "resident")].copy()
    st["m2013"] = _to_2013(st["municipality"])
    st = st.dropna(subset=["m2013"])
    st["centrality"] = st["m2013"].map(munis["centrality"]).astype(int)
    st["immigrant"] = st["person_id"].map(persons["immigrant_category"]).eq("B")
    exp = st.groupby("centrality").agg(residents_jan1=("person_id", "size"), immigrants_jan1=("immigrant", "sum"))
    exp["municipalities"] = munis.groupby(munis["centrality"].astype(int)).size()
    exp.loc[0] = exp.sum()

    got = _extract(wh, _exhibits()["a_tab_5_1"]).set_index("centrality")
    assert sorted(got.index) == [0, 1, 2, 3, 4]
    for column in ["residents_jan1", "immigrants_jan1", "municipalities"]:
        assert got[column].astype(int).to_dict() == exp.loc[got.index, column].astype(int).to_dict(), column
    assert exp.loc[0, "residents_jan1"] > 0 and exp.loc[0, "immigrants_jan1"] > 0
    assert np.allclose(got.loc[[1, 2, 3, 4], "population_share_pct"].sum(), 100.0)


def test_fig_5_47_county_rates_recomputed_from_raw(built):
    """Figure 5.47: per county and period, immigrants' emigrations (county of the municipality on the event, else
    of the 1 January residence that year) / sum of 1 January stocks x 100; '00' = all counties."""
    wh, _, _, _ = built
    persons, status, events = _raw(wh)
    munis = _seed_municipalities()
    imm = set(persons.index[persons["immigrant_category"] == "B"])

    def period(y):
        for a, b in PERIODS:
            if a <= y <= b:
                return f"{a}-{b}"
        return None

    st = status[(status["status"] == "resident") & status["person_id"].isin(imm)].copy()
    st["county"] = _to_2013(st["municipality"]).map(munis["county_code"])
    st["period"] = st["register_year"].map(period)
    st = st.dropna(subset=["county", "period"])
    out = events[(events["direction"] == "out") & events["person_id"].isin(imm)].copy()
    given = out["municipality"].fillna("").str.strip() != ""
    at_event = _to_2013(out["municipality"])
    jan1 = status.assign(m2013=_to_2013(status["municipality"])).set_index(["person_id", "register_year"])["m2013"]
    fallback = pd.Series([jan1.get((p, y)) for p, y in zip(out["person_id"], out["event_year"])], index=out.index)
    out["county"] = at_event.where(given, fallback).map(munis["county_code"])
    out["period"] = out["event_year"].map(period)
    out = out.dropna(subset=["county", "period"])

    def by_county(df):
        both = pd.concat([df, df.assign(county="00")])
        return both.groupby(["period", "county"]).size().rename_axis(["period", "county_code"])

    exp = pd.DataFrame({"population_jan1_sum": by_county(st)})
    exp["emigrations"] = by_county(out).reindex(exp.index, fill_value=0)

    got = _extract(wh, _exhibits()["a_fig_5_47"]).set_index(["period", "county_code"])
    assert exp["emigrations"].sum() > 0
    assert set(got.index) == set(exp.index)
    got = got.loc[exp.index]
    assert (got["population_jan1_sum"].to_numpy() == exp["population_jan1_sum"].to_numpy()).all()
    assert (got["emigrations"].to_numpy() == exp["emigrations"].to_numpy()).all()
    assert np.allclose(got["rate_per_100"], 100.0 * exp["emigrations"] / exp["population_jan1_sum"])


def test_registration_lag_triangle_recomputed_from_raw(built):
    """Known emigrations after k years of registration lag, all immigrants, from the event and registration
    dates; cells exist only up to the newest register year and only the edge can still grow."""
    wh, _, _, _ = built
    persons, _, events = _raw(wh)
    imm = set(persons.index[persons["immigrant_category"] == "B"])
    out = events[(events["direction"] == "out") & events["person_id"].isin(imm)].copy()
    out["lag"] = (pd.to_datetime(out["registration_date"]).dt.year - out["event_year"]).clip(lower=0)
    got = query_df(wh, "select * from marts.count_a_registration_lag where country_group = 0 and lag <> 'all'")
    assert len(got) > 0 and (got["event_year"] + got["lag_years"] <= LAST).all()
    for r in got.itertuples():
        in_year = out["event_year"] == r.event_year
        assert r.emigrations_registered == int((in_year & (out["lag"] == r.lag_years)).sum()), (r.event_year, r.lag)
        assert r.emigrations_known == int((in_year & (out["lag"] <= r.lag_years)).sum()), (r.event_year, r.lag)
    edge = got["event_year"] + got["lag_years"] == LAST
    assert not got.loc[~edge, "still_growing"].any()
    if int(out["lag"].max()) > 0:
        assert got.loc[edge & (got["event_year"] == LAST), "still_growing"].all()
    total = query_df(
        wh,
        "select event_year, emigrations_registered from marts.count_a_registration_lag "
        "where country_group = 0 and lag = 'all'",
    ).set_index("event_year")["emigrations_registered"]
    assert total.to_dict() == out.groupby("event_year").size().reindex(total.index, fill_value=0).to_dict()


def test_variants_come_from_one_build(built):
    """Every dating x multi-migrant variant is in the *_variants marts of one build; back-dating moves year, age
    and duration of residence by the same number of years and removes exactly the stocks fct_a_backdated_absence
    lists."""
    wh, _, _, _ = built
    variants = query_df(wh, "select distinct variant from marts.rate_a_micro_variants")["variant"]
    assert set(variants) == {
        f"{d}/{m}" for d in ("registered", "backdated", "excluded") for m in ("included", "excluded")
    }
    moved = query_df(
        wh,
        """
        select b.shift_years, r.year - b.year as dy, r.age_a - b.age_a as dage, r.botid_a - b.botid_a as dbotid,
               r.botid_a as botid_r
        from marts.fct_a_emigration_dated as r
        join marts.fct_a_emigration_dated as b on b.event_id = r.event_id and b.dating = 'backdated'
        where r.dating = 'registered' and b.shift_years > 0""",
    )
    assert len(moved) > 0, "the simulated deliveries hold no back-datable administrative emigration"
    assert (moved["dy"] == moved["shift_years"]).all() and (moved["dage"] == moved["shift_years"]).all()
    known = moved.dropna(subset=["botid_r"])
    assert ((known["dbotid"] == known["shift_years"]) | (known["botid_r"] < known["shift_years"])).all()
    stock = query_df(
        wh,
        """
        select v.year, sum(case when v.dating = 'registered' then v.population_jan1 else 0 end)
                     - sum(case when v.dating = 'backdated' then v.population_jan1 else 0 end) as removed
        from marts.rate_a_flows_variants as v
        where v.population = 'all' and v.multi_migrants = 'included' group by v.year""",
    ).set_index("year")["removed"]
    absent = query_df(wh, "select year, count(*) as n from marts.fct_a_backdated_absence group by year").set_index(
        "year"
    )["n"]
    assert stock.sum() > 0
    assert stock.to_dict() == absent.reindex(stock.index, fill_value=0).to_dict()
    excluded = query_df(
        wh, "select count(*) as n from marts.fct_a_emigration_dated where dating = 'excluded' and is_administrative"
    )
    assert excluded["n"].iloc[0] == 0


def test_dating_setting_reaches_every_rate_exhibit(built):
    """Changing study_a_admin_emigration_dating changes what every rate exhibit shows: each reads only rows of the
    chosen dating, and the plain marts equal the chosen variant of the same build's *_variants marts."""
    wh_r, wh_b, _, _ = built
    exhibits = _exhibits()
    cols = query_df(wh_r, "select table_name, column_name from information_schema.columns where table_schema = 'marts'")
    with_dating = set(cols.loc[cols["column_name"] == "dating", "table_name"])
    rate_exhibits = {e.id for e in exhibits.values() if (e.disclosure or {}).get("rates")}
    assert len(rate_exhibits) > 60 and DATING_FREE <= set(exhibits)
    followed = [e for e in exhibits.values() if e.id not in DATING_FREE and e.source in with_dating]
    # no rate exhibit escapes the check; the flow-count figures 3.1-3.6 are checked too
    assert rate_exhibits - DATING_FREE <= {e.id for e in followed}
    assert {f"a_fig_3_{i}" for i in range(1, 7)} <= {e.id for e in followed}
    for e in followed:
        probe = dataclasses.replace(e, columns=["dating"], order_by=[])
        for wh, dating in ((wh_r, "registered"), (wh_b, "backdated")):
            seen = set(_extract(wh, probe)["dating"])
            assert seen == {dating}, f"{e.id} shows {seen} under dating={dating}"
    pairs = {
        "rate_a_micro": ("rate_a_micro_variants", "breakdown, level1, level2, year"),
        "rate_a_flows": ("rate_a_flows_variants", "population, year"),
        "rate_a_macro": ("rate_a_macro_variants", "country_group, sex, age_group, year"),
        "rate_a_county_period": ("rate_a_county_period_variants", "breakdown, level1, period, county_code"),
    }
    for plain, (variants, key) in pairs.items():
        b = query_df(wh_b, f"select {key}, emigrations, rate_per_100 from marts.{plain} order by {key}")
        r = query_df(
            wh_r,
            f"select {key}, emigrations, rate_per_100 from marts.{variants} "
            f"where dating = 'backdated' and selected_multi_migrants order by {key}",
        )
        pd.testing.assert_frame_equal(b, r, check_dtype=False)
    before = query_df(
        wh_r, "select year, rate_per_100 from marts.rate_a_flows where population = 'immigrants' order by year"
    )
    after = query_df(
        wh_b, "select year, rate_per_100 from marts.rate_a_flows where population = 'immigrants' order by year"
    )
    assert not np.allclose(before["rate_per_100"].fillna(-1), after["rate_per_100"].fillna(-1))
