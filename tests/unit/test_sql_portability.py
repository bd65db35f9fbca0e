"""Portability lint of the dbt SQL (shared/spec/distributed_engine.md, rules 1, 2 and 5).

Grep-based, so it is fast and needs no engine: it only catches the constructs the spec bans; only
running the models on Spark (make test-spark) proves portability. Jinja, comments and string
literals are masked first (length-preserving, so line numbers stay right); then it flags
  rule 1: generate_series/unnest, `::`, qualify, `//`, `* exclude`, `union by name`, list
          literals, strftime/strptime, arg_max, string_agg, concat();
  rule 2: a cast to a type other than a dbt.type_*() / type_double() macro or bigint, int, double,
          date, boolean, timestamp (never varchar/text; integer is DuckDB's name for int);
  and a trailing comma after the last CTE or before FROM (DuckDB accepts both, Spark neither);
  rule 5: an ORDER BY item (windows too) without `nulls first|last`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINTED = [ROOT / "dbt" / "models", ROOT / "dbt" / "macros", ROOT / "dbt" / "tests"]
# a jinja block becomes this character (then spaces): it ends an ORDER BY clause (a macro's end)
BLOCK = "\x00"

BANNED = [
    (r"\bgenerate_series\s*\(", "generate_series()"),
    (r"\bunnest\s*\(", "unnest()"),
    (r"::", "`::` cast"),
    (r"\bqualify\b", "qualify"),
    (r"//", "`//` integer division (use floor(x / nullif(y, 0)))"),
    (r"\*\s*exclude\b", "`* exclude`"),
    (r"\bunion\s+(all\s+)?by\s+name\b", "union by name"),
    (r"\[", "list literal / subscript"),
    (r"\bstrftime\s*\(", "strftime()"),
    (r"\bstrptime\s*\(", "strptime()"),
    (r"\barg_(max|min)\s*\(", "arg_max()/arg_min()"),
    (r"\bstring_agg\s*\(", "string_agg()"),
    (r"\bconcat\s*\(", "concat() (use || or dbt.concat)"),
    # DuckDB accepts a trailing comma after the last CTE or the last select item; Spark does not
    (r"\)\s*,\s*select\b", "trailing comma after the last CTE"),
    (r",\s*from\b", "trailing comma before FROM"),
]
ALLOWED_CAST_TYPES = {"bigint", "int", "double", "date", "boolean", "timestamp"}
JINJA_TYPE = "\x01"  # a cast's type given by jinja (dbt.type_*(), type_double(), a macro argument)


def _blank(match: re.Match, lead: str = " ") -> str:
    text = match.group(0)
    return "".join(c if c == "\n" else " " for c in text).replace(" ", lead, 1) if text else text


def mask(sql: str) -> str:
    """Jinja comments/blocks/expressions, SQL comments and string literals replaced by spaces of
    the same length (newlines kept)."""
    sql = re.sub(r"\{#.*?#\}", _blank, sql, flags=re.S)
    sql = re.sub(r"\{%.*?%\}", lambda m: _blank(m, BLOCK), sql, flags=re.S)
    sql = re.sub(r"\{\{.*?\}\}", lambda m: _blank(m, JINJA_TYPE), sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", _blank, sql)
    sql = re.sub(r"/\*.*?\*/", _blank, sql, flags=re.S)
    # a literal stays a value (a placeholder letter), so "select year, 'all' from" is no trailing comma
    sql = re.sub(r"'(?:[^'\n]|'')*'", lambda m: _blank(m, "s"), sql)
    return sql


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _close(text: str, start: int) -> int:
    """Index of the parenthesis closing the one opened just before `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            if depth == 0:
                return i
            depth -= 1
    return len(text)


def _split_top(text: str) -> list[str]:
    items, depth, cur = [], 0, []
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    items.append("".join(cur))
    return items


def cast_offences(m: str) -> list[tuple[int, str]]:
    out = []
    for c in re.finditer(r"(?<![\w.])cast\s*\(", m, flags=re.I):
        body = m[c.end() : _close(m, c.end())]
        parts = re.split(r"\bas\b", body, flags=re.I)
        type_text = parts[-1].strip().lower() if len(parts) > 1 else ""
        if type_text.startswith(JINJA_TYPE):
            continue
        base = re.sub(r"\s+", " ", type_text)
        if base not in ALLOWED_CAST_TYPES:
            out.append(
                (
                    c.start(),
                    f"cast to `{base or '?'}` (rule 2: dbt.type_*() or bigint/int/double/date/boolean/timestamp)",
                )
            )
    return out


def order_by_offences(m: str) -> list[tuple[int, str]]:
    out = []
    stop = re.compile(r"\b(limit|rows|range|offset|fetch|union|window)\b|;|" + BLOCK, re.I)
    for o in re.finditer(r"\border\s+by\b", m, flags=re.I):
        end = _close(m, o.end())
        s = stop.search(m, o.end(), end)
        clause = m[o.end() : s.start() if s else end]
        for item in _split_top(clause):
            if item.strip() and not re.search(r"\bnulls\s+(first|last)\b", item, flags=re.I):
                shown = " ".join(item.split())[:60]
                out.append((o.start(), f"ORDER BY item `{shown}` without nulls first/last (rule 5)"))
    return out


def offences(sql: str) -> list[tuple[int, str]]:
    """(line, description) of every banned construct in one file's text."""
    m = mask(sql)
    found = [
        (pos, what) for pattern, what in BANNED for pos in (x.start() for x in re.finditer(pattern, m, flags=re.I))
    ]
    found += cast_offences(m) + order_by_offences(m)
    return sorted({(_line(m, pos), what) for pos, what in found})


def lint_files() -> dict[str, list[tuple[int, str]]]:
    result = {}
    for folder in LINTED:
        for path in sorted(folder.rglob("*.sql")):
            found = offences(path.read_text())
            if found:
                result[str(path.relative_to(ROOT))] = found
    return result


# ---- the lint itself is tested on known text first, so that a clean tree is not a silent lint ----
@pytest.mark.parametrize(
    "sql",
    [
        "select x::int from t",
        "select * exclude (a) from t",
        "select a // 2 from t",
        "select * from t qualify row_number() over (order by a nulls last) = 1",
        "select unnest(xs) from t",
        "select * from generate_series(1, 3)",
        "select [1, 2] as xs",
        "select strftime(d, '%Y') from t",
        "select arg_max(a, b) from t",
        "select string_agg(a, ',') from t",
        "select concat(a, b) from t",
        "select * from a union by name select * from b",
        "with a as (select 1 as x),\nselect x from a",
        "select a, b,\nfrom t",
        "select cast(a as varchar) from t",
        "select cast(a as integer) from t",
        "select cast(a as text) from t",
        "select row_number() over (partition by a order by b) from t",
        "select a from t order by a nulls last, b desc",
        "select min(a) over (order by b desc rows between unbounded preceding and current row) from t",
    ],
)
def test_lint_flags_banned_constructs(sql):
    assert offences(sql), sql


@pytest.mark.parametrize(
    "sql",
    [
        "select cast(a as {{ dbt.type_string() }}), cast(b as double), cast(c as bigint) from t",
        "select a || b, floor(a / nullif(b, 0)) from t -- a // comment: a::int",
        "select '[x]::y // z' as s, {{ dbt.concat(['a', 'b']) }} from t",
        "select row_number() over (partition by a order by b asc nulls last, c desc nulls first) from t",
        "select try_cast(a as {{ type }}) from t {# a cast(x as varchar) in a comment #}",
        "select sum(a) over (order by b nulls last rows between unbounded preceding and current row) from t",
        "select a from t order by a nulls first, cast(b as int) desc nulls last",
    ],
)
def test_lint_accepts_portable_sql(sql):
    assert offences(sql) == [], sql


def test_lint_reports_the_line():
    assert offences("select\n  a,\n  b::int\nfrom t") == [(3, "`::` cast")]


def test_dbt_sql_is_portable():
    """Every file of dbt/models, dbt/macros and dbt/tests; a failure lists file:line and the rule."""
    found = lint_files()
    report = "\n".join(f"{f}:{line}: {what}" for f, items in found.items() for line, what in items)
    assert not found, f"{sum(len(v) for v in found.values())} portability offences:\n{report}"
