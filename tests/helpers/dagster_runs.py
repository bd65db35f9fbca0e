"""Running the full_rebuild job on a test environment (ephemeral Dagster instance, temporary warehouse)."""

from __future__ import annotations

import hashlib

import dagster as dg

from dagster_project.automation import RANGE_END, RANGE_START
from dagster_project.partitions import PARTITION_NAME
from models_py.contracts import DELIVERED_TABLES, ident
from models_py.delivery import delivery_years
from tests.helpers.warehouse import read_only


def clear_defs_state_storage() -> None:
    """Forget the instance registered as current defs-state storage.

    Creating a DagsterInstance registers its defs-state storage in a context variable until the instance is
    disposed, and disposing restores the previous value, which may belong to an instance that has since been
    garbage-collected. Loading definitions then fails with "Attempted to resolve undefined DagsterInstance weakref".
    Called before every load of the definitions for a run, after every disposed instance, and around each test."""
    from dagster._core.storage.defs_state.base import _current_storage

    _current_storage.set(None)


def run_job(env, selection=None, years=None, log_messages: list | None = None):
    from dagster_project.definitions import build_definitions
    from tests.helpers.pipeline import resources_for  # pipeline.py imports this module: import at call time

    clear_defs_state_storage()
    defs = build_definitions(resources_for(env))
    years = years or delivery_years(env.landing)
    # Dispose the instance when done: it registers itself as the current defs-state storage (a
    # context variable) until disposed, and a later load would find a dead instance there.
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(PARTITION_NAME, delivery_years(env.landing))
        job = defs.resolve_job_def("full_rebuild")
        if selection is not None:
            job = job.get_subset(asset_selection=set(selection.resolve(defs.resolve_asset_graph())))
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START: years[0], RANGE_END: years[-1]}, raise_on_error=False
        )
        if log_messages is not None:
            log_messages.extend(e.user_message for e in instance.all_logs(result.run_id) if e.user_message)
    clear_defs_state_storage()
    return result


def raw_fingerprint(warehouse) -> dict[str, str]:
    with read_only(warehouse) as con:
        return {
            table: hashlib.sha256(
                repr(
                    con.execute(f"select * exclude (vintage) from raw.{ident(table)} order by all").fetchall()
                ).encode()
            ).hexdigest()
            for table in (*DELIVERED_TABLES, "quarantine")
        }


def snapshot(reports):
    """The published report's target folder and every file's bytes (to prove a failed run left it untouched)."""
    latest = (reports / "latest").resolve()
    return latest, {str(p.relative_to(latest)): p.read_bytes() for p in sorted(latest.rglob("*")) if p.is_file()}
