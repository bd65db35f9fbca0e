"""The Great Expectations suites from the contracts: each rule passes on plausible data and fails
when its one thing is broken; small or first years are noted, not judged; the Dagster checks are
partitioned, blocking, validate every year of a range and publish aggregates only."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from dagster_project.automation import RANGE_END, RANGE_START
from models_py.contracts import delivered_contracts
from models_py.ingest import ensure_raw_schema
from models_py.quality.expectations import SemanticRule, semantic_rules, validate_year

YEAR = 2005
N = {YEAR - 1: 2950, YEAR: 3000}


def plausible_year(con, year: int, n: int) -> None:
    """A register year with known, plausible shares: 50 % male, ages 0-89 uniform, 10 % immigrants,
    99 % of status rows resident, emigrations n/15 (20 % administrative without destination, 10 %
    reported without destination), immigrations n/10, education 10 % missing and 30 % NUS 7,
    employment 50 %, mean wage 100 000 + 10 000 x (year - 2000)."""
    v = f"{year} as register_year, date '{year + 1}-03-31' as vintage"
    con.execute(f"""insert into raw.persons by name select 'P' || i as person_id, case when i % 2 = 0 then 1 else 2 end as sex,
        {year} - 1 - i % 90 as birth_year, 1 as birth_month, 'NOR' as birth_country,
        case when i % 10 = 0 then 'B' else 'A' end as immigrant_category, 0 as n_foreign_born_grandparents, {v}
        from range({n}) r(i)""")
    con.execute(f"""insert into raw.population_status by name select 'P' || i as person_id,
        case when i < {n} - 30 then 'resident' else 'emigrated' end as status, '0301' as municipality,
        'NOR' as citizenship, 'never_married' as marital_status, 0 as n_children_in_household, {v} from range({n}) r(i)""")
    con.execute(f"""insert into raw.migration_events by name select 'E{year}-o' || i as event_id, 'P' || i as person_id,
        'out' as direction, date '{year}-06-01' as event_date, date '{year}-06-10' as registration_date,
        case when i % 5 = 0 or i % 10 = 1 then null else 'SWE' end as country,
        case when i % 5 = 0 then 'administrative' else 'reported' end as registration_type, {v}
        from range({n} // 15) r(i)""")
    con.execute(f"""insert into raw.migration_events by name select 'E{year}-i' || i as event_id, 'P' || ({n} - 1 - i) as person_id,
        'in' as direction, date '{year}-03-01' as event_date, date '{year}-03-10' as registration_date, 'POL' as country,
        'reported' as registration_type, 'work' as immigration_reason, {v} from range({n} // 10) r(i)""")
    con.execute(f"""insert into raw.education by name select 'P' || i as person_id,
        case when i % 10 = 0 then null when i % 10 in (6, 7, 8) then 7 else 3 end as nus_level, false as enrolled, {v}
        from range({n} - 30) r(i)""")
    con.execute(f"""insert into raw.income by name select 'P' || i as person_id, {year} - 1 as income_year,
        100000 + 10000 * ({year} - 2000) as wage_income, 0 as self_employment_income, 0 as welfare_benefits,
        0 as net_wealth, i % 2 = 0 as employed, false as self_employed, {v} from range({n} - 30) r(i)""")


@pytest.fixture
def con():
    con = duckdb.connect()
    ensure_raw_schema(con, delivered_contracts())
    for year, n in N.items():
        plausible_year(con, year, n)
    yield con
    con.close()


def failed(con, table, year=YEAR) -> set[str]:
    return set(validate_year(con, table, year).failed)


def test_plausible_year_passes_every_rule_and_every_rule_is_judged(con):
    for table in semantic_rules():
        report = validate_year(con, table, YEAR)
        assert report.passed, (table, [o for o in report.outcomes if not o.success])
        assert all(o.success is True for o in report.outcomes), (
            table,
            [o for o in report.outcomes if o.success is None],
        )


O = "register_year = 2005"
BREAKS = [  # (name, SQL on year 2005, table, exactly the rules that must fail)
    ("all_male", [f"update raw.persons set sex = 1 where {O}"], "persons", {"persons_male_share"}),
    (
        "half_immigrants",
        [f"update raw.persons set immigrant_category = 'B' where {O} and person_id[-1:] in ('1','3','5','7','9')"],
        "persons",
        {"persons_immigrant_share"},
    ),
    (
        "persons_shrink",
        [f"delete from raw.persons where {O} and person_id in (select 'P' || i from range(2500, 3000) r(i))"],
        "persons",
        {"persons_count_change"},
    ),
    (
        "exits_duplicated",
        [
            "insert into raw.population_status by name select 'X' || i as person_id, 'dead' as status, 'NOR' as citizenship, "
            "'married' as marital_status, 0 as n_children_in_household, 2005 as register_year from range(500) r(i)"
        ],
        "population_status",
        {"resident_share"},
    ),
    (
        "residents_jump",
        [
            "insert into raw.population_status by name select 'X' || i as person_id, 'resident' as status, '0301' as municipality, "
            "'NOR' as citizenship, 'married' as marital_status, 0 as n_children_in_household, 2005 as register_year from range(500) r(i)"
        ],
        "population_status",
        {"residents_count_change"},
    ),
    (
        "residents_all_male",
        [f"update raw.persons set sex = 1 where {O}"],
        "population_status",
        {"residents_male_share"},
    ),
    (
        "five_aged_154",
        [f"update raw.persons set birth_year = 1850 where {O} and person_id in ('P1', 'P2', 'P3', 'P4', 'P5')"],
        "population_status",
        {"residents_age_range"},
    ),
    (
        "everyone_20_years_older",
        [f"update raw.persons set birth_year = birth_year - 20 where {O}"],
        "population_status",
        {"residents_age_distribution"},
    ),
    (
        "admin_share_55pct",
        [
            f"update raw.migration_events set country = 'SWE' where {O} and registration_type = 'reported'",
            f"update raw.migration_events set registration_type = 'administrative', country = null where {O} "
            f"and direction = 'out' and cast(event_id[8:] as int) % 20 < 11",
        ],
        "migration_events",
        {"emigration_admin_share"},
    ),
    (
        "destinations_lost",
        [f"update raw.migration_events set country = null where {O} and direction = 'out'"],
        "migration_events",
        {"emigration_unknown_destination_share"},
    ),
    (
        "admin_with_destination",
        [f"update raw.migration_events set country = 'SWE' where {O} and registration_type = 'administrative'"],
        "migration_events",
        {"administrative_emigration_known_destination_share"},
    ),
    (
        "emigrations_repeated",
        [
            f"insert into raw.migration_events by name select event_id || 'b' as event_id, person_id, direction, "
            f"event_date + 30 as event_date, registration_date + 30 as registration_date, country, registration_type, register_year "
            f"from raw.migration_events where {O} and direction = 'out' and cast(event_id[8:] as int) % 10 = 2"
        ],
        "migration_events",
        {"repeated_emigration_share"},
    ),
    (
        "emigrations_tripled",
        [
            "insert into raw.migration_events by name select 'E2005-x' || i as event_id, 'P' || (1000 + i) as person_id, "
            "'out' as direction, date '2005-07-01' as event_date, date '2005-07-05' as registration_date, 'DNK' as country, "
            "'reported' as registration_type, 2005 as register_year from range(400) r(i)"
        ],
        "migration_events",
        {"emigrations_count_change"},
    ),
    (
        "immigrations_tripled",
        [
            "insert into raw.migration_events by name select 'E2005-y' || i as event_id, 'P' || i as person_id, "
            "'in' as direction, date '2005-07-01' as event_date, date '2005-07-05' as registration_date, 'DNK' as country, "
            "'reported' as registration_type, 2005 as register_year from range(700) r(i)"
        ],
        "migration_events",
        {"immigrations_count_change"},
    ),
    (
        "education_40pct_missing",
        [f"update raw.education set nus_level = null where {O} and nus_level = 3 and person_id[-1:] in ('1','2','3')"],
        "education",
        {"education_missing_share"},
    ),
    (
        "no_higher_education",
        [f"update raw.education set nus_level = 3 where {O} and nus_level = 7"],
        "education",
        {"education_high_share"},
    ),
    (
        "education_rows_dropped",
        [f"delete from raw.education where {O} and person_id in (select 'P' || i from range(2500, 3000) r(i))"],
        "education",
        {"education_count_change"},
    ),
    ("nobody_employed", [f"update raw.income set employed = false where {O}"], "income", {"income_employed_share"}),
    (
        "income_rows_dropped",
        [f"delete from raw.income where {O} and person_id in (select 'P' || i from range(2300, 3000) r(i))"],
        "income",
        {"income_count_change"},
    ),
    (
        "wages_in_ore",
        [f"update raw.income set wage_income = wage_income * 100 where {O}"],
        "income",
        {"mean_wage_change"},
    ),
]


def test_every_contract_rule_has_a_failing_case():
    covered = set().union(*(b[3] for b in BREAKS))
    assert covered == {r.rule_id for rules in semantic_rules().values() for r in rules}


@pytest.mark.parametrize("name, sqls, table, expected", BREAKS, ids=[b[0] for b in BREAKS])
def test_breaking_one_thing_fails_exactly_its_rules(con, name, sqls, table, expected):
    assert failed(con, table) == set()
    for sql in sqls:
        con.execute(sql)
    assert failed(con, table) == expected


def test_first_year_and_small_years_pass_with_a_note(con):
    report = validate_year(con, "migration_events", YEAR - 1)  # no 2003 to compare with
    assert report.passed
    change = {o.rule_id: o for o in report.outcomes if o.kind == "change"}
    assert {o.success for o in change.values()} == {None}
    assert change["emigrations_count_change"].note.startswith("first year: no rows in raw.migration_events for 2003")
    small = duckdb.connect()
    ensure_raw_schema(small, delivered_contracts())
    plausible_year(small, YEAR - 1, 300)
    plausible_year(small, YEAR, 300)
    small.execute("update raw.persons set sex = 1")  # would fail, but 300 < min_n
    report = validate_year(small, "population_status", YEAR)
    outcome = next(o for o in report.outcomes if o.rule_id == "residents_male_share")
    assert report.passed and outcome.success is None and outcome.note == "not judged: n = 270 < min_n = 1000"


def test_each_gx_expectation_type_passes_and_fails_on_pandas(con):
    """The three GX expectations the contracts use, on the same data with bounds that hold or not."""

    def rule(expectation, **kw):
        args = {k: kw.pop(k) for k in ("min_value", "max_value", "mostly", "quantile_ranges") if k in kw}
        return SemanticRule(
            rule_id="r",
            table="population_status",
            description="",
            expectation=expectation,
            join="persons",
            arguments=args,
            **kw,
        )

    cases = [
        (rule("expect_column_values_to_be_between", value="count(*)", min_value=2900, max_value=3100), True),
        (rule("expect_column_values_to_be_between", value="count(*)", min_value=3100, max_value=4000), False),
        (
            rule(
                "expect_column_values_to_be_between",
                row_value="{register_year} - 1 - p.birth_year",
                min_value=0,
                max_value=89,
            ),
            True,
        ),
        (
            rule(
                "expect_column_values_to_be_between",
                row_value="{register_year} - 1 - p.birth_year",
                min_value=0,
                max_value=88,
            ),
            False,
        ),
        (
            rule(
                "expect_column_values_to_be_between",
                row_value="{register_year} - 1 - p.birth_year",
                min_value=0,
                max_value=88,
                mostly=0.9,
            ),
            True,
        ),
        (rule("expect_column_mean_to_be_between", row_value="p.sex", min_value=1.4, max_value=1.6), True),
        (rule("expect_column_mean_to_be_between", row_value="p.sex", min_value=1.6, max_value=2.0), False),
        (
            rule(
                "expect_column_quantile_values_to_be_between",
                row_value="{register_year} - 1 - p.birth_year",
                quantile_ranges={"quantiles": [0.5], "value_ranges": [[40, 50]]},
            ),
            True,
        ),
        (
            rule(
                "expect_column_quantile_values_to_be_between",
                row_value="{register_year} - 1 - p.birth_year",
                quantile_ranges={"quantiles": [0.5], "value_ranges": [[50, 60]]},
            ),
            False,
        ),
    ]
    for r, expected in cases:
        outcome = validate_year(con, "population_status", YEAR, (r,)).outcomes[0]
        assert outcome.success is expected, (r, outcome)


# ------------------------------------------------------------------------------- Dagster checks
def _run(warehouse, table, deps, tags=None, partition_key=None):
    from dagster_project.checks.quality_checks import build_semantic_check
    from dagster_project.partitions import register_years
    from dagster_project.resources import Warehouse

    def stub(name):  # the ingest asset's key; the rows are already in the warehouse
        @dg.asset(key=["raw", name], partitions_def=register_years, backfill_policy=dg.BackfillPolicy.single_run())
        def _stub() -> dg.MaterializeResult:
            return dg.MaterializeResult()

        return _stub

    @dg.asset(
        deps=[dg.AssetKey(["raw", table])],
        partitions_def=register_years,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def downstream() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    # disposed afterwards: an undisposed instance stays registered as the current defs-state storage
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(register_years.name, [str(YEAR - 1), str(YEAR)])
        return dg.materialize(
            [stub(table), *(stub(d) for d in deps), downstream, build_semantic_check(table)],
            resources={"warehouse": Warehouse(path=str(warehouse))},
            instance=instance,
            partition_key=partition_key,
            tags=tags,
            raise_on_error=False,
        )


def _warehouse(tmp_path, breaks=()):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    ensure_raw_schema(con, delivered_contracts())
    for year, n in N.items():
        plausible_year(con, year, n)
    for sql in breaks:
        con.execute(sql)
    con.close()
    return path


def test_dagster_check_is_partitioned_blocking_and_runs_every_year_of_a_range(tmp_path):
    warehouse = _warehouse(tmp_path)
    result = _run(
        warehouse,
        "population_status",
        ["persons"],
        tags={RANGE_START: str(YEAR - 1), RANGE_END: str(YEAR)},
    )
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == "semantic_expectations"
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    assert meta["years_checked"] == 2 and meta["expectations_failed"] == 0
    assert meta["expectations_not_judged"] == 1  # residents_count_change in the first year
    assert "P1" not in meta["results"] and "| 2004 | residents_count_change | not judged |" in meta["results"]


def test_failing_dagster_check_blocks_downstream(tmp_path):
    warehouse = _warehouse(
        tmp_path, [f"update raw.migration_events set country = null where {O} and direction = 'out'"]
    )
    result = _run(warehouse, "migration_events", [], partition_key=str(YEAR))
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["failed"].value == "2005: emigration_unknown_destination_share"
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"raw/migration_events"}  # downstream did not run


def test_a_count_falling_to_zero_fails_the_change_rule(con):
    """A count of 0 after a year large enough to judge is a -100 % change: it fails, it is not
    skipped as a year too small to judge (n = 0 < min_n)."""
    gone = f"delete from raw.migration_events where direction = 'out' and register_year = {YEAR}"
    con.execute(gone)
    report = validate_year(con, "migration_events", YEAR)
    outcome = next(o for o in report.outcomes if o.rule_id == "emigrations_count_change")
    assert outcome.success is False and outcome.observed == "-100.00%", outcome
    assert report.failed == ["emigrations_count_change"]
    # whereas a small register whose previous year was also below min_n stays not judged
    small = duckdb.connect()
    ensure_raw_schema(small, delivered_contracts())
    plausible_year(small, YEAR - 1, 300)  # 20 emigrations < min_n = 100
    plausible_year(small, YEAR, 300)
    small.execute(gone)
    outcome = next(
        o for o in validate_year(small, "migration_events", YEAR).outcomes if o.rule_id == "emigrations_count_change"
    )
    assert outcome.success is None and outcome.note.startswith("not judged")
