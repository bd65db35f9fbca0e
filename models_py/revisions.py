"""The revision log: what a (re-)delivery of a register year changed in the warehouse.

A register year can be re-delivered (new vintage, new checksums), and every new register year adds
late-registered events to earlier event years. Around each ingestion of one table-year:

1. `capture()` copies the year's current rows of `raw.<table>` into `raw._revision_before_<table>`
   and writes a `raw.revision_pending` row (the ingested checksum, vintage and quarantine count
   before), in one transaction. If a pending capture already exists (an earlier attempt was killed
   or failed), it is kept: it still describes the state before the first attempt.
2. the ingestion gate replaces the year's rows (`models_py.ingest.ingest_table`, its own transaction);
3. `finalize()` compares the snapshot with the new rows by the contract's primary key and writes
   `raw.revision_log` (rows added, removed, changed) and, for migration_events,
   `raw.revision_emigrations` (emigrations per event year in the whole warehouse before and after),
   then drops the snapshot and the pending row, all in one transaction.

A run killed at any point therefore neither loses nor duplicates a log entry: the next run resumes
from the pending capture and writes the entry once. The Dagster ingestion (`ingest_year` with a
run id) does all three inside the year's one transaction (capture_in, finalize_in). Re-ingesting an unchanged delivery writes no
entry. Only counts are logged; no person-level value leaves the raw tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from models_py.contracts import delivered_contracts, ident
from models_py.warehouse import connect as warehouse_connect

LOG_DDL = (
    "create table if not exists raw.revision_log (register_year SMALLINT, table_name VARCHAR, kind VARCHAR,"
    " from_vintage DATE, to_vintage DATE, from_sha256 VARCHAR, to_sha256 VARCHAR, rows_before BIGINT,"
    " rows_after BIGINT, rows_added BIGINT, rows_removed BIGINT, rows_changed BIGINT,"
    " quarantined_before BIGINT, quarantined_after BIGINT, recorded_at TIMESTAMP, run_id VARCHAR)",
    "create table if not exists raw.revision_emigrations (register_year SMALLINT, to_sha256 VARCHAR,"
    " event_year SMALLINT, registration_type VARCHAR, emigrations_before BIGINT, emigrations_after BIGINT,"
    " recorded_at TIMESTAMP)",
    "create table if not exists raw.revision_pending (register_year SMALLINT, table_name VARCHAR,"
    " from_sha256 VARCHAR, from_vintage DATE, quarantined_before BIGINT, captured_at TIMESTAMP)",
)


@dataclass(frozen=True)
class Revision:
    register_year: int
    table: str
    kind: str  # initial | revision | reingest (same file, different result: contract rules changed);
    # models_py/withdraw.py logs kind withdrawal
    rows_before: int
    rows_after: int
    rows_added: int
    rows_removed: int
    rows_changed: int


def _snapshot(table: str) -> str:
    return f"raw.{ident('_revision_before_' + table)}"


def ensure_revision_schema(con, table: str) -> None:
    """The log tables, and the table's snapshot table (same columns as raw.<table>)."""
    from models_py.ingest import ensure_raw_schema

    ensure_raw_schema(con, delivered_contracts())
    for ddl in LOG_DDL:
        con.execute(ddl)
    con.execute(f"create table if not exists {_snapshot(table)} as select * from raw.{ident(table)} where false")


def capture(warehouse: Path | str, register_year: int, table: str) -> str:
    """Snapshot the year's rows before ingestion. Returns 'captured' or 'resumed' (kept an earlier capture)."""
    con = warehouse_connect(warehouse)
    try:
        ensure_revision_schema(con, table)
        con.execute("begin transaction")
        outcome = capture_in(con, register_year, table)
        con.execute("commit")
        return outcome
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()


