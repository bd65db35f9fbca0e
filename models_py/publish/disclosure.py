"""Output disclosure control: the gate every published table, model and file passes (disclosure_policy.md).

Thresholds live once, in `disclosure_settings.yaml` beside this module (`load_settings()`).

Tables
------
Declare each published table with a `TableSpec`:

    TableSpec(exhibit_id, frame, dimensions=["year", "sex"], counts={"emigrants": "emigrants", "pop": "population"},
              rates=[RateSpec("rate", "emigrants", "pop")], margins={"sex": "all"}, family="study_a",
              persons={"person_years": "pop_persons"})

- `counts` maps a count column to a *measure name*. Within a family, cells with the same measure and the same
  dimension codes are one cell wherever they appear and are suppressed together. A dimension a table lacks is at
  its total (the code given by some table's `margins`), so a table by year and a table by year x sex share cells.
- `margins` maps a dimension to its total code (that row = sum of every other code of the dimension) or to a
  hierarchy `{parent: [children], ...}` (pooled periods, county -> region -> nation); its root is the total.
  With a single total code the codes printed anywhere in the family must be complete; when a code is never
  printed (women only derivable by subtraction), list the codes: {"sex": {"all": ["m", "f"]}}.
  A declared total need not be printed by the table: it states which relation holds.
- `persons` maps a count column that is not a head count (person-years) to the column of distinct persons behind
  it: R2 and R3 are judged on the persons, the audit treats the measure as continuous (lower bound 0). Persons
  columns not declared as counts are dropped from the protected frame.
- `RateSpec(column, numerator, denominator)` names columns of the same frame; a numerator or denominator not
  declared in `counts` is only a rule input and is dropped from the protected frame.

`protect(tables) -> GateResult` applies R2 (counts 1..9 primary, zeros published per R4), R3 (rate published iff
N >= 20 and (e == 0 or 10 <= e <= N-10), 3 significant digits; when e and N are both published counts, the
complement N-e in 0..9 is protected like a primary cell), builds each family's additive constraint system over
the lattice of its codes (unpublished cross-classifications are free cells >= 0), proposes secondary suppressions
(at least two unknowns in every relation, smallest useful value first) and audits per connected component:
R5a exact (scipy.linalg.null_space; no suppressed cell, nor an unpublished cell of 1..9, is a linear function of
published values) and R5b interval (scipy.optimize.linprog HiGHS; every protected quantity has a feasibility
interval >= 1 wide with every suppressed count >= 1, and again with each suppressed 1 fixed to 1: T5 singletons).
A failing item gets one more suppression in a relation it belongs to; this repeats until the audit passes or the
family is declared "fail". The result is deterministic (no randomness; ties broken by the cell key).

Convention for the renderer: in `GateResult.frames[exhibit_id]` a suppressed count or rate is NaN and the boolean
column `<col>_suppressed` is True: print ':' there. A table whose record is "fail" has frame None: do not publish.
`GateResult.records` has one `GateRecord` per table (`.as_dict()` for Dagster metadata / disclosure.html);
`GateResult.families` one summary dict per family (cells, relations, suppressions, audit time).

Models: `check_model(...)` applies R8 (person-level) or R9 (aggregate series) and returns a `GateRecord`.
Files: `scan_published_folder(path)` independently scans a published folder and returns `Finding`s (file, column,
rule; never the value). Messages and reasons never quote a cell value (R12).
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from scipy.linalg import null_space, qr
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

SETTINGS_PATH = Path(__file__).with_name("disclosure_settings.yaml")


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_settings(path: str | Path | None = None) -> dict:
    """The disclosure settings (a fresh copy: callers may override keys for a test)."""
    return json.loads(json.dumps(_load(str(path or SETTINGS_PATH))))


# ----------------------------------------------------------------------------------------------------------------
# declarations and results


def _passing_audit() -> dict:
    """An audit record before any relation is examined: everything passes, nothing is derivable."""
    return {
        "exact_passed": True,
        "interval_passed": True,
        "singleton_passed": True,
        "min_width": math.inf,
        "failing": [],
        "derived": [],
    }


@dataclass(frozen=True)
class RateSpec:
    column: str
    numerator: str
    denominator: str


@dataclass
class TableSpec:
    exhibit_id: str
    frame: pd.DataFrame
    dimensions: list[str]
    counts: dict[str, str]
    rates: list[RateSpec] = field(default_factory=list)
    margins: dict[str, object] = field(default_factory=dict)
    family: str = "default"
    persons: dict[str, str] | None = None
    # count column -> boolean column: cells another rule makes primary (R7's p%-rule, R11's earlier suppression);
    # the value is the rule's name suffix `<rule>` after a colon ("flags:R7"), default "R7"
    sensitive: dict[str, str] | None = None
    # count column -> boolean column: cells kept suppressed because an earlier release suppressed them (R11). They
    # are not sensitive now (no protection interval), but like every suppressed cell they may not be derived exactly:
    # a value published now could unlock the earlier release's primary cells through its margins.
    kept: dict[str, str] | None = None
    # within-row sums between measures of the family: total measure -> its part measures (emigrations = returns +
    # onward), for every combination of codes; a share of one part in the total is then protected with the parts
    sums: dict[str, list[str]] | None = None


@dataclass
class GateRecord:
    exhibit_id: str
    kind: str  # "table" | "model"
    status: str  # "pass" | "fail" | "review"
    reason: str = ""
    rules: list[str] = field(default_factory=list)
    family: str | None = None
    cells: int = 0
    primary: int = 0
    secondary: int = 0
    rates_suppressed: int = 0
    audit: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class GateResult:
    frames: dict[str, pd.DataFrame | None]
    records: list[GateRecord]
    families: list[dict]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(r.status == "pass" for r in self.records)

    def record(self, exhibit_id: str) -> GateRecord:
        return next(r for r in self.records if r.exhibit_id == exhibit_id)


class DisclosureError(ValueError):
    """A declaration the gate cannot audit (the message names table, column and rule, never a value)."""


# ----------------------------------------------------------------------------------------------------------------
# rules R2, R3


def _code(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        raise DisclosureError("a dimension value is missing")
    if isinstance(v, (np.integer,)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def round_significant(x: float, digits: int) -> float:
    if x is None or not np.isfinite(x) or x == 0:
        return x
    return float(f"{x:.{digits}g}")


def count_is_primary(persons: float, s: dict) -> bool:
    """R2: 1..min_persons-1 distinct persons (a zero is published, R4)."""
    return 0 < persons < s["min_persons"] or (persons == 0 and not s["publish_zeros"])


def rate_is_publishable(e: float, n: float, s: dict) -> bool:
    """R3 on the counts behind a rate (persons where declared)."""
    if not (np.isfinite(e) and np.isfinite(n)) or n < s["rate_min_denominator"]:
        return False
    return e == 0 or (s["rate_min_events"] <= e <= n - s["rate_min_complement"])


# ----------------------------------------------------------------------------------------------------------------
# the family: cells, lattice, relations


@dataclass
class _Margin:
    total: str
    groups: dict[str, tuple[str, ...]] | None  # None: total = sum of every other code


def _margin(dim: str, spec) -> _Margin:
    if isinstance(spec, dict):
        groups = {_code(p): tuple(_code(c) for c in ch) for p, ch in spec.items()}
        children = {c for ch in groups.values() for c in ch}
        roots = sorted(p for p in groups if p not in children)
        if len(roots) != 1:
            raise DisclosureError(f"margin of dimension {dim}: the hierarchy needs exactly one root")
        return _Margin(roots[0], dict(sorted(groups.items())))
    return _Margin(_code(spec), None)


class _Family:
    """All published cells of one family, the lattice of their codes and the additive relations among them."""

    def __init__(self, name: str, tables: list[tuple[int, TableSpec]], s: dict):
        self.name, self.s = name, s
        self.notes: list[str] = []
        self.margins: dict[str, _Margin] = {}
        for _, t in tables:
            for d, spec in (t.margins or {}).items():
                m = _margin(d, spec)
                old = self.margins.get(d)
                if old is None:
                    self.margins[d] = m
                elif old.total != m.total or (old.groups is None) != (m.groups is None):
                    raise DisclosureError(f"family {name}: tables declare different totals for dimension {d}")
                elif m.groups:
                    for p, ch in m.groups.items():
                        if old.groups.setdefault(p, ch) != ch:
                            raise DisclosureError(f"family {name}: tables declare different groups in dimension {d}")
        # measure -> its dimensions (union over the tables that carry it), sorted for a canonical key
        mdims: dict[str, set] = {}
        dimsets: dict[str, set] = {}
        for _, t in tables:
            for meas in t.counts.values():
                mdims.setdefault(meas, set()).update(t.dimensions)
                dimsets.setdefault(meas, set()).add(frozenset(t.dimensions))
        self.mdims = {m: sorted(d) for m, d in sorted(mdims.items())}
        self.keys: list[tuple] = []
        self.index: dict[tuple, int] = {}
        vals, pers, pub, cont = [], [], [], []
        self.occ: list[list[tuple[int, int, str]]] = []  # cell -> (table position, row position, column)
        self.table_cells: dict[int, dict[str, np.ndarray]] = {}

        def add(key, v, p, published, continuous):
            i = self.index.get(key)
            if i is None:
                i = self.index[key] = len(self.keys)
                self.keys.append(key)
                vals.append(v), pers.append(p), pub.append(published), cont.append(continuous)
                self.occ.append([])
            elif published:
                if not pub[i]:
                    vals[i], pers[i], pub[i], cont[i] = v, p, True, continuous
                elif not (np.isclose(vals[i], v) and np.isclose(pers[i], p)):
                    raise DisclosureError(f"family {name}: one cell of measure {key[0]} differs between tables")
            return i

        for ti, t in tables:
            f = t.frame
            missing = [c for c in [*t.dimensions, *t.counts, *(t.persons or {}).values()] if c not in f.columns]
            if missing:
                raise DisclosureError(f"table {t.exhibit_id}: declared columns missing: {', '.join(missing)}")
            codes = {d: [_code(v) for v in f[d].tolist()] for d in t.dimensions}
            self.table_cells[ti] = {}
            for col, meas in t.counts.items():
                v = pd.to_numeric(f[col], errors="coerce").to_numpy(dtype=float)
                pcol = (t.persons or {}).get(col)
                p = pd.to_numeric(f[pcol], errors="coerce").to_numpy(dtype=float) if pcol else v
                if not (np.isfinite(v).all() and np.isfinite(p).all()):
                    raise DisclosureError(f"table {t.exhibit_id}, column {col}: R2 needs every count")
                if (v < 0).any() or (p < 0).any():
                    raise DisclosureError(f"table {t.exhibit_id}, column {col}: negative counts")
                if not np.allclose(p, np.round(p)):
                    raise DisclosureError(f"table {t.exhibit_id}, column {pcol or col}: persons must be whole numbers")
                dims = self.mdims[meas]
                fixed = {}
                for d in dims:
                    if d not in t.dimensions:
                        if d not in self.margins:
                            raise DisclosureError(
                                f"table {t.exhibit_id} lacks dimension {d} but family {name} declares no total for it"
                            )
                        fixed[d] = self.margins[d].total
                idx = np.empty(len(f), dtype=np.int64)
                for r in range(len(f)):
                    key = (meas, tuple(fixed[d] if d in fixed else codes[d][r] for d in dims))
                    idx[r] = add(key, float(v[r]), float(p[r]), True, pcol is not None)
                    self.occ[idx[r]].append((ti, r, col))
                self.table_cells[ti][col] = idx
        self.n_published = len(self.keys)
        self._lattice(add, dimsets)
        self._measure_sums(add, tables)
        self.value = np.array(vals, dtype=float)
        self.persons = np.array(pers, dtype=float)
        self.published = np.array(pub, dtype=bool)
        self.continuous = np.array(cont, dtype=bool)
        self.n = len(self.keys)
        self._check_consistency()

    def _lattice(self, add, dimsets: dict[str, set]):
        """Relations parent = sum(children) along every dimension with a declared margin.

        For each measure and each distinct dimension set D of a table carrying it, the lattice of D (every code,
        totals included, of the dimensions in D; the other dimensions at their total) holds the table and all its
        sub-margins. Linear relations among marginal tables are generated by their common sub-margins, so the
        union of these lattices loses none; cells nobody publishes in it are free unknowns (>= 0) of the audit."""
        rows: list[list[tuple[int, float]]] = []
        plans = []
        for meas, dims in self.mdims.items():
            pub_keys = [k for k in self.keys[: self.n_published] if k[0] == meas]
            codes = {}
            for j, d in enumerate(dims):
                c = {k[1][j] for k in pub_keys}
                m = self.margins.get(d)
                if m is not None:
                    c.add(m.total)
                    if m.groups:
                        c.update(m.groups)
                        c.update(x for ch in m.groups.values() for x in ch)
                codes[d] = sorted(c)
            for D in sorted(dimsets[meas], key=lambda x: sorted(x)):
                plans.append((meas, dims, codes, sorted(D)))
        size = sum(math.prod(len(codes[d]) for d in D) for _, _, codes, D in plans)
        full = size <= self.s["secondary"]["max_lattice_cells"]
        if not full:
            self.notes.append("family lattice too large: relations through unpublished cells are not audited")
        for meas, dims, codes, D in plans:
            base = {d: self.margins[d].total for d in dims if d not in D}
            for d in D:
                m = self.margins.get(d)
                if m is None:
                    continue
                groups = m.groups or {m.total: tuple(c for c in codes[d] if c != m.total)}
                others = [e for e in D if e != d]
                for parent, children in groups.items():
                    for rest in product(*(codes[e] for e in others)):
                        fixed = {**base, **dict(zip(others, rest))}

                        def key(code, meas=meas, d=d, fixed=fixed, dims=dims):
                            return (meas, tuple(code if e == d else fixed[e] for e in dims))

                        members = [key(parent), *(key(c) for c in children)]
                        if not full and any(k not in self.index for k in members):
                            continue
                        ids = [
                            self.index[k] if k in self.index else add(k, np.nan, np.nan, False, False) for k in members
                        ]
                        rows.append([(ids[0], 1.0), *((i, -1.0) for i in ids[1:])])
        # one relation can be generated from two dimension sets: keep it once
        uniq = {tuple(r): None for r in rows}
        self._rows = list(uniq)

    def _measure_sums(self, add, tables: list[tuple[int, TableSpec]]):
        """Relations total = sum(parts) between measures with the same dimensions, at every code combination that
        any of them has (a cell nobody publishes is a free unknown of the audit, like in the lattice)."""
        sums: dict[str, tuple[str, ...]] = {}
        for _, t in tables:
            for total, parts in (t.sums or {}).items():
                if sums.setdefault(total, tuple(parts)) != tuple(parts):
                    raise DisclosureError(f"family {self.name}: tables declare different parts for measure {total}")
        for total, parts in sums.items():
            measures = [total, *parts]
            unknown = [m for m in measures if m not in self.mdims]
            if unknown:
                raise DisclosureError(f"family {self.name}: sum {total} names measures no table counts: {unknown}")
            if any(self.mdims[m] != self.mdims[total] for m in parts):
                raise DisclosureError(f"family {self.name}: the parts of {total} do not have its dimensions")
            codes = sorted({k[1] for k in self.keys if k[0] in measures})
            for code in codes:
                members = [(m, code) for m in measures]
                ids = [self.index[k] if k in self.index else add(k, np.nan, np.nan, False, False) for k in members]
                self._rows.append(((ids[0], 1.0), *((i, -1.0) for i in ids[1:])))

    def nested(self, inner: int, outer: int) -> bool:
        """Is cell `inner` part of cell `outer` (same measure; each code equal or a descendant)?"""
        (m1, c1), (m2, c2) = self.keys[inner], self.keys[outer]
        if m1 != m2:
            return False
        dims = self.mdims[m1]
        return all(a == b or b in self._ancestors(d, a) for d, a, b in zip(dims, c1, c2))

    def meet(self, a: int, b: int) -> int | None:
        """The cell of the persons in both a and b (same measure, each code the finer of the two), if known."""
        (m1, c1), (m2, c2) = self.keys[a], self.keys[b]
        if m1 != m2:
            return None
        codes = []
        for d, x, y in zip(self.mdims[m1], c1, c2):
            if x == y or x in self._ancestors(d, y):
                codes.append(y)
            elif y in self._ancestors(d, x):
                codes.append(x)
            else:
                return None
        return self.index.get((m1, tuple(codes)))

    def _ancestors(self, dim: str, code: str) -> set:
        m = self.margins.get(dim)
        if m is None:
            return set()
        if m.groups is None:
            return {m.total} if code != m.total else set()
        out, todo = set(), [code]
        while todo:
            c = todo.pop()
            for p, ch in m.groups.items():
                if c in ch and p not in out:
                    out.add(p)
                    todo.append(p)
        return out

    def _check_consistency(self):
        n_rows = len(self._rows)
        r, c, v = [], [], []
        for i, row in enumerate(self._rows):
            for j, coef in row:
                r.append(i), c.append(j), v.append(coef)
        self.A = sparse.csr_matrix((v, (r, c)), shape=(n_rows, self.n))
        # cells nobody publishes appear only through relations; drop aux-only relation sets lazily (audit skips them)
        closed = np.array([all(self.published[j] for j, _ in row) for row in self._rows], dtype=bool)
        if closed.any():
            resid = self.A[closed] @ np.where(self.published, self.value, 0.0)
            if np.abs(resid).max() > 1e-6 * max(1.0, np.abs(self.value[self.published]).max()):
                bad = int((np.abs(resid) > 1e-6).sum())
                raise DisclosureError(f"family {self.name}: {bad} declared margins are not the sum of their codes")
        self.members = [np.array([j for j, _ in row], dtype=np.int64) for row in self._rows]
        self.Acsc = self.A.tocsc()


# ----------------------------------------------------------------------------------------------------------------
# the audit


def _null(Md: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the null space (as scipy.linalg.null_space) without the large left factor."""
    m, n = Md.shape
    if m == 0:
        return np.eye(n)
    if m >= n:
        _, sv, vh = np.linalg.svd(Md, full_matrices=False)
    else:
        return null_space(Md)
    tol = max(m, n) * np.finfo(float).eps * (sv.max() if len(sv) else 0.0)
    return vh[(sv > tol).sum() :].conj().T


