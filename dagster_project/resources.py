from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from models_py import settings
from models_py.warehouse import connect as warehouse_connect


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file (one writer at a time: every step using it is in the duckdb pool)."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False):
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = warehouse_connect(self.path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


class RegisterPaths(dg.ConfigurableResource):
    """Where deliveries land and where reports are published."""

    landing: str
    reports: str

    @property
    def landing_dir(self) -> Path:
        return Path(self.landing)

    @property
    def reports_dir(self) -> Path:
        return Path(self.reports)


def dbt_resource():
    """dbt from the same environment as this Python (works without an activated venv)."""
    import shutil
    import sys

    from dagster_dbt import DbtCliResource

    beside = Path(sys.executable).parent / "dbt"
    executable = str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")
    return DbtCliResource(
        project_dir=str(settings.DBT_PROJECT_DIR), profiles_dir=str(settings.DBT_PROJECT_DIR), dbt_executable=executable
    )


def default_resources() -> dict:
    """Resources from the environment (REGISTER_LANDING, REGISTER_WAREHOUSE, REGISTER_REPORTS)."""
    return {
        "warehouse": Warehouse(path=str(settings.warehouse_path())),
        "paths": RegisterPaths(landing=str(settings.landing_dir()), reports=str(settings.reports_dir())),
        # dbt reads the warehouse path from REGISTER_WAREHOUSE too (dbt/profiles.yml)
        "dbt": dbt_resource(),
    }
