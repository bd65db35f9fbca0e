"""One home per definition (issue 18): the delivered tables' names and the partition name are written once; a
copy that reappears anywhere in the Python code fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = [
    p
    for d in ("dagster_project", "models_py", "tests", "benchmarks")
    for p in (ROOT / d).rglob("*.py")
    if p != Path(__file__).resolve()  # this file spells the patterns out
]

TABLE_LIST = re.compile(
    r"""["']persons["']\s*,\s*["']population_status["']\s*,\s*["']migration_events["']\s*,\s*["']education["']"""
    r"""\s*,\s*["']income["']"""
)
PARTITION_LITERAL = re.compile(
    r"""(dynamic_partitions|DynamicPartitionsDefinition)\([^)]*["']register_year["']"""
    r"""|^\s*[A-Z_]+\s*(:\s*str\s*)?=\s*["']register_year["']""",  # or a constant holding the name
    re.MULTILINE,
)


def _offenders(pattern: re.Pattern, home: Path) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in CODE if p != home and pattern.search(p.read_text(encoding="utf-8"))]


def test_the_delivered_tables_are_listed_only_in_the_contracts_module():
    assert _offenders(TABLE_LIST, ROOT / "models_py" / "contracts.py") == [], "import DELIVERED_TABLES instead"


def test_the_partition_name_is_written_only_in_partitions_py():
    assert _offenders(PARTITION_LITERAL, ROOT / "dagster_project" / "partitions.py") == [], "use PARTITION_NAME"
    assert "register_year" in (ROOT / "dagster_project" / "partitions.py").read_text()


def test_the_patterns_find_a_copy():  # the two checks above can fail
    assert TABLE_LIST.search('T = ("persons", "population_status", "migration_events", "education", "income")')
    assert PARTITION_LITERAL.search('instance.add_dynamic_partitions("register_year", years)')
    assert PARTITION_LITERAL.search('import x\nPARTITIONS = "register_year"  # a copy')
    assert not PARTITION_LITERAL.search('con.execute("select register_year from raw.persons")')


def _test_module_imports(path: Path) -> list[str]:
    """Imports of a test module or conftest (shared code belongs in tests/helpers/)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found += [n for n in names if n.startswith("tests.") and not n.startswith("tests.helpers")]
    return found


def test_no_test_imports_another_test_module():
    offenders = {str(p.relative_to(ROOT)): _test_module_imports(p) for p in (ROOT / "tests").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_test_import_check_can_fail(tmp_path):
    planted = tmp_path / "test_x.py"
    planted.write_text("from tests.integration.test_ops_pipeline import run\nimport tests.conftest\n")
    assert _test_module_imports(planted) == ["tests.integration.test_ops_pipeline", "tests.conftest"]
