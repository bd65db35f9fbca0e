"""Properties of the classification seeds and the macro series (dbt/seeds/), read with DuckDB.

Cross-row rules that dbt's built-in generic tests cannot express: level counts and shares of the
2013 municipalities, one display group per EXITNORWAY group, the study A country lists, code
changes that land on 2013 codes, the macro file identical to its shared source, the CPI index chained
from its annual rates, and the SQL quality rules declared in the seeds' data contracts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SEEDS = ROOT / "dbt" / "seeds"
CONTRACTS = ROOT / "data_contracts"
SHARED_MACRO = Path("/work/shared/data/macro_series.csv")
SEED_NAMES = ("countries", "municipalities_2013", "municipality_changes", "macro_series", "cpi")

# Types the seeds must load with (mirrors `column_types` in dbt/seeds/_seeds.yml).
TYPES = {
    "countries": {
        "country_code": "VARCHAR",
        "study_a_group": "INTEGER",
        "group53_code": "INTEGER",
        "group19_code": "INTEGER",
        "is_nordic": "BOOLEAN",
        "is_eea": "BOOLEAN",
    },
    "municipalities_2013": {
        "municipality_code": "VARCHAR",
        "centrality": "INTEGER",
        "county_code": "VARCHAR",
        "pop_share_2013": "DOUBLE",
        "immigrant_share_weight": "DOUBLE",
    },
    "municipality_changes": {"old_code": "VARCHAR", "new_code": "VARCHAR", "valid_to": "DATE"},
    "macro_series": {
        "year": "INTEGER",
        "lednor": "DOUBLE",
        "led1": "DOUBLE",
        "led2": "DOUBLE",
        "relinnt1": "DOUBLE",
        "relinnt2": "DOUBLE",
        "relinnt3": "DOUBLE",
        "source_note": "VARCHAR",
    },
    "cpi": {"year": "INTEGER", "inflation_pct": "DOUBLE", "cpi_2015": "DOUBLE", "source_note": "VARCHAR"},
}

STUDY_A_GROUP1 = (
    "DNK FIN ISL SWE AND BEL FRA GIB GRC IRL ITA MLT NLD CYP LIE LUX MCO PRT SMR GBR CHE AUT VAT "
    "USA CAN AUS NZL DEU ESP FRO GRL"
).split()
STUDY_A_GROUP2 = "EST LVA LTU POL CZE SVK HUN SVN ROU BGR HRV".split()

# Study C §3.4 display groups (1-17 named in the report, 18-19 [A]) and single-country members.
GROUP19 = {
    1: "Pakistan",
    2: "Somalia/Djibouti",
    3: "Denmark",
    4: "Former Yugoslavia, non-EU",
    5: "Iraq",
    6: "Sweden",
    7: "Iceland",
    8: "Turkey",
    9: "Iran",
    10: "Vietnam",
    11: "Western Europe and other Nordic",
    12: "USA/Canada/Australia/New Zealand",
    13: "Sri Lanka/India/Bangladesh",
    14: "Africa excl. Somalia/Djibouti",
    15: "Rest of West Asia",
    16: "East/Southeast Asia",
    17: "South/Central America and Caribbean",
    18: "Eastern Europe",
    19: "Other/unknown",
}
GROUP19_MEMBERS = {
    "PAK": 1,
    "SOM": 2,
    "DJI": 2,
    "DNK": 3,
    "BIH": 4,
    "MKD": 4,
    "MNE": 4,
    "SRB": 4,
    "XKX": 4,
    "IRQ": 5,
    "SWE": 6,
    "ISL": 7,
    "TUR": 8,
    "IRN": 9,
    "VNM": 10,
    "FIN": 11,
    "DEU": 11,
    "GBR": 11,
    "NLD": 11,
    "FRO": 11,
    "USA": 12,
    "CAN": 12,
    "AUS": 12,
    "NZL": 12,
    "LKA": 13,
    "IND": 13,
    "BGD": 13,
    "ERI": 14,
    "ETH": 14,
    "MAR": 14,
    "AFG": 15,
    "SYR": 15,
    "PHL": 16,
    "CHN": 16,
    "THA": 16,
    "BRA": 17,
    "CHL": 17,
    "CUB": 17,
    "POL": 18,
    "RUS": 18,
    "HRV": 18,
    "XXX": 19,
}


@pytest.fixture(scope="module")
def con():
    """In-memory DuckDB with each seed read by type inference, then cast as dbt's column_types do."""
    con = duckdb.connect()
    for name in SEED_NAMES:
        inferred = con.execute(
            f"select * from read_csv('{SEEDS / (name + '.csv')}', header=true, all_varchar=false) limit 0"
        ).description
        casts = ", ".join(f'cast("{col}" as {TYPES[name].get(col, "VARCHAR")}) as "{col}"' for col, *_ in inferred)
        con.execute(
            f"create table {name} as select {casts} "
            f"from read_csv('{SEEDS / (name + '.csv')}', header=true, all_varchar=true)"
        )
    return con


