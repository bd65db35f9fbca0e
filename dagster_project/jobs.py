import dagster as dg

from dagster_project.partitions import DUCKDB_POOL, deregister_year
from dagster_project.resources import RegisterPaths, Warehouse

# A failed run changes nothing in raw: each ingested year kept a restore point (models_py/revisions.py).
# When a step fails (a refused delivery, a blocking check, a dbt test, a model), no report can be
# published in this run (every step is upstream of it), so raw goes back to its state before the
# run; when the report is published, the points are dropped. The hooks run in the step's process
# (the in-process executor: no other step of the run holds the warehouse meanwhile). A run launched
# without these hooks (a UI selection) is settled by the next ingestion instead.
REPORT_ASSET = "emigration_report"


@dg.failure_hook(required_resource_keys={"warehouse"})
def restore_raw_on_failure(context: dg.HookContext) -> None:
    from models_py import revisions

    years = revisions.restore(context.resources.warehouse.path, context.run_id)
    if years:
        # the dbt tables this run built are not rolled back: say so, for anyone who reads the warehouse by hand
        context.log.warning(
            f"step {context.step_key} failed: raw restored to its state before the run for {years}; dbt tables "
            "built in this run still reflect the restored-away deliveries until the next run rebuilds them"
        )


@dg.success_hook(required_resource_keys={"warehouse"})
def release_raw_on_publish(context: dg.HookContext) -> None:
    from models_py import revisions

    if context.op.name == REPORT_ASSET:
        revisions.release(context.resources.warehouse.path, context.run_id)


RAW_HOOKS = {restore_raw_on_failure, release_raw_on_publish}

# Everything: ingest (all selected register years in one run), dbt, checks, models, report.
# The sensor and the nightly schedule launch this job for the years they select; `make run` and a
# backfill launch it over a range of years (single-run backfill policy: one run, not one per year).
full_rebuild_job = dg.define_asset_job(
    "full_rebuild",
    selection=dg.AssetSelection.all(),
    description="Ingest the selected register years in one run, then rebuild every dbt model, model and the report.",
    hooks=RAW_HOOKS,
)

# Everything built from the raw tables (no ingestion, no partitions): after a change of dbt models,
# settings, seeds or model code, when the deliveries themselves did not change.
rebuild_downstream_job = dg.define_asset_job(
    "rebuild_downstream",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ingest"),
    description="Rebuild every dbt model, model and the report from the raw tables already ingested.",
)


# Withdraw a register year whose folder was removed from the landing (models_py/withdraw.py): its rows
# leave raw.* (logged in raw.revision_log), then its partition is deregistered; the next full_rebuild
# or rebuild_downstream run publishes without it. Launch from the UI with config {ops: {withdraw_year:
# {config: {year: 2031}}}}, or `make withdraw YEAR=2031`.
class WithdrawConfig(dg.Config):
    year: int


@dg.op(pool=DUCKDB_POOL, description="Remove a register year's rows from raw.* and deregister its partition.")
def withdraw_year(
    context: dg.OpExecutionContext, config: WithdrawConfig, warehouse: Warehouse, paths: RegisterPaths
) -> None:
    from models_py.withdraw import withdraw_year as withdraw

    removed = withdraw(warehouse.path, paths.landing_dir, config.year, run_id=context.run_id)
    deregister_year(context.instance, config.year)
    context.log.info(f"register year {config.year} withdrawn; rows removed (counts): {removed}")


@dg.job(description="Withdraw a register year whose delivery folder is gone: rows, quarantine and partition.")
def withdraw_register_year():
    withdraw_year()


jobs = [full_rebuild_job, rebuild_downstream_job, withdraw_register_year]
