"""The exhibit registry: one declarative entry per published table or figure (see README.md beside this file).

Plain functions, no Dagster: load the registry files, check them against the relations that exist, and extract
an exhibit's tidy table from the warehouse. SQL is built only from registry text (trusted code, checked against
an identifier pattern); filter values are bound as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

REGISTRY_DIR = Path(__file__).resolve().parent
LABELS_FILE = REGISTRY_DIR / "labels.yaml"
STUDIES = ("a", "b", "c")
# Registry files in the order the report shows them; `pipeline` holds the pipeline's own exhibits.
REGISTRY_FILES = {"a": "study_a.yaml", "b": "study_b.yaml", "c": "study_c.yaml", "pipeline": "pipeline.yaml"}
ID_RULE = re.compile(r"^(?P<study>[abcp])_(?P<kind>fig|tab)_[a-z0-9]+(?:_[a-z0-9]+)*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FIGURE_KINDS = ("line", "bar", "barh", "stacked_bar", "grouped_bar")


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Exhibit:
    id: str
    study: str
    title: str
    source: str
    columns: list[str]
    number: str = ""
    note: str = ""
    where: dict[str, Any] = field(default_factory=dict)
    order_by: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    disclosure: dict[str, Any] = field(default_factory=dict)
    figure: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return "figure" if self.figure else "table"

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title

    @property
    def is_model_output(self) -> bool:
        """A `schema.table` written by a Python asset (models, quality, raw), not a dbt model."""
        return "." in self.source

    def declared_columns(self) -> set[str]:
        """The columns the disclosure declaration names: dimensions, counts and the persons behind them, rates with
        numerator and denominator, R7 magnitudes, attributes and summaries. The gate refuses to publish a column
        outside this set; `problems` checks that each is a column of the source."""
        d = self.disclosure or {}
        declared = set(d.get("dimensions") or []) | set(d.get("counts") or {}) | set((d.get("persons") or {}).values())
        declared |= {c for r in d.get("rates") or [] for c in (r["column"], r["numerator"], r["denominator"])}
        declared |= {m.get("column") for m in d.get("magnitudes") or []} - {None}
        return declared | set(d.get("attributes") or []) | set(d.get("summaries") or [])

    def rule_inputs(self) -> list[str]:
        """Unpublished columns the disclosure gate needs (R7: persons behind a magnitude, its two largest
        contributions); extracted beside the published columns, dropped by the gate."""
        out = []
        for m in (self.disclosure or {}).get("magnitudes") or []:
            contributions = m.get("contributions")
            for column in [m.get("persons"), *(contributions if isinstance(contributions, list) else [])]:
                if column and column not in self.columns and column not in out:
                    out.append(column)
        return out

    def published_columns(self) -> list[str]:
        """Columns as published: each labelled code column is followed by its label."""
        out = []
        for column in self.columns:
            out.append(column)
            if column in self.labels:
                out.append(f"{column}_label")
        return out


def _exhibit(entry: dict, study: str, file: str) -> Exhibit:
    known = {f for f in Exhibit.__dataclass_fields__} - {"study"}
    unknown = set(entry) - known
    if unknown:
        raise RegistryError(f"{file}: exhibit {entry.get('id')!r} has unknown fields {sorted(unknown)}")
    for required in ("id", "title", "source", "columns"):
        if required not in entry:
            raise RegistryError(f"{file}: an exhibit lacks {required!r}: {entry.get('id', entry)}")
    return Exhibit(
        study=study, **{k: (v if v is not None else Exhibit.__dataclass_fields__[k].default) for k, v in entry.items()}
    )


def _expand(entry: dict, file: str) -> list[dict]:
    """An entry with `each: {column: c, labels: map}` stands for one exhibit per code of the label map: id
    `<id>_<code>`, title `<title>: <label>`, rows filtered to `c = code` (the column is constant there, so it is
    not published). Study B's sensitivity runs are one entry, one table per run."""
    each = entry.get("each")
    if each is None:
        return [entry]
    column, map_name = (each or {}).get("column"), (each or {}).get("labels")
    codes = load_labels().get(map_name)
    if not column or not codes:
        raise RegistryError(f"{file}: exhibit {entry.get('id')!r}: each needs a column and a label map in labels.yaml")
    if column in entry.get("columns", []):
        raise RegistryError(f"{file}: exhibit {entry.get('id')!r} publishes {column!r}, which each makes constant")
    base = {k: v for k, v in entry.items() if k != "each"}
    return [
        {
            **base,
            "id": f"{entry['id']}_{code}",
            "title": f"{entry['title']}: {label}",
            "where": {**(entry.get("where") or {}), column: code},
        }
        for code, label in codes.items()
    ]


