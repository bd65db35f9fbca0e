"""Great Expectations suites per register year, built from the data contracts.

The semantic rules (shares and distributions within bounds, year-on-year jumps) are declared once, in
the contracts' schema-level `quality` lists, as entries with `type: custom, engine:
great-expectations` and an `implementation` object:

    expectation: expect_column_values_to_be_between | expect_column_mean_to_be_between
                 | expect_column_quantile_values_to_be_between
    value: <SQL aggregate over the year's rows `t`>         -> one number per year (aggregate rule)
    compare: previous_year                                   -> the relative change value(Y)/value(Y-1) - 1
    n: <SQL aggregate>    the size the value rests on (default: count(*), or the value itself for a change)
    row_value: <SQL per row>  and optional where: <SQL>     -> a per-row column (distribution rule)
    join: persons         makes `p` = the same register year's raw.persons row of the person
    min_n: <int>          below this size the rule is not judged (noted, passes): tiny test registers
    min_value / max_value / mostly / quantile_ranges: the GX expectation's arguments (the thresholds)

For one register year the rules of a table become two pandas frames read from DuckDB (one row of
aggregates, and one column per distribution rule over that year's rows) and one GX suite each,
validated in an ephemeral context (GX 1.x, no SQL datasource; stack_notes §2). Results hold
aggregates only (shares, counts, quantiles), never a person-level value.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
from open_data_contract_standard.model import OpenDataContractStandard

from models_py.settings import CONTRACTS_DIR, setting

ENGINE = "great-expectations"

# expectation name -> (GX class name, the argument keys it takes from the contract)
SUPPORTED = {
    "expect_column_values_to_be_between": ("ExpectColumnValuesToBeBetween", ("min_value", "max_value", "mostly")),
    "expect_column_mean_to_be_between": ("ExpectColumnMeanToBeBetween", ("min_value", "max_value")),
    "expect_column_quantile_values_to_be_between": ("ExpectColumnQuantileValuesToBeBetween", ("quantile_ranges",)),
}
ALLOWED_KEYS = {
    "expectation",
    "value",
    "n",
    "compare",
    "row_value",
    "where",
    "join",
    "min_n",
    "min_value",
    "max_value",
    "mostly",
    "quantile_ranges",
}
JOINS = {"persons": "join raw.persons p on p.person_id = t.person_id and p.register_year = t.register_year"}


class ContractRuleError(ValueError):
    """A great-expectations entry of a contract is malformed."""


@dataclass(frozen=True)
class SemanticRule:
    rule_id: str
    table: str
    description: str
    expectation: str
    value: str | None = None
    n: str | None = None
    compare: str | None = None
    row_value: str | None = None
    where: str | None = None
    join: str | None = None
    min_n: int = 0
    arguments: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def kind(self) -> str:
        if self.row_value is not None:
            return "distribution"
        return "change" if self.compare else "aggregate"

    @property
    def bounds(self) -> str:
        a = self.arguments
        if "quantile_ranges" in a:
            q = a["quantile_ranges"]
            return "; ".join(f"q{p:g} in [{lo:g}, {hi:g}]" for p, (lo, hi) in zip(q["quantiles"], q["value_ranges"]))
        text = f"[{a.get('min_value', '-inf'):g}, {a.get('max_value', 'inf'):g}]" if a else ""
        if "mostly" in a:
            text += f" for {a['mostly']:.2%} of rows"
        return text

    def sql_from(self, table: str | None = None) -> str:
        base = f"raw.{table or self.table} t"
        return f"{base} {JOINS[self.join]}" if self.join else base


def _with_settings(sql: str | None) -> str | None:
    """A rule's SQL with the placeholders of its settings filled in: {unknown_country} is the delivery interface's
    code for an unknown country (setting unknown_country_code, a plain upper-case code checked here)."""
    if sql is None or "{unknown_country}" not in sql:
        return sql
    code = str(setting("unknown_country_code"))
    if not re.fullmatch(r"[A-Z]{2,3}", code):
        raise ContractRuleError(f"setting unknown_country_code {code!r} is not a country code")
    return sql.replace("{unknown_country}", f"'{code}'")


def _rule(table: str, contract_path: Path, q) -> SemanticRule:
    where = f"{contract_path.name}, quality {q.id!r}"
    impl = q.implementation
    if not isinstance(impl, dict):
        raise ContractRuleError(f"{where}: implementation must be a mapping")
    unknown = set(impl) - ALLOWED_KEYS
    if unknown:
        raise ContractRuleError(f"{where}: unknown keys {sorted(unknown)}")
    name = impl.get("expectation")
    if name not in SUPPORTED:
        raise ContractRuleError(f"{where}: expectation {name!r} is not one of {sorted(SUPPORTED)}")
    if (impl.get("value") is None) == (impl.get("row_value") is None):
        raise ContractRuleError(f"{where}: give exactly one of value (aggregate) or row_value (per row)")
    if impl.get("compare") not in (None, "previous_year"):
        raise ContractRuleError(f"{where}: compare must be previous_year")
    if impl.get("join") not in (None, *JOINS):
        raise ContractRuleError(f"{where}: join must be one of {sorted(JOINS)}")
    if impl.get("value") is not None and name != "expect_column_values_to_be_between":
        raise ContractRuleError(f"{where}: an aggregate value is checked with expect_column_values_to_be_between")
    arguments = {k: impl[k] for k in SUPPORTED[name][1] if k in impl}
    if not arguments:
        raise ContractRuleError(f"{where}: no thresholds ({', '.join(SUPPORTED[name][1])})")
    return SemanticRule(
        rule_id=q.id,
        table=table,
        description=" ".join((q.description or "").split()),
        expectation=name,
        value=_with_settings(impl.get("value")),
        n=impl.get("n"),
        compare=impl.get("compare"),
        row_value=impl.get("row_value"),
        where=impl.get("where"),
        join=impl.get("join"),
        min_n=int(impl.get("min_n", 0)),
        arguments=arguments,
    )


@lru_cache(maxsize=4)
def semantic_rules(directory: Path = CONTRACTS_DIR) -> dict[str, tuple[SemanticRule, ...]]:
    """The great-expectations rules of every contract, by table (tables without rules are left out)."""
    rules: dict[str, tuple[SemanticRule, ...]] = {}
    for path in sorted(Path(directory).glob("*.odcs.yaml")):
        odcs = OpenDataContractStandard.from_file(str(path))
        for obj in odcs.schema_ or []:
            found = tuple(
                _rule(obj.name, path, q) for q in obj.quality or [] if q.type == "custom" and q.engine == ENGINE
            )
            if found:
                rules[obj.name] = found
    return rules


# ------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Outcome:
    rule_id: str
    kind: str
    success: bool | None  # None = not judged (too few rows, or no previous year)
    observed: str
    bounds: str
    n: int | None
    note: str = ""


@dataclass(frozen=True)
class YearReport:
    table: str
    register_year: int
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.success is not False for o in self.outcomes)

    @property
    def failed(self) -> list[str]:
        return [o.rule_id for o in self.outcomes if o.success is False]


def _num(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _aggregate(con, rule: SemanticRule, year: int) -> tuple[float | None, int | None, str]:
    """(value to check, size it rests on, note) of an aggregate or change rule for one year."""
    n_sql = rule.n or (rule.value if rule.compare else "count(*)")
    sql = f"select {rule.value}, {n_sql}, count(*) from {rule.sql_from()} where t.register_year = ?"

    value, n, rows = con.execute(sql, [year]).fetchone()
    value, n = _num(value), int(n or 0)
    if not rule.compare:
        if rows == 0:
            return None, 0, f"no rows in raw.{rule.table} for {year}"
        if n < rule.min_n:
            return None, n, f"not judged: n = {n} < min_n = {rule.min_n}"
        return value, n, ""
    prev_value, prev_n, prev_rows = con.execute(sql, [year - 1]).fetchone()
    prev_value, prev_n = _num(prev_value), int(prev_n or 0)
    if prev_rows == 0:
        return None, n, f"first year: no rows in raw.{rule.table} for {year - 1} to compare with"
    if prev_n >= rule.min_n and prev_value and not value:
        # a fall to 0 (or to no rows) after a year large enough to judge is a -100 % change, not a
        # year too small to judge: a table or category that vanishes must fail the band
        return -1.0, prev_n, f"{year - 1}: {_fmt(prev_value)}, {year}: 0"
    if min(n, prev_n) < rule.min_n:
        return None, min(n, prev_n), f"not judged: n = {min(n, prev_n)} < min_n = {rule.min_n}"
    if value is None or not prev_value:
        return None, n, f"not judged: value {year - 1} = {_fmt(prev_value)}, {year} = {_fmt(value)}"
    return value / prev_value - 1.0, min(n, prev_n), f"{year - 1}: {_fmt(prev_value)}, {year}: {_fmt(value)}"


def distribution_frame(con, table: str, rules: list[SemanticRule], year: int) -> pd.DataFrame:
    """One float column per distribution rule over the year's rows (null where the rule's filter is false)."""
    if not rules:
        return pd.DataFrame()
    joins = sorted({r.join for r in rules if r.join})
    source = " ".join([f"raw.{table} t", *(JOINS[j] for j in joins)])
    cols = ", ".join(
        f'cast(case when {r.where or "true"} then ({r.row_value.format(register_year=year)}) end as double) as "{r.rule_id}"'
        for r in rules
    )
    return con.execute(f"select {cols} from {source} where t.register_year = ?", [year]).df()


_gx_context = None


def _context():
    """One ephemeral GX context per process, quiet (no analytics, no progress bars)."""
    global _gx_context
    if _gx_context is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        source = context.data_sources.add_pandas("register_year_frames")
        batches = {
            name: source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
            for name in ("aggregates", "distributions")
        }
        _gx_context = (context, batches)
    return _gx_context


def _expectation(rule: SemanticRule, column: str):
    import great_expectations as gx

    cls = getattr(gx.expectations, SUPPORTED[rule.expectation][0])
    return cls(column=column, meta={"rule_id": rule.rule_id}, **rule.arguments)


def _validate(frame_name: str, df: pd.DataFrame, expectations: list) -> dict[str, dict]:
    """Validate `df` against a suite of `expectations`; returns rule_id -> {success, result}."""
    import great_expectations as gx

    if not expectations:
        return {}
    _, batches = _context()
    suite = gx.ExpectationSuite(name=f"{frame_name}_suite", expectations=expectations)
    batch = batches[frame_name].get_batch(batch_parameters={"dataframe": df})
    validation = batch.validate(suite, result_format="SUMMARY")
    out = {}
    for res in validation.results:
        rule_id = res.expectation_config.meta["rule_id"]
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(f"GX expectation {rule_id} raised: {res.exception_info.get('exception_message')}")
        out[rule_id] = {"success": bool(res.success), "result": res.result}
    return out


def _observed(rule: SemanticRule, result: dict) -> str:
    """An aggregate description of what GX saw (never the partial_unexpected_list)."""
    if rule.expectation == "expect_column_quantile_values_to_be_between":
        values = result["observed_value"]["values"]
        return ", ".join(f"q{q:g} = {v:g}" for q, v in zip(result["observed_value"]["quantiles"], values))
    if rule.expectation == "expect_column_mean_to_be_between":
        return f"mean = {float(result['observed_value']):.4g}"
    judged = result.get("element_count", 0) - result.get("missing_count", 0)
    return f"{result.get('unexpected_count', 0)} of {judged} rows outside"


def validate_year(con, table: str, year: int, rules: tuple[SemanticRule, ...] | None = None) -> YearReport:
    """Run the table's GX suites for one register year on the rows in raw.<table>."""
    rules = semantic_rules()[table] if rules is None else rules
    outcomes: dict[str, Outcome] = {}

    # aggregates (one row) and year-on-year changes
    agg_rules = [r for r in rules if r.kind != "distribution"]
    values = {r.rule_id: _aggregate(con, r, year) for r in agg_rules}
    judged = [r for r in agg_rules if values[r.rule_id][0] is not None]
    frame = pd.DataFrame({r.rule_id: [values[r.rule_id][0]] for r in judged}, dtype="float64")
    results = _validate("aggregates", frame, [_expectation(r, r.rule_id) for r in judged])
    for r in agg_rules:
        value, n, note = values[r.rule_id]
        success = results[r.rule_id]["success"] if r.rule_id in results else None
        observed = "-" if value is None else (f"{value:+.2%}" if r.compare else _fmt(value))
        outcomes[r.rule_id] = Outcome(r.rule_id, r.kind, success, observed, r.bounds, n, note)

    # distributions over the year's rows
    dist_rules = [r for r in rules if r.kind == "distribution"]
    frame = distribution_frame(con, table, dist_rules, year)
    sizes = {r.rule_id: int(frame[r.rule_id].notna().sum()) if len(frame) else 0 for r in dist_rules}
    judged = [r for r in dist_rules if sizes[r.rule_id] >= max(r.min_n, 1)]
    results = _validate("distributions", frame, [_expectation(r, r.rule_id) for r in judged])
    for r in dist_rules:
        if r.rule_id in results:
            res = results[r.rule_id]
            outcomes[r.rule_id] = Outcome(
                r.rule_id, r.kind, res["success"], _observed(r, res["result"]), r.bounds, sizes[r.rule_id]
            )
        else:
            outcomes[r.rule_id] = Outcome(
                r.rule_id,
                r.kind,
                None,
                "-",
                r.bounds,
                sizes[r.rule_id],
                f"not judged: n = {sizes[r.rule_id]} < min_n = {r.min_n}",
            )
    return YearReport(table, year, tuple(outcomes[r.rule_id] for r in rules))


def reports_markdown(reports: list[YearReport]) -> str:
    """One markdown table of outcomes (aggregates only), for Dagster metadata."""
    lines = ["| year | rule | result | observed | bounds | n | note |", "|---|---|---|---|---|---|---|"]
    for rep in reports:
        for o in rep.outcomes:
            result = {True: "pass", False: "**FAIL**", None: "not judged"}[o.success]
            lines.append(
                f"| {rep.register_year} | {o.rule_id} | {result} | {o.observed} | {o.bounds} | "
                f"{'-' if o.n is None else o.n} | {o.note} |"
            )
    return "\n".join(lines)
