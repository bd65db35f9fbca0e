"""No SQL text built from a path or a delivered value (issue 15, item 1).

An AST lint over models_py/ and dagster_project/: an f-string, `%` or `.format()` string that
interpolates anything is refused when it is SQL that reads or writes files (read_parquet,
read_csv, read_json, parquet_scan, copy ... to/from, attach, export/import database, install/load),
or when it puts an interpolation inside SQL quotes ('{x}'), the shape of a value or path pasted
into a literal. Paths go in as bound parameters (`read_parquet(?)`) or through relations
(`con.read_parquet(path)`); names through `contracts.ident`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINTED = ("models_py", "dagster_project")

HOLE = r"\{\}"
# a file-reading table function with a hole in its arguments, or a file statement with a hole after it
FILE_SQL = re.compile(
    r"\b(read_parquet|read_csv\w*|read_json\w*|read_text|read_blob|parquet_scan|sniff_csv|glob)\s*\([^)]*"
    + HOLE
    + r"|\bcopy\s+[\w.\"()]+\s+(to|from)\b.*"
    + HOLE
    + r"|\battach\s.*"
    + HOLE
    + r"|\b(export|import)\s+database\b.*"
    + HOLE
    + r"|\b(install|load)\s+\S*"
    + HOLE,
    re.IGNORECASE | re.DOTALL,
)
SQL = re.compile(r"\b(select|insert|create|delete|update|from|where)\b", re.IGNORECASE)
QUOTED_HOLE = re.compile(r"'[^']*\{\}[^']*'")


def _template(node: ast.AST) -> tuple[str, int] | None:
    """(literal text with '{}' for each hole, number of holes) of a string built with interpolation."""
    if isinstance(node, ast.JoinedStr):
        parts, holes = [], 0
        for v in node.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                parts.append(v.value.replace("{", "(").replace("}", ")"))
            else:
                parts.append("{}")
                holes += 1
        return "".join(parts), holes
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
    ):
        return re.sub(r"%[-0-9.]*[sdrf]", "{}", node.left.value), 1
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        return re.sub(r"\{[^{}]*\}", "{}", node.func.value.value), len(node.args) + len(node.keywords)
    return None


def offences(source: str, filename: str = "<string>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        template = _template(node)
        if template is None or template[1] == 0:
            continue
        text = template[0]
        if FILE_SQL.search(text):
            found.append(f"{filename}:{node.lineno}: file access in SQL built with interpolation: {text[:90]!r}")
        elif SQL.search(text) and QUOTED_HOLE.search(text):
            found.append(f"{filename}:{node.lineno}: interpolation inside an SQL quote: {text[:90]!r}")
    return found


def _python_files():
    for folder in LINTED:
        yield from sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", list(_python_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_text_from_paths_or_values(path):
    assert offences(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) == []


@pytest.mark.parametrize(
    "bad",
    [
        "con.execute(f\"select * from read_parquet('{path}')\")",
        'con.execute(f"create view v as select * from read_csv({p!r}, all_varchar=true)")',
        "con.execute(\"copy raw.persons to '%s'\" % out)",
        "con.execute(\"attach '{}' as w\".format(db))",
        "con.execute(f\"select count(*) from t where person_id = '{pid}'\")",
        "con.execute(f\"create view {t} as select * from parquet_scan('{landing}/*/{t}.parquet')\")",
    ],
)
def test_the_lint_catches_each_shape(bad):
    """The lint itself can fail: each of these shapes is reported."""
    assert len(offences(bad)) == 1, bad


@pytest.mark.parametrize(
    "good",
    [
        'con.execute("create temp table s as select * from read_parquet(?)", [str(path)])',
        'con.read_parquet(str(path)).create_view("v")',
        'con.execute(f"delete from raw.{ident(table)} where register_year = ?", [year])',
        "con.execute(f\"select {cols} from stage where x = 'in'\")",
        'con.execute(f"create table s as select {cols} from read_parquet(?)", [str(path)])',
        'log.info(f"{table} {key}: delivered {n}")',
    ],
)
def test_the_lint_passes_bound_parameters_relations_and_quoted_names(good):
    assert offences(good) == []
