"""The disclosure gate over the exhibit registry: registry declarations in, protected tables and a record out.

Every registered exhibit passes here before anything is published (`disclosure.py` holds the rules). An exhibit
declares either table cells (`disclosure: {family, dimensions, counts, rates, margins}`) or a model output
(`disclosure: {model: person | aggregate}`: rule R8 or R9); one with no declaration is refused, so no exhibit can
bypass the gate by omission.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def table_spec(exhibit: Exhibit, frame: pd.DataFrame) -> dc.TableSpec:
    d = exhibit.disclosure
    return dc.TableSpec(
        exhibit_id=exhibit.id,
        frame=frame,
        dimensions=list(d.get("dimensions", [])),
        counts=dict(d.get("counts") or {}),
        rates=[dc.RateSpec(r["column"], r["numerator"], r["denominator"]) for r in d.get("rates") or []],
        margins=dict(d.get("margins") or {}),
        family=d.get("family", exhibit.id),
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


def protect_exhibits(
    exhibits: list[Exhibit],
    tables: dict[str, pd.DataFrame],
    settings: dict | None = None,
    model_verdicts: dict[str, dict] | None = None,
) -> ExhibitGate:
    """Protect every exhibit: tables by family through `disclosure.protect`, model outputs by their R8/R9
    verdicts (`model_records`)."""
    specs, rows, published = [], [], {}
    for exhibit in exhibits:
        frame = tables[exhibit.id]
        d = exhibit.disclosure or {}
        if "model" in d:
            record = _model_exhibit(exhibit, model_verdicts or {}, frame)
            rows.append(_row(record, _note(record)))
            if record.status not in ("fail", WITHHELD):
                published[exhibit.id] = _split(frame, exhibit)
        elif not d:
            rows.append(
                {
                    **dict.fromkeys(RECORD_COLUMNS, ""),
                    "exhibit_id": exhibit.id,
                    "kind": "table",
                    "status": "fail",
                    "reason": "no disclosure declaration in the registry",
                    "cells": 0,
                    "primary_suppressed": 0,
                    "secondary_suppressed": 0,
                    "rates_suppressed": 0,
                    "seconds": 0.0,
                }
            )
        else:
            specs.append((exhibit, table_spec(exhibit, frame)))
    families = []
    policy = settings or dc.load_settings()
    if specs:
        result = dc.protect([s for _, s in specs], settings)
        families = result.families
        for exhibit, _ in specs:
            record = result.record(exhibit.id)
            record.status = _unprotectable(record, policy)
            rows.append(_row(record, _note(record)))
            protected = result.frames.get(exhibit.id)
            if record.status != "fail" and protected is not None:
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