@dataclass
class _Functional:
    """A protected quantity: a primary cell, a rate complement N-e, or an unpublished cell derived as 1..9."""

    kind: str
    coef: dict[int, float]


class _Auditor:
    def __init__(self, fam: _Family, ineq: list[tuple[int, int]], s: dict):
        self.f, self.s = fam, s
        self.ineq = ineq
        sec = s["secondary"]
        self.tol = sec["exact_tolerance"]
        self.min_w = sec["min_interval_width"]
        self.lb1 = sec["suppressed_lower_bound"]
        self.lps = 0
        self.components = 0
        self.skipped = 0
        # Suppressing more only relaxes what an intruder knows (a published value becomes an unknown whose truth
        # stays feasible), so a quantity once certified stays certified: later rounds audit only the rest.
        self.certified: set[tuple] = set()
        self.widths: dict[tuple, float] = {}

    def lower_bounds(self, vars_, suppressed):
        f = self.f
        lb = np.zeros(len(vars_))
        for k, j in enumerate(vars_):
            if f.published[j] and suppressed[j] and not f.continuous[j]:
                lb[k] = min(self.lb1, f.value[j])
        return lb

    def run(self, suppressed: np.ndarray, functionals: list[_Functional]) -> dict:
        f = self.f
        unknown = suppressed | ~f.published
        uidx = np.flatnonzero(unknown)
        pos = -np.ones(f.n, dtype=np.int64)
        pos[uidx] = np.arange(len(uidx))
        known_val = np.where(unknown, 0.0, np.nan_to_num(f.value))
        res = _passing_audit()
        if len(uidx) == 0:
            return res
        # bipartite graph: unknown cells + relations (equalities, then rate inequalities)
        Au = f.A[:, uidx]
        rows_touch = np.flatnonzero(np.diff(Au.indptr) > 0)
        ine = [(e, n) for e, n in self.ineq if unknown[e] or unknown[n]]
        B = Au[rows_touch]
        if ine:
            r, c = [], []
            for k, (e, n) in enumerate(ine):
                for j in (e, n):
                    if unknown[j]:
                        r.append(k), c.append(pos[j])
            B = sparse.vstack([B, sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(ine), len(uidx)))]).tocsr()
        nu, nr = len(uidx), B.shape[0]
        G = sparse.bmat([[None, B.T], [B, None]], format="csr") if nr else sparse.csr_matrix((nu, nu))
        ncomp, lab = connected_components(G, directed=False)
        func_by_comp: dict[int, list[int]] = {}
        for fi, fn in enumerate(functionals):
            comps = {lab[pos[j]] for j in fn.coef if unknown[j]}
            if not comps:  # every cell of a protected quantity published: it is disclosed
                res["exact_passed"] = False
                res["min_width"] = 0.0
                res["failing"].append(("R5a", tuple(sorted(fn.coef))))
            for c in comps:
                func_by_comp.setdefault(int(c), []).append(fi)
        ulab = lab[:nu]
        order = np.argsort(ulab, kind="stable")
        bounds = np.searchsorted(ulab[order], np.arange(ncomp + 1))
        eq_lab = lab[nu : nu + len(rows_touch)]
        ine_lab = lab[nu + len(rows_touch) :]
        eq_by = {}
        for k, c in enumerate(eq_lab):
            eq_by.setdefault(int(c), []).append(int(rows_touch[k]))
        ine_by = {}
        for k, c in enumerate(ine_lab):
            ine_by.setdefault(int(c), []).append(ine[k])
        for c in range(ncomp):
            vars_ = uidx[order[bounds[c] : bounds[c + 1]]]
            if not suppressed[vars_].any() and len(vars_) > self.s["secondary"]["max_component_unknowns"]:
                self.skipped += 1  # a large block of unpublished cells only: its exact audit is skipped
                continue
            fis = [fi for fi in func_by_comp.get(c, []) if ("f", fi) not in self.certified]
            if (
                not fis
                and all(("c", int(j)) in self.certified for j in vars_ if suppressed[j])
                and f.published[vars_].all()
            ):
                continue
            out = self._component(
                vars_, eq_by.get(c, []), ine_by.get(c, []), suppressed, known_val, [(fi, functionals[fi]) for fi in fis]
            )
            self.components += 1
            for k in ("exact_passed", "interval_passed", "singleton_passed"):
                res[k] = res[k] and out[k]
            res["failing"].extend(out["failing"])
            res["derived"].extend(out["derived"])
        res["min_width"] = min([res["min_width"], *self.widths.values()])
        return res

    def _component(self, vars_, eq_rows, ine, suppressed, known_val, funcs) -> dict:
        """Audit one connected component of unknowns.

        Small components (or any holding unpublished cells) are audited whole. In a large component of suppressed
        cells only, each quantity is first audited on its neighbourhood with every cell outside it fixed at its true
        value: that only narrows what an intruder could know, so a pass there is a pass; a failure is re-checked on
        a wider neighbourhood and finally on the whole component."""
        f, sec = self.f, self.s["secondary"]
        k = len(vars_)
        out = _passing_audit()
        has_aux = bool((~f.published[vars_]).any())
        if has_aux and k > sec["max_component_unknowns"]:
            raise DisclosureError(f"family {f.name}: a connected component of {k} unknowns is too large to audit")
        A = f.A[eq_rows]
        M = A[:, vars_].tocsr()
        b = -(A @ known_val)
        Mc = M.tocsc()
        lb = self.lower_bounds(vars_, suppressed)
        xtrue = None if has_aux else f.value[vars_]
        loc = {int(j): i for i, j in enumerate(vars_)}
        # rate inequalities e - N <= 0 over this component, known parts moved to the right-hand side
        U = V = None
        if ine:
            r, c, v, rhs = [], [], [], []
            for q, (e, n) in enumerate(ine):
                const = 0.0
                for j, s_ in ((e, 1.0), (n, -1.0)):
                    if j in loc:
                        r.append(q), c.append(loc[j]), v.append(s_)
                    else:
                        const += s_ * known_val[j]
                rhs.append(-const)
            U = sparse.csr_matrix((v, (r, c)), shape=(len(ine), k))
            V = np.array(rhs)
        singles = [i for i, j in enumerate(vars_) if suppressed[j] and not f.continuous[j] and f.value[j] == 1]
        full = has_aux or k <= sec["dense_component_unknowns"]

        def sub(L):
            """The system on local unknowns L (sorted positions), the rest fixed at the truth (or all of it)."""
            if L is None:
                return M, b, U, V, np.arange(k)
            rows = np.unique(np.concatenate([Mc[:, i].indices for i in L])) if len(L) else np.array([], dtype=int)
            mask = np.ones(k, dtype=bool)
            mask[L] = False
            Mr = M[rows]
            bL = b[rows] - Mr[:, mask] @ xtrue[mask]
            UL = VL = None
            if U is not None:
                urows = np.unique(U[:, L].tocoo().row)
                if len(urows):
                    UL = U[urows][:, L]
                    VL = V[urows] - U[urows][:, mask] @ xtrue[mask]
            return Mr[:, L], bL, UL, VL, np.asarray(L)

        Uc = U.tocsc() if U is not None else None

        def hood(seed, radius, cap):
            """Unknowns within `radius` shared relations of `seed`; None (= the whole component) beyond `cap`."""
            L, frontier = set(seed), set(seed)
            for _ in range(radius):
                nxt = set()
                for i in frontier:
                    for rr in Mc[:, i].indices:
                        nxt.update(M[rr].indices.tolist())
                    if Uc is not None:
                        for q in Uc[:, i].indices:
                            nxt.update(U[q].indices.tolist())
                frontier = nxt - L
                L |= nxt
                if len(L) > cap:
                    return None
            return sorted(L)

        rowspace = []

        def determined_full(i) -> bool:
            if not rowspace:  # orthonormal basis of the row space of the relations: e_i inside it = determined
                Md = M.toarray()
                if Md.shape[0] == 0:
                    rowspace.append(np.zeros((k, 0)))
                else:
                    Q, R, _ = qr(Md.T, mode="economic", pivoting=True)
                    d = np.abs(np.diag(R))
                    rank = int((d > self.tol * max(1.0, d.max() if len(d) else 1.0)).sum())
                    rowspace.append(Q[:, :rank])
            Q = rowspace[0]
            return Q.shape[1] > 0 and float(np.sum(Q[i] ** 2)) > 1 - 1e-6

        def interval(cvec, L, fixed, v=None):
            """Width of the feasibility interval; with the true value v, a maximum at least min_w above it
            already certifies the width (one LP instead of two; the width returned is then a lower bound)."""
            Ms, bs, Us, Vs, cols = sub(L)
            lo_b, hi_b = lb[cols].copy(), np.full(len(cols), np.inf)
            pos = {int(c): t for t, c in enumerate(cols)}
            for i in fixed:
                if i in pos:
                    lo_b[pos[i]] = hi_b[pos[i]] = 1.0
            c = cvec[cols]
            kw = dict(
                A_ub=Us,
                b_ub=Vs,
                A_eq=Ms if Ms.shape[0] else None,
                b_eq=bs if Ms.shape[0] else None,
                bounds=np.column_stack([lo_b, hi_b]),
                method="highs",
            )
            hi = linprog(-c, **kw)
            self.lps += 1
            if hi.status == 0 and xtrue is not None:
                moved.update(int(cols[t]) for t in np.flatnonzero(np.abs(hi.x - xtrue[cols]) > 1e-7))
            if hi.status == 2:
                raise DisclosureError(
                    f"family {f.name}: the audit's linear program is infeasible (inconsistent relations)"
                )
            if hi.status == 3:
                return math.inf
            if v is not None and -hi.fun - v >= self.min_w - 1e-7:
                return float(-hi.fun - v)
            lo = linprog(c, **kw)
            self.lps += 1
            if lo.status == 0 and xtrue is not None:
                moved.update(int(cols[t]) for t in np.flatnonzero(np.abs(lo.x - xtrue[cols]) > 1e-7))
            if lo.status == 3:
                return math.inf
            return float(-hi.fun - lo.fun)

        moved: set[int] = set()
        # R5b and T5 on every protected quantity
        for fi, fn in funcs:
            support = tuple(sorted(int(j) for j in fn.coef))
            v = None if has_aux else float(sum(a_ * f.value[j] for j, a_ in fn.coef.items()))
            cvec = np.zeros(k)
            for j, a_ in fn.coef.items():
                if j in loc:
                    cvec[loc[j]] = a_
            seed = [loc[j] for j in fn.coef if j in loc]
            fixed = [i for i in singles if not self._knows_only_self(int(vars_[i]), fn)]
            ok = False
            scopes = [None] if full else [hood(seed, 2, sec["local_max_unknowns"]), None]
            if scopes[0] is None:
                scopes = [None]
            for L in scopes:
                w = interval(cvec, L, fixed, v)
                if w >= self.min_w - 1e-7:
                    ok = True
                    break
            if ok:
                self.widths[("f", fi)] = w
                self.certified.add(("f", fi))
                continue
            # exact verdicts on the whole component: without singletons (R5b), then one singleton at a time (T5)
            w = interval(cvec, None, [], v)
            self.widths[("f", fi)] = w
            if w < self.min_w - 1e-7:
                out["interval_passed"] = False
                out["failing"].append(("R5b", support))
                continue
            for i in fixed:
                ws = interval(cvec, None, [i], v)
                if ws < self.min_w - 1e-7:
                    self.widths[("f", fi)] = ws
                    out["singleton_passed"] = False
                    out["failing"].append(("T5", tuple(sorted({*support, int(vars_[i])}))))
                    break
            else:
                self.certified.add(("f", fi))
        # R5a on every suppressed cell; unpublished cells derived exactly are reported when they hold 1..9
        # a cell that moves between two feasible points (an LP optimum and the truth) is not determined
        for i in moved:
            if suppressed[vars_[i]]:
                self.certified.add(("c", int(vars_[i])))
        todo = [i for i, j in enumerate(vars_) if suppressed[j] and ("c", int(j)) not in self.certified]
        if has_aux or (todo and k <= sec["dense_component_unknowns"]):
            Md = M.toarray() if M.shape[0] else np.zeros((0, k))
            Z = _null(Md)
            free = np.linalg.norm(Z, axis=1) > self.tol if Z.shape[1] else np.zeros(k, dtype=bool)
            sol = None
            for i, j in enumerate(vars_):
                if free[i]:
                    if suppressed[j]:
                        self.certified.add(("c", int(j)))
                    continue
                if suppressed[j]:
                    out["exact_passed"] = False
                    out["failing"].append(("R5a", (int(j),)))
                elif not f.continuous[j]:
                    if sol is None:
                        sol = np.linalg.lstsq(Md, b, rcond=None)[0] if Md.shape[0] else np.zeros(k)
                    if count_is_primary(round(float(sol[i])), self.s):
                        out["derived"].append(int(j))
        else:
            for i in todo:
                j = int(vars_[i])
                if determined_full(i):
                    out["exact_passed"] = False
                    out["failing"].append(("R5a", (j,)))
                else:
                    self.certified.add(("c", j))
        return out

    def _knows_only_self(self, s: int, fn: _Functional) -> bool:
        """Does the person alone in suppressed cell s learn nothing about others from cell p = fn?

        Their own cell is theirs to know. Otherwise they learn p minus themselves: when p holds 1 and the cell
        shared by s and p (their meet) holds 1, that one is them and what is left is a zero (publishable, R4)."""
        if len(fn.coef) != 1:
            return False
        p = next(iter(fn.coef))
        f = self.f
        if p == s:
            return True
        if f.value[p] != 1:
            return False
        m = f.meet(s, p)
        return m is not None and f.published[m] and f.value[m] == 1


