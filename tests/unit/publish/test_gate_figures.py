"""R10 figures: no point plots of microdata, histogram bins are declared counts, figures drawn from the
protected table only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.exhibits.registry import Exhibit
from models_py.publish import site
from models_py.publish.gate import protect_exhibits
from tests.helpers.exhibits import make_exhibit

COUNTS = {"family": "f", "dimensions": ["year"], "counts": {"persons": "persons"}}
FRAME = pd.DataFrame({"year": [2000, 2001, 2002, 2003], "persons": [120, 3, 0, 40], "income": [1.0, 2.0, 3.0, 4.0]})


def _exhibit(figure: dict, source: str = "m", disclosure=None, columns=None) -> Exhibit:
    return make_exhibit(
        "c_fig_x",
        source=source,
        columns=columns or ["year", "persons"],
        disclosure=COUNTS if disclosure is None else disclosure,
        figure=figure,
    )


def test_a_scatter_of_microdata_or_of_undeclared_values_blocks():
    scatter = {"kind": "scatter", "x": "year", "y": "income"}
    cases = [
        _exhibit(scatter, source="fct_person_year", columns=["year", "persons", "income"]),  # microdata relation
        _exhibit(scatter, disclosure={"family": "f", "dimensions": ["year"], "counts": {}}, columns=["year", "income"]),
        _exhibit(scatter, source="models.b_income_profile", disclosure={"model": "person"}, columns=["year", "income"]),
    ]
    for e in cases:
        gate = protect_exhibits([e], {"c_fig_x": FRAME}, model_verdicts={})
        assert gate.published == {}, e.source
        row = gate.record.iloc[0]
        assert row["status"] == "fail" and row["rules"] == "R10" and "no point scatterplots" in row["reason"]
    # a point per gated aggregate cell is allowed (each point is a published cell)
    gate = protect_exhibits([_exhibit({"kind": "scatter", "x": "year", "y": "persons"})], {"c_fig_x": FRAME})
    assert "c_fig_x" in gate.published


def test_histogram_bins_are_declared_counts_and_small_bins_are_suppressed():
    undeclared = _exhibit({"kind": "histogram", "x": "year", "y": "income"}, columns=["year", "persons", "income"])
    gate = protect_exhibits([undeclared], {"c_fig_x": FRAME})
    assert gate.published == {} and "histogram bins must be declared counts" in gate.record.iloc[0]["reason"]
    declared = _exhibit({"kind": "histogram", "x": "year", "y": "persons"})
    table, mask = protect_exhibits([declared], {"c_fig_x": FRAME}).published["c_fig_x"]
    heights = table["persons"].to_numpy(dtype=float)
    shown = heights[~mask["persons"].to_numpy()]
    assert ((shown == 0) | (shown >= 10)).all() and np.isnan(heights[1])  # every drawn bin is 0 or >= 10 persons


def test_the_report_draws_figures_from_the_protected_table_only(tmp_path, monkeypatch):
    e = _exhibit({"kind": "bar", "x": "year", "y": "persons"})
    table, mask = protect_exhibits([e], {"c_fig_x": FRAME}).published["c_fig_x"]
    drawn = []

    def capture(df, exhibit, out_dir):
        drawn.append(df.copy())
        paths = [out_dir / f"{exhibit.id}.svg", out_dir / f"{exhibit.id}.png"]
        for path in paths:
            path.write_text("figure")
        return paths

    monkeypatch.setattr(site, "draw", capture)
    report = site.Site(
        title="t",
        studies={"c": "Study C"},
        exhibits=[site.PublishedExhibit(e, table, mask)],
        scorecard=pd.DataFrame({"status": []}),
        disclosure_record=pd.DataFrame({"exhibit_id": []}),
    )
    site.write_site(report, tmp_path / "out")
    assert len(drawn) == 1
    pd.testing.assert_frame_equal(drawn[0], table)  # the very table the gate published
    assert 3 not in drawn[0]["persons"].tolist() and np.isnan(drawn[0]["persons"].iloc[1])