def rows(con, sql):
    return con.execute(sql).fetchall()


def test_seeds_parse_with_inferred_types_and_declare_column_types():
    """Each CSV parses with DuckDB type inference, and _seeds.yml pins the types dbt must use."""
    con = duckdb.connect()
    for name, expected_rows in [
        ("countries", None),
        ("municipalities_2013", 428),
        ("municipality_changes", None),
        ("macro_series", 36),
        ("cpi", 37),
    ]:
        path = SEEDS / f"{name}.csv"
        inferred = dict(
            rows(
                con,
                f"select column_name, column_type from (describe select * from read_csv('{path}', all_varchar=false))",
            )
        )
        n = rows(con, f"select count(*) from read_csv('{path}', all_varchar=false)")[0][0]
        if expected_rows:
            assert n == expected_rows, name
        for col, typ in TYPES[name].items():
            family = {
                "VARCHAR": {"VARCHAR", "BIGINT"},
                "INTEGER": {"BIGINT"},
                "DOUBLE": {"DOUBLE"},
                "BOOLEAN": {"BOOLEAN"},
                "DATE": {"DATE"},
            }[typ]
            assert inferred[col] in family, (name, col, inferred[col])
    # codes with a leading zero survive inference as text ...
    assert rows(
        con, f"select min(municipality_code) from read_csv('{SEEDS / 'municipalities_2013.csv'}', all_varchar=false)"
    ) == [("0101",)]
    # ... but dbt must not rely on inference: every seed pins its types (`column_types` under `config:`;
    # `+column_types` is silently ignored in a properties file by dbt 1.11 and turns codes into integers)
    yml = yaml.safe_load((SEEDS / "_seeds.yml").read_text(encoding="utf-8"))
    assert {s["name"] for s in yml["seeds"]} == set(SEED_NAMES)
    for seed in yml["seeds"]:
        types = seed["config"]["column_types"]
        for col, typ in TYPES[seed["name"]].items():
            assert types[col].upper() == typ, (seed["name"], col)


# --- municipalities ------------------------------------------------------------------------------


def test_428_municipalities_with_level_counts(con):
    assert rows(con, "select count(*), count(distinct municipality_code) from municipalities_2013") == [(428, 428)]
    counts = dict(rows(con, "select centrality, count(*) from municipalities_2013 group by 1"))
    assert counts == {1: 149, 2: 51, 3: 78, 4: 150}


def test_municipality_codes_and_counties(con):
    assert rows(
        con, "select count(*) from municipalities_2013 where not regexp_full_match(municipality_code, '[0-9]{4}')"
    ) == [(0,)]
    assert rows(con, "select count(*) from municipalities_2013 where county_code <> left(municipality_code, 2)") == [
        (0,)
    ]
    counties = dict(rows(con, "select county_code, any_value(county_name) from municipalities_2013 group by 1"))
    assert len(counties) == 19 and counties["03"] == "Oslo" and counties["12"] == "Hordaland"
    assert rows(con, "select count(distinct county_name) from municipalities_2013") == [(19,)]
    known = dict(
        rows(
            con,
            "select municipality_code, municipality_name || ':' || centrality from municipalities_2013 "
            "where municipality_code in ('0301', '1201', '1601', '1902', '2030', '1756')",
        )
    )
    assert known == {
        "0301": "Oslo:4",
        "1201": "Bergen:4",
        "1601": "Trondheim:4",
        "1902": "Tromsø:4",
        "2030": "Sør-Varanger:1",
        "1756": "Inderøy:2",
    }


