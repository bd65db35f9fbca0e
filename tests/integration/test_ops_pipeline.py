"""Operations end to end: backfill equality, rerun identity, kill-and-rerun, concurrent runs.

Landing folders:
- `simulator`: the session's simulated register (tests/conftest.py `pipeline_env`), skipped with a
  reason while models_py.simulator cannot be imported; every test runs on it (marked slow);
- `factory`: four register years written by tests/helpers/delivery_factory.py (tiny, always available), for
  the tests that exercise ingestion only (hand-made rows are not meant to pass the dbt tests).
Warehouses are compared by a sha256 per table over every row and column (`order by all`), leaving
out only wall-clock timestamps and run ids, which differ between runs by design.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project import automation
from dagster_project.partitions import PARTITION_NAME
from models_py import settings
from models_py.contracts import DELIVERED_TABLES
from models_py.delivery import delivery_years
from tests.helpers.delivery_factory import write_delivery
from tests.helpers.pipeline import PipelineEnv, run_years

FACTORY_YEARS = [str(y) for y in range(2000, 2004)]
SOURCES = ["factory", pytest.param("simulator", marks=pytest.mark.slow)]
VOLATILE = {"run_id", "loaded_at", "recorded_at", "captured_at", "seconds"}  # seconds: the gate's own timing


def simulator_ready() -> bool:
    try:
        from models_py.simulator import simulate  # noqa: F401
    except Exception:  # the simulator is being written in parallel
        return False
    return True


@pytest.fixture
def sim_env(request, dbt_manifest) -> PipelineEnv:
    if not simulator_ready():
        pytest.skip("models_py.simulator is not importable yet")
    return request.getfixturevalue("pipeline_env")


@pytest.fixture(params=SOURCES)
def ops_env(request, tmp_path, monkeypatch, dbt_manifest) -> PipelineEnv:
    if request.param == "simulator":
        return request.getfixturevalue("sim_env")
    env = PipelineEnv(tmp_path / "landing", tmp_path / "warehouse.duckdb", tmp_path / "reports")
    for year in FACTORY_YEARS:
        write_delivery(env.landing, int(year))
    monkeypatch.setenv(settings.ENV_LANDING, str(env.landing))
    monkeypatch.setenv(settings.ENV_WAREHOUSE, str(env.warehouse))
    monkeypatch.setenv(settings.ENV_REPORTS, str(env.reports))
    return env


def sibling(env: PipelineEnv, name: str) -> PipelineEnv:
    """Same deliveries, another warehouse and report folder."""
    root = env.warehouse.parent / name
    root.mkdir()
    return PipelineEnv(env.landing, root / "warehouse.duckdb", root / "reports")


# ---------------------------------------------------------------------------------------------
RELEASE_BOOKKEEPING = {("exhibits_published", "suppression_history"), ("exhibits_published", "release_pending")}
# How the gate got to a release, not what it released: a second release of the same data starts from the first
# one's suppressions (R11 keeps them), so it lists R11 among its rules and its audit needs fewer rounds and LPs.
# The cells, their suppression counts, status and reason of every exhibit are still compared.
GATE_PROCESS = {("exhibits_published", "gate_record"): {"rules", "audit"}}


def warehouse_hashes(path: Path, skip_schemas: tuple[str, ...] = ()) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema not in ('information_schema', 'pg_catalog') order by all"
        ).fetchall()
        out = {}
        for schema, name in tables:
            if schema == "raw" and (name == "restore_points" or name.startswith("_restore_")):
                continue  # the runs' restore points (models_py/revisions.py): bookkeeping of runs, not state
            if (schema, name) in RELEASE_BOOKKEEPING or schema in skip_schemas:
                continue  # the R11 release history names each release by its time and run
            cols = [
                c
                for c, typ in con.execute(
                    "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?"
                    " order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if c not in VOLATILE
                and c not in GATE_PROCESS.get((schema, name), ())
                and not typ.startswith("TIMESTAMP")
            ]
            rows = con.execute(
                f'select {", ".join(chr(34) + c + chr(34) for c in cols)} from "{schema}"."{name}" order by all'
            ).fetchall()
            out[f"{schema}.{name}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def raw_only(hashes: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in hashes.items() if k.startswith("raw.")}


def assert_consistent(path: Path) -> None:
    """No half-ingested table-year: every year with rows has a log entry, and every logged year balances."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table in DELIVERED_TABLES:
            present = con.execute(
                f"select count(*) from information_schema.tables where table_schema = 'raw' and table_name = '{table}'"
            ).fetchone()[0]
            if not present:
                continue
            unlogged = con.execute(
                f"select distinct register_year from raw.{table} where register_year not in"
                f" (select register_year from raw.ingest_log where table_name = '{table}')"
            ).fetchall()
            assert unlogged == [], f"{table}: rows without an ingest log entry for {unlogged}"
            unbalanced = con.execute(
                f"select l.register_year from raw.ingest_log l where l.table_name = '{table}' and l.delivered <>"
                f" (select count(*) from raw.{table} t where t.register_year = l.register_year) +"
                f" (select count(*) from raw.quarantine q where q.register_year = l.register_year and q.table_name = '{table}')"
            ).fetchall()
            assert unbalanced == [], f"{table}: delivered != accepted + quarantined for {unbalanced}"
    finally:
        con.close()


