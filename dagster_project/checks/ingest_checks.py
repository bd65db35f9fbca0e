"""Blocking checks on the ingest assets: nothing delivered is lost."""

import dagster as dg

from dagster_project.partitions import DUCKDB_POOL, register_years
from dagster_project.resources import RegisterPaths, Warehouse
from models_py.contracts import DELIVERED_TABLES
from models_py.delivery import read_manifest
from models_py.ingest import reconcile


def _partition_keys(context: dg.AssetCheckExecutionContext) -> list[str]:
    return list(context.partition_keys) if context.has_partition_key_range else [context.partition_key]


def build_balance_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", table]),
        name="delivered_equals_accepted_plus_quarantined",
        partitions_def=register_years,
        blocking=True,
        pool=DUCKDB_POOL,
        description="For each register year: rows in the manifest = rows in raw.<table> + rows in raw.quarantine.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, paths: RegisterPaths):
        rows, failed = [], []
        with warehouse.connect() as con:
            for key in _partition_keys(context):
                manifest_rows = read_manifest(paths.landing_dir / key)["tables"][table]["rows"]
                counts = reconcile(con, int(key), table)
                ok = manifest_rows == counts["accepted"] + counts["quarantined"]
                rows.append(
                    f"| {key} | {manifest_rows} | {counts['accepted']} | {counts['quarantined']} | {'ok' if ok else 'LOST'} |"
                )
                if not ok:
                    failed.append(key)
        return dg.AssetCheckResult(
            passed=not failed,
            metadata={
                "years_failed": ", ".join(failed) or "none",
                "balance": dg.MetadataValue.md(
                    "| year | manifest | accepted | quarantined | |\n|---|---|---|---|---|\n" + "\n".join(rows)
                ),
            },
        )

    return _check


ingest_checks = [build_balance_check(t) for t in DELIVERED_TABLES]
