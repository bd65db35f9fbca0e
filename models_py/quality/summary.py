"""The data-quality summary per register year, from the warehouse (aggregates only).

`dq_summary(con)` returns a tidy frame, one row per (register_year, table, measure, rule):
- measures `delivered`, `accepted`, `quarantined` per table (rule "all"), from raw.ingest_log, and
  `quarantined` per rule (the first rule a quarantined row breaks, so the rules add up to the total);
- for migration_events: `emigrations`, `administrative_share` and `unknown_destination_share` of the
  emigrations registered in the year (unknown = country null or the setting unknown_country_code);
- `provisional` is true for the newest `provisional_years` register years (dbt var, the single home
  of the setting): counts for them still grow with late and administrative registrations.
`dq_summary_markdown(df)` renders one line per register year.
"""

from __future__ import annotations

import pandas as pd

from models_py.settings import setting

COLUMNS = ["register_year", "table", "measure", "rule", "value", "provisional"]


def _has(con, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?", [table]
        ).fetchone()[0]
    )


def dq_summary(con, provisional_years: int | None = None) -> pd.DataFrame:
    """Tidy data-quality summary per register year (see the module docstring)."""
    if not _has(con, "ingest_log"):
        return pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in zip(COLUMNS, ["int64", "str", "str", "str", "float64", "bool"])}
        )
    k = int(setting("provisional_years") if provisional_years is None else provisional_years)
    parts = [
        """select register_year, table_name as "table", m.measure, 'all' as rule,
                  cast(case m.measure when 'delivered' then delivered when 'accepted' then accepted
                       else quarantined end as double) as value
           from raw.ingest_log, (values ('delivered'), ('accepted'), ('quarantined')) m(measure)""",
    ]
    if _has(con, "quarantine"):
        parts.append(
            """select register_year, table_name, 'quarantined', rule_id, cast(count(*) as double)
               from raw.quarantine group by all"""
        )
    params = []
    if _has(con, "migration_events"):
        params.append(setting("unknown_country_code"))
        parts.append(
            """select register_year, 'migration_events', m.measure, 'all',
                      case m.measure when 'emigrations' then cast(n as double)
                           when 'administrative_share' then adm / nullif(n, 0)
                           else unknown / nullif(n, 0) end
               from (select register_year, count(*) as n,
                            count(*) filter (where registration_type = 'administrative') as adm,
                            count(*) filter (where country is null or country = ?) as unknown
                     from raw.migration_events where direction = 'out' group by register_year) e,
                    (values ('emigrations'), ('administrative_share'), ('unknown_destination_share')) m(measure)"""
        )
    df = con.execute(
        f"""with s as ({" union all ".join(parts)})
            select cast(register_year as bigint) as register_year, "table", measure, rule, value,
                   register_year > (select max(register_year) from raw.ingest_log) - {k} as provisional
            from s order by register_year, "table", measure, rule = 'all' desc, rule""",
        params,
    ).df()
    df.columns = COLUMNS
    return df


def _pct(x) -> str:
    return "-" if x is None or pd.isna(x) else f"{100 * x:.1f} %"


