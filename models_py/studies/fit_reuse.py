"""Reusing a study model's stored results when nothing it is fitted from has changed.

A new register year changes few of the studies' inputs: study A's sample ends in 2013, study B's in 2020, and a
year's rebuild reaches back `panel_lookback_years`. Refitting an unchanged model is most of a new year's cost
(study B: 62 s at scale 0.1, 375 s at scale 1), so an asset may keep its stored results when its *fit key* is the
one they were written with. The key is a digest of
- the content of every input table (row count and an order-independent sum of row hashes: duplicates count, and
  any changed value, row or type changes it),
- the source of the code that fits and stores (the study's package and the asset module),
- the settings the fit reads (disclosure thresholds, design).
The key is written in `models.fit_keys` after the results, in the same connection, so a key always names results
that were stored whole; a failed or interrupted fit leaves the old key with the old results, or no key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

KEYS_TABLE = "models.fit_keys"


def table_fingerprint(con, relation: str) -> str:
    """Row count, column types and the sum of the rows' hashes of a warehouse relation (a constant of the
    calling module, never delivery content)."""
    schema, _, name = relation.partition(".")
    types = con.execute(
        "select list(column_name || ' ' || data_type order by ordinal_position) from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0]
    rows, digest = con.execute(f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {relation} as t").fetchone()
    return f"{relation}|{types}|{rows}|{digest}"


def code_digest(paths: Iterable[Path]) -> str:
    """Digest of source files (a folder: its *.py files)."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(Path(path).rglob("*.py")) if Path(path).is_dir() else [Path(path)]
        for f in files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()


def fit_key(con, relations: Iterable[str], code: str, settings: object) -> str:
    parts = [table_fingerprint(con, r) for r in relations] + [code, repr(settings)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _ensure(con) -> None:
    con.execute("create schema if not exists models")
    con.execute(
        f"create table if not exists {KEYS_TABLE} (asset varchar primary key, fit_key varchar, stored_at timestamp)"
    )


def stored_results_match(con, asset: str, key: str, tables: Iterable[str]) -> bool:
    """True when `asset` stored its results with this key and every one of its tables is still there."""
    _ensure(con)
    row = con.execute(f"select fit_key from {KEYS_TABLE} where asset = ?", [asset]).fetchone()
    if row is None or row[0] != key:
        return False
    for table in tables:
        schema, _, name = table.partition(".")
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
        if not exists:
            return False
    return True


def record_key(con, asset: str, key: str) -> None:
    _ensure(con)
    con.execute(f"delete from {KEYS_TABLE} where asset = ?", [asset])
    con.execute(f"insert into {KEYS_TABLE} values (?, ?, current_timestamp)", [asset, key])


def forget(con, asset: str) -> None:
    """Drop an asset's key (before its results are rewritten: a fit that fails half-way has no key)."""
    _ensure(con)
    con.execute(f"delete from {KEYS_TABLE} where asset = ?", [asset])
