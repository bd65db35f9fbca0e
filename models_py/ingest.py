"""The ingestion gate: validate one delivered table of one register year and load it into DuckDB.

A delivery is untrusted input. No SQL text is ever built from a delivered path or value: files are
read with bound parameters (`read_parquet(?)`) or DuckDB relations, and the only names in SQL text
are contract names, quoted by `contracts.ident`. A manifest entry must name a plain regular file
inside its year folder (`models_py.delivery.confined_file`); nothing is opened before that holds.

Structural problems (manifest missing, inconsistent or ambiguous, a path leaving the year folder,
table or column missing, wrong type, unreadable file or text, an empty table, wrong or future
register year, a vintage inside the register year, a copy of an earlier year's delivery, row
count or checksum mismatch, a re-delivery dropping too many persons) raise `DeliveryError`, which
names the delivery, table, column and rule, never a delivered value, and leave the warehouse
untouched. Row-level problems send the row to `raw.quarantine` with the rules it breaks. Accepted
rows replace that year's rows in `raw.<table>`, for every table of the year in one transaction
(`ingest_year`), so a re-run never duplicates and a killed run leaves the previous state. Per table and year: delivered = accepted + quarantined
(`raw.ingest_log`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from models_py import revisions, settings
from models_py.contracts import (
    TYPE_FAMILIES,
    Column,
    Contract,
    delivered_contracts,
    ident,
)
from models_py.delivery import (
    MANIFEST,
    YEAR_FOLDER,
    ConfinementError,
    _safe,
    confined_file,
    load_manifest,
    sha256_file,
)
from models_py.settings import SEEDS_DIR
from models_py.warehouse import connect as warehouse_connect

# Operator's explicit acceptance of a re-delivery that drops persons: "<year>:<number removed>[,...]".
# The number must be the one the refusal named, so a different delivery is never accepted by it.
ENV_ACCEPT_REMOVALS = "REGISTER_ACCEPT_PERSON_REMOVALS"
REMOVAL_SHARE_SETTING = "redelivery_max_removed_persons_share"


class DeliveryError(Exception):
    """A structural problem: the whole table-year is refused."""

    def __init__(self, delivery: str, table: str, column: str | None, rule: str, detail: str):
        self.delivery, self.table, self.column, self.rule, self.detail = delivery, table, column, rule, detail
        super().__init__(f"delivery {delivery}: table {table}, column {column or '-'}: rule {rule} failed: {detail}")


@dataclass(frozen=True)
class IngestResult:
    register_year: int
    table: str
    vintage: str
    delivered: int
    accepted: int
    quarantined: int
    quarantined_by_rule: dict[str, int]
    persons_removed_accepted: int | None = None  # a removal above the threshold the operator accepted
    revision: revisions.Revision | None = None  # what the load changed (ingest_year with a run_id)


def _sql_literal(value) -> str:
    """A contract constant (allowed code, rule id, pattern) as SQL; never used for delivered values."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _base_type(duckdb_type: str) -> str:
    return duckdb_type.split("(")[0].upper()


def _scrub(exc: BaseException) -> str:
    """A DuckDB error's first line with every quoted part masked: such parts can hold delivered values
    (DuckDB quotes the offending value, e.g. of invalid UTF-8) or outside paths (R12)."""
    first = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: " + re.sub(r'"[^"]*"|\'[^\']*\'', "<...>", first)[:200]


# Classification codes a contract column may refer to: loaded into temp tables from the seeds with
# bound parameters (load_reference_sets), referred to by name in the rules.
REFERENCE_SETS = {
    "countries.country_code": "select code from reference_country_codes",
    # codes valid in 2013, plus historic codes that map onto them (older deliveries use those)
    "municipalities.municipality_code": "select code from reference_municipality_codes",
}


def load_reference_sets(con) -> None:
    con.execute(
        "create or replace temp table reference_country_codes as"
        " select country_code as code from read_csv(?, all_varchar=true)",
        [str(SEEDS_DIR / "countries.csv")],
    )
    con.execute(
        "create or replace temp table reference_municipality_codes as"
        " select municipality_code as code from read_csv(?, all_varchar=true)"
        " union select old_code from read_csv(?, all_varchar=true)",
        [str(SEEDS_DIR / "municipalities_2013.csv"), str(SEEDS_DIR / "municipality_changes.csv")],
    )


def _table_file(delivery: str, delivery_dir: Path, manifest: dict, table: str, contract: Contract) -> Path:
    entry = (manifest.get("tables") or {}).get(table)
    if entry is None:
        raise DeliveryError(delivery, table, None, "table_in_manifest", "the manifest does not list this table")
    try:
        return confined_file(delivery_dir, entry, contract.delivery_file)
    except ConfinementError as exc:
        raise DeliveryError(delivery, table, None, exc.rule, exc.detail) from None


