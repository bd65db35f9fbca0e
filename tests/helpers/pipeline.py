"""The pipeline under test: a folder triple, the resources, the jobs, and a run over some register years."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from dagster_project.partitions import PARTITION_NAME
from models_py.delivery import delivery_years
from tests.helpers.dagster_runs import clear_defs_state_storage

# A tiny register: enough people for every table and some emigrations, fast enough for CI.
TINY = {"scale": 0.001, "first_year": 1996, "last_year": 2004, "seed": 7}


@dataclass
class PipelineEnv:
    landing: Path
    warehouse: Path
    reports: Path


def resources_for(env: PipelineEnv) -> dict:
    from dagster_project.resources import RegisterPaths, Warehouse, dbt_resource

    return {
        "warehouse": Warehouse(path=str(env.warehouse)),
        "paths": RegisterPaths(landing=str(env.landing), reports=str(env.reports)),
        "dbt": dbt_resource(),
    }


def _definitions(env: PipelineEnv, mode: str) -> dg.Definitions:
    """mode "full": the project's definitions (full_rebuild job). mode "ingest": the same ingest assets and balance
    checks (same code, same pool) in a lean code location without dbt, GX and statsmodels, so that the tests'
    subprocesses start in seconds."""
    if mode == "full":
        from dagster_project.definitions import build_definitions

        return build_definitions(resources_for(env))
    from dagster_project.assets.ingest import ingest_assets
    from dagster_project.checks.ingest_checks import ingest_checks
    from dagster_project.resources import RegisterPaths, Warehouse

    return dg.Definitions(
        assets=ingest_assets,
        asset_checks=ingest_checks,
        jobs=[dg.define_asset_job("ingest_years", selection=dg.AssetSelection.all())],
        resources={
            "warehouse": Warehouse(path=str(env.warehouse)),
            "paths": RegisterPaths(landing=str(env.landing), reports=str(env.reports)),
        },
        executor=dg.in_process_executor,
    )


def run_years(
    env: PipelineEnv,
    years: list[str] | None = None,
    instance=None,
    mode: str = "full",
    selection: dg.AssetSelection | None = None,
    log_messages: list | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the pipeline as `make run` starts it (same tags), over `years` (default: every delivered year),
    on `instance` (default: an ephemeral one, disposed after). `selection` runs a subset of the job's assets;
    `log_messages` receives the run's user-facing log lines."""
    from dagster_project.automation import full_rebuild_tags

    clear_defs_state_storage(collect_garbage=True)  # see tests/helpers/dagster_runs.py
    years = years or delivery_years(env.landing)
    defs = _definitions(env, mode)
    job = defs.resolve_job_def("full_rebuild" if mode == "full" else "ingest_years")
    if selection is not None:
        job = job.get_subset(asset_selection=set(selection.resolve(defs.resolve_asset_graph())))
    own = instance is None
    instance = instance or dg.DagsterInstance.ephemeral()
    known = set(instance.get_dynamic_partitions(PARTITION_NAME))
    instance.add_dynamic_partitions(PARTITION_NAME, [y for y in delivery_years(env.landing) if y not in known])
    try:
        result = job.execute_in_process(
            instance=instance, tags=full_rebuild_tags([years[0], years[-1]]), raise_on_error=False
        )
        if log_messages is not None:
            log_messages.extend(e.user_message for e in instance.all_logs(result.run_id) if e.user_message)
        return result
    finally:
        if own:
            instance.dispose()
            clear_defs_state_storage()
