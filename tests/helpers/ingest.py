"""Reading back what ingestion wrote, for tests that compare before and after."""

from __future__ import annotations

from pathlib import Path

from models_py.contracts import DELIVERED_TABLES, ident
from tests.helpers.warehouse import read_only


def raw_snapshot(warehouse: Path) -> dict:
    """Everything ingestion writes (the raw tables, the quarantine, the ingest log without its load timestamps),
    in a comparable form."""
    with read_only(warehouse) as con:
        snap = {t: con.execute(f"select * from raw.{ident(t)} order by all").fetchall() for t in DELIVERED_TABLES}
        snap["quarantine"] = con.execute("select * from raw.quarantine order by all").fetchall()
        snap["ingest_log"] = con.execute("select * exclude (loaded_at) from raw.ingest_log order by all").fetchall()
        return snap
