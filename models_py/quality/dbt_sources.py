"""The dbt source tests the contracts imply, and their drift from dbt/models/staging/_sources.yml.

From each delivered table's contract (raw.<table> holds many register years):
- `required: true`            -> `not_null` on the column;
- the primary key             -> `unique_combination` of [key..., register_year] on the table (or a
                                 column `unique` test, which is stricter);
- `invalidValues/validValues` -> `accepted_values` with exactly those values;
- `relationships` foreignKey  -> `relationships` to `source('raw', '<table>')` for delivered tables,
                                 or `ref('<seed>')` for classifications.
Not required in dbt (checked only by the ingestion gate, listed in EXEMPT): foreign keys to the
municipality reference set, which is the union of two seeds (2013 codes and historic codes) and is
tested in dbt after recoding (stg_population_status.municipality_2013).

`source_test_drift()` lists every expected test missing from (or contradicted by) the dbt file, each
message naming table, column and test. `render_sources_yml()` writes the expected file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from models_py.contracts import DELIVERED_TABLES, delivered_contracts, load_contracts
from models_py.settings import DBT_PROJECT_DIR

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
SOURCE_NAME = "raw"
# contract reference target -> why dbt does not test it on the source
EXEMPT = {
    "municipalities.municipality_code": (
        "reference set = municipalities_2013 codes + municipality_changes.old_code; checked by the "
        "ingestion gate, and in dbt after recoding to 2013 borders"
    ),
}


@dataclass(frozen=True)
class ExpectedTest:
    table: str
    column: str | None  # None = a table-level test
    test: str  # not_null | unique_key | accepted_values | relationships
    detail: tuple = ()  # accepted values, or (to, field), or the key columns

    def describe(self) -> str:
        where = f"source raw.{self.table}" + (f", column {self.column}" if self.column else "")
        if self.test == "accepted_values":
            return f"{where}: test accepted_values {list(self.detail)}"
        if self.test == "relationships":
            return f"{where}: test relationships to {self.detail[0]} field {self.detail[1]}"
        if self.test == "unique_key":
            return f"{where}: test unique_combination {list(self.detail)} (or unique on the key column)"
        return f"{where}: test {self.test}"


def _target(reference: str) -> tuple[str, str]:
    table, column = reference.split(".")
    if table in DELIVERED_TABLES:
        return f"source('{SOURCE_NAME}', '{table}')", column
    return f"ref('{table}')", column


def expected_source_tests() -> list[ExpectedTest]:
    contracts = delivered_contracts()
    known = load_contracts()
    tests: list[ExpectedTest] = []
    for name, contract in contracts.items():
        if contract.key:
            tests.append(ExpectedTest(name, None, "unique_key", (*contract.key, "register_year")))
        for c in contract.columns:
            if c.required:
                tests.append(ExpectedTest(name, c.name, "not_null"))
            if c.valid_values is not None:
                tests.append(ExpectedTest(name, c.name, "accepted_values", tuple(c.valid_values)))
            if c.references and c.references not in EXEMPT:
                if c.references.split(".")[0] not in known:
                    raise ValueError(f"contract {name}.{c.name} refers to {c.references}, which has no contract")
                tests.append(ExpectedTest(name, c.name, "relationships", _target(c.references)))
    return tests


def _tests_of(node: dict) -> list[tuple[str, dict]]:
    """(test name, arguments) of a dbt node's data_tests/tests (both argument styles)."""
    out = []
    for item in (node.get("data_tests") or []) + (node.get("tests") or []):
        if isinstance(item, str):
            out.append((item, {}))
            continue
        ((name, body),) = item.items()
        body = dict(body or {})
        args = dict(body.pop("arguments", None) or {})
        body.pop("config", None)
        out.append((name, {**body, **args}))
    return out


def _norm(values) -> set[str]:
    return {str(v) for v in values or []}


