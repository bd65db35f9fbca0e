"""Study B assets: the stay / return / onward multinomial logit, its margins and sensitivity runs.

Thin: the statistics live in models_py.studies.b; these assets read the panel mart, call it, and
write tidy tables into the warehouse schema `models` (b_counts, b_fit, b_levels, b_rrr, b_ame,
b_income_profile, b_sensitivity). A model that fails disclosure rule R8 (thresholds: dbt vars
models.min_category_persons, models.min_residual_df of models_py/publish/disclosure_settings.yaml) publishes
its counts and the reason only.
"""

import time
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from dagster_project.assets.dbt import dbt_models, relation_of
from dagster_project.partitions import DUCKDB_POOL
from dagster_project.resources import Warehouse
from models_py.publish import disclosure
from models_py.publish.gate import record_model_check
from models_py.publish.site import markdown_table
from models_py.studies import b as study_b_package
from models_py.studies import fit_reuse
from models_py.studies.b.design import DesignSpec
from models_py.studies.b.mnl import peak_memory_mb
from models_py.studies.b.runs import (
    RANDOM_EFFECTS_NOTE,
    SENSITIVITY_RUNS,
    RunResult,
    missing_destination_rules,
    missing_destination_runs,
    run_missing_destination,
    run_model,
    run_sensitivity,
    sensitivity_table,
)
from models_py.warehouse import replace_table

GROUP = "study_b"
PANEL_MODEL = "fct_b_person_year"
# the same risk set under the other missing-destination rules (dbt var study_b_missing_destination_rules)
VARIANTS_MODEL = "fct_b_person_year_md_variants"
PANEL_COLUMNS = [
    "person_id",
    "year",
    "y",
    "age_band",
    "dur_band",
    "educ",
    "inc_group",
    "inc_pct",
    "wealth_group",
    "origin",
    "female",
    "citizen_no",
    "spouse_in_no",
    "child_in_hh",
    "employed",
    "welfare_any",
    "nordic_route",
    "ever_self_employed",
]
# tables for the exhibit registry (models_py/exhibits/study_b.yaml); b_counts, b_fit and b_levels hold rows of
# both assets, so they name the later one (b_sensitivity runs after b_mnl_main)
MODEL_TABLES = {
    "models.b_rrr": "b_mnl_main",
    "models.b_ame": "b_mnl_main",
    "models.b_income_profile": "b_mnl_main",
    "models.b_sensitivity": "b_sensitivity",
    "models.b_sensitivity_profile": "b_sensitivity",
    "models.b_counts": "b_sensitivity",
    "models.b_fit": "b_sensitivity",
    "models.b_levels": "b_sensitivity",
}
# the code that fits and stores the models: a change to it refits (models_py.studies.fit_reuse)
FIT_CODE = fit_reuse.code_digest([Path(study_b_package.__file__).parent, Path(__file__)])
MAIN_OUTPUTS = [
    "models.b_rrr",
    "models.b_ame",
    "models.b_income_profile",
    "models.b_fit",
    "models.b_counts",
    "models.b_levels",
]
SENSITIVITY_OUTPUTS = ["models.b_sensitivity", "models.b_sensitivity_profile", "models.b_fit", "models.b_levels"]
COUNT_COLUMNS = ["model", "observations", "persons", "returns", "onward", "persons_return", "persons_onward"]


def main_spec() -> DesignSpec:
    """The main model's design (spec B §4.2 reference levels, calendar-year fixed effects)."""
    return DesignSpec()


def _empty(strings: list[str], floats: list[str]) -> pd.DataFrame:
    """A typed empty table: what an unpublishable model leaves (same schema as a published one)."""
    return pd.DataFrame({**{c: pd.Series(dtype=str) for c in strings}, **{c: pd.Series(dtype=float) for c in floats}})


EMPTY = {
    "b_rrr": _empty(
        ["model", "equation", "term"], ["estimate", "std_error", "z", "p_value", "rrr", "ci_low", "ci_high"]
    ),
    "b_ame": _empty(
        ["model", "variable", "level", "reference", "quantity", "scale"], ["ame", "std_error", "ci_low", "ci_high"]
    ),
    "b_income_profile": _empty(["model", "income_point"], ["inc_pct_mean"]).assign(
        quantity=pd.Series(dtype=str),
        scale=pd.Series(dtype=str),
        estimate=pd.Series(dtype=float),
        std_error=pd.Series(dtype=float),
        ci_low=pd.Series(dtype=float),
        ci_high=pd.Series(dtype=float),
    ),
}