def check_manifest(delivery_dir: Path, register_year: int, table: str, contract: Contract) -> dict:
    """Structural checks of the delivery folder, the manifest and the table's file; returns the manifest.
    Only the manifest and the table's own (confined) file are opened, in that order."""
    delivery = str(delivery_dir)
    try:
        manifest = load_manifest(delivery_dir)
    except ConfinementError as exc:
        raise DeliveryError(delivery, table, None, exc.rule, exc.detail) from None
    if str(manifest.get("register_year")) != str(register_year):
        raise DeliveryError(
            delivery,
            table,
            None,
            "register_year_matches",
            f"manifest says register_year={_safe(manifest.get('register_year'))}, the partition is {register_year}",
        )
    this_year = _dt.date.today().year
    if int(register_year) > this_year:
        raise DeliveryError(
            delivery,
            table,
            None,
            "register_year_not_in_future",
            f"register year {register_year} is later than the current year {this_year}",
        )
    try:
        vintage = _dt.date.fromisoformat(str(manifest.get("vintage")))
    except ValueError:
        raise DeliveryError(
            delivery,
            table,
            None,
            "vintage_valid",
            f"manifest vintage {_safe(manifest.get('vintage'))} is not an ISO date (YYYY-MM-DD)",
        ) from None
    if vintage <= _dt.date(int(register_year), 12, 31):
        # the register year is complete only after 31 December: an earlier extraction cannot hold it
        raise DeliveryError(
            delivery,
            table,
            None,
            "vintage_after_register_year",
            f"vintage {vintage} is not after the end of register year {register_year}",
        )
    if not isinstance(manifest.get("tables") or {}, dict):
        raise DeliveryError(delivery, table, None, "manifest_readable", "the manifest's tables is not a JSON object")
    path = _table_file(delivery, delivery_dir, manifest, table, contract)
    entry = manifest["tables"][table]
    actual = sha256_file(path, follow_symlinks=False)
    if actual != entry.get("sha256"):
        raise DeliveryError(
            delivery,
            table,
            None,
            "checksum_matches",
            f"sha256 of {path.name} is {actual[:12]}..., the manifest says {_safe(entry.get('sha256'), 12)}",
        )
    return manifest


def _checksums(manifest: dict) -> dict[str, object]:
    return {t: e.get("sha256") for t, e in (manifest.get("tables") or {}).items() if isinstance(e, dict)}


def copied_from_year(con, delivery_dir: Path, register_year: int, manifest: dict) -> int | None:
    """An earlier register year whose delivery has exactly these file checksums (a year re-sent under
    another number), from the other year folders of the landing and from raw.ingest_log; or None."""
    mine = _checksums(manifest)
    if not mine:
        return None
    candidates: list[tuple[int, dict]] = []
    logged: dict[int, dict] = {}
    for year, table, sha in con.execute(
        "select register_year, table_name, file_sha256 from raw.ingest_log where register_year < ?", [register_year]
    ).fetchall():
        logged.setdefault(int(year), {})[table] = sha
    candidates.extend(logged.items())
    landing = delivery_dir.parent
    for folder in sorted(landing.iterdir()) if landing.is_dir() else []:
        if YEAR_FOLDER.fullmatch(folder.name) and int(folder.name) < register_year:
            try:
                candidates.append((int(folder.name), _checksums(load_manifest(folder))))
            except ConfinementError:
                continue  # that year's own ingestion reports its manifest
    for year, theirs in sorted(candidates, key=lambda c: c[0]):
        if all(theirs.get(t) == sha for t, sha in mine.items()):
            return year
    return None


def _schema_problem(types: dict[str, str], contract: Contract) -> tuple[str, str, str] | None:
    for column in contract.columns:
        if column.name not in types:
            return column.name, "column_present", "the column is missing"
        typ = types[column.name]
        if typ not in TYPE_FAMILIES[column.logical_type] and typ != "NULL":
            return (
                column.name,
                "column_type",
                f"delivered as {typ}, the contract says {column.logical_type} ({column.physical_type})",
            )
    return None


def schema_problem(con, relation: str, contract: Contract) -> tuple[str, str, str] | None:
    """(column, rule, detail) of the first column missing or of the wrong type, or None."""
    rows = con.execute(f"describe {ident(relation)}").fetchall()
    return _schema_problem({name: _base_type(typ) for name, typ, *_ in rows}, contract)


def _file_schema(con, path: Path) -> dict[str, str]:
    """Column -> base type of a parquet file, read through a relation (no SQL text, no data read)."""
    rel = con.read_parquet(str(path))
    return {name: _base_type(str(typ)) for name, typ in zip(rel.columns, rel.types)}