def capture_in(con, register_year: int, table: str) -> str:
    """capture() inside the caller's transaction (ensure_revision_schema done)."""
    pending = con.execute(
        "select count(*) from raw.revision_pending where register_year = ? and table_name = ?",
        [register_year, table],
    ).fetchone()[0]
    if pending:
        return "resumed"
    con.execute(
        "insert into raw.revision_pending select ?, ?,"
        " (select any_value(file_sha256) from raw.ingest_log where register_year = ? and table_name = ?),"
        " (select any_value(vintage) from raw.ingest_log where register_year = ? and table_name = ?),"
        " (select count(*) from raw.quarantine where register_year = ? and table_name = ?), current_timestamp",
        [register_year, table] * 4,
    )
    con.execute(f"delete from {_snapshot(table)} where register_year = ?", [register_year])
    con.execute(
        f"insert into {_snapshot(table)} select * from raw.{ident(table)} where register_year = ?", [register_year]
    )
    return "captured"


def diff_counts(con, register_year: int, table: str) -> dict[str, int]:
    """Rows added, removed and changed (by primary key) between the snapshot and raw.<table> for a year."""
    contract = delivered_contracts()[table]
    key = [ident(k) for k in contract.key]
    on = " and ".join(f"o.{k} = n.{k}" for k in key)
    differs = (
        " or ".join(
            f"o.{ident(c.name)} is distinct from n.{ident(c.name)}"
            for c in contract.columns
            if c.name not in contract.key
        )
        or "false"
    )
    old = f"(select * from {_snapshot(table)} where register_year = $year)"
    new = f"(select * from raw.{ident(table)} where register_year = $year)"
    row = con.execute(
        f"select (select count(*) from {old}), (select count(*) from {new}),"
        f" (select count(*) from {new} n anti join {old} o on {on}),"
        f" (select count(*) from {old} o anti join {new} n on {on}),"
        f" (select count(*) from {old} o join {new} n on {on} where {differs})",
        {"year": int(register_year)},
    ).fetchone()
    return dict(zip(("rows_before", "rows_after", "rows_added", "rows_removed", "rows_changed"), row))


def finalize(warehouse: Path | str, register_year: int, table: str, run_id: str | None = None) -> Revision | None:
    """After ingestion: write the log entry (if anything changed) and clear the capture, in one transaction."""
    con = warehouse_connect(warehouse)
    try:
        ensure_revision_schema(con, table)
        con.execute("begin transaction")
        revision = finalize_in(con, register_year, table, run_id)
        con.execute("commit")
        return revision
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()


def finalize_in(con, register_year: int, table: str, run_id: str | None = None) -> Revision | None:
    """finalize() inside the caller's transaction."""
    pending = con.execute(
        "select from_sha256, from_vintage, quarantined_before from raw.revision_pending"
        " where register_year = ? and table_name = ?",
        [register_year, table],
    ).fetchall()
    if not pending:
        return None
    from_sha, from_vintage, quarantined_before = pending[0]
    to_sha, to_vintage = con.execute(
        "select any_value(file_sha256), any_value(vintage) from raw.ingest_log where register_year = ? and table_name = ?",
        [register_year, table],
    ).fetchone()
    quarantined_after = con.execute(
        "select count(*) from raw.quarantine where register_year = ? and table_name = ?", [register_year, table]
    ).fetchone()[0]
    counts = diff_counts(con, register_year, table)
    changed = (
        counts["rows_added"]
        or counts["rows_removed"]
        or counts["rows_changed"]
        or quarantined_before != quarantined_after
    )
    kind = "initial" if from_sha is None else ("revision" if from_sha != to_sha else "reingest")
    revision = None
    if from_sha != to_sha or changed:
        con.execute(
            "insert into raw.revision_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp, ?)",
            [
                register_year,
                table,
                kind,
                from_vintage,
                to_vintage,
                from_sha,
                to_sha,
                counts["rows_before"],
                counts["rows_after"],
                counts["rows_added"],
                counts["rows_removed"],
                counts["rows_changed"],
                quarantined_before,
                quarantined_after,
                run_id,
            ],
        )
        if table == "migration_events":
            _log_emigrations(con, register_year, to_sha)
        revision = Revision(register_year, table, kind, **counts)
    con.execute("delete from raw.revision_pending where register_year = ? and table_name = ?", [register_year, table])
    con.execute(f"delete from {_snapshot(table)} where register_year = ?", [register_year])
    return revision


