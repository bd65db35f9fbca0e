"""The disclosure gate over the exhibit registry: registry declarations in, protected tables and a record out.

Every registered exhibit passes here before anything is published (`disclosure.py` holds the rules). An exhibit
declares either table cells (`disclosure: {family, dimensions, counts, rates, margins}`) or a model output
(`disclosure: {model: person | aggregate}`: rule R8 or R9); one with no declaration is refused, so no exhibit can
bypass the gate by omission.

Beyond counts and rates the gate applies R7 (declared income/wealth `magnitudes`: persons threshold, p%-rule,
winsorised means, percentiles as means of the nearest values, no minimum or maximum), R10 (figures: no point marks
of microdata, histogram bins are declared counts) and R11 (revisions: `release_cells` of the previous release make
cells it suppressed, and cells whose count changed by 1..9 persons since, primary now).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models_py.exhibits.registry import Exhibit, add_labels
from models_py.publish import disclosure as dc

SUPPRESSED_SUFFIX = "_suppressed"
RECORD_COLUMNS = [
    "exhibit_id",
    "kind",
    "status",
    "reason",
    "rules",
    "family",
    "cells",
    "primary_suppressed",
    "secondary_suppressed",
    "rates_suppressed",
    "audit",
    "seconds",
    "note",
]


@dataclass
class ExhibitGate:
    published: dict[str, tuple[pd.DataFrame, pd.DataFrame]]  # id -> (labelled table, suppressed mask)
    record: pd.DataFrame
    families: list[dict]


def table_spec(
    exhibit: Exhibit, frame: pd.DataFrame, sensitive: dict[str, str] | None = None, kept: dict[str, str] | None = None
) -> dc.TableSpec:
    d = exhibit.disclosure
    return dc.TableSpec(
        sensitive=sensitive or None,
        kept=kept or None,
        exhibit_id=exhibit.id,
        frame=frame,
        dimensions=list(d.get("dimensions", [])),
        counts=dict(d.get("counts") or {}),
        rates=[dc.RateSpec(r["column"], r["numerator"], r["denominator"]) for r in d.get("rates") or []],
        margins=dict(d.get("margins") or {}),
        family=d.get("family", exhibit.id),
        sums={total: list(parts) for total, parts in (d.get("sums") or {}).items()} or None,
        persons=d.get("persons"),
    )


MODEL_GATE_TABLE = "models.model_gate"
WITHHELD = "withheld"


def record_model_check(con, output_table: str, record: dc.GateRecord, fields: list[str]) -> None:
    """Store a model asset's R8/R9 verdict on one output table (`models.<table>`), with the fields it checked.

    A model asset has what the verdict needs (residual df, persons per category level, the input cells); the gate
    over the registry only publishes a model exhibit whose table has a passing verdict covering its columns."""
    con.execute("create schema if not exists models")
    con.execute(
        f"create table if not exists {MODEL_GATE_TABLE} (output_table varchar primary key, kind varchar, "
        "status varchar, reason varchar, rules varchar, fields varchar, residual_df_min double)"
    )
    con.execute(f"delete from {MODEL_GATE_TABLE} where output_table = ?", [output_table])
    con.execute(
        f"insert into {MODEL_GATE_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
        [
            output_table,
            "person" if "R8" in record.rules else "aggregate",
            record.status,
            record.reason,
            ", ".join(record.rules),
            ",".join(fields),
            (record.audit or {}).get("residual_df_min"),
        ],
    )


def model_records(con) -> dict[str, dict]:
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'models' and table_name = 'model_gate'"
    ).fetchall()[0][0]
    if not exists:
        return {}
    df = con.execute(f"select * from {MODEL_GATE_TABLE}").df()
    return {r["output_table"]: r for r in df.to_dict("records")}


def _model_exhibit(exhibit: Exhibit, records: dict[str, dict], frame: pd.DataFrame) -> dc.GateRecord:
    """A model output is published only with its model's passing verdict, and only the fields that verdict covered."""
    kind = exhibit.disclosure["model"]
    rule = "R8" if kind == "person" else "R9"
    record = records.get(exhibit.source)
    if record is None and frame.empty:
        return dc.GateRecord(exhibit.id, "model", WITHHELD, "the model was not estimable on these data", [rule])
    if record is None:
        return dc.GateRecord(exhibit.id, "model", "fail", f"no {rule} verdict recorded for {exhibit.source}", [rule])
    uncovered = sorted(set(exhibit.columns) - set(str(record["fields"]).split(",")))
    if uncovered or "fields not allowed" in str(record["reason"]):  # the code publishes what it must not: block
        reason = f"columns not checked: {', '.join(uncovered)}" if uncovered else record["reason"]
        return dc.GateRecord(exhibit.id, "model", "fail", reason, [rule])
    if record["status"] == "fail":  # the data do not support publishing this model (small cells, df): withhold
        return dc.GateRecord(exhibit.id, "model", WITHHELD, record["reason"], [rule])
    if frame.empty:  # the table holds no estimates of this selection (a run that was not fitted or not publishable)
        selection = ", ".join(f"{k} = {v}" for k, v in exhibit.where.items())
        reason = f"no estimates{' for ' + selection if selection else ''}: the model was not fitted or not publishable"
        return dc.GateRecord(exhibit.id, "model", WITHHELD, reason, [rule])
    return dc.GateRecord(
        exhibit.id,
        "model",
        record["status"],
        record["reason"] or "",
        [rule],
        audit={"residual_df_min": record["residual_df_min"]},
    )


