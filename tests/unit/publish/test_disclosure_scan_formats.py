"""The folder scan catches each kind of violation in each format it reads (HTML, CSV, Parquet, XLSX, SVG,
manifest.json), and the renderers' own references and decimal fractions are not mistaken for ids."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from models_py.publish.disclosure import scan_published_folder

CLEAN = pd.DataFrame({"year": [2001, 2002], "persons": [0, 40], "population": [400, 500], "rate_pct": [0.0, 10.0]})
PLANTS = {
    "count": (CLEAN.assign(persons=[0, 4]), "persons", "R2 count 1-9"),
    "rate": (CLEAN.assign(rate_pct=[0.0, 1.0]), "rate_pct", "R3 rate implies a count 1-9"),  # 1 % of 500 = 5
    "id": (CLEAN.assign(year=["2001", "P0000012345"]), "year", "R12 id-shaped string"),
}
DECLARED = {"counts": ["persons", "population"], "rates": {"rate_pct": ["population", 100]}}


def _write(frame: pd.DataFrame, fmt: str, root):
    if fmt == "csv":
        frame.to_csv(root / "t.csv", index=False)
        return "t.csv", ""
    if fmt == "parquet":
        frame.astype({"year": str}).to_parquet(root / "t.parquet", index=False)
        return "t.parquet", ""
    if fmt == "xlsx":
        frame.to_excel(root / "t.xlsx", sheet_name="s", index=False)
        return "t.xlsx", "s: "
    rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in frame.itertuples(index=False))
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in frame.columns) + "</tr>"
    (root / "t.html").write_text(f"<html><body><table>{head}{rows}</table></body></html>", encoding="utf-8")
    return "t.html", "table 1: "


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "html"])
@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_tables_in_every_format(tmp_path, fmt, kind):
    clean_name, _ = _write(CLEAN, fmt, tmp_path)
    assert scan_published_folder(tmp_path, {clean_name: DECLARED}) == []
    frame, column, rule = PLANTS[kind]
    name, prefix = _write(frame, fmt, tmp_path)
    found = {(f.file, f.column, f.rule) for f in scan_published_folder(tmp_path, {name: DECLARED})}
    assert found == {(name, f"{prefix}{column}", rule)}


def test_svg_and_manifest(tmp_path):
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><clipPath id="p4375050084"><rect/></clipPath></defs>'
        '<g clip-path="url(#p4375050084)"><text>0.06021370311390397</text></g></svg>'
    )
    (tmp_path / "f.svg").write_text(svg, encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps({"files": [{"sha256": "ab" * 32, "rows": 3}], "persons": 0}))
    assert scan_published_folder(tmp_path) == []  # matplotlib's clip ids and a decimal fraction are not ids
    (tmp_path / "f.svg").write_text(svg.replace("<text>0.06", "<text>P0000012345 0.06"), encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps({"files": [{"exhibit": "12345678901"}], "persons": 3}))
    found = {(f.file, f.column, f.rule) for f in scan_published_folder(tmp_path)}
    assert found == {
        ("f.svg", "text", "R12 id-shaped string"),
        ("manifest.json", "exhibit", "R12 id-shaped string"),
        ("manifest.json", "persons", "R2 count 1-9"),
    }


def test_columns_counting_no_persons_are_not_read_as_counts(tmp_path):
    pd.DataFrame({"variable": ["EMI"], "n_series": [4], "n_persons": [4]}).to_csv(tmp_path / "t.csv", index=False)
    found = {(f.column, f.rule) for f in scan_published_folder(tmp_path)}
    assert found == {("n_persons", "R2 count 1-9")}
