"""Running the full_rebuild job on a test environment (ephemeral Dagster instance, temporary warehouse)."""

from __future__ import annotations

import hashlib

import dagster as dg
import duckdb

from models_py.contracts import DELIVERED_TABLES
from models_py.delivery import delivery_years
from tests.conftest import resources_for

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def run_job(env, selection=None, years=None, log_messages: list | None = None):
    from dagster_project.definitions import build_definitions

    defs = build_definitions(resources_for(env))
    years = years or delivery_years(env.landing)
    # Dispose the instance when done: it registers itself as the current defs-state storage (a
    # context variable) until disposed, and a later load would find a dead instance there.
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("register_year", delivery_years(env.landing))
        job = defs.resolve_job_def("full_rebuild")
        if selection is not None:
            job = job.get_subset(asset_selection=set(selection.resolve(defs.resolve_asset_graph())))
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START: years[0], RANGE_END: years[-1]}, raise_on_error=False
        )
        if log_messages is not None:
            log_messages.extend(e.user_message for e in instance.all_logs(result.run_id) if e.user_message)
        return result


def raw_fingerprint(warehouse) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in (*DELIVERED_TABLES, "quarantine"):
            rows = con.execute(f"select * exclude (vintage) from raw.{table} order by all").fetchall()
            out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()
