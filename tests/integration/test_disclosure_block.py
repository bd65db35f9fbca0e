"""With `on_unprotectable: block`, a family the audit cannot protect blocks publishing, and the previous report
stays byte-identical (issue 14: "the gate blocks publishing when a family cannot be protected")."""

from __future__ import annotations

import dagster as dg
import duckdb
import yaml

from models_py.publish import disclosure
from tests.helpers.dagster_runs import snapshot
from tests.helpers.pipeline import run_years


def test_an_unprotectable_family_blocks_publishing_and_keeps_the_previous_report(
    dbt_manifest, pipeline_env, tmp_path, monkeypatch
):
    env = pipeline_env
    first = run_years(env)
    assert first.success
    before_target, before_bytes = snapshot(env.reports)

    # the same data under a policy that blocks, with no round of "suppress more" allowed: every family whose first
    # proposal fails the audit is unprotectable
    settings = disclosure.load_settings()
    settings["on_unprotectable"] = "block"
    settings["secondary"]["max_rounds"] = 0
    path = tmp_path / "disclosure_settings.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    monkeypatch.setattr(disclosure, "SETTINGS_PATH", path)
    second = run_years(env)

    assert not second.success
    con = duckdb.connect(str(env.warehouse), read_only=True)
    unprotectable = con.execute(
        "select count(*) from exhibits_published.gate_record where status = 'fail' and reason like 'audit%'"
    ).fetchall()[0][0]
    con.close()
    assert unprotectable >= 1, "no family was left unprotectable: the test proves nothing"
    failed = {e.check_name for e in second.get_asset_check_evaluations() if not e.passed}
    assert "every_exhibit_protected" in failed
    materialized = {e.asset_key for e in second.get_asset_materialization_events()}
    assert dg.AssetKey("emigration_report") not in materialized
    after_target, after_bytes = snapshot(env.reports)
    assert after_target == before_target
    assert after_bytes == before_bytes