def _split(frame: pd.DataFrame, exhibit: Exhibit) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The protected frame as (labelled table, suppressed mask of the same columns)."""
    flags = {
        c[: -len(SUPPRESSED_SUFFIX)]: frame[c].fillna(False).astype(bool)
        for c in frame.columns
        if c.endswith(SUPPRESSED_SUFFIX)
    }
    # the gate drops rule inputs that are not published counts (persons behind person-years, undeclared denominators)
    table = add_labels(frame[[c for c in exhibit.columns if c in frame.columns]], exhibit)
    mask = pd.DataFrame({c: flags.get(c, pd.Series(False, index=frame.index)) for c in table.columns})
    return table.reset_index(drop=True), mask.reset_index(drop=True)


def _row(record: dc.GateRecord, note: str = "") -> dict:
    audit = record.audit or {}
    return {
        "exhibit_id": record.exhibit_id,
        "kind": record.kind,
        "status": record.status,
        "reason": record.reason,
        "rules": ", ".join(record.rules),
        "family": record.family or "",
        "cells": record.cells,
        "primary_suppressed": record.primary,
        "secondary_suppressed": record.secondary,
        "rates_suppressed": record.rates_suppressed,
        "audit": "; ".join(f"{k}: {v}" for k, v in sorted(audit.items())),
        "seconds": round(record.seconds, 3),
        "note": note,
    }


def _note(record: dc.GateRecord) -> str:
    if record.kind == "model":
        return "Model output checked against disclosure rules R8/R9."
    if record.primary or record.secondary or record.rates_suppressed:
        return (
            f"Disclosure control: {record.primary} cells suppressed as small (fewer than 10 persons), "
            f"{record.secondary} more to protect them (secondary suppression), {record.rates_suppressed} rates "
            "withheld; suppressed values print as ':'."
        )
    return ""


def _unprotectable(record: dc.GateRecord, settings: dict) -> str:
    """What happens to a table whose family the audit could not protect: by the policy setting `on_unprotectable`,
    the table is withheld (not published; the record says why) or the whole publication is blocked."""
    if record.status == "fail" and record.reason.startswith("audit") and settings.get("on_unprotectable") == "withhold":
        return WITHHELD
    return record.status


# ----------------------------------------------------------------------------------------------------------------
# R7 magnitudes, R10 figures, R11 revisions: declaration checks and derived tables

TOTAL, FLAG = "__magnitude_total", "__magnitude_sensitive"
STATISTICS = ("mean", "total", "percentile")


def _forbidden_columns(exhibit: Exhibit, policy: dict) -> list[str]:
    """R7: no minimum or maximum in a table (model outputs are held to their R8/R9 field lists instead)."""
    pattern = re.compile(policy["magnitudes"]["forbidden_column_pattern"], re.IGNORECASE)
    dims = set((exhibit.disclosure or {}).get("dimensions") or [])
    return [c for c in exhibit.columns if c not in dims and pattern.search(c)]


def _undeclared_columns(exhibit: Exhibit) -> list[str]:
    """Published columns the gate would print as they are without knowing what they hold: every column of a table
    must be a dimension, a count, a rate (or its numerator or denominator, which the gate drops unless it is a count),
    an R7 magnitude, a person count behind a count, an attribute (counts no persons: a flag, a code, a name, a year,
    a public series) or a summary (a statistic of protected series, printed at the policy's significant digits)."""
    declared = exhibit.declared_columns()
    return [c for c in exhibit.columns if c not in declared]


def _round_summaries(exhibit: Exhibit, frame: pd.DataFrame, policy: dict) -> None:
    for column in (exhibit.disclosure or {}).get("summaries") or []:
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
        frame[column] = [dc.round_significant(v, policy["significant_digits"]) for v in values]


def _magnitude_problems(exhibit: Exhibit, frame: pd.DataFrame, policy: dict) -> list[str]:
    """What is wrong with an exhibit's R7 declaration (a registry or mart error: the exhibit blocks publishing)."""
    m_policy, found = policy["magnitudes"], []
    counts = (exhibit.disclosure or {}).get("counts") or {}
    for m in (exhibit.disclosure or {}).get("magnitudes") or []:
        column, statistic = m.get("column"), m.get("statistic")
        name = f"R7 magnitude {column}"
        if column not in exhibit.columns:
            found.append(f"{name}: not a published column")
        if statistic not in STATISTICS:
            found.append(f"{name}: statistic must be one of {', '.join(STATISTICS)}")
        persons = m.get("persons")
        if persons not in frame.columns:
            found.append(f"{name}: the persons column behind it is missing")
        contributions = m.get("contributions")
        if statistic == "percentile":  # a mean of the nearest values, not a sum: the p%-rule does not apply
            pass
        elif contributions == "none":
            if statistic == "total":  # a total's dominance is only bounded by the p%-rule
                found.append(f"{name}: a total needs the two largest contributions for the p%-rule")
        elif not (isinstance(contributions, list) and len(contributions) == 2):
            found.append(f"{name}: contributions must name the two largest contributions or say none")
        else:
            missing = [c for c in contributions if c not in frame.columns]
            published = [c for c in contributions if c in exhibit.columns]
            if missing:
                found.append(f"{name}: contribution columns missing: {', '.join(missing)}")
            if published:
                found.append(f"{name}: the largest contributions are rule inputs, never published")
        if statistic == "mean" and list(m.get("winsorised") or []) != list(m_policy["winsorised_percentiles"]):
            found.append(
                f"{name}: a mean is published only on values winsorised at {m_policy['winsorised_percentiles']}"
            )
        if statistic == "percentile" and int(m.get("nearest_values") or 0) < m_policy["percentile_nearest_values"]:
            found.append(
                f"{name}: a percentile is published only as the mean of at least "
                f"{m_policy['percentile_nearest_values']} values nearest to it"
            )
        if persons in exhibit.columns and persons not in counts:
            found.append(f"{name}: the persons column, when published, must be a declared count")
        if column in frame.columns and (pd.to_numeric(frame[column], errors="coerce") < 0).any():
            found.append(f"{name}: negative values cannot be audited additively (publish a non-negative measure)")
    return found


def _magnitude_specs(exhibit: Exhibit, frame: pd.DataFrame, policy: dict) -> list[tuple[dict, dc.TableSpec | None]]:
    """One derived table per declared mean or total: its cell totals (mean x persons) as a continuous measure
    judged on the persons behind it (R7's >= 10 persons is R2's threshold), the p%-rule's sensitive cells as
    forced primaries, the table's margins: the audit then proves no suppressed total is derivable from the
    published means, counts and margins. A percentile is not additive: None (only its persons are judged)."""
    d, p = exhibit.disclosure, policy["magnitudes"]["p_percent"] / 100
    out = []
    for m in d.get("magnitudes") or []:
        if m["statistic"] == "percentile":
            out.append((m, None))
            continue
        value = pd.to_numeric(frame[m["column"]], errors="coerce").to_numpy(dtype=float)
        persons = pd.to_numeric(frame[m["persons"]], errors="coerce").to_numpy(dtype=float)
        total = value * persons if m["statistic"] == "mean" else value
        total = np.where(persons == 0, 0.0, total)  # an empty cell has no value to protect
        sensitive = np.zeros(len(frame), dtype=bool)
        if m.get("contributions") != "none":
            x1, x2 = (pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in m["contributions"])
            with np.errstate(invalid="ignore"):
                sensitive = (total - x1 - x2) < p * x1  # p%-rule; a missing contribution is not sensitive
        derived = frame[list(d.get("dimensions") or [])].copy()
        derived[TOTAL], derived["__persons"], derived[FLAG] = total, persons, sensitive
        measure = m.get("measure", m["column"])
        spec = dc.TableSpec(
            exhibit_id=f"{exhibit.id}/{m['column']}",
            frame=derived,
            dimensions=list(d.get("dimensions") or []),
            counts={TOTAL: measure},
            margins=dict(d.get("margins") or {}),
            family=f"{d.get('family', exhibit.id)}/{measure}",
            persons={TOTAL: "__persons"},
            sensitive={TOTAL: f"{FLAG}:R7"},
        )
        out.append((m, spec))
    return out


def _figure_problems(exhibit: Exhibit, policy: dict) -> list[str]:
    """R10: point marks only of gated aggregate cells; histogram bars only of declared counts."""
    fig = exhibit.figure or {}
    if not fig:
        return []
    f_policy, d = policy["figures"], exhibit.disclosure or {}
    kinds = {fig.get("kind")} | {panel.get("kind") for panel in fig.get("panels") or []}
    ys = {fig.get("y")} | {panel.get("y") for panel in fig.get("panels") or []}
    found = []
    if kinds & set(f_policy["point_kinds"]):
        microdata = re.search(f_policy["microdata_sources"], exhibit.source)
        if microdata or "model" in d or not d.get("counts"):
            found.append(
                f"R10: a point plot of {exhibit.source}, which is not a table of gated aggregate cells, is not "
                "published (no point scatterplots of microdata)"
            )
    if kinds & set(f_policy["histogram_kinds"]):
        undeclared = sorted(str(y) for y in ys - {None} if y not in (d.get("counts") or {}))
        if undeclared:
            found.append(f"R10: histogram bins must be declared counts of persons: {', '.join(undeclared)}")
    return found


def _cell_keys(exhibit: Exhibit, frame: pd.DataFrame) -> list[str]:
    dims = list((exhibit.disclosure or {}).get("dimensions") or [])
    codes = [[dc._code(v) for v in frame[dim].tolist()] for dim in dims]
    return [json.dumps(dict(zip(dims, row)), sort_keys=True) for row in zip(*codes)] if dims else [""] * len(frame)


HISTORY_COLUMNS = ["release", "exhibit_id", "column_name", "cell", "value", "suppressed"]


def release_cells(exhibits: list[Exhibit], gate_result: ExhibitGate, release: str) -> pd.DataFrame:
    """The published count cells of one release (value as published, NaN where suppressed): the R11 input of the
    next release. Holds only published values and dimension codes."""
    parts = []
    for e in exhibits:
        if e.id not in gate_result.published or "model" in (e.disclosure or {}):
            continue
        table, mask = gate_result.published[e.id]
        keys = _cell_keys(e, table)
        for column in (e.disclosure or {}).get("counts") or {}:
            if column in table.columns:
                parts.append(
                    pd.DataFrame(
                        {
                            "release": release,
                            "exhibit_id": e.id,
                            "column_name": column,
                            "cell": keys,
                            "value": pd.to_numeric(table[column], errors="coerce").astype(float),
                            "suppressed": mask[column].astype(bool),
                        }
                    )
                )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=HISTORY_COLUMNS)


