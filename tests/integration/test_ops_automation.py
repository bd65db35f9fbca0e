"""Operations: the landing-folder sensor, the nightly schedule, the instance settings and run history.

Deliveries come from tests/helpers/delivery_factory.py (tiny, valid, known content). Sensors and schedules are
evaluated as the daemon would (build_sensor_context / build_schedule_context with a persistent test
instance and the project's definitions); the dynamic-partition requests they return are applied
by hand, as the daemon applies them.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys

import dagster as dg
import pytest

from dagster_project import automation
from dagster_project.automation import RANGE_END, RANGE_START, TAG_REFLAGGED, TAG_TRANSFORM_CODE
from dagster_project.partitions import PARTITION_NAME
from models_py import settings
from tests.helpers.dagster_runs import clear_defs_state_storage
from tests.helpers.delivery_factory import valid_tables, write_delivery
from tests.helpers.pipeline import PipelineEnv, resources_for

INGEST = dg.AssetSelection.groups("ingest")


@pytest.fixture
def env(tmp_path, monkeypatch) -> PipelineEnv:
    env = PipelineEnv(tmp_path / "landing", tmp_path / "warehouse.duckdb", tmp_path / "reports")
    env.landing.mkdir()
    monkeypatch.setenv(settings.ENV_LANDING, str(env.landing))
    monkeypatch.setenv(settings.ENV_WAREHOUSE, str(env.warehouse))
    monkeypatch.setenv(settings.ENV_REPORTS, str(env.reports))
    monkeypatch.setenv(automation.ENV_SETTLE, "0")
    return env


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def defs_for(dbt_manifest):
    from dagster_project.definitions import build_definitions

    def build(env: PipelineEnv) -> dg.Definitions:
        clear_defs_state_storage(collect_garbage=True)  # an undisposed instance of an earlier test: see the helper
        return build_definitions(resources_for(env))

    return build


def tick(defs, instance, cursor=None) -> dg.SensorResult:
    from dagster_project.sensors import register_delivery_sensor

    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources=defs.resources,
        sensor_name="register_delivery_sensor",
    )
    result = register_delivery_sensor(context)
    for request in result.dynamic_partitions_requests or []:  # what the daemon does with them
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def ingest_only(defs) -> dg.JobDefinition:
    """full_rebuild restricted to the ingest assets and their balance checks (no dbt, no GX: fast)."""
    from dagster_project.checks.ingest_checks import ingest_checks

    return defs.resolve_job_def("full_rebuild").get_subset(
        asset_selection=INGEST.resolve(defs.resolve_asset_graph()),
        asset_check_selection={key for check in ingest_checks for key in check.check_keys},
    )


def ingest(defs, instance, years: list[str]) -> dg.ExecuteInProcessResult:
    job = ingest_only(defs)
    tags = {RANGE_START: years[0], RANGE_END: years[-1]} if len(years) > 1 else {}
    return job.execute_in_process(
        instance=instance, tags=tags, partition_key=years[0] if len(years) == 1 else None, raise_on_error=False
    )


def test_sensor_registers_a_new_year_and_fires_once_per_delivery(env, instance, defs_for):
    defs = defs_for(env)
    write_delivery(env.landing, 2000)
    write_delivery(env.landing, 2001)
    (env.landing / "notes").mkdir()  # not a year: ignored

    first = tick(defs, instance)
    assert [r.partition_keys for r in first.dynamic_partitions_requests] == [["2000", "2001"]]
    assert len(first.run_requests) == 1  # one run over the block of new years, not one per year
    req = first.run_requests[0]
    assert (req.tags[RANGE_START], req.tags[RANGE_END]) == ("2000", "2001")
    assert req.job_name in (None, "full_rebuild") and req.asset_selection is None  # ingest + everything downstream
    assert req.run_key.startswith("delivery-2000-2001-")
    assert json.loads(first.cursor) == {y: automation.manifest_fingerprint(env.landing, y) for y in ("2000", "2001")}

    second = tick(defs, instance, first.cursor)
    assert not second.run_requests and not second.dynamic_partitions_requests
    assert second.skip_reason is not None

    write_delivery(env.landing, 2002)
    third = tick(defs, instance, second.cursor)
    assert [r.partition_keys for r in third.dynamic_partitions_requests] == [["2002"]]
    assert [r.partition_key for r in third.run_requests] == ["2002"]
    # the panel's lookback window (dbt var panel_lookback_years earlier years)
    k = automation.lookahead_years()
    expected = [str(y) for y in range(2002 - k, 2002) if y >= 2000]
    assert third.run_requests[0].tags[TAG_REFLAGGED] == ",".join(expected)
    assert instance.get_dynamic_partitions(PARTITION_NAME) == ["2000", "2001", "2002"]

    fourth = tick(defs, instance, third.cursor)
    assert not fourth.run_requests


def test_sensor_detects_a_revised_delivery_but_not_an_identical_rewrite(env, instance, defs_for):
    defs = defs_for(env)
    for year in (2000, 2001, 2002):
        write_delivery(env.landing, year)
    cursor = tick(defs, instance).cursor

    write_delivery(env.landing, 2001)  # same content, same manifest bytes: the same delivery
    assert not tick(defs, instance, cursor).run_requests

    tables = valid_tables(2001)
    tables["migration_events"].loc[0, "country"] = "DNK"
    write_delivery(env.landing, 2001, tables, vintage="2003-01-15")
    revised = tick(defs, instance, cursor)
    assert not revised.dynamic_partitions_requests  # known year: no new partition
    assert [r.partition_key for r in revised.run_requests] == ["2001"]
    old_key = automation.delivery_run_key(["2001"], {"2001": json.loads(cursor)["2001"]})
    assert revised.run_requests[0].run_key != old_key
    assert not tick(defs, instance, revised.cursor).run_requests


def test_sensor_groups_changed_years_into_contiguous_runs(env, instance, defs_for):
    defs = defs_for(env)
    for year in range(2000, 2005):
        write_delivery(env.landing, year)
    cursor = tick(defs, instance).cursor
    for year in (2000, 2001, 2003):
        write_delivery(env.landing, year, vintage=f"{year + 3}-06-30")
    result = tick(defs, instance, cursor)
    spans = sorted(
        (r.tags.get(RANGE_START, r.partition_key), r.tags.get(RANGE_END, r.partition_key)) for r in result.run_requests
    )
    assert spans == [("2000", "2001"), ("2003", "2003")]  # 2002 is not re-ingested


def test_sensor_waits_for_a_delivery_still_being_copied(env, instance, defs_for, monkeypatch):
    defs = defs_for(env)
    folder = write_delivery(env.landing, 2000)
    income = folder / "income.parquet"
    income.rename(folder / "income.tmp")
    assert not tick(defs, instance).run_requests  # a listed file is missing
    (folder / "income.tmp").rename(income)
    monkeypatch.setenv(automation.ENV_SETTLE, "3600")
    assert not tick(defs, instance).run_requests  # files changed within the settle time
    monkeypatch.setenv(automation.ENV_SETTLE, "0")
    assert len(tick(defs, instance).run_requests) == 1


def test_sensor_request_runs_and_a_fresh_cursor_knows_what_was_ingested(env, instance, defs_for):
    """The run the sensor asks for ingests the year; a sensor with a lost cursor (or one enabled after
    `make run`) reads the fingerprints from the materializations and does not run it again."""
    defs = defs_for(env)
    write_delivery(env.landing, 2000)
    write_delivery(env.landing, 2001)
    request = tick(defs, instance).run_requests[0]
    result = ingest_only(defs).execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert result.success
    signatures = automation.ingested_signatures(instance, ["2000", "2001"])
    assert {y: fp for y, (fp, _) in signatures.items()} == {
        y: automation.manifest_fingerprint(env.landing, y) for y in ("2000", "2001")
    }

    fresh = tick(defs, instance, cursor=None)
    assert not fresh.run_requests
    write_delivery(env.landing, 2001, vintage="2004-01-01")
    assert [r.partition_key for r in tick(defs, instance, fresh.cursor).run_requests] == ["2001"]


def test_schedule_targets_full_rebuild_and_runs_only_what_is_stale(env, instance, defs_for):
    from dagster_project.schedules import nightly_rebuild

    defs = defs_for(env)
    assert nightly_rebuild.job_name == "full_rebuild"
    assert nightly_rebuild.cron_schedule == "0 2 * * *"
    assert defs.resolve_job_def("full_rebuild").partitions_def is not None

    def evaluate():
        context = dg.build_schedule_context(
            instance=instance,
            repository_def=defs.get_repository_def(),
            resources=resources_for(env),
            scheduled_execution_time=datetime.datetime(2026, 11, 23, 2, 0),
        )
        data = nightly_rebuild.evaluate_tick(context)
        return data.run_requests or [], data.skip_message

    for year in (2000, 2001, 2002):
        write_delivery(env.landing, year)
    instance.add_dynamic_partitions(PARTITION_NAME, ["2000", "2001", "2002"])
    requests, _ = evaluate()  # nothing ingested yet: every registered year is stale
    assert [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in requests] == [("2000", "2002")]

    assert ingest(defs, instance, ["2000", "2001", "2002"]).success
    requests, _ = evaluate()  # ingested, but no report built after it: downstream only
    assert len(requests) == 1 and requests[0].asset_selection
    selected = {k.to_user_string() for k in requests[0].asset_selection}
    assert "emigration_report" in selected and not any(k.startswith("raw/") for k in selected)
    assert RANGE_START not in requests[0].tags and requests[0].partition_key is None

    # A report built after the ingestion by the current code: nothing is stale. (A stand-in asset with
    # the report's key keeps this test free of dbt; the real pipeline is covered in test_ops_pipeline.)
    @dg.asset(name="emigration_report")
    def report_stand_in():
        return None

    dg.materialize(
        [report_stand_in], instance=instance, tags={TAG_TRANSFORM_CODE: automation.code_fingerprints()["transform"]}
    )
    requests, skip = evaluate()
    assert requests == [] and "nothing stale" in skip

    write_delivery(env.landing, 2001, vintage="2004-01-01")  # a revision nobody ran yet
    requests, _ = evaluate()
    assert [r.partition_key for r in requests] == ["2001"]


def test_the_instance_yaml_is_valid_and_serializes_warehouse_steps(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as inst:
        pools = inst.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1 and pools.pool_granularity.value == "op"
        assert inst.run_monitoring_enabled
        assert inst.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        assert inst.event_log_storage.supports_global_concurrency_limits  # SQLite storage enforces pools


def test_every_warehouse_step_is_in_the_duckdb_pool(defs_for, env):
    defs = defs_for(env)
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def("full_rebuild")
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    assert pools and set(pools.values()) == {"duckdb"}, pools
    assert {k.to_user_string() for k in graph.get_all_asset_keys()}  # the job is not empty


def test_run_history_survives_a_restart(env, tmp_path, monkeypatch, defs_for):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    defs = defs_for(env)
    write_delivery(env.landing, 2000)
    with dg.DagsterInstance.get() as inst:
        inst.add_dynamic_partitions(PARTITION_NAME, ["2000"])
        run_id = ingest(defs, inst, ["2000"]).run_id
    with dg.DagsterInstance.get() as reopened:  # a new process would see the same
        run = reopened.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert reopened.get_dynamic_partitions(PARTITION_NAME) == ["2000"]
        assert reopened.get_latest_materialization_event(dg.AssetKey(["raw", "persons"])).run_id == run_id
    # and from another process
    code = (
        "import dagster as dg, sys; i = dg.DagsterInstance.get();"
        f" r = i.get_run_by_id('{run_id}'); sys.exit(0 if r and r.status.value == 'SUCCESS' else 1)"
    )
    assert (
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "DAGSTER_HOME": str(home)}, check=False
        ).returncode
        == 0
    )


def test_runs_whose_process_died_are_failed_and_their_pool_slot_freed(tmp_path):
    """A killed run keeps its `duckdb` slot (blocking every later run) until recover_orphaned_runs."""
    import socket

    from dagster._core.events import EngineEventData

    with dg.instance_for_test(temp_dir=str(tmp_path)) as inst:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        job = dg.GraphDefinition(name="g").to_job()
        tagged = inst.create_run_for_job(
            job, tags={automation.TAG_PID: f"{socket.gethostname()}:{dead.pid}"}, status=dg.DagsterRunStatus.STARTED
        )
        launched = inst.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)  # as the daemon's run worker
        inst.report_engine_event("Executing steps in process", launched, EngineEventData.in_process(dead.pid))
        alive = inst.create_run_for_job(job, tags=automation.pid_tag(), status=dg.DagsterRunStatus.STARTED)
        unknown = inst.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)  # no pid known: left alone
        inst.event_log_storage.set_concurrency_slots("duckdb", 1)
        assert inst.event_log_storage.claim_concurrency_slot("duckdb", tagged.run_id, "raw__persons").is_claimed
        assert not inst.event_log_storage.claim_concurrency_slot("duckdb", "next-run", "step").is_claimed

        assert sorted(automation.recover_orphaned_runs(inst)) == sorted([tagged.run_id, launched.run_id])
        status = {
            r: inst.get_run_by_id(r).status for r in (tagged.run_id, launched.run_id, alive.run_id, unknown.run_id)
        }
        assert status == {
            tagged.run_id: dg.DagsterRunStatus.FAILURE,
            launched.run_id: dg.DagsterRunStatus.FAILURE,
            alive.run_id: dg.DagsterRunStatus.STARTED,
            unknown.run_id: dg.DagsterRunStatus.STARTED,
        }
        assert inst.event_log_storage.get_concurrency_info("duckdb").active_slot_count == 0
        assert automation.recover_orphaned_runs(inst) == []


def test_the_dbt_child_of_a_killed_run_is_ended_and_no_other_process(tmp_path):
    """A killed `make run` left dbt running its query with the warehouse lock for 8 minutes (2026-12-03): the
    recovery ends the process the run's dbt tag names, and leaves alone a live process whose start time differs
    from the tag's (a reused pid)."""
    import socket

    with dg.instance_for_test(temp_dir=str(tmp_path)) as inst:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        dbt_child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        try:
            job = dg.GraphDefinition(name="g").to_job()
            host = socket.gethostname()
            killed = inst.create_run_for_job(
                job,
                tags={
                    automation.TAG_PID: f"{host}:{dead.pid}",
                    automation.TAG_DBT_PID: automation.child_tag(dbt_child.pid),
                },
                status=dg.DagsterRunStatus.STARTED,
            )
            stale_tag = automation.child_tag(bystander.pid).rsplit(":", 1)[0] + ":1"  # same pid, other start time
            reused = inst.create_run_for_job(
                job,
                tags={automation.TAG_PID: f"{host}:{dead.pid}", automation.TAG_DBT_PID: stale_tag},
                status=dg.DagsterRunStatus.STARTED,
            )
            assert automation.end_orphaned_child(f"{host}:not-a-pid:1") is None  # a malformed tag is ignored
            assert sorted(automation.recover_orphaned_runs(inst)) == sorted([killed.run_id, reused.run_id])
            assert dbt_child.wait(timeout=15) != 0  # ended by a signal
            assert bystander.poll() is None
            events = [e.message for e in inst.all_logs(killed.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
            assert f"ended the run's orphaned dbt process {dbt_child.pid}" in events
        finally:
            for p in (dbt_child, bystander):
                p.kill()
                p.wait()


def test_contiguous_groups_follow_partition_order():
    order = ["2000", "2001", "2002", "2003", "1999"]  # 1999 delivered late: registered last
    assert automation.contiguous_groups(order, {"2001", "2002", "1999"}) == [["2001", "2002"], ["1999"]]
    assert automation.contiguous_groups(order, set()) == []
