"""The panel and its heavy inputs are built in yearly batches (dbt microbatch, delete+insert by year).
Adding a register year rebuilds only the batches from (first new year - panel_lookback_years) on, with
the arguments the Dagster dbt asset uses (dagster_project.automation.dbt_build_args), and must give
exactly the tables that a rebuild from scratch gives; the earlier years it recomputes really do change.
The data tests of such a run scan the rebuilt years only (dbt/macros/test_window.sql) and still fail
on a fault inside them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from dagster_project.automation import dbt_build_args, lookahead_years, panel_window_start
from models_py.panel import full_rebuild_reason
from models_py.revisions import LOG_DDL
from tests.helpers.dbt import load_landing, run_dbt

FIRST, LAST = 1996, 2004
PANEL = "marts.fct_person_year"
# every year-batched model: relation -> its batch column
BATCHED = {
    PANEL: "year",
    "intermediate.int_person_year_status": "year",
    "intermediate.int_person_year_econ": "year",
    "intermediate.int_overcoverage": "year",
    "intermediate.int_income_ranked": "register_year",
}
MODELS = ["--select", "+fct_person_year"]  # the panel and what it is built from (no tests: speed)


def landing_up_to(full: Path, target: Path, last: int) -> Path:
    target.mkdir()
    for year in range(FIRST, last + 1):
        (target / str(year)).symlink_to(full / str(year), target_is_directory=True)
    return target


def load(landing: Path, warehouse: Path) -> None:
    first_time = not warehouse.exists()
    con = duckdb.connect(str(warehouse))
    try:
        load_landing(landing, con)
    finally:
        con.close()
    if first_time:
        con = duckdb.connect(str(warehouse))
        for ddl in LOG_DDL:  # what ingestion creates beside raw.* (empty: no revisions here)
            con.execute(ddl)
        con.close()
        run_dbt(warehouse, "seed")


def reason(warehouse: Path, run_years: list[int], window_start: int) -> str | None:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return full_rebuild_reason(con, "run-1", run_years, list(range(FIRST, LAST + 1)), window_start)
    finally:
        con.close()


def year_hashes(warehouse: Path, relation: str = PANEL) -> dict[int, str]:
    column = BATCHED[relation]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            f"select {column}, list(t order by t) from (select {column}, cast(p as varchar) as t "
            f"from {relation} as p) group by {column}"
        ).fetchall()
    finally:
        con.close()
    return {year: hashlib.sha256(repr(values).encode()).hexdigest() for year, values in rows}


def batched_hashes(warehouse: Path) -> dict[str, dict[int, str]]:
    return {relation: year_hashes(warehouse, relation) for relation in BATCHED}


@pytest.fixture(scope="module")
def registers(tmp_path_factory):
    from models_py.simulator import simulate

    base = tmp_path_factory.mktemp("incremental")
    simulate(base / "landing", scale=0.001, first_year=FIRST, last_year=LAST, seed=5, truth_dir=base / "truth")
    return base


def test_adding_a_year_rebuilds_the_lookback_years_and_equals_a_full_rebuild(registers):
    base = registers
    order = [str(y) for y in range(FIRST, LAST + 1)]

    # reference: every year at once, from scratch
    full = base / "full.duckdb"
    load(base / "landing", full)
    assert panel_window_start(order, order) is None
    full_args = dbt_build_args(None, order)
    # the whole panel from the model's first batch to the newest year, no empty batches up to today
    assert full_args == [
        "build",
        "--full-refresh",
        "--event-time-start",
        "1990-01-01",
        "--event-time-end",
        f"{LAST + 1}-01-01",
    ]
    run_dbt(full, "run", *full_args[1:], *MODELS)
    expected = batched_hashes(full)

    # the same register one year earlier, then the new year arrives
    inc = base / "incremental.duckdb"
    load(landing_up_to(base / "landing", base / "landing_before", LAST - 1), inc)
    run_dbt(inc, "run", "--full-refresh", *MODELS)
    before = year_hashes(inc)
    before_status = year_hashes(inc, "intermediate.int_person_year_status")
    load(base / "landing", inc)  # raw.* now holds every year
    start = panel_window_start([str(LAST)], order)
    assert start == LAST - lookahead_years()
    assert reason(inc, [LAST], start) is None  # the simulator never revises a person's attributes
    args = dbt_build_args(start, order, None)
    assert args == ["build", "--event-time-start", f"{start}-01-01", "--event-time-end", f"{LAST + 1}-01-01"]
    run_dbt(inc, "run", *args[1:], *MODELS)
    after = year_hashes(inc)

    assert batched_hashes(inc) == expected
    # earlier years inside the window did change (resident_dec31, flags, late registrations): a
    # window without the lookback would have left them stale
    changed = sorted(y for y in before if before[y] != after[y])
    assert changed and min(changed) >= start and (LAST - 1) in changed, changed
    # resident_dec31 of the year before the new one is known only now
    status_after = year_hashes(inc, "intermediate.int_person_year_status")
    assert before_status[LAST - 1] != status_after[LAST - 1]

    # reasons to rebuild the whole panel instead, found in this warehouse
    con = duckdb.connect(str(inc))
    try:
        # a corrected birth country in the newest delivery changes every year of that person
        con.execute(f"""update raw.persons set birth_country = 'ZZZ' where register_year = {LAST}
                        and person_id = (select min(person_id) from raw.persons where register_year = {LAST - 1})""")
        assert "changes the attributes of 1 people already delivered in" in full_rebuild_reason(
            con, "run-2", [LAST], list(range(FIRST, LAST + 1)), LAST - 3
        )
        con.execute(f"""insert into raw.revision_log (register_year, table_name, rows_changed, rows_removed, run_id)
                        values ({LAST - 5}, 'persons', 3, 0, 'run-3')""")
        assert (
            full_rebuild_reason(con, "run-3", [LAST - 5], list(range(FIRST, LAST + 1)), LAST - 8)
            == f"this run revised persons rows of register year(s) {LAST - 5}"
        )
        con.execute("drop table marts.fct_person_year")
        assert "not a yearly-batched table" in full_rebuild_reason(
            con, "run-4", [LAST], list(range(FIRST, LAST + 1)), LAST - 3
        )
    finally:
        con.close()


def test_a_new_year_run_tests_the_rebuilt_years_and_still_fails_on_a_fault_in_them(registers, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    load(registers / "landing", warehouse)
    con = duckdb.connect(str(warehouse))
    # a duplicated income row in a year before the window: the last build tested that year
    con.execute(f"insert into raw.income select * from raw.income where register_year = {FIRST} limit 1")
    con.close()
    test = "source_unique_combination_raw_income_person_id__register_year"
    window = dbt_build_args(LAST - lookahead_years(), [str(y) for y in range(FIRST, LAST + 1)])
    assert run_dbt(warehouse, *window, "--select", test).returncode == 0
    # a full rebuild (or a dbt run without a batch window) tests every year and finds it
    full = run_dbt(warehouse, *dbt_build_args(None, [str(LAST)]), "--select", test, check=False)
    assert full.returncode != 0 and "Got 1 result" in full.stdout, full.stdout[-2000:]
    assert run_dbt(warehouse, "test", "--select", test, check=False).returncode != 0
    # the same fault inside the window fails the windowed run
    con = duckdb.connect(str(warehouse))
    con.execute(f"delete from raw.income where register_year = {FIRST}")
    con.execute(f"insert into raw.income select * from raw.income where register_year = {LAST} limit 1")
    con.close()
    windowed = run_dbt(warehouse, *window, "--select", test, check=False)
    assert windowed.returncode != 0 and "Got 1 result" in windowed.stdout, windowed.stdout[-2000:]


def test_run_takes_the_whole_panel_from_scratch_when_it_must():
    order = [str(y) for y in range(1990, 2024)]
    assert panel_window_start([], order) is None  # rebuild_downstream
    assert panel_window_start(["1990", "1991"], order) is None  # takes in the earliest year
    assert dbt_build_args(2020, order, "a reason")[:2] == ["build", "--full-refresh"]
    assert dbt_build_args(None, []) == ["build", "--full-refresh"]  # nothing registered: dbt's own batch range
    # a revised old year: its window runs to the newest year
    start = panel_window_start(["2005"], order)
    assert dbt_build_args(start, order)[1:] == [
        "--event-time-start",
        f"{2005 - lookahead_years()}-01-01",
        "--event-time-end",
        "2024-01-01",
    ]
