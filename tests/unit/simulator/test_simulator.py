"""Register simulator: determinism, contract conformance, manifest, internal consistency."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from models_py.contracts import DELIVERED_TABLES
from models_py.simulator import load_params, simulate

ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = ROOT / "data_contracts"
TABLES = DELIVERED_TABLES
ARROW_TO_SQL = {
    "string": "VARCHAR",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "date32[day]": "DATE",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
}


def _sha_tree(d: Path) -> dict:
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim_full")
    s = simulate(base / "landing", scale=0.001, first_year=1990, last_year=2023, seed=42)
    return base, s


@pytest.fixture(scope="module")
def con(full_run):
    base, _ = full_run
    c = duckdb.connect()
    for t in TABLES:
        c.execute(
            f"create view {t} as select *, cast(regexp_extract(filename, '(\\d{{4}})/[a-z_]+\\.parquet$', 1) as int) as register_year "
            f"from read_parquet('{base / 'landing'}/*/{t}.parquet', filename=true)"
        )
    return c


def test_same_seed_byte_identical_other_seed_differs(tmp_path):
    a = simulate(tmp_path / "a" / "landing", scale=0.001, first_year=1990, last_year=1996, seed=7)
    b = simulate(tmp_path / "b" / "landing", scale=0.001, first_year=1990, last_year=1996, seed=7)
    c = simulate(tmp_path / "c" / "landing", scale=0.001, first_year=1990, last_year=1996, seed=8)
    ha, hb, hc = (_sha_tree(x.out_dir) for x in (a, b, c))
    assert len(ha) == 7 * 6
    assert ha == hb
    assert ha != hc
    assert _sha_tree(a.truth_dir) == _sha_tree(b.truth_dir)


def test_every_year_delivered_and_truth_written(full_run):
    base, s = full_run
    years = sorted(p.name for p in (base / "landing").iterdir())
    assert years == [str(y) for y in range(1990, 2024)]
    truth = base / "simulation_truth"
    for f in ("yearly.csv", "emigrations_by_registration_event_type.csv", "sur_cell_rates.csv", "params.yaml"):
        assert (truth / f).exists()
    assert yaml.safe_load((truth / "params.yaml").read_text())["version"] == load_params()["version"]


def test_tables_match_contracts(full_run):
    base, _ = full_run
    for t in TABLES:
        contract = yaml.safe_load((CONTRACTS / f"{t}.odcs.yaml").read_text())
        props = contract["schema"][0]["properties"]
        for year in ("1990", "2013", "2023"):
            tab = pq.read_table(base / "landing" / year / f"{t}.parquet")
            assert tab.schema.names == [p["name"] for p in props], (t, year)
            for p in props:
                col = tab.column(p["name"])
                assert ARROW_TO_SQL[str(col.type)] == p["physicalType"], (t, p["name"], col.type)
                if p.get("required"):
                    assert col.null_count == 0, (t, p["name"], year)
                q = {x.get("id"): x for x in p.get("quality", [])}
                for rule in q.values():
                    allowed = rule.get("arguments", {}).get("validValues")
                    if allowed is not None:
                        vals = set(v for v in col.to_pylist() if v is not None)
                        assert vals <= set(allowed), (t, p["name"], vals - set(allowed))
                opts = p.get("logicalTypeOptions", {})
                present = [v for v in col.to_pylist() if v is not None]
                for bound, op in (("minimum", min), ("maximum", max)):
                    if bound in opts and present:
                        limit = opts[bound]
                        if p.get("logicalType") == "date" and isinstance(limit, str):
                            limit = datetime.date.fromisoformat(limit)  # ODCS date bounds are ISO strings
                        value = op(present)
                        assert (value >= limit) if bound == "minimum" else (value <= limit), (t, p["name"], bound)
                if p.get("primaryKey"):
                    assert len(set(col.to_pylist())) == len(col), (t, p["name"], "duplicate key")


def test_manifest_counts_and_checksums(full_run):
    base, _ = full_run
    for yd in sorted((base / "landing").iterdir()):
        m = json.loads((yd / "manifest.json").read_text())
        assert m["register_year"] == int(yd.name)
        assert m["vintage"] == f"{int(yd.name) + 1}-03-31"
        assert list(m["tables"]) == list(TABLES)
        for t, e in m["tables"].items():
            f = yd / e["file"]
            assert hashlib.sha256(f.read_bytes()).hexdigest() == e["sha256"]
            assert pq.ParquetFile(f).metadata.num_rows == e["rows"]


def test_registration_date_within_register_year_and_event_ids_unique(con):
    bad = con.execute(
        "select count(*) from migration_events where year(registration_date) <> register_year "
        "or event_date > registration_date"
    ).fetchone()[0]
    assert bad == 0
    n, u = con.execute("select count(*), count(distinct event_id) from migration_events").fetchone()
    assert n == u and n > 0


def test_emigrants_were_resident_and_no_events_after_death(con):
    # every emigration registered in Y is of a person resident on 1 Jan Y or who immigrated before it
    bad = con.execute("""
        select count(*) from migration_events e
        where e.direction = 'out' and not exists (
            select 1 from population_status s where s.person_id = e.person_id and s.register_year = e.register_year and s.status = 'resident')
          and not exists (
            select 1 from migration_events i where i.person_id = e.person_id and i.direction = 'in' and i.event_date < e.event_date)
    """).fetchone()[0]
    assert bad == 0
    last = con.execute("select max(register_year) from persons").fetchone()[0]
    bad = con.execute(f"""
        select count(*) from migration_events e join persons p on p.person_id = e.person_id and p.register_year = {last}
        where p.death_date is not null and e.event_date > p.death_date""").fetchone()[0]
    assert bad == 0


def test_population_status_covers_residents_and_exits(con):
    # residents on 1 Jan Y+1 = residents 1 Jan Y + registered immigrations - registered exits (same register year)
    rows = con.execute("""
        with s as (select register_year y, count(*) filter (where status='resident') res,
                          count(*) filter (where status<>'resident') gone from population_status group by 1)
        select a.y, a.res, b.gone, b.res from s a join s b on b.y = a.y + 1 order by 1""").fetchall()
    assert rows
    # every resident has a municipality; each person appears once per year
    assert (
        con.execute(
            "select count(*) from population_status where status='resident' and municipality is null"
        ).fetchone()[0]
        == 0
    )
    # every person delivered in population_status exists in that year's persons table
    assert (
        con.execute("""select count(*) from population_status s anti join persons p
                          on p.person_id = s.person_id and p.register_year = s.register_year""").fetchone()[0]
        == 0
    )
    # births of year Y appear as residents on 1 Jan Y+1 unless they died/emigrated
    n_new = con.execute("""select count(*) from persons p where p.register_year = 2010 and p.birth_year = 2010 and p.birth_country='NOR'
                           and p.death_date is null""").fetchone()[0]
    n_res = con.execute("""select count(*) from population_status s join persons p on p.person_id=s.person_id and p.register_year=2011
                           where s.register_year = 2011 and p.birth_year = 2010 and p.birth_country='NOR'""").fetchone()[
        0
    ]
    assert n_new > 0 and n_res >= 0.9 * n_new


def test_administrative_emigrations(con):
    n_admin = con.execute("select count(*) from migration_events where registration_type='administrative'").fetchone()[
        0
    ]
    assert n_admin > 0
    assert (
        con.execute(
            "select count(*) from migration_events where registration_type='administrative' "
            "and (country is not null or direction <> 'out')"
        ).fetchone()[0]
        == 0
    )
    # last sign of life: positive wage/self-employment income or enrolment, or an earlier immigration;
    # the decision (event date) lies at least two years later
    bad = con.execute("""
        with e as (select person_id, event_date from migration_events where registration_type='administrative'),
        life as (
            select person_id, max(make_date(income_year, 12, 31)) d from income
            where wage_income > 0 or self_employment_income <> 0 or welfare_benefits > 0 group by 1
            union all
            select person_id, max(make_date(register_year - 1, 10, 1)) from education where enrolled group by 1
            union all
            select person_id, max(event_date) from migration_events where direction='in' group by 1)
        select count(*) from e join life l using (person_id)
        where l.d < e.event_date and datediff('day', l.d, e.event_date) < 365
    """).fetchone()[0]
    # income is yearly: the last income year Y0 (departure year) is at least 2 calendar years before the decision
    assert bad == 0
    bad2 = con.execute("""
        select count(*) from migration_events e join income i on i.person_id = e.person_id
        where e.registration_type='administrative' and (i.wage_income > 0 or i.welfare_benefits > 0)
          and i.income_year > year(e.event_date) - 2 and i.income_year < year(e.event_date)""").fetchone()[0]
    assert bad2 == 0


def test_late_registrations_change_earlier_years(con):
    # some emigrations registered in Y have an event date in an earlier year, so a later delivery adds to
    # an earlier event year; the 2013 clean-up registers more of them than the years around it [A §7]
    late = dict(
        con.execute("""select register_year, count(*) from migration_events
                               where direction='out' and year(event_date) < register_year group by 1""").fetchall()
    )
    assert sum(late.values()) > 0
    assert late.get(2013, 0) > 0


def test_immigrant_categories_and_parents(con):
    cats = dict(
        con.execute("select immigrant_category, count(*) from persons where register_year=2023 group by 1").fetchall()
    )
    assert {"A", "B", "C", "E"} <= set(cats)
    # C: Norwegian-born, both parents foreign-born where known, four foreign-born grandparents
    bad = con.execute("""select count(*) from persons where register_year=2023 and immigrant_category='C'
                         and (birth_country <> 'NOR' or mother_birth_country = 'NOR' or n_foreign_born_grandparents <> 4)""").fetchone()[
        0
    ]
    assert bad == 0
    bad = con.execute("""select count(*) from persons where register_year=2023 and immigrant_category='B'
                         and (birth_country = 'NOR' or n_foreign_born_grandparents <> 4)""").fetchone()[0]
    assert bad == 0
    # mothers linked for children born in the simulation
    n, linked = (
        con.execute("""select count(*), count(mother_id) from persons where register_year=2023 and birth_year >= 1991
                               and birth_country='NOR'""").fetchone()
    )
    assert linked == n


def test_every_foreign_born_person_has_a_first_immigration_date_also_before_1970(con):
    # dates are day numbers since 1970 inside the simulator: arrivals of the 1990 stock from 1946 on
    # are negative numbers and must still be delivered (only the sentinel means "no date")
    missing, before_1970, too_early = con.execute("""
        select count(*) filter (where first_immigration_date is null),
               count(*) filter (where first_immigration_date < date '1970-01-01'),
               count(*) filter (where first_immigration_date < date '1946-01-01')
        from persons where register_year = 2023 and immigrant_category in ('B', 'F', 'G')""").fetchone()
    assert missing == 0 and before_1970 > 0 and too_early == 0
    assert (
        con.execute("""select count(*) from persons where register_year = 2023
                          and immigrant_category not in ('B', 'F', 'G') and first_immigration_date is not null""").fetchone()[
            0
        ]
        == 0
    )