def source_test_drift(path: Path = SOURCES_YML) -> list[str]:
    """Every contract-implied source test that the dbt sources file lacks or contradicts."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    source = next((s for s in doc.get("sources") or [] if s.get("name") == SOURCE_NAME), None)
    if source is None:
        return [f"{path}: no source named {SOURCE_NAME!r}"]
    tables = {t["name"]: t for t in source.get("tables") or []}
    problems = []
    for exp in expected_source_tests():
        table = tables.get(exp.table)
        if table is None:
            problems.append(f"{exp.describe()}: the table is not declared in {path.name}")
            continue
        if exp.column is None:
            have = _tests_of(table)
        else:
            col = next((c for c in table.get("columns") or [] if c.get("name") == exp.column), {})
            have = _tests_of(col)
        names = [n for n, _ in have]
        if exp.test == "not_null":
            ok = "not_null" in names
        elif exp.test == "unique_key":
            key_cols = [c for c in table.get("columns") or [] if c.get("name") == exp.detail[0]]
            ok = any(
                n == "unique_combination" and set(a.get("columns") or []) in (set(exp.detail), set(exp.detail[:-1]))
                for n, a in have
            ) or (len(exp.detail) == 2 and any(n == "unique" for n, _ in _tests_of(key_cols[0] if key_cols else {})))
        elif exp.test == "accepted_values":
            found = [a for n, a in have if n == "accepted_values"]
            ok = any(_norm(a.get("values")) == _norm(exp.detail) for a in found)
            if found and not ok:
                problems.append(f"{exp.describe()}: dbt has {[sorted(_norm(a.get('values'))) for a in found]}")
                continue
        else:  # relationships
            to, field = exp.detail
            ok = any(
                n == "relationships"
                and str(a.get("to", "")).replace('"', "'").replace(" ", "") == to.replace(" ", "")
                and a.get("field") == field
                for n, a in have
            )
        if not ok:
            problems.append(f"{exp.describe()}: missing")
    return problems


# A source test scans the register years the run rebuilt, not every year (dbt/macros/test_window.sql): raw.<table>
# changes only in the years a run takes in. A full rebuild, or a dbt invocation without a batch window, tests all.
REBUILT_YEARS_ONLY = {"where": "register_year >= __first_rebuilt_year__"}

# Tables whose rows per register year are stocks: a per-year row-count anomaly test guards them.
STOCK_TABLES = ("persons", "population_status", "education", "income")


def render_sources_yml() -> str:
    """The dbt sources file the contracts imply (descriptions from the contracts)."""
    from open_data_contract_standard.model import OpenDataContractStandard

    from models_py.settings import CONTRACTS_DIR

    expected = expected_source_tests()
    tables = []
    for name in DELIVERED_TABLES:
        odcs = OpenDataContractStandard.from_file(str(CONTRACTS_DIR / f"{name}.odcs.yaml"))
        purpose = " ".join(((odcs.description.purpose if odcs.description else "") or "").split())
        table = {"name": name, "description": purpose, "meta": {"dagster": {"asset_key": ["raw", name]}}}
        columns: dict[str, list] = {}
        table_tests = []
        for exp in (e for e in expected if e.table == name):
            if exp.test == "unique_key":
                table_tests.append(
                    {
                        "unique_combination": {
                            "arguments": {"columns": list(exp.detail)},
                            "config": dict(REBUILT_YEARS_ONLY),
                        }
                    }
                )
            elif exp.test == "not_null":
                columns.setdefault(exp.column, []).append({"not_null": {"config": dict(REBUILT_YEARS_ONLY)}})
            elif exp.test == "accepted_values":
                quote = all(isinstance(v, str) for v in exp.detail)
                args = {"values": list(exp.detail)} if quote else {"values": list(exp.detail), "quote": False}
                columns.setdefault(exp.column, []).append(
                    {"accepted_values": {"arguments": args, "config": dict(REBUILT_YEARS_ONLY)}}
                )
            else:
                columns.setdefault(exp.column, []).append(
                    {
                        "relationships": {
                            "arguments": {"to": exp.detail[0], "field": exp.detail[1]},
                            "config": dict(REBUILT_YEARS_ONLY),
                        }
                    }
                )
        year_tests = ["not_null"]
        if name in STOCK_TABLES:  # stocks move slowly; event counts have real spikes (2013 clean-up)
            year_tests.append({"row_count_per_year_anomaly": {"arguments": {"max_relative_change": 0.5}}})
        table["columns"] = [{"name": "register_year", "data_tests": year_tests}] + [
            {"name": col, "data_tests": tests} for col, tests in columns.items()
        ]
        table["data_tests"] = table_tests
        tables.append(table)
    doc = {
        "version": 2,
        "sources": [
            {
                "name": SOURCE_NAME,
                "schema": SOURCE_NAME,
                "description": (
                    "Register deliveries as loaded by the Python ingest assets (contract columns plus "
                    "register_year and vintage). Tests generated from data_contracts/ by "
                    "models_py.quality.dbt_sources.render_sources_yml()."
                ),
                "tables": tables,
            }
        ],
    }
    return (
        "# Generated from data_contracts/ (models_py.quality.dbt_sources.render_sources_yml); do not edit by hand.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
    )
