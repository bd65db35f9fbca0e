"""Hostile and mistaken deliveries (issue 15): one test per case, each with its exact outcome.

Every case starts from the hand-made valid delivery (tests/helpers/delivery_factory.py) of YEAR, usually
over a warehouse that already holds a good delivery, and asserts: the exception and the exact rule
(and column) in the message, that no delivered or outside value appears in the message, that raw is
unchanged where it must be, and that nothing was read outside the delivery or written outside the
test's own folders. Python-level opens are watched with an audit hook; DuckDB never sees a path
before the confinement rules pass (a refused path fails before the warehouse is opened).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from models_py import ingest as gate
from models_py.contracts import DELIVERED_TABLES
from models_py.delivery import sha256_file
from models_py.ingest import DeliveryError, ingest_table, reconcile
from tests.helpers.delivery_factory import (
    rewrite_manifest,
    to_arrow,
    valid_tables,
    write_delivery,
)
from tests.helpers.ingest import raw_snapshot

YEAR = 2005

# ------------------------------------------------------------------------------ watching opens
_OPENED: list[str] = []
_WATCHING = [False]


def _audit(event: str, args: tuple) -> None:
    if _WATCHING[0] and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while a test watches


@pytest.fixture
def opened():
    """Paths Python opened during the test (files of the project itself included)."""
    _OPENED.clear()
    _WATCHING[0] = True
    yield _OPENED
    _WATCHING[0] = False


@pytest.fixture
def connections(monkeypatch):
    """Warehouse connections the gate opened during the test."""
    made = []
    real = duckdb.connect

    def spy(*args, **kwargs):
        made.append(args[0] if args else kwargs.get("database"))
        return real(*args, **kwargs)

    monkeypatch.setattr(gate.duckdb, "connect", spy)
    return made


# ------------------------------------------------------------------------------ helpers


def ingest_all(warehouse: Path, folder: Path, year: int = YEAR) -> dict:
    return {t: ingest_table(warehouse, folder, year, t) for t in DELIVERED_TABLES}


@pytest.fixture
def good(tmp_path) -> tuple[Path, Path]:
    """(warehouse holding the good delivery of YEAR, landing folder)."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    ingest_all(warehouse, write_delivery(landing, YEAR))
    return warehouse, landing


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def write_manifest(folder: Path, m: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(m, indent=2))


def refused(
    warehouse: Path, folder: Path, table: str, rule: str, column: str | None = None, year: int = YEAR
) -> DeliveryError:
    with pytest.raises(DeliveryError) as err:
        ingest_table(warehouse, folder, year, table)
    e = err.value
    assert (e.table, e.rule, e.column) == (table, rule, column), str(e)
    assert str(e).startswith(f"delivery {folder}: table {table}, column {column or '-'}: rule {rule} failed: ")
    return e


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ============================================================================== 1. SQL injection
INJECTION = "income.parquet'); copy raw.persons to 'x.csv'; drop table raw.persons; --.parquet"


def test_sql_injection_through_the_manifest_file_is_refused_and_runs_nothing(good, tmp_path, monkeypatch, opened):
    warehouse, landing = good
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a COPY ... TO 'x.csv' would land here
    folder = landing / str(YEAR)
    shutil.copyfile(folder / "income.parquet", folder / INJECTION)  # the real income file beside it
    m = manifest(folder)
    m["tables"]["income"]["file"] = INJECTION
    write_manifest(folder, m)
    before = raw_snapshot(warehouse)
    opened.clear()
    e = refused(warehouse, folder, "income", "file_name_plain")
    assert "copy raw.persons" not in str(e)  # the hostile name is not echoed
    for table in ("persons", "population_status", "migration_events", "education"):  # a year is all or nothing
        e = refused(warehouse, folder, table, "delivery_complete")
        assert "table income of this delivery fails rule file_name_plain" in e.detail
    assert raw_snapshot(warehouse) == before  # raw.persons neither emptied nor dropped
    assert not (work / "x.csv").exists() and not (Path.cwd() / "x.csv").exists()
    assert not any(p.endswith("x.csv") for p in opened)
    assert files_under(work) == set()