def invalid_text_counts(path: Path, columns: list[str]) -> dict[str, int]:
    """Per text column of the file, how many values are not valid UTF-8 (counts only, never values)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception:  # noqa: BLE001 - an unreadable file is reported as such by the caller
        return {}
    out = {}
    for name in columns:
        if name not in pf.schema_arrow.names:
            continue
        typ = pf.schema_arrow.field(name).type
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            continue
        bad = 0
        for batch in pf.iter_batches(columns=[name], batch_size=1 << 16):
            arr = batch.column(0)
            try:
                arr.validate(full=True)  # checks UTF-8; cheap when the batch is clean
                continue
            except pa.ArrowInvalid:
                pass
            raw = arr.view(pa.large_binary() if pa.types.is_large_string(typ) else pa.binary())
            for value in raw.to_pylist():
                if value is not None:
                    try:
                        value.decode("utf-8")
                    except UnicodeDecodeError:
                        bad += 1
        if bad:
            out[name] = bad
    return out


def _encoding_error(delivery: str, table: str, path: Path, contract: Contract) -> DeliveryError | None:
    bad = invalid_text_counts(path, [c.name for c in contract.columns])
    if not bad:
        return None
    first = next(iter(bad))
    return DeliveryError(
        delivery,
        table,
        first,
        "text_encoding_valid",
        "values that are not valid UTF-8 text: " + ", ".join(f"column {c}: {n}" for c, n in bad.items()),
    )


def _unreadable(delivery: str, table: str, path: Path, contract: Contract, exc: duckdb.Error) -> DeliveryError:
    """A file DuckDB cannot read: invalid text is named by column and count, anything else by the error."""
    return _encoding_error(delivery, table, path, contract) or DeliveryError(
        delivery, table, None, "file_readable", f"{path.name}: {_scrub(exc)}"
    )


def _check_schema(con, delivery: str, table: str, path: Path, contract: Contract) -> None:
    try:
        problem = _schema_problem(_file_schema(con, path), contract)
    except duckdb.Error as exc:
        raise DeliveryError(delivery, table, None, "file_readable", f"{path.name}: {_scrub(exc)}") from None
    if problem:
        raise DeliveryError(delivery, table, *problem)


def _check_row_count(delivery: str, table: str, manifest: dict, delivered: int) -> None:
    expected = manifest["tables"][table].get("rows")
    if delivered != expected:
        raise DeliveryError(
            delivery,
            table,
            None,
            "row_count_matches",
            f"the file has {delivered} rows, the manifest says {_safe(expected, 20)}",
        )
    if delivered == 0:
        raise DeliveryError(
            delivery,
            table,
            None,
            "table_not_empty",
            "the table has 0 rows; every register year delivers rows in every table",
        )


def _stage(
    con, delivery_dir: Path, table: str, contract: Contract, manifest: dict, path: Path, into: str = "stage"
) -> int:
    """Read the contract's columns of the file into a temp table `into` (delivered types) and check
    the schema, the row count and that the table is not empty."""
    delivery = str(delivery_dir)
    _check_schema(con, delivery, table, path, contract)
    cols = ", ".join(ident(c.name) for c in contract.columns)
    try:
        con.execute(
            f"create or replace temp table {ident(into)} as"
            f" select row_number() over () as _row, {cols} from read_parquet(?)",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise _unreadable(delivery, table, path, contract, exc) from None
    delivered = con.execute(f"select count(*) from {ident(into)}").fetchone()[0]
    _check_row_count(delivery, table, manifest, delivered)
    return delivered


# ---------------------------------------------------------------------------------------------
# A register year is all or nothing: no table of it is replaced while another table of the same
# delivery fails a structural rule (a half-replaced year would mix two deliveries in raw).
# ---------------------------------------------------------------------------------------------
_YEAR_CHECKS: dict[tuple, tuple[DeliveryError | None, str | None]] = {}


def _folder_state(delivery_dir: Path) -> tuple:
    """What a cached check depends on: each entry's name, size, mtime and inode (lstat), and the
    manifest's checksum (opened without following a symlink)."""
    try:
        entries = sorted(delivery_dir.iterdir())
    except OSError:
        return ()
    out = []
    for p in entries:
        try:
            st = os.lstat(p)
        except OSError:
            continue
        out.append((p.name, st.st_size, st.st_mtime_ns, st.st_ino))
    try:  # an in-place manifest edit of the same size within the clock's resolution still counts
        out.append(("manifest sha256", sha256_file(delivery_dir / MANIFEST, follow_symlinks=False)))
    except OSError:
        pass
    return tuple(out)


def _scan(delivery_dir: Path, register_year: int, table: str) -> tuple[DeliveryError | None, str | None]:
    """The table's structural rules that need no warehouse (manifest, confinement, year and vintage,
    checksum, schema, readable text, row count, not empty), streamed through an in-memory DuckDB
    (nothing is materialized): (the DeliveryError it would raise or None, content signature).

    The content signature (row count and an order-free sum of row hashes over the contract's columns,
    cast to the contract's types) is the same for the same rows however the file was re-encoded."""
    contract = delivered_contracts()[table]
    delivery = str(delivery_dir)
    try:
        manifest = check_manifest(delivery_dir, register_year, table, contract)
        path = _table_file(delivery, delivery_dir, manifest, table, contract)
        con = duckdb.connect()
        try:
            _check_schema(con, delivery, table, path, contract)
            # max(length(text)) decodes (and so validates) every text value without keeping any
            probes = "".join(f", max(length({ident(c.name)}))" for c in contract.columns if c.logical_type == "string")
            casts = ", ".join(f"try_cast({ident(c.name)} as {c.physical_type})" for c in contract.columns)
            try:
                delivered, content = con.execute(
                    f"select count(*), sum(hash({casts})::hugeint){probes} from read_parquet(?)", [str(path)]
                ).fetchone()[:2]
            except duckdb.Error as exc:
                raise _unreadable(delivery, table, path, contract, exc) from None
        finally:
            con.close()
        _check_row_count(delivery, table, manifest, delivered)
    except DeliveryError as exc:
        return exc, None
    return None, f"{delivered}:{content}"


