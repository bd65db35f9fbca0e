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
from the pending capture and writes the entry once. Re-ingesting an unchanged delivery writes no
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
        pending = con.execute(
            "select count(*) from raw.revision_pending where register_year = ? and table_name = ?",
            [register_year, table],
        ).fetchone()[0]
        if pending:
            con.execute("commit")
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
        con.execute("commit")
        return "captured"
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()


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
        pending = con.execute(
            "select from_sha256, from_vintage, quarantined_before from raw.revision_pending"
            " where register_year = ? and table_name = ?",
            [register_year, table],
        ).fetchone()
        if pending is None:
            con.execute("commit")
            return None
        from_sha, from_vintage, quarantined_before = pending
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
        con.execute(
            "delete from raw.revision_pending where register_year = ? and table_name = ?", [register_year, table]
        )
        con.execute(f"delete from {_snapshot(table)} where register_year = ?", [register_year])
        con.execute("commit")
        return revision
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()


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
