"""Benchmark: simulation and the full Dagster run at one or more scales, with time and peak memory.

    python benchmarks/pipeline_benchmark.py --scales 0.01 0.1 [--out /tmp/bench] [--landing DIR]

For each scale it
1. simulates the deliveries (`models_py.simulator.cli`) unless --landing gives existing ones;
2. runs `python -m dagster_project.run` (the same path as `make run`: ingest with its checks, dbt
   build, models, report) against a fresh warehouse and a throw-away DAGSTER_HOME;
3. samples the resident memory of the whole process tree (the run and its dbt subprocess) every
   0.5 s from /proc, and splits the run into stages by the Dagster step events.

It prints one table per scale (wall seconds and peak GB per stage) and, with several scales, the
ratios to the smallest scale beside the scale ratio (linear growth means time ratio ~ scale ratio).
Results are also written as JSON to <out>/benchmark.json. Timings are measured here, never asserted
in the test suite. Linux only (reads /proc).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------------------------
# memory of a process tree, from /proc
# ---------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # the command name may contain spaces: fields after the closing parenthesis
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def tree_rss_bytes(root: int) -> int:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        todo.extend(_children(pid))
    return total


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.done = pid, every, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            self.samples.append((time.time(), tree_rss_bytes(self.pid)))
            self.done.wait(self.every)

    def peak(self, start: float = 0.0, end: float = float("inf")) -> float:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=0) / 1e9


def measured(cmd: list[str], env: dict, log: Path) -> tuple[float, MemorySampler, int]:
    started = time.time()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        code = proc.wait()
    sampler.done.set()
    sampler.join()
    return time.time() - started, sampler, code


# ---------------------------------------------------------------------------------------------
# stages of a Dagster run, from its event log
# ---------------------------------------------------------------------------------------------
def step_intervals(dagster_home: Path) -> list[tuple[str, float, float]]:
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        if not runs:
            return []
        starts, intervals = {}, []
        for event in instance.all_logs(runs[0].run_id):
            kind = event.dagster_event.event_type_value if event.dagster_event else None
            if kind == "STEP_START":
                starts[event.step_key] = event.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
                intervals.append((event.step_key, starts[event.step_key], event.timestamp))
    return intervals


def stage_of(step_key: str) -> str:
    from models_py.contracts import DELIVERED_TABLES

    if step_key in {f"raw__{table}" for table in DELIVERED_TABLES}:
        return "ingest"
    if step_key.startswith("raw__"):
        return "ingest checks (balance, GX)"
    if step_key.startswith("dbt"):
        return "dbt build"
    return "models and report"


def run_scale(scale: float, out: Path, seed: int, landing: Path | None, first: int, last: int) -> dict:
    work = out / f"scale_{scale:g}"
    if work.exists():
        shutil.rmtree(work)
    (work / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", work / "dagster_home" / "dagster.yaml")
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "DAGSTER_HOME": str(work / "dagster_home"),
           "REGISTER_WAREHOUSE": str(work / "warehouse.duckdb"), "REGISTER_REPORTS": str(work / "reports")}
    result = {"scale": scale, "stages": {}}
    if landing is None:
        landing = work / "landing"
        secs, mem, code = measured(
            [sys.executable, "-m", "models_py.simulator.cli", "--out", str(landing), "--scale", str(scale),
             "--seed", str(seed), "--first-year", str(first), "--last-year", str(last), "--no-progress"],
            env, work / "simulate.log")
        if code:
            raise SystemExit(f"simulation failed, see {work / 'simulate.log'}")
        result["stages"]["simulate"] = {"seconds": secs, "peak_gb": mem.peak()}
        result["delivery_mb"] = sum(f.stat().st_size for f in landing.rglob("*") if f.is_file()) / 1e6
    env["REGISTER_LANDING"] = str(landing)
    secs, mem, code = measured([sys.executable, "-m", "dagster_project.run"], env, work / "run.log")
    result["run"] = {"seconds": secs, "peak_gb": mem.peak(), "exit_code": code}
    for key, start, end in step_intervals(work / "dagster_home"):
        stage = result["stages"].setdefault(stage_of(key), {"seconds": 0.0, "peak_gb": 0.0})
        stage["seconds"] += end - start
        stage["peak_gb"] = max(stage["peak_gb"], mem.peak(start, end))
    if (work / "warehouse.duckdb").exists():
        result["warehouse_mb"] = (work / "warehouse.duckdb").stat().st_size / 1e6
    return result


def print_table(results: list[dict]) -> None:
    base = results[0]
    for r in results:
        ratio = r["scale"] / base["scale"]
        print(f"\nscale {r['scale']:g}  (x{ratio:g} the smallest)  deliveries {r.get('delivery_mb', 0):.0f} MB, "
              f"warehouse {r.get('warehouse_mb', 0):.0f} MB, run exit code {r['run']['exit_code']}")
        print(f"  {'stage':<30}{'seconds':>10}{'peak GB':>10}{'time ratio':>12}{'memory ratio':>14}")
        rows = list(r["stages"].items()) + [("whole run", r["run"])]
        for name, s in rows:
            b = base["stages"].get(name) if name != "whole run" else base["run"]
            t_ratio = f"{s['seconds'] / b['seconds']:.1f}" if b and b["seconds"] else "-"
            m_ratio = f"{s['peak_gb'] / b['peak_gb']:.1f}" if b and b["peak_gb"] else "-"
            print(f"  {name:<30}{s['seconds']:>10.1f}{s['peak_gb']:>10.2f}{t_ratio:>12}{m_ratio:>14}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.1])
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "benchmark")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--first-year", type=int, default=1990)
    ap.add_argument("--last-year", type=int, default=2023)
    ap.add_argument("--landing", type=Path, default=None, help="existing deliveries (one scale only)")
    args = ap.parse_args()
    if args.landing and len(args.scales) != 1:
        ap.error("--landing goes with exactly one scale")
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in sorted(args.scales):
        print(f"scale {scale:g} ...", flush=True)
        results.append(run_scale(scale, args.out, args.seed, args.landing, args.first_year, args.last_year))
        (args.out / "benchmark.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0 if all(r["run"]["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