def test_population_and_immigrant_shares_by_level(con):
    total_pop, total_imm = rows(
        con, "select sum(pop_share_2013), sum(immigrant_share_weight) from municipalities_2013"
    )[0]
    assert total_pop == pytest.approx(1, abs=1e-6) and total_imm == pytest.approx(1, abs=1e-6)
    by_level = {
        lvl: (p, i)
        for lvl, p, i in rows(
            con,
            "select centrality, sum(pop_share_2013), sum(immigrant_share_weight) from municipalities_2013 group by 1",
        )
    }
    for lvl, pop, imm in [(1, 0.092, 0.058), (2, 0.061, 0.040), (3, 0.170, 0.121), (4, 0.677, 0.781)]:
        assert by_level[lvl][0] == pytest.approx(pop, abs=1e-6)
        assert by_level[lvl][1] == pytest.approx(imm, abs=1e-6)
    share = dict(rows(con, "select municipality_name, pop_share_2013 from municipalities_2013"))
    for city, expected in [
        ("Oslo", 0.12),
        ("Bergen", 0.053),
        ("Trondheim", 0.035),
        ("Stavanger", 0.026),
        ("Bærum", 0.023),
        ("Kristiansand", 0.017),
        ("Tromsø", 0.014),
        ("Drammen", 0.013),
        ("Fredrikstad", 0.015),
        ("Sandnes", 0.014),
    ]:
        assert share[city] == pytest.approx(expected, abs=0.0005), city
    assert rows(con, "select min(pop_share_2013) > 0, min(immigrant_share_weight) > 0 from municipalities_2013") == [
        (True, True)
    ]
    oslo_imm = rows(con, "select immigrant_share_weight from municipalities_2013 where municipality_code = '0301'")[0][
        0
    ]
    assert 0.25 < oslo_imm < 0.36


# --- municipality changes -----------------------------------------------------------------------


def test_changes_map_onto_2013_codes(con):
    assert rows(
        con,
        "select count(*) from municipality_changes c left join municipalities_2013 m "
        "on m.municipality_code = c.new_code where m.municipality_code is null",
    ) == [(0,)]
    assert rows(
        con,
        "select count(*) from municipality_changes c join municipalities_2013 m on m.municipality_code = c.old_code",
    ) == [(0,)]
    assert rows(con, "select count(*) = count(distinct old_code) from municipality_changes") == [(True,)]
    assert rows(
        con, "select min(valid_to) >= date '1990-01-01', max(valid_to) <= date '2012-12-31' from municipality_changes"
    ) == [(True, True)]
    mapping = dict(rows(con, "select old_code, new_code from municipality_changes"))
    for old, new in [
        ("1842", "1804"),
        ("1572", "1576"),
        ("1154", "1160"),
        ("1159", "1160"),
        ("1556", "1505"),
        ("1723", "1756"),
        ("1729", "1756"),
        ("1915", "1903"),
    ]:
        assert mapping[old] == new


# --- countries ----------------------------------------------------------------------------------


def test_country_codes(con):
    n, distinct = rows(con, "select count(*), count(distinct country_code) from countries")[0]
    assert n == distinct and 150 <= n <= 210
    assert rows(con, "select count(*) from countries where not regexp_full_match(country_code, '[A-Z]{3}')") == [(0,)]
    continents = {c for (c,) in rows(con, "select distinct continent from countries")}
    assert continents == {"Europe", "Asia", "Africa", "North America", "South America", "Oceania", "Unknown"}


def test_study_a_groups(con):
    group = dict(rows(con, "select country_code, study_a_group from countries"))
    for code in STUDY_A_GROUP1:
        assert group[code] == 1, code
    for code in STUDY_A_GROUP2:
        assert group[code] == 2, code
    assert group["NOR"] is None and group["XXX"] == 3 and group["TUR"] == 3
    assert sum(1 for v in group.values() if v == 1) == len(STUDY_A_GROUP1)
    assert sum(1 for v in group.values() if v == 2) == len(STUDY_A_GROUP2)