def failures(result) -> list[str]:
    steps = [e.step_key for e in result.all_events if e.is_step_failure]
    checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}" for e in result.get_asset_check_evaluations() if not e.passed
    ]
    return steps + checks


# ---------------------------------------------------------------------------------------------
# Backfill: a range of years in one run = the same years one by one
# ---------------------------------------------------------------------------------------------
def test_range_backfill_equals_single_year_runs_raw_layer(ops_env):
    years = delivery_years(ops_env.landing)[:3]
    one, many = sibling(ops_env, "range"), sibling(ops_env, "singles")
    result = run_years(one, years, mode="ingest")
    assert result.success, failures(result)
    # one ingest step for the five tables, and the balance check of each table
    succeeded = {e.step_key for e in result.all_events if e.step_key and e.is_step_success}
    assert "ingest" in succeeded and len({k for k in succeeded if k.startswith("raw__")}) >= 5, succeeded
    with dg.instance_for_test() as inst:
        for year in years:
            single = run_years(many, [year], instance=inst, mode="ingest")
            assert single.success, failures(single)
    hashes = warehouse_hashes(one.warehouse)
    assert hashes == warehouse_hashes(many.warehouse)
    con = duckdb.connect(str(one.warehouse), read_only=True)
    assert [
        str(y) for (y,) in con.execute("select distinct register_year from raw.persons order by 1").fetchall()
    ] == years
    con.close()


@pytest.mark.slow
def test_range_backfill_equals_single_year_runs_whole_warehouse(sim_env):
    years = delivery_years(sim_env.landing)[:3]
    one, many = sibling(sim_env, "range"), sibling(sim_env, "singles")
    result = run_years(one, years)
    assert result.success, failures(result)
    with dg.instance_for_test() as inst:
        for year in years:
            single = run_years(many, [year], instance=inst)
            assert single.success, failures(single)
    # The published layer is left out: under R11 each single-year run is a release, and a later release suppresses
    # cells whose counts moved by 1-9 since the one before, which the range run (one release) has no reason to do.
    a = warehouse_hashes(one.warehouse, skip_schemas=("exhibits_published",))
    b = warehouse_hashes(many.warehouse, skip_schemas=("exhibits_published",))
    assert any(not k.startswith("raw.") for k in a)  # dbt and model tables are compared too
    assert a == b


# ---------------------------------------------------------------------------------------------
# Rerun: the same inputs give identical tables; afterwards nothing is stale
# ---------------------------------------------------------------------------------------------
REFERENCE: dict[str, dict[str, str]] = {}  # source -> hashes of an uninterrupted full run


def reference_hashes(env: PipelineEnv) -> dict[str, str]:
    key = str(sorted((y, automation.manifest_fingerprint(env.landing, y)) for y in delivery_years(env.landing)))
    if key not in REFERENCE:
        ref = sibling(env, "reference")
        years = delivery_years(env.landing)
        result = run_years(ref, years)
        assert result.success, failures(result)
        REFERENCE[key] = warehouse_hashes(ref.warehouse)
    return REFERENCE[key]


