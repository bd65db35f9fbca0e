import dagster as dg

# Everything: ingest (all selected register years in one run), dbt, checks, models, report.
full_rebuild_job = dg.define_asset_job(
    "full_rebuild",
    selection=dg.AssetSelection.all(),
    description="Ingest the selected register years in one run, then rebuild every dbt model, model and the report.",
)

jobs = [full_rebuild_job]