def save_release(con, cells: pd.DataFrame) -> None:
    """Append a release's published cells to the history (schema exhibits_published)."""
    table = f'exhibits_published."{dc.load_settings()["revisions"]["history_table"]}"'
    con.execute("create schema if not exists exhibits_published")
    con.execute(
        f"create table if not exists {table} (release varchar, exhibit_id varchar, column_name varchar, "
        "cell varchar, value double, suppressed boolean)"
    )
    con.execute(f"delete from {table} where release = ?", [str(cells["release"].iloc[0])] if len(cells) else [""])
    con.register("_release_cells", cells[HISTORY_COLUMNS])
    try:
        con.execute(f"insert into {table} select * from _release_cells")
    finally:
        con.unregister("_release_cells")


def previous_release(con) -> pd.DataFrame | None:
    """The newest release in the history (None before the first)."""
    name = dc.load_settings()["revisions"]["history_table"]
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'exhibits_published' and table_name = ?",
        [name],
    ).fetchall()[0][0]
    if not exists:
        return None
    rows = con.execute(
        f'select * from exhibits_published."{name}" where release = '
        f'(select max(release) from exhibits_published."{name}")'
    ).df()
    return rows if len(rows) else None


def _revision_flags(
    exhibit: Exhibit, frame: pd.DataFrame, previous: pd.DataFrame | None, policy: dict
) -> tuple[dict, dict]:
    """R11: per count column, the rows a previous release forces into suppression: (1) cells it published whose count
    has changed by 1..min_persons-1 persons (the difference counts late registrations: sensitive, protected like a
    primary cell), (2) cells it suppressed (kept suppressed and never derivable exactly, but not sensitive: treating
    them as primary would make every release suppress more than the one before, even on the same data).
    [ASSUMPTION] the audit proves the new release alone; a difference derivable only by combining both releases'
    margins is not audited (the difference rule applies to every cell, margins included)."""
    if previous is None or previous.empty:
        return {}, {}
    mine = previous[previous["exhibit_id"] == exhibit.id]
    if mine.empty:
        return {}, {}
    keys = _cell_keys(exhibit, frame)
    changed, kept = {}, {}
    for column in (exhibit.disclosure or {}).get("counts") or {}:
        before = mine[mine["column_name"] == column].drop_duplicates("cell", keep="last").set_index("cell")
        if before.empty:
            continue
        was_suppressed = pd.Series(keys).map(before["suppressed"]).fillna(False).astype(bool).to_numpy()
        old = pd.Series(keys).map(before["value"]).astype(float).to_numpy()
        now = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            change = np.abs(now - old)
            small_change = np.isfinite(change) & (change > 0) & (change < policy["min_persons"])
        if small_change.any():
            changed[column] = small_change
        if was_suppressed.any():
            kept[column] = was_suppressed
    return changed, kept