def test_every_group53_maps_to_one_group19(con):
    assert rows(
        con,
        "select count(*) from (select group53_code from countries group by 1 "
        "having count(distinct group19_code) > 1 or count(distinct group53_name) > 1)",
    ) == [(0,)]
    assert {c for (c,) in rows(con, "select distinct group53_code from countries")} == set(range(0, 54))
    assert {c for (c,) in rows(con, "select distinct group19_code from countries")} == set(range(0, 20))
    assert rows(
        con,
        "select count(*) from (select group19_code from countries group by 1 having count(distinct group19_name) > 1)",
    ) == [(0,)]
    assert rows(con, "select group53_code, group19_code from countries where country_code = 'NOR'") == [(0, 0)]
    assert rows(con, "select count(*) from countries where group53_code = 0") == [(1,)]


def test_group19_reproduces_study_c_display_groups(con):
    names = dict(rows(con, "select distinct group19_code, group19_name from countries where group19_code > 0"))
    assert names == GROUP19
    g19 = dict(rows(con, "select country_code, group19_code from countries"))
    for code, expected in GROUP19_MEMBERS.items():
        assert g19[code] == expected, code
    # single-country display groups hold exactly that country
    for group, members in [
        (1, {"PAK"}),
        (3, {"DNK"}),
        (5, {"IRQ"}),
        (6, {"SWE"}),
        (7, {"ISL"}),
        (8, {"TUR"}),
        (9, {"IRN"}),
        (10, {"VNM"}),
        (2, {"SOM", "DJI"}),
        (4, {"BIH", "MKD", "MNE", "SRB", "XKX"}),
        (12, {"USA", "CAN", "AUS", "NZL"}),
    ]:
        assert {c for c, g in g19.items() if g == group} == members, group
    # each continent's countries fall in the matching regional groups
    assert rows(con, "select count(*) from countries where continent = 'Africa' and group19_code not in (2, 14)") == [
        (0,)
    ]
    assert rows(con, "select count(*) from countries where continent = 'South America' and group19_code <> 17") == [
        (0,)
    ]


def test_destination_categories(con):
    cat = dict(rows(con, "select country_code, dest_cat from countries"))
    assert cat["NOR"] is None and cat["XXX"] is None
    assert {c for c, v in cat.items() if v == "NORDIC"} == {"SWE", "DNK", "FIN", "ISL", "FRO", "GRL"}
    assert {c for c, v in cat.items() if v == "UK"} == {"GBR"}
    assert {c for c, v in cat.items() if v == "USA_CAN"} == {"USA", "CAN"}
    assert {c for c, v in cat.items() if v == "GERMANY"} == {"DEU"}
    assert rows(
        con,
        "select count(*) from (select group53_code from countries group by 1 "
        "having count(distinct coalesce(dest_cat, '-')) > 1)",
    ) == [(0,)]


def test_flags_and_study_b_origin(con):
    flags = {
        c: (n, e, r, b)
        for c, n, e, r, b in rows(
            con, "select country_code, is_nordic, is_eea, admin_emigration_risk, study_b_origin from countries"
        )
    }
    assert {c for c, f in flags.items() if f[2] == "high"} == {"PHL", "SOM", "IRQ", "ERI", "LKA"}
    assert {c for c, f in flags.items() if f[0]} == {"NOR", "SWE", "DNK", "FIN", "ISL", "FRO", "GRL"}
    eea = {c for c, f in flags.items() if f[1]}
    assert set(STUDY_A_GROUP2) <= eea and {"DEU", "GBR", "CHE", "LIE", "ISL", "NOR", "CYP", "MLT"} <= eea
    assert not eea & {"FRO", "GRL", "TUR", "USA", "XXX", "SRB", "RUS"}
    assert len(eea) == 28 + 4 + 1  # EU28 + ISL LIE NOR CHE + Gibraltar
    assert {c for c, f in flags.items() if f[3] == "eu_east"} == set(STUDY_A_GROUP2)
    assert flags["TUR"][3] == "non_europe" and flags["BIH"][3] == "other_europe" and flags["DEU"][3] == "eu_west"
    assert flags["NOR"][3] is None and flags["XXX"][3] is None


