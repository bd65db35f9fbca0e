"""The published site: layout, manifest, workbook, atomic publication."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from models_py.exhibits.registry import Exhibit
from models_py.publish import site as site_module
from models_py.publish.site import PublishedExhibit, Site, format_cell, markdown_table, publish_site, write_site


def _site(value: float = 1.0) -> Site:
    table = pd.DataFrame(
        {
            "year": [2000, 2001, 2002],
            "group": ["G1", "G1", "G1"],
            "persons": [120.0, np.nan, 40.0],
            "rate": [value, np.nan, 2.5],
        }
    )
    suppressed = pd.DataFrame(
        {"year": [False] * 3, "group": [False] * 3, "persons": [False, True, False], "rate": [False, True, False]}
    )
    figure = Exhibit(
        id="c_fig_1",
        study="c",
        title="A line",
        source="m",
        columns=list(table.columns),
        number="Figure 1",
        figure={"kind": "line", "x": "year", "y": "rate", "series": "group"},
    )
    plain = Exhibit(id="c_tab_a1", study="c", title="A table", source="m", columns=list(table.columns))
    card = pd.DataFrame(
        {
            "study": ["C"],
            "claim": ["c_x"],
            "source": ["§6"],
            "statement": ["s"],
            "published": ["1"],
            "pipeline": ["1"],
            "status": ["holds"],
            "reason": [""],
        }
    )
    record = pd.DataFrame({"exhibit_id": ["c_fig_1", "c_tab_a1"], "status": ["pass", "pass"]})
    return Site(
        title="T",
        studies={"c": "Study C", "pipeline": "Data quality"},
        exhibits=[PublishedExhibit(figure, table, suppressed), PublishedExhibit(plain, table, suppressed)],
        scorecard=card,
        disclosure_record=record,
        provenance={"run": "r"},
    )


def test_layout_manifest_and_workbook(tmp_path):
    index = write_site(_site(), tmp_path)
    assert index == tmp_path / "index.html"
    for name in (
        "index.html",
        "study_c.html",
        "quality.html",
        "scorecard.html",
        "disclosure.html",
        "workbook.xlsx",
        "exhibits/c_fig_1.csv",
        "exhibits/c_fig_1.parquet",
        "figures/c_fig_1.svg",
        "figures/c_fig_1.png",
        "exhibits/c_tab_a1.csv",
    ):
        assert (tmp_path / name).exists(), name
    assert not (tmp_path / "figures" / "c_tab_a1.svg").exists()  # a table-only exhibit has no figure
    manifest = json.loads((tmp_path / "manifest.json").read_text())["files"]
    listed = {f["file"]: f for f in manifest}
    assert listed["exhibits/c_fig_1.csv"]["rows"] == 3 and listed["exhibits/c_fig_1.csv"]["exhibit"] == "c_fig_1"
    for f in manifest:
        assert hashlib.sha256((tmp_path / f["file"]).read_bytes()).hexdigest() == f["sha256"]
    book = load_workbook(tmp_path / "workbook.xlsx", read_only=True)
    assert book.sheetnames == ["contents", "c_fig_1", "c_tab_a1"]
    cells = [row for row in book["c_fig_1"].iter_rows(values_only=True)]
    assert cells[2][2] == ":" and cells[1][2] == "120"  # suppressed prints as ':' (policy R2)
    page = (tmp_path / "study_c.html").read_text()
    assert "Figure 1. A line" in page and "figures/c_fig_1.svg" in page and ">:<" in page
    assert "2 exhibits published, 0 withheld" in " ".join((tmp_path / "index.html").read_text().split())


def test_publish_swaps_latest_and_keeps_the_previous_report(tmp_path):
    publish_site(_site(1.0), tmp_path, "run-one-0000")
    first_target = (tmp_path / "latest").resolve()
    first_bytes = (first_target / "exhibits" / "c_fig_1.csv").read_bytes()
    publish_site(_site(2.0), tmp_path, "run-two-0000")
    assert (tmp_path / "latest").resolve() != first_target
    assert (first_target / "exhibits" / "c_fig_1.csv").read_bytes() == first_bytes  # old report untouched
    assert "2.0" in (tmp_path / "latest" / "exhibits" / "c_fig_1.csv").read_text()


def test_a_failure_while_writing_leaves_latest_untouched(tmp_path, monkeypatch):
    publish_site(_site(1.0), tmp_path, "run-one-0000")
    before = (tmp_path / "latest").resolve()
    snapshot = {p: p.read_bytes() for p in before.rglob("*") if p.is_file()}

    def broken(site, out_dir, cache=None):
        out_dir.mkdir(parents=True)
        (out_dir / "index.html").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(site_module, "write_site", broken)
    with pytest.raises(OSError):
        publish_site(_site(2.0), tmp_path, "run-two-0000")
    assert (tmp_path / "latest").resolve() == before
    assert {p: p.read_bytes() for p in before.rglob("*") if p.is_file()} == snapshot


def test_unchanged_exhibits_come_from_the_render_cache_and_a_changed_one_is_drawn_again(tmp_path, monkeypatch):
    drawn = []
    real_draw = site_module.draw

    def counting_draw(df, exhibit, out_dir):
        drawn.append(exhibit.id)
        return real_draw(df, exhibit, out_dir)

    monkeypatch.setattr(site_module, "draw", counting_draw)
    first = _site(1.0)
    publish_site(first, tmp_path, "run-one-0000")
    assert drawn == ["c_fig_1", "c_tab_a1"] and first.render_counts == {"drawn": 2, "from_cache": 0}
    one = (tmp_path / "latest").resolve()

    again = _site(1.0)
    publish_site(again, tmp_path, "run-two-0000")
    two = (tmp_path / "latest").resolve()
    assert drawn == ["c_fig_1", "c_tab_a1"] and again.render_counts == {"drawn": 0, "from_cache": 2}
    for name in ("figures/c_fig_1.svg", "figures/c_fig_1.png", "study_c.html"):  # the same report, byte for byte
        assert (two / name).read_bytes() == (one / name).read_bytes(), name
    manifest = json.loads((two / "manifest.json").read_text())["files"]
    assert {"figures/c_fig_1.svg", "figures/c_fig_1.png"} <= {f["file"] for f in manifest}

    # a new value in the figure's table: that exhibit alone is drawn again, and shows the new value
    changed = _site(1.0)
    changed.exhibits[0].table = changed.exhibits[0].table.copy()  # _site's two exhibits share one frame
    changed.exhibits[0].table.loc[0, "rate"] = 7.25
    publish_site(changed, tmp_path, "run-three-000")
    assert drawn[2:] == ["c_fig_1"] and changed.render_counts == {"drawn": 1, "from_cache": 1}
    assert "7.25" in (tmp_path / "latest" / "study_c.html").read_text()
    # so is a suppression that changes, with the same values
    masked = _site(1.0)
    masked.exhibits[0].table = changed.exhibits[0].table  # as the last report
    masked.exhibits[1].suppressed = masked.exhibits[1].suppressed.copy()
    masked.exhibits[1].suppressed.loc[0, "rate"] = True
    publish_site(masked, tmp_path, "run-four-0000")
    assert drawn[3:] == ["c_tab_a1"]
    # entries no exhibit of the latest report uses are gone
    assert len(list((tmp_path / site_module.RENDER_CACHE_DIR).iterdir())) == 2


def test_cells_show_counts_as_integers_and_missing_as_empty():
    # a count column with a missing cell is float in pandas; it must not print as 2.095e+04
    # a modelled number of emigrants (Table 4.11) must not print as 1.497e+04 either
    values = (20950.0, np.float64(3.0), 0.47251, np.nan, None, 1990, True, 14968.7, -1234.56, 0.00001234)
    assert [format_cell(v) for v in values] == [
        "20950",
        "3",
        "0.4725",
        "",
        "",
        "1990",
        "yes",
        "14970",
        "-1235",
        "1.234e-05",
    ]
    table = pd.DataFrame({"year": [1990, 1991], "population_jan1": [20950.0, np.nan]})
    assert markdown_table(table).splitlines()[2:] == ["| 1990 | 20950 |", "| 1991 |  |"]