# ----------------------------------------------------------------------------------------------------------------
# protection of one family


def _members(f, rows) -> np.ndarray:
    """Every cell of the given relations."""
    return np.unique(np.concatenate([f.members[r] for r in rows])) if len(rows) else np.array([], dtype=np.int64)


class _Protector:
    def __init__(self, fam: _Family, tables: list[tuple[int, TableSpec]], s: dict):
        self.f, self.tables, self.s = fam, tables, s
        f = fam
        self.suppressed = np.zeros(f.n, dtype=bool)
        self.primary = np.zeros(f.n, dtype=bool)
        self.primary_rule: dict[int, str] = {}
        self.functionals: list[_Functional] = []
        # candidate order for secondary suppression: values >= 2 first (they leave room to move), then small values,
        # then the cell key (deterministic ties)
        v = np.nan_to_num(f.value, nan=np.inf)
        keystr = [repr(k) for k in f.keys]
        order = sorted(range(f.n), key=lambda i: (v[i] < 2, v[i], keystr[i]))
        self.rank = np.empty(f.n, dtype=np.int64)
        self.rank[order] = np.arange(f.n)
        self.candidate = f.published & (f.value > 0)
        self.ineq: list[tuple[int, int]] = []
        self._primary()

    def _primary(self):
        f, s = self.f, self.s
        for j in range(f.n_published):
            if count_is_primary(f.persons[j], s):
                self.primary[j] = True
                self.primary_rule[j] = "R2"
        seen = set()
        for ti, t in self.tables:
            for rs in t.rates:
                cells = f.table_cells[ti]
                if rs.numerator in cells and rs.denominator in cells:
                    pairs = [(int(e), int(n)) for e, n in zip(cells[rs.numerator], cells[rs.denominator])]
                    # numerator <= denominator is a relation of the audit only where the numerator is a subset of
                    # the denominator: a flow classified at the event over a 1 January stock (study A's county
                    # rates) can exceed it, and a relation the data break would make the audit infeasible
                    subset = all(f.value[e] <= f.value[n] for e, n in pairs if not f.continuous[n])
                    for e, n in pairs:
                        if (e, n) in seen or f.continuous[n] or f.keys[e][0] == f.keys[n][0]:
                            continue
                        seen.add((e, n))
                        if subset:
                            self.ineq.append((e, n))
                        c = f.persons[n] - f.persons[e]
                        if f.persons[n] > 0 and 0 <= c < s["rate_min_complement"]:
                            # R3: "everyone in the cell" is group attribute disclosure even with both counts >= 10
                            self.functionals.append(_Functional("R3", {n: 1.0, e: -1.0}))
                            if not (self.primary[e] or self.primary[n]):
                                j = e if f.value[e] > 0 else n
                                self.primary[j] = True
                                self.primary_rule.setdefault(j, "R3")
        for ti, t in self.tables:
            for col, flag_spec in (t.sensitive or {}).items():
                flag_col, _, rule = flag_spec.partition(":")
                for j in self._flagged_cells(ti, t, col, flag_col, "sensitive"):
                    self.primary[j] = True
                    self.primary_rule.setdefault(int(j), rule or "R7")
            for col, flag_col in (t.kept or {}).items():
                self.suppressed[self._flagged_cells(ti, t, col, flag_col, "kept-suppressed")] = True
        for j in np.flatnonzero(self.primary):
            if self.primary_rule[j] != "R3" and (f.continuous[j] or f.value[j] > 0):
                self.functionals.insert(0, _Functional(self.primary_rule[j], {int(j): 1.0}))
        self.suppressed |= self.primary

    def _flagged_cells(self, ti: int, t: TableSpec, col: str, flag_col: str, what: str) -> np.ndarray:
        """The family cells of a count column whose rows a boolean column flags; a zero count stays published
        (R4; a suppressed count is audited as >= 1)."""
        f = self.f
        if flag_col not in t.frame.columns or col not in f.table_cells[ti]:
            raise DisclosureError(f"table {t.exhibit_id}: {what} flags of column {col} missing")
        cells = f.table_cells[ti][col][t.frame[flag_col].fillna(False).astype(bool).to_numpy()]
        return cells[f.continuous[cells] | (f.value[cells] > 0)]

    def _suppress(self, j: int):
        self.suppressed[j] = True

    def close(self, rows=None):
        """Heuristic: no relation may hold exactly one unknown; give it the best published partner."""
        f = self.f
        heap = list(range(len(f.members))) if rows is None else sorted(set(rows))
        heapq.heapify(heap)
        unpublished = ~f.published
        while heap:
            r = heapq.heappop(heap)
            mem = f.members[r]
            if unpublished[mem].any():
                continue
            sup = self.suppressed[mem]
            if sup.sum() != 1:
                continue
            cand = mem[~sup & self.candidate[mem]]
            if len(cand) == 0:
                continue
            j = int(cand[np.argmin(self.rank[cand])])
            self._suppress(j)
            for r2 in f.Acsc[:, j].indices:
                heapq.heappush(heap, int(r2))

    def fix(self, failing) -> bool:
        """One more suppression per failing item, in a relation it belongs to (else anywhere in its component)."""
        f = self.f
        added, touched = False, []
        for _, support in sorted(set(failing)):
            rows = np.unique(np.concatenate([f.Acsc[:, j].indices for j in support])) if support else []
            cand = _members(f, rows)
            cand = cand[~self.suppressed[cand] & self.candidate[cand]] if len(cand) else cand
            if len(cand) == 0:
                # widen to relations of every unknown reachable in one more step
                nxt = _members(f, rows)
                rows2 = np.unique(np.concatenate([f.Acsc[:, j].indices for j in nxt])) if len(nxt) else []
                cand = _members(f, rows2)
                cand = cand[~self.suppressed[cand] & self.candidate[cand]] if len(cand) else cand
            if len(cand) == 0:
                continue
            j = int(cand[np.argmin(self.rank[cand])])
            self._suppress(j)
            touched.extend(f.Acsc[:, j].indices.tolist())
            added = True
        if added:
            self.close(touched)
        return added

    def run(self) -> dict:
        t0 = time.perf_counter()
        self.close()
        aud = _Auditor(self.f, self.ineq, self.s)
        known_derived: set[int] = set()
        rounds, status, reason = 0, "pass", ""
        while True:
            res = aud.run(self.suppressed, self.functionals)
            new = [j for j in res["derived"] if j not in known_derived]
            for j in new:
                known_derived.add(j)
                self.functionals.append(_Functional("R5a-derived", {j: 1.0}))
            if new:
                res["failing"].extend(("R5a", (j,)) for j in new)
            if not res["failing"]:
                break
            rounds += 1
            if rounds > self.s["secondary"]["max_rounds"] or not self.fix(res["failing"]):
                status = "fail"
                rules = sorted({r for r, _ in res["failing"]})
                reason = (
                    f"audit {', '.join(rules)} still fails for {len(set(res['failing']))} quantities after "
                    f"{rounds} rounds of secondary suppression"
                )
                break
        sec = time.perf_counter() - t0
        return {
            "status": status,
            "reason": reason,
            "rounds": rounds,
            "seconds": sec,
            "exact_passed": res["exact_passed"],
            "interval_passed": res["interval_passed"],
            "singleton_passed": res["singleton_passed"],
            "min_width": res["min_width"],
            "components": aud.components,
            "lps": aud.lps,
            "derived_protected": len(known_derived),
        }


