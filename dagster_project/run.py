"""`make run`: materialize every asset through Dagster, for every delivered register year, in one run.

Uses the persistent instance in DAGSTER_HOME, so the run shows up in the UI (`make ui`). The terminal
shows one live progress line (stage, partition, rows, elapsed); the full Dagster and dbt log goes to
<warehouse folder>/logs/run-<UTC stamp>.log (REGISTER_LOG_DIR overrides the folder). The summary
ends with the run's fixed costs: start-up (imports), dbt manifest, the summary itself.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # before the heavy imports: start-up is part of the fixed cost

import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import dagster as dg  # noqa: E402

from dagster_project.automation import full_rebuild_tags, recover_orphaned_runs  # noqa: E402
from dagster_project.partitions import PARTITION_NAME  # noqa: E402
from dagster_project.prepare import prepare_dbt_manifest  # noqa: E402
from models_py import settings  # noqa: E402
from models_py.delivery import delivery_years  # noqa: E402

ENV_LOG_DIR = "REGISTER_LOG_DIR"
# a line of Dagster's console logger: ... - <job> - <run id> - [<pid> - ][<step key> - ][<EVENT> - ]<message>
_DAGSTER_LINE = re.compile(
    r" - [\w-]+ - [0-9a-f-]{36} - (?:\d+ - )?(?:(?P<step>[\w.\[\]-]+) - )?"
    r"(?:(?P<event>[A-Z_]{4,}) - )?(?P<message>.*)"
)
_INGESTED = re.compile(r"^(?P<table>\w+) (?P<year>\d{4}): delivered (?P<rows>\d+)")


class Progress:
    """Reads the log lines the run writes, copies them to the log file and keeps one status line on
    the terminal: stage (step), partition, rows, elapsed. Counts only, never a delivered value."""

    def __init__(self, log, terminal, started: float):
        self.log, self.terminal, self.started = log, terminal, started
        self.live = terminal.isatty()
        self.step, self.partition, self.rows, self.done, self.failed = "start-up", "-", 0, 0, []
        self._buffer, self._last = "", 0.0

    # file-like interface for sys.stdout / sys.stderr
    def write(self, text: str) -> int:
        self.log.write(text)
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._line(line)
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def isatty(self) -> bool:
        return False

    def _line(self, line: str) -> None:
        m = _DAGSTER_LINE.search(line)
        if not m:
            return
        step, event, message = m.group("step"), m.group("event"), m.group("message")
        if event == "STEP_START" and step:
            self.step, self.partition = step, "-"
            self.show(force=True)
        elif event in ("STEP_SUCCESS", "STEP_FAILURE") and step:
            self.done += 1
            if event == "STEP_FAILURE":
                self.failed.append(step)
            if not self.live:  # a log-friendly line per finished step when not on a terminal
                self.show(force=True, final=f"{'FAILED' if event == 'STEP_FAILURE' else 'done'}")
        elif (hit := _INGESTED.match(message)) is not None:
            self.partition = hit.group("year")
            self.rows += int(hit.group("rows"))
            self.show()

    def show(self, force: bool = False, final: str | None = None) -> None:
        now = time.perf_counter()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        text = (
            f"[{now - self.started:7.1f} s] {self.step:<40.40} partition {self.partition:<5} "
            f"rows ingested {self.rows:>12,}  steps done {self.done}"
            + (f", failed {len(self.failed)}" if self.failed else "")
            + (f"  {final}" if final else "")
        )
        if self.live:
            self.terminal.write("\r" + text[:150].ljust(150))
        elif final or force:
            self.terminal.write(text + "\n")
        self.terminal.flush()


def log_path() -> Path:
    folder = Path(os.environ.get(ENV_LOG_DIR) or settings.warehouse_path().parent / "logs")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.log"


def run_logged(log_file: Path, execute):
    """Call execute() with stdout and stderr (the process's and its children's, such as dbt) going to
    log_file, and a Progress line on the terminal; restores both afterwards."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    with open(log_file, "a", buffering=1) as log:
        progress = Progress(log, terminal, time.perf_counter())
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        streams = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = progress
        try:
            return execute()
        finally:
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            progress.show(force=True, final="finished")
            if progress.live:
                terminal.write("\n")
            terminal.close()


def register_delivered_years(instance: dg.DagsterInstance, years: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(PARTITION_NAME))
    new = [y for y in years if y not in known]
    if new:
        instance.add_dynamic_partitions(PARTITION_NAME, new)
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


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--years",
        nargs=2,
        metavar=("FIRST", "LAST"),
        default=None,
        help="ingest only this range of delivered years (as the delivery sensor's run for new years); "
        "dbt, models and report run whole as always",
    )
    args = ap.parse_args(argv)
    landing = settings.landing_dir()
    years = delivery_years(landing)
    if args.years:
        years = [y for y in years if args.years[0] <= y <= args.years[1]]
    if not years:
        print(f"no deliveries in {landing} (run `make simulate` first)", file=sys.stderr)
        return 2
    log_file = log_path()
    startup = time.perf_counter() - _T0
    manifest_started = time.perf_counter()
    prepare_dbt_manifest()
    from dagster_project.definitions import defs  # after the manifest exists

    manifest = time.perf_counter() - manifest_started
    print(f"register years {years[0]}-{years[-1]}: running; full log in {log_file}", flush=True)
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        for run_id in recover_orphaned_runs(instance):
            print(f"run {run_id} was killed earlier: marked failed, its warehouse slot freed")
        register_delivered_years(instance, years)
        # a range is taken in partition order (the order years were registered), not numeric order
        order = instance.get_dynamic_partitions(PARTITION_NAME)
        if args.years:  # the sensor's run for a block of new years: that range only
            order = [y for y in order if y in set(years)]
        job = defs.resolve_job_def("full_rebuild")
        result = run_logged(
            log_file,
            lambda: job.execute_in_process(
                instance=instance, tags=full_rebuild_tags([order[0], order[-1]]), raise_on_error=False
            ),
        )
    elapsed = time.perf_counter() - started
    summary_started = time.perf_counter()
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    print(
        f"\nrun {result.run_id}: {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f} s, "
        f"register years {years[0]}-{years[-1]} ({len(years)} deliveries)"
    )
    for evaluation in failed_checks:
        print(f"  failed check: {evaluation.asset_key.to_user_string()} / {evaluation.check_name}")
    print("rows in the warehouse:")
    for name, n in summary_counts(settings.warehouse_path()):
        print(f"  {name:<45} {n:>12,}")
    print(
        f"fixed costs: start-up {startup:.1f} s, dbt manifest and definitions {manifest:.1f} s, "
        f"summary {time.perf_counter() - summary_started:.1f} s; full log: {log_file}"
    )
    report = settings.reports_dir() / "latest" / "index.html"
    if result.success and report.exists():
        print(f"\nreport: {report.resolve()}")
        return 0
    print(f"\nno new report published; the last good report (if any) is unchanged: {report}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
