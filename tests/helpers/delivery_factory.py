"""Tiny hand-made register deliveries with known content, written to the contracts.

Used by the ingestion and corruption tests: each test starts from a valid delivery and breaks one
thing, so the expected outcome is known exactly.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models_py.contracts import delivered_contracts
from models_py.delivery import sha256_file
from models_py.simulator.writer import ARROW_TYPES  # one map: contract type -> Arrow type


def valid_tables(year: int) -> dict[str, pd.DataFrame]:
    """Five persons: three residents (one immigrant), one who emigrates in the year, one who died the year before."""
    d = dt.date
    persons = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4", "P5"],
            "sex": [1, 2, 1, 2, 1],
            "birth_year": [1970, 1985, 1990, 2001, 1930],
            "birth_month": [1, 6, 12, 3, 7],
            "birth_country": ["NOR", "POL", "NOR", "SWE", "NOR"],
            "mother_id": [None, None, None, None, None],
            "father_id": [None, None, None, None, None],
            "mother_birth_country": ["NOR", "POL", "NOR", "SWE", "NOR"],
            "father_birth_country": ["NOR", "POL", "NOR", "SWE", "NOR"],
            "n_foreign_born_grandparents": [0, 4, 0, 4, 0],
            "immigrant_category": ["A", "B", "A", "B", "A"],
            "first_immigration_date": [None, d(year, 2, 1), None, d(2001, 8, 1), None],
            "death_date": [None, None, None, None, d(year - 1, 5, 1)],
        }
    )
    status = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4", "P5"],
            "status": ["resident", "resident", "resident", "resident", "dead"],
            "municipality": ["0301", "1201", "1601", "0301", None],
            "citizenship": ["NOR", "POL", "NOR", "SWE", "NOR"],
            "marital_status": ["married", "never_married", "never_married", "never_married", "widowed"],
            "spouse_id": [None, None, None, None, None],
            "n_children_in_household": [1, 0, 0, 0, 0],
        }
    )
    events = pd.DataFrame(
        {
            "event_id": [f"E{year}-1", f"E{year}-2"],
            "person_id": ["P4", "P2"],
            "direction": ["out", "in"],
            "event_date": [d(year, 8, 15), d(year, 2, 1)],
            "registration_date": [d(year, 9, 1), d(year, 2, 10)],
            "country": ["SWE", "POL"],
            "registration_type": ["reported", "reported"],
            "immigration_reason": [None, "work"],
            "municipality": ["0301", "1201"],
        }
    )
    education = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4"],
            "nus_level": [4, None, 6, 3],
            "enrolled": [False, False, True, True],
        }
    )
    income = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4"],
            "income_year": [year - 1] * 4,
            "wage_income": [550000.0, 380000.0, 120000.0, 90000.0],
            "self_employment_income": [0.0, 0.0, 0.0, 0.0],
            "welfare_benefits": [0.0, 0.0, 15000.0, 0.0],
            "net_wealth": [1200000.0, 50000.0, -20000.0, 0.0],
            "employed": [True, True, True, False],
            "self_employed": [False, False, False, False],
        }
    )
    return {
        "persons": persons,
        "population_status": status,
        "migration_events": events,
        "education": education,
        "income": income,
    }


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    contract = delivered_contracts()[table]
    fields, arrays = [], []
    for col in df.columns:
        try:
            typ = ARROW_TYPES[contract.column(col).physical_type]
        except StopIteration:  # a column the contract does not know (corruption tests)
            typ = None
        values = [None if _missing(v) else v for v in df[col].tolist()]  # pandas 3 turns None into NaN
        arr = pa.array(values, type=typ) if typ is not None else pa.array(values)
        fields.append(pa.field(col, arr.type))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_delivery(
    landing: Path, year: int, tables: dict[str, pd.DataFrame] | None = None, vintage: str | None = None
) -> Path:
    """Write a delivery folder with a correct manifest; returns the folder."""
    tables = valid_tables(year) if tables is None else tables
    folder = Path(landing) / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, df in tables.items():
        path = folder / f"{name}.parquet"
        pq.write_table(to_arrow(name, df) if isinstance(df, pd.DataFrame) else df, path)
        entries[name] = {"file": path.name, "rows": len(df), "sha256": sha256_file(path)}
    manifest = {
        "register_year": year,
        "vintage": vintage or f"{year + 1}-03-31",
        "producer": "tests.helpers.delivery_factory",
        "tables": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def rewrite_manifest(folder: Path, **changes) -> None:
    """Edit the manifest of a delivery (for corruption tests)."""
    path = Path(folder) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