# ----------------------------------------------------------------------------------------------------------------
# public entry: protect


def protect(tables: list[TableSpec], settings: dict | None = None) -> GateResult:
    """Apply R2-R5 to every table, family by family; see the module docstring for the convention."""
    s = settings or load_settings()
    t_start = time.perf_counter()
    frames: dict[str, pd.DataFrame | None] = {}
    records: list[GateRecord] = []
    families: list[dict] = []
    ids = [t.exhibit_id for t in tables]
    if len(set(ids)) != len(ids):
        raise DisclosureError("exhibit ids must be unique")
    by_family: dict[str, list[tuple[int, TableSpec]]] = {}
    for i, t in enumerate(tables):
        by_family.setdefault(t.family, []).append((i, t))
    out_records: dict[int, GateRecord] = {}
    for fam_name in sorted(by_family):
        members = by_family[fam_name]
        t0 = time.perf_counter()
        try:
            fam = _Family(fam_name, members, s)
            prot = _Protector(fam, members, s)
            summary = prot.run()
        except DisclosureError as exc:
            for i, t in members:
                out_records[i] = GateRecord(
                    t.exhibit_id,
                    "table",
                    "fail",
                    str(exc),
                    ["R2", "R3", "R5"],
                    fam_name,
                    seconds=time.perf_counter() - t0,
                )
                frames[t.exhibit_id] = None
            families.append(
                {
                    "family": fam_name,
                    "tables": len(members),
                    "status": "fail",
                    "reason": str(exc),
                    "seconds": time.perf_counter() - t0,
                }
            )
            continue
        sup, prim = prot.suppressed, prot.primary
        families.append(
            {
                "family": fam_name,
                "tables": len(members),
                "cells": int(fam.n_published),
                "unpublished_cells": int(fam.n - fam.n_published),
                "relations": len(fam.members),
                "primary": int(prim[: fam.n_published].sum()),
                "secondary": int((sup & ~prim)[: fam.n_published].sum()),
                **summary,
                "notes": fam.notes,
            }
        )
        if not np.isfinite(families[-1]["min_width"]):
            families[-1]["min_width"] = None
        for i, t in members:
            frame, rec = _apply(t, fam, prot, summary, s, i)
            frames[t.exhibit_id] = frame
            out_records[i] = rec
    records = [out_records[i] for i in range(len(tables))]
    return GateResult(frames, records, families, time.perf_counter() - t_start)