@pytest.mark.slow
def test_rerun_gives_identical_tables_and_leaves_nothing_stale(sim_env, tmp_path):
    ops_env = sim_env
    years = delivery_years(ops_env.landing)
    with dg.instance_for_test() as inst:
        first = run_years(ops_env, years, instance=inst)
        assert first.success, failures(first)
        before = warehouse_hashes(ops_env.warehouse)
        second = run_years(ops_env, years, instance=inst)
        assert second.success, failures(second)
        assert warehouse_hashes(ops_env.warehouse) == before
        assert before == reference_hashes(ops_env)  # and equal to a run in a fresh warehouse
        # what the automation concludes after a complete run
        plan = automation.plan_delivery_runs(inst, ops_env.landing, cursor={})
        assert plan.run_requests == []
        nightly = automation.plan_nightly(inst, ops_env.landing)
        assert nightly.stale_years == [] and nightly.downstream_reason is None, nightly.message


# ---------------------------------------------------------------------------------------------
# Kill -9 mid-run, then rerun
# ---------------------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    import dagster as dg
    from tests.helpers.pipeline import PipelineEnv, run_years
    args = json.loads(sys.argv[1])
    env = PipelineEnv(Path(args["landing"]), Path(args["warehouse"]), Path(args["reports"]))
    if args.get("freeze_at"):
        # a deterministic kill point (the tiny run would otherwise finish before the parent looks):
        # inside the second year's transaction, the first year committed, announce it and hang
        import models_py.ingest as gate
        real = gate._load_table
        def load_then_maybe_freeze(con, delivery_dir, year, table, *rest):
            result = real(con, delivery_dir, year, table, *rest)
            if table == "migration_events" and year > int(args["years"][0]):
                Path(args["freeze_at"]).touch()
                time.sleep(3600)
            return result
        gate._load_table = load_then_maybe_freeze
    with dg.DagsterInstance.get() as instance:
        if args.get("barrier"):
            Path(args["barrier"] + "." + args["name"]).touch()
            while not Path(args["barrier"]).exists():
                time.sleep(0.05)
        result = run_years(env, args["years"], instance=instance, mode=args["mode"])
        print(json.dumps({{"run_id": result.run_id, "success": result.success}}))
