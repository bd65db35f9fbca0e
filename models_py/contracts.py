"""Read the ODCS v3 data contracts and derive the ingestion rules from them.

The contracts are the single source: every rule the ingestion gate applies is derived here from a
contract property (required, allowed values, range, key, relationship, type) or is a custom SQL
rule declared in the contract's schema-level `quality` list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from models_py.settings import CONTRACTS_DIR

# Delivered tables in the order a delivery is checked (persons first: other tables refer to it).
DELIVERED_TABLES = ("persons", "population_status", "migration_events", "education", "income")

# Parquet/DuckDB types accepted for each logical type (the structural type rule).
TYPE_FAMILIES = {
    "string": {"VARCHAR"},
    "integer": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"},
    "number": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"},
    "date": {"DATE"},
    "boolean": {"BOOLEAN"},
}


SQL_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
PHYSICAL_TYPE = re.compile(r"^[A-Z]+(\(\d+(, ?\d+)?\))?$")  # DOUBLE, VARCHAR, DECIMAL(18,3): goes into casts


def ident(name: str) -> str:
    """A table or column name from a contract as a quoted SQL identifier; anything but
    ^[a-z_][a-z0-9_]*$ is refused (contract names are the only names that reach SQL text)."""
    if not isinstance(name, str) or not SQL_IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class Column:
    name: str
    logical_type: str
    physical_type: str
    required: bool
    primary_key: bool
    valid_values: tuple | None
    minimum: float | None
    maximum: float | None
    references: str | None  # "<table>.<column>"
    max_length: int | None = None  # strings: logicalTypeOptions.maxLength
    pattern: str | None = None  # strings: logicalTypeOptions.pattern (the whole value must match)


@dataclass(frozen=True)
class CustomRule:
    rule_id: str
    description: str
    sql: str  # boolean SQL over the delivered row `t`; true = the row breaks the rule


@dataclass(frozen=True)
class Contract:
    name: str
    delivery_file: str
    columns: tuple[Column, ...]
    custom_rules: tuple[CustomRule, ...] = field(default_factory=tuple)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _custom(contract: OpenDataContractStandard, name: str) -> str | None:
    for prop in contract.customProperties or []:
        if prop.property == name:
            return prop.value
    return None


def _column(prop) -> Column:
    valid = None
    for q in prop.quality or []:
        if q.metric == "invalidValues" and q.arguments and "validValues" in q.arguments:
            valid = tuple(q.arguments["validValues"])
    opts = prop.logicalTypeOptions or {}
    refs = [r.to for r in prop.relationships or [] if r.type == "foreignKey"]
    return Column(
        name=prop.name,
        logical_type=prop.logicalType,
        physical_type=prop.physicalType,
        required=bool(prop.required),
        primary_key=bool(prop.primaryKey),
        valid_values=valid,
        minimum=opts.get("minimum"),
        maximum=opts.get("maximum"),
        references=refs[0] if refs else None,
        max_length=opts.get("maxLength"),
        pattern=opts.get("pattern"),
    )


def parse_contract(path: Path) -> Contract:
    odcs = OpenDataContractStandard.from_file(str(path))
    obj = odcs.schema_[0]
    rules = tuple(
        CustomRule(rule_id=q.id, description=(q.description or "").strip(), sql=str(q.implementation).strip())
        for q in obj.quality or []
        if q.type == "custom" and q.engine == "register-pipeline"
    )
    for name in [obj.name, *(p.name for p in obj.properties)]:
        ident(name)  # a contract whose names are not plain identifiers is refused at load
    for prop in obj.properties:
        if not PHYSICAL_TYPE.fullmatch(str(prop.physicalType)):
            raise ValueError(
                f"{path.name}: column {prop.name}: physicalType {prop.physicalType!r} is not a plain SQL type"
            )
    return Contract(
        name=obj.name,
        delivery_file=_custom(odcs, "deliveryFile"),
        columns=tuple(_column(p) for p in obj.properties),
        custom_rules=rules,
    )


@lru_cache(maxsize=4)
def load_contracts(directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    """All contracts in the folder, by table name."""
    contracts = {}
    for path in sorted(Path(directory).glob("*.odcs.yaml")):
        contract = parse_contract(path)
        contracts[contract.name] = contract
    return contracts


def delivered_contracts(directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    contracts = load_contracts(directory)
    missing = [t for t in DELIVERED_TABLES if t not in contracts]
    if missing:
        raise FileNotFoundError(f"no data contract for delivered table(s) {missing} in {directory}")
    return {t: contracts[t] for t in DELIVERED_TABLES}


def raw_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)
