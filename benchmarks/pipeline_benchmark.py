"""`make bench`: the pipeline against the floor of one DuckDB scan of its inputs, per stage.

    python benchmarks/pipeline_benchmark.py --scales 0.1 [1] [--out data/benchmark] [--landing DIR]

For each scale, in one run:
1. simulates the deliveries (`models_py.simulator.cli`) unless --landing gives existing ones;
2. the scan floor: DuckDB reads every column of every delivered Parquet file once;
3. a full build with the newest register year held back: `python -m dagster_project.run` (the same
   path as `make run`) on a landing of hard links to every year but the newest, a fresh warehouse
   and a throw-away DAGSTER_HOME;
4. the new year added the way the sensor adds it: its folder appears, and one run of the
   `full_rebuild` job for that year only (`python -m dagster_project.run --years Y Y`);
5. the pandas reference of the core panel (benchmarks/reference_panel.py), timed, and compared with
   the pipeline's fct_person_year on its columns.
The resident memory of the whole process tree is sampled every 0.5 s from /proc; runs are split into
stages by the Dagster step events, and what is left of a run's wall time (start-up, manifest
parsing, the summary) is its "fixed" stage. Every stage is given as a ratio to the scan floor.

Writes <out>/benchmark.json, bench.csv, bench.md and bench.png. Timings are measured here, never
asserted in the test suite. Linux only (reads /proc).
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
        runs = instance.get_runs(limit=1)  # the newest run
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

    if step_key == "ingest" or step_key in {f"raw__{table}" for table in DELIVERED_TABLES}:
        return "ingest"
    if step_key.startswith("raw__"):
        return "ingest checks (balance, GX)"
    if step_key.startswith("dbt"):
        return "dbt build"
    name = step_key.rsplit("__", 1)[-1]  # asset keys with a prefix give step keys like models__a_sur_fit
    if name.startswith("a_"):
        return "study A models"
    if name.startswith("b_"):
        return "study B models"
    if name.startswith("exhibits"):
        return "exhibits"
    if name == "disclosure_gate":
        return "disclosure gate"
    if name in ("scorecard", "emigration_report"):
        return "scorecard and report"
    return "other models and quality"


def _link_years(source: Path, target: Path, years: list[str]) -> None:
    """Hard links, not symlinks: the gate refuses a symlinked file or folder."""
    for year in years:
        (target / year).mkdir(parents=True, exist_ok=True)
        for f in (source / year).iterdir():
            os.link(f, target / year / f.name)


def scan_floor(landing: Path) -> tuple[float, int]:
    """Seconds for DuckDB to read every column of every delivered Parquet file once, and the files."""
    import duckdb

    files = sorted(str(p) for p in landing.glob("*/*.parquet"))
    con = duckdb.connect()
    started = time.perf_counter()
    for f in files:  # the path is a bound parameter, never SQL text
        con.execute("select max(columns(*)) from read_parquet(?)", [f]).fetchall()
    secs = time.perf_counter() - started
    con.close()
    return secs, len(files)


def dagster_run(env: dict, work: Path, name: str, args: list[str]) -> dict:
    secs, mem, code = measured([sys.executable, "-m", "dagster_project.run", *args], env, work / f"{name}.log")
    out = {"seconds": secs, "peak_gb": mem.peak(), "exit_code": code, "stages": {}}
    stepped = 0.0
    for key, start, end in step_intervals(Path(env["DAGSTER_HOME"])):
        stage = out["stages"].setdefault(stage_of(key), {"seconds": 0.0, "peak_gb": 0.0})
        stage["seconds"] += end - start
        stage["peak_gb"] = max(stage["peak_gb"], mem.peak(start, end))
        stepped += end - start
    # steps run one after the other (in-process executor): the rest is start-up, manifest, summary
    out["stages"]["fixed (start-up, manifest, summary)"] = {"seconds": max(secs - stepped, 0.0), "peak_gb": mem.peak()}
    return out


def run_scale(
    scale: float, out: Path, seed: int, landing: Path | None, first: int, last: int, full_build_only: bool = False
) -> dict:
    work = out / f"scale_{scale:g}"
    if work.exists():
        shutil.rmtree(work)
    (work / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", work / "dagster_home" / "dagster.yaml")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(work / "dagster_home"),
        "REGISTER_WAREHOUSE": str(work / "warehouse.duckdb"),
        "REGISTER_REPORTS": str(work / "reports"),
    }
    result = {"scale": scale, "machine": machine(), "started_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    if landing is None:
        landing = work / "landing"
        secs, mem, code = measured(
            [
                sys.executable,
                "-m",
                "models_py.simulator.cli",
                "--out",
                str(landing),
                "--scale",
                str(scale),
                "--seed",
                str(seed),
                "--first-year",
                str(first),
                "--last-year",
                str(last),
                "--no-progress",
            ],
            env,
            work / "simulate.log",
        )
        if code:
            raise SystemExit(f"simulation failed, see {work / 'simulate.log'}")
        result["simulate"] = {"seconds": secs, "peak_gb": mem.peak()}
    from models_py.delivery import delivery_years

    years = delivery_years(landing)
    result["years"] = [years[0], years[-1]]
    result["delivery_mb"] = sum(f.stat().st_size for f in landing.rglob("*") if f.is_file()) / 1e6
    result["scan_floor_seconds"], result["files"] = scan_floor(landing)
    print(f"  scan floor {result['scan_floor_seconds']:.1f} s over {result['files']} files", flush=True)

    held = work / "landing_run"  # the landing the runs see: the newest year arrives later
    _link_years(landing, held, years[:-1])
    env["REGISTER_LANDING"] = str(held)
    result["full_build"] = dagster_run(env, work, "full_build", [])
    print(f"  full build (years {years[0]}-{years[-2]}) {result['full_build']['seconds']:.0f} s", flush=True)
    if full_build_only:  # scale 1 on a small machine: the full build is the figure that matters most
        result["warehouse_mb"] = (work / "warehouse.duckdb").stat().st_size / 1e6
        return result
    _link_years(landing, held, years[-1:])
    result["new_year"] = dagster_run(env, work, "new_year", ["--years", years[-1], years[-1]])
    print(f"  new year {years[-1]} {result['new_year']['seconds']:.0f} s", flush=True)
    warehouse = work / "warehouse.duckdb"
    result["warehouse_mb"] = warehouse.stat().st_size / 1e6 if warehouse.exists() else None
    try:
        from benchmarks import reference_panel

        started = time.perf_counter()
        result["reference"] = reference_panel.build_and_compare(landing, warehouse)
        result["reference"]["seconds_total"] = time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - reported in the table, the pipeline figures stand
        result["reference"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return result


def machine() -> dict:
    load = os.getloadavg()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_gb, 1),
        "load_1_5_15_at_start": [round(x, 1) for x in load],
    }


def rows_of(r: dict) -> list[dict]:
    """One row per stage: seconds, ratio to the scan floor, peak GB."""
    floor = r["scan_floor_seconds"]
    rows = []

    def add(run: str, stage: str, s: dict) -> None:
        rows.append(
            {
                "scale": r["scale"],
                "run": run,
                "stage": stage,
                "seconds": round(s["seconds"], 1),
                "x_scan_floor": round(s["seconds"] / floor, 1) if floor else None,
                "peak_gb": round(s.get("peak_gb", 0.0), 2),
            }
        )

    if "simulate" in r:
        add("simulate", "simulate", r["simulate"])
    add("scan floor", "DuckDB scan of all inputs", {"seconds": floor})
    for run in ("full_build", "new_year"):
        if run not in r:
            continue
        for stage, s in r[run]["stages"].items():
            add(run, stage, s)
        add(run, "whole run", r[run])
    ref = r.get("reference", {})
    if "seconds" in ref:
        add("reference", "pandas core panel", {"seconds": ref["seconds"], "peak_gb": ref.get("peak_gb", 0.0)})
    return rows


def summary_lines(r: dict) -> list[str]:
    full, new = r["full_build"], r.get("new_year")
    ref = r.get("reference", {})
    lines = [
        f"scale {r['scale']:g}, register years {r['years'][0]}-{r['years'][1]}, {r['files']} files, "
        f"delivered {r['delivery_mb']:.0f} MB",
        f"full build (newest year held back): {full['seconds']:.0f} s = "
        f"{full['seconds'] / r['scan_floor_seconds']:.0f}x "
        f"the scan floor ({r['scan_floor_seconds']:.1f} s), peak {full['peak_gb']:.2f} GB, exit {full['exit_code']}",
        f"new year run: {new['seconds']:.0f} s = {100 * new['seconds'] / full['seconds']:.0f} % of the full build, "
        f"peak {new['peak_gb']:.2f} GB, exit {new['exit_code']}"
        if new
        else "new year run: not measured (--full-build-only)",
    ]
    if r.get("warehouse_mb"):
        lines.append(f"warehouse {r['warehouse_mb']:.0f} MB = {r['warehouse_mb'] / r['delivery_mb']:.1f}x delivered")
    if "seconds" in ref:
        lines.append(
            f"pandas reference core panel: {ref['seconds']:.1f} s, {ref['rows']:,} person-years, "
            f"equal to fct_person_year on {', '.join(ref['columns'])}: {ref['equal']}"
            + ("" if ref["equal"] else f" ({ref.get('difference')})")
        )
    elif ref:
        lines.append(f"pandas reference: not available ({ref.get('error')})")
    m = r["machine"]
    lines.append(
        f"machine: {m['cpus']} cpus ({m['cpu']}), {m['memory_gb']} GB, load at start {m['load_1_5_15_at_start']}"
    )
    return lines


def write_outputs(results: list[dict], out: Path) -> None:
    import csv

    rows = [row for r in results for row in rows_of(r)]
    with open(out / "bench.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    md = ["| scale | run | stage | seconds | x scan floor | peak GB |", "|---|---|---|---:|---:|---:|"]
    md += [
        f"| {r['scale']:g} | {r['run']} | {r['stage']} | {r['seconds']} | {r['x_scan_floor']} | {r['peak_gb']} |"
        for r in rows
    ]
    for r in results:
        md += [""] + [f"- {line}" for line in summary_lines(r)]
    (out / "bench.md").write_text("\n".join(md) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, len(results), figsize=(10 * len(results), 4.5), squeeze=False)
    for ax, r in zip(axes[0], results):
        part = [row for row in rows_of(r) if row["stage"] != "whole run"]
        labels = [f"{row['run']}: {row['stage']}" for row in part]
        ax.barh(labels, [row["x_scan_floor"] for row in part], color="#4c72b0")
        ax.axvline(10, color="#c44e52", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("x one DuckDB scan of all inputs (log scale; dashed: 10x)")
        ax.set_title(f"scale {r['scale']:g}")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(out / "bench.png", dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.1])
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "benchmark")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--first-year", type=int, default=1990)
    ap.add_argument("--last-year", type=int, default=2023)
    ap.add_argument("--landing", type=Path, default=None, help="existing deliveries (one scale only)")
    ap.add_argument("--full-build-only", action="store_true", help="skip the new-year run and the pandas reference")
    args = ap.parse_args()
    if args.landing and len(args.scales) != 1:
        ap.error("--landing goes with exactly one scale")
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in sorted(args.scales):
        print(f"scale {scale:g} ...", flush=True)
        results.append(
            run_scale(scale, args.out, args.seed, args.landing, args.first_year, args.last_year, args.full_build_only)
        )
        (args.out / "benchmark.json").write_text(json.dumps(results, indent=2))
        write_outputs(results, args.out)
    print((args.out / "bench.md").read_text())
    runs = [r[run] for r in results for run in ("full_build", "new_year") if run in r]
    return 0 if all(run["exit_code"] == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