def table_structure_problem(delivery_dir: Path, register_year: int, table: str) -> DeliveryError | None:
    """The DeliveryError the table's warehouse-free structural rules raise, or None (see _scan)."""
    return _scan(delivery_dir, register_year, table)[0]


def _cached_scan(
    delivery_dir: Path, register_year: int, table: str, state: tuple
) -> tuple[DeliveryError | None, str | None]:
    key = (str(delivery_dir), int(register_year), table, state)
    if key not in _YEAR_CHECKS:
        if len(_YEAR_CHECKS) > 1024:
            _YEAR_CHECKS.clear()
        _YEAR_CHECKS[key] = _scan(delivery_dir, register_year, table)
    return _YEAR_CHECKS[key]


def _cached_problem(delivery_dir: Path, register_year: int, table: str, state: tuple) -> DeliveryError | None:
    return _cached_scan(delivery_dir, register_year, table, state)[0]


def same_content_as_year(con, delivery_dir: Path, register_year: int) -> int | None:
    """An earlier ingested register year whose tables hold exactly the same rows as this delivery's
    (a copy re-encoded so that no checksum matches), from raw.delivery_signatures; or None."""
    state = _folder_state(delivery_dir)
    mine = {t: _cached_scan(delivery_dir, register_year, t, state)[1] for t in delivered_contracts()}
    if None in mine.values():
        return None
    theirs: dict[int, dict[str, str]] = {}
    for year, table, signature in con.execute(
        "select register_year, table_name, content_signature from raw.delivery_signatures where register_year < ?",
        [register_year],
    ).fetchall():
        theirs.setdefault(int(year), {})[table] = signature
    return next((year for year, sigs in sorted(theirs.items()) if sigs == mine), None)


def check_rest_of_year(delivery_dir: Path, register_year: int, table: str) -> None:
    """Refuse the table (rule delivery_complete) when another table of the same delivery fails a
    structural rule. Results are cached per folder state, so a run checks each file once."""
    state = _folder_state(delivery_dir)
    for other in delivered_contracts():
        if other == table:
            continue
        problem = _cached_problem(delivery_dir, register_year, other, state)
        if problem is not None:
            raise DeliveryError(
                str(delivery_dir),
                table,
                None,
                "delivery_complete",
                f"table {other} of this delivery fails rule {problem.rule} (column {problem.column or '-'}); "
                f"no table of register year {register_year} is replaced until every table passes",
            )


def _accepted_removal(register_year: int, removed: int) -> bool:
    for item in os.environ.get(ENV_ACCEPT_REMOVALS, "").split(","):
        year, _, count = item.strip().partition(":")
        if year == str(register_year) and count == str(removed):
            return True
    return False


def persons_removed(con, register_year: int, persons_file: Path, staged: bool = False) -> tuple[int, int]:
    """(persons loaded for the year, how many of them the delivered persons file no longer holds);
    `staged`: read the file's rows from the year pass's temp table stage_persons instead of the file."""
    delivered = "stage_persons" if staged else "read_parquet(?)"
    before, removed = con.execute(
        "select count(*), count(*) - count(s.person_id) from raw.persons p left join"
        f" (select distinct cast(person_id as varchar) as person_id from {delivered}) s"
        " on s.person_id = p.person_id where p.register_year = ?",
        [register_year] if staged else [str(persons_file), register_year],
    ).fetchone()
    return before, removed


def _check_removals(
    con, delivery: str, register_year: int, persons_file: Path, staged: bool = False
) -> tuple[int, int] | None:
    """A re-delivery of persons that drops more than the allowed share of the persons already loaded
    for the year is refused, unless the operator accepts exactly that number: then (persons before,
    removed) is returned and logged in raw.accepted_removals."""
    before, removed = persons_removed(con, register_year, persons_file, staged)
    share = float(settings.setting(REMOVAL_SHARE_SETTING))
    if not before or removed <= share * before:
        return None
    if _accepted_removal(register_year, removed):
        return before, removed
    raise DeliveryError(
        delivery,
        "persons",
        "person_id",
        "persons_removed_within_threshold",
        f"the re-delivery removes {removed} of the {before} persons loaded for {register_year} "
        f"({100 * removed / before:.2f} %), more than {100 * share:g} % (dbt var {REMOVAL_SHARE_SETTING}); "
        f"to accept it, set {ENV_ACCEPT_REMOVALS}={register_year}:{removed} (logged in raw.accepted_removals)",
    )


