"""Shared fixtures. Each test gets its own temporary warehouse, landing and report folders."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.dagster_runs import clear_defs_state_storage
from tests.helpers.pipeline import TINY, PipelineEnv

# dbt (and dagster-webserver) are console scripts beside this interpreter: make them findable even
# when the venv is not activated (dagster-dbt's manifest preparer looks dbt up on PATH).
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def dbt_manifest():
    """Prepare the dbt manifest once per session (never at import time)."""
    from dagster_project.prepare import prepare_dbt_manifest

    prepare_dbt_manifest()


@pytest.fixture(scope="session")
def tiny_landing(tmp_path_factory) -> Path:
    """Simulated deliveries, written once per session; tests must not modify them (copy first)."""
    from models_py.simulator import simulate

    root = tmp_path_factory.mktemp("tiny")
    simulate(root / "landing", truth_dir=root / "truth", **TINY)
    return root / "landing"


@pytest.fixture
def pipeline_env(tmp_path, monkeypatch, tiny_landing) -> PipelineEnv:
    """A private copy of the tiny deliveries and fresh warehouse/report paths, also set in the environment."""
    from models_py import settings

    env = PipelineEnv(tmp_path / "landing", tmp_path / "warehouse.duckdb", tmp_path / "reports")
    shutil.copytree(tiny_landing, env.landing)
    monkeypatch.setenv(settings.ENV_LANDING, str(env.landing))
    monkeypatch.setenv(settings.ENV_WAREHOUSE, str(env.warehouse))
    monkeypatch.setenv(settings.ENV_REPORTS, str(env.reports))
    return env


@pytest.fixture(scope="session")
def published_pipeline(dbt_manifest, tiny_landing, tmp_path_factory):
    """One full Dagster run on the tiny register, shared by the tests that only read what it built and published
    (they must not change its warehouse, landing or reports)."""
    from models_py import settings
    from tests.helpers.pipeline import run_years

    root = tmp_path_factory.mktemp("published")
    env = PipelineEnv(root / "landing", root / "warehouse.duckdb", root / "reports")
    shutil.copytree(tiny_landing, env.landing)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENV_LANDING, str(env.landing))
        patch.setenv(settings.ENV_WAREHOUSE, str(env.warehouse))
        patch.setenv(settings.ENV_REPORTS, str(env.reports))
        result = run_years(env)
    return env, result


@pytest.fixture
def published_report(published_pipeline) -> Path:
    env, result = published_pipeline
    assert result.success, "the shared full run failed"
    return env.reports / "latest"


@pytest.fixture(autouse=True)
def _clear_current_defs_state_storage():
    """Isolate tests from Dagster instances left behind by earlier tests (see clear_defs_state_storage)."""
    clear_defs_state_storage()
    yield
    clear_defs_state_storage()