def _thresholds() -> tuple[int, int]:
    """R8's thresholds, from their one home (models_py/publish/disclosure_settings.yaml)."""
    models = disclosure.load_settings()["models"]
    return int(models["min_category_persons"]), int(models["min_residual_df"])


def _record_verdicts(con, tables: list[str]) -> None:
    """The disclosure gate publishes a model table only with a verdict: every model whose estimates a table holds
    passed R8 (publication_problems); an unpublishable model wrote its counts and reasons only."""
    for table in tables:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'models' and table_name = ?",
                [table],
            ).fetchall()
        ]
        record = disclosure.GateRecord(
            f"models.{table}", "model", "pass", "R8 checked per model before its estimates were written", ["R8"]
        )
        record_model_check(con, f"models.{table}", record, columns)


def _replace(con, table: str, frame: pd.DataFrame) -> None:
    replace_table(con, "models", table, frame)


def _upsert(con, table: str, frame: pd.DataFrame, models: list[str]) -> None:
    """Replace the rows of `models` in models.<table>, keeping other assets' models."""
    con.execute("create schema if not exists models")
    con.register("_frame", frame)
    try:
        con.execute(f"create table if not exists models.{table} as select * from _frame where false")
        con.execute(f"delete from models.{table} where model in (select unnest(?::varchar[]))", [models])
        con.execute(f"insert into models.{table} by name select * from _frame")
    finally:
        con.unregister("_frame")


def _fit_rows(r: RunResult) -> pd.DataFrame:
    """models.b_fit: one row per model with its status and summary figures (publishable aggregates)."""
    s = r.summary
    return pd.DataFrame(
        [
            {
                "model": r.model,
                "publishable": bool(r.publishable),
                "problems": "; ".join(r.problems),
                "merged_levels": "; ".join(r.merged),
                "converged": bool(s.get("converged", False)),
                "observations": int(r.counts["observations"].iloc[0]),
                "n_params": s.get("n_params"),
                "df_resid": s.get("df_resid"),
                "llf": s.get("llf"),
                "llnull": s.get("llnull"),
                "prsquared": s.get("prsquared"),
                "aic": s.get("aic"),
                "bic": s.get("bic"),
                "fit_seconds": s.get("fit_seconds"),
                "margins_seconds": s.get("margins_seconds"),
                "peak_memory_mb": s.get("peak_memory_mb"),
                "note": RANDOM_EFFECTS_NOTE,
            }
        ]
    ).astype(
        {
            "n_params": "Int64",
            "df_resid": "Int64",
            "llf": "Float64",
            "llnull": "Float64",
            "prsquared": "Float64",
            "aic": "Float64",
            "bic": "Float64",
            "fit_seconds": "Float64",
            "margins_seconds": "Float64",
            "peak_memory_mb": "Float64",
        }
    )


def _store(con, results: list[RunResult]) -> None:
    models = [r.model for r in results]
    _upsert(con, "b_counts", pd.concat([r.counts for r in results], ignore_index=True)[COUNT_COLUMNS], models)
    _upsert(con, "b_fit", pd.concat([_fit_rows(r) for r in results], ignore_index=True), models)
    lv = [r.levels for r in results if r.levels is not None]
    levels = (
        pd.concat(lv, ignore_index=True)
        if lv
        else pd.DataFrame(
            {
                "model": pd.Series(dtype=str),
                "variable": pd.Series(dtype=str),
                "level": pd.Series(dtype=str),
                "persons": pd.Series(dtype="int64"),
            }
        )
    )
    _upsert(con, "b_levels", levels, models)


def _fit_key(con, inputs: list[str]) -> str:
    """What the fits read: the input tables' content, the code, and the settings (thresholds, design, runs)."""
    settings = (_thresholds(), main_spec(), SENSITIVITY_RUNS, missing_destination_rules())
    return fit_reuse.fit_key(con, inputs, FIT_CODE, settings)


def _reused(context: dg.AssetExecutionContext, con, asset: str, tables: list[str], models: list[str]) -> dict:
    """Metadata of an asset whose stored results were kept (its fit key is unchanged)."""
    _record_verdicts(con, [t.split(".")[1] for t in tables if t != "models.b_counts"])
    fits = con.execute(
        "select model, publishable, observations, llf from models.b_fit where model in (select unnest(?::varchar[]))",
        [models],
    ).df()
    context.log.info(f"{asset}: inputs, code and settings unchanged since the stored fit; its results are kept")
    return {
        "reused_stored_fit": True,
        "models": len(fits),
        "published": int(fits["publishable"].astype(bool).sum()),
        "status": dg.MetadataValue.md(markdown_table(fits)),
    }