def referenced_tables(rules: list[tuple[str, str]], contracts: dict[str, Contract]) -> dict[str, list[str]]:
    """Delivered tables that the row rules read (`delivered_<table>`), with the rules that need each."""
    needed: dict[str, list[str]] = {}
    for rule_id, sql in rules:
        for name in contracts:
            if re.search(rf"\bdelivered_{name}\b", sql):
                needed.setdefault(name, []).append(rule_id)
    return needed


def _accepted_rows_view(con, name: str, contract: Contract, register_year: int, into: str | None = None) -> None:
    """Narrow delivered_<name> (written as `into`, default delivered_<name>) to the rows its own
    ingestion will accept, so that a row quarantined there (a person born before the contract's
    minimum, a duplicate key) also makes the rows of other tables that refer to it fail (orphans are
    quarantined, never loaded beside a missing parent).
    Rules of <name> that read other delivered tables are left out (no chains between siblings)."""
    own = [sql for _, sql in row_rules(contract, register_year) if not re.search(r"\bdelivered_\w+\b", sql)]
    broken = " or ".join(f"coalesce(({sql}), false)" for sql in own) or "false"
    key = ", ".join(ident(k) for k in contract.key) if contract.key else "1"
    con.execute(
        # a table, not a view: the rules of the ingested table may read it several times
        f"create or replace temp table {ident(into or 'delivered_' + name)} as select * exclude (_key_count) from ("
        f" select *, count(*) over (partition by {key}) as _key_count from {ident('delivered_' + name + '_as_delivered')}) as t"
        f" where not ({broken})"
    )


def _bound(column: Column, value) -> str:
    """A range bound as SQL: dates and strings are typed literals, numbers as they are."""
    if isinstance(value, (str, _dt.date)):
        return f"cast({_sql_literal(str(value))} as {column.physical_type})"
    return repr(value)


def row_rules(contract: Contract, register_year: int) -> list[tuple[str, str]]:
    """(rule_id, SQL predicate over row `t` that is true when the row breaks the rule).

    Needs the reference tables of `load_reference_sets` for the classification references."""
    rules: list[tuple[str, str]] = []
    for c in contract.columns:
        col = f"t.{ident(c.name)}"
        if c.required:
            rules.append((f"{c.name}.required", f"{col} is null"))
        rules.append((f"{c.name}.type_cast", f"{col} is not null and try_cast({col} as {c.physical_type}) is null"))
        if c.logical_type == "number":
            # NaN sorts above every number and +-inf passes open ranges: neither is a measurement
            rules.append((f"{c.name}.finite", f"{col} is not null and not isfinite(try_cast({col} as double))"))
        if c.max_length is not None:
            rules.append((f"{c.name}.max_length", f"length({col}) > {int(c.max_length)}"))
        if c.pattern is not None:
            rules.append((f"{c.name}.pattern", f"not regexp_full_match({col}, {_sql_literal(c.pattern)})"))
        if c.valid_values is not None:
            allowed = ", ".join(_sql_literal(v) for v in c.valid_values)
            rules.append((f"{c.name}.valid_values", f"{col} is not null and {col} not in ({allowed})"))
        if c.minimum is not None:
            rules.append((f"{c.name}.minimum", f"{col} < {_bound(c, c.minimum)}"))
        if c.maximum is not None:
            rules.append((f"{c.name}.maximum", f"{col} > {_bound(c, c.maximum)}"))
        if c.references:
            target_table, target_col = c.references.split(".")
            if c.references in REFERENCE_SETS:
                source = REFERENCE_SETS[c.references]
            else:
                source = f"select {ident(target_col)} from {ident('delivered_' + target_table)}"
            rules.append((f"{c.name}.references_{target_table}", f"{col} is not null and {col} not in ({source})"))
    if contract.key:
        rules.append((f"{'+'.join(contract.key)}.unique_key", "t._key_count > 1"))
    for rule in contract.custom_rules:
        rules.append((rule.rule_id, rule.sql.format(register_year=int(register_year))))
    return rules


def ensure_raw_schema(con, contracts: dict[str, Contract]) -> None:
    con.execute("create schema if not exists raw")
    for name, contract in contracts.items():
        cols = ", ".join(f"{ident(c.name)} {c.physical_type}" for c in contract.columns)
        con.execute(f"create table if not exists raw.{ident(name)} ({cols}, register_year SMALLINT, vintage DATE)")
    con.execute(
        "create table if not exists raw.quarantine (register_year SMALLINT, table_name VARCHAR, rule_id VARCHAR,"
        " rules VARCHAR[], row_number BIGINT, row_data VARCHAR, vintage DATE)"
    )
    con.execute(
        "create table if not exists raw.ingest_log (register_year SMALLINT, table_name VARCHAR, vintage DATE,"
        " producer VARCHAR, file_sha256 VARCHAR, delivered BIGINT, accepted BIGINT, quarantined BIGINT,"
        " loaded_at TIMESTAMP)"
    )
    # content signature of each ingested table-year (same rows = same signature, see _scan)
    con.execute(
        "create table if not exists raw.delivery_signatures (register_year SMALLINT, table_name VARCHAR,"
        " file_sha256 VARCHAR, content_signature VARCHAR)"
    )
    # the operator's acceptances of re-deliveries that drop persons (ENV_ACCEPT_REMOVALS)
    con.execute(
        "create table if not exists raw.accepted_removals (register_year SMALLINT, table_name VARCHAR,"
        " file_sha256 VARCHAR, rows_before BIGINT, rows_removed BIGINT, max_removed_share DOUBLE,"
        " setting VARCHAR, accepted_at TIMESTAMP)"
    )