def test_every_country_in_the_macro_panels_is_classified(con):
    codes = {c for (c,) in rows(con, "select country_code from countries")}
    # macro_series.md group 3 exclusions and groups 1-2 (so every origin the macro series name exists)
    for code in "AFG DJI ERI FRO IRQ MNE PSE SMR SOM SRB SSD SYR VEN XKX YEM".split():
        assert code in codes, code


# --- macro series -------------------------------------------------------------------------------


def test_macro_series_identical_to_shared_file():
    if not SHARED_MACRO.exists():
        pytest.skip("shared macro_series.csv not available")
    assert (SEEDS / "macro_series.csv").read_bytes() == SHARED_MACRO.read_bytes()


def test_macro_series_blanks_are_nulls(con):
    assert rows(con, "select count(*), min(year), max(year), count(distinct year) from macro_series") == [
        (36, 1988, 2023, 36)
    ]
    assert rows(con, "select count(*) from macro_series where lednor is null or led1 is null") == [(0,)]
    assert [y for (y,) in rows(con, "select year from macro_series where led2 is null order by 1")] == [
        1988,
        1989,
        1990,
    ]
    for col in ("relinnt1", "relinnt2", "relinnt3"):
        assert [y for (y,) in rows(con, f"select year from macro_series where {col} is null order by 1")] == [
            1988,
            1989,
        ]


# --- CPI ----------------------------------------------------------------------------------------


def test_cpi_index_is_chained_from_the_annual_rates_with_2015_100(con):
    """cpi_2015(t) = cpi_2015(t-1) * (1 + inflation_pct(t)/100) within the rounding of the index (4 decimals),
    and 2015 = 100 exactly: the seed's two columns cannot drift apart when a year is added or revised."""
    series = rows(con, "select year, inflation_pct, cpi_2015 from cpi order by year")
    assert [y for y, *_ in series] == list(range(1988, 2025))
    assert dict((y, c) for y, _, c in series)[2015] == 100.0
    for (_, _, prev), (year, pct, cpi) in zip(series, series[1:]):
        assert cpi == pytest.approx(prev * (1 + pct / 100), abs=1.5e-4), year
    # the values of the source (WDI FP.CPI.TOTL.ZG via datasets/cpi @3750e45), spot-checked
    pct = {y: p for y, p, _ in series}
    assert (pct[1988], pct[2014], pct[2016], pct[2022], pct[2024]) == (6.676366, 2.041703, 3.55, 5.764123, 3.145301)


# --- contracts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEED_NAMES)
def test_contract_valid_and_matches_seed(con, name):
    import open_data_contract_standard
    from open_data_contract_standard.model import OpenDataContractStandard

    path = CONTRACTS / f"{name}.odcs.yaml"
    contract = OpenDataContractStandard.from_file(str(path))
    schema = json.loads((Path(os.path.dirname(open_data_contract_standard.__file__)) / "schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    assert contract.apiVersion == "v3.0.2"
    assert {p.property: p.value for p in contract.customProperties}["deliveryFile"] == f"seed:{name}.csv"
    obj = contract.schema_[0]
    assert obj.name == name
    seed_columns = [c for (c,) in rows(con, f"select column_name from (describe {name})")]
    assert [p.name for p in obj.properties] == seed_columns
    for prop in obj.properties:
        if prop.required:
            assert rows(con, f'select count(*) from {name} where "{prop.name}" is null') == [(0,)], prop.name
        for q in prop.quality or []:
            if q.metric == "invalidValues":
                values = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in q.arguments["validValues"])
                bad = rows(con, f'select count(*) from {name} where "{prop.name}" not in ({values})')
                assert bad == [(0,)], (prop.name, q.id)
        opts = prop.logicalTypeOptions or {}
        if prop.logicalType in ("integer", "number"):
            if "minimum" in opts:
                assert rows(con, f'select count(*) from {name} where "{prop.name}" < {opts["minimum"]}') == [(0,)]
            if "maximum" in opts:
                assert rows(con, f'select count(*) from {name} where "{prop.name}" > {opts["maximum"]}') == [(0,)]
    # schema-level quality rules: SQL must return mustBe; rowCount must match
    for q in obj.quality or []:
        if q.type == "sql":
            assert rows(con, q.query) == [(q.mustBe,)], q.id
        elif q.metric == "rowCount":
            assert rows(con, f"select count(*) from {name}") == [(q.mustBe,)], q.id