def _panel(con) -> pd.DataFrame:
    return con.execute("select * from models.b_panel").df()


@dg.asset(
    deps=[get_asset_key_for_model([dbt_models], m) for m in (PANEL_MODEL, VARIANTS_MODEL)],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Study B model extract: the model's columns of fct_b_person_year (person-years 2000-2020 "
    "at risk, y = 0 stay / 1 return / 2 onward, covariates at t-1), and of its missing-destination variants "
    "(models.b_panel_md_variants). Internal (person-level): never published.",
)
def b_panel(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        con.execute("create schema if not exists models")
        cols = ", ".join(PANEL_COLUMNS)  # constants of this module
        con.execute(f"create or replace table models.b_panel as select {cols} from {relation_of(PANEL_MODEL)}")
        con.execute(
            f"create or replace table models.b_panel_md_variants as select missing_destination, {cols} "
            f"from {relation_of(VARIANTS_MODEL)}"
        )
        n, persons, ret, onw = con.execute(
            "select count(*), count(distinct person_id), count(*) filter (where y = 1), count(*) filter (where y = 2) "
            "from models.b_panel"
        ).fetchone()
    return dg.MaterializeResult(
        metadata={"observations": int(n), "persons": int(persons), "returns": int(ret), "onward": int(onw)}
    )


@dg.asset(
    deps=[b_panel],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"statsmodels"},
    description="Study B main model (spec B §4.2-§4.3): multinomial logit stay/return/onward with the spec's reference "
    "levels and calendar-year fixed effects, cluster-robust by person; relative risk ratios with the onward-vs-return "
    "contrast (models.b_rrr), AMEs per 1,000 person-years (models.b_ame) and the income profile "
    "(models.b_income_profile). " + RANDOM_EFFECTS_NOTE,
)
def b_mnl_main(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    min_persons, min_df = _thresholds()
    with warehouse.connect() as con:
        key = _fit_key(con, ["models.b_panel"])
        if fit_reuse.stored_results_match(con, "b_mnl_main", key, MAIN_OUTPUTS):
            return dg.MaterializeResult(metadata=_reused(context, con, "b_mnl_main", MAIN_OUTPUTS, ["main"]))
        fit_reuse.forget(con, "b_mnl_main")
        panel = _panel(con)
        started = time.perf_counter()
        r = run_model(panel, main_spec(), "main", min_persons, min_df)
        del panel
        _store(con, [r])
        _replace(con, "b_rrr", r.rrr if r.publishable else EMPTY["b_rrr"])
        _replace(con, "b_ame", r.ame if r.publishable else EMPTY["b_ame"])
        _replace(con, "b_income_profile", r.income_profile if r.publishable else EMPTY["b_income_profile"])
        _record_verdicts(con, ["b_rrr", "b_ame", "b_income_profile", "b_fit"])
        fit_reuse.record_key(con, "b_mnl_main", key)
    if not r.publishable:
        context.log.warning("study B main model not published: " + "; ".join(r.problems))
    s, c = r.summary, r.counts.iloc[0]
    meta = {
        "observations": int(c["observations"]),
        "persons": int(c["persons"]),
        "returns": int(c["returns"]),
        "onward": int(c["onward"]),
        "published": bool(r.publishable),
        "total_seconds": round(time.perf_counter() - started, 3),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
    if r.publishable:
        meta.update(
            {
                "log_likelihood": s["llf"],
                "pseudo_r2": s["prsquared"],
                "n_params": s["n_params"],
                "fit_seconds": s["fit_seconds"],
                "margins_seconds": s.get("margins_seconds"),
                "merged_levels": "; ".join(r.merged) or "none",
            }
        )
        top = r.rrr[r.rrr["equation"] == "onward_vs_return"][["term", "rrr", "ci_low", "ci_high"]]
        meta["onward_vs_return"] = dg.MetadataValue.md(markdown_table(top.round(3)))
    else:
        meta["problems"] = "; ".join(r.problems)
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    deps=[b_panel, b_mnl_main],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"statsmodels"},
    description="Study B sensitivity runs (spec B §4.3.6), each the main estimator on a panel variant: Nordic-route "
    "persons excluded, persons ever self-employed excluded, income as a percentile spline, the two-step design, "
    "separate models by origin region, and the missing-destination rules other than the main one (persons dropped "
    "/ emigration year censored / coded as return) on their own panels (models.b_sensitivity). " + RANDOM_EFFECTS_NOTE,
)
def b_sensitivity(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    min_persons, min_df = _thresholds()
    runs = [*SENSITIVITY_RUNS, *missing_destination_runs()]
    with warehouse.connect() as con:
        # the runs sit beside the main model's published estimates: those are inputs too
        key = _fit_key(con, ["models.b_panel", "models.b_panel_md_variants", "models.b_rrr", "models.b_income_profile"])
        if fit_reuse.stored_results_match(con, "b_sensitivity", key, SENSITIVITY_OUTPUTS):
            return dg.MaterializeResult(metadata=_reused(context, con, "b_sensitivity", SENSITIVITY_OUTPUTS, runs))
        fit_reuse.forget(con, "b_sensitivity")
        panel = _panel(con)
        results = []
        for run in SENSITIVITY_RUNS:
            results.append(run_sensitivity(panel, run, min_persons, min_df, base=main_spec()))
        del panel
        # every rule of the settings is fitted: a rule whose risk set came out empty is a run that fails R8 (and
        # its exhibit is withheld with the reason), never a run that silently goes missing
        for rule in missing_destination_rules():
            variant = con.execute(
                "select * exclude (missing_destination) from models.b_panel_md_variants where missing_destination = ?",
                [rule],
            ).df()
            results.append(run_missing_destination(variant, rule, min_persons, min_df, base=main_spec()))
            del variant
        _store(con, results)
        # each run's ratios beside the main model's (b_mnl_main ran first: models.b_rrr, empty if not published)
        _replace(con, "b_sensitivity", sensitivity_table(results, main=con.execute("select * from models.b_rrr").df()))
        # the spline run's income profile beside the main model's groups (spec B §4.3.6): one table, both models
        prof = [r.income_profile for r in results if r.publishable and r.income_profile is not None]
        main_profile = con.execute("select * from models.b_income_profile").df()
        prof = [main_profile, *prof] if len(main_profile) else prof  # each line where its model was published
        _replace(
            con, "b_sensitivity_profile", pd.concat(prof, ignore_index=True) if prof else EMPTY["b_income_profile"]
        )
        _record_verdicts(con, ["b_sensitivity", "b_sensitivity_profile", "b_fit"])
        fit_reuse.record_key(con, "b_sensitivity", key)
    status = pd.DataFrame(
        [
            {
                "run": r.model,
                "published": r.publishable,
                "observations": int(r.counts["observations"].iloc[0]),
                "llf": r.summary.get("llf"),
                "fit_seconds": r.summary.get("fit_seconds"),
            }
            for r in results
        ]
    )
    for r in results:
        if not r.publishable:
            context.log.info(f"study B sensitivity run {r.model} not published: " + "; ".join(r.problems))
    return dg.MaterializeResult(
        metadata={
            "runs": len(results),
            "published": int(status["published"].sum()),
            "peak_memory_mb": round(peak_memory_mb(), 1),
            "status": dg.MetadataValue.md(markdown_table(status)),
        }
    )


def _fit_status(warehouse: Warehouse, models: list[str] | None) -> pd.DataFrame:
    with warehouse.connect() as con:
        f = con.execute("select * from models.b_fit").df()
    return f if models is None else f[f["model"].isin(models)]


def _r8_levels(warehouse: Warehouse, published: list[str], min_persons: int) -> tuple[int, int]:
    """Levels held by fewer than min_persons persons among published models, and published
    terms whose level is missing from b_levels (a level the check cannot vouch for)."""
    with warehouse.connect() as con:
        con.execute("create temp table _pub as select unnest(?::varchar[]) as model", [published])
        thin = con.execute(
            "select count(*) from models.b_levels l join _pub using (model) where l.persons < ?", [min_persons]
        ).fetchone()[0]
        terms = []
        for t in ("b_rrr", "b_sensitivity"):
            if con.execute(
                "select count(*) from information_schema.columns where table_schema = 'models' "
                "and table_name = ? and column_name = 'term'",
                [t],
            ).fetchone()[0]:
                terms.append(
                    con.execute(f"select distinct model, equation, term from models.{t} join _pub using (model)").df()
                )
        levels = con.execute("select model, variable, level from models.b_levels join _pub using (model)").df()
    unvouched = 0
    have = set(zip(levels["model"], levels["variable"], levels["level"]))
    for frame in terms:
        for m, eq, term in frame.itertuples(index=False):
            if "=" in term:
                v, lv = term.split("=", 1)
                if m == "two_step" and eq == "onward_vs_return":
                    v = "emigrants:" + v
                unvouched += (m, v, lv) not in have
    return int(thin), int(unvouched)


def _check(warehouse: Warehouse, models: list[str] | None) -> dg.AssetCheckResult:
    min_persons, min_df = _thresholds()
    f = _fit_status(warehouse, models)
    pub = f[f["publishable"].astype(bool)]
    not_converged = int((~pub["converged"].astype(bool)).sum())
    low_df = int((pub["df_resid"].fillna(-1) < min_df).sum())
    thin, unvouched = _r8_levels(warehouse, pub["model"].tolist(), min_persons)
    with warehouse.connect() as con:
        nonfinite = 0
        for t in ("b_rrr", "b_sensitivity", "b_ame", "b_income_profile", "b_sensitivity_profile"):
            cols = {
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'models' and table_name = ?",
                    [t],
                ).fetchall()
            }
            col = "estimate" if "estimate" in cols else ("ame" if "ame" in cols else None)
            if col:
                nonfinite += con.execute(
                    f"select count(*) from models.{t} where not isfinite({col}) or not isfinite(std_error)"
                ).fetchone()[0]
    passed = bool(len(f) > 0 and not_converged == 0 and low_df == 0 and thin == 0 and unvouched == 0 and nonfinite == 0)
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "models": len(f),
            "published": len(pub),
            "not_converged": not_converged,
            "residual_df_below": low_df,
            "levels_below_min_persons": thin,
            "terms_without_level_count": unvouched,
            "non_finite_estimates": nonfinite,
            "min_persons_per_level": min_persons,
            "min_residual_df": min_df,
            "not_published": dg.MetadataValue.md(
                markdown_table(f.loc[~f["publishable"].astype(bool), ["model", "problems"]])
            )
            if (~f["publishable"].astype(bool)).any()
            else "none",
        },
    )


