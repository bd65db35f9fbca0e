"""dbt project: build on a tiny hand-written register and check the panel's edge cases.

Each test builds its own DuckDB file in a temporary directory (dbt is run by tests/helpers/dbt.py).
"""

from __future__ import annotations

import duckdb
import pytest

from tests.helpers.dbt import DBT_DIR, run_dbt
from tests.helpers.warehouse import query_rows

RAW_DDL = {
    "persons": """person_id VARCHAR, sex TINYINT, birth_year SMALLINT, birth_month TINYINT,
        birth_country VARCHAR, mother_id VARCHAR, father_id VARCHAR, mother_birth_country VARCHAR,
        father_birth_country VARCHAR, n_foreign_born_grandparents TINYINT, immigrant_category VARCHAR,
        first_immigration_date DATE, death_date DATE""",
    "population_status": """person_id VARCHAR, status VARCHAR, municipality VARCHAR, citizenship VARCHAR,
        marital_status VARCHAR, spouse_id VARCHAR, n_children_in_household TINYINT""",
    "migration_events": """event_id VARCHAR, person_id VARCHAR, direction VARCHAR, event_date DATE,
        registration_date DATE, country VARCHAR, registration_type VARCHAR, immigration_reason VARCHAR,
        municipality VARCHAR""",
    "education": "person_id VARCHAR, nus_level TINYINT, enrolled BOOLEAN",
    "income": """person_id VARCHAR, income_year SMALLINT, wage_income DOUBLE, self_employment_income DOUBLE,
        welfare_benefits DOUBLE, net_wealth DOUBLE, employed BOOLEAN, self_employed BOOLEAN""",
}
TABLES = list(RAW_DDL)


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for t, cols in RAW_DDL.items():
        con.execute(f"create or replace table raw.{t} ({cols}, register_year SMALLINT, vintage DATE)")


# ---------------------------------------------------------------------------------------------
# A tiny register, register years 2000..2010, with one person per edge case.
# ---------------------------------------------------------------------------------------------
FIRST, LAST = 2000, 2010


def _p(pid, sex, by, bm, bc, mbc, fbc, gp, cat, death=None, mother=None, father=None, first_imm=None):
    return (pid, sex, by, bm, bc, mother, father, mbc, fbc, gp, cat, first_imm, death)


PERSONS = [
    # majority, resident throughout; lives in Skjerstad (1842) until 2004, then Bodø (1804)
    _p("P1", 1, 1970, 5, "NOR", "NOR", "NOR", 0, "A"),
    # labour immigrant, arrives mid-2001, returns to POL 2005 (reported)
    _p("P2", 2, 1980, 7, "POL", "POL", "POL", 4, "B", first_imm="2001-06-15"),
    # Swede: first immigration 2000, emigrates 2002, re-immigrates 2004 (botid from 2000)
    _p("P3", 1, 1975, 1, "SWE", "SWE", "SWE", 4, "B", first_imm="2000-02-01"),
    # Somali, no sign of life after 2001, administrative emigration decided 2005-04-01
    _p("P4", 1, 1985, 3, "SOM", "SOM", "SOM", 4, "B", first_imm="2000-01-10"),
    # resident, emigrates and returns in 2003 (multi-migrant)
    _p("P5", 2, 1990, 12, "IRQ", "IRQ", "IRQ", 4, "B"),
    # emigrates 2003 to GBR, dies abroad 2004
    _p("P6", 1, 1960, 6, "NOR", "NOR", "NOR", 0, "A", death="2004-06-01"),
    # descendant (G1), emigration dated 2004 but registered 2006 (late registration)
    _p("P7", 2, 1982, 2, "NOR", "PAK", "PAK", 4, "C"),
    # dies in Norway 2007
    _p("P8", 1, 1930, 1, "NOR", "NOR", "NOR", 0, "A", death="2007-03-15"),
]


# residence on 1 Jan per person: list of (year, status, municipality)
def _status_rows():
    rows = []

    def add(pid, year, status, muni, cit="NOR", spouse=None, kids=0):
        rows.append((pid, status, muni, cit, "never_married", spouse, kids, year))

    for y in range(FIRST, LAST + 1):
        add("P1", y, "resident", "1842" if y <= 2004 else "1804")
    for y in range(2002, 2006):
        add("P2", y, "resident", "0301", "POL")
    add("P2", 2006, "emigrated", None, "POL")
    for y in (2001, 2002):
        add("P3", y, "resident", "1103", "SWE")
    add("P3", 2003, "emigrated", None, "SWE")
    for y in range(2005, LAST + 1):
        add("P3", y, "resident", "1103", "SWE")
    for y in range(2001, 2006):
        add("P4", y, "resident", "0301", "SOM")
    add("P4", 2006, "emigrated", None, "SOM")
    for y in range(FIRST, LAST + 1):
        add("P5", y, "resident", "1201", "IRQ")
    for y in range(FIRST, 2004):
        add("P6", y, "resident", "0301")
    add("P6", 2004, "emigrated", None)
    for y in range(FIRST, 2005):
        add("P7", y, "resident", "0301")
    add("P7", 2005, "resident", "0301")  # late registration: still resident in the 2005 snapshot
    add("P7", 2006, "resident", "0301")
    add("P7", 2007, "emigrated", None)
    for y in range(FIRST, 2008):
        add("P8", y, "resident", "1601")
    add("P8", 2008, "dead", "1601")
    return rows


