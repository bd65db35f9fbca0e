"""Disclosure control and atomic publication of the report."""
from __future__ import annotations

import pandas as pd

from models_py.report import Exhibit, Report, publish, suppress_small_cells


def test_small_cells_are_suppressed_with_their_derived_values():
    df = pd.DataFrame({"year": [2000, 2001, 2002], "emigrations": [0, 3, 40], "population": [100, 200, 900],
                       "rate": [0.0, 1.5, 4.4]})
    out = suppress_small_cells(df, ["emigrations", "population"], min_count=5, value_columns=["rate"])
    assert out["suppressed"].tolist() == [False, True, False]
    assert out.loc[1, ["emigrations", "population", "rate"]].isna().all()
    assert out.loc[2, "rate"] == 4.4 and out.loc[0, "emigrations"] == 0


def test_detail_counts_are_suppressed_one_by_one():
    df = pd.DataFrame({"emigrations": [40, 40], "population": [900, 900], "admin": [2, 12], "rate": [4.4, 4.4]})
    out = suppress_small_cells(df, ["emigrations", "population"], 5, ["rate"], detail_columns=["admin"])
    assert out["suppressed"].tolist() == [False, False]
    assert pd.isna(out.loc[0, "admin"]) and out.loc[1, "admin"] == 12
    assert out["rate"].tolist() == [4.4, 4.4]


def _report(value: float) -> Report:
    return Report(title="t", exhibits=[Exhibit("x", "X", pd.DataFrame({"a": [value]}))])


def test_publish_swaps_latest_and_keeps_the_previous_report(tmp_path):
    first = publish(_report(1.0), tmp_path, "run-one-0000")
    first_target = (tmp_path / "latest").resolve()
    first_bytes = (first_target / "x.csv").read_bytes()
    publish(_report(2.0), tmp_path, "run-two-0000")
    assert (tmp_path / "latest").resolve() != first_target
    assert (first_target / "x.csv").read_bytes() == first_bytes  # old report untouched
    assert (tmp_path / "latest" / "x.csv").read_text().strip().endswith("2.0")
    assert first.name == "index.html"


def test_a_failure_while_writing_leaves_latest_untouched(tmp_path, monkeypatch):
    publish(_report(1.0), tmp_path, "run-one-0000")
    before = (tmp_path / "latest").resolve()
    snapshot = {p.name: p.read_bytes() for p in before.iterdir()}

    import models_py.report as report_module

    def broken(report, out_dir):
        out_dir.mkdir(parents=True)
        (out_dir / "x.csv").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(report_module, "write_report", broken)
    try:
        publish(_report(2.0), tmp_path, "run-two-0000")
    except OSError:
        pass
    assert (tmp_path / "latest").resolve() == before
    assert {p.name: p.read_bytes() for p in before.iterdir()} == snapshot


def test_cells_show_counts_as_integers_and_suppressed_values_as_empty():
    import numpy as np

    from models_py.report import format_cell, markdown_table

    # a count column with a suppressed cell is float in pandas; it must not print as 2.095e+04
    assert [format_cell(v) for v in (20950.0, np.float64(3.0), 0.47251, np.nan, None, 1990, True)] == \
        ["20950", "3", "0.4725", "", "", "1990", "True"]
    table = pd.DataFrame({"year": [1990, 1991], "population_jan1": [20950.0, np.nan]})
    assert markdown_table(table).splitlines()[2:] == ["| 1990 | 20950 |", "| 1991 |  |"]
