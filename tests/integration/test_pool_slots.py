"""The `duckdb` pool holds across processes on the SQLite instance (dagster_project/pool_claims.py).

Two processes claim the pool's one slot. The first is held inside its claim (after it has seen the
free slot, before it takes it) until the second has started its own claim. Serialized, the second
claim cannot look at the slots before the first claim has returned; without the lock it looks while
the first is still inside, which is how both could take the slot. The control run proves that the
check sees that window."""

import json
import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from models_py import settings

CHILD = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    args = json.loads(sys.argv[1])
    if args["serialize"]:
        import dagster_project  # installs the lock, as every run worker does
    import dagster as dg
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
    real = SqlEventLogStorage.has_unassigned_slots
    def has_unassigned_slots(self, key):
        entered = time.time()
        free = real(self, key)
        if args["role"] == "first":
            open(args["inside"], "w").close()
            time.sleep(1.5)  # the race window, held open
        with open(args["out"], "a") as f:
            f.write(json.dumps({{"entered": entered}}) + "\\n")
        return free
    SqlEventLogStorage.has_unassigned_slots = has_unassigned_slots
    with dg.DagsterInstance.get() as instance:
        if args["role"] == "second":
            while not os.path.exists(args["inside"]):
                time.sleep(0.005)
        status = instance.event_log_storage.claim_concurrency_slot("duckdb", args["run_id"], "ingest")
        with open(args["out"], "a") as f:
            f.write(json.dumps({{"returned": time.time(), "claimed": status.is_claimed}}) + "\\n")
""")


def claim_at_once(tmp_path, monkeypatch, serialize: bool) -> dict[str, dict]:
    home = tmp_path / f"home_{serialize}"
    home.mkdir()
    (home / "dagster.yaml").write_text((settings.PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
    script = tmp_path / "claim.py"
    script.write_text(CHILD.format(root=str(settings.PROJECT_ROOT)))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:  # storage created once, the pool at its limit of 1
        instance.event_log_storage.initialize_concurrency_limit_to_default("duckdb")
        assert instance.event_log_storage.get_concurrency_info("duckdb").slot_count == 1
    children = {}
    for role in ("first", "second"):
        args = {
            "role": role,
            "serialize": serialize,
            "run_id": f"run_{role}",
            "inside": str(tmp_path / f"inside_{serialize}"),
            "out": str(tmp_path / f"{role}_{serialize}.jsonl"),
        }
        children[role] = subprocess.Popen(
            [sys.executable, str(script), json.dumps(args)], stderr=subprocess.PIPE, text=True
        )
    for role, child in children.items():
        assert child.wait(timeout=120) == 0, child.stderr.read()[-3000:]
    records = {}
    for role in children:
        lines = [json.loads(line) for line in (tmp_path / f"{role}_{serialize}.jsonl").read_text().splitlines()]
        records[role] = {k: v for line in lines for k, v in line.items()}
    return records


@pytest.mark.parametrize("serialize", [True, False], ids=["serialized", "control_without_lock"])
def test_second_claim_waits_for_the_first(tmp_path, monkeypatch, serialize):
    claims = claim_at_once(tmp_path, monkeypatch, serialize)
    second_looked_before_first_returned = claims["second"]["entered"] < claims["first"]["returned"]
    if serialize:
        assert not second_looked_before_first_returned, claims
        assert sorted(c["claimed"] for c in claims.values()) == [False, True], claims  # one slot, one holder
    else:
        assert second_looked_before_first_returned, "the control never opened the race window: the test proves nothing"
