"""The Dagster code location. Keep it thin: assets call into models_py/ or dbt."""
