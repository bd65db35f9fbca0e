"""Dagster state between test runs, and fingerprints of what a run left in raw (the runs: tests/helpers/pipeline.py)."""

from __future__ import annotations

import hashlib

from models_py.contracts import DELIVERED_TABLES, ident
from tests.helpers.warehouse import read_only


def clear_defs_state_storage(collect_garbage: bool = False) -> None:
    """Forget the instance registered as current defs-state storage.

    Creating a DagsterInstance registers its defs-state storage in a context variable until the instance is
    disposed, and disposing restores the previous value, which may belong to an instance that has since been
    garbage-collected. Loading definitions then fails with "Attempted to resolve undefined DagsterInstance weakref".
    An instance that was never disposed does the same when the garbage collector finalizes it, at any moment (a
    flaky failure in CI): with collect_garbage, such instances are finalized first, then the variable is cleared.
    Called before every load of the definitions for a run, after every disposed instance, and around each test."""
    import gc

    from dagster._core.storage.defs_state.base import _current_storage

    if collect_garbage:
        gc.collect()
    _current_storage.set(None)


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
