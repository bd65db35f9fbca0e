"""Deterministic Parquet + manifest writing, with the column types of the data contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from models_py.contracts import DELIVERED_TABLES, delivered_contracts
from models_py.delivery import sha256_file  # the checksum ingestion verifies the manifest with

TABLE_ORDER = DELIVERED_TABLES

# Arrow type of each contract physical type (data_contracts/*.odcs.yaml are the single source).
ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TINYINT": pa.int8(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
}


def _schemas() -> dict[str, pa.Schema]:
    """Column order, types and nullability (required: true -> not null) of every delivered table."""
    contracts = delivered_contracts()
    return {
        name: pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.physical_type], nullable=not c.required) for c in contracts[name].columns]
        )
        for name in TABLE_ORDER
    }


SCHEMAS = _schemas()


def write_table(name: str, columns: dict, path: Path) -> int:
    schema = SCHEMAS[name]
    arrays = []
    for column in schema:
        values = columns[column.name]
        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = pa.array(values, type=column.type)
        elif values.type != column.type:
            values = values.cast(column.type)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        arrays.append(values)
    table = pa.Table.from_arrays(arrays, schema=schema)
    # fixed writer options -> byte-identical files for identical content (no timestamps are written)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=1 << 20,
        data_page_size=1 << 20,
        version="2.6",
        store_schema=True,
        use_byte_stream_split=False,
    )
    return table.num_rows


def write_delivery(out: Path, year: int, tables: dict, producer: str) -> dict:
    folder = out / f"{year:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name in TABLE_ORDER:
        path = folder / f"{name}.parquet"
        rows = write_table(name, tables[name], path)
        entries[name] = {"file": path.name, "rows": int(rows), "sha256": sha256_file(path)}
    manifest = {"register_year": int(year), "vintage": f"{year + 1}-03-31", "producer": producer, "tables": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
