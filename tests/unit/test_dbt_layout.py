"""The dbt layout a newcomer can navigate (issue 18): marts in a folder per study plus `core`, a properties
file beside each model, and one naming pattern, `{kind}_{study}_{what}` for study marts, `{kind}_{what}` for
the shared ones, `int_{study}_{what}` or `int_{what}` for intermediate models. The kinds say what a row is."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "dbt" / "models"
# fct: one row per unit (person-year, event); rate, count, share: aggregates of that kind; tab: a printed
# table of a study; dim: reference rows (bands, groups, variants); diag: diagnostics of a definition
KINDS = ("fct", "rate", "count", "share", "tab", "dim", "diag")
STUDY_FOLDERS = {"study_a": "a", "study_b": "b", "study_c": "c"}


def mart_name_problem(folder: str, name: str) -> str | None:
    kind = rf"(?:{'|'.join(KINDS)})"
    if folder == "core":
        ok = re.fullmatch(rf"{kind}_(?!(?:a|b|c)_)[a-z0-9_]+", name)
        return None if ok else f"core/{name}: expected {{kind}}_{{what}} with kind in {KINDS}"
    study = STUDY_FOLDERS.get(folder)
    if study is None:
        return f"{folder}/{name}: marts live in core/ or study_a|b|c/"
    ok = re.fullmatch(rf"{kind}_{study}_[a-z0-9_]+", name)
    return None if ok else f"{folder}/{name}: expected {{kind}}_{study}_{{what}} with kind in {KINDS}"


def test_every_mart_follows_the_pattern_and_has_its_properties_file():
    problems = []
    for sql in sorted((MODELS / "marts").rglob("*.sql")):
        problems.append(mart_name_problem(sql.parent.name, sql.stem))
        if not sql.with_suffix(".yml").exists():
            problems.append(f"{sql.relative_to(MODELS)}: no {sql.stem}.yml beside it")
    assert [p for p in problems if p] == []


def test_intermediate_models_carry_the_study_tag_in_the_short_form():
    names = [p.stem for p in (MODELS / "intermediate").glob("*.sql")]
    assert names and all(re.fullmatch(r"int_[a-z0-9_]+", n) and not n.startswith("int_study_") for n in names), names


def test_the_pattern_check_can_fail():
    assert mart_name_problem("study_c", "c_tab_a1")  # the old names
    assert mart_name_problem("study_b", "fct_person_year_study_b")
    assert mart_name_problem("study_a", "rate_c_pooled")  # another study's tag
    assert mart_name_problem("core", "rate_a_flows")
    assert mart_name_problem("study_c", "tab_c_a1") is None
    assert mart_name_problem("core", "rate_emigration_year_sex") is None
