"""The corruption suite: named kinds of bad delivery, each with its exact outcome, and no row lost.

Every kind starts from the hand-made valid delivery of tests/helpers/delivery_factory.py (five persons,
known content) and breaks one thing. Two kinds of outcome:
- Refused: the named tables raise DeliveryError with exactly this rule and column, the message names
  delivery, table, column and rule, and the warehouse (holding an earlier good delivery of the same
  year) is unchanged. A year is all or nothing: the tables not named are refused too, with rule
  delivery_complete naming a failing table, so raw never mixes two deliveries of one year.
- Quarantined: every table is loaded; exactly these rows go to raw.quarantine under exactly these
  rules (primary rule -> count per table; all other tables quarantine nothing).
In both: for every table loaded, delivered (manifest) = accepted + quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from models_py.contracts import DELIVERED_TABLES
from models_py.delivery import sha256_file
from models_py.ingest import DeliveryError, ingest_table, reconcile
from tests.helpers.delivery_factory import rewrite_manifest, valid_tables, write_delivery
from tests.helpers.ingest import raw_snapshot

YEAR = 2005
d = dt.date


@dataclass(frozen=True)
class Refused:
    errors: dict[str, tuple[str, str | None]]  # table -> (rule, column)


@dataclass(frozen=True)
class Quarantined:
    by_rule: dict[str, dict[str, int]]  # table -> {primary rule: rows}
    all_rules: dict[str, list[list[str]]] = field(default_factory=dict)  # table -> rules of each quarantined row


@dataclass(frozen=True)
class Kind:
    name: str
    corrupt: Callable[[Path], Path]  # landing -> delivery folder of YEAR
    outcome: Refused | Quarantined


def tables_with(change: Callable[[dict[str, pd.DataFrame]], None]) -> Callable[[Path], Path]:
    def corrupt(landing: Path) -> Path:
        tables = valid_tables(YEAR)
        change(tables)
        return write_delivery(landing, YEAR, tables)

    return corrupt


def after_writing(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def corrupt(landing: Path) -> Path:
        folder = write_delivery(landing, YEAR)
        change(folder)
        return folder

    return corrupt


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _edit_table_entry(folder: Path, table: str, **changes) -> None:
    m = _manifest(folder)
    m["tables"][table].update(changes)
    (folder / "manifest.json").write_text(json.dumps(m))


def _drop_from_manifest(folder: Path, table: str) -> None:
    m = _manifest(folder)
    del m["tables"][table]
    (folder / "manifest.json").write_text(json.dumps(m))


def _replace_file(folder: Path, table: str, data: bytes | pa.Table, update_manifest: bool) -> None:
    path = folder / f"{table}.parquet"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        pq.write_table(data, path)
    if update_manifest:
        _edit_table_entry(folder, table, sha256=sha256_file(path), rows=_manifest(folder)["tables"][table]["rows"])


def _retyped(table: str, column: str, values: list, typ: pa.DataType) -> pa.Table:
    df = valid_tables(YEAR)[table]
    from tests.helpers.delivery_factory import to_arrow

    arrow = to_arrow(table, df)
    i = arrow.schema.get_field_index(column)
    return arrow.set_column(i, pa.field(column, typ), pa.array(values, type=typ))


def _set(table: str, row: int, column: str, value):
    def change(t):
        t[table][column] = t[table][column].astype(object)
        t[table].at[row, column] = value

    return change


def _append_copy(table: str, row: int, **overrides):
    def change(t):
        extra = t[table].iloc[[row]].copy()
        for k, v in overrides.items():
            extra[k] = [v]
        t[table] = pd.concat([t[table], extra], ignore_index=True)

    return change


def _all(*changes):
    def change(t):
        for c in changes:
            c(t)

    return change


ALL_TABLES = tuple(DELIVERED_TABLES)


# A quarantined row takes the rows that refer to it along (ingestion judges references against the
# rows the other table accepts): a quarantined person orphans their rows in the other tables, a
# quarantined status row leaves the person's education and income without a resident status.
def ORPHANED(tables):  # noqa: N802 (reads as a constant in the table below)
    return {t: {"person_id.references_persons": 1} for t in tables}


PERSON_0_ROWS = ("population_status", "education", "income")  # person 0 has no migration event
PERSON_1_ROWS = ("population_status", "migration_events", "education", "income")
PERSON_2_ROWS = ("population_status", "education", "income")  # the duplicated person
WITHOUT_STATUS = {"education": {"education_of_non_resident": 1}, "income": {"income_of_person_without_status": 1}}

KINDS = [
    # ---------------------------------------------------------------- structural: the table-year is refused
    Kind(
        "missing_manifest",
        after_writing(lambda f: (f / "manifest.json").unlink()),
        Refused({t: ("manifest_present", None) for t in ALL_TABLES}),
    ),
    Kind(
        "unreadable_manifest",
        after_writing(lambda f: (f / "manifest.json").write_text("{not json")),
        Refused({t: ("manifest_readable", None) for t in ALL_TABLES}),
    ),
    Kind(
        "manifest_wrong_register_year",
        after_writing(lambda f: rewrite_manifest(f, register_year=YEAR - 1)),
        Refused({t: ("register_year_matches", None) for t in ALL_TABLES}),
    ),
    Kind(
        "manifest_vintage_not_a_date",
        after_writing(lambda f: rewrite_manifest(f, vintage="31.03.2006")),
        Refused({t: ("vintage_valid", None) for t in ALL_TABLES}),
    ),
    Kind(
        "table_missing_from_manifest",
        after_writing(lambda f: _drop_from_manifest(f, "income")),
        Refused({"income": ("table_in_manifest", None)}),
    ),
    Kind(
        "missing_table_file",
        after_writing(lambda f: (f / "education.parquet").unlink()),
        Refused({"education": ("file_present", None)}),
    ),
    Kind(
        "missing_persons_file_others_cannot_be_judged",
        after_writing(lambda f: (f / "persons.parquet").unlink()),
        Refused({"persons": ("file_present", None)}),
    ),  # the others: delivery_complete
    Kind(
        "checksum_mismatch",
        after_writing(
            lambda f: _replace_file(
                f,
                "income",
                _retyped("income", "wage_income", [1.0, 2.0, 3.0, 4.0], pa.float64()),
                update_manifest=False,
            )
        ),
        Refused({"income": ("checksum_matches", None)}),
    ),
    Kind(
        "row_count_mismatch",
        after_writing(lambda f: _edit_table_entry(f, "migration_events", rows=3)),
        Refused({"migration_events": ("row_count_matches", None)}),
    ),
    Kind(
        "missing_column",
        tables_with(lambda t: t.update(income=t["income"].drop(columns=["net_wealth"]))),
        Refused({"income": ("column_present", "net_wealth")}),
    ),
    Kind(
        "wrong_column_type",
        after_writing(
            lambda f: _replace_file(
                f,
                "education",
                _retyped("education", "enrolled", ["no", "no", "yes", "yes"], pa.string()),
                update_manifest=True,
            )
        ),
        Refused({"education": ("column_type", "enrolled")}),
    ),
    Kind(
        "wrong_type_in_persons_others_cannot_be_judged",
        after_writing(
            lambda f: _replace_file(
                f,
                "persons",
                _retyped("persons", "birth_year", ["1970", "1985", "1990", "2001", "1930"], pa.string()),
                update_manifest=True,
            )
        ),
        Refused({"persons": ("column_type", "birth_year")}),
    ),  # the others: delivery_complete
    Kind(
        "garbage_parquet",
        after_writing(
            lambda f: _replace_file(f, "migration_events", b"PAR1 this is not parquet", update_manifest=True)
        ),
        Refused({"migration_events": ("file_readable", None)}),
    ),
    # ---------------------------------------------------------------- row level: quarantined with the rule
    Kind(
        "bad_sex_code",
        tables_with(_set("persons", 1, "sex", 3)),
        Quarantined({"persons": {"sex.valid_values": 1}, **ORPHANED(PERSON_1_ROWS)}),
    ),
    Kind(
        "birth_month_13",
        tables_with(_set("persons", 0, "birth_month", 13)),
        Quarantined({"persons": {"birth_month.maximum": 1}, **ORPHANED(PERSON_0_ROWS)}),
    ),
    Kind(
        "duplicate_person_id",
        tables_with(_append_copy("persons", 2)),
        Quarantined({"persons": {"person_id.unique_key": 2}, **ORPHANED(PERSON_2_ROWS)}),
    ),
    Kind(
        "death_after_register_year",
        tables_with(_set("persons", 0, "death_date", d(YEAR + 1, 1, 5))),
        Quarantined({"persons": {"death_after_register_year": 1}, **ORPHANED(PERSON_0_ROWS)}),
    ),
    Kind(
        "missing_required_value",
        tables_with(_set("income", 1, "employed", None)),
        Quarantined({"income": {"employed.required": 1}}),
    ),
    Kind(
        "negative_wage",
        tables_with(_set("income", 2, "wage_income", -5.0)),
        Quarantined({"income": {"wage_income.minimum": 1}}),
    ),
    Kind(
        "income_year_wrong",
        tables_with(_set("income", 0, "income_year", YEAR)),
        Quarantined({"income": {"income_year_is_previous_year": 1}}),
    ),
    Kind(
        "orphan_event",
        tables_with(_set("migration_events", 0, "person_id", "P99")),
        Quarantined(
            {"migration_events": {"person_id.references_persons": 1}},
            {"migration_events": [["person_id.references_persons", "emigration_of_non_resident"]]},
        ),
    ),
    Kind(
        "orphan_education_row",
        tables_with(_append_copy("education", 0, person_id="P99")),
        Quarantined(
            {"education": {"person_id.references_persons": 1}},
            {"education": [["person_id.references_persons", "education_of_non_resident"]]},
        ),
    ),
    Kind(
        "income_without_status_row",
        tables_with(_all(_append_copy("persons", 0, person_id="P6"), _append_copy("income", 0, person_id="P6"))),
        Quarantined({"income": {"income_of_person_without_status": 1}}),
    ),
    Kind(
        "event_after_death",
        tables_with(_set("migration_events", 1, "person_id", "P5")),
        Quarantined({"migration_events": {"event_after_death": 1}}),
    ),
    Kind(
        "emigration_of_non_resident",
        tables_with(_set("population_status", 3, "status", "emigrated")),
        Quarantined(
            {"migration_events": {"emigration_of_non_resident": 1}, "education": {"education_of_non_resident": 1}}
        ),
    ),
    Kind(
        "registration_outside_register_year",
        tables_with(
            _all(
                _set("migration_events", 1, "event_date", d(YEAR, 12, 30)),
                _set("migration_events", 1, "registration_date", d(YEAR + 1, 1, 10)),
            )
        ),
        Quarantined({"migration_events": {"registration_in_register_year": 1}}),
    ),
    Kind(
        "event_before_1900",
        tables_with(_set("migration_events", 1, "event_date", d(1899, 12, 31))),
        Quarantined(
            {"migration_events": {"event_date.minimum": 1}},
            {"migration_events": [["event_date.minimum", "event_before_birth"]]},
        ),
    ),
    Kind(
        "same_day_repeat_emigration",
        tables_with(_append_copy("migration_events", 0, event_id=f"E{YEAR}-3")),
        Quarantined({"migration_events": {"same_day_repeat_move": 1}}),
    ),
    Kind(
        "administrative_immigration",
        tables_with(_set("migration_events", 1, "registration_type", "administrative")),
        Quarantined({"migration_events": {"administrative_immigration": 1}}),
    ),
    Kind(
        "resident_without_municipality",
        tables_with(_set("population_status", 2, "municipality", None)),
        Quarantined({"population_status": {"resident_without_municipality": 1}, **WITHOUT_STATUS}),
    ),
    Kind(
        "dead_without_death_date",
        tables_with(_set("persons", 4, "death_date", None)),
        Quarantined({"population_status": {"dead_person_without_death_date": 1}}),
    ),
    Kind(
        "resident_after_death",
        tables_with(
            _all(
                _set("population_status", 4, "status", "resident"), _set("population_status", 4, "municipality", "0301")
            )
        ),
        Quarantined({"population_status": {"resident_after_death": 1}}),
    ),
    Kind(
        "unknown_country_code",
        tables_with(_set("population_status", 1, "citizenship", "ZZZ")),
        Quarantined({"population_status": {"citizenship.references_countries": 1}, **WITHOUT_STATUS}),
    ),
    Kind(
        "unknown_municipality_code",
        tables_with(_set("population_status", 0, "municipality", "9998")),
        Quarantined({"population_status": {"municipality.references_municipalities": 1}, **WITHOUT_STATUS}),
    ),
]


def assert_nothing_lost(warehouse: Path, folder: Path, tables) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for table in tables:
            counts = reconcile(con, YEAR, table)
            assert counts["balanced"], (table, counts)
            assert counts["delivered"] == manifest["tables"][table]["rows"], (table, counts)
    finally:
        con.close()


@pytest.fixture(scope="module")
def good_warehouse(tmp_path_factory) -> tuple[Path, Path]:
    """A warehouse holding the good delivery of YEAR (built once; tests work on copies)."""
    root = tmp_path_factory.mktemp("good")
    good = write_delivery(root / "landing", YEAR)
    for table in DELIVERED_TABLES:
        ingest_table(root / "warehouse.duckdb", good, YEAR, table)
    return root / "warehouse.duckdb", good


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_corruption_kind(kind: Kind, tmp_path, good_warehouse):
    warehouse = tmp_path / "warehouse.duckdb"
    if isinstance(kind.outcome, Refused):
        shutil.copyfile(good_warehouse[0], warehouse)
        good = good_warehouse[1]
        before = raw_snapshot(warehouse)
        bad = kind.corrupt(tmp_path / "landing")
        for table in DELIVERED_TABLES:
            rule, column = kind.outcome.errors.get(table, ("delivery_complete", None))
            with pytest.raises(DeliveryError) as err:
                ingest_table(warehouse, bad, YEAR, table)
            e = err.value
            assert (e.table, e.column, e.rule) == (table, column, rule)
            assert str(e).startswith(f"delivery {bad}: table {table}, column {column or '-'}: rule {rule} failed: ")
            if rule == "delivery_complete":  # names a table that fails its own rule
                assert any(
                    f"table {t} of this delivery fails rule {r} " in e.detail
                    for t, (r, _) in kind.outcome.errors.items()
                ), e.detail
        assert raw_snapshot(warehouse) == before, "a refused delivery changed the warehouse"
        assert_nothing_lost(warehouse, good, DELIVERED_TABLES)
    else:
        bad = kind.corrupt(tmp_path / "landing")
        results = {t: ingest_table(warehouse, bad, YEAR, t) for t in DELIVERED_TABLES}
        expected = {t: kind.outcome.by_rule.get(t, {}) for t in DELIVERED_TABLES}
        assert {t: r.quarantined_by_rule for t, r in results.items()} == expected
        con = duckdb.connect(str(warehouse), read_only=True)
        for table, rule_lists in kind.outcome.all_rules.items():
            got = [
                list(r)
                for (r,) in con.execute(
                    "select rules from raw.quarantine where table_name = ? order by row_number", [table]
                ).fetchall()
            ]
            assert got == rule_lists
        con.close()
        assert_nothing_lost(warehouse, bad, DELIVERED_TABLES)


def test_the_suite_has_at_least_15_distinct_named_kinds():
    names = [k.name for k in KINDS]
    assert len(set(names)) == len(names) >= 15
    assert sum(isinstance(k.outcome, Refused) for k in KINDS) >= 8
    assert sum(isinstance(k.outcome, Quarantined) for k in KINDS) >= 8


def test_the_valid_delivery_itself_passes_clean(tmp_path):
    """The baseline every kind breaks: nothing refused, nothing quarantined."""
    folder = write_delivery(tmp_path / "landing", YEAR)
    results = {t: ingest_table(tmp_path / "w.duckdb", folder, YEAR, t) for t in DELIVERED_TABLES}
    assert all(r.quarantined == 0 and r.accepted == r.delivered for r in results.values())


def outcome_table() -> str:
    """The closing note's table: kind -> outcome (python -c 'from tests.unit.ingest.test_corruption import outcome_table; print(outcome_table())')."""
    lines = ["| kind | outcome |", "|---|---|"]
    for k in KINDS:
        if isinstance(k.outcome, Refused):
            groups: dict[tuple, list[str]] = {}
            for t, rc in k.outcome.errors.items():
                groups.setdefault(rc, []).append(t)
            text = "; ".join(
                f"DeliveryError {r}{f' ({c})' if c else ''}: {', '.join(ts)}" for (r, c), ts in groups.items()
            )
        else:
            text = "; ".join(
                f"quarantine {t}: " + ", ".join(f"{r} x{n}" for r, n in rules.items())
                for t, rules in k.outcome.by_rule.items()
            )
        lines.append(f"| {k.name} | {text} |")
    return "\n".join(lines)