@cache
def _load_file(study: str) -> tuple[Exhibit, ...]:
    path = REGISTRY_DIR / REGISTRY_FILES[study]
    if not path.exists():
        return ()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(
        _exhibit(e, study, path.name) for entry in doc.get("exhibits") or [] for e in _expand(entry, path.name)
    )


def study_title(study: str) -> str:
    path = REGISTRY_DIR / REGISTRY_FILES[study]
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return (doc or {}).get("title", f"Study {study.upper()}")


def load_registry(studies=tuple(REGISTRY_FILES)) -> list[Exhibit]:
    """Every registered exhibit of the given studies, in file order; ids must be unique."""
    exhibits = [e for s in studies for e in _load_file(s)]
    seen: set[str] = set()
    for e in exhibits:
        if e.id in seen:
            raise RegistryError(f"exhibit id {e.id!r} is registered twice")
        seen.add(e.id)
    return exhibits


@lru_cache(maxsize=1)
def load_labels() -> dict[str, dict]:
    """Label maps: name -> {code: label}, in display order. Codes are compared as strings."""
    if not LABELS_FILE.exists():
        return {}
    doc = yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8")) or {}
    return {name: {str(k): str(v) for k, v in (mapping or {}).items()} for name, mapping in doc.items()}


def problems(exhibits: list[Exhibit], relation_columns: dict[str, set[str]]) -> list[str]:
    """Everything wrong with the entries: id rule, unknown relation or column, label map, figure axes.

    `relation_columns` maps a source name (dbt model name, or models.<table>) to its columns.
    """
    labels = load_labels()
    found = []
    for e in exhibits:
        m = ID_RULE.match(e.id)
        if not m:
            found.append(f"{e.id}: id does not follow <study>_<fig|tab>_<number>")
        elif m["study"] != ("p" if e.study == "pipeline" else e.study):
            found.append(f"{e.id}: id's study letter does not match its registry file ({e.study})")
        if e.source not in relation_columns:
            found.append(f"{e.id}: source {e.source!r} does not exist")
            continue
        have = relation_columns[e.source]
        disclosure = e.disclosure or {}
        named = set(e.columns) | set(e.where) | set(e.order_by) | set(e.labels) | e.declared_columns()
        named |= set(disclosure.get("margins", {})) | set(e.rule_inputs())
        for column in sorted(named):
            if not IDENTIFIER.match(str(column)):
                found.append(f"{e.id}: {column!r} is not a plain column name")
            elif column not in have:
                found.append(f"{e.id}: column {column!r} is not in {e.source}")
        measures = set((disclosure.get("counts") or {}).values())
        for total, parts in (disclosure.get("sums") or {}).items():
            if total not in measures:
                found.append(f"{e.id}: sum of measure {total!r}, which none of its counts is")
            if not isinstance(parts, list) or len(parts) < 2:
                found.append(f"{e.id}: the sum of {total!r} needs a list of at least two part measures")
        for column in set(disclosure.get("counts", {})) | set(disclosure.get("dimensions", [])):
            if column in have and column not in e.columns:
                found.append(f"{e.id}: disclosure names {column!r}, which is not published")
        for label_map in e.labels.values():
            if label_map not in labels:
                found.append(f"{e.id}: label map {label_map!r} is not in labels.yaml")
        if e.figure:
            fig = e.figure
            if fig.get("kind") not in FIGURE_KINDS:
                found.append(f"{e.id}: figure kind {fig.get('kind')!r} is not one of {FIGURE_KINDS}")
            for axis in ("x", "y", "series"):
                if fig.get(axis) and fig[axis] not in e.columns:
                    found.append(f"{e.id}: figure {axis} {fig[axis]!r} is not a published column")
            band = fig.get("band")
            if band is not None and (fig.get("kind") != "line" or len(band) != 2 or set(band) - set(e.columns)):
                found.append(f"{e.id}: figure band {band!r} is not two published columns of a line figure")
            reference = fig.get("reference")
            if reference is not None and (fig.get("kind") != "line" or reference not in e.columns):
                found.append(f"{e.id}: figure reference {reference!r} is not a published column of a line figure")
            for panel in fig.get("panels") or []:
                for column in panel.get("where", {}):
                    if column not in e.columns:
                        found.append(f"{e.id}: panel filter on {column!r}, which is not published")
                for axis in ("y", "series"):  # a panel may draw its own measure
                    if panel.get(axis) and panel[axis] not in e.columns:
                        found.append(f"{e.id}: panel {axis} {panel[axis]!r} is not a published column")
    return found


