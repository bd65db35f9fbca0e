"""The dbt manifest is parsed only when an input of the parse changed (dagster_project/prepare.py)."""

import os

from dagster_project.prepare import manifest_fingerprint, prepare_dbt_manifest


def _project(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "target").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "models" / "m.sql").write_text("select {{ env_var('REGISTER_TEST_SETTING', 'a') }} as v\n")
    return tmp_path


def test_the_fingerprint_follows_files_and_the_settings_the_project_reads(tmp_path, monkeypatch):
    project = _project(tmp_path)
    monkeypatch.delenv("REGISTER_TEST_SETTING", raising=False)
    first = manifest_fingerprint(project)
    (project / "target" / "manifest.json").write_text("{}")  # dbt's output is not an input
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("x")
    assert manifest_fingerprint(project) == first
    monkeypatch.setenv("REGISTER_TEST_SETTING", "b")  # a variable the model reads
    with_setting = manifest_fingerprint(project)
    assert with_setting != first
    monkeypatch.setenv("REGISTER_UNREAD_SETTING", "c")  # one it does not read
    assert manifest_fingerprint(project) == with_setting
    model = project / "models" / "m.sql"
    model.write_text("select 2 as v\n")
    os.utime(model, ns=(1, 1))
    assert manifest_fingerprint(project) != with_setting
    (project / "models" / "n.sql").write_text("select 1 as v\n")  # a new file
    assert len({first, with_setting, manifest_fingerprint(project)}) == 3


def test_a_current_manifest_is_not_parsed_again():
    prepare_dbt_manifest()  # parses unless the session already did
    assert prepare_dbt_manifest() is False
    assert prepare_dbt_manifest(force=True) is True