def _apply(t: TableSpec, fam: _Family, prot: _Protector, summary: dict, s: dict, ti: int):
    cells = fam.table_cells[ti]
    rules = ["R2", "R4"] + (["R3"] if t.rates else []) + ["R5a", "R5b", "T5"]
    rules += sorted(
        {spec.partition(":")[2] or "R7" for spec in (t.sensitive or {}).values()} | ({"R11"} if t.kept else set())
    )
    out = t.frame.copy()
    n_cells = primary = secondary = nonzero = 0
    for col, idx in cells.items():
        sup = prot.suppressed[idx]
        n_cells += len(idx)
        primary += int(prot.primary[idx].sum())
        secondary += int((sup & ~prot.primary[idx]).sum())
        nonzero += int((fam.value[idx] > 0).sum())
        vals = pd.to_numeric(out[col], errors="coerce").astype(float)
        vals = vals.to_numpy(copy=True)
        vals[sup] = np.nan
        out[col] = vals
        out[f"{col}_suppressed"] = sup
    rates_sup = 0
    for rs in t.rates:
        r = pd.to_numeric(out[rs.column], errors="coerce").to_numpy(dtype=float).copy()
        e_col = (t.persons or {}).get(rs.numerator, rs.numerator)
        n_col = (t.persons or {}).get(rs.denominator, rs.denominator)
        e = pd.to_numeric(t.frame[e_col], errors="coerce").to_numpy(dtype=float)
        n = pd.to_numeric(t.frame[n_col], errors="coerce").to_numpy(dtype=float)
        flag = np.zeros(len(r), dtype=bool)
        for k in range(len(r)):
            if not np.isfinite(r[k]):
                continue
            hidden = any(prot.suppressed[cells[c][k]] for c in (rs.numerator, rs.denominator) if c in cells)
            if hidden or not rate_is_publishable(e[k], n[k], s):
                flag[k] = True
                r[k] = np.nan
            else:
                r[k] = round_significant(r[k], s["significant_digits"])
        rates_sup += int(flag.sum())
        out[rs.column] = r
        out[f"{rs.column}_suppressed"] = flag
    # persons behind person-years and the counts behind a rate are rule inputs, not outputs, unless declared counts
    inputs = [*(t.persons or {}).values(), *(c for rs in t.rates for c in (rs.numerator, rs.denominator))]
    inputs += [spec.partition(":")[0] for spec in (t.sensitive or {}).values()] + list((t.kept or {}).values())
    drop = sorted({c for c in inputs if c not in t.counts and c in out.columns})
    out = out.drop(columns=drop)
    status, reason = summary["status"], summary["reason"]
    if status == "pass" and fam.notes:
        status, reason = "review", "; ".join(fam.notes)
    if status == "pass" and nonzero and (primary + secondary) / nonzero > s["secondary"]["review_suppressed_share"]:
        status, reason = (
            "review",
            (f"{primary + secondary} of {nonzero} non-zero cells suppressed: publish a coarser table (R1)"),
        )
    audit = {
        k: summary[k]
        for k in ("exact_passed", "interval_passed", "singleton_passed", "min_width", "rounds", "components", "lps")
    }
    audit["target_width_met"] = summary["min_width"] >= s["secondary"]["target_interval_width"]
    if not np.isfinite(audit["min_width"]):
        audit["min_width"] = None  # no protected quantity (or all unbounded): JSON-safe for metadata
    rec = GateRecord(
        t.exhibit_id,
        "table",
        status,
        reason,
        rules,
        fam.name,
        n_cells,
        primary,
        secondary,
        rates_sup,
        audit,
        summary["seconds"],
    )
    return (None if status == "fail" else out), rec


