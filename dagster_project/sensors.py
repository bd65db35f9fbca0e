"""The landing-folder sensor: a new or revised register-year delivery is registered and run, once.

Each tick lists the year folders with a manifest (models_py.delivery), fingerprints each delivery by
the sha256 of its manifest, and compares with the cursor (year -> fingerprint already requested).
For new or changed deliveries it returns, in one SensorResult:
- a dynamic-partition add request for years not yet registered;
- one run of `full_rebuild` per contiguous block of changed years (partition order): ingest those
  years only, then the whole (unpartitioned) dbt build, models and report, which also recomputes the
  look-ahead flags of the earlier years (tag register/reflagged_years);
- the run_key `delivery-<years>-<hash of year:fingerprint>`, so a delivery never runs twice even if
  the cursor were lost, and the updated cursor.
Each tick also fails runs whose process was killed and frees the pool slot they held
(automation.recover_orphaned_runs). Deliveries still being copied (a listed file missing, or a file modified within
REGISTER_SENSOR_SETTLE_SECONDS, default 60) wait for a later tick.
"""

import json

import dagster as dg

from dagster_project.automation import cursor_loads, plan_delivery_runs, recover_orphaned_runs, settle_seconds
from dagster_project.jobs import full_rebuild_job
from dagster_project.partitions import register_years
from dagster_project.resources import RegisterPaths


@dg.sensor(
    name="register_delivery_sensor",
    job=full_rebuild_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers and runs every new or revised register-year delivery in the landing folder, once.",
)
def register_delivery_sensor(context: dg.SensorEvaluationContext, paths: RegisterPaths):
    for run_id in recover_orphaned_runs(context.instance):  # killed runs would hold the duckdb slot
        context.log.warning(f"run {run_id} had died with its process: marked failed, pool slot freed")
    plan = plan_delivery_runs(
        context.instance, paths.landing_dir, cursor_loads(context.cursor), settle=settle_seconds()
    )
    context.log.info(plan.message)
    cursor = json.dumps(plan.cursor, sort_keys=True)
    if not plan.run_requests:
        return dg.SensorResult(skip_reason=plan.message, cursor=cursor)
    return dg.SensorResult(
        run_requests=plan.run_requests,
        dynamic_partitions_requests=[register_years.build_add_request(plan.new_years)] if plan.new_years else [],
        cursor=cursor,
    )


sensors: list = [register_delivery_sensor]
