"""Publishing: disclosure control, the HTML report, and atomic publication.

A report is written into a staging folder and published by swapping the `latest` link in one
rename, so a failed or interrupted run never touches the last good report.
"""
from __future__ import annotations

import html
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd


def suppress_small_cells(df: pd.DataFrame, count_columns: list[str], min_count: int, value_columns: list[str],
                         detail_columns: list[str] = ()) -> pd.DataFrame:
    """Blank counts below `min_count` (but above zero) and the values derived from them.

    `count_columns` are the cell's numerator and denominator: if either is small, both and every
    `value_columns` entry (rates, shares) are blanked and `suppressed` is set. `detail_columns` are
    further counts (e.g. administrative emigrations within the cell): each small one is blanked on
    its own. Zero cells are not disclosive and stay visible.
    """
    out = df.copy()

    def is_small(column):
        return (out[column] > 0) & (out[column] < min_count)

    small = pd.Series(False, index=out.index)
    for column in count_columns:
        small |= is_small(column)
    out["suppressed"] = small
    for column in detail_columns:
        out[column] = out[column].astype("Float64").mask(small | is_small(column))
    for column in list(count_columns) + list(value_columns):
        out[column] = out[column].astype("Float64").mask(small)
    return out


@dataclass
class Exhibit:
    exhibit_id: str
    title: str
    table: pd.DataFrame
    note: str = ""
    figure_png: Path | None = None


@dataclass
class Report:
    title: str
    exhibits: list[Exhibit] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)


def _table_html(df: pd.DataFrame, max_rows: int = 60) -> str:
    shown = df.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False)
    )
    more = f"<p class='note'>{len(df) - max_rows} more rows in the CSV.</p>" if len(df) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}.note{color:#555;font-size:.9em}img{max-width:100%}dt{font-weight:600}
"""


def write_report(report: Report, out_dir: Path) -> Path:
    """Write index.html, one CSV per exhibit and the figures into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = []
    for ex in report.exhibits:
        csv_name = f"{ex.exhibit_id}.csv"
        ex.table.to_csv(out_dir / csv_name, index=False)
        figure = ""
        if ex.figure_png is not None and Path(ex.figure_png).exists():
            shutil.copy2(ex.figure_png, out_dir / Path(ex.figure_png).name)
            figure = f"<img src='{html.escape(Path(ex.figure_png).name)}' alt='{html.escape(ex.title)}'>"
        sections.append(
            f"<section id='{ex.exhibit_id}'><h2>{html.escape(ex.title)}</h2>{figure}"
            f"<p class='note'>{html.escape(ex.note)} Table: <a href='{csv_name}'>{csv_name}</a></p>"
            f"{_table_html(ex.table)}</section>"
        )
    prov = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in report.provenance.items())
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(report.title)}</h1>"
        f"<dl>{prov}</dl>{''.join(sections)}</body></html>"
    )
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def publish(report: Report, reports_root: Path, run_id: str) -> Path:
    """Write the report beside the published ones, then swap `latest` to it atomically."""
    reports_root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    final = reports_root / "runs" / f"{stamp}-{run_id[:8]}"
    staging = reports_root / "runs" / f".staging-{run_id}"
    if staging.exists():
        shutil.rmtree(staging)
    write_report(report, staging)
    staging.rename(final)
    link_tmp = reports_root / f".latest-{run_id}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    link_tmp.symlink_to(final.relative_to(reports_root))
    os.replace(link_tmp, reports_root / "latest")  # rename(2) is atomic
    return reports_root / "latest" / "index.html"


def format_cell(v, digits: int = 4) -> str:
    """A table cell as shown: empty when missing (suppressed), whole numbers as integers (a count
    held as a float because a column has suppressed cells), other floats to `digits` significant digits."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.{digits}g}"
    return str(v)


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A small Markdown table for Dagster metadata (aggregates only)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "\n".join("| " + " | ".join(format_cell(v, digits) for v in row) + " |" for row in df.itertuples(index=False))