EVENTS = [
    # event_id, person, dir, event_date, registration_date, country, type, reason, municipality
    ("E1", "P2", "in", "2001-06-15", "2001-06-20", "POL", "reported", "work", "0301"),
    ("E2", "P2", "out", "2005-03-01", "2005-03-05", "POL", "reported", None, "0301"),
    ("E3", "P3", "in", "2000-02-01", "2000-02-03", "SWE", "reported", "nordic", "1103"),
    ("E4", "P3", "out", "2002-05-01", "2002-05-02", "DNK", "reported", None, "1103"),
    ("E5", "P3", "in", "2004-03-01", "2004-03-02", "SWE", "reported", "nordic", "1103"),
    ("E6", "P4", "in", "2000-01-10", "2000-01-12", "SOM", "reported", "refuge", "0301"),
    ("E7", "P4", "out", "2005-04-01", "2005-04-01", None, "administrative", None, "0301"),
    ("E8", "P5", "out", "2003-02-01", "2003-02-02", "USA", "reported", None, "1201"),
    ("E9", "P5", "in", "2003-10-01", "2003-10-02", "USA", "reported", "family", "1201"),
    ("E10", "P6", "out", "2003-05-01", "2003-05-02", "GBR", "reported", None, "0301"),
    ("E11", "P7", "out", "2004-06-01", "2006-02-01", "PAK", "reported", None, "0301"),
]


def _income_rows():
    rows = []
    for ry in range(FIRST, LAST + 1):
        iy = ry - 1
        active = {
            "P1": True,
            "P2": 2001 <= iy <= 2005,
            "P3": iy in (2000, 2001, 2002, 2004, 2005, 2006, 2007, 2008, 2009),
            "P4": iy in (2000, 2001),
            "P5": True,
            "P6": iy <= 2003,
            "P7": iy <= 2004,
            "P8": iy <= 2007,
        }
        for pid, act in active.items():
            if act:
                wage = 100000.0 * (1 + (int(pid[1:]) % 7)) if pid != "P4" else 0.0
                rows.append((pid, iy, wage, 0.0, 5000.0 if pid == "P4" else 0.0, 1000.0, pid != "P4", False, ry))
    return rows


def load_tiny_register(con: duckdb.DuckDBPyConnection) -> None:
    create_raw_schema(con)
    for ry in range(FIRST, LAST + 1):
        vint = f"{ry + 1}-03-31"
        con.executemany(
            "insert into raw.persons values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    *r[:11],
                    r[11] if r[11] and int(r[11][:4]) <= ry else None,  # first immigration, once it happened
                    r[12] if r[12] and int(r[12][:4]) < ry else None,  # death, from the next delivery
                    ry,
                    vint,
                )
                for r in PERSONS
            ],
        )
    con.executemany(
        "insert into raw.population_status values (?,?,?,?,?,?,?,?, cast(? as date))",
        [(*r, f"{r[-1] + 1}-03-31") for r in _status_rows()],
    )
    con.executemany(
        "insert into raw.migration_events values (?,?,?,?,?,?,?,?,?,?, cast(? as date))",
        [(*e, int(e[4][:4]), f"{int(e[4][:4]) + 1}-03-31") for e in EVENTS],
    )
    edu = []
    for pid, status, muni, *_rest, y in _status_rows():
        if status == "resident":
            edu.append((pid, 6 if pid in ("P1", "P7") else 3, pid == "P7" and y <= 2003, y))
    con.executemany(
        "insert into raw.education values (?,?,?,?, cast(? as date))", [(*r, f"{r[-1] + 1}-03-31") for r in edu]
    )
    con.executemany(
        "insert into raw.income values (?,?,?,?,?,?,?,?,?, cast(? as date))",
        [(*r, f"{r[-1] + 1}-03-31") for r in _income_rows()],
    )


@pytest.fixture(scope="module")
def tiny_warehouse(tmp_path_factory):
    d = tmp_path_factory.mktemp("dbt_tiny")
    wh = d / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    load_tiny_register(con)
    con.close()
    res = run_dbt(wh, "build", check=False)
    return wh, res


def test_build_passes(tiny_warehouse):
    wh, res = tiny_warehouse
    assert res.returncode == 0, res.stdout[-8000:]
    assert "ERROR=0" in res.stdout.replace(" ", "")