def audit_pattern(
    tables: list[TableSpec], suppressed: dict[str, dict[str, list[bool]]], settings: dict | None = None
) -> dict:
    """Audit a given suppression pattern without changing it (the T3/T4 tests, and an intruder's view).

    `suppressed[exhibit_id][count_column]` is a boolean per row. Returns, per family, the audit result and the
    suppressed cells found to be determined, as (exhibit_id, row position, column).
    """
    s = settings or load_settings()
    by_family: dict[str, list[tuple[int, TableSpec]]] = {}
    for i, t in enumerate(tables):
        by_family.setdefault(t.family, []).append((i, t))
    out = {}
    for name, members in sorted(by_family.items()):
        fam = _Family(name, members, s)
        prot = _Protector(fam, members, s)
        sup = np.zeros(fam.n, dtype=bool)
        for i, t in members:
            for col, flags in suppressed.get(t.exhibit_id, {}).items():
                sup[fam.table_cells[i][col][np.asarray(flags, dtype=bool)]] = True
        funcs = [fn for fn in prot.functionals if fn.kind == "R3" or all(sup[j] for j in fn.coef)]
        res = _Auditor(fam, prot.ineq, s).run(sup, funcs)
        names = {i: t.exhibit_id for i, t in members}

        def where(j, names=names, fam=fam):
            return [(names[ti], r, c) for ti, r, c in fam.occ[j]] or [("(unpublished)", -1, fam.keys[j][0])]

        out[name] = {
            **{k: res[k] for k in ("exact_passed", "interval_passed", "singleton_passed", "min_width")},
            "failing": [(rule, [w for j in sup_ for w in where(j)]) for rule, sup_ in res["failing"]],
            "determined": sorted(
                {w for rule, sup_ in res["failing"] if rule == "R5a" and len(sup_) == 1 for w in where(sup_[0])}
            ),
        }
    return out


