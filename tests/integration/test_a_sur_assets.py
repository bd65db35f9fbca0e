"""Study A SUR assets on a small hand-built DuckDB warehouse: tables written, checks pass and fail."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from models_py.exhibits.registry import load_registry, problems
from models_py.studies.a import montecarlo as mc
from models_py.studies.a.inputs import AGE_GROUPS, SEX_CODES
from models_py.studies.a.spec import load_spec

MACRO = Path(__file__).resolve().parents[2] / "dbt" / "seeds" / "macro_series.csv"


def _mart_rows(panel: pd.DataFrame, years=range(1990, 2014)) -> pd.DataFrame:
    """rate_a_macro's shape from a panel: one row per year x group x sex x age, plus a total row."""
    code = {v: k for k, v in SEX_CODES.items()}
    rows = []
    for year in years:
        for g in (1, 2, 3):
            for s in ("K", "M"):
                for label, a in AGE_GROUPS.items():
                    pop = round(panel.at[year, f"POP_{g}{s}{a}"])
                    rows.append(
                        {
                            "year": year,
                            "country_group": g,
                            "sex": code[s],
                            "age_group": label,
                            "emigrations": round(panel.at[year, f"EMI_{g}{s}{a}"] * pop),
                            "population_jan1": pop,
                            "emi": panel.at[year, f"EMI_{g}{s}{a}"],
                            "anko": panel.at[year, f"ANKO_{g}{s}{a}"],
                            "anme": panel.at[year, f"ANME_{g}{s}{a}"],
                            "n_botid_short": round(panel.at[year, f"ANKO_{g}{s}{a}"] * pop),
                            "n_botid_medium": round(panel.at[year, f"ANME_{g}{s}{a}"] * pop),
                            "beh": round(panel.at[year, f"BEH_{g}"]),
                            "small_cell": pop < 20,
                        }
                    )
        rows.append(
            {
                "year": year,
                "country_group": 0,
                "sex": 0,
                "age_group": "all",
                "emigrations": 1,
                "population_jan1": 1,
                "emi": 1.0,
                "anko": 0.0,
                "anme": 0.0,
                "n_botid_short": 0,
                "n_botid_medium": 0,
                "beh": 1,
                "small_cell": True,
            }
        )
    return pd.DataFrame(rows)


def _build(path: Path, years=range(1990, 2014), drop=None) -> Path:
    from dagster_project.assets.dbt import relation_of

    spec = load_spec()
    panel = mc.draw_panel(spec, mc.dgp_panel(pd.read_csv(MACRO)), np.random.default_rng(2))
    con = duckdb.connect(str(path))
    rates = _mart_rows(panel, years)
    if drop is not None:
        rates = rates[~drop(rates)]
    for name, frame in (("rate_a_macro", rates), ("macro_series", pd.read_csv(MACRO))):
        relation = relation_of(name)  # "schema"."table" from the dbt manifest
        con.execute(f"create schema if not exists {relation.split('.')[0]}")
        con.register("_f", frame)
        con.execute(f"create table {relation} as select * from _f")
        con.unregister("_f")
    con.close()
    return path


def _pooling(monkeypatch, mode: str) -> None:
    """The R9 pooling setting for one test (the assets read disclosure.load_settings())."""
    import copy

    from models_py.publish import disclosure

    settings = copy.deepcopy(disclosure.load_settings())
    settings["models"]["aggregate_input_pooling"] = mode
    monkeypatch.setattr(disclosure, "load_settings", lambda path=None: settings)


@pytest.fixture(autouse=True)
def no_pooling(monkeypatch):
    # the hand-built cells are draws of the published systems, not counts (some rates are negative): pooling them
    # would only blur the SUR mechanics these tests are about; test_small_input_cells_are_pooled turns it on
    _pooling(monkeypatch, "none")


@pytest.fixture
def warehouse(tmp_path, dbt_manifest) -> Path:
    return _build(tmp_path / "w.duckdb")


def _run(path: Path):
    from dagster_project.assets.study_a_models import (
        study_a_model_assets,
        study_a_model_checks,
    )
    from dagster_project.resources import Warehouse

    return dg.materialize(
        [*study_a_model_assets, *study_a_model_checks],
        resources={"warehouse": Warehouse(path=str(path))},
        raise_on_error=False,
    )


