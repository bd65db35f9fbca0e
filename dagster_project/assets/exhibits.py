"""Exhibits, the disclosure gate, the scorecard and the report: thin assets over models_py.exhibits/publish.

    exhibits_<study>  (one per registry file; deps read from the registry)  -> schema exhibits_internal
    disclosure_gate   (every exhibit through models_py.publish.disclosure)   -> schema exhibits_published
    scorecard         (claims of models_py/published/ on the published tables)
    emigration_report (the site, published atomically to <reports>/latest)
Unprotected aggregates stay in `exhibits_internal`, which nothing exports (disclosure policy, first paragraph).
"""

import json
import time

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from dagster_project.assets.dbt import dbt_models, relation_of
from dagster_project.partitions import DUCKDB_POOL
from dagster_project.resources import RegisterPaths, Warehouse
from models_py.exhibits import registry
from models_py.publish import gate
from models_py.publish import scorecard as score
from models_py.publish.site import PublishedExhibit, Site, publish_site
from models_py.warehouse import replace_table

INTERNAL, PUBLISHED = "exhibits_internal", "exhibits_published"
PENDING_RELEASE = "release_pending"  # the gate's published cells, until the report that shows them is out
STUDY_GROUPS = {"a": "study_a", "b": "study_b", "c": "study_c", "pipeline": "quality"}


def _model_table_assets() -> dict[str, dg.AssetKey]:
    """Non-dbt sources (schema.table) -> the asset that writes them: every module of dagster_project.assets that
    writes such tables declares them in a module-level dict `MODEL_TABLES` (no list kept here)."""
    import importlib
    import pkgutil

    import dagster_project.assets as package

    tables: dict[str, dg.AssetKey] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name == __name__.rsplit(".", 1)[-1]:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for table, key in getattr(module, "MODEL_TABLES", {}).items():
            tables[table] = key if isinstance(key, dg.AssetKey) else dg.AssetKey(key)
    return tables


MODEL_TABLE_ASSETS = _model_table_assets()


def _deps(study: str) -> list[dg.AssetKey]:
    keys = []
    for exhibit in registry.load_registry((study,)):
        if "." in exhibit.source:
            key = MODEL_TABLE_ASSETS.get(exhibit.source)
            if key is None:
                raise KeyError(f"exhibit {exhibit.id}: no asset is known to write {exhibit.source}")
        else:
            key = get_asset_key_for_model([dbt_models], exhibit.source)
        if key not in keys:
            keys.append(key)
    return keys


