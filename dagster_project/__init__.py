"""The Dagster code location. Keep it thin: assets call into models_py/ or dbt."""

from dagster_project.pool_claims import serialize_pool_slots

serialize_pool_slots()  # before any run claims a `duckdb` pool slot (see pool_claims.py)
