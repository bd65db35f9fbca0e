"""Withdraw a register year: the way back from a delivery that should never have been registered.

A year whose folder was removed from the landing (a future year, a copy, a delivery sent by
mistake) stays a Dagster partition and keeps its rows in raw.*, so every later run fails on its
missing manifest. Withdrawing it, once its folder is gone:

1. deletes the year's rows from every raw table, its quarantine rows, ingest log entries and any
   pending revision capture, in one transaction, and logs one `raw.revision_log` entry per table
   (kind `withdrawal`, rows_removed = rows it had; for migration_events also
   `raw.revision_emigrations`, emigrations per event year before/after);
2. then (command line and Dagster job) removes the year's dynamic partition registration.

The next run rebuilds dbt, the models and the report without the year. Only counts are logged.

    python -m models_py.withdraw --year 2031          # or: make withdraw YEAR=2031
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from models_py import revisions, settings
from models_py.contracts import DELIVERED_TABLES, ident


class WithdrawError(Exception):
    pass


def withdraw_year(warehouse: Path | str, landing: Path | str, year: int, run_id: str | None = None) -> dict[str, int]:
    """Remove a register year from the warehouse; returns rows removed per table (quarantine included
    under 'quarantine'). Refused while the year's folder is still in the landing (the sensor would
    register it again)."""
    year = int(year)
    folder = Path(landing) / str(year)
    if folder.exists() or folder.is_symlink():
        raise WithdrawError(
            f"register year {year}: its delivery folder {folder} is still in the landing; "
            "remove it first (otherwise the sensor registers and ingests it again)"
        )
    removed: dict[str, int] = {}
    con = duckdb.connect(str(warehouse))
    try:
        for table in DELIVERED_TABLES:
            revisions.ensure_revision_schema(con, table)
        con.execute("begin transaction")
        for table in DELIVERED_TABLES:
            raw = f"raw.{ident(table)}"
            snapshot = revisions._snapshot(table)
            rows = con.execute(f"select count(*) from {raw} where register_year = ?", [year]).fetchone()[0]
            quarantined = con.execute(
                "select count(*) from raw.quarantine where register_year = ? and table_name = ?", [year, table]
            ).fetchone()[0]
            logged = con.execute(
                "select any_value(file_sha256), any_value(vintage) from raw.ingest_log"
                " where register_year = ? and table_name = ?",
                [year, table],
            ).fetchone()
            if rows == 0 and quarantined == 0 and logged[0] is None:
                removed[table] = 0
                continue
            # the snapshot holds the year's rows while the emigrations before/after are counted
            con.execute(f"delete from {snapshot} where register_year = ?", [year])
            con.execute(f"insert into {snapshot} select * from {raw} where register_year = ?", [year])
            con.execute(f"delete from {raw} where register_year = ?", [year])
            con.execute(
                "insert into raw.revision_log values (?, ?, 'withdrawal', ?, null, ?, null, ?, 0, 0, ?, 0, ?, 0,"
                " current_timestamp, ?)",
                [year, table, logged[1], logged[0], rows, rows, quarantined, run_id],
            )
            if table == "migration_events":
                revisions._log_emigrations(con, year, None)
            con.execute(f"delete from {snapshot} where register_year = ?", [year])
            removed[table] = rows
        removed["quarantine"] = con.execute(
            "select count(*) from raw.quarantine where register_year = ?", [year]
        ).fetchone()[0]
        for log in ("raw.quarantine", "raw.ingest_log", "raw.revision_pending", "raw.delivery_signatures"):
            con.execute(f"delete from {log} where register_year = ?", [year])
        revisions.forget_year(con, year)  # a pending restore point must not bring the withdrawn year back
        con.execute("commit")
    except Exception:
        revisions._rollback(con)
        raise
    finally:
        con.close()
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--warehouse", default=str(settings.warehouse_path()))
    parser.add_argument("--landing", default=str(settings.landing_dir()))
    args = parser.parse_args(argv)
    try:
        removed = withdraw_year(args.warehouse, args.landing, args.year, run_id="withdraw-cli")
    except WithdrawError as exc:
        print(f"withdraw refused: {exc}", file=sys.stderr)
        return 2
    # only the command line touches the Dagster instance (DAGSTER_HOME); the partition is the code location's
    import dagster as dg

    from dagster_project.partitions import deregister_year

    with dg.DagsterInstance.get() as instance:
        registered = deregister_year(instance, args.year)
    print(
        f"register year {args.year} withdrawn: rows removed "
        + ", ".join(f"{t} {n}" for t, n in removed.items())
        + f"; partition {'deregistered' if registered else 'was not registered'}. "
        "The next run (make run) rebuilds the tables and the report without it."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
