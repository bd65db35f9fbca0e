"""Semantic quality checks: the contracts' Great Expectations suites, per register-year partition.

One blocking check per delivered table that has `engine: great-expectations` rules in its contract
(shares and distributions within bounds, year-on-year jumps; models_py/quality/expectations.py).
A run over a range of register years validates every year in it. Metadata hold aggregates only.
"""

import dagster as dg

from dagster_project.partitions import DUCKDB_POOL, register_years
from dagster_project.resources import Warehouse
from models_py.contracts import DELIVERED_TABLES
from models_py.quality.expectations import reports_markdown, semantic_rules, validate_year

CHECK_NAME = "semantic_expectations"


def _partition_keys(context: dg.AssetCheckExecutionContext) -> list[str]:
    return list(context.partition_keys) if context.has_partition_key_range else [context.partition_key]


def build_semantic_check(table: str) -> dg.AssetChecksDefinition:
    rules = semantic_rules()[table]
    # Rules that join another table (population_status -> persons) read that table's rows of the same
    # year as loaded. No `additional_deps` on purpose: with dbt source tests as blocking checks on
    # raw/persons, a dep would make this check wait for the dbt step, which it must block.

    @dg.asset_check(
        asset=dg.AssetKey(["raw", table]),
        name=CHECK_NAME,
        partitions_def=register_years,
        blocking=True,
        pool=DUCKDB_POOL,
        description=(
            f"Great Expectations suite from data_contracts/{table}.odcs.yaml, per register year: "
            + "; ".join(f"{r.rule_id} {r.bounds}" for r in rules)
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        reports = []
        with warehouse.connect() as con:
            for key in _partition_keys(context):
                report = validate_year(con, table, int(key), rules)
                reports.append(report)
                context.log.info(
                    f"{table} {key}: {'passed' if report.passed else 'FAILED ' + ', '.join(report.failed)}"
                )
        failed = [f"{r.register_year}: {', '.join(r.failed)}" for r in reports if not r.passed]
        outcomes = [o for r in reports for o in r.outcomes]
        return dg.AssetCheckResult(
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "years_checked": len(reports),
                "expectations_evaluated": sum(o.success is not None for o in outcomes),
                "expectations_failed": sum(o.success is False for o in outcomes),
                "expectations_not_judged": sum(o.success is None for o in outcomes),
                "failed": "; ".join(failed) or "none",
                "results": dg.MetadataValue.md(reports_markdown(reports)),
            },
        )

    return _check


quality_checks: list = [build_semantic_check(t) for t in DELIVERED_TABLES if t in semantic_rules()]