def test_a_hostile_file_name_is_only_ever_a_bound_parameter(tmp_path):
    """Below the confinement rule, the staging read binds the path: the same name reads as a file."""
    folder = write_delivery(tmp_path / "landing", YEAR)
    hostile = folder / INJECTION
    shutil.copyfile(folder / "income.parquet", hostile)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        gate.ensure_raw_schema(con, gate.delivered_contracts())
        con.execute("create table raw.canary as select 1 as x")
        contract = gate.delivered_contracts()["income"]
        m = manifest(folder)
        assert gate._stage(con, folder, "income", contract, m, hostile) == 4
        assert con.execute("select count(*) from raw.canary").fetchone()[0] == 1
    finally:
        con.close()
    assert not (tmp_path / "x.csv").exists() and not Path("x.csv").exists()


def test_a_landing_path_with_an_apostrophe_ingests_cleanly(tmp_path):
    landing = tmp_path / "o'neil's landing"
    folder = write_delivery(landing, YEAR)
    results = ingest_all(tmp_path / "w.duckdb", folder)
    assert {t: (r.accepted, r.quarantined) for t, r in results.items()} == {
        t: (len(df), 0) for t, df in valid_tables(YEAR).items()
    }


# ============================================================================== 2. confinement
def _outside_file(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    other = write_delivery(outside / "landing", YEAR - 1)  # another year's real income file
    return other / "income.parquet"


@pytest.mark.parametrize("shape", ["dotdot", "absolute", "etc_hostname", "separator"])
def test_a_file_outside_the_year_folder_is_refused_unopened(shape, good, tmp_path, opened, connections):
    warehouse, landing = good
    folder = landing / str(YEAR)
    secret = _outside_file(tmp_path)
    if shape == "dotdot":  # the issue's ../2022/income.parquet: a sibling year's income
        write_delivery(landing, YEAR - 1)
        name, target = f"../{YEAR - 1}/income.parquet", landing / str(YEAR - 1) / "income.parquet"
    elif shape == "absolute":
        name, target = str(secret), secret
    elif shape == "etc_hostname":
        name, target = "/etc/hostname", Path("/etc/hostname")
    else:
        (folder / "sub").mkdir()
        shutil.copyfile(folder / "income.parquet", folder / "sub" / "income.parquet")
        name, target = "sub/income.parquet", folder / "sub" / "income.parquet"
    m = manifest(folder)
    m["tables"]["income"].update(file=name, sha256=sha256_file(target) if target.exists() else "0" * 64)
    write_manifest(folder, m)
    before = raw_snapshot(warehouse)
    connections.clear()
    opened.clear()  # from here on, only the gate opens files
    e = refused(warehouse, folder, "income", "file_name_plain")
    assert connections == []  # refused before the warehouse (and DuckDB) saw a path
    assert not any(Path(p).resolve() == target.resolve() for p in opened if Path(p).exists())
    if target.exists():
        assert sha256_file(target)[:12] not in str(e)  # no hash (nor any content) of the outside file
    assert raw_snapshot(warehouse) == before


def test_a_symlinked_file_is_refused_unopened(good, tmp_path, opened, connections):
    warehouse, landing = good
    folder = landing / str(YEAR)
    secret = _outside_file(tmp_path)
    (folder / "income.parquet").unlink()
    (folder / "income.parquet").symlink_to(secret)
    rewrite = manifest(folder)
    rewrite["tables"]["income"]["sha256"] = sha256_file(secret)  # the supplier even got the checksum right
    write_manifest(folder, rewrite)
    before = raw_snapshot(warehouse)
    opened.clear()
    connections.clear()
    e = refused(warehouse, folder, "income", "file_not_symlink")
    assert connections == [] and str(secret) not in opened
    assert sha256_file(secret)[:12] not in str(e).replace(rewrite["tables"]["income"]["sha256"][:12] + "...", "")
    assert raw_snapshot(warehouse) == before


def test_a_symlinked_year_folder_or_manifest_is_refused(good, tmp_path, opened):
    warehouse, landing = good
    elsewhere = write_delivery(tmp_path / "elsewhere", YEAR)
    year2 = YEAR + 1
    (landing / str(year2)).symlink_to(write_delivery(tmp_path / "elsewhere", year2))
    for table in DELIVERED_TABLES:
        refused(warehouse, landing / str(year2), table, "delivery_not_symlink", year=year2)
    folder = landing / str(YEAR)
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").symlink_to(elsewhere / "manifest.json")
    before = raw_snapshot(warehouse)
    opened.clear()
    for table in DELIVERED_TABLES:
        refused(warehouse, folder, table, "manifest_not_symlink")
    assert str(elsewhere / "manifest.json") not in opened
    assert raw_snapshot(warehouse) == before


def test_a_table_listed_twice_in_the_manifest_is_refused(good):
    warehouse, landing = good
    folder = landing / str(YEAR)
    m = manifest(folder)
    tables_text = ", ".join(f'"{t}": {json.dumps(e)}' for t, e in m["tables"].items())
    first_income = json.dumps({**m["tables"]["income"], "rows": 3})
    text = (
        json.dumps({k: v for k, v in m.items() if k != "tables"})[:-1]
        + f', "tables": {{"income": {first_income}, {tables_text}}}}}'
    )
    (folder / "manifest.json").write_text(text)
    before = raw_snapshot(warehouse)
    for table in DELIVERED_TABLES:  # the manifest is ambiguous: nothing of it is ingested
        e = refused(warehouse, folder, table, "table_listed_once")
        assert "'income'" in e.detail
    assert raw_snapshot(warehouse) == before


# ============================================================================== 3. numeric, id and text rules
def test_nan_and_infinite_numbers_are_quarantined_per_column(tmp_path):
    tables = valid_tables(YEAR)
    income = to_arrow("income", tables["income"])  # Arrow, since the factory turns pandas NaN into null
    for column, row, value in [
        ("wage_income", 0, math.nan),
        ("net_wealth", 1, math.nan),
        ("self_employment_income", 2, -math.inf),
        ("welfare_benefits", 3, math.inf),
    ]:
        values = income[column].to_pylist()
        values[row] = value
        income = income.set_column(income.schema.get_field_index(column), column, pa.array(values, pa.float64()))
    tables["income"] = income
    folder = write_delivery(tmp_path / "landing", YEAR, tables)
    arrow = pq.read_table(folder / "income.parquet")
    assert math.isnan(arrow["wage_income"][0].as_py())  # the file really holds NaN, not null
    warehouse = tmp_path / "w.duckdb"
    results = ingest_all(warehouse, folder)
    assert results["income"].quarantined_by_rule == {
        "wage_income.finite": 1,
        "net_wealth.finite": 1,
        "self_employment_income.finite": 1,
        "welfare_benefits.finite": 1,
    }
    assert all(r.quarantined == 0 for t, r in results.items() if t != "income")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert (
            con.execute(
                "select count(*) from raw.income where not isfinite(wage_income)"
                " or not isfinite(net_wealth) or not isfinite(self_employment_income)"
                " or not isfinite(welfare_benefits)"
            ).fetchone()[0]
            == 0
        )
        assert reconcile(con, YEAR, "income")["balanced"]
    finally:
        con.close()


@pytest.mark.parametrize(
    "bad_id, rule", [("P" * (1 << 20), "person_id.max_length"), ("P\N{GRINNING FACE}", "person_id.pattern")]
)
def test_a_huge_or_emoji_person_id_is_quarantined_with_its_rows(bad_id, rule, tmp_path):
    tables = valid_tables(YEAR)
    for name in ("persons", "population_status", "education", "income"):  # person 0 (P1) everywhere
        tables[name].loc[0, "person_id"] = bad_id
    folder = write_delivery(tmp_path / "landing", YEAR, tables)
    results = ingest_all(tmp_path / "w.duckdb", folder)
    assert results["persons"].quarantined_by_rule == {rule: 1}
    for name in ("population_status", "education", "income"):
        assert results[name].quarantined_by_rule == {"person_id.references_persons": 1}, name
    assert all(r.accepted + r.quarantined == r.delivered for r in results.values())


def test_a_huge_event_id_is_quarantined(tmp_path):
    tables = valid_tables(YEAR)
    tables["migration_events"].loc[0, "event_id"] = "E" * 1000
    results = ingest_all(tmp_path / "w.duckdb", write_delivery(tmp_path / "landing", YEAR, tables))
    assert results["migration_events"].quarantined_by_rule == {"event_id.max_length": 1}


def _invalid_utf8(values: list[bytes]) -> pa.Array:
    offsets, data = [0], b""
    for v in values:
        data += v
        offsets.append(len(data))
    buffers = [None, pa.py_buffer(pa.array(offsets, pa.int32()).buffers()[1]), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.binary(), len(values), buffers).view(pa.string())


def test_invalid_utf8_is_named_by_column_and_count_only(good):
    warehouse, landing = good
    folder = landing / str(YEAR)
    arrow = to_arrow("persons", valid_tables(YEAR)["persons"])
    secret_ids = [b"P1", b"SECRET\xff\xfe42", b"P3", b"P4", b"X\xc3\x28SECRET7"]
    i = arrow.schema.get_field_index("person_id")
    arrow = arrow.set_column(i, pa.field("person_id", pa.string()), _invalid_utf8(secret_ids))
    pq.write_table(arrow, folder / "persons.parquet")
    m = manifest(folder)
    m["tables"]["persons"]["sha256"] = sha256_file(folder / "persons.parquet")
    write_manifest(folder, m)
    before = raw_snapshot(warehouse)
    e = refused(warehouse, folder, "persons", "text_encoding_valid", "person_id")
    assert e.detail == "values that are not valid UTF-8 text: column person_id: 2"
    assert "SECRET" not in str(e) and "42" not in str(e)
    # the other tables of the year are not replaced either, and say why without values
    e2 = refused(warehouse, folder, "income", "delivery_complete")
    assert "SECRET" not in str(e2) and "table persons of this delivery fails rule text_encoding_valid" in e2.detail
    assert raw_snapshot(warehouse) == before


# ============================================================================== 4. year and vintage rules
def test_a_future_register_year_is_refused(tmp_path):
    future = dt.date.today().year + 5  # the 2031
    folder = write_delivery(tmp_path / "landing", future)
    for table in DELIVERED_TABLES:
        e = refused(tmp_path / "w.duckdb", folder, table, "register_year_not_in_future", year=future)
        assert f"register year {future} is later than the current year" in e.detail
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.parametrize("vintage", [f"{YEAR}-06-30", f"{YEAR}-12-31", f"{YEAR - 3}-01-01"])
def test_a_vintage_before_the_end_of_the_register_year_is_refused(vintage, good):
    warehouse, landing = good
    folder = landing / str(YEAR)
    rewrite_manifest(folder, vintage=vintage)
    before = raw_snapshot(warehouse)
    for table in DELIVERED_TABLES:
        e = refused(warehouse, folder, table, "vintage_after_register_year")
        assert e.detail == f"vintage {vintage} is not after the end of register year {YEAR}"
    assert raw_snapshot(warehouse) == before


def test_a_year_resent_under_the_next_number_is_refused(good):
    """The issue's 2023 re-sent as 2024 with only register_year edited: its vintage is inside 2024."""
    warehouse, landing = good
    copy = landing / str(YEAR + 1)
    shutil.copytree(landing / str(YEAR), copy)
    rewrite_manifest(copy, register_year=YEAR + 1)
    for table in DELIVERED_TABLES:
        refused(warehouse, copy, table, "vintage_after_register_year", year=YEAR + 1)
    # a careful copier also moves the vintage on: the checksums still give it away
    rewrite_manifest(copy, vintage=f"{YEAR + 2}-03-31")
    before = raw_snapshot(warehouse)
    for table in DELIVERED_TABLES:
        e = refused(warehouse, copy, table, "not_a_copy_of_another_year", year=YEAR + 1)
        assert f"register year {YEAR}'s delivery" in e.detail
    assert raw_snapshot(warehouse) == before
    # judged from the landing too: a fresh warehouse that has not ingested YEAR refuses the copy
    refused(warehouse.with_name("fresh.duckdb"), copy, "persons", "not_a_copy_of_another_year", year=YEAR + 1)
    # the original year itself still ingests (only the later copy is suspect)
    ingest_all(warehouse, landing / str(YEAR))


def test_a_year_resent_re_encoded_is_refused_by_its_content(good):
    """Same rows, files written again with another compression: no checksum matches, the content does."""
    warehouse, landing = good
    copy = landing / str(YEAR + 1)
    copy.mkdir()
    m = manifest(landing / str(YEAR))
    for table, entry in m["tables"].items():
        pq.write_table(pq.read_table(landing / str(YEAR) / entry["file"]), copy / entry["file"], compression="gzip")
        assert sha256_file(copy / entry["file"]) != entry["sha256"]
        entry["sha256"] = sha256_file(copy / entry["file"])
    write_manifest(copy, {**m, "register_year": YEAR + 1, "vintage": f"{YEAR + 2}-03-31"})
    before = raw_snapshot(warehouse)
    for table in DELIVERED_TABLES:
        e = refused(warehouse, copy, table, "not_a_copy_of_another_year", year=YEAR + 1)
        assert f"exactly the rows of register year {YEAR}'s delivery (re-encoded files)" in e.detail
    assert raw_snapshot(warehouse) == before


def test_consecutive_genuine_years_are_not_taken_for_copies(tmp_path):
    """Some tables of the hand-made deliveries are byte-identical between years: only a whole copy is refused."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    a, b = write_delivery(landing, YEAR), write_delivery(landing, YEAR + 1)
    assert manifest(a)["tables"]["education"]["sha256"] == manifest(b)["tables"]["education"]["sha256"]
    ingest_all(warehouse, a)
    ingest_all(warehouse, b, YEAR + 1)


# ============================================================================== 5. zero and completeness
def test_an_empty_table_is_refused(good):
    warehouse, landing = good
    tables = valid_tables(YEAR)
    tables["migration_events"] = tables["migration_events"].iloc[0:0]
    folder = write_delivery(landing, YEAR, tables, vintage=f"{YEAR + 1}-04-30")
    assert manifest(folder)["tables"]["migration_events"]["rows"] == 0  # the manifest is consistent
    before = raw_snapshot(warehouse)
    e = refused(warehouse, folder, "migration_events", "table_not_empty")
    assert "0 rows" in e.detail
    assert raw_snapshot(warehouse) == before


def _without_person(pid: str) -> dict[str, pd.DataFrame]:
    tables = valid_tables(YEAR)
    return {t: df[df["person_id"] != pid].reset_index(drop=True) for t, df in tables.items()}


def test_a_redelivery_dropping_persons_is_refused_with_the_number(good, monkeypatch):
    warehouse, landing = good
    monkeypatch.delenv(gate.ENV_ACCEPT_REMOVALS, raising=False)
    folder = write_delivery(landing, YEAR, _without_person("P1"), vintage=f"{YEAR + 1}-05-31")
    before = raw_snapshot(warehouse)
    e = refused(warehouse, folder, "persons", "persons_removed_within_threshold", "person_id")
    assert e.detail.startswith(
        f"the re-delivery removes 1 of the 5 persons loaded for {YEAR} (20.00 %), more than 0.1 %"
    )
    assert f"{gate.ENV_ACCEPT_REMOVALS}={YEAR}:1" in e.detail
    for table in ("population_status", "migration_events", "education", "income"):  # the year waits whole
        e = refused(warehouse, folder, table, "delivery_complete")
        assert "table persons of this delivery fails rule persons_removed_within_threshold" in e.detail
    assert raw_snapshot(warehouse) == before
    # an acceptance of another number accepts nothing
    monkeypatch.setenv(gate.ENV_ACCEPT_REMOVALS, f"{YEAR}:2")
    refused(warehouse, folder, "persons", "persons_removed_within_threshold", "person_id")


def test_an_accepted_removal_is_ingested_and_logged(good, monkeypatch):
    warehouse, landing = good
    folder = write_delivery(landing, YEAR, _without_person("P1"), vintage=f"{YEAR + 1}-05-31")
    monkeypatch.setenv(gate.ENV_ACCEPT_REMOVALS, f"{YEAR - 1}:9, {YEAR}:1")
    result = ingest_table(warehouse, folder, YEAR, "persons")
    assert (result.accepted, result.persons_removed_accepted) == (4, 1)
    others = {t: ingest_table(warehouse, folder, YEAR, t) for t in DELIVERED_TABLES if t != "persons"}
    assert all(r.quarantined == 0 and r.persons_removed_accepted is None for r in others.values())
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute(
            "select register_year, table_name, rows_before, rows_removed, max_removed_share, setting"
            " from raw.accepted_removals"
        ).fetchall() == [(YEAR, "persons", 5, 1, 0.001, f"{gate.ENV_ACCEPT_REMOVALS}={YEAR}:1")]
    finally:
        con.close()


# ============================================================================== 6. withdrawing a year
def test_withdrawing_a_year_removes_its_rows_and_logs_them(tmp_path):
    from models_py.withdraw import WithdrawError, withdraw_year

    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    ingest_all(warehouse, write_delivery(landing, YEAR))
    tables = valid_tables(YEAR + 1)
    tables["persons"].loc[1, "sex"] = 3  # one quarantined person (and their four rows)
    ingest_all(warehouse, write_delivery(landing, YEAR + 1, tables), YEAR + 1)
    before = raw_snapshot(warehouse)
    with pytest.raises(WithdrawError, match="still in the landing"):
        withdraw_year(warehouse, landing, YEAR + 1)
    assert raw_snapshot(warehouse) == before
    shutil.rmtree(landing / str(YEAR + 1))
    removed = withdraw_year(warehouse, landing, YEAR + 1, run_id="test")
    assert removed == {
        "persons": 4,
        "population_status": 4,
        "migration_events": 1,
        "education": 3,
        "income": 3,
        "quarantine": 5,
    }
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for table in DELIVERED_TABLES:
            assert (
                con.execute(f'select count(*) from raw."{table}" where register_year = ?', [YEAR + 1]).fetchone()[0]
                == 0
            )
        for log in ("quarantine", "ingest_log"):
            assert con.execute(f"select count(*) from raw.{log} where register_year = ?", [YEAR + 1]).fetchone()[0] == 0
        assert con.execute(
            "select table_name, kind, rows_before, rows_after, rows_removed, quarantined_before, quarantined_after,"
            " to_sha256 is null from raw.revision_log where register_year = ? order by table_name",
            [YEAR + 1],
        ).fetchall() == [
            ("education", "withdrawal", 3, 0, 3, 1, 0, True),
            ("income", "withdrawal", 3, 0, 3, 1, 0, True),
            ("migration_events", "withdrawal", 1, 0, 1, 1, 0, True),
            ("persons", "withdrawal", 4, 0, 4, 1, 0, True),
            ("population_status", "withdrawal", 4, 0, 4, 1, 0, True),
        ]
        # emigrations of the event year before and after, for the whole warehouse
        assert con.execute(
            "select event_year, emigrations_before, emigrations_after from raw.revision_emigrations"
            " where register_year = ?",
            [YEAR + 1],
        ).fetchall() == [(YEAR + 1, 1, 0)]
    finally:
        con.close()
    # the other year is untouched (raw rows end with register_year, vintage; the logs start with the year)
    after = raw_snapshot(warehouse)
    for name, rows in before.items():
        year_of = (lambda r: r[-2]) if name in DELIVERED_TABLES else (lambda r: r[0])
        assert after[name] == [r for r in rows if year_of(r) == YEAR], name
    # withdrawing again changes nothing
    assert withdraw_year(warehouse, landing, YEAR + 1)["persons"] == 0


def test_withdrawing_a_year_drops_its_pending_restore_point(tmp_path):
    """A failed run's restore point for a year must not bring the year back after it was withdrawn."""
    from models_py import revisions
    from models_py.withdraw import withdraw_year

    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    ingest_all(warehouse, write_delivery(landing, YEAR))
    ingest_all(warehouse, write_delivery(landing, YEAR + 1, valid_tables(YEAR + 1)), YEAR + 1)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("begin transaction")
        assert revisions.keep_restore_point(con, "failed-run", YEAR + 1)
        con.execute("commit")
    finally:
        con.close()
    shutil.rmtree(landing / str(YEAR + 1))
    withdraw_year(warehouse, landing, YEAR + 1)
    assert revisions.pending_runs(warehouse) == []
    assert revisions.restore(warehouse, "failed-run") == []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for table in DELIVERED_TABLES:
            n = con.execute(f'select count(*) from raw."{table}" where register_year = ?', [YEAR + 1]).fetchone()[0]
            assert n == 0, table
    finally:
        con.close()


def test_withdraw_command_refuses_while_the_folder_is_there(tmp_path, capsys, monkeypatch):
    from models_py.withdraw import main

    landing = tmp_path / "landing"
    write_delivery(landing, YEAR)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["--year", str(YEAR), "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "still in the landing" in capsys.readouterr().err


def test_a_registered_future_year_is_refused_then_withdrawn_and_the_next_run_succeeds(tmp_path):
    """The issue's 2031: registered as a partition, refused by the gate; its folder deleted, every run
    failed on the missing manifest. After the withdraw job the next run succeeds."""
    import dagster as dg

    from dagster_project.assets.ingest import ingest_assets
    from dagster_project.automation import full_rebuild_tags
    from dagster_project.checks.ingest_checks import ingest_checks
    from dagster_project.jobs import withdraw_register_year
    from dagster_project.partitions import PARTITION_NAME
    from dagster_project.resources import RegisterPaths, Warehouse

    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    future = dt.date.today().year + 5
    write_delivery(landing, YEAR)
    write_delivery(landing, future)
    defs = dg.Definitions(
        assets=ingest_assets,
        asset_checks=ingest_checks,
        jobs=[dg.define_asset_job("ingest_years", selection=dg.AssetSelection.all()), withdraw_register_year],
        resources={
            "warehouse": Warehouse(path=str(warehouse)),
            "paths": RegisterPaths(landing=str(landing), reports=str(tmp_path / "reports")),
        },
        executor=dg.in_process_executor,
    )
    ingest = defs.resolve_job_def("ingest_years")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(PARTITION_NAME, [str(YEAR), str(future)])

        def run_ingest():
            order = instance.get_dynamic_partitions(PARTITION_NAME)
            return ingest.execute_in_process(
                instance=instance, tags=full_rebuild_tags([order[0], order[-1]]), raise_on_error=False
            )

        def failure_messages(result):
            return [e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure]

        first = run_ingest()
        assert not first.success
        assert any("rule register_year_not_in_future failed" in m for m in failure_messages(first))
        shutil.rmtree(landing / str(future))
        second = run_ingest()
        assert not second.success
        assert any("rule manifest_present failed" in m for m in failure_messages(second))
        withdrawn = defs.resolve_job_def("withdraw_register_year").execute_in_process(
            instance=instance, run_config={"ops": {"withdraw_year": {"config": {"year": future}}}}
        )
        assert withdrawn.success
        assert instance.get_dynamic_partitions(PARTITION_NAME) == [str(YEAR)]
        third = run_ingest()
        assert third.success, failure_messages(third)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select distinct register_year from raw.persons").fetchall() == [(YEAR,)]
    finally:
        con.close()
