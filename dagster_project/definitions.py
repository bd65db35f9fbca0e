"""The code location (workspace.yaml loads `dagster_project.definitions`)."""
import dagster as dg

from dagster_project.assets.dbt import dbt_models
from dagster_project.assets.ingest import ingest_assets
from dagster_project.assets.quality import data_quality_summary
from dagster_project.assets.models import emigration_logit, emigration_logit_converged
from dagster_project.assets.report import emigration_report
from dagster_project.checks.ingest_checks import ingest_checks
from dagster_project.checks.quality_checks import quality_checks
from dagster_project.jobs import jobs
from dagster_project.resources import default_resources
from dagster_project.schedules import schedules
from dagster_project.sensors import sensors


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """All definitions; tests pass their own resources (temporary warehouse, landing, reports)."""
    return dg.Definitions(
        assets=[*ingest_assets, data_quality_summary, dbt_models, emigration_logit, emigration_report],
        asset_checks=[*ingest_checks, *quality_checks, emigration_logit_converged],
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources=resources if resources is not None else default_resources(),
        # One process, steps in order: DuckDB allows a single writer. Across runs the `duckdb` pool
        # (dagster_home/dagster.yaml) serializes steps that open the warehouse.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
