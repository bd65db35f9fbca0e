"""Prepare the dbt manifest (dbt parse) before the definitions are imported. Never run at import.

`dbt parse` costs 6-12 s on this project even with partial parsing, on every `make run` and every test session.
It is skipped when the manifest was parsed from exactly the files and settings that are there now: a fingerprint
of every file of the dbt project (path, size, modification time) and of the environment variables the project
reads, kept beside the manifest."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from dagster_dbt import DbtProject

from models_py import settings

FINGERPRINT_NAME = "manifest.fingerprint"
# dbt's own output and logs are not inputs of the parse
NOT_INPUTS = {"target", "logs", "dbt_packages"}
ENV_VAR_CALL = re.compile(r"env_var\(\s*['\"]([A-Za-z0-9_]+)['\"]")


def _input_files(project_dir: Path) -> list[Path]:
    return sorted(
        p for p in project_dir.rglob("*") if p.is_file() and p.relative_to(project_dir).parts[0] not in NOT_INPUTS
    )


def manifest_fingerprint(project_dir: Path) -> str:
    """Changes whenever a file of the project changes, appears or goes, or an environment variable that the
    project reads (env_var(...) in any of its files) changes value."""
    digest = hashlib.sha256()
    env_names: set[str] = set()
    for path in _input_files(project_dir):
        stat = path.stat()
        digest.update(f"{path.relative_to(project_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        if path.suffix in (".sql", ".yml", ".yaml"):
            env_names.update(ENV_VAR_CALL.findall(path.read_text(encoding="utf-8", errors="replace")))
    for name in sorted(env_names):
        digest.update(f"{name}={os.environ.get(name)}\n".encode())
    return digest.hexdigest()


def prepare_dbt_manifest(force: bool = False) -> bool:
    """Parse the project unless the manifest is current. Returns whether dbt parse ran."""
    project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
    manifest = project.manifest_path
    stamp = manifest.parent / FINGERPRINT_NAME
    fingerprint = manifest_fingerprint(Path(project.project_dir))
    # the stamp also names the manifest it was written for: a manifest rewritten by anything else (a manual
    # `dbt build` in the project folder) is parsed again
    current = manifest.exists() and stamp.exists() and stamp.read_text() == f"{fingerprint} {_file_state(manifest)}"
    if current and not force:
        return False
    project.preparer.prepare(project)
    stamp.write_text(f"{fingerprint} {_file_state(manifest)}")
    return True


def _file_state(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


if __name__ == "__main__":
    parsed = prepare_dbt_manifest()
    state = "prepared" if parsed else "already current"
    print(f"dbt manifest {state} in {settings.DBT_PROJECT_DIR / 'target'}")
