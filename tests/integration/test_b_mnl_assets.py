"""Study B assets on a hand-built DuckDB warehouse (the panel mart from the spec B §4.4 simulator):
tidy tables written, no person-level column published, the R8 checks pass and fail."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest

from models_py.studies.b.design import CATS, DesignSpec
from models_py.studies.b.simulate import simulate_panel

RUNS = ["nordic_excluded", "income_spline", "two_step", "origin_non_europe"]
PUBLISHED = ["b_counts", "b_fit", "b_levels", "b_rrr", "b_ame", "b_income_profile", "b_sensitivity"]


def _build(path: Path, persons: int, seed: int) -> Path:
    from dagster_project.assets.dbt import relation_of

    panel = simulate_panel(persons, seed=seed)
    panel["nordic_route"] = panel["origin"] == "nordic"  # person-level flags of the mart
    panel["ever_self_employed"] = panel["person_id"] % 17 == 0
    relation = relation_of("fct_b_person_year")
    con = duckdb.connect(str(path))
    con.execute(f"create schema if not exists {relation.split('.')[0]}")
    con.register("_p", panel)
    con.execute(f"create table {relation} as select * from _p")
    # the missing-destination variant mart: here one rule, 'return', with some onward moves coded as returns
    variants = relation_of("fct_b_person_year_md_variants")
    con.execute(
        f"create table {variants} as select 'return' as missing_destination, * replace "
        "(case when y = 2 and person_id % 7 = 0 then 1 else y end as y) from _p"
    )
    con.close()
    return path


def _small_spec() -> DesignSpec:
    return DesignSpec(
        cats={c: CATS[c] for c in ("age_band", "dur_band", "educ", "origin")}, year_fe=False, income="spline"
    )


def _run(path: Path):
    from dagster_project.assets.study_b import study_b_assets, study_b_checks
    from dagster_project.resources import Warehouse

    return dg.materialize(
        [*study_b_assets, *study_b_checks], resources={"warehouse": Warehouse(path=str(path))}, raise_on_error=False
    )


@pytest.fixture
def small_main(monkeypatch):
    import dagster_project.assets.study_b as b

    monkeypatch.setattr(b, "main_spec", _small_spec)  # a design 12k simulated persons can carry
    monkeypatch.setattr(b, "SENSITIVITY_RUNS", RUNS)  # four runs keep the test short


def test_assets_publish_tidy_tables_and_checks_pass(tmp_path, dbt_manifest, small_main):
    wh = _build(tmp_path / "w.duckdb", persons=12_000, seed=4)
    result = _run(wh)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"b_mnl_main_publishable": True, "b_sensitivity_publishable": True}
    con = duckdb.connect(str(wh), read_only=True)
    fit = con.execute("select * from models.b_fit where model = 'main'").df().iloc[0]
    assert fit["publishable"] and fit["converged"] and fit["df_resid"] > 10_000
    panel = con.execute(
        "select count(*), count(distinct person_id), count(*) filter (where y = 2) from models.b_panel"
    ).fetchone()
    counts = con.execute("select observations, persons, onward from models.b_counts where model = 'main'").fetchone()
    assert counts == panel
    rrr = con.execute("select * from models.b_rrr").df()
    assert set(rrr["equation"]) == {"return_vs_stay", "onward_vs_stay", "onward_vs_return"}
    assert np.isfinite(rrr["std_error"]).all() and len(rrr) == 3 * fit["n_params"] // 2
    prof = con.execute("select * from models.b_income_profile").df()
    assert (
        set(prof["quantity"]) == {"p_return", "p_onward", "p_onward_given_emigrate"}
        and prof["income_point"].nunique() == 20
    )
    assert (prof["ci_low"] <= prof["estimate"]).all() and (prof["estimate"] <= prof["ci_high"]).all()
    ame = con.execute("select * from models.b_ame where variable = 'spouse_in_no' and quantity = 'p_return'").df()
    assert len(ame) == 1 and ame["ame"].iloc[0] < 0  # spouse in Norway lowers return (true beta -0.6)
    runs = con.execute("select model, publishable, problems from models.b_fit where model <> 'main'").df()
    # every missing-destination rule of the settings is fitted; 'censor' has no rows in this variant mart, so it
    # comes back refused with its reasons instead of going missing
    assert set(runs["model"]) == {*RUNS, "missing_destination_return", "missing_destination_censor"}
    censor = runs[runs["model"] == "missing_destination_censor"].iloc[0]
    assert not censor["publishable"] and "fewer than" in censor["problems"]
    # every sensitivity run is either published with estimates or blocked with a reason and no rows
    sens = con.execute("select distinct run from models.b_sensitivity").df()["run"].tolist()
    assert set(sens) == set(runs.loc[runs["publishable"], "model"]) and {"income_spline", "two_step"} <= set(sens)
    assert (runs.loc[~runs["publishable"], "problems"].str.len() > 0).all()
    # each run's ratios sit beside the main model's for the same equation and term
    beside = con.execute(
        "select count(*), count(s.main_rrr), count(*) filter (where s.main_rrr = m.rrr) from models.b_sensitivity s "
        "left join models.b_rrr m using (equation, term) where s.run = 'nordic_excluded' and m.term is not null"
    ).fetchone()
    assert beside[0] > 10 and beside[0] == beside[1] == beside[2]
    # the income profile under both income forms, for the spline-versus-groups figure
    forms = con.execute("select distinct model from models.b_sensitivity_profile order by 1").df()["model"].tolist()
    assert forms == ["income_spline", "main"]
    # R8/R12: nothing published carries a person id or a per-person value
    for t in PUBLISHED:
        cols = {
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'models' and table_name = ?",
                [t],
            ).fetchall()
        }
        assert cols and not cols & {"person_id", "pid", "y", "inc_pct", "residual", "fitted"}, (t, cols)
    lv = con.execute("select min(persons) from models.b_levels where model = 'main'").fetchone()[0]
    con.close()
    assert lv >= 10

    # a level held by fewer persons than the threshold in a published model fails the blocking check
    from dagster_project.assets.study_b import b_mnl_main_publishable
    from dagster_project.resources import Warehouse

    con = duckdb.connect(str(wh))
    con.execute("update models.b_levels set persons = 3 where model = 'main' and variable = 'educ' and level = 'high'")
    con.close()
    assert not b_mnl_main_publishable(warehouse=Warehouse(path=str(wh))).passed


def test_too_small_a_panel_publishes_counts_and_reasons_only(tmp_path, dbt_manifest):
    wh = _build(tmp_path / "w.duckdb", persons=400, seed=5)
    result = _run(wh)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert all(checks.values()) and len(checks) == 2
    con = duckdb.connect(str(wh), read_only=True)
    fit = con.execute("select publishable, problems from models.b_fit where model = 'main'").fetchone()
    assert fit[0] is False and ("fewer than 10 persons" in fit[1] or "no onward outcome" in fit[1])
    assert con.execute("select count(*) from models.b_rrr").fetchone()[0] == 0
    assert con.execute("select count(*) from models.b_ame").fetchone()[0] == 0
    assert con.execute("select observations from models.b_counts where model = 'main'").fetchone()[0] > 0
    con.close()


def _reused(result) -> dict[str, bool]:
    return {
        e.asset_key.path[-1]: "reused_stored_fit" in e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] in ("b_mnl_main", "b_sensitivity")
    }


def test_an_unchanged_panel_keeps_the_stored_fits_and_a_changed_one_refits_them(tmp_path, dbt_manifest, small_main):
    from dagster_project.assets.dbt import relation_of

    wh = _build(tmp_path / "w.duckdb", persons=6_000, seed=7)
    first = _run(wh)
    assert first.success and _reused(first) == {"b_mnl_main": False, "b_sensitivity": False}

    def stored() -> dict[str, list]:
        con = duckdb.connect(str(wh), read_only=True)
        try:
            return {t: con.execute(f"select * from models.{t} order by all").fetchall() for t in PUBLISHED}
        finally:
            con.close()

    before = stored()
    again = _run(wh)  # b_panel is extracted again, with the same rows
    assert again.success and _reused(again) == {"b_mnl_main": True, "b_sensitivity": True}
    assert stored() == before  # fit_seconds included: nothing was rewritten
    assert all(e.passed for e in again.get_asset_check_evaluations())

    # one person-year's outcome changes in the mart: both fits run again
    con = duckdb.connect(str(wh))
    con.execute(
        f"update {relation_of('fct_b_person_year')} set y = case when y = 0 then 1 else 0 end "
        f"where person_id = (select min(person_id) from {relation_of('fct_b_person_year')}) and year = "
        f"(select min(year) from {relation_of('fct_b_person_year')} where person_id = "
        f"(select min(person_id) from {relation_of('fct_b_person_year')}))"
    )
    con.close()
    changed = _run(wh)
    assert changed.success and _reused(changed) == {"b_mnl_main": False, "b_sensitivity": False}
    after = stored()
    assert after["b_counts"] != before["b_counts"] or after["b_rrr"] != before["b_rrr"]

    # so does a change of the code's settings (here the sensitivity runs), for the asset that reads them
    import dagster_project.assets.study_b as b

    b.SENSITIVITY_RUNS = RUNS[:2]  # restored by the fixture's monkeypatch
    fewer = _run(wh)
    assert fewer.success and _reused(fewer) == {"b_mnl_main": False, "b_sensitivity": False}
