"""The contracts are the single source: they are valid ODCS v3, and what is built from them agrees.

- every contract validates with the open-data-contract-standard model and its JSON schema;
- the five delivered-table contracts keep the columns and types the simulator and dbt are built on;
- every row rule and every Great Expectations rule declared in them compiles (runs on an empty table);
- the dbt source tests in dbt/models/staging/_sources.yml match the contracts (drift names table,
  column and test).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import jsonschema
import open_data_contract_standard
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from models_py.contracts import DELIVERED_TABLES, delivered_contracts
from models_py.ingest import ensure_raw_schema, load_reference_sets, row_rules
from models_py.quality import dbt_sources
from models_py.quality.expectations import ContractRuleError, _rule, semantic_rules, validate_year
from models_py.settings import CONTRACTS_DIR

CONTRACT_FILES = sorted(CONTRACTS_DIR.glob("*.odcs.yaml"))
SCHEMA = json.loads((Path(open_data_contract_standard.__file__).parent / "schema.json").read_text())

# The interface the simulator and dbt are built on: column -> physical type, per delivered table.
# A change here must go together with the simulator (models_py/simulator/writer.py) and dbt staging.
FROZEN_COLUMNS = {
    "persons": "person_id:VARCHAR sex:TINYINT birth_year:SMALLINT birth_month:TINYINT birth_country:VARCHAR "
    "mother_id:VARCHAR father_id:VARCHAR mother_birth_country:VARCHAR father_birth_country:VARCHAR "
    "n_foreign_born_grandparents:TINYINT immigrant_category:VARCHAR first_immigration_date:DATE death_date:DATE",
    "population_status": "person_id:VARCHAR status:VARCHAR municipality:VARCHAR citizenship:VARCHAR "
    "marital_status:VARCHAR spouse_id:VARCHAR n_children_in_household:TINYINT",
    "migration_events": "event_id:VARCHAR person_id:VARCHAR direction:VARCHAR event_date:DATE "
    "registration_date:DATE country:VARCHAR registration_type:VARCHAR "
    "immigration_reason:VARCHAR municipality:VARCHAR",
    "education": "person_id:VARCHAR nus_level:TINYINT enrolled:BOOLEAN",
    "income": "person_id:VARCHAR income_year:SMALLINT wage_income:DOUBLE self_employment_income:DOUBLE "
    "welfare_benefits:DOUBLE net_wealth:DOUBLE employed:BOOLEAN self_employed:BOOLEAN",
}


def test_there_is_a_contract_per_delivered_table_classification_and_macro_series():
    names = {p.name.removesuffix(".odcs.yaml") for p in CONTRACT_FILES}
    seeds = {"countries", "municipalities_2013", "municipality_changes", "macro_series", "cpi"}
    assert set(DELIVERED_TABLES) | seeds == names


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: p.name)
def test_contract_is_valid_odcs(path):
    odcs = OpenDataContractStandard.from_file(str(path))
    assert odcs.kind == "DataContract" and odcs.apiVersion.startswith("v3")
    errors = sorted(
        jsonschema.validators.validator_for(SCHEMA)(SCHEMA).iter_errors(yaml.safe_load(path.read_text())),
        key=lambda e: list(e.path),
    )
    assert not errors, f"{path.name}: " + "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors)


def test_the_json_schema_does_catch_a_broken_contract():
    doc = yaml.safe_load((CONTRACTS_DIR / "persons.odcs.yaml").read_text())
    doc["schema"][0]["quality"].append(
        {"id": "x", "type": "custom", "engine": "great-expectations"}
    )  # no implementation
    errors = list(jsonschema.validators.validator_for(SCHEMA)(SCHEMA).iter_errors(doc))
    assert errors


def test_delivered_table_interface_is_unchanged():
    actual = {
        name: " ".join(f"{c.name}:{c.physical_type}" for c in contract.columns)
        for name, contract in delivered_contracts().items()
    }
    assert actual == FROZEN_COLUMNS


def test_every_row_rule_compiles_on_an_empty_delivery():
    """The ingestion gate's rules (derived and custom) are valid SQL over the delivered_<table> views."""
    con = duckdb.connect()
    contracts = delivered_contracts()
    for name, contract in contracts.items():
        cols = ", ".join(f"cast(null as {c.physical_type}) as {c.name}" for c in contract.columns)
        con.execute(f"create view delivered_{name} as select {cols} where false")
    load_reference_sets(con)  # the classification codes the reference rules read
    for name, contract in contracts.items():
        for rule_id, sql in row_rules(contract, 2005):
            con.execute(f"select count(*) from (select *, 1 as _key_count from delivered_{name}) t where {sql}")


def test_every_semantic_rule_is_parsed_and_runs_on_an_empty_warehouse():
    rules = semantic_rules()
    assert set(rules) == set(DELIVERED_TABLES)
    assert sum(len(r) for r in rules.values()) >= 18
    con = duckdb.connect()
    ensure_raw_schema(con, delivered_contracts())
    for table in rules:
        report = validate_year(con, table, 2005)
        assert report.passed and all(o.success is None for o in report.outcomes), report


def test_a_malformed_semantic_rule_is_refused_with_its_contract_and_id():
    class Q:
        id = "bad_rule"
        description = ""
        implementation = {"expectation": "expect_column_values_to_be_between", "value": "count(*)", "max_vaule": 1}

    with pytest.raises(ContractRuleError, match=r"persons.odcs.yaml, quality 'bad_rule': unknown keys \['max_vaule'\]"):
        _rule("persons", CONTRACTS_DIR / "persons.odcs.yaml", Q)


# ------------------------------------------------------------------------------ dbt source tests
def test_expected_source_tests_follow_the_contracts():
    tests = {(t.table, t.column, t.test): t.detail for t in dbt_sources.expected_source_tests()}
    assert tests[("persons", None, "unique_key")] == ("person_id", "register_year")
    assert tests[("migration_events", None, "unique_key")] == ("event_id", "register_year")
    assert tests[("persons", "sex", "accepted_values")] == (1, 2)
    assert ("persons", "death_date", "not_null") not in tests  # not required
    assert tests[("migration_events", "person_id", "relationships")] == ("source('raw', 'persons')", "person_id")
    assert tests[("migration_events", "country", "relationships")] == ("ref('countries')", "country_code")
    assert ("population_status", "municipality", "relationships") not in tests  # EXEMPT: union of two seeds


def test_drift_detector_passes_the_generated_file_and_names_each_drift(tmp_path):
    path = tmp_path / "_sources.yml"
    text = dbt_sources.render_sources_yml()
    path.write_text(text)
    assert dbt_sources.source_test_drift(path) == []
    doc = yaml.safe_load(text)
    persons = doc["sources"][0]["tables"][0]
    sex = next(c for c in persons["columns"] if c["name"] == "sex")
    sex["data_tests"] = [
        {"accepted_values": {"arguments": {"values": [1, 2, 9], "quote": False}}}
    ]  # drop not_null, widen
    persons["data_tests"] = []  # drop the key test
    path.write_text(yaml.safe_dump(doc))
    assert dbt_sources.source_test_drift(path) == [
        "source raw.persons: test unique_combination ['person_id', 'register_year'] (or unique on the key column): missing",
        "source raw.persons, column sex: test not_null: missing",
        "source raw.persons, column sex: test accepted_values [1, 2]: dbt has [['1', '2', '9']]",
    ]


def test_dbt_source_tests_match_the_contracts():
    drift = dbt_sources.source_test_drift()
    assert not drift, f"{len(drift)} source test(s) drift from data_contracts/:\n" + "\n".join(drift)
