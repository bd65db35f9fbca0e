"""Where things are, and the study settings.

Paths come from environment variables (set by the Makefile from LANDING, WAREHOUSE, REPORTS) with
defaults inside the project folder. Study definitions and thresholds live once, as dbt vars in
dbt/dbt_project.yml; Python reads them from there with `dbt_vars()`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
CONTRACTS_DIR = PROJECT_ROOT / "data_contracts"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

ENV_LANDING = "REGISTER_LANDING"
ENV_WAREHOUSE = "REGISTER_WAREHOUSE"
ENV_REPORTS = "REGISTER_REPORTS"
ENV_DUCKDB_MEMORY_LIMIT = "REGISTER_DUCKDB_MEMORY_LIMIT"
# DuckDB's buffer limit as a share of this machine's memory when the variable is unset. Why a fifth: the target is a
# process tree under 8 GB at scale 1 on the 24 GB machine, and DuckDB's resident memory runs above its limit. Measured
# there (benchmarks/README.md): limit 12 GB -> tree 13.6 GB; 6 GB -> tree 8.24 GB (the Dagster run process about
# 0.9 GB of it); 5 GB -> dbt alone 5.9 GB. DuckDB spills to disk beyond the limit.
DUCKDB_MEMORY_SHARE = 0.2

DEFAULT_LANDING = PROJECT_ROOT / "data" / "landing"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
DEFAULT_REPORTS = PROJECT_ROOT / "reports"


def landing_dir() -> Path:
    return Path(os.environ.get(ENV_LANDING, DEFAULT_LANDING))


def warehouse_path() -> Path:
    return Path(os.environ.get(ENV_WAREHOUSE, DEFAULT_WAREHOUSE))


def reports_dir() -> Path:
    return Path(os.environ.get(ENV_REPORTS, DEFAULT_REPORTS))


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit for the heavy steps (dbt, calibration): REGISTER_DUCKDB_MEMORY_LIMIT if set, else a
    fifth of this machine's physical memory in whole GB (at least 1 GB)."""
    if os.environ.get(ENV_DUCKDB_MEMORY_LIMIT):
        return os.environ[ENV_DUCKDB_MEMORY_LIMIT]
    total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(total_bytes * DUCKDB_MEMORY_SHARE / 1e9))}GB"


@lru_cache(maxsize=1)
def dbt_vars() -> dict:
    """The `vars:` block of dbt_project.yml: the single home of study settings and thresholds."""
    with open(DBT_PROJECT_DIR / "dbt_project.yml", encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh).get("vars") or {})


def setting(name: str):
    """One named setting from dbt_project.yml; a missing name is an error, never a silent default."""
    values = dbt_vars()
    if name not in values:
        raise KeyError(f"setting {name!r} is not defined in dbt/dbt_project.yml vars")
    return values[name]
