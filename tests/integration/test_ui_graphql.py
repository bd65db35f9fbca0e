"""`make ui` serves the code location, and its GraphQL API shows one connected lineage with checks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from models_py import settings

QUERY = """
query {
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    groupName
    hasAssetChecks
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_serves_one_connected_lineage(dbt_manifest, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(settings.PROJECT_ROOT),
        settings.ENV_WAREHOUSE: str(tmp_path / "w.duckdb"),
        settings.ENV_LANDING: str(tmp_path / "landing"),
        settings.ENV_REPORTS: str(tmp_path / "reports"),
    }
    webserver = Path(sys.executable).parent / "dagster-webserver"
    proc = subprocess.Popen(
        [str(webserver), "-w", str(settings.PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=settings.PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        nodes = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                reply = requests.post(f"{url}/graphql", json={"query": QUERY}, timeout=10)
                nodes = reply.json().get("data", {}).get("assetNodes")
                if nodes:
                    break
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            time.sleep(1)
        assert nodes, "the UI did not serve the asset graph within 180 s"
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    edges = {("/".join(d["path"]), "/".join(n["assetKey"]["path"])) for n in nodes for d in n["dependencyKeys"]}
    groups = {n["groupName"] for n in nodes}
    assert {"ingest", "quality", "study_c", "publish"} <= groups
    # one connected component (undirected) containing every asset
    neighbours = {k: set() for k in keys}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    seen, stack = set(), ["emigration_report"]
    while stack:
        k = stack.pop()
        if k not in seen:
            seen.add(k)
            stack.extend(neighbours.get(k, ()))
    assert keys <= seen, f"not connected to the report: {sorted(keys - seen)}"
    checks = {
        ("/".join(n["assetKey"]["path"]), c["name"], c["blocking"])
        for n in nodes
        for c in (n.get("assetChecksOrError") or {}).get("checks", [])
    }
    assert ("raw/persons", "delivered_equals_accepted_plus_quarantined", True) in checks
    assert ("disclosure_gate", "every_exhibit_protected", True) in checks
    assert any(a.endswith("fct_person_year") for a, _, _ in checks)