# ----------------------------------------------------------------------------------------------------------------
# models: R8 (person-level) and R9 (aggregate series)


def category_persons(frame: pd.DataFrame, columns: list[str], person_column: str | None = None) -> dict[str, dict]:
    """Distinct persons per level of each categorical column (input of `check_model`; stays internal)."""
    out = {}
    for c in columns:
        g = frame.groupby(c, dropna=False, observed=True)
        counts = g[person_column].nunique() if person_column else g.size()
        out[c] = {str(k): int(v) for k, v in counts.items()}
    return out


def pool_adjacent_periods(
    cells: pd.DataFrame, series: list[str], period: str, rates: list[RateSpec], settings: dict | None = None
) -> pd.DataFrame:
    """R9 remedy ("or pooled until they do"): within each series (the `series` columns), consecutive periods are
    grouped into blocks so that every block's summed counts pass R2/R3 for every rate in `rates`.

    Left to right, a block closes as soon as it passes, so a period that passes alone stays alone; a failing tail
    joins the blocks before it until the merged block passes. Returns `cells` sorted by series and period, with
    `block_start`, `block_end` (periods) and `pooled` (the block spans more than one period), and every numerator
    and denominator replaced by its block sum. A series that fails even as one block keeps that one block: the
    R9 check (`check_model`) then still refuses it. With the setting models.aggregate_input_pooling = none
    every period is its own block.
    """
    s = settings or load_settings()
    counts = sorted({c for r in rates for c in (r.numerator, r.denominator)})
    mode = s["models"].get("aggregate_input_pooling", "adjacent_years")
    if mode not in ("adjacent_years", "none"):
        raise ValueError(f"models.aggregate_input_pooling must be adjacent_years or none, not {mode!r}")

    def passes(sums: np.ndarray) -> bool:
        at = {c: float(v) for c, v in zip(counts, sums)}
        return all(
            rate_is_publishable(at[r.numerator], at[r.denominator], s) and not count_is_primary(at[r.numerator], s)
            for r in rates
        )

    frames = []
    for _, one in cells.sort_values([*series, period]).groupby(series, sort=False, dropna=False):
        values = one[counts].to_numpy(dtype=float)
        blocks: list[list[int]] = []  # row positions of each block
        current: list[int] = []
        for i in range(len(one)):
            current.append(i)
            if mode == "none" or passes(values[current].sum(axis=0)):
                blocks.append(current)
                current = []
        while current and blocks:  # a failing tail: merge backwards until the merged block passes
            current = blocks.pop() + current
            if passes(values[current].sum(axis=0)):
                break
        if current:
            blocks.append(current)
        block_of = np.empty(len(one), dtype=int)
        for b, rows in enumerate(blocks):
            block_of[rows] = b
        pooled = one.copy()
        periods = one[period].to_numpy()
        sums = np.vstack([values[rows].sum(axis=0) for rows in blocks])[block_of]
        for j, c in enumerate(counts):
            pooled[c] = sums[:, j]
        pooled["block_start"] = [periods[blocks[b][0]] for b in block_of]
        pooled["block_end"] = [periods[blocks[b][-1]] for b in block_of]
        pooled["pooled"] = pooled["block_start"] != pooled["block_end"]
        frames.append(pooled)
    if not frames:
        return cells.assign(block_start=cells[period], block_end=cells[period], pooled=False)
    return pd.concat(frames, ignore_index=True)


def check_model(
    exhibit_id: str,
    kind: str,
    *,
    fields,
    residual_df,
    category_persons: dict | None = None,
    outcome_persons: dict | None = None,
    input_tables: list[TableSpec] | None = None,
    settings: dict | None = None,
) -> GateRecord:
    """R8 (kind="person") or R9 (kind="aggregate") for one model artefact.

    fields: the column/field names the artefact publishes (anything outside the whitelist is refused);
    residual_df: a number, or {equation: df} for a system; category_persons: {regressor or interaction dummy:
    {level: persons}}; outcome_persons: {outcome category: persons}; input_tables: the aggregate cells an R9 model
    is fitted on (every count must pass R2 and every rate R3, no suppression allowed: pool first).
    """
    t0 = time.perf_counter()
    s = settings or load_settings()
    ms = s["models"]
    if kind not in ("person", "aggregate"):
        raise ValueError("kind must be 'person' or 'aggregate'")
    rule = "R8" if kind == "person" else "R9"
    problems: list[str] = []
    allowed = set(ms["person_level_fields" if kind == "person" else "aggregate_fields"])
    refused = sorted({str(f) for f in fields if str(f).strip().lower() not in allowed})
    if refused:
        problems.append(f"fields not allowed for a {kind}-level model: {', '.join(refused)}")
    dfs = residual_df if isinstance(residual_df, dict) else {"model": residual_df}
    low = sorted(
        str(k) for k, v in dfs.items() if not (v is not None and np.isfinite(v) and v >= ms["min_residual_df"])
    )
    if low:
        problems.append(f"residual degrees of freedom below {ms['min_residual_df']} in: {', '.join(low)}")
    if kind == "person":
        for name, levels in sorted((category_persons or {}).items()):
            small = sum(1 for v in levels.values() if v < ms["min_category_persons"])
            if small:
                problems.append(
                    f"regressor {name}: {small} level(s) with fewer than {ms['min_category_persons']} persons"
                )
        small = sum(1 for v in (outcome_persons or {}).values() if v < ms["min_category_persons"])
        if small:
            problems.append(f"outcome: {small} category(ies) with fewer than {ms['min_category_persons']} persons")
        if category_persons is None:
            problems.append("persons per level of the categorical regressors were not given")
    else:
        if input_tables is None:
            problems.append("the input cells of the series were not given")
        for t in input_tables or []:
            failing = np.zeros(len(t.frame), dtype=bool)  # a cell fails if any of its counts or rates does
            for col in t.counts:
                pcol = (t.persons or {}).get(col, col)
                p = pd.to_numeric(t.frame[pcol], errors="coerce").to_numpy(dtype=float)
                failing |= np.array([not np.isfinite(x) or count_is_primary(x, s) for x in p], dtype=bool)
            for rs in t.rates:
                e = pd.to_numeric(t.frame[(t.persons or {}).get(rs.numerator, rs.numerator)], errors="coerce")
                n = pd.to_numeric(t.frame[(t.persons or {}).get(rs.denominator, rs.denominator)], errors="coerce")
                failing |= np.array([not rate_is_publishable(a, b, s) for a, b in zip(e, n)], dtype=bool)
            if failing.any():
                problems.append(
                    f"input {t.exhibit_id}: {int(failing.sum())} of {len(failing)} cell(s) fail R2/R3 "
                    "(pool them before fitting)"
                )
    status = "fail" if problems else "pass"
    return GateRecord(
        exhibit_id,
        "model",
        status,
        "; ".join(problems),
        [rule],
        None,
        audit={"residual_df_min": min((float(v) for v in dfs.values() if v is not None), default=None)},
        seconds=time.perf_counter() - t0,
    )


