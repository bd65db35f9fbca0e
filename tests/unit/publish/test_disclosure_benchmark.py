"""Audit time on a study-sized family: 34 years x 11 counties x 2 sexes x 5 groups, national / county / pooled
tables sharing cells, emigrants and population with a rate (slow: run with make test PYTEST_ARGS=)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from disclosure_synthetic import atoms, study_tables

from models_py.publish.disclosure import protect


@pytest.mark.slow
def test_audit_time_on_a_study_family():
    tables = study_tables(atoms(seed=1))
    t0 = time.perf_counter()
    out = protect(tables)
    seconds = time.perf_counter() - t0
    fam = out.families[0]
    print(
        f"disclosure benchmark: {fam['cells']} cells, {fam['primary']} primary, {fam['secondary']} secondary, "
        f"{fam['lps']} LPs, {fam['rounds']} rounds, {seconds:.1f} s"
    )
    assert {r.status for r in out.records} <= {"pass", "review"}
    for t in tables:
        f = out.frames[t.exhibit_id]
        for c in t.counts:
            shown = f.loc[~f[f"{c}_suppressed"], c].to_numpy()
            assert ((shown == 0) | (shown >= 10)).all()
            assert np.array_equal(shown, t.frame.loc[~f[f"{c}_suppressed"], c].to_numpy())
    assert fam["exact_passed"] and fam["interval_passed"] and fam["singleton_passed"]