def test_assets_write_tidy_tables_and_checks_pass(warehouse):
    result = _run(warehouse)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["a_sur_fit_converged"] and checks["a_sur_fit_residual_df"] and checks["a_sur_fit_restrictions_hold"]
    assert checks["a_sur_inputs_no_small_cells"]  # the hand-built cells are all large
    con = duckdb.connect(str(warehouse), read_only=True)
    coef = con.execute("select * from models.a_sur_coefficients").df()
    assert {
        "system",
        "equation",
        "term",
        "estimate",
        "std_error",
        "t_value",
        "published_estimate",
        "published_t",
    } <= set(coef.columns)
    assert len(coef) == 113 and coef["estimate"].notna().all()
    # simulated with the published coefficients: most estimates within 3 standard errors of the truth
    z = ((coef["estimate"] - coef["published_estimate"]) / coef["std_error"]).abs()
    assert (z < 3).mean() > 0.85
    assert con.execute("select count(*) from models.a_sur_diagnostics").fetchone()[0] == 36
    assert con.execute("select count(*) from models.a_sur_residual_cov").fetchone()[0] == 90
    sim = con.execute(
        "select kind, coefficients, count(*) from models.a_sur_simulation group by all order by all"
    ).fetchall()
    assert sim == [
        ("dynamic", "estimated", 22),
        ("dynamic", "published", 22),
        ("static", "estimated", 14),
        ("static", "published", 14),
    ]
    cf = con.execute(
        "select scenario, sum(difference) from models.a_sur_counterfactuals "
        "where coefficients = 'published' group by all"
    ).fetchall()
    assert dict(cf)["income"] < 0 and dict(cf)["led1"] < 0
    assert con.execute("select count(*) from models.a_table_4_12").fetchone()[0] == 36
    # the registry's chapter 4 exhibits name tables and columns these assets write
    rows = con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = 'models'"
    ).fetchall()
    con.close()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(f"models.{table}", set()).add(column)
    chapter_4 = [e for e in load_registry(("a",)) if e.is_model_output]
    assert len(chapter_4) == 23 and problems(chapter_4, columns) == []


def test_restriction_check_fails_when_estimates_break_it(warehouse):
    from dagster_project.assets.study_a_models import (
        a_sur_fit_residual_df,
        a_sur_fit_restrictions_hold,
    )
    from dagster_project.resources import Warehouse

    assert _run(warehouse).success
    con = duckdb.connect(str(warehouse))
    con.execute("update models.a_sur_systems set max_restriction_violation = 1e-3 where system = 3")
    con.execute("update models.a_sur_diagnostics set residual_df = 5 where system = 1 and cell = 'K3'")
    con.close()
    wh = Warehouse(path=str(warehouse))
    assert not a_sur_fit_restrictions_hold(warehouse=wh).passed
    assert not a_sur_fit_residual_df(warehouse=wh).passed


def test_short_register_window_skips_the_models_without_failing_the_run(tmp_path, dbt_manifest):
    """A register delivered for 1996-2004 only (as in the tiny pipeline tests) cannot be estimated:
    every stage still materializes (so the report downstream is built) but estimates nothing and leaves no
    table behind; the run succeeds and the checks pass on the empty result."""
    path = _build(tmp_path / "short.duckdb", years=range(1996, 2005))
    result = _run(path)
    assert result.success
    materialized = {
        ev.asset_key.to_user_string(): ev.materialization.metadata for ev in result.get_asset_materialization_events()
    }
    assert {"a_table_4_12", "a_sur_inputs", "a_sur_fit", "a_sur_simulation", "a_sur_counterfactuals"} <= set(
        materialized
    )
    assert materialized["a_sur_fit"]["systems_fitted"].value == 0
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.check_name.startswith("a_sur_fit"))
    con = duckdb.connect(str(path), read_only=True)
    tables = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'models'"
        ).fetchall()
    }
    con.close()
    assert "a_sur_coefficients" not in tables