def dq_summary_wide(df: pd.DataFrame) -> pd.DataFrame:
    """One row per register year: rows delivered/accepted/quarantined (all tables), quarantine by
    rule, emigrations with their administrative and unknown-destination shares, provisional flag."""
    columns = [
        "register_year",
        "delivered",
        "accepted",
        "quarantined",
        "quarantined_by_rule",
        "emigrations",
        "administrative_share",
        "unknown_destination_share",
        "provisional",
    ]
    rows = []
    for year, g in df.groupby("register_year", sort=True):
        counts = g[(g["rule"] == "all") & g["measure"].isin(["delivered", "accepted", "quarantined"])]
        total = counts.groupby("measure")["value"].sum()
        by_rule = g[(g["measure"] == "quarantined") & (g["rule"] != "all")]
        ev = g[g["table"] == "migration_events"].set_index("measure")["value"]
        rows.append(
            {
                "register_year": int(year),
                "delivered": int(total.get("delivered", 0)),
                "accepted": int(total.get("accepted", 0)),
                "quarantined": int(total.get("quarantined", 0)),
                "quarantined_by_rule": ", ".join(f"{r.table}.{r.rule}: {int(r.value)}" for r in by_rule.itertuples())
                or "-",
                "emigrations": ev.get("emigrations"),
                "administrative_share": ev.get("administrative_share"),
                "unknown_destination_share": ev.get("unknown_destination_share"),
                "provisional": bool(g["provisional"].iloc[0]),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def dq_summary_markdown(df: pd.DataFrame) -> str:
    """The wide summary as a Markdown table (Dagster metadata)."""
    header = (
        "| register year | delivered | accepted | quarantined | quarantined by rule | emigrations "
        "| administrative | unknown destination | provisional |\n|---|---|---|---|---|---|---|---|---|"
    )
    if df.empty:
        return header + "\n| (no deliveries ingested) | | | | | | | | |"
    lines = [header]
    for r in dq_summary_wide(df).itertuples(index=False):
        emig = "-" if r.emigrations is None or pd.isna(r.emigrations) else int(r.emigrations)
        lines.append(
            f"| {r.register_year} | {r.delivered} | {r.accepted} | {r.quarantined} | {r.quarantined_by_rule} | "
            f"{emig} | {_pct(r.administrative_share)} | {_pct(r.unknown_destination_share)} | "
            f"{'yes' if r.provisional else 'no'} |"
        )
    return "\n".join(lines)


def dq_publishable(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The summary as three tidy tables for the report (through the disclosure gate):
    per (register year, table) the rows delivered, accepted and quarantined; per (register year, table, rule)
    the rows quarantined by the first rule they break (they add up to the table's quarantined rows); and per
    register year the emigrations with their administrative and unknown-destination counts and shares."""
    counts = df[df["measure"].isin(["delivered", "accepted", "quarantined"])]
    totals = (
        counts[counts["rule"] == "all"]
        .pivot_table(index=["register_year", "table"], columns="measure", values="value", aggfunc="sum")
        .reset_index()
    )
    totals.columns.name = None
    for measure in ("delivered", "accepted", "quarantined"):
        totals[measure] = (totals[measure] if measure in totals else pd.Series(0.0, index=totals.index)).astype("Int64")
    totals = totals.rename(columns={"table": "table_name"})[
        ["register_year", "table_name", "delivered", "accepted", "quarantined"]
    ]
    by_rule = counts[(counts["rule"] != "all") & (counts["measure"] == "quarantined")].rename(
        columns={"table": "table_name", "value": "quarantined"}
    )[["register_year", "table_name", "rule", "quarantined"]]
    by_rule = by_rule.assign(quarantined=by_rule["quarantined"].astype("Int64")).reset_index(drop=True)
    ev = df[df["table"] == "migration_events"].pivot_table(
        index="register_year", columns="measure", values="value", aggfunc="first"
    )
    emig = pd.DataFrame({"register_year": ev.index.astype("int64")})
    shares = {"administrative": "administrative_share", "unknown_destination": "unknown_destination_share"}
    n = ev["emigrations"].to_numpy() if len(ev) else []
    emig["emigrations"] = pd.array(pd.Series(n).round(), dtype="Int64")
    for name, share in shares.items():
        values = ev[share].fillna(0).to_numpy() * n if len(ev) else []
        emig[f"{name}_emigrations"] = pd.array(pd.Series(values).round(), dtype="Int64")
    for share in shares.values():
        emig[share] = ev[share].to_numpy() if len(ev) else pd.Series(dtype="float64")
    provisional = df.groupby("register_year")["provisional"].first()
    emig["provisional"] = emig["register_year"].map(provisional).astype(bool)
    return totals.reset_index(drop=True), by_rule, emig
