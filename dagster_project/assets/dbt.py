"""The dbt project as Dagster assets; dbt tests become asset checks (source tests on the ingest assets)."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from dagster_project.automation import TAG_DBT_PID, child_tag, dbt_build_args, panel_window_start, run_years
from dagster_project.partitions import DUCKDB_POOL, PARTITION_NAME
from dagster_project.resources import Warehouse
from models_py import engine, settings
from models_py.contracts import DELIVERED_TABLES
from models_py.panel import full_rebuild_reason
from models_py.warehouse import drop_orphaned_relations

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
# Only acts under `dagster dev` (DAGSTER_IS_DEV_CLI); tests and `make` prepare the manifest explicitly.
dbt_project.prepare_if_dev()


class RegisterDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "classifications"
        # models/<layer>/...: staging, intermediate; models/marts/<folder>/...: the study's own group (study_a, ...,
        # shared with its Python assets and exhibits) or core (the panel, events and shared rates)
        if len(fqn) > 3 and fqn[1] == "marts":
            return fqn[2]
        return fqn[1] if len(fqn) > 2 else "dbt"


# dbt tests on models are asset checks. Source tests are not shown as checks on raw/*: Dagster
# exempts an asset from the blocking checks of an upstream key that it checks itself, so with them
# the contract and Great Expectations gates on raw/* would no longer hold back the dbt step. They
# still run inside `dbt build`, where a failure skips every dependent model and fails the step.
translator = RegisterDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=False)
)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=DUCKDB_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    # dbt/profiles.yml reads the warehouse path from this variable: make it the resource's path.
    os.environ[settings.ENV_WAREHOUSE] = warehouse.path
    # ... and its DuckDB memory limit from this machine unless the variable sets it
    os.environ[settings.ENV_DUCKDB_MEMORY_LIMIT] = settings.duckdb_memory_limit()
    order = context.instance.get_dynamic_partitions(PARTITION_NAME)
    years = run_years(context.run.tags, order)
    window_start = panel_window_start(years, order)
    reason = None
    if window_start is not None and os.path.exists(warehouse.path):
        with warehouse.connect(read_only=True) as con:
            reason = full_rebuild_reason(
                con, context.run.run_id, [int(y) for y in years], [int(y) for y in order], window_start
            )
    elif window_start is not None:
        reason = "no warehouse yet"
    args = dbt_build_args(window_start, order, reason)
    on_spark = engine.engine() == "spark"
    if on_spark:  # the accepted raw tables go to Spark as Parquet; dbt builds and tests every model there
        spark_dir = engine.spark_run_dir(Path(warehouse.path))
        with warehouse.connect(read_only=True) as con:
            exported = engine.export_raw_parquet(con, DELIVERED_TABLES, spark_dir / "raw")
        os.environ.update(engine.spark_env(spark_dir))
        args = [*args, "--target", engine.DBT_TARGETS["spark"]]
        context.log.info(f"raw tables exported to Spark: {sum(exported.values())} rows in {len(exported)} tables")
    context.log.info(f"dbt {' '.join(args)}" + (f" ({reason})" if reason else ""))
    invocation = dbt.cli(args, context=context)
    # dbt outlives a killed run (its query holds the warehouse lock): recover_orphaned_runs ends it by this tag
    context.instance.add_run_tags(context.run_id, {TAG_DBT_PID: child_tag(invocation.process.pid)})
    yield from invocation.stream()
    if on_spark:  # the checks, models and report read the warehouse: Spark's relations are copied into it
        with warehouse.connect() as con:
            copied = engine.copy_spark_relations(con, dbt_relations(), spark_dir)
        context.log.info(f"copied {len(copied)} relations built on Spark into the warehouse")
    # reached only when the build succeeded: relations of renamed or removed models go
    with warehouse.connect() as con:
        dropped = drop_orphaned_relations(con, dbt_relations())
    if dropped:
        context.log.info(f"dropped {len(dropped)} relations that no dbt model builds any more: {', '.join(dropped)}")


def _manifest_relations() -> dict[str, tuple[str, str]]:
    """model or seed name -> (schema, relation name) dbt builds it as, from the manifest."""
    import json

    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    return {
        node["name"]: (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if node.get("resource_type") in ("model", "seed")
    }


def dbt_relations() -> set[tuple[str, str]]:
    return set(_manifest_relations().values())


def relation_of(model_name: str) -> str:
    """The warehouse relation (schema.table) dbt built for a model, from the manifest."""
    relations = _manifest_relations()
    if model_name not in relations:
        raise KeyError(f"dbt model {model_name!r} not in the manifest")
    schema, name = relations[model_name]
    return f'"{schema}"."{name}"'
