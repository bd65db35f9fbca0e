"""The nightly rebuild: at 02:00 (Oslo), rebuild what is stale, and only that.

Stale, decided from the instance and the landing folder (never by opening the warehouse):
- a registered year whose delivery (manifest fingerprint) or ingestion code (contracts, gate,
  classifications) differs from those of its last ingestion: `full_rebuild` for those years (one run
  per contiguous block), which also rebuilds everything downstream;
- otherwise, if the report is older than the last ingestion or was built by other transformation code
  (dbt models, seeds, settings, model/report code): `full_rebuild` restricted to the unpartitioned
  assets (the dbt build, models, report) - no year is re-ingested;
- otherwise nothing (a SkipReason says why). A full rebuild of every year is always one command
  (`make run`, or the UI's backfill of all partitions of full_rebuild).
Why not rebuild everything every night: at full scale re-ingesting 34 years re-reads ~10^8 rows that
did not change, and ingestion is a no-op on unchanged deliveries anyway.
"""

import dagster as dg

from dagster_project.automation import (
    TAG_INGEST_CODE,
    TAG_TRANSFORM_CODE,
    TAG_TRIGGER,
    code_fingerprints,
    plan_nightly,
    run_request,
)
from dagster_project.jobs import full_rebuild_job
from dagster_project.resources import RegisterPaths


@dg.schedule(
    name="nightly_rebuild",
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Oslo",
    job=full_rebuild_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Each night: re-ingest stale register years and rebuild the dbt models, models and report if stale.",
)
def nightly_rebuild(context: dg.ScheduleEvaluationContext, paths: RegisterPaths):
    plan = plan_nightly(context.instance, paths.landing_dir)
    context.log.info(plan.message)
    night = context.scheduled_execution_time.strftime("%Y-%m-%d")
    code = code_fingerprints()
    if plan.stale_years:
        return [
            run_request(group, plan.delivered, plan.order, "nightly", f"nightly-{night}-{group[0]}-{group[-1]}", code)
            for group in plan.groups
        ]
    if plan.downstream_reason:
        downstream = (dg.AssetSelection.all() - dg.AssetSelection.groups("ingest")).resolve(
            context.repository_def.asset_graph
        )
        return dg.RunRequest(
            run_key=f"nightly-{night}-downstream",
            asset_selection=sorted(downstream, key=lambda k: k.to_user_string()),
            tags={TAG_TRIGGER: "nightly", TAG_INGEST_CODE: code["ingest"], TAG_TRANSFORM_CODE: code["transform"]},
        )
    return dg.SkipReason(plan.message)


schedules: list = [nightly_rebuild]