@dg.asset_check(
    asset=b_mnl_main,
    blocking=True,
    pool=DUCKDB_POOL,
    description="R8 for the published main model: converged, residual df >= models.min_residual_df, every level "
    "of every categorical regressor and every outcome held by >= models.min_category_persons persons, "
    "finite estimates; an unpublishable model must have published no estimates.",
)
def b_mnl_main_publishable(warehouse: Warehouse) -> dg.AssetCheckResult:
    res = _check(warehouse, ["main"])
    f = _fit_status(warehouse, ["main"])
    if len(f) and not bool(f["publishable"].iloc[0]):
        with warehouse.connect() as con:
            leaked = sum(
                con.execute(f"select count(*) from models.{t}").fetchone()[0]
                for t in ("b_rrr", "b_ame", "b_income_profile")
            )
        return dg.AssetCheckResult(
            passed=bool(leaked == 0 and res.passed), metadata={**res.metadata, "rows_of_unpublishable_model": leaked}
        )
    return res


@dg.asset_check(
    asset=b_sensitivity,
    blocking=True,
    pool=DUCKDB_POOL,
    description="R8 for every published sensitivity run (as b_mnl_main_publishable), and no estimates of a "
    "run that is not publishable.",
)
def b_sensitivity_publishable(warehouse: Warehouse) -> dg.AssetCheckResult:
    runs = [*SENSITIVITY_RUNS, *missing_destination_runs()]
    res = _check(warehouse, runs)
    f = _fit_status(warehouse, runs)
    blocked = f.loc[~f["publishable"].astype(bool), "model"].tolist()
    with warehouse.connect() as con:
        leaked = sum(
            con.execute(
                f"select count(*) from models.{table} where {column} in (select unnest(?::varchar[]))", [blocked]
            ).fetchone()[0]
            for table, column in (("b_sensitivity", "run"), ("b_sensitivity_profile", "model"))
            if blocked
        )
    return dg.AssetCheckResult(
        passed=bool(res.passed and leaked == 0), metadata={**res.metadata, "rows_of_unpublishable_runs": int(leaked)}
    )


study_b_assets = [b_panel, b_mnl_main, b_sensitivity]
study_b_checks = [b_mnl_main_publishable, b_sensitivity_publishable]