""")


def start_child(
    tmp_path: Path, env: PipelineEnv, years, mode, name="child", barrier=None, freeze_at=None
) -> subprocess.Popen:
    script = tmp_path / "ops_child.py"
    script.write_text(CHILD.format(root=str(settings.PROJECT_ROOT)))
    args = {
        "landing": str(env.landing),
        "warehouse": str(env.warehouse),
        "reports": str(env.reports),
        "years": years,
        "mode": mode,
        "barrier": barrier,
        "name": name,
        "freeze_at": str(freeze_at) if freeze_at else None,
    }
    # output to files, not pipes: a child blocked on a full pipe would never reach the kill point
    out, err = (open(tmp_path / f"{name}.{stream}", "w") for stream in ("out", "err"))
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(args)],
        stdout=out,
        stderr=err,
        text=True,
        start_new_session=True,
        env=os.environ.copy(),
    )


def child_output(tmp_path: Path, name: str) -> tuple[str, str]:
    return (tmp_path / f"{name}.out").read_text(), (tmp_path / f"{name}.err").read_text()


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def wait_for(instance, predicate, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = instance.get_runs()
        if runs:
            events = instance.all_logs(runs[0].run_id)
            if predicate(events):
                return runs[0]
        time.sleep(0.2)
    raise AssertionError("the child run never reached the kill point")


def step_successes(events, prefix):
    return [
        e
        for e in events
        if e.dagster_event
        and e.dagster_event.event_type_value == "STEP_SUCCESS"
        and (e.step_key or "").startswith(prefix)
    ]


def step_started(events, key):
    return any(
        e.dagster_event and e.dagster_event.event_type_value == "STEP_START" and e.step_key == key for e in events
    )


def test_kill_during_ingestion_and_rerun_converges(ops_env, tmp_path, dagster_home):
    """Killed inside the second year's transaction (three of its tables replaced, the first year
    committed) of an all-years range."""
    kill_and_rerun(ops_env, tmp_path, "ingest")


@pytest.mark.slow
def test_kill_during_dbt_build_and_rerun_converges(sim_env, tmp_path, dagster_home):
    """Killed 2 s into the dbt build of a full run; compared with an uninterrupted full run."""
    kill_and_rerun(sim_env, tmp_path, "dbt")


def kill_and_rerun(ops_env: PipelineEnv, tmp_path: Path, kill_point: str) -> None:
    years = delivery_years(ops_env.landing)
    mode = "ingest" if kill_point == "ingest" else "full"
    if mode == "ingest":
        ref = sibling(ops_env, "reference")
        result = run_years(ref, years, mode="ingest")
        assert result.success, failures(result)
        expected = warehouse_hashes(ref.warehouse)
    else:
        expected = reference_hashes(ops_env)

    with dg.DagsterInstance.get() as inst:
        inst.add_dynamic_partitions(PARTITION_NAME, years)
        frozen = tmp_path / "child.frozen"
        child = start_child(
            tmp_path, ops_env, [years[0], years[-1]], mode, freeze_at=frozen if kill_point == "ingest" else None
        )
        try:
            if kill_point == "ingest":
                killed = wait_for(inst, lambda ev: frozen.exists())
            else:
                killed = wait_for(inst, lambda ev: step_started(ev, "dbt_models"))
                time.sleep(2)
        finally:
            os.killpg(child.pid, signal.SIGKILL)  # the run and its dbt subprocess, like a crash
            child.wait()
        assert child.returncode == -signal.SIGKILL
        assert inst.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED  # nobody recorded an end

        assert_consistent(ops_env.warehouse)  # whatever was committed is whole
        assert automation.recover_orphaned_runs(inst) == [killed.run_id]
        assert inst.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        assert inst.event_log_storage.get_concurrency_info("duckdb").active_slot_count == 0

        rerun = run_years(ops_env, years, instance=inst, mode=mode)
        assert rerun.success, failures(rerun)
    got = warehouse_hashes(ops_env.warehouse)
    leftovers = sorted(set(got) - set(expected))
    assert leftovers == [], f"tables left behind by the killed run: {leftovers}"
    assert got == expected


# ---------------------------------------------------------------------------------------------
# Two runs at once against one warehouse
# ---------------------------------------------------------------------------------------------
def test_two_runs_at_once_are_serialized_by_the_pool_and_lose_nothing(ops_env, tmp_path, dagster_home):
    """Two processes, one instance (the repository's dagster.yaml: pool `duckdb` limit 1), one
    warehouse file, released at the same moment. Proves: both runs succeed (no DuckDB lock error),
    every year of both is there and balanced, the pool actually made one wait (a 'blocked by limit'
    event), and no two warehouse steps of the two runs overlapped in time. It does not prove that
    the runs would collide without the pool (that depends on timing); DuckDB allows one writer
    process, which is why the pool exists."""
    years = delivery_years(ops_env.landing)
    half = len(years) // 2
    blocks = [years[:half], years[half:]]
    barrier = str(tmp_path / "go")
    with dg.DagsterInstance.get() as inst:
        inst.add_dynamic_partitions(PARTITION_NAME, years)
        children = [
            start_child(tmp_path, ops_env, [b[0], b[-1]], "ingest", name=f"c{i}", barrier=barrier)
            for i, b in enumerate(blocks)
        ]
        deadline = time.time() + 120
        while not all(Path(f"{barrier}.c{i}").exists() for i in range(2)) and time.time() < deadline:
            time.sleep(0.05)
        Path(barrier).touch()
        for c in children:
            c.wait(timeout=300)
        outputs = [child_output(tmp_path, f"c{i}") for i in range(2)]
        assert all(out.strip() for out, _ in outputs), [err[-3000:] for _, err in outputs]
        results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
        assert all(r["success"] for r in results), [err[-3000:] for _, err in outputs]

        intervals, blocked = [], 0
        for r in results:
            starts = {}
            for e in inst.all_logs(r["run_id"]):
                event = e.dagster_event
                if event is None:
                    continue
                if event.event_type_value == "STEP_START":
                    starts[e.step_key] = e.timestamp
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                    intervals.append((starts[e.step_key], e.timestamp, r["run_id"], e.step_key))
                elif event.event_type_value == "ENGINE_EVENT" and "blocked by limit for pool duckdb" in (
                    e.message or ""
                ):
                    blocked += 1
    assert blocked > 0, "the two runs never contended for the pool: the test proved nothing"
    intervals.sort()
    for (s1, e1, run1, k1), (s2, e2, run2, k2) in zip(intervals, intervals[1:]):
        if run1 != run2:
            assert e1 <= s2, f"{k1} ({run1[:8]}) overlapped {k2} ({run2[:8]})"
    assert_consistent(ops_env.warehouse)
    con = duckdb.connect(str(ops_env.warehouse), read_only=True)
    logged = con.execute("select count(*) from raw.ingest_log").fetchone()[0]
    con.close()
    assert logged == len(years) * len(DELIVERED_TABLES)
