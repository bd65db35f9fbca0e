"""`make run`: materialize every asset through Dagster, for every delivered register year, in one run.

Uses the persistent instance in DAGSTER_HOME, so the run shows up in the UI (`make ui`).
"""
from __future__ import annotations

import sys
import time

import dagster as dg

from dagster_project.automation import full_rebuild_tags, recover_orphaned_runs
from dagster_project.prepare import prepare_dbt_manifest
from models_py import settings
from models_py.delivery import delivery_years


def register_delivered_years(instance: dg.DagsterInstance, years: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions("register_year"))
    new = [y for y in years if y not in known]
    if new:
        instance.add_dynamic_partitions("register_year", new)
    return new


def summary_counts(warehouse) -> list[tuple[str, int]]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('raw') or table_name like 'fct_%' or table_name like 'rate_%' "
            "or table_schema = 'models' order by 1"
        ).fetchall()
        return [(name, con.execute(f"select count(*) from {name}").fetchone()[0]) for (name,) in rows]
    finally:
        con.close()


def main() -> int:
    landing = settings.landing_dir()
    years = delivery_years(landing)
    if not years:
        print(f"no deliveries in {landing} (run `make simulate` first)", file=sys.stderr)
        return 2
    prepare_dbt_manifest()
    from dagster_project.definitions import defs  # after the manifest exists

    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        for run_id in recover_orphaned_runs(instance):
            print(f"run {run_id} was killed earlier: marked failed, its warehouse slot freed")
        register_delivered_years(instance, years)
        # a range is taken in partition order (the order years were registered), not numeric order
        order = instance.get_dynamic_partitions("register_year")
        job = defs.resolve_job_def("full_rebuild")
        result = job.execute_in_process(
            instance=instance, tags=full_rebuild_tags([order[0], order[-1]]), raise_on_error=False
        )
    elapsed = time.perf_counter() - started
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    print(f"\nrun {result.run_id}: {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f} s, "
          f"register years {years[0]}-{years[-1]} ({len(years)} deliveries)")
    for evaluation in failed_checks:
        print(f"  failed check: {evaluation.asset_key.to_user_string()} / {evaluation.check_name}")
    print("rows in the warehouse:")
    for name, n in summary_counts(settings.warehouse_path()):
        print(f"  {name:<45} {n:>12,}")
    report = settings.reports_dir() / "latest" / "index.html"
    if result.success and report.exists():
        print(f"\nreport: {report.resolve()}")
        return 0
    print(f"\nno new report published; the last good report (if any) is unchanged: {report}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
