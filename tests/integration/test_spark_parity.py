"""The dbt layer runs unchanged on Spark (issue 17): the whole project (every seed, model, data test
and unit test, as `dbt seed`, `dbt run`, `dbt test`), built on DuckDB and on local Spark from the
same small seeded simulation, gives the same output for every model, row by row.

Rows are compared as canonical text (tests/helpers/spark.py: NULL, exact integers, floats rounded
to 9 significant digits, quoted strings, ISO dates), as multisets in both directions (`except all`
both ways), columns matched by name (Spark moves partition columns last). Any difference fails
with the model name and a sample of the differing rows; a model that fails to build on either
engine fails too, with dbt's error. Nothing is skipped except the whole module where Java or the
`spark` extra is missing.

Run it with `make test-spark` (or `pytest -m spark`). Set REGISTER_SPARK_PARITY_DIR to keep the
run folder (landing, warehouses, dbt logs) for inspection.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from tests.helpers import spark as sp

pytestmark = pytest.mark.spark

# a few thousand persons, every register year the pipeline supports
SCALE, SEED, FIRST, LAST = 0.0005, 7, 1990, 2023

_reason = sp.missing_requirement()
if _reason:
    pytestmark = [pytest.mark.spark, pytest.mark.skip(reason=_reason)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    import duckdb

    from models_py.simulator import simulate
    from tests.helpers.dbt import load_landing

    keep = os.environ.get("REGISTER_SPARK_PARITY_DIR")
    root = Path(keep) if keep else tmp_path_factory.mktemp("spark_parity")
    root.mkdir(parents=True, exist_ok=True)
    timings = {}
    t0 = time.perf_counter()
    simulate(root / "landing", scale=SCALE, first_year=FIRST, last_year=LAST, seed=SEED, truth_dir=root / "truth")
    warehouse = root / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        load_landing(root / "landing", con)
    finally:
        con.close()
    raw_rows = sp.export_raw_parquet(warehouse, root / "raw_parquet")
    timings["simulate+load+export"] = time.perf_counter() - t0

    run_dir = root / "spark_run"
    run_dir.mkdir(exist_ok=True)
    engines = {
        "duckdb": ("dev", {"REGISTER_WAREHOUSE": str(warehouse)}),
        "spark": ("spark", sp.spark_env(run_dir, root / "raw_parquet")),
    }
    problems = {}
    for engine, (target, env) in engines.items():
        # seed, run, test rather than one `dbt build`: in a build, one failing (unit) test skips every
        # model downstream, which would hide those models' own errors on the other engine
        t0, c0 = time.perf_counter(), _children_cpu()
        problems[engine] = []
        for step in ("seed", "run", "test"):
            res = sp.run_dbt(target, [step], root / f"target_{engine}", env, root / f"logs_{engine}")
            found = sp.run_problems(root / f"target_{engine}")
            if res.returncode != 0 and not found:
                found = [f"dbt {step} exited with {res.returncode}: {res.stdout[-3000:]} {res.stderr[-1500:]}"]
            problems[engine] += [f"dbt {step}: {p}" for p in found]
        timings[f"dbt {engine}"] = time.perf_counter() - t0
        # CPU time tells a loaded CI machine from a slow build (the JVM counts once it is reaped)
        timings[f"dbt {engine} cpu"] = _children_cpu() - c0
    return {
        "root": root,
        "warehouse": warehouse,
        "run_dir": run_dir,
        "raw_rows": raw_rows,
        "timings": timings,
        "problems": problems,
    }


def test_simulation_is_a_few_thousand_persons_over_every_year(parity):
    import duckdb

    con = duckdb.connect(str(parity["warehouse"]), read_only=True)
    try:
        persons, years = con.execute(
            "select count(distinct person_id), count(distinct register_year) from raw.persons"
        ).fetchall()[0]
    finally:
        con.close()
    assert 1000 <= persons <= 20000 and years == LAST - FIRST + 1, (persons, years)


def test_dbt_build_passes_on_duckdb(parity):
    problems = parity["problems"]["duckdb"]
    assert not problems, f"{len(problems)} dbt nodes failed on DuckDB:\n" + "\n".join(problems)


def test_dbt_build_passes_on_spark(parity):
    """Every seed, model, data test and unit test; each failing node is listed with dbt's error."""
    problems = parity["problems"]["spark"]
    assert not problems, f"{len(problems)} dbt nodes failed on Spark:\n" + "\n".join(problems)


def test_every_model_has_the_same_rows_on_both_engines(parity):
    import duckdb

    models = sp.models(parity["root"] / "target_duckdb")
    assert len(models) >= 40, "the manifest lost models"
    failures, compared, rows = [], 0, 0
    t0 = time.perf_counter()
    spark = sp.spark_session(parity["run_dir"])
    con = duckdb.connect(str(parity["warehouse"]), read_only=True)
    try:
        for name, schema, relation in models:
            try:
                d = sp.duckdb_rows(con, schema, relation)
            except duckdb.Error as exc:
                failures.append(f"{name}: not readable on DuckDB: {' '.join(str(exc).split())[:300]}")
                continue
            try:
                s = sp.spark_rows(spark, schema, relation)
            except Exception as exc:  # AnalysisException: the model was not built on Spark
                failures.append(
                    f"{name}: not readable on Spark (see the Spark build's errors): {' '.join(str(exc).split())[:300]}"
                )
                continue
            compared += 1
            rows += sum(d[1].values())
            diff = sp.difference(name, d, s)
            if diff:
                failures.append(diff)
    finally:
        con.close()
        spark.stop()
    timings = dict(parity["timings"], compare=time.perf_counter() - t0)
    print(
        f"\nspark parity: {compared} of {len(models)} models compared, {rows} rows (DuckDB side); "
        f"raw rows {sum(parity['raw_rows'].values())}; " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    )
    assert not failures, f"{len(failures)} of {len(models)} models differ or are missing:\n" + "\n".join(failures)