def ingest_table(warehouse: Path | str, delivery_dir: Path, register_year: int, table: str) -> IngestResult:
    """Validate and load one table of one delivery. Raises DeliveryError on structural problems."""
    result = ingest_year(warehouse, delivery_dir, register_year, [table])[table]
    if isinstance(result, DeliveryError):
        raise result
    return result


def _table_ready(delivery_dir: Path, register_year: int, table: str, contract: Contract) -> tuple[dict, Path]:
    """The warehouse-free structural rules of one table, in the gate's order: the table's own failure
    first, then the rest of the year (delivery_complete). Returns (manifest, the table's file)."""
    manifest = check_manifest(delivery_dir, register_year, table, contract)
    path = _table_file(str(delivery_dir), delivery_dir, manifest, table, contract)
    own = _cached_problem(delivery_dir, register_year, table, _folder_state(delivery_dir))
    if own is not None:
        raise own
    check_rest_of_year(delivery_dir, register_year, table)
    return manifest, path


def _sibling_problem(con, delivery_dir: Path, manifest: dict, name: str, contract: Contract) -> str | None:
    """Make `delivered_<name>_as_delivered` (the file as delivered) for a table that rules read but that
    is not ingested in this pass; or say why it cannot be judged (see _year_siblings)."""
    entry = (manifest.get("tables") or {}).get(name)
    if entry is None:
        return "is not listed in the manifest"
    try:
        path = confined_file(delivery_dir, entry, contract.delivery_file)
    except ConfinementError as exc:
        return f"fails its own rule {exc.rule}"
    if sha256_file(path, follow_symlinks=False) != entry.get("sha256"):
        return f"file {path.name} does not match its manifest checksum"
    try:
        problem = _schema_problem(_file_schema(con, path), contract)
        if problem is None:
            cols = [c.name for c in contract.columns]
            con.read_parquet(str(path)).select(*cols).create_view(f"delivered_{name}_as_delivered", replace=True)
            return None
    except duckdb.Error:
        problem = (
            "-",
            "text_encoding_valid" if _encoding_error(str(delivery_dir), name, path, contract) else "file_readable",
            "",
        )
    return f"fails its own rule {problem[1]} (column {problem[0]})"


