"""The code location (workspace.yaml loads `dagster_project.definitions`).

Assets and checks are found in the modules of `dagster_project.assets` and `dagster_project.checks`: a new
study module is picked up without being listed here.
"""

import dagster as dg

from dagster_project import assets, checks
from dagster_project.jobs import jobs
from dagster_project.resources import default_resources
from dagster_project.schedules import schedules
from dagster_project.sensors import sensors


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """All definitions; tests pass their own resources (temporary warehouse, landing, reports)."""
    return dg.Definitions(
        assets=dg.load_assets_from_package_module(assets),
        asset_checks=[
            *dg.load_asset_checks_from_package_module(assets),
            *dg.load_asset_checks_from_package_module(checks),
        ],
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources=resources if resources is not None else default_resources(),
        # One process, steps in order: DuckDB allows a single writer. Across runs the `duckdb` pool
        # (dagster_home/dagster.yaml) serializes steps that open the warehouse.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
