"""The reproduction scorecard: every published number and stated direction beside the pipeline's value.

Claims live once, in models_py/published/study_<x>.yaml (format: models_py/exhibits/README.md). Each is evaluated
on the exhibits' published (disclosure-protected) tables, so the scorecard publishes nothing the gate did not pass.
A claim that does not hold is reported as such; nothing here is tuned to make it hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

PUBLISHED_DIR = Path(__file__).resolve().parents[1] / "published"
HOLDS, FAILS, NOT_COMPUTED = "holds", "does not hold", "not computed"
AGGREGATES = {
    "sum": lambda s: s.sum(),
    "mean": lambda s: s.mean(),
    "first": lambda s: s.iloc[0],
    "last": lambda s: s.iloc[-1],  # with the exhibit's order_by: e.g. the top income group
    "min": lambda s: s.min(),
    "max": lambda s: s.max(),
}


@cache
def load_claims(study: str) -> tuple[dict, ...]:
    path = PUBLISHED_DIR / f"study_{study}.yaml"
    if not path.exists():
        return ()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(doc.get("claims") or [])


def published_value(study: str, claim_id: str, index: int = 0) -> float:
    """A published number by claim id: for code that needs it (the simulator's calibration report)."""
    for claim in load_claims(study):
        if claim["id"] == claim_id:
            return float(claim["checks"][index]["published"])
    raise KeyError(f"no published claim {claim_id!r} in study {study}")


def reference_population() -> tuple[int, int]:
    """(year, residents on 1 January) of Norway, from models_py/published/norway.yaml."""
    doc = yaml.safe_load((PUBLISHED_DIR / "norway.yaml").read_text(encoding="utf-8"))
    ref = doc["reference_population"]
    return int(ref["year"]), int(ref["residents"])


@dataclass
class Outcome:
    status: str
    pipeline: str = ""
    published: str = ""
    reason: str = ""


class NotComputed(Exception):
    pass


def measure(spec: dict, tables: dict[str, pd.DataFrame]) -> float:
    """One number from a published exhibit table (NotComputed when missing, empty or suppressed)."""
    exhibit = spec["exhibit"]
    if exhibit not in tables:
        raise NotComputed(f"exhibit {exhibit} is not published")
    df = tables[exhibit]
    column = spec["column"]
    if column not in df.columns:
        raise NotComputed(f"{exhibit} has no column {column}")
    for key, value in (spec.get("where") or {}).items():
        values = [str(v) for v in (value if isinstance(value, list) else [value])]
        df = df[df[key].astype("string").isin(values)]
    series = pd.to_numeric(df[column], errors="coerce")
    if series.empty:
        raise NotComputed(f"{exhibit}: no row matches {spec.get('where')}")
    if series.isna().any():
        raise NotComputed(f"{exhibit}: {series.isna().sum()} of the cells are suppressed or missing")
    agg = spec.get("agg", "first")
    if agg not in AGGREGATES:
        raise ValueError(f"unknown aggregate {agg!r}")
    return float(AGGREGATES[agg](series))


def _fmt(x: float) -> str:
    return f"{x:.4g}" if isinstance(x, float) and math.isfinite(x) else str(x)


def check(spec: dict, tables: dict[str, pd.DataFrame], population_scale: float | None) -> Outcome:
    relation = spec["relation"]
    if relation == "order":
        values = [measure(m, tables) for m in spec["measures"]]
        descending = spec.get("direction", "ascending") == "descending"
        pairs = list(zip(values, values[1:]))
        ok = all(a > b for a, b in pairs) if descending else all(a < b for a, b in pairs)
        return Outcome(
            HOLDS if ok else FAILS, " ; ".join(_fmt(v) for v in values), "descending" if descending else "ascending"
        )
    if relation == "sign":
        value = measure(spec["measure"], tables)
        ok = value > 0 if spec["sign"] == "positive" else value < 0
        return Outcome(HOLDS if ok else FAILS, _fmt(value), spec["sign"])
    if relation == "same_sign":
        # the share of rows whose estimate has the sign of the published value beside it (a table of estimates)
        exhibit, column, reference = spec["exhibit"], spec["column"], spec["reference_column"]
        if exhibit not in tables:
            raise NotComputed(f"exhibit {exhibit} is not published")
        df = tables[exhibit]
        for key, value in (spec.get("where") or {}).items():
            df = df[df[key].astype("string").isin([str(v) for v in (value if isinstance(value, list) else [value])])]
        pairs = df[[column, reference]].apply(pd.to_numeric, errors="coerce").dropna()
        pairs = pairs[pairs[reference] != 0]
        if pairs.empty:
            raise NotComputed(f"{exhibit}: no estimate beside a published value")
        share = float(((pairs[column] > 0) == (pairs[reference] > 0)).mean())
        ok = share >= float(spec["min_share"])
        return Outcome(HOLDS if ok else FAILS, f"{share:.2f} of {len(pairs)}", f">= {spec['min_share']}")
    if relation in ("value", "ratio"):
        if relation == "value":
            value = measure(spec["measure"], tables)
        else:
            denominator = measure(spec["denominator"], tables)
            if denominator == 0:
                raise NotComputed("denominator is 0")
            value = measure(spec["numerator"], tables) / denominator
        published = float(spec["published"])
        shown = value
        if spec.get("scale_with_population"):
            if not population_scale:
                raise NotComputed("the population scale is unknown")
            value = value / population_scale
        tolerance = spec.get("tolerance")
        if tolerance is None:
            tolerance = float(spec.get("rel_tolerance", 0.1)) * abs(published)
        ok = abs(value - published) <= float(tolerance)
        note = f" (scaled: {_fmt(value)})" if spec.get("scale_with_population") else ""
        return Outcome(HOLDS if ok else FAILS, _fmt(shown) + note, f"{_fmt(published)} ± {_fmt(float(tolerance))}")
    raise ValueError(f"unknown relation {relation!r}")


def evaluate(studies, tables: dict[str, pd.DataFrame], population_scale: float | None) -> pd.DataFrame:
    """One row per claim: study, id, source, statement, published, pipeline, status, reason."""
    rows = []
    for study in studies:
        for claim in load_claims(study):
            outcomes = []
            for spec in claim.get("checks") or []:
                try:
                    outcomes.append(check(spec, tables, population_scale))
                except NotComputed as exc:
                    outcomes.append(Outcome(NOT_COMPUTED, reason=str(exc)))
            statuses = {o.status for o in outcomes}
            status = (
                NOT_COMPUTED
                if (not outcomes or NOT_COMPUTED in statuses)
                else (HOLDS if statuses == {HOLDS} else FAILS)
            )
            rows.append(
                {
                    "study": study.upper(),
                    "claim": claim["id"],
                    "source": claim.get("source", ""),
                    "statement": claim.get("statement", ""),
                    "published": " | ".join(o.published for o in outcomes if o.published),
                    "pipeline": " | ".join(o.pipeline for o in outcomes if o.pipeline),
                    "status": status,
                    "reason": " | ".join(o.reason for o in outcomes if o.reason),
                }
            )
    return pd.DataFrame(
        rows, columns=["study", "claim", "source", "statement", "published", "pipeline", "status", "reason"]
    )


def summary(scorecard: pd.DataFrame) -> dict[str, int]:
    counts = scorecard["status"].value_counts() if len(scorecard) else pd.Series(dtype=int)
    return {
        "claims": int(len(scorecard)),
        HOLDS: int(counts.get(HOLDS, 0)),
        FAILS: int(counts.get(FAILS, 0)),
        NOT_COMPUTED: int(counts.get(NOT_COMPUTED, 0)),
    }