def ingest_year(
    warehouse: Path | str,
    delivery_dir: Path,
    register_year: int,
    tables: list[str] | None = None,
    run_id: str | None = None,
) -> dict[str, IngestResult | DeliveryError]:
    """Validate and load the given tables (default: every delivered table) of one delivery in one pass:
    one warehouse connection, each file staged once, each table that rules read (persons) narrowed to
    its accepted rows once, the year-level rules (copy of another year, persons removed) judged once.
    Same rules and messages as table by table; per table a DeliveryError or an IngestResult
    (delivered = accepted + quarantined, raw.ingest_log).

    The tables are replaced in one transaction: if any of them is refused, none is (the others get
    rule delivery_complete), and a crash midway leaves the year as it was. With `run_id` (a Dagster
    run), the same transaction keeps the year's restore point (revisions.keep_restore_point) and
    writes the revision log (IngestResult.revision)."""
    register_year = int(register_year)
    contracts = delivered_contracts()
    tables = list(contracts) if tables is None else list(tables)
    delivery = str(delivery_dir)
    outcome: dict[str, IngestResult | DeliveryError] = {}
    ready: dict[str, tuple[dict, Path]] = {}
    for table in tables:
        try:
            ready[table] = _table_ready(delivery_dir, register_year, table, contracts[table])
        except DeliveryError as exc:
            outcome[table] = exc
    if not ready:  # refused before the warehouse (and DuckDB) saw a path
        return outcome
    current = next(iter(ready))
    con = warehouse_connect(warehouse)
    try:
        ensure_raw_schema(con, contracts)
        manifest = ready[current][0]
        copied = copied_from_year(con, delivery_dir, register_year, manifest)
        if copied is not None:
            detail = (
                f"every file of the delivery has the checksum of register year {copied}'s "
                "delivery: a year re-sent under another register year"
            )
        else:
            copied = same_content_as_year(con, delivery_dir, register_year)
            detail = (
                f"every table of the delivery holds exactly the rows of register year {copied}'s "
                "delivery (re-encoded files): a year re-sent under another register year"
            )
        if copied is not None:
            for table in ready:
                outcome[table] = DeliveryError(delivery, table, None, "not_a_copy_of_another_year", detail)
            return {t: outcome[t] for t in tables}
        delivered: dict[str, int] = {}
        for current in list(ready):
            t_manifest, path = ready[current]
            try:
                delivered[current] = _stage(
                    con, delivery_dir, current, contracts[current], t_manifest, path, into=f"stage_{current}"
                )
            except DeliveryError as exc:
                outcome[current] = exc
                del ready[current]
        if not ready:
            return {t: outcome[t] for t in tables}
        current = next(iter(ready))
        removal = removal_error = None
        persons_file = _table_file(delivery, delivery_dir, manifest, "persons", contracts["persons"])
        try:  # judged for every table of the year: the other tables of a refused persons re-delivery wait too
            removal = _check_removals(con, delivery, register_year, persons_file, staged="persons" in delivered)
        except DeliveryError as exc:
            removal_error = exc
        if removal_error is not None:
            for table in list(ready):
                outcome[table] = (
                    removal_error
                    if table == "persons"
                    else DeliveryError(
                        delivery,
                        table,
                        None,
                        "delivery_complete",
                        f"table persons of this delivery fails rule {removal_error.rule} (column {removal_error.column}); "
                        f"no table of register year {register_year} is replaced until every table passes",
                    )
                )
                del ready[table]
            return {t: outcome[t] for t in tables}
        load_reference_sets(con)
        rules = {t: row_rules(contracts[t], register_year) for t in ready}
        needed = {t: referenced_tables(rules[t], contracts) for t in ready}
        # each table that rules read, narrowed once to the rows its own ingestion accepts
        sibling_problems: dict[str, str | None] = {}
        for name in sorted({n for t in ready for n in needed[t] if n != t}):
            current = name
            if name in delivered:
                con.execute(
                    f"create or replace temp view {ident('delivered_' + name + '_as_delivered')} as"
                    f" select * exclude (_row) from {ident('stage_' + name)}"
                )
                sibling_problems[name] = None
            else:
                sibling_problems[name] = _sibling_problem(con, delivery_dir, manifest, name, contracts[name])
            if sibling_problems[name] is None:
                _accepted_rows_view(con, name, contracts[name], register_year, into=f"accepted_{name}")
        if run_id is not None:
            for table in contracts:
                revisions.ensure_revision_schema(con, table)
        con.execute("begin transaction")
        if run_id is not None:
            revisions.keep_restore_point(con, run_id, register_year)
            for table in ready:
                revisions.capture_in(con, register_year, table)
        for table in list(ready):
            current = table
            t_manifest = ready[table][0]
            refused = [(n, ids) for n, ids in needed[table].items() if n != table and sibling_problems[n]]
            if refused:
                # the rule cannot be judged: the table-year is refused rather than quarantining rows for
                # another file's fault
                name, rule_ids = refused[0]
                outcome[table] = DeliveryError(
                    delivery,
                    table,
                    None,
                    "reference_table_valid",
                    f"rules {', '.join(rule_ids)} need table {name}, which {sibling_problems[name]}",
                )
                continue
            outcome[table] = _load_table(
                con,
                delivery_dir,
                register_year,
                table,
                contracts[table],
                t_manifest,
                rules[table],
                needed[table],
                delivered[table],
                removal if table == "persons" else None,
            )
            con.execute(f"drop table if exists {ident('stage_' + table)}")
        refusal = next((outcome[t] for t in ready if isinstance(outcome[t], DeliveryError)), None)
        if refusal is not None:
            # all or nothing: the tables loaded so far are rolled back with the refused one
            _rollback(con)
            for table in ready:
                if not isinstance(outcome[table], DeliveryError):
                    outcome[table] = DeliveryError(
                        delivery,
                        table,
                        None,
                        "delivery_complete",
                        f"table {refusal.table} of this delivery fails rule {refusal.rule} (column {refusal.column or '-'}); "
                        f"no table of register year {register_year} is replaced until every table passes",
                    )
            return {t: outcome[t] for t in tables}
        if run_id is not None:
            for table in ready:
                outcome[table] = dataclasses.replace(
                    outcome[table], revision=revisions.finalize_in(con, register_year, table, run_id)
                )
        con.execute("commit")
        for table in ready:  # read after the commit: the year's quarantine by rule
            outcome[table] = dataclasses.replace(
                outcome[table],
                quarantined_by_rule=dict(
                    con.execute(
                        "select rule_id, count(*) from raw.quarantine where register_year = ? and table_name = ?"
                        " group by rule_id order by rule_id",
                        [register_year, table],
                    ).fetchall()
                ),
            )
    except duckdb.Error as exc:
        _rollback(con)
        # DuckDB quotes offending values in some messages: never pass one on (R12)
        raise RuntimeError(f"ingestion of {current} {register_year} failed: {_scrub(exc)}") from None
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()
    return {t: outcome[t] for t in tables}


