"""One ingest asset per delivered table, partitioned by register year."""

import dagster as dg

from dagster_project.automation import delivery_fingerprints, fingerprints_metadata
from dagster_project.partitions import DUCKDB_POOL, register_years
from dagster_project.resources import RegisterPaths, Warehouse
from models_py import revisions
from models_py.contracts import DELIVERED_TABLES
from models_py.ingest import ingest_table


def build_ingest_asset(table: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=table,
        key_prefix="raw",
        group_name="ingest",
        partitions_def=register_years,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_POOL,
        kinds={"duckdb", "python"},
        description=f"Delivered table `{table}` loaded into raw.{table} after the contract gate "
        f"(data_contracts/{table}.odcs.yaml). Bad rows go to raw.quarantine.",
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: Warehouse, paths: RegisterPaths):
        totals = {"delivered": 0, "accepted": 0, "quarantined": 0}
        per_year = []
        fingerprints = delivery_fingerprints(paths.landing_dir, list(context.partition_keys))
        changes = []
        for key in context.partition_keys:
            # revision log around the replacement (models_py/revisions.py): snapshot, replace, diff
            revisions.capture(warehouse.path, int(key), table)
            result = ingest_table(warehouse.path, paths.landing_dir / key, int(key), table)
            revision = revisions.finalize(warehouse.path, int(key), table, context.run.run_id)
            if revision is not None:
                changes.append(
                    f"| {key} | {revision.kind} | {revision.rows_added} | {revision.rows_removed} | {revision.rows_changed} |"
                )
            if result.persons_removed_accepted is not None:
                context.log.warning(
                    f"{table} {key}: the re-delivery removes {result.persons_removed_accepted} persons, above the "
                    "threshold, accepted by the operator's setting (logged in raw.accepted_removals)"
                )
            context.log.info(
                f"{table} {key}: delivered {result.delivered}, accepted {result.accepted}, "
                f"quarantined {result.quarantined} {result.quarantined_by_rule or ''}"
            )
            for k in totals:
                totals[k] += getattr(result, k)
            per_year.append(
                f"| {key} | {result.vintage} | {result.delivered} | {result.accepted} | {result.quarantined} |"
            )
        table_md = "| year | vintage | delivered | accepted | quarantined |\n|---|---|---|---|---|\n" + "\n".join(
            per_year
        )
        # counts only: no person-level values ever go into metadata
        revisions_md = "| year | kind | added | removed | changed |\n|---|---|---|---|---|\n" + "\n".join(changes)
        return dg.MaterializeResult(
            metadata={
                **totals,
                "by_year": dg.MetadataValue.md(table_md),
                "revisions": dg.MetadataValue.md(revisions_md if changes else "no change"),
                **fingerprints_metadata(fingerprints),
            }
        )

    return _ingest


ingest_assets = [build_ingest_asset(t) for t in DELIVERED_TABLES]