def _exhibit_asset(study: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"exhibits_{study}",
        deps=_deps(study),
        group_name=STUDY_GROUPS[study],
        pool=DUCKDB_POOL,
        kinds={"duckdb"},
        description=f"The tidy tables of every exhibit registered in models_py/exhibits/{registry.REGISTRY_FILES[study]}, "
        f"unprotected, in schema {INTERNAL} (never exported: the disclosure gate reads them).",
    )
    def build(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        exhibits = registry.load_registry((study,))
        rows = {}
        with warehouse.connect() as con:
            for exhibit in exhibits:
                df = registry.extract(con, exhibit, relation_of)
                replace_table(con, INTERNAL, exhibit.id, df)
                rows[exhibit.id] = len(df)
        return dg.MaterializeResult(metadata={"exhibits": len(exhibits), "rows": sum(rows.values())})

    return build


exhibit_assets = [_exhibit_asset(study) for study in registry.REGISTRY_FILES]


@dg.asset(
    deps=exhibit_assets,
    group_name="publish",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Disclosure control over every exhibit (primary and secondary suppression, exact and interval "
    f"audits per table family); protected tables and the gate record in schema {PUBLISHED}.",
)
def disclosure_gate(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    exhibits = registry.load_registry()
    with warehouse.connect() as con:
        tables = {e.id: con.execute(f'select * from {INTERNAL}."{e.id}"').df() for e in exhibits}
        started = time.perf_counter()
        previous = gate.previous_release(con)  # R11: the last published release's cells
        result = gate.protect_exhibits(exhibits, tables, model_verdicts=gate.model_records(con), previous=previous)
        seconds = time.perf_counter() - started
        replace_table(con, PUBLISHED, "gate_record", result.record)
        # this release's cells join the history only once the report is published (emigration_report)
        release = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {context.run.run_id}"
        replace_table(con, PUBLISHED, PENDING_RELEASE, gate.release_cells(exhibits, result, release))
        for exhibit_id, (table, suppressed) in result.published.items():
            replace_table(con, PUBLISHED, exhibit_id, table)
            replace_table(con, PUBLISHED, f"{exhibit_id}__suppressed", suppressed)
    record = result.record
    return dg.MaterializeResult(
        metadata={
            "exhibits": len(exhibits),
            "published": len(result.published),
            "failed": int((record["status"] == "fail").sum()),
            "withheld": int((record["status"] == gate.WITHHELD).sum()),
            "primary_suppressed": int(record["primary_suppressed"].sum()),
            "secondary_suppressed": int(record["secondary_suppressed"].sum()),
            "gate_seconds": round(seconds, 2),
            "previous_release": "none" if previous is None else str(previous["release"].iloc[0]),
        }
    )


@dg.asset_check(
    asset=disclosure_gate,
    blocking=True,
    pool=DUCKDB_POOL,
    description="Every registered exhibit was produced and went through the gate; no declaration is inconsistent "
    "and (with on_unprotectable: block) no family was left unprotectable.",
)
def every_exhibit_protected(warehouse: Warehouse) -> dg.AssetCheckResult:
    ids = [e.id for e in registry.load_registry()]
    with warehouse.connect(read_only=True) as con:
        record = con.execute(f"select exhibit_id, status, reason from {PUBLISHED}.gate_record").df()
    status = dict(zip(record["exhibit_id"], record["status"]))
    missing = [i for i in ids if i not in status]
    failed = [i for i in ids if status.get(i) == "fail"]
    withheld = [i for i in ids if status.get(i) == gate.WITHHELD]
    return dg.AssetCheckResult(
        passed=not missing and not failed,
        metadata={
            "registered": len(ids),
            "missing": ", ".join(missing[:20]) or "none",
            "failed": ", ".join(failed[:20]) or "none",
            "withheld": ", ".join(withheld[:40]) or "none",
        },
    )


def _published_tables(con) -> dict[str, pd.DataFrame]:
    record = con.execute(
        f"select exhibit_id from {PUBLISHED}.gate_record where status not in ('fail', ?)", [gate.WITHHELD]
    ).fetchall()
    return {i: con.execute(f'select * from {PUBLISHED}."{i}"').df() for (i,) in record}


@dg.asset(
    deps=[disclosure_gate],
    group_name="publish",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="The reproduction scorecard: every published claim of models_py/published/ beside the pipeline's "
    "value from the protected exhibits.",
)
def scorecard(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        tables = _published_tables(con)
        scale = gate.population_scale(con, relation_of)
        card = score.evaluate(registry.STUDIES, tables, scale)
        replace_table(con, PUBLISHED, "scorecard", card)
    counts = score.summary(card)
    return dg.MaterializeResult(metadata={**counts, "population_scale": float(scale or 0)})


@dg.asset(
    deps=[scorecard],
    group_name="publish",
    pool=DUCKDB_POOL,
    kinds={"html"},
    description="The report (a page per study, tidy tables, figures, workbook, manifest), published atomically "
    "to <reports>/latest.",
)
def emigration_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse, paths: RegisterPaths
) -> dg.MaterializeResult:
    exhibits = registry.load_registry()
    with warehouse.connect(read_only=True) as con:
        record = con.execute(f"select * from {PUBLISHED}.gate_record").df()
        published, withheld = [], []
        for e in exhibits:
            row = record[record["exhibit_id"] == e.id]
            if not row.empty and row["status"].iloc[0] == gate.WITHHELD:
                withheld.append((e, str(row["reason"].iloc[0])))
            if row.empty or row["status"].iloc[0] in ("fail", gate.WITHHELD):
                continue
            table = con.execute(f'select * from {PUBLISHED}."{e.id}"').df()
            suppressed = con.execute(f'select * from {PUBLISHED}."{e.id}__suppressed"').df()
            published.append(PublishedExhibit(e, table, suppressed, gate_note=str(row["note"].iloc[0] or "")))
        card = con.execute(f"select * from {PUBLISHED}.scorecard").df()
        vintages = con.execute(
            "select min(register_year), max(register_year), max(vintage) from raw.ingest_log"
        ).fetchone()
    site = Site(
        title="Emigration from Norway: register pipeline report",
        studies={s: registry.study_title(s) for s in registry.REGISTRY_FILES},
        exhibits=published,
        withheld=withheld,
        scorecard=card,
        disclosure_record=gate.record_for_publication(record),
        provenance={
            "register years": f"{vintages[0]}-{vintages[1]} (newest extraction {vintages[2]})",
            # the short id the Dagster UI shows: a full run id is random hex, and about 1 in 170 of them has a
            # segment shaped like a person id (letter + 11 digits, or 12 digits), which the R12 scan must refuse
            "dagster run": context.run.run_id[:8],
            "disclosure control": gate.policy_summary(),
        },
    )
    index = publish_site(site, paths.reports_dir, context.run.run_id)
    context.log.info(f"report published: {index}")
    with warehouse.connect() as con:  # R11: what is public now is what the next release is compared with
        gate.save_release(con, con.execute(f"select * from {PUBLISHED}.{PENDING_RELEASE}").df())
    counts = score.summary(card)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(index)),
            "exhibits": len(published),
            "withheld": len(withheld),
            # unchanged exhibits are copied from the render cache (models_py.publish.site.RenderCache)
            "figures_and_tables_drawn": site.render_counts.get("drawn", 0),
            "taken_from_render_cache": site.render_counts.get("from_cache", 0),
            "scorecard": f"{counts['holds']} of {counts['claims']} hold",
            "files": len(json.loads((index.parent / "manifest.json").read_text())["files"]),
        }
    )


report_assets = [*exhibit_assets, disclosure_gate, scorecard, emigration_report]
report_checks = [every_exhibit_protected]