def _log_emigrations(con, register_year: int, to_sha: str) -> None:
    """Emigrations per event year and registration type in the whole warehouse, before and after."""
    out = "direction = 'out'"
    con.execute(
        f"""
        insert into raw.revision_emigrations
        with others as (
            select year(event_date) as y, registration_type as t, count(*) as n from raw.migration_events
            where {out} and register_year <> $1 group by all),
        old as (
            select year(event_date) as y, registration_type as t, count(*) as n from {_snapshot("migration_events")}
            where {out} and register_year = $1 group by all),
        new as (
            select year(event_date) as y, registration_type as t, count(*) as n from raw.migration_events
            where {out} and register_year = $1 group by all),
        touched as (select y, t from old union select y, t from new)
        select $1, $2, touched.y, touched.t,
               coalesce(others.n, 0) + coalesce(old.n, 0), coalesce(others.n, 0) + coalesce(new.n, 0), current_timestamp
        from touched
        left join others on others.y = touched.y and others.t is not distinct from touched.t
        left join old on old.y = touched.y and old.t is not distinct from touched.t
        left join new on new.y = touched.y and new.t is not distinct from touched.t
        order by touched.y, touched.t
        """,
        [register_year, to_sha],
    )


def _rollback(con) -> None:
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass


def revision_log(warehouse: Path | str) -> pandas.DataFrame:  # noqa: F821
    """The log, newest first (for people and tests)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select * from raw.revision_log order by recorded_at desc, register_year, table_name").df()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# Restore points: a failed run changes nothing in raw.
#
# Before a run replaces a register year (in the year's ingestion transaction), every raw table
# with a register_year column (the five delivered tables, quarantine, ingest and revision logs,
# signatures, accepted removals) has that year's rows copied into raw._restore_<table>, tagged
# with the run. The point is released when the run publishes its report and restored when a step
# of the run fails (dagster_project/jobs.py hooks); points a run left behind (killed, or launched
# without the hooks) are settled when the next ingestion starts (settle()).
# ---------------------------------------------------------------------------------------------
POINTS = "raw.restore_points"
_NOT_RESTORED = ("restore_points", "revision_pending")  # bookkeeping, not state


def _restore_table(table: str) -> str:
    return f"raw.{ident('_restore_' + table)}"


def _restorable(con) -> list[str]:
    """The raw tables that hold per-register-year state."""
    rows = con.execute(
        "select distinct table_name from information_schema.columns where table_schema = 'raw'"
        " and column_name = 'register_year' and not starts_with(table_name, '_') order by 1"
    ).fetchall()
    return [name for (name,) in rows if name not in _NOT_RESTORED]


def _ensure_points(con) -> None:
    con.execute(f"create table if not exists {POINTS} (run_id VARCHAR, register_year SMALLINT, created_at TIMESTAMP)")


def keep_restore_point(con, run_id: str, register_year: int) -> bool:
    """Inside the caller's transaction, before the year's rows change: copy the year's raw state,
    once per run and year. Returns False when the run already kept one for the year."""
    _ensure_points(con)
    if con.execute(
        f"select count(*) from {POINTS} where run_id = ? and register_year = ?", [run_id, register_year]
    ).fetchall()[0][0]:
        return False
    fresh = not con.execute(f"select count(*) from {POINTS}").fetchall()[0][0]
    for table in _restorable(con):
        snap, source = _restore_table(table), f"raw.{ident(table)}"
        # no point pending: (re)create the copy so that it follows the table's current columns
        verb = "create or replace table" if fresh else "create table if not exists"
        con.execute(f"{verb} {snap} as select ''::VARCHAR as _restore_run, * from {source} where false")
        con.execute(
            f"insert into {snap} by name select ? as _restore_run, * from {source} where register_year = ?",
            [run_id, register_year],
        )
    con.execute(f"insert into {POINTS} values (?, ?, current_timestamp)", [run_id, register_year])
    return True


def _tables(con) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }


def _drop_points(con, run_id: str) -> None:
    tables = _tables(con)
    for table in tables:
        if table.startswith("_restore_"):
            con.execute(f"delete from raw.{ident(table)} where _restore_run = ?", [run_id])
    con.execute(f"delete from {POINTS} where run_id = ?", [run_id])


def forget_year(con, register_year: int) -> None:
    """Inside the caller's transaction: drop every restore point of a register year (a withdrawn year)."""
    tables = _tables(con)
    if "restore_points" not in tables:
        return
    for table in tables:
        if table.startswith("_restore_"):
            con.execute(f"delete from raw.{ident(table)} where register_year = ?", [register_year])
    con.execute(f"delete from {POINTS} where register_year = ?", [register_year])


