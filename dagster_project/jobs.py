import dagster as dg

# Everything: ingest (all selected register years in one run), dbt, checks, models, report.
# The sensor and the nightly schedule launch this job for the years they select; `make run` and a
# backfill launch it over a range of years (single-run backfill policy: one run, not one per year).
full_rebuild_job = dg.define_asset_job(
    "full_rebuild",
    selection=dg.AssetSelection.all(),
    description="Ingest the selected register years in one run, then rebuild every dbt model, model and the report.",
)

# Everything built from the raw tables (no ingestion, no partitions): after a change of dbt models,
# settings, seeds or model code, when the deliveries themselves did not change.
rebuild_downstream_job = dg.define_asset_job(
    "rebuild_downstream",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ingest"),
    description="Rebuild every dbt model, model and the report from the raw tables already ingested.",
)

jobs = [full_rebuild_job, rebuild_downstream_job]
