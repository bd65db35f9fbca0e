"""Make the `duckdb` pool (limit 1) hold across processes on Dagster's SQLite instance storage.

Why: `SqlEventLogStorage.claim_concurrency_slot` checks for a free slot, assigns the step and then
takes the slot row with `select ... for update skip locked`. SQLite has no row locks, so two processes
that claim at the same moment can both see the one free slot and both take it (reproduced: 1 in 10
simultaneous claims). Two warehouse steps then run at once, which the pool exists to prevent. Here
every pool-slot operation of a SQLite storage runs under an exclusive OS file lock beside the
storage's database, so claims and frees of all processes on one instance happen one at a time.
Postgres storage has real row locks and is not touched.

Installed when `dagster_project` is imported, so every process that claims slots has it: the run
workers (they load the code location), `make run` and the tests. The daemon frees slots of ended
runs without importing the project; a free racing a claim can at worst delay that claim until the
next check, never grant a second slot.
"""

import fcntl
import functools
import os
import threading

from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

LOCK_FILE_NAME = ".pool_slots.lock"
SERIALIZED_METHODS = (
    "claim_concurrency_slot",
    "free_concurrency_slot_for_step",
    "free_concurrency_slots_for_run",
    "initialize_concurrency_limit_to_default",
    "set_concurrency_slots",
)
_held = threading.local()  # lock depth per thread: a serialized method may call another one


def _serialized(method):
    @functools.wraps(method)
    def under_file_lock(self, *args, **kwargs):
        if getattr(_held, "depth", 0):
            return method(self, *args, **kwargs)
        with open(os.path.join(self._base_dir, LOCK_FILE_NAME), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes
            _held.depth = 1
            try:
                return method(self, *args, **kwargs)
            finally:
                _held.depth = 0

    under_file_lock.serialized_across_processes = True
    return under_file_lock


def serialize_pool_slots() -> None:
    """Idempotent: wraps each method once per class."""
    for storage_class in (SqliteEventLogStorage, ConsolidatedSqliteEventLogStorage):
        for name in SERIALIZED_METHODS:
            method = getattr(storage_class, name)
            if not getattr(method, "serialized_across_processes", False):
                setattr(storage_class, name, _serialized(method))
