"""The data-quality summary per register year as Dagster metadata (aggregates only)."""

import dagster as dg

from dagster_project.partitions import DUCKDB_POOL
from dagster_project.resources import Warehouse
from models_py.contracts import DELIVERED_TABLES
from models_py.quality.summary import dq_publishable, dq_summary, dq_summary_markdown
from models_py.warehouse import replace_table

# Tables this module writes for the report's registry (models_py/exhibits/pipeline.yaml).
MODEL_TABLES = {
    f"quality.{name}": "data_quality_summary"
    for name in ("data_quality", "data_quality_rules", "data_quality_emigrations")
} | {"raw.revision_log": "data_quality_summary"}


@dg.asset(
    deps=[dg.AssetKey(["raw", t]) for t in DELIVERED_TABLES],
    group_name="quality",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Rows delivered, accepted and quarantined by rule, administrative and unknown-destination "
    "shares, and provisional flags, per register year.",
)
def data_quality_summary(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        summary = dq_summary(con)
        # the report's quality page reads these (through the disclosure gate)
        for name, frame in zip(
            ("data_quality", "data_quality_rules", "data_quality_emigrations"), dq_publishable(summary)
        ):
            replace_table(con, "quality", name, frame)
    counts = summary[(summary["rule"] == "all") & summary["measure"].isin(["delivered", "accepted", "quarantined"])]
    totals = counts.groupby("measure")["value"].sum()
    return dg.MaterializeResult(
        metadata={
            "register_years": int(summary["register_year"].nunique()),
            "delivered": int(totals.get("delivered", 0)),
            "accepted": int(totals.get("accepted", 0)),
            "quarantined": int(totals.get("quarantined", 0)),
            "summary": dg.MetadataValue.md(dq_summary_markdown(summary)),
        }
    )
