"""The ingest step: the five delivered tables (`raw/<table>`), partitioned by register year, loaded
one register year at a time in one transaction (models_py.ingest.ingest_year).

One multi-asset, so that a year's tables are replaced together or not at all; each table keeps its
own asset key, checks and metadata. Before the first year, the restore points that earlier runs
left are settled (models_py.revisions.settle); each year keeps its own restore point, which the
job's hooks restore when a later step fails or release when the report is published (jobs.py).
"""

import dagster as dg

from dagster_project.automation import delivery_fingerprints, fingerprints_metadata
from dagster_project.partitions import DUCKDB_POOL, register_years
from dagster_project.resources import RegisterPaths, Warehouse
from models_py import revisions
from models_py.contracts import DELIVERED_TABLES
from models_py.ingest import DeliveryError, ingest_year

_FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
_RUNNING = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


class DeliveryRefused(Exception):
    """A register year refused by the contract gate: every table's message, the table's own rule first."""


def run_status(instance: dg.DagsterInstance, run_id: str) -> str:
    """ "failed", "running" or "done" ("done" too for a run this instance does not know)."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.status in _FAILED:
        return "failed"
    if run is not None and run.status in _RUNNING:
        return "running"
    return "done"


def refusal_message(register_year: str, refused: dict[str, DeliveryError]) -> str:
    ordered = sorted(refused.values(), key=lambda e: (e.rule == "delivery_complete", DELIVERED_TABLES.index(e.table)))
    return f"register year {register_year} refused, no table of it replaced:\n" + "\n".join(map(str, ordered))


@dg.multi_asset(
    name="ingest",
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey(["raw", table]),
            group_name="ingest",
            kinds={"duckdb", "python"},
            description=f"Delivered table `{table}` loaded into raw.{table} after the contract gate "
            f"(data_contracts/{table}.odcs.yaml). Bad rows go to raw.quarantine.",
        )
        for table in DELIVERED_TABLES
    ],
    partitions_def=register_years,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_POOL,
    can_subset=True,
)
def ingest(context: dg.AssetExecutionContext, warehouse: Warehouse, paths: RegisterPaths):
    tables = [t for t in DELIVERED_TABLES if dg.AssetKey(["raw", t]) in context.selected_asset_keys]
    run_id = context.run.run_id
    for other, done in revisions.settle(warehouse.path, run_id, lambda r: run_status(context.instance, r)).items():
        context.log.warning(f"restore points of run {other} {done} (that run ended without settling them)")
    fingerprints = delivery_fingerprints(paths.landing_dir, list(context.partition_keys))
    totals = {t: {"delivered": 0, "accepted": 0, "quarantined": 0} for t in tables}
    per_year: dict[str, list[str]] = {t: [] for t in tables}
    changes: dict[str, list[str]] = {t: [] for t in tables}
    for key in context.partition_keys:
        outcome = ingest_year(warehouse.path, paths.landing_dir / key, int(key), tables, run_id=run_id)
        refused = {t: r for t, r in outcome.items() if isinstance(r, DeliveryError)}
        if refused:
            raise DeliveryRefused(refusal_message(key, refused))
        for table, result in outcome.items():
            revision = result.revision
            if revision is not None:
                changes[table].append(
                    f"| {key} | {revision.kind} | {revision.rows_added} | {revision.rows_removed} | {revision.rows_changed} |"
                )
            if result.persons_removed_accepted is not None:
                context.log.warning(
                    f"{table} {key}: the re-delivery removes {result.persons_removed_accepted} persons, above the "
                    "threshold, accepted by the operator's setting (logged in raw.accepted_removals)"
                )
            # run.py reads this line for its progress display
            context.log.info(
                f"{table} {key}: delivered {result.delivered}, accepted {result.accepted}, "
                f"quarantined {result.quarantined} {result.quarantined_by_rule or ''}"
            )
            for k in totals[table]:
                totals[table][k] += getattr(result, k)
            per_year[table].append(
                f"| {key} | {result.vintage} | {result.delivered} | {result.accepted} | {result.quarantined} |"
            )
    for table in tables:
        table_md = "| year | vintage | delivered | accepted | quarantined |\n|---|---|---|---|---|\n" + "\n".join(
            per_year[table]
        )
        # counts only: no person-level values ever go into metadata
        revisions_md = "| year | kind | added | removed | changed |\n|---|---|---|---|---|\n" + "\n".join(
            changes[table]
        )
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", table]),
            metadata={
                **totals[table],
                "by_year": dg.MetadataValue.md(table_md),
                "revisions": dg.MetadataValue.md(revisions_md if changes[table] else "no change"),
                **fingerprints_metadata(fingerprints),
            },
        )


ingest_assets = [ingest]