# ----------------------------------------------------------------------------------------------------------------
# independent scan of a published folder


@dataclass(frozen=True)
class Finding:
    file: str
    column: str
    rule: str
    detail: str  # how many cells, never the value


class _HTMLTables(HTMLParser):
    """Tables (header = first row) and all other text (scripts and attributes included) of an HTML or SVG file."""

    def __init__(self, structural_attributes=()):
        super().__init__(convert_charrefs=True)
        self.structural = {a.lower() for a in structural_attributes}
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
            self.tables[-1].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        # renderer-made references (matplotlib's clip-path ids) are not data; every other attribute is scanned
        self.text.extend(v for k, v in attrs if v and k.lower() not in self.structural)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        else:
            self.text.append(data)


def _num(x) -> float | None:
    if x is None:
        return None
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return float(x) if np.isfinite(x) else None
    t = str(x).strip().replace("\u00a0", "").replace("\u202f", "").replace("\u2009", "").replace(" ", "")
    t = t.replace("%", "").replace("\u2212", "-")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", t):
        t = t.replace(",", "")
    try:
        return float(t)
    except ValueError:
        return None


def _tables_of(path: Path, structural_attributes=()) -> tuple[list[tuple[str, list[str], list[list]]], list[str]]:
    """(table name, header, rows) and free text of one published file."""
    suf = path.suffix.lower()
    if suf == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8", errors="replace"))))
        return ([("", rows[0], rows[1:])] if rows else []), []
    if suf == ".parquet":
        df = pd.read_parquet(path)
        return [("", [str(c) for c in df.columns], df.to_numpy(dtype=object).tolist())], []
    if suf == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        out = []
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True) if any(c is not None for c in r)]
            if rows:
                out.append((ws.title, [str(c) if c is not None else "" for c in rows[0]], rows[1:]))
        wb.close()
        return out, []
    if suf in (".html", ".htm", ".svg", ".xml"):
        p = _HTMLTables(structural_attributes)
        p.feed(path.read_text(encoding="utf-8", errors="replace"))
        tabs = [(f"table {i + 1}", t[0], t[1:]) for i, t in enumerate(p.tables) if t]
        return tabs, p.text
    if suf in (".txt", ".md", ".log"):
        return [], [path.read_text(encoding="utf-8", errors="replace")]
    return [], []


_DECIMAL = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?")


def _json_walk(obj, key, hash_keys, count_re, out_text, out_counts):
    if isinstance(obj, dict):
        for k, v in obj.items():
            _json_walk(v, str(k), hash_keys, count_re, out_text, out_counts)
    elif isinstance(obj, list):
        for v in obj:
            _json_walk(v, key, hash_keys, count_re, out_text, out_counts)
    elif isinstance(obj, str):
        if not hash_keys.search(key or ""):
            out_text.append((key, obj))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool) and key and count_re.fullmatch(key):
        out_counts.append((key, obj))


def scan_published_folder(
    path: str | Path, count_columns_by_file: dict | None = None, settings: dict | None = None
) -> list[Finding]:
    """Scan every file under `path` for counts 1..9 in count columns (R2), rates that imply such counts beside their
    denominator (R3) and id-shaped strings (R12).

    count_columns_by_file maps a file's path relative to `path` (fnmatch patterns allowed) to a list of count
    columns, or to {"counts": [...], "rates": {rate_column: [denominator_column, scale]}} (scale 1 for shares,
    100 for percent, 1000 for per mille). Files not named there use the settings' count-column pattern.
    """
    import fnmatch

    s = settings or load_settings()
    sc = s["scan"]
    count_re = re.compile(sc["count_column_pattern"], re.IGNORECASE)
    not_counts = {c.lower() for c in sc["not_person_counts"]}
    id_res = [re.compile(p) for p in sc["id_patterns"]]
    hash_keys = re.compile(sc["hash_keys"], re.IGNORECASE)
    root = Path(path)
    hits: dict[tuple[str, str, str], int] = {}

    def hit(f, col, rule):
        hits[(f, col, rule)] = hits.get((f, col, rule), 0) + 1

    def ids_in(text) -> bool:
        # a decimal fraction's digits are not an id (a digit run without a point still is)
        if not isinstance(text, str) or _DECIMAL.fullmatch(text.strip()):
            return False
        return any(r.search(text) for r in id_res)

    for fp in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = fp.relative_to(root).as_posix()
        decl = None
        for pat, d in (count_columns_by_file or {}).items():
            if rel == pat or fnmatch.fnmatch(rel, pat):
                decl = d if isinstance(d, dict) else {"counts": list(d)}
                break
        if fp.suffix.lower() == ".json":
            texts, counts = [], []
            try:
                _json_walk(json.loads(fp.read_text(encoding="utf-8")), "", hash_keys, count_re, texts, counts)
            except ValueError:
                hit(rel, "", "unreadable")
                continue
            for k, v in texts:
                if ids_in(v):
                    hit(rel, k, "R12 id-shaped string")
            for k, v in counts:
                if count_is_primary(float(v), s):
                    hit(rel, k, "R2 count 1-9")
            continue
        try:
            tables, text = _tables_of(fp, sc["structural_attributes"])
        except Exception:  # an unreadable published file is itself a finding
            hit(rel, "", "unreadable")
            continue
        for name, header, rows in tables:
            header = [str(h).strip() for h in header]

            def tag(c, name=name):
                return f"{name}: {c}" if name else c

            counts = (
                decl["counts"] if decl else [h for h in header if count_re.fullmatch(h) and h.lower() not in not_counts]
            )
            rates = (decl or {}).get("rates", {})
            col = {h: i for i, h in enumerate(header)}
            for row in rows:
                for i, v in enumerate(row):
                    if ids_in(v if isinstance(v, str) else None):
                        hit(rel, tag(header[i] if i < len(header) else str(i)), "R12 id-shaped string")
                for c in counts:
                    if c in col and col[c] < len(row):
                        x = _num(row[col[c]])
                        if x is not None and float(x).is_integer() and count_is_primary(x, s):
                            hit(rel, tag(c), "R2 count 1-9")
                for rc, (dc, scale) in rates.items():
                    if rc in col and dc in col and max(col[rc], col[dc]) < len(row):
                        r, n = _num(row[col[rc]]), _num(row[col[dc]])
                        if r is None or n is None or n <= 0:
                            continue
                        e = round(r / scale * n)
                        if count_is_primary(e, s):
                            hit(rel, tag(rc), "R3 rate implies a count 1-9")
                        elif 0 <= n - e < s["rate_min_complement"]:
                            hit(rel, tag(rc), "R3 rate implies a complement 0-9")
        for t in text:
            if ids_in(t):
                hit(rel, "text", "R12 id-shaped string")
    return [Finding(f, c, r, f"{k} cell(s)") for (f, c, r), k in sorted(hits.items())]