def _quote(identifier: str) -> str:
    if not IDENTIFIER.match(identifier):
        raise RegistryError(f"{identifier!r} is not a plain identifier")
    return f'"{identifier}"'


def extract(con, exhibit: Exhibit, relation_of: Callable[[str], str]) -> pd.DataFrame:
    """The exhibit's tidy table from the warehouse (unprotected: for the disclosure gate only).

    `relation_of` resolves a dbt model name to its quoted relation; `schema.table` resolves directly.
    """
    if exhibit.is_model_output:
        schema, table = exhibit.source.split(".", 1)
        relation = f"{_quote(schema)}.{_quote(table)}"
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchall()[0][0]
        if not exists:  # a model not estimable on these data writes no table: the exhibit is empty
            return pd.DataFrame({c: pd.Series(dtype="object") for c in [*exhibit.columns, *exhibit.rule_inputs()]})
    else:
        relation = relation_of(exhibit.source)
    columns = ", ".join(_quote(c) for c in [*exhibit.columns, *exhibit.rule_inputs()])
    clauses, params = [], []
    for column, value in exhibit.where.items():
        values = value if isinstance(value, list) else [value]
        clauses.append(f"{_quote(column)} in ({', '.join('?' for _ in values)})")
        params.extend(values)
    sql = f"select {columns} from {relation}"
    if clauses:
        sql += " where " + " and ".join(clauses)
    if exhibit.order_by:
        sql += " order by " + ", ".join(f"{_quote(c)} nulls last" for c in exhibit.order_by)
    return con.execute(sql, params).df()


def category_order(exhibit: Exhibit, column: str, values) -> list:
    """Values of a coded column in label-map order (unlabelled values after, sorted)."""
    mapping = load_labels().get(exhibit.labels.get(column, ""), {})
    present = {str(v): v for v in pd.unique(pd.Series(values).dropna())}
    ordered = [present[k] for k in mapping if k in present]
    return ordered + sorted((v for k, v in present.items() if k not in mapping), key=str)


def add_labels(df: pd.DataFrame, exhibit: Exhibit) -> pd.DataFrame:
    """Add `<col>_label` beside each coded column; codes without a label keep their code as label."""
    labels = load_labels()
    out = df.copy()
    for column, map_name in exhibit.labels.items():
        codes = out[column].astype("string")
        out[f"{column}_label"] = codes.map(labels[map_name]).fillna(codes)
    return out[[c for c in exhibit.published_columns() if c in out.columns]]