def _fail_row(exhibit: Exhibit, reason: str, rules: str) -> dict:
    return {
        **dict.fromkeys(RECORD_COLUMNS, ""),
        "exhibit_id": exhibit.id,
        "kind": exhibit.kind if exhibit.figure else "table",
        "status": "fail",
        "reason": reason,
        "rules": rules,
        "cells": 0,
        "primary_suppressed": 0,
        "secondary_suppressed": 0,
        "rates_suppressed": 0,
        "seconds": 0.0,
    }


def _apply_magnitudes(exhibit, protected, frame, mags, result, record, policy) -> None:
    """Blank the magnitude cells the derived tables suppressed (and percentiles of too few persons) in the
    exhibit's protected frame; add their counts and status to the exhibit's record."""
    for m, spec in mags:
        column = m["column"]
        if spec is None:  # percentile: R7's persons threshold on the values averaged (not additive: no audit)
            persons = pd.to_numeric(frame[m["persons"]], errors="coerce").to_numpy(dtype=float)
            sup = ~(persons >= policy["min_persons"])
            record.primary += int(sup.sum())
        else:
            m_record = result.record(spec.exhibit_id)
            m_frame = result.frames.get(spec.exhibit_id)
            record.primary += m_record.primary
            record.secondary += m_record.secondary
            if m_frame is None or m_record.status == "fail":
                record.status, record.reason = "fail", f"R7 magnitude {column}: {m_record.reason}"
                continue
            if m_record.status == "review" and record.status == "pass":
                record.status, record.reason = "review", f"R7 magnitude {column}: {m_record.reason}"
            sup = m_frame[f"{TOTAL}{SUPPRESSED_SUFFIX}"].fillna(False).astype(bool).to_numpy()
        values = pd.to_numeric(protected[column], errors="coerce").to_numpy(dtype=float).copy()
        values[sup] = np.nan
        protected[column] = values
        protected[f"{column}{SUPPRESSED_SUFFIX}"] = sup
        record.cells += len(values)
    if mags and "R7" not in record.rules:
        record.rules = [*record.rules, "R7"]


