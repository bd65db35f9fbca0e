"""Statistical model assets: thin wrappers that read a mart, call models_py, store aggregates."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.assets.dbt import dbt_models, relation_of
from dagster_project.partitions import DUCKDB_POOL
from dagster_project.resources import Warehouse
from models_py.publish.site import markdown_table
from models_py.stats.emigration_logit import fit_cell_logit

# Study A's age groups (Table A2) come from the panel (dbt macro age_group_a, age on 1 January).
AGE_LEVELS = ["18-34", "0-6", "7-17", "35-62", "63-70", "71+"]  # first = reference
SEX_LEVELS = ["male", "female"]


@dg.asset(
    deps=[get_asset_key_for_model([dbt_models], "fct_person_year")],
    group_name="models",
    pool=DUCKDB_POOL,
    kinds={"statsmodels"},
    description="Logit of emigration in a person-year on age group (study A Table A2, age on 1 January) and sex; "
    "fitted on aggregated cells of fct_person_year (identical to the person-level fit).",
)
def emigration_logit(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        cells = con.execute(
            f"select age_group_a as age_group, case sex when 1 then 'male' else 'female' end as sex,"
            f" count(*) as n, sum(emigrated) as events from {relation_of('fct_person_year')} group by all order by all"
        ).df()
        coefficients = fit_cell_logit(cells, {"age_group": AGE_LEVELS, "sex": SEX_LEVELS})
        con.execute("create schema if not exists models")
        con.register("coefficients_df", coefficients)
        con.execute("create or replace table models.emigration_logit as select * from coefficients_df")
    return dg.MaterializeResult(
        metadata={
            "person_years": coefficients.attrs["person_years"],
            "events": coefficients.attrs["events"],
            "converged": coefficients.attrs["converged"],
            "coefficients": dg.MetadataValue.md(markdown_table(coefficients[["term", "estimate", "std_error", "odds_ratio"]])),
        }
    )


@dg.asset_check(asset=emigration_logit, blocking=True, pool=DUCKDB_POOL,
                description="The fit converged and every coefficient and standard error is finite.")
def emigration_logit_converged(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=False) as con:
        bad = con.execute(
            "select count(*) from models.emigration_logit where not isfinite(estimate) or not isfinite(std_error)"
        ).fetchone()[0]
        n = con.execute("select count(*) from models.emigration_logit").fetchone()[0]
    return dg.AssetCheckResult(passed=bool(n > 0 and bad == 0), metadata={"terms": n, "non_finite": bad})