def restore(warehouse: Path | str, run_id: str) -> list[int]:
    """Put back the raw state of every register year the run changed, as it was before the run, in
    one transaction; returns the years restored. A year that a later run has changed since (a newer
    point) keeps the later run's state."""
    if not Path(warehouse).exists():  # a run that failed before any warehouse existed
        return []
    con = warehouse_connect(warehouse)
    try:
        if "restore_points" not in _tables(con):
            return []
        con.execute("begin transaction")
        years = [
            int(y)
            for (y,) in con.execute(
                f"select register_year from {POINTS} p where run_id = ? and not exists (select 1 from {POINTS} q"
                " where q.register_year = p.register_year and q.run_id <> p.run_id and q.created_at > p.created_at)"
                " order by 1",
                [run_id],
            ).fetchall()
        ]
        tables = _tables(con)
        for year in years:
            for table in _restorable(con):
                con.execute(f"delete from raw.{ident(table)} where register_year = ?", [year])
                if "_restore_" + table in tables:  # a table made after the point held nothing of the year
                    con.execute(
                        f"insert into raw.{ident(table)} by name select * exclude (_restore_run)"
                        f" from {_restore_table(table)} where _restore_run = ? and register_year = ?",
                        [run_id, year],
                    )
        _drop_points(con, run_id)
        con.execute("commit")
        return years
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()


def release(warehouse: Path | str, run_id: str) -> None:
    """The run published: its state is the last good one, drop its restore points."""
    if not Path(warehouse).exists():
        return
    con = warehouse_connect(warehouse)
    try:
        if "restore_points" not in _tables(con):
            return
        con.execute("begin transaction")
        _drop_points(con, run_id)
        con.execute("commit")
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()


def pending_runs(warehouse: Path | str) -> list[str]:
    """Runs that left restore points, oldest first."""
    if not Path(warehouse).exists():
        return []
    con = warehouse_connect(warehouse)
    try:
        if "restore_points" not in _tables(con):
            return []
        return [
            r
            for (r,) in con.execute(f"select run_id from {POINTS} group by run_id order by min(created_at)").fetchall()
        ]
    finally:
        con.close()


def settle(warehouse: Path | str, current_run: str, status_of) -> dict[str, str]:
    """Settle the points other runs left: `status_of(run_id)` says "failed" (killed or failed: restore),
    "running" (leave them) or anything else (finished without failing, or unknown: release, keeping
    raw as it is). Returns run_id -> what was done."""
    done = {}
    for run_id in pending_runs(warehouse):
        if run_id == current_run:
            continue
        status = status_of(run_id)
        if status == "failed":
            restore(warehouse, run_id)
            done[run_id] = "restored"
        elif status != "running":
            release(warehouse, run_id)
            done[run_id] = "released"
    return done