def protect_exhibits(
    exhibits: list[Exhibit],
    tables: dict[str, pd.DataFrame],
    settings: dict | None = None,
    model_verdicts: dict[str, dict] | None = None,
    previous: pd.DataFrame | None = None,
) -> ExhibitGate:
    """Protect every exhibit: tables by family through `disclosure.protect` (with their R7 magnitudes and the
    R11 flags of the `previous` release's cells, see `release_cells`), model outputs by their R8/R9 verdicts
    (`model_records`); R10 refuses point plots of microdata and histograms of undeclared bins."""
    policy = settings or dc.load_settings()
    specs, rows, published, magnitudes = [], [], {}, {}
    for exhibit in exhibits:
        frame = tables[exhibit.id]
        d = exhibit.disclosure or {}
        figure_problems = _figure_problems(exhibit, policy)
        if figure_problems:  # a registry entry that may not be drawn: a code error, it blocks publishing
            rows.append(_fail_row(exhibit, "; ".join(figure_problems), "R10"))
        elif "model" in d:
            record = _model_exhibit(exhibit, model_verdicts or {}, frame)
            rows.append(_row(record, _note(record)))
            if record.status not in ("fail", WITHHELD):
                published[exhibit.id] = _split(frame, exhibit)
        elif not d:
            rows.append(_fail_row(exhibit, "no disclosure declaration in the registry", ""))
        else:
            forbidden = _forbidden_columns(exhibit, policy)
            undeclared = _undeclared_columns(exhibit)
            problems = _magnitude_problems(exhibit, frame, policy)
            if forbidden:
                problems.insert(0, f"R7: no minimum or maximum is published: {', '.join(forbidden)}")
            if problems:
                rows.append(_fail_row(exhibit, "; ".join(problems), "R7"))
                continue
            if undeclared:  # a registry error: the exhibit blocks publishing until its columns are declared
                rows.append(_fail_row(exhibit, f"columns not declared to the gate: {', '.join(undeclared)}", ""))
                continue
            changed, kept = _revision_flags(exhibit, frame, previous, policy)
            frame = frame.assign(
                **{f"__r11_{c}": v for c, v in changed.items()}, **{f"__r11_kept_{c}": v for c, v in kept.items()}
            )
            spec = table_spec(
                exhibit, frame, {c: f"__r11_{c}:R11" for c in changed}, {c: f"__r11_kept_{c}" for c in kept}
            )
            specs.append((exhibit, spec))
            magnitudes[exhibit.id] = _magnitude_specs(exhibit, frame, policy)
    families = []
    if specs:
        derived = [s for mags in magnitudes.values() for _, s in mags if s is not None]
        result = dc.protect([s for _, s in specs] + derived, settings)
        families = result.families
        for exhibit, spec in specs:
            record = result.record(exhibit.id)
            protected = result.frames.get(exhibit.id)
            if protected is not None:
                protected = protected.copy()
                _apply_magnitudes(exhibit, protected, spec.frame, magnitudes[exhibit.id], result, record, policy)
                _round_summaries(exhibit, protected, policy)
            record.status = _unprotectable(record, policy)
            rows.append(_row(record, _note(record)))
            if record.status not in ("fail", WITHHELD) and protected is not None:
                published[exhibit.id] = _split(protected, exhibit)
    order = {e.id: i for i, e in enumerate(exhibits)}
    record_df = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    record_df = record_df.sort_values("exhibit_id", key=lambda s: s.map(order)).reset_index(drop=True)
    return ExhibitGate(published=published, record=record_df, families=families)


def record_for_publication(record: pd.DataFrame) -> pd.DataFrame:
    """The gate record as published on disclosure.html (aggregates of suppression only)."""
    return record[[c for c in RECORD_COLUMNS if c not in ("seconds", "note")]]


def policy_summary() -> str:
    s = dc.load_settings()
    return (
        f"counts of 1-{s['min_persons'] - 1} persons suppressed, with secondary suppression audited exactly and "
        f"by linear programming; rates published only where the denominator is at least "
        f"{s['rate_min_denominator']} and the events 0 or {s['rate_min_events']} to N-{s['rate_min_complement']} "
        "(see disclosure.html)"
    )


def population_scale(con, relation_of) -> float | None:
    """The pipeline's residents on 1 January of the studies' reference year over Norway's (for comparing counts
    of people with published ones); None when that year is not delivered."""
    from models_py.publish.scorecard import reference_population

    year, persons = reference_population()
    value = con.execute(
        f"select count(*) from {relation_of('fct_person_year')} where resident_jan1 and year = ?", [int(year)]
    ).fetchall()[0][0]  # fetchall: a half-read result would block the connection's next register()
    return value / persons if value else None
