"""The report asset: reads aggregated marts and model tables, applies disclosure control, publishes."""

import tempfile
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.assets.dbt import dbt_models, relation_of
from dagster_project.assets.models import emigration_logit
from dagster_project.assets.quality import data_quality_summary
from dagster_project.partitions import DUCKDB_POOL
from dagster_project.resources import RegisterPaths, Warehouse
from models_py import settings
from models_py.quality.summary import dq_summary, dq_summary_wide
from models_py.report import Exhibit, Report, publish, suppress_small_cells
from models_py.report_figures import line_figure


@dg.asset(
    deps=[get_asset_key_for_model([dbt_models], "rate_emigration_year_sex"), emigration_logit, data_quality_summary],
    group_name="report",
    pool=DUCKDB_POOL,
    kinds={"html"},
    description="HTML report with one CSV per exhibit; published atomically to <reports>/latest.",
)
def emigration_report(context: dg.AssetExecutionContext, warehouse: Warehouse, paths: RegisterPaths) -> dg.MaterializeResult:
    min_count = int(settings.setting("disclosure_min_count"))
    with warehouse.connect() as con:
        rates = con.execute(
            f"select * from {relation_of('rate_emigration_year_sex')} order by population, year, sex"
        ).df()
        coefficients = con.execute("select * from models.emigration_logit").df()
        quality = dq_summary_wide(dq_summary(con))
        vintages = con.execute(
            "select min(register_year), max(register_year), max(vintage) from raw.ingest_log"
        ).fetchone()
    # every count column is subject to disclosure control: the cell's numerator and denominator
    # (with the rate derived from them) and any further count (each on its own)
    details = [c for c in ("administrative_emigrations", "multi_migrant_emigrations") if c in rates.columns]
    rates = suppress_small_cells(rates, ["emigrations", "population_jan1"], min_count, ["rate_per_100"], details)
    with tempfile.TemporaryDirectory() as tmp:
        figure = line_figure(
            rates, x="year", y="rate_per_100", series=["population", "sex"],
            title="Emigrations per 100 residents on 1 January", path=Path(tmp) / "rate_emigration_year_sex.png",
        )
        report = Report(
            title="Emigration from Norway: register pipeline report",
            provenance={
                "register years": f"{vintages[0]}-{vintages[1]} (newest extraction {vintages[2]})",
                "dagster run": context.run.run_id,
                "disclosure control": f"counts between 1 and {min_count - 1} suppressed with the values derived from them",
            },
            exhibits=[
                Exhibit("rate_emigration_year_sex", "Emigration rate by year and sex (study A estimator: 1 January stock)",
                        rates, note="Provisional years are flagged; see the provisional column.", figure_png=figure),
                Exhibit("data_quality", "Data quality per register year", quality,
                        note="Rows delivered = accepted + quarantined (all tables); quarantined rows by the first rule "
                        "they break; shares of the emigrations registered in the year. Provisional years still "
                        "grow with late and administrative registrations."),
                Exhibit("model_emigration_logit", "Logit of emigration on age group and sex (odds ratios)", coefficients.round(6),
                        note="Reference: age 18-34, male."),
            ],
        )
        index = publish(report, paths.reports_dir, context.run.run_id)
    context.log.info(f"report published: {index}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(index)), "rate_rows": len(rates),
                  "suppressed_cells": int(rates["suppressed"].sum())}
    )
