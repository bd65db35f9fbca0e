"""When may the person-year panel be rebuilt from a window of years, and when must it be rebuilt whole?

The panel (dbt model fct_person_year) is built in one batch per year. A run that takes in register
years from Y on rebuilds the batches from Y - panel_lookback_years; that is only right if nothing
the earlier rows depend on changed. The earlier rows depend on the persons table (re-delivered in
full every year; the newest delivery wins), so a run is widened to a full rebuild when the person
attributes of people already in the panel changed. This module finds such a reason (plain SQL on
the warehouse, no Dagster); dagster_project/automation.py turns it into `dbt build` arguments.
"""

from __future__ import annotations

from models_py.contracts import delivered_contracts

PANEL_RELATION = ("marts", "fct_person_year")
EVENT_TIME_COLUMN = "period_start"


def _person_attribute_columns() -> list[str]:
    """Contract columns of persons that every panel row carries (death_date is handled apart)."""
    return [c.name for c in delivered_contracts()["persons"].columns if c.name not in ("person_id", "death_date")]


def full_rebuild_reason(con, run_id: str, run_years: list[int], registered: list[int], window_start: int) -> str | None:
    """Why the panel cannot be rebuilt from `window_start` on only (None: it can).

    - the panel is not (yet) a yearly-batched table;
    - this run revised persons rows of a delivery (rows changed or removed, raw.revision_log);
    - the run brings a newer persons delivery in which people of the previous newest delivery have
      other attributes, or a death date dated before the window (a death in the window only
      changes rows inside it).
    """
    schema, table = PANEL_RELATION
    batched = con.execute(
        "select count(*) from information_schema.columns where table_schema = ? and table_name = ? and column_name = ?",
        [schema, table, EVENT_TIME_COLUMN],
    ).fetchone()[0]
    if not batched:
        return f"{schema}.{table} is not a yearly-batched table yet"
    revised = con.execute(
        "select list(distinct register_year order by register_year) from raw.revision_log "
        "where run_id = ? and table_name = 'persons' and (rows_changed > 0 or rows_removed > 0)",
        [run_id],
    ).fetchone()[0]
    if revised:
        return f"this run revised persons rows of register year(s) {', '.join(map(str, revised))}"
    newest = max(registered)
    earlier = [y for y in registered if y < min(run_years)]
    if newest not in run_years or not earlier:
        return None
    previous = max(earlier)
    columns = _person_attribute_columns()
    new_attrs = ", ".join(f"n.{c}" for c in columns)
    old_attrs = ", ".join(f"o.{c}" for c in columns)
    changed = con.execute(
        f"""
        select count(*) from raw.persons as n
        join raw.persons as o on o.person_id = n.person_id
        where n.register_year = ? and o.register_year = ?
          and (({new_attrs}) is distinct from ({old_attrs})
               or (o.death_date is not null and o.death_date is distinct from n.death_date)
               or (o.death_date is null and extract(year from n.death_date) < ?))
        """,
        [newest, previous, window_start],
    ).fetchone()[0]
    if changed:
        return (
            f"the persons delivery of {newest} changes the attributes of {changed} people "
            f"already delivered in {previous}"
        )
    return None
