"""The published report as a folder: pages per study, tidy tables, figures, a workbook and a manifest.

Layout (under the folder that `latest` points to):
    index.html            contents, provenance, scorecard summary
    study_a.html ...      one page per study, one section per exhibit (figure, table, downloads)
    quality.html          the pipeline's own exhibits (data quality, revisions)
    scorecard.html        every published claim beside the pipeline's value
    disclosure.html       the disclosure gate's record per exhibit
    exhibits/<id>.csv     tidy long table, and the same as .parquet
    figures/<id>.svg      where the study draws a figure, and the same as .png
    workbook.xlsx         a contents sheet and one sheet per exhibit
    manifest.json         every file with its exhibit id, source relation, row count and sha256
Tables are rendered by great_tables, pages by jinja2, the workbook by xlsxwriter. Only tables that passed the
disclosure gate reach this module.

Drawing and table rendering are most of a report's time (figures 20 s, tables 10-15 s at scale 0.1), and a new
register year leaves most exhibits as they were. `publish_site` keeps a render cache beside the published reports
(`<reports>/.render_cache/<key>/`): the key is a digest of the exhibit's definition, its published table and
suppression mask, and the rendering code and its libraries, so an exhibit is drawn again exactly when something
that shapes its figure or table changed. Entries no published exhibit uses are removed after each report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import great_tables
import jinja2
import matplotlib
import pandas as pd
from great_tables import GT

from models_py.exhibits import render
from models_py.exhibits.registry import Exhibit
from models_py.exhibits.render import draw

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
SUPPRESSED_MARK = ":"  # disclosure policy R2: a suppressed value prints as ':'
MAX_HTML_ROWS = 80


@dataclass
class PublishedExhibit:
    exhibit: Exhibit
    table: pd.DataFrame  # protected by the disclosure gate; suppressed cells are missing
    suppressed: pd.DataFrame | None = None  # same shape of booleans for the published columns (True = suppressed)
    gate_note: str = ""


@dataclass
class Site:
    title: str
    studies: dict[str, str]  # page key (a, b, c, pipeline) -> page title
    exhibits: list[PublishedExhibit]
    scorecard: pd.DataFrame
    disclosure_record: pd.DataFrame
    provenance: dict[str, str] = field(default_factory=dict)
    withheld: list[tuple[Exhibit, str]] = field(default_factory=list)  # not published, with the gate's reason
    render_counts: dict[str, int] = field(default_factory=dict)  # exhibits drawn and taken from the render cache


def _display(df: pd.DataFrame, suppressed: pd.DataFrame | None) -> pd.DataFrame:
    """Strings as a reader sees them: ':' for a suppressed cell, integers without decimals, 4 significant digits
    (without an exponent for numbers of 10,000 and more)."""
    shown = pd.DataFrame(index=df.index)
    for column in df.columns:
        values = df[column]
        mask = suppressed[column] if suppressed is not None and column in suppressed.columns else None
        shown[column] = [
            SUPPRESSED_MARK if (mask is not None and bool(mask.iloc[i])) else format_cell(v)
            for i, v in enumerate(values)
        ]
    return shown


def format_cell(v, digits: int = 4) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        if 10**digits <= abs(v) < 1e15:  # a large modelled number (14,970.3 emigrants): no exponent, same digits
            return f"{float(f'{v:.{digits}g}'):.0f}"
        return f"{v:.{digits}g}"
    return str(v)


def table_html(df: pd.DataFrame, suppressed: pd.DataFrame | None = None, max_rows: int = MAX_HTML_ROWS) -> str:
    shown = _display(df.head(max_rows), None if suppressed is None else suppressed.head(max_rows))
    return GT(shown).opt_stylize(style=1).tab_options(table_font_size="12px").as_raw_html(inline_css=False)


def _code_digest() -> str:
    """What shapes a rendered figure or table besides its data: this module, the drawing code, the registry's
    files (labels, figure specs) and the libraries' versions."""
    digest = hashlib.sha256(f"{great_tables.__version__}|{matplotlib.__version__}|{pd.__version__}".encode())
    exhibits_dir = Path(render.__file__).parent
    for path in [Path(__file__), Path(render.__file__), *sorted(exhibits_dir.glob("*.yaml"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def render_key(p: PublishedExhibit, code: str) -> str:
    """The render cache's key of one exhibit: its definition, published table (values and types), suppression
    mask, and the code digest."""
    digest = hashlib.sha256(code.encode())
    digest.update(repr(asdict(p.exhibit)).encode())
    for frame in (p.table, p.suppressed):
        if frame is None:
            digest.update(b"none")
            continue
        digest.update(repr(list(zip(frame.columns, map(str, frame.dtypes)))).encode())
        digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()[:32]


class RenderCache:
    """Rendered figures (svg, png) and table HTML per render key, in a folder that outlives the run's report."""

    def __init__(self, root: Path | None):
        self.root, self.used, self.hits, self.misses = root, set(), 0, 0
        self.code = _code_digest() if root is not None else ""

    def render(self, p: PublishedExhibit, figures_dir: Path) -> tuple[str, list[Path]]:
        """(table HTML, figure files written into figures_dir): copied from the cache, or rendered and stored."""
        if self.root is None:
            return table_html(p.table, p.suppressed), draw(p.table, p.exhibit, figures_dir)
        key = render_key(p, self.code)
        self.used.add(key)
        entry = self.root / key
        html_file = entry / "table.html"
        if html_file.exists():
            self.hits += 1
            figures = []
            for cached in sorted(entry.glob(f"{p.exhibit.id}.*")):
                figures.append(figures_dir / cached.name)
                shutil.copyfile(cached, figures[-1])
            figures.sort(key=lambda f: f.suffix != ".svg")  # as draw() returns them: svg, then png
            return html_file.read_text(encoding="utf-8"), figures
        self.misses += 1
        html, figures = table_html(p.table, p.suppressed), draw(p.table, p.exhibit, figures_dir)
        staging = self.root / f".{key}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for f in figures:
            shutil.copyfile(f, staging / f.name)
        (staging / "table.html").write_text(html, encoding="utf-8")  # last: its presence marks a whole entry
        if entry.exists():
            shutil.rmtree(staging)  # another writer stored the same key
        else:
            staging.rename(entry)
        return html, figures

    def prune(self) -> None:
        """Remove the entries (and leftovers of interrupted writes) that this report did not use."""
        if self.root is None or not self.root.exists():
            return
        for entry in self.root.iterdir():
            if entry.name not in self.used:
                shutil.rmtree(entry, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _workbook(path: Path, exhibits: list[PublishedExhibit]) -> None:
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        contents = pd.DataFrame(
            {
                "sheet": [p.exhibit.id[:31] for p in exhibits],
                "exhibit": [p.exhibit.heading for p in exhibits],
                "source": [p.exhibit.source for p in exhibits],
                "rows": [len(p.table) for p in exhibits],
            }
        )
        contents.to_excel(writer, sheet_name="contents", index=False)
        for p in exhibits:
            _display(p.table, p.suppressed).to_excel(writer, sheet_name=p.exhibit.id[:31], index=False)


def write_site(site: Site, out_dir: Path, cache: RenderCache | None = None) -> Path:
    """Write the whole report into out_dir; returns index.html. With a cache, unchanged exhibits are not drawn
    again."""
    cache = cache or RenderCache(None)
    exhibits_dir, figures_dir = out_dir / "exhibits", out_dir / "figures"
    exhibits_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    files: list[dict] = []

    def record(path: Path, exhibit_id: str = "", source: str = "", rows: int | None = None) -> str:
        files.append(
            {
                "file": str(path.relative_to(out_dir)),
                "exhibit": exhibit_id,
                "source": source,
                "rows": rows,
                "sha256": _sha256(path),
            }
        )
        return str(path.relative_to(out_dir))

    sections: dict[str, list[dict]] = {key: [] for key in site.studies}
    for p in site.exhibits:
        e = p.exhibit
        csv_path, parquet_path = exhibits_dir / f"{e.id}.csv", exhibits_dir / f"{e.id}.parquet"
        p.table.to_csv(csv_path, index=False)
        p.table.to_parquet(parquet_path, index=False)
        links = {
            "csv": record(csv_path, e.id, e.source, len(p.table)),
            "parquet": record(parquet_path, e.id, e.source, len(p.table)),
        }
        figure = None
        html, figures = cache.render(p, figures_dir)
        if figures:
            svg, png = figures
            figure = record(svg, e.id, e.source)
            links["png"] = record(png, e.id, e.source)
        sections.setdefault(e.study, []).append(
            {
                "id": e.id,
                "heading": e.heading,
                "note": e.note,
                "gate_note": p.gate_note,
                "figure": figure,
                "links": links,
                "rows": len(p.table),
                "table": html,
                "more_rows": max(len(p.table) - MAX_HTML_ROWS, 0),
            }
        )

    pages = {key: ("quality.html" if key == "pipeline" else f"study_{key}.html") for key in site.studies}
    nav = (
        [{"href": "index.html", "title": "Contents"}]
        + [{"href": pages[k], "title": t} for k, t in site.studies.items()]
        + [{"href": "scorecard.html", "title": "Scorecard"}, {"href": "disclosure.html", "title": "Disclosure control"}]
    )
    common = {"site_title": site.title, "nav": nav}
    withheld: dict[str, list[dict]] = {}
    for exhibit, reason in site.withheld:
        withheld.setdefault(exhibit.study, []).append({"id": exhibit.id, "heading": exhibit.heading, "reason": reason})
    for key, title in site.studies.items():
        html = TEMPLATES.get_template("study.html.j2").render(
            title=title, sections=sections.get(key, []), withheld=withheld.get(key, []), **common
        )
        path = out_dir / pages[key]
        path.write_text(html, encoding="utf-8")
        record(path)
    table_pages = {  # a whole table on a page of its own: file, title, intro, frame
        "scorecard": (
            "Reproduction scorecard",
            "Each published number or stated direction of the studies beside "
            "the pipeline's value, computed from the published (disclosure-protected) exhibits.",
            site.scorecard,
        ),
        "disclosure": (
            "Disclosure control",
            "The disclosure gate's record per published table: the rules applied, "
            "the cells suppressed (primary and secondary) and the result of the exact and interval audits.",
            site.disclosure_record,
        ),
    }
    for name, (title, intro, frame) in table_pages.items():
        html = TEMPLATES.get_template("table_page.html.j2").render(
            title=title, intro=intro, table=table_html(frame, max_rows=10_000), **common
        )
        (out_dir / f"{name}.html").write_text(html, encoding="utf-8")
        record(out_dir / f"{name}.html")
    site.scorecard.to_csv(out_dir / "scorecard.csv", index=False)
    record(out_dir / "scorecard.csv")

    _workbook(out_dir / "workbook.xlsx", site.exhibits)
    record(out_dir / "workbook.xlsx")
    counts = site.scorecard["status"].value_counts().to_dict() if len(site.scorecard) else {}
    contents = [{"href": pages[k], "title": t, "exhibits": len(sections.get(k, []))} for k, t in site.studies.items()]
    index_html = TEMPLATES.get_template("index.html.j2").render(
        title=site.title,
        provenance=site.provenance,
        contents=contents,
        exhibit_count=len(site.exhibits),
        withheld_count=len(site.withheld),
        scorecard=counts,
        claims=len(site.scorecard),
        **common,
    )
    (out_dir / "index.html").write_text(index_html, encoding="utf-8")
    record(out_dir / "index.html")
    (out_dir / "manifest.json").write_text(json.dumps({"files": files}, indent=1), encoding="utf-8")
    return out_dir / "index.html"


RENDER_CACHE_DIR = ".render_cache"


def publish_site(site: Site, reports_root: Path, run_id: str) -> Path:
    """Write the report beside the published ones, then swap `latest` to it atomically (one rename)."""
    reports_root.mkdir(parents=True, exist_ok=True)
    cache = RenderCache(reports_root / RENDER_CACHE_DIR)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = reports_root / "runs" / f"{stamp}-{run_id[:8]}"
    staging = reports_root / "runs" / f".staging-{run_id}"
    if staging.exists():
        shutil.rmtree(staging)
    write_site(site, staging, cache)
    staging.rename(final)
    link_tmp = reports_root / f".latest-{run_id}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    link_tmp.symlink_to(final.relative_to(reports_root))
    os.replace(link_tmp, reports_root / "latest")  # rename(2) is atomic
    cache.prune()
    site.render_counts = {"drawn": cache.misses, "from_cache": cache.hits}
    return reports_root / "latest" / "index.html"


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A small Markdown table for Dagster metadata (aggregates only)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "\n".join(
        "| " + " | ".join(format_cell(v, digits) for v in row) + " |" for row in df.itertuples(index=False)
    )