def test_edge_cases_in_the_marts(tiny_warehouse):
    wh, res = tiny_warehouse
    assert res.returncode == 0
    em = {
        r[0]: r[1:]
        for r in query_rows(
            wh,
            """
        select event_id, event_year, registration_year, backdated_year, multi_migrant, dest_class_b,
               dest_cat7, returned_5y, died_abroad_after_emigration, botid_at_event
        from marts.fct_emigration""",
        )
    }
    # administrative emigration decided 2005, last sign of life 2001 -> back-dated to 2002
    assert em["E7"][:3] == (2005, 2005, 2002) and em["E7"][4:6] == ("unknown", "UNKNOWN")
    # late registration: dated 2004, registered 2006
    assert em["E11"][:2] == (2004, 2006) and em["E11"][5] == "ORIGIN"
    # emigration and return in the same year
    assert em["E8"][3] is True and em["E8"][6] == 1
    # death abroad after emigration: not a return
    assert em["E10"][7] is True and em["E10"][6] == 0
    # re-immigration: botid of P3's 2002 emigration counts from the 2000 arrival
    assert em["E4"][8] == 2
    py = {
        (r[0], r[1]): r[2:]
        for r in query_rows(
            wh,
            """
        select person_id, year, resident_jan1, arrived_in_year, municipality_2013, died, emigrated,
               suspected_overcoverage, duration_years
        from marts.fct_person_year""",
        )
    }
    assert py[("P2", 2001)][:2] == (False, True)  # arrival mid-year
    assert py[("P1", 2003)][2] == "1804"  # Skjerstad 1842 -> Bodø 1804
    assert py[("P8", 2007)][3] is True  # died in Norway
    assert not any(v[3] for k, v in py.items() if k[0] == "P6")  # died abroad: no death in the panel
    assert py[("P4", 2003)][5] is True  # no sign of life 2002-2005
    assert py[("P3", 2005)][6] == 5  # duration from the first arrival (2000)
    assert ("P6", 2004) not in py  # not at risk after emigrating


@pytest.mark.parametrize(
    "vars_",
    [
        {
            "study_a_numerator_classification": "cohort",
            "study_a_age_convention": "end_of_year",
            "study_a_admin_emigration_dating": "backdated",
            "study_a_macro_multi_migrants": "include",
            "study_a_micro_multi_migrants": "exclude",
            "study_a_period_average": "mean_of_rates",
            "study_b_missing_destination": "censor",
            "study_b_self_employed": "person",
            "study_b_income_percentile_reference": "residents_20_65",
            "study_c_deaths_count_as_returned": False,
        },
        {
            "study_a_admin_emigration_dating": "exclude",
            "study_b_missing_destination": "return",
            "overcoverage_no_sign_of_life_years": 3,
            "provisional_years": 1,
        },
    ],
)
def test_alternative_settings_build(tmp_path, vars_):
    """Every documented alternative of the settings compiles and builds (all tests pass)."""
    import json

    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    load_tiny_register(con)
    con.close()
    run_dbt(wh, "build", "--exclude", "test_type:unit", "--vars", json.dumps(vars_))
    # the settings took effect
    if vars_.get("study_a_admin_emigration_dating") == "exclude":
        assert query_rows(wh, "select count(*) from intermediate.int_a_events where is_administrative")[0][0] == 0
    else:
        # back-dated: P4's administrative emigration counts in 2002
        assert query_rows(wh, "select year from intermediate.int_a_events where event_id = 'E7'")[0][0] == 2002


def test_settings_live_in_dbt_project_vars():
    """Python reads the study settings from dbt_project.yml vars (single place)."""
    import yaml

    cfg = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    assert cfg["name"] == "register_pipeline" and cfg["profile"] == "register_pipeline"
    v = cfg["vars"]
    for k in [
        "provisional_years",
        "overcoverage_no_sign_of_life_years",
        "small_cell_threshold",
        "study_a_age_convention",
        "study_a_macro_multi_migrants",
        "study_a_admin_emigration_dating",
        "study_b_adult_arrival_age",
        "study_b_min_age",
        "study_b_max_age",
        "study_c_return_horizon_years",
        "study_c_periods",
        "study_c_min_age",
        "study_c_max_age",
    ]:
        assert k in v, k
    assert v["study_b_adult_arrival_age"] == 18 and v["study_c_return_horizon_years"] == 5
    prof = yaml.safe_load((DBT_DIR / "profiles.yml").read_text())["register_pipeline"]["outputs"]["dev"]
    assert prof["type"] == "duckdb" and prof["threads"] == 1
    assert prof["retries"] == {"connect_attempts": 5, "query_attempts": 1}
    src = yaml.safe_load((DBT_DIR / "models" / "staging" / "_sources.yml").read_text())["sources"][0]
    assert {t["name"]: t["meta"]["dagster"]["asset_key"] for t in src["tables"]} == {t: ["raw", t] for t in TABLES}
