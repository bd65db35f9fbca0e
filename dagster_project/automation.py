"""What the sensor, the nightly schedule and `make run` decide, as plain functions (unit-tested).

State used, and where it lives:
- the landing folder: one fingerprint per delivered year (sha256 of its manifest.json);
- the sensor cursor: year -> fingerprint of the delivery it has already requested a run for;
- the Dagster instance: every ingest materialization carries `manifest_fingerprints` (year ->
  fingerprint ingested) and `ingest_code_fingerprint`; every run launched here carries the code
  fingerprints as tags. Nothing here opens the DuckDB warehouse (a reader would block the writer).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from dagster_project.partitions import PARTITION_NAME
from models_py import settings
from models_py.contracts import DELIVERED_TABLES
from models_py.delivery import delivery_years, manifest_fingerprint, read_manifest

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"

TAG_TRIGGER = "register/trigger"  # sensor | nightly | make-run
TAG_DELIVERIES = "register/deliveries"  # year:fingerprint[:12] of the deliveries the run takes in
TAG_REFLAGGED = "register/reflagged_years"  # earlier years whose look-ahead flags this run updates
TAG_INGEST_CODE = "register/ingest_code"
TAG_TRANSFORM_CODE = "register/transform_code"
TAG_PID = "register/pid"  # the process running an in-process run (make run), for orphan recovery
TAG_DBT_PID = "register/dbt_pid"  # host:pid:start-ticks of a run's dbt child, ended with an orphaned run

META_FINGERPRINTS = "manifest_fingerprints"
META_INGEST_CODE = "ingest_code_fingerprint"

ENV_SETTLE = "REGISTER_SENSOR_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 60

ROOT = settings.PROJECT_ROOT
# What decides the content of raw.* (contracts, gate, reference classifications) ...
INGEST_CODE = [
    "data_contracts",
    "models_py/contracts.py",
    "models_py/ingest.py",
    "models_py/delivery.py",
    "models_py/revisions.py",
    "dbt/seeds",
]
# ... and of everything built from raw.* (dbt project, models, exhibits, report): whole folders, so that a new
# module can never be missed. dbt's generated folders are not code.
TRANSFORM_CODE = ["dbt", "models_py", "dagster_project/assets"]
GENERATED = {"target", "logs", "dbt_packages", "__pycache__"}


# ---------------------------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------------------------
def fingerprint_paths(paths: list[str], root: Path = ROOT) -> str:
    """sha256 over the relative names and bytes of the files under `paths` (caches and targets skipped)."""
    digest = hashlib.sha256()
    for rel in paths:
        base = root / rel
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []
        for f in files:
            if GENERATED.intersection(f.relative_to(root).parts) or f.suffix == ".pyc":
                continue
            digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


def code_fingerprints() -> dict[str, str]:
    return {"ingest": fingerprint_paths(INGEST_CODE)[:16], "transform": fingerprint_paths(TRANSFORM_CODE)[:16]}


def settle_seconds() -> float:
    return float(os.environ.get(ENV_SETTLE, DEFAULT_SETTLE_SECONDS))


def complete_deliveries(landing: Path, settle: float = 0.0, now: float | None = None) -> dict[str, str]:
    """year -> manifest fingerprint, for deliveries that look complete: every file the manifest lists is
    present and nothing in the folder changed during the last `settle` seconds (still being copied)."""
    now = time.time() if now is None else now
    out = {}
    for year in delivery_years(landing):
        folder = landing / year
        try:
            manifest = read_manifest(folder)
            files = [folder / e.get("file", f"{t}.parquet") for t, e in (manifest.get("tables") or {}).items()]
            if not all(f.exists() for f in files):
                continue
            newest = max(p.stat().st_mtime for p in [folder / "manifest.json", *files])
        except (OSError, ValueError):
            continue  # half-written manifest: look again next tick
        if now - newest >= settle:
            out[year] = manifest_fingerprint(landing, year)
    return out


# ---------------------------------------------------------------------------------------------
# What the instance knows
# ---------------------------------------------------------------------------------------------
def registered_years(instance: dg.DagsterInstance) -> list[str]:
    """Registered register-year partitions in partition order (= the order they were added)."""
    return list(instance.get_dynamic_partitions(PARTITION_NAME))


def ingested_signatures(instance: dg.DagsterInstance, years: list[str]) -> dict[str, tuple[str, str]]:
    """year -> (manifest fingerprint, ingest code fingerprint) of its latest ingestion, for years whose
    five raw tables were all last materialized from the same delivery with the same code."""
    if not years:
        return {}
    per_table: list[dict[str, tuple[str, str]]] = []
    for table in DELIVERED_TABLES:
        latest: dict[str, tuple[str, str]] = {}
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["raw", table]), asset_partitions=list(years)),
            limit=max(1000, 20 * len(years)),
        ).records  # newest first
        for record in records:
            year = record.partition_key
            if year in latest:
                continue
            metadata = record.asset_materialization.metadata if record.asset_materialization else {}
            fps = metadata.get(META_FINGERPRINTS)
            code = metadata.get(META_INGEST_CODE)
            fp = (fps.value or {}).get(year) if fps is not None else None
            latest[year] = (fp, code.value if code is not None else None)
        per_table.append(latest)
    out = {}
    for year in years:
        sigs = {t.get(year) for t in per_table}
        if len(sigs) == 1 and None not in sigs:
            sig = sigs.pop()
            if sig[0] is not None:
                out[year] = sig
    return out


def contiguous_groups(order: list[str], selected: set[str]) -> list[list[str]]:
    """Maximal runs of consecutive selected keys in partition order (each can be one range run)."""
    groups, current = [], []
    for key in order:
        if key in selected:
            current.append(key)
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def lookahead_years() -> int:
    """How many earlier years' rows depend on a new year (late registrations, over-coverage, the
    provisional flag): the dbt var panel_lookback_years, refused if it is below what those need."""
    lookback = int(settings.setting("panel_lookback_years"))
    needed = max(
        2, int(settings.setting("overcoverage_no_sign_of_life_years")) - 1, int(settings.setting("provisional_years"))
    )
    if lookback < needed:
        raise ValueError(
            f"dbt var panel_lookback_years = {lookback} is below {needed}, the number of earlier years "
            "a new delivery can change (late registrations, over-coverage window, provisional_years)"
        )
    return lookback


def reflagged_years(order: list[str], group: list[str]) -> list[str]:
    """Registered years before the group whose rows change when the group is (re)ingested: the
    lookback part of the panel window (panel_window_start)."""
    start = panel_window_start(group, order)
    if start is None:  # the group takes in the earliest year: nothing before it
        return []
    first = min(int(y) for y in group)
    return sorted(y for y in order if y not in group and start <= int(y) < first)


def run_request(
    group: list[str],
    deliveries: dict[str, str],
    order: list[str],
    trigger: str,
    run_key: str | None,
    code: dict[str, str],
) -> dg.RunRequest:
    """One run of full_rebuild: ingest the group's years, then the whole dbt build, models and report
    (dbt is unpartitioned, so every earlier year's flags are recomputed)."""
    tags = {
        TAG_TRIGGER: trigger,
        TAG_DELIVERIES: ",".join(f"{y}:{deliveries[y][:12]}" for y in group if y in deliveries),
        TAG_REFLAGGED: ",".join(reflagged_years(order, group)) or "none",
        TAG_INGEST_CODE: code["ingest"],
        TAG_TRANSFORM_CODE: code["transform"],
    }
    if len(group) == 1:
        return dg.RunRequest(run_key=run_key, partition_key=group[0], tags=tags)
    return dg.RunRequest(run_key=run_key, tags={**tags, RANGE_START: group[0], RANGE_END: group[-1]})


def run_years(tags: dict[str, str], order: list[str]) -> list[str]:
    """The register years a run takes in: its partition, or its range (in partition order)."""
    if tags.get(PARTITION_TAG):
        return [tags[PARTITION_TAG]]
    start, end = tags.get(RANGE_START), tags.get(RANGE_END)
    if start in order and end in order:
        return order[order.index(start) : order.index(end) + 1]
    return []


def panel_window_start(years_in_run: list[str], order: list[str]) -> int | None:
    """First year of the panel to rebuild for a run (None: the whole panel). The panel
    (fct_person_year) is a dbt microbatch model with one batch per year: a run that takes in years
    from Y on rebuilds its batches from Y - lookback to the newest year (delete+insert by year).
    Whole when the run takes in no year (rebuild_downstream: models or settings changed) or the
    earliest registered year."""
    years = sorted(int(y) for y in years_in_run)
    if not years or not order or years[0] <= min(int(y) for y in order):
        return None
    return years[0] - lookahead_years()


def dbt_build_args(window_start: int | None, order: list[str], full_rebuild_reason: str | None = None) -> list[str]:
    """`dbt build` arguments: the panel's batches from window_start on (every other model is rebuilt
    whole in any case), or --full-refresh when there is no window or a reason to rebuild it all
    (models_py.panel.full_rebuild_reason). Batches end with the newest registered year: without an end
    dbt would run an empty batch for every year up to today's."""
    if not order:
        return ["build", "--full-refresh"]
    end = max(int(y) for y in order) + 1
    if window_start is None or full_rebuild_reason:
        first = str(settings.setting("panel_first_batch"))[:10]  # the model's `begin`
        return ["build", "--full-refresh", "--event-time-start", first, "--event-time-end", f"{end}-01-01"]
    return ["build", "--event-time-start", f"{window_start}-01-01", "--event-time-end", f"{end}-01-01"]


def delivery_run_key(group: list[str], deliveries: dict[str, str]) -> str:
    """Derived from year + fingerprint: the same delivery never launches a second run."""
    body = "|".join(f"{y}:{deliveries[y]}" for y in group)
    return (
        "delivery-"
        + "-".join(group if len(group) <= 3 else [group[0], group[-1]])
        + "-"
        + hashlib.sha256(body.encode()).hexdigest()[:16]
    )


# ---------------------------------------------------------------------------------------------
# The sensor's decision
# ---------------------------------------------------------------------------------------------
@dataclass
class DeliveryPlan:
    new_years: list[str]  # to register as partitions
    changed: list[str]  # new or revised deliveries to run
    run_requests: list[dg.RunRequest]
    cursor: dict[str, str]
    message: str


def plan_delivery_runs(
    instance: dg.DagsterInstance, landing: Path, cursor: dict[str, str], settle: float = 0.0, now: float | None = None
) -> DeliveryPlan:
    delivered = complete_deliveries(landing, settle=settle, now=now)
    registered = registered_years(instance)
    cursor = dict(cursor)
    # First sight of a registered year (a fresh cursor, e.g. after `make run`): take what the
    # instance says was last ingested, so an already-ingested delivery is not run again.
    unseen = [y for y in delivered if y not in cursor and y in registered]
    for year, (fp, _code) in ingested_signatures(instance, unseen).items():
        cursor[year] = fp
    changed = sorted(y for y, fp in delivered.items() if cursor.get(y) != fp)
    new_years = sorted(y for y in delivered if y not in registered)
    if not changed:
        return DeliveryPlan(
            new_years, [], [], cursor, f"no new or revised delivery in {landing} ({len(delivered)} known)"
        )
    order = registered + new_years
    code = code_fingerprints()
    requests = [
        run_request(group, delivered, order, "sensor", delivery_run_key(group, delivered), code)
        for group in contiguous_groups(order, set(changed))
    ]
    for year in changed:
        cursor[year] = delivered[year]
    kinds = [f"{y} ({'new' if y in new_years else 'revised'})" for y in changed]
    return DeliveryPlan(new_years, changed, requests, cursor, "deliveries: " + ", ".join(kinds))


# ---------------------------------------------------------------------------------------------
# The nightly schedule's decision
# ---------------------------------------------------------------------------------------------
def downstream_staleness(instance: dg.DagsterInstance, transform_code: str) -> str | None:
    """Why the dbt build, models and report need rebuilding, or None when they are current: the last
    report was built after the last ingestion, by a run of the current transformation code."""
    report = instance.get_latest_materialization_event(dg.AssetKey("emigration_report"))
    if report is None:
        return "the report was never built"
    run = instance.get_run_by_id(report.run_id)
    built_with = (run.tags if run else {}).get(TAG_TRANSFORM_CODE)
    if built_with != transform_code:
        return f"transformation code changed ({built_with or 'unknown'} -> {transform_code})"
    raw_times = [
        e.timestamp
        for t in DELIVERED_TABLES
        if (e := instance.get_latest_materialization_event(dg.AssetKey(["raw", t]))) is not None
    ]
    if raw_times and max(raw_times) > report.timestamp:
        return "raw tables were ingested after the last report"
    return None


@dataclass
class NightlyPlan:
    stale_years: list[str]
    downstream_reason: str | None
    groups: list[list[str]]
    message: str
    delivered: dict[str, str]
    order: list[str]


def plan_nightly(instance: dg.DagsterInstance, landing: Path) -> NightlyPlan:
    registered = registered_years(instance)
    delivered = complete_deliveries(landing)
    code = code_fingerprints()
    ingested = ingested_signatures(instance, registered)
    stale = [y for y in registered if y in delivered and ingested.get(y) != (delivered[y], code["ingest"])]
    reason = downstream_staleness(instance, code["transform"])
    groups = contiguous_groups(registered, set(stale))
    if stale:
        message = f"stale register years {','.join(stale)} (delivery or ingestion code changed)"
    elif reason:
        message = f"downstream stale: {reason}"
    else:
        message = "nothing stale: every registered delivery is ingested with the current code and the report is newer"
    return NightlyPlan(stale, reason, groups, message, delivered, registered)


# ---------------------------------------------------------------------------------------------
# Runs killed with their process (in-process runs of `make run`, tests)
# ---------------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_pid(instance: dg.DagsterInstance, run) -> int | None:
    """The process executing a run on this host: our pid tag, else the pid Dagster's executor records
    ("Executing steps in process (pid: N)", also for runs the daemon launched)."""
    import socket

    tag = run.tags.get(TAG_PID)
    if tag and ":" in tag:
        host, _, number = tag.rpartition(":")
        return int(number) if host == socket.gethostname() else None
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None:
            return int(pid.value)
    return None


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the pid it names one
    process, so a reused pid is never mistaken for it. None if there is no such process or it has exited (zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def child_tag(pid: int) -> str:
    """host:pid:start-ticks of a child process (TAG_DBT_PID)."""
    import socket

    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def end_orphaned_child(tag: str | None, wait_seconds: float = 10.0) -> int | None:
    """End the child a dead run left running (dbt keeps its query and the warehouse lock for minutes when the run's
    process is killed: the next run's ingest then fails on the lock). Only the very process the tag names, on this
    host: SIGTERM, then SIGKILL after `wait_seconds`. Returns its pid if it was running."""
    import signal
    import socket

    host, _, rest = (tag or "").partition(":")
    pid_text, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or str(_start_ticks(int(pid_text))) != ticks:
        return None
    pid = int(pid_text)
    try:  # it may exit by itself at any moment; the sensor that calls this must not fail on it
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_seconds
        while _start_ticks(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if str(_start_ticks(pid)) == ticks:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return pid


def recover_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark runs whose process died (SIGKILL, OOM, power cut) as failed and free their pool slots;
    otherwise the `duckdb` slot they hold blocks every later run. Dagster's run monitor cannot do this
    for locally launched runs (the default run launcher has no worker health check). A run is
    touched only if its process id is known and no such process exists on this machine (the SQLite
    instance is single-machine). Called by `make run` and by the sensor on every tick."""
    recovered = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = run_pid(instance, run)
        if pid is None or _pid_alive(pid):
            continue
        instance.report_run_failed(run, f"run process {pid} is gone (killed); marked failed by recover_orphaned_runs")
        ended = end_orphaned_child(run.tags.get(TAG_DBT_PID))
        if ended is not None:
            instance.report_engine_event(f"ended the run's orphaned dbt process {ended}", run)
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered


def pid_tag() -> dict[str, str]:
    import socket

    return {TAG_PID: f"{socket.gethostname()}:{os.getpid()}"}


def full_rebuild_tags(years: list[str], trigger: str = "make-run") -> dict[str, str]:
    """Tags of a run over a range of years started in this process (`make run`, tests): the range (one
    run for all years), the code fingerprints the schedule compares, and the pid for orphan recovery."""
    code = code_fingerprints()
    return {
        RANGE_START: years[0],
        RANGE_END: years[-1],
        TAG_TRIGGER: trigger,
        TAG_INGEST_CODE: code["ingest"],
        TAG_TRANSFORM_CODE: code["transform"],
        **pid_tag(),
    }


def delivery_fingerprints(landing: Path, years: list[str]) -> dict[str, str | None]:
    """Fingerprints of the deliveries about to be ingested (None when the manifest is missing: the
    ingestion gate reports that)."""
    out = {}
    for year in years:
        try:
            out[year] = manifest_fingerprint(landing, year)
        except OSError:
            out[year] = None
    return out


def fingerprints_metadata(fingerprints: dict[str, str | None]) -> dict:
    """Metadata an ingest materialization carries so the sensor and schedule can tell what was ingested."""
    return {
        META_FINGERPRINTS: dg.MetadataValue.json(fingerprints),
        META_INGEST_CODE: dg.MetadataValue.text(code_fingerprints()["ingest"]),
    }


def cursor_loads(raw: str | None) -> dict[str, str]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
