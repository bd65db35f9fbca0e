"""Table 4.12 (where each regressor enters) generated from the specification, never typed."""

from __future__ import annotations

import pandas as pd

from models_py import bands

from .spec import MACRO_SERIES, Spec

COLUMNS = [
    "rel_income",
    "lednor",
    "own_unemployment",
    "other_unemployment",
    "short",
    "medium",
    "network",
    "lagged_dependent",
    "other_rates",
    "trend",
]
AGE_LABELS = dict(enumerate(bands.labels("age_group_a"), start=1))


def _lag(lag: int) -> str:
    return f"Y({'−' if lag else ''}{abs(lag)})"


def table_4_12(spec: Spec) -> pd.DataFrame:
    """One row per equation (group x sex x age); a cell is 'Y(−k)' per lag the regressor enters with,
    'n/a' for own-area unemployment where the group has no unemployment series (group 3)."""
    rows = []
    for s in sorted(spec.systems, key=lambda x: (x.group, [3, 5, 1].index(x.ages[0]))):
        for key, eq in s.equations.items():
            cells: dict[str, list[str]] = {c: [] for c in COLUMNS}
            for term in eq.terms:
                for _, a in term.atoms:
                    if a.kind == "lnRELINNT":
                        col = "rel_income"
                    elif a.kind == "LED":
                        col = (
                            "lednor"
                            if a.series == "LEDNOR"
                            else "own_unemployment"
                            if a.series == f"LED{s.group}"
                            else "other_unemployment"
                        )
                    elif a.kind in ("ANKO", "ANME"):
                        col = "short" if a.kind == "ANKO" else "medium"
                    elif a.kind == "lnBEH":
                        col = "network"
                    elif a.kind == "Trend":
                        cells["trend"].append("Y")
                        continue
                    elif a.kind == "EMI":
                        if a.cell == key:
                            col = "lagged_dependent"
                        else:
                            cells["other_rates"].append(f"EMI_{a.cell}{_lag(a.lag)[1:]}")
                            continue
                    else:
                        continue
                    mark = _lag(a.lag) if a.kind in ("lnRELINNT", "LED", "EMI") else "Y"
                    if col == "other_unemployment":
                        mark = f"{mark} ({a.series})"
                    if mark not in cells[col]:
                        cells[col].append(mark)
            row = {
                "country_group": s.group,
                "sex": eq.sex,
                "age_group": AGE_LABELS[eq.age],
                "equation": eq.number,
                "table": s.table,
            }
            for c in COLUMNS:
                row[c] = ", ".join(cells[c])
            if f"LED{s.group}" not in MACRO_SERIES and not row["own_unemployment"]:
                row["own_unemployment"] = "n/a"
            rows.append(row)
    return pd.DataFrame(rows)
