"""The fit key of models_py.studies.fit_reuse: what changes it and what does not."""

from __future__ import annotations

import duckdb

from models_py.studies import fit_reuse


def _con():
    con = duckdb.connect()
    con.execute("create schema models")
    con.execute("create table models.p as select range as person_id, range % 3 as y, range * 0.5 as inc from range(50)")
    return con


def test_the_fingerprint_sees_values_rows_duplicates_and_types_but_not_order():
    con = _con()
    base = fit_reuse.table_fingerprint(con, "models.p")
    con.execute("create or replace table models.p as select * from models.p order by person_id desc")
    assert fit_reuse.table_fingerprint(con, "models.p") == base  # the same rows in another order
    changes = [
        "update models.p set y = 2 where person_id = 7",
        "insert into models.p select * from models.p where person_id = 3",  # a duplicated row
        "delete from models.p where person_id = 3",
        "alter table models.p alter inc type float",
    ]
    seen = {base}
    for change in changes:
        con.execute(change)
        fingerprint = fit_reuse.table_fingerprint(con, "models.p")
        assert fingerprint not in seen, change
        seen.add(fingerprint)


def test_stored_results_match_only_the_recorded_key_with_every_table_present():
    con = _con()
    key = fit_reuse.fit_key(con, ["models.p"], "code-1", {"min_persons": 10})
    assert key == fit_reuse.fit_key(con, ["models.p"], "code-1", {"min_persons": 10})
    assert key != fit_reuse.fit_key(con, ["models.p"], "code-2", {"min_persons": 10})
    assert key != fit_reuse.fit_key(con, ["models.p"], "code-1", {"min_persons": 11})
    assert not fit_reuse.stored_results_match(con, "m", key, ["models.p"])  # nothing recorded
    fit_reuse.record_key(con, "m", key)
    assert fit_reuse.stored_results_match(con, "m", key, ["models.p"])
    assert not fit_reuse.stored_results_match(con, "m", "another", ["models.p"])
    assert not fit_reuse.stored_results_match(con, "m", key, ["models.p", "models.gone"])
    fit_reuse.forget(con, "m")
    assert not fit_reuse.stored_results_match(con, "m", key, ["models.p"])
