"""Deterministic Parquet + manifest writing, with the column types of the data contracts."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from models_py.delivery import sha256_file  # the checksum ingestion verifies the manifest with

TABLE_ORDER = ("persons", "population_status", "migration_events", "education", "income")

SCHEMAS = {
    "persons": pa.schema([("person_id", pa.string()), ("sex", pa.int8()), ("birth_year", pa.int16()),
                          ("birth_month", pa.int8()), ("birth_country", pa.string()), ("mother_id", pa.string()),
                          ("father_id", pa.string()), ("mother_birth_country", pa.string()),
                          ("father_birth_country", pa.string()), ("n_foreign_born_grandparents", pa.int8()),
                          ("immigrant_category", pa.string()), ("first_immigration_date", pa.date32()),
                          ("death_date", pa.date32())]),
    "population_status": pa.schema([("person_id", pa.string()), ("status", pa.string()), ("municipality", pa.string()),
                                    ("citizenship", pa.string()), ("marital_status", pa.string()),
                                    ("spouse_id", pa.string()), ("n_children_in_household", pa.int8())]),
    "migration_events": pa.schema([("event_id", pa.string()), ("person_id", pa.string()), ("direction", pa.string()),
                                   ("event_date", pa.date32()), ("registration_date", pa.date32()),
                                   ("country", pa.string()), ("registration_type", pa.string()),
                                   ("immigration_reason", pa.string()), ("municipality", pa.string())]),
    "education": pa.schema([("person_id", pa.string()), ("nus_level", pa.int8()), ("enrolled", pa.bool_())]),
    "income": pa.schema([("person_id", pa.string()), ("income_year", pa.int16()), ("wage_income", pa.float64()),
                         ("self_employment_income", pa.float64()), ("welfare_benefits", pa.float64()),
                         ("net_wealth", pa.float64()), ("employed", pa.bool_()), ("self_employed", pa.bool_())]),
}
REQUIRED = {  # non-nullable columns per contract (required: true)
    "persons": {"person_id", "sex", "birth_year", "birth_month", "birth_country", "n_foreign_born_grandparents", "immigrant_category"},
    "population_status": {"person_id", "status", "citizenship", "marital_status", "n_children_in_household"},
    "migration_events": {"event_id", "person_id", "direction", "event_date", "registration_date", "registration_type"},
    "education": {"person_id", "enrolled"},
    "income": set(SCHEMAS["income"].names),
}




def write_table(name: str, cols: dict, path: Path) -> int:
    schema = SCHEMAS[name]
    arrays = []
    for f in schema:
        a = cols[f.name]
        if not isinstance(a, (pa.Array, pa.ChunkedArray)):
            a = pa.array(a, type=f.type)
        elif a.type != f.type:
            a = a.cast(f.type)
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        arrays.append(a)
    fields = [pa.field(f.name, f.type, nullable=f.name not in REQUIRED[name]) for f in schema]
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    # fixed writer options -> byte-identical files for identical content (no timestamps are written)
    pq.write_table(table, path, compression="zstd", compression_level=3, use_dictionary=True,
                   write_statistics=True, row_group_size=1 << 20, data_page_size=1 << 20,
                   version="2.6", store_schema=True, use_byte_stream_split=False)
    return table.num_rows


def write_delivery(out: Path, year: int, tables: dict, producer: str) -> dict:
    d = out / f"{year:04d}"
    d.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name in TABLE_ORDER:
        p = d / f"{name}.parquet"
        rows = write_table(name, tables[name], p)
        entries[name] = {"file": p.name, "rows": int(rows), "sha256": sha256_file(p)}
    manifest = {"register_year": int(year), "vintage": f"{year + 1}-03-31", "producer": producer, "tables": entries}
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
