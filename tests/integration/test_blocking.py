"""A failing check stops the models and the report; the last good report stays byte-identical, and raw
is restored to its state before the failed run (issue 15, item 7)."""

from __future__ import annotations

import dagster as dg
import pyarrow.parquet as pq

from models_py.delivery import delivery_years, sha256_file
from tests.helpers.dagster_runs import raw_fingerprint, snapshot
from tests.helpers.pipeline import run_years


def truncate_population_status(folder, keep_share: float = 0.5) -> None:
    """Re-deliver a year with part of its population register missing (manifest kept consistent)."""
    import json

    path = folder / "population_status.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(0, int(table.num_rows * keep_share)), path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"]["population_status"].update(rows=int(table.num_rows * keep_share), sha256=sha256_file(path))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_failing_check_blocks_models_and_report_and_keeps_last_good_report(dbt_manifest, pipeline_env):
    env = pipeline_env
    first = run_years(env)
    assert first.success
    before_target, before_bytes = snapshot(env.reports)
    raw_before = raw_fingerprint(env.warehouse)

    newest = delivery_years(env.landing)[-1]
    truncate_population_status(env.landing / newest)
    second = run_years(env)

    assert not second.success
    failed = [
        (e.asset_key.to_user_string(), e.check_name) for e in second.get_asset_check_evaluations() if not e.passed
    ]
    assert failed, "a truncated population register must fail at least one check"
    materialized = {e.asset_key for e in second.get_asset_materialization_events()}
    steps_failed = [e.step_key for e in second.all_events if e.is_step_failure]
    assert dg.AssetKey("disclosure_gate") not in materialized, (failed, steps_failed)
    assert dg.AssetKey("emigration_report") not in materialized
    after_target, after_bytes = snapshot(env.reports)
    assert after_target == before_target
    assert after_bytes == before_bytes
    # the truncated year was loaded before the check refused it; the failed run left raw as it found it
    assert raw_fingerprint(env.warehouse) == raw_before
