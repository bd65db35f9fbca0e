"""Prepare the dbt manifest (dbt parse) before the definitions are imported. Never run at import."""

from __future__ import annotations

from dagster_dbt import DbtProject

from models_py import settings


def prepare_dbt_manifest() -> None:
    project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
    project.preparer.prepare(project)


if __name__ == "__main__":
    prepare_dbt_manifest()
    print(f"dbt manifest prepared in {settings.DBT_PROJECT_DIR / 'target'}")