def _load_table(
    con,
    delivery_dir: Path,
    register_year: int,
    table: str,
    contract: Contract,
    manifest: dict,
    rules: list[tuple[str, str]],
    needed: dict[str, list[str]],
    delivered: int,
    removal: tuple[int, int] | None,
) -> IngestResult:
    """Flag the staged rows of one table against its rules and replace the table-year, the quarantine,
    the ingest log and the content signature (inside the year's transaction, see ingest_year)."""
    vintage = _dt.date.fromisoformat(str(manifest.get("vintage"))).isoformat()
    stage = ident("stage_" + table)
    # the tables the rules read: the table itself as staged, the others as their accepted rows
    con.execute(f"create or replace temp view {ident('delivered_' + table)} as select * exclude (_row) from {stage}")
    for name in needed:
        if name != table:
            con.execute(
                f"create or replace temp view {ident('delivered_' + name)} as select * from {ident('accepted_' + name)}"
            )
    key = ", ".join(ident(k) for k in contract.key)
    con.execute(
        f"create or replace temp view stage_k as"
        f" select *, count(*) over (partition by {key}) as _key_count from {stage}"
    )
    flags = ", ".join(f"case when coalesce(({sql}), false) then {_sql_literal(rid)} end" for rid, sql in rules)
    con.execute(
        f"create or replace temp table violations as select _row, rules from ("
        f" select t._row, list_filter([{flags}], lambda x: x is not null) as rules from stage_k t)"
        f" where len(rules) > 0"
    )
    con.execute("drop view stage_k")
    casts = ", ".join(f"cast(s.{ident(c.name)} as {c.physical_type})" for c in contract.columns)
    packed = ", ".join(f"{ident(c.name)} := s.{ident(c.name)}" for c in contract.columns)
    con.execute(f"delete from raw.{ident(table)} where register_year = ?", [register_year])
    con.execute(
        f"insert into raw.{ident(table)} select {casts}, ?, cast(? as date) from {stage} s"
        f" anti join violations v on s._row = v._row order by s._row",
        [register_year, vintage],
    )
    con.execute("delete from raw.quarantine where register_year = ? and table_name = ?", [register_year, table])
    con.execute(
        f"insert into raw.quarantine select ?, ?, v.rules[1], v.rules, s._row,"
        f" to_json(struct_pack({packed}))::varchar,"
        f" cast(? as date) from {stage} s join violations v on s._row = v._row order by s._row",
        [register_year, table, vintage],
    )
    quarantined = con.execute("select count(*) from violations").fetchone()[0]
    accepted = delivered - quarantined
    con.execute("delete from raw.ingest_log where register_year = ? and table_name = ?", [register_year, table])
    con.execute(
        "insert into raw.ingest_log values (?, ?, cast(? as date), ?, ?, ?, ?, ?, current_timestamp)",
        [
            register_year,
            table,
            vintage,
            str(manifest.get("producer"))[:200],
            manifest["tables"][table]["sha256"],
            delivered,
            accepted,
            quarantined,
        ],
    )
    con.execute(
        "delete from raw.delivery_signatures where register_year = ? and table_name = ?", [register_year, table]
    )
    con.execute(
        "insert into raw.delivery_signatures values (?, ?, ?, ?)",
        [
            register_year,
            table,
            manifest["tables"][table]["sha256"],
            _cached_scan(delivery_dir, register_year, table, _folder_state(delivery_dir))[1],
        ],
    )
    if removal is not None:
        con.execute(
            "insert into raw.accepted_removals values (?, ?, ?, ?, ?, ?, ?, current_timestamp)",
            [
                register_year,
                table,
                manifest["tables"][table]["sha256"],
                removal[0],
                removal[1],
                float(settings.setting(REMOVAL_SHARE_SETTING)),
                f"{ENV_ACCEPT_REMOVALS}={register_year}:{removal[1]}",
            ],
        )
    return IngestResult(
        register_year, table, vintage, delivered, accepted, quarantined, {}, removal[1] if removal else None
    )


def _rollback(con) -> None:
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass


def reconcile(warehouse_con, register_year: int, table: str) -> dict:
    """Recount from the warehouse: rows in raw.<table> and raw.quarantine versus the ingest log."""
    accepted = warehouse_con.execute(
        f"select count(*) from raw.{ident(table)} where register_year = ?", [register_year]
    ).fetchone()[0]
    quarantined = warehouse_con.execute(
        "select count(*) from raw.quarantine where register_year = ? and table_name = ?", [register_year, table]
    ).fetchone()[0]
    row = warehouse_con.execute(
        "select delivered from raw.ingest_log where register_year = ? and table_name = ?", [register_year, table]
    ).fetchone()
    delivered = row[0] if row else None
    return {
        "delivered": delivered,
        "accepted": accepted,
        "quarantined": quarantined,
        "balanced": delivered is not None and delivered == accepted + quarantined,
    }
