"""The ingestion gate: validate one delivered table of one register year and load it into DuckDB.

Structural problems (manifest missing or inconsistent, table or column missing, wrong type,
unreadable file, wrong register year, row count or checksum mismatch) raise `DeliveryError`, which
names the delivery, table, column and rule, and leave the warehouse untouched. Row-level problems
send the row to `raw.quarantine` with the rules it breaks. Accepted rows replace that year's rows
in `raw.<table>` in one transaction, so a re-run never duplicates and a killed run leaves the
previous state. Per table and year: delivered = accepted + quarantined (`raw.ingest_log`).
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from models_py.contracts import TYPE_FAMILIES, Column, Contract, delivered_contracts
from models_py.delivery import MANIFEST, sha256_file
from models_py.settings import SEEDS_DIR


class DeliveryError(Exception):
    """A structural problem: the whole table-year is refused."""

    def __init__(self, delivery: str, table: str, column: str | None, rule: str, detail: str):
        self.delivery, self.table, self.column, self.rule, self.detail = delivery, table, column, rule, detail
        super().__init__(
            f"delivery {delivery}: table {table}, column {column or '-'}: rule {rule} failed: {detail}"
        )


@dataclass(frozen=True)
class IngestResult:
    register_year: int
    table: str
    vintage: str
    delivered: int
    accepted: int
    quarantined: int
    quarantined_by_rule: dict[str, int]


def _sql_literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _base_type(duckdb_type: str) -> str:
    return duckdb_type.split("(")[0].upper()


def _reference_sets() -> dict[str, str]:
    """SQL that lists the valid codes of each classification a contract column may refer to."""
    countries = SEEDS_DIR / "countries.csv"
    municipalities = SEEDS_DIR / "municipalities_2013.csv"
    changes = SEEDS_DIR / "municipality_changes.csv"
    return {
        "countries.country_code": f"select country_code from read_csv('{countries}', all_varchar=true)",
        # codes valid in 2013, plus historic codes that map onto them (older deliveries use those)
        "municipalities.municipality_code": (
            f"select municipality_code from read_csv('{municipalities}', all_varchar=true) "
            f"union select old_code from read_csv('{changes}', all_varchar=true)"
        ),
    }


def check_manifest(delivery_dir: Path, register_year: int, table: str, contract: Contract) -> dict:
    """Structural checks of the manifest and the table's file; returns the manifest."""
    delivery = str(delivery_dir)
    manifest_path = delivery_dir / MANIFEST
    if not manifest_path.exists():
        raise DeliveryError(delivery, table, None, "manifest_present", f"{MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeliveryError(delivery, table, None, "manifest_readable", str(exc)) from exc
    if str(manifest.get("register_year")) != str(register_year):
        raise DeliveryError(
            delivery, table, None, "register_year_matches",
            f"manifest says register_year={manifest.get('register_year')!r}, the partition is {register_year}",
        )
    try:
        _dt.date.fromisoformat(str(manifest.get("vintage")))
    except ValueError:
        raise DeliveryError(
            delivery, table, None, "vintage_valid",
            f"manifest vintage {manifest.get('vintage')!r} is not an ISO date (YYYY-MM-DD)",
        ) from None
    entry = (manifest.get("tables") or {}).get(table)
    if entry is None:
        raise DeliveryError(delivery, table, None, "table_in_manifest", "the manifest does not list this table")
    path = delivery_dir / entry.get("file", contract.delivery_file)
    if not path.exists():
        raise DeliveryError(delivery, table, None, "file_present", f"{path.name} is missing")
    actual = sha256_file(path)
    if actual != entry.get("sha256"):
        raise DeliveryError(
            delivery, table, None, "checksum_matches",
            f"sha256 of {path.name} is {actual[:12]}..., the manifest says {str(entry.get('sha256'))[:12]}...",
        )
    return manifest


def schema_problem(con, relation: str, contract: Contract) -> tuple[str, str, str] | None:
    """(column, rule, detail) of the first column missing or of the wrong type, or None."""
    delivered_types = {name: _base_type(typ) for name, typ, *_ in con.execute(f"describe {relation}").fetchall()}
    for column in contract.columns:
        if column.name not in delivered_types:
            return column.name, "column_present", "the column is missing"
        typ = delivered_types[column.name]
        if typ not in TYPE_FAMILIES[column.logical_type] and typ != "NULL":
            return (column.name, "column_type",
                    f"delivered as {typ}, the contract says {column.logical_type} ({column.physical_type})")
    return None


def _stage(con, delivery_dir: Path, table: str, contract: Contract, manifest: dict) -> int:
    """Read the file into a temp table `stage` (delivered types) and check the schema."""
    delivery = str(delivery_dir)
    path = delivery_dir / manifest["tables"][table].get("file", contract.delivery_file)
    try:
        con.execute(
            f"create or replace temp table stage as select row_number() over () as _row, * "
            f"from read_parquet('{path}')"
        )
    except duckdb.Error as exc:
        raise DeliveryError(delivery, table, None, "file_readable", f"{path.name}: {exc}".splitlines()[0]) from exc
    problem = schema_problem(con, "stage", contract)
    if problem:
        raise DeliveryError(delivery, table, *problem)
    delivered = con.execute("select count(*) from stage").fetchone()[0]
    expected = manifest["tables"][table].get("rows")
    if delivered != expected:
        raise DeliveryError(
            delivery, table, None, "row_count_matches", f"the file has {delivered} rows, the manifest says {expected}"
        )
    return delivered


def referenced_tables(rules: list[tuple[str, str]], contracts: dict[str, Contract]) -> dict[str, list[str]]:
    """Delivered tables that the row rules read (`delivered_<table>`), with the rules that need each."""
    needed: dict[str, list[str]] = {}
    for rule_id, sql in rules:
        for name in contracts:
            if re.search(rf"\bdelivered_{name}\b", sql):
                needed.setdefault(name, []).append(rule_id)
    return needed


def _accepted_rows_view(con, name: str, contract: Contract, register_year: int) -> None:
    """Narrow delivered_<name> to the rows its own ingestion will accept, so that a row quarantined
    there (a person born before the contract's minimum, a duplicate key) also makes the rows of other
    tables that refer to it fail (orphans are quarantined, never loaded beside a missing parent).
    Rules of <name> that read other delivered tables are left out (no chains between siblings)."""
    own = [sql for _, sql in row_rules(contract, register_year) if not re.search(r"\bdelivered_\w+\b", sql)]
    broken = " or ".join(f"coalesce(({sql}), false)" for sql in own) or "false"
    key = ", ".join(contract.key) if contract.key else "1"
    con.execute(
        # a table, not a view: the rules of the ingested table may read it several times
        f"create or replace temp table delivered_{name} as select * exclude (_key_count) from ("
        f" select *, count(*) over (partition by {key}) as _key_count from delivered_{name}_as_delivered) as t"
        f" where not ({broken})"
    )


def _sibling_views(con, delivery_dir: Path, table: str, manifest: dict, contracts: dict[str, Contract],
                   needed: dict[str, list[str]], register_year: int) -> None:
    """The other tables of the same delivery, for cross-table rules (`delivered_<table>`): the rows
    their own ingestion accepts (see _accepted_rows_view); the table being ingested, as delivered.

    A table that a rule needs must be in the manifest, present, match its checksum and be readable:
    otherwise the rule cannot be judged, and the table-year is refused (rule reference_table_valid)
    rather than quarantining rows for another file's fault.
    """
    delivery = str(delivery_dir)
    for name, contract in contracts.items():
        entry = (manifest.get("tables") or {}).get(name)
        path = delivery_dir / (entry.get("file", contract.delivery_file) if entry else contract.delivery_file)
        if name in needed and name != table:
            problem = None
            if entry is None:
                problem = "is not listed in the manifest"
            elif not path.exists():
                problem = f"file {path.name} is missing"
            elif sha256_file(path) != entry.get("sha256"):
                problem = f"file {path.name} does not match its manifest checksum"
            if problem:
                raise DeliveryError(
                    delivery, table, None, "reference_table_valid",
                    f"rules {', '.join(needed[name])} need table {name}, which {problem}",
                )
        if path.exists():
            try:
                con.execute(f"create or replace temp view delivered_{name} as select * from read_parquet('{path}')")
                con.execute(f"select count(*) from delivered_{name}").fetchone()
                problem = schema_problem(con, f"delivered_{name}", contract)
            except duckdb.Error:
                problem = ("-", "file_readable", "the file is unreadable")
            if problem is None:
                if name in needed and name != table:
                    con.execute(f"alter view delivered_{name} rename to delivered_{name}_as_delivered")
                    _accepted_rows_view(con, name, contract, register_year)
                continue
            if name in needed and name != table:
                raise DeliveryError(
                    delivery, table, None, "reference_table_valid",
                    f"rules {', '.join(needed[name])} need table {name}, which fails its own rule "
                    f"{problem[1]} (column {problem[0]})",
                )
        cols = ", ".join(f"cast(null as {c.physical_type}) as {c.name}" for c in contract.columns)
        con.execute(f"create or replace temp view delivered_{name} as select {cols} where false")


def _bound(column: Column, value) -> str:
    """A range bound as SQL: dates and strings are typed literals, numbers as they are."""
    if isinstance(value, (str, _dt.date)):
        return f"cast({_sql_literal(str(value))} as {column.physical_type})"
    return repr(value)


def row_rules(contract: Contract, register_year: int) -> list[tuple[str, str]]:
    """(rule_id, SQL predicate over row `t` that is true when the row breaks the rule)."""
    refs = _reference_sets()
    rules: list[tuple[str, str]] = []
    for c in contract.columns:
        col = f"t.{c.name}"
        if c.required:
            rules.append((f"{c.name}.required", f"{col} is null"))
        rules.append((f"{c.name}.type_cast", f"{col} is not null and try_cast({col} as {c.physical_type}) is null"))
        if c.valid_values is not None:
            allowed = ", ".join(_sql_literal(v) for v in c.valid_values)
            rules.append((f"{c.name}.valid_values", f"{col} is not null and {col} not in ({allowed})"))
        if c.minimum is not None:
            rules.append((f"{c.name}.minimum", f"{col} < {_bound(c, c.minimum)}"))
        if c.maximum is not None:
            rules.append((f"{c.name}.maximum", f"{col} > {_bound(c, c.maximum)}"))
        if c.references:
            target_table, target_col = c.references.split(".")
            if c.references in refs:
                source = refs[c.references]
            else:
                source = f"select {target_col} from delivered_{target_table}"
            rules.append((f"{c.name}.references_{target_table}", f"{col} is not null and {col} not in ({source})"))
    if contract.key:
        rules.append((f"{'+'.join(contract.key)}.unique_key", "t._key_count > 1"))
    for rule in contract.custom_rules:
        rules.append((rule.rule_id, rule.sql.format(register_year=register_year)))
    return rules


def ensure_raw_schema(con, contracts: dict[str, Contract]) -> None:
    con.execute("create schema if not exists raw")
    for name, contract in contracts.items():
        cols = ", ".join(f"{c.name} {c.physical_type}" for c in contract.columns)
        con.execute(f"create table if not exists raw.{name} ({cols}, register_year SMALLINT, vintage DATE)")
    con.execute(
        "create table if not exists raw.quarantine (register_year SMALLINT, table_name VARCHAR, rule_id VARCHAR,"
        " rules VARCHAR[], row_number BIGINT, row_data VARCHAR, vintage DATE)"
    )
    con.execute(
        "create table if not exists raw.ingest_log (register_year SMALLINT, table_name VARCHAR, vintage DATE,"
        " producer VARCHAR, file_sha256 VARCHAR, delivered BIGINT, accepted BIGINT, quarantined BIGINT,"
        " loaded_at TIMESTAMP)"
    )


def ingest_table(warehouse: Path | str, delivery_dir: Path, register_year: int, table: str) -> IngestResult:
    """Validate and load one table of one delivery. Raises DeliveryError on structural problems."""
    contracts = delivered_contracts()
    contract = contracts[table]
    manifest = check_manifest(delivery_dir, register_year, table, contract)
    vintage = str(manifest.get("vintage"))
    con = duckdb.connect(str(warehouse))
    try:
        delivered = _stage(con, delivery_dir, table, contract, manifest)
        rules = row_rules(contract, register_year)
        _sibling_views(con, delivery_dir, table, manifest, contracts, referenced_tables(rules, contracts), register_year)
        key = ", ".join(contract.key)
        con.execute(
            f"create or replace temp table stage_k as select *, count(*) over (partition by {key}) as _key_count from stage"
        )
        flags = ", ".join(f"case when coalesce(({sql}), false) then {_sql_literal(rid)} end" for rid, sql in rules)
        con.execute(
            f"create or replace temp table violations as select _row, rules from ("
            f" select t._row, list_filter([{flags}], lambda x: x is not null) as rules from stage_k t)"
            f" where len(rules) > 0"
        )
        casts = ", ".join(f"cast(s.{c.name} as {c.physical_type})" for c in contract.columns)
        data_cols = ", ".join(c.name for c in contract.columns)
        ensure_raw_schema(con, contracts)
        con.execute("begin transaction")
        con.execute(f"delete from raw.{table} where register_year = ?", [register_year])
        con.execute(
            f"insert into raw.{table} select {casts}, ?, cast(? as date) from stage s"
            f" anti join violations v on s._row = v._row order by s._row",
            [register_year, vintage],
        )
        con.execute("delete from raw.quarantine where register_year = ? and table_name = ?", [register_year, table])
        con.execute(
            f"insert into raw.quarantine select ?, ?, v.rules[1], v.rules, s._row,"
            f" to_json(struct_pack({', '.join(f'{c} := s.{c}' for c in data_cols.split(', '))}))::varchar,"
            f" cast(? as date) from stage s join violations v on s._row = v._row order by s._row",
            [register_year, table, vintage],
        )
        quarantined = con.execute("select count(*) from violations").fetchone()[0]
        accepted = delivered - quarantined
        con.execute("delete from raw.ingest_log where register_year = ? and table_name = ?", [register_year, table])
        con.execute(
            "insert into raw.ingest_log values (?, ?, cast(? as date), ?, ?, ?, ?, ?, current_timestamp)",
            [register_year, table, vintage, manifest.get("producer"), manifest["tables"][table]["sha256"],
             delivered, accepted, quarantined],
        )
        con.execute("commit")
        by_rule = dict(
            con.execute(
                "select rule_id, count(*) from raw.quarantine where register_year = ? and table_name = ?"
                " group by rule_id order by rule_id",
                [register_year, table],
            ).fetchall()
        )
    except Exception:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()
    return IngestResult(register_year, table, vintage, delivered, accepted, quarantined, by_rule)


def reconcile(warehouse_con, register_year: int, table: str) -> dict:
    """Recount from the warehouse: rows in raw.<table> and raw.quarantine versus the ingest log."""
    accepted = warehouse_con.execute(
        f"select count(*) from raw.{table} where register_year = ?", [register_year]
    ).fetchone()[0]
    quarantined = warehouse_con.execute(
        "select count(*) from raw.quarantine where register_year = ? and table_name = ?", [register_year, table]
    ).fetchone()[0]
    row = warehouse_con.execute(
        "select delivered from raw.ingest_log where register_year = ? and table_name = ?", [register_year, table]
    ).fetchone()
    delivered = row[0] if row else None
    return {"delivered": delivered, "accepted": accepted, "quarantined": quarantined,
            "balanced": delivered is not None and delivered == accepted + quarantined}