def test_a_system_with_an_empty_cell_is_skipped_the_others_fitted(tmp_path, dbt_manifest):
    """At small simulated scales a cell can be empty in early years (e.g. group 2 girls 0-6): that
    system is not estimable, the other eight are fitted and checked; the simulations hold its cells at their
    observed rates in the estimated paths and say so."""
    path = _build(
        tmp_path / "gap.duckdb",
        drop=lambda r: (r.country_group == 2) & (r.sex == 2) & (r.age_group == "0-6") & r.year.between(1993, 1995),
    )
    result = _run(path)
    assert result.success
    done = {ev.asset_key.to_user_string() for ev in result.get_asset_materialization_events()}
    assert {"a_sur_inputs", "a_sur_fit", "a_table_4_12", "a_sur_simulation", "a_sur_counterfactuals"} <= done
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["a_sur_fit_converged"] and checks["a_sur_fit_residual_df"] and checks["a_sur_fit_restrictions_hold"]
    con = duckdb.connect(str(path), read_only=True)
    fitted = [r[0] for r in con.execute("select system from models.a_sur_systems order by 1").fetchall()]
    verdicts = dict(con.execute("select output_table, status from models.model_gate").fetchall())
    held = dict(
        con.execute("select coefficients, max(observed_systems) from models.a_sur_simulation group by all").fetchall()
    )
    held_cf = con.execute("select distinct coefficients, observed_systems from models.a_sur_counterfactuals").fetchall()
    con.close()
    assert fitted == [1, 2, 3, 4, 5, 6, 7, 9]
    assert held == {"estimated": "8", "published": ""}
    assert sorted(held_cf) == [("estimated", "8"), ("published", "")]
    assert "models.a_sur_simulation" in verdicts  # its R9 verdict covers all 36 series (see the pooling test)
    assert set(verdicts) >= {f"models.a_sur_{t}" for t in ("coefficients", "diagnostics", "residual_cov", "systems")}


def test_small_input_cells_are_pooled_and_the_r9_verdict_covers_the_blocks(warehouse, monkeypatch):
    """Pooling on, on valid counts (absolute values of the draws): the fitted systems' blocks all pass R2/R3
    (checked here independently of the asset), the systems table counts the pooled cells, the verdict passes."""
    from models_py.publish.disclosure import load_settings, rate_is_publishable
    from models_py.studies.a.inputs import cell_series, mart_keys

    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.rate_a_macro set emigrations = abs(emigrations), "
            "emi = abs(emigrations) / population_jan1 where country_group between 1 and 3"
        )
    _pooling(monkeypatch, "adjacent_years")
    assert _run(warehouse).success
    s = load_settings()
    spec = load_spec()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cells = con.execute("select * from models.a_sur_input_cells").df()
        systems = con.execute("select system, input_cells, pooled_input_cells from models.a_sur_systems").df()
        verdict = con.execute(
            "select status, reason from models.model_gate where output_table = 'models.a_sur_coefficients'"
        ).fetchone()
        simulation_verdict = con.execute(
            "select status from models.model_gate where output_table = 'models.a_sur_simulation'"
        ).fetchone()[0]
    assert cells["pooled"].any() and (~cells["pooled"]).any()
    fitted = set(systems["system"])
    wanted = mart_keys(set().union(*(cell_series(x) for x in spec.systems if x.id in fitted)))
    mine = cells[[k in wanted for k in zip(cells["country_group"], cells["sex"], cells["age_group"])]]
    for e in ("block_emigrations", "block_n_botid_short", "block_n_botid_medium"):
        assert all(rate_is_publishable(a, b, s) for a, b in zip(mine[e], mine["block_population_jan1"]))
    # a pooled year's EMI is its block's rate; its own 1 Jan stock is kept for the simulations
    p = cells[cells["pooled"]]
    assert np.allclose(p["emi"], p["block_emigrations"] / p["block_population_jan1"])
    assert (p["population_jan1"] < p["block_population_jan1"]).all()
    assert systems["pooled_input_cells"].sum() > 0 and (systems["pooled_input_cells"] <= systems["input_cells"]).all()
    assert verdict[0] == "pass", verdict[1]
    # the simulations read all 36 series: their verdict passes only if every block of every series does
    every = all(
        rate_is_publishable(a, b, s)
        for e in ("block_emigrations", "block_n_botid_short", "block_n_botid_medium")
        for a, b in zip(cells[e], cells["block_population_jan1"])
    )
    assert simulation_verdict == ("pass" if every else "fail")
