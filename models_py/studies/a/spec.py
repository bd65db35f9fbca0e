"""Load and validate study A's published SUR specification (sur_spec.yaml).

The file is the one home of the nine systems; everything else (estimator, simulations, Table 4.12,
the register simulator) works from the validated `Spec` returned by `load_spec`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

SPEC_PATH = Path(__file__).with_name("sur_spec.yaml")
SEXES = ("K", "M")
AGE_PAIRS = ((3, 4), (5, 6), (1, 2))  # solve order: adults feed the elderly-free children's systems
MACRO_SERIES = ("LEDNOR", "LED1", "LED2", "RELINNT1", "RELINNT2", "RELINNT3")
MAX_LAG = 2  # the deepest lag a term may take (t-2, `[-2]` in an expression): inputs start this many years early

_ATOM = re.compile(
    r"^(?:(?P<const>const)|(?P<trend>Trend)"
    r"|(?P<cell>EMI|ANKO|ANME)_(?P<sex>[KM])(?P<age>[1-6])"
    r"|(?P<beh>lnBEH)(?P<bg>[1-3])"
    r"|(?P<rel>lnRELINNT)(?P<rg>[1-3])"
    r"|(?P<led>LEDNOR|LED[12]))"
    rf"(?:\[(?P<lag>-[1-{MAX_LAG}])\])?$"
)


class SpecError(ValueError):
    """The specification file breaks one of its own rules."""


@dataclass(frozen=True)
class Atom:
    """One series at one lag: kind in const/Trend/EMI/ANKO/ANME/lnBEH/lnRELINNT/LED."""

    kind: str
    sex: str | None = None
    age: int | None = None
    group: int | None = None  # lnBEH / lnRELINNT group; None for cell series (the system's group)
    series: str | None = None  # LEDNOR, LED1, LED2
    lag: int = 0  # 0, -1, -2

    @property
    def cell(self) -> str | None:
        return f"{self.sex}{self.age}" if self.sex else None


@dataclass(frozen=True)
class Term:
    param: str
    expr: str
    atoms: tuple[tuple[int, Atom], ...]  # (sign, atom): the term's regressor is sum(sign * atom)


@dataclass
class Equation:
    key: str  # K3, M4, ...
    number: str  # 4.1.1
    terms: list[Term]

    @property
    def sex(self) -> str:
        return self.key[0]

    @property
    def age(self) -> int:
        return int(self.key[1])


@dataclass
class Param:
    name: str
    estimate: float
    t: float
    equations: list[str]

    @property
    def std_error(self) -> float:
        return abs(self.estimate / self.t) if self.t else float("nan")


@dataclass
class System:
    id: int
    group: int
    ages: tuple[int, int]
    table: str
    sample: tuple[int, int]
    equations: dict[str, Equation]
    params: dict[str, Param]
    b1: dict[str, tuple[float, float, float]]
    cov_scale: float
    cov_lower: list[list[float]]
    known_positive: str | list[tuple[str, str]]
    unknown_sign_value: float = 0.0

    @property
    def order(self) -> list[str]:
        return list(self.equations)

    def param_equations(self) -> dict[str, list[str]]:
        """Where each parameter enters, derived from the equations' terms (in equation order)."""
        out: dict[str, list[str]] = {}
        for key, eq in self.equations.items():
            for term in eq.terms:
                out.setdefault(term.param, []).append(key)
        return out

    def restrictions(self) -> list[tuple[str, list[str]]]:
        """Cross-equation equality restrictions: parameters that enter more than one equation."""
        return [(p, eqs) for p, eqs in self.param_equations().items() if len(eqs) > 1]

    def cov_lower_signed(self) -> list[list[float]]:
        """Appendix C's lower triangle (unscaled) with the rule for off-diagonals of unknown sign."""
        known = None if self.known_positive == "all" else {frozenset(p) for p in self.known_positive}
        return [
            [
                self.unknown_sign_value
                if (i != j and known is not None and frozenset((self.order[i], self.order[j])) not in known)
                else float(v)
                for j, v in enumerate(row)
            ]
            for i, row in enumerate(self.cov_lower)
        ]

    def covariance(self) -> np.ndarray:
        """Appendix C as a 4x4 matrix (scaled), with the unknown-sign rule applied."""
        cov = np.zeros((4, 4))
        for i, row in enumerate(self.cov_lower_signed()):
            for j, v in enumerate(row):
                cov[i, j] = cov[j, i] = float(v) * float(self.cov_scale)
        return cov

    def true_coefficients(self) -> dict[str, float]:
        return {p.name: p.estimate for p in self.params.values()}


@dataclass
class Spec:
    version: int
    trend_base_year: int
    systems: list[System]
    variant: str
    variants: dict
    simulation: dict
    estimation: dict = field(default_factory=dict)

    def system(self, system_id: int) -> System:
        for s in self.systems:
            if s.id == system_id:
                return s
        raise KeyError(f"no system {system_id}")

    def solve_order(self) -> list[System]:
        """Systems in the order a year is solved: ages (3,4), then (5,6), then (1,2)."""
        return sorted(self.systems, key=lambda s: (AGE_PAIRS.index(tuple(s.ages)), s.group))


def parse_expr(expr: str) -> tuple[tuple[int, Atom], ...]:
    """'ANKO_K3 + ANME_K3' -> ((+1, Atom ANKO K3), (+1, Atom ANME K3)); any bad token is an error."""
    tokens = str(expr).replace("+", " + ").replace(" - ", " - ").split()
    out, sign, expect_atom = [], 1, True
    for tok in tokens:
        if tok in ("+", "-"):
            if expect_atom:
                raise SpecError(f"expression {expr!r}: operator {tok!r} without a series before it")
            sign, expect_atom = (1 if tok == "+" else -1), True
            continue
        if not expect_atom:
            raise SpecError(f"expression {expr!r}: two series without an operator")
        m = _ATOM.match(tok)
        if not m:
            raise SpecError(f"expression {expr!r}: unknown series {tok!r}")
        lag = int(m["lag"]) if m["lag"] else 0
        if m["const"]:
            atom = Atom("const")
        elif m["trend"]:
            atom = Atom("Trend")
        elif m["cell"]:
            atom = Atom(m["cell"], sex=m["sex"], age=int(m["age"]), lag=lag)
        elif m["beh"]:
            atom = Atom("lnBEH", group=int(m["bg"]), lag=lag)
        elif m["rel"]:
            atom = Atom("lnRELINNT", group=int(m["rg"]), lag=lag)
        else:
            atom = Atom("LED", series=m["led"], lag=lag)
        if atom.kind in ("const", "Trend") and lag:
            raise SpecError(f"expression {expr!r}: {atom.kind} takes no lag")
        out.append((sign, atom))
        sign, expect_atom = 1, False
    if not out or expect_atom:
        raise SpecError(f"expression {expr!r} is empty or ends with an operator")
    return tuple(out)


def _build_system(d: dict, unknown_sign_value: float) -> System:
    sid = d.get("id")
    where = f"system {sid}"
    equations = {}
    for key, e in d["equations"].items():
        terms = []
        for item in e["terms"]:
            if len(item) != 2:
                raise SpecError(f"{where}, equation {key}: a term is [param, expression], got {item!r}")
            terms.append(Term(str(item[0]), str(item[1]), parse_expr(item[1])))
        equations[str(key)] = Equation(str(key), str(e["number"]), terms)
    params = {}
    for name, v in d["params"].items():
        if len(v) != 3:
            raise SpecError(f"{where}, param {name}: expected [estimate, t, equations], got {v!r}")
        params[str(name)] = Param(str(name), float(v[0]), float(v[1]), [str(x) for x in v[2]])
    kp = d["cov"].get("known_positive")
    return System(
        id=int(sid),
        group=int(d["group"]),
        ages=tuple(int(a) for a in d["ages"]),
        table=str(d["table"]),
        sample=tuple(int(y) for y in d["sample"]),
        equations=equations,
        params=params,
        b1={str(k): tuple(float(x) for x in v) for k, v in d["b1"].items()},
        cov_scale=float(d["cov"]["scale"]),
        cov_lower=[[float(x) for x in row] for row in d["cov"]["lower"]],
        known_positive=kp if kp == "all" else [tuple(str(x) for x in pair) for pair in kp],
        unknown_sign_value=unknown_sign_value,
    )


def _apply_variant(raw: dict, variant: str) -> None:
    options = raw["variants"]["s_K3"]["options"]
    if variant not in options:
        raise SpecError(f"unknown s_K3 variant {variant!r}; options: {sorted(options)}")
    by_id = {s["id"]: s for s in raw["systems"]}
    for change in options[variant]:
        sysd = by_id.get(change["system"])
        if sysd is None or change["equation"] not in sysd["equations"] or change["param"] not in sysd["params"]:
            raise SpecError(f"variant {variant!r} refers to a missing system, equation or parameter: {change!r}")
        sysd["equations"][change["equation"]]["terms"].append([change["param"], change["expr"]])
        published_eqs = sysd["params"][change["param"]][2]
        if change["equation"] not in published_eqs:
            published_eqs.append(change["equation"])


def validate(spec: Spec) -> None:
    """Every rule the file must satisfy; the first broken one raises SpecError naming it."""
    if spec.estimation.get("interval") not in ("analytic", "bootstrap_t"):
        raise SpecError(f"estimation.interval must be analytic or bootstrap_t, got {spec.estimation.get('interval')!r}")
    ids = [s.id for s in spec.systems]
    if sorted(ids) != list(range(1, 10)):
        raise SpecError(f"systems must be numbered 1..9 once each, got {ids}")
    cells = {(s.group, s.ages) for s in spec.systems}
    if len(cells) != 9 or {a for _, a in cells} != set(AGE_PAIRS):
        raise SpecError("each country group needs exactly one system per age pair (3,4), (5,6), (1,2)")
    adult_cells = {(s.group, f"{x}{a}") for s in spec.systems if s.ages == (3, 4) for x in SEXES for a in s.ages}
    for s in spec.systems:
        where = f"system {s.id} (Table {s.table})"
        y, o = s.ages
        expected = [f"K{y}", f"K{o}", f"M{y}", f"M{o}"]
        if s.order != expected:
            raise SpecError(f"{where}: equations must be {expected} in that order, got {s.order}")
        if not (s.sample[0] <= s.sample[1]):
            raise SpecError(f"{where}: sample {s.sample} is empty")
        used = s.param_equations()
        for key, eq in s.equations.items():
            names = [t.param for t in eq.terms]
            if len(set(names)) != len(names):
                raise SpecError(f"{where}, equation {eq.number}: a parameter enters twice")
            if not any(t.atoms == ((1, Atom("const")),) for t in eq.terms):
                raise SpecError(f"{where}, equation {eq.number}: no constant")
            exprs = [t.atoms for t in eq.terms]
            if len(set(exprs)) != len(exprs):
                raise SpecError(f"{where}, equation {eq.number}: the same regressor enters twice")
            for t in eq.terms:
                for _, a in t.atoms:
                    if a.kind in ("lnBEH", "lnRELINNT") and a.group != s.group:
                        raise SpecError(f"{where}, equation {eq.number}: {t.expr} is not of group {s.group}")
                    if a.kind == "EMI" and a.lag == 0:
                        if a.cell in s.equations:
                            raise SpecError(
                                f"{where}, equation {eq.number}: {t.expr} is a current dependent of its own system"
                            )
                        if (s.group, a.cell) not in adult_cells:
                            raise SpecError(
                                f"{where}, equation {eq.number}: current {t.expr} must be an adult rate solved earlier"
                            )
                    if a.kind in ("ANKO", "ANME") and a.cell != key:
                        raise SpecError(f"{where}, equation {eq.number}: {t.expr} is not the equation's own cell")
        missing = set(used) - set(s.params)
        if missing:
            raise SpecError(f"{where}: terms use parameters with no published value: {sorted(missing)}")
        unused = set(s.params) - set(used)
        if unused:
            raise SpecError(f"{where}: published parameters not in any equation: {sorted(unused)}")
        for name, p in s.params.items():
            if sorted(p.equations) != sorted(used[name]):
                raise SpecError(f"{where}: parameter {name} is published for {p.equations} but enters {used[name]}")
            if not np.isfinite(p.estimate) or not np.isfinite(p.t) or p.t == 0 or np.sign(p.t) != np.sign(p.estimate):
                raise SpecError(f"{where}: parameter {name} has an estimate and t of different signs or a zero t")
        if set(s.b1) != set(s.equations) or any(len(v) != 3 for v in s.b1.values()):
            raise SpecError(f"{where}: Table B1 needs [R2, LM p, DW] for each equation")
        if [len(r) for r in s.cov_lower] != [1, 2, 3, 4]:
            raise SpecError(f"{where}: Appendix C needs a 4x4 lower triangle")
        if s.known_positive != "all":
            for pair in s.known_positive:
                if len(pair) != 2 or not set(pair) <= set(s.equations) or pair[0] == pair[1]:
                    raise SpecError(f"{where}: known-positive covariance {pair} must name two equations")
        if np.linalg.eigvalsh(s.covariance()).min() <= 0:
            raise SpecError(f"{where}: the Appendix C covariance is not positive definite")
    for name, cf in spec.simulation["counterfactuals"].items():
        bad = set(cf["series"]) - set(MACRO_SERIES)
        if bad:
            raise SpecError(f"counterfactual {name}: unknown series {sorted(bad)}")
    pub = spec.simulation["published_table_4_11"]
    for k, v in pub.items():
        if len(v) != len(pub["years"]):
            raise SpecError(f"published Table 4.11 column {k} has {len(v)} values for {len(pub['years'])} years")


@lru_cache(maxsize=4)
def _load_cached(path: str, variant: str | None) -> Spec:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return build_spec(raw, variant)


def build_spec(raw: dict, variant: str | None = None) -> Spec:
    """A validated Spec from the parsed YAML (a deep copy: the input is not modified)."""
    raw = copy.deepcopy(raw)
    try:
        variant = variant or raw["variants"]["s_K3"]["default"]
        _apply_variant(raw, variant)
        unknown = float(raw["unknown_sign_covariance"])
        spec = Spec(
            version=int(raw["version"]),
            trend_base_year=int(raw["trend_base_year"]),
            systems=[_build_system(d, unknown) for d in raw["systems"]],
            variant=variant,
            variants=raw["variants"],
            simulation=raw["simulation"],
            estimation=raw.get("estimation", {}),
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise SpecError(f"sur_spec.yaml is malformed: {type(exc).__name__}: {exc}") from exc
    validate(spec)
    return spec


def load_spec(variant: str | None = None, path: Path | None = None) -> Spec:
    """The published specification (default s_K3 variant unless named), validated; cached per file."""
    return _load_cached(str(path or SPEC_PATH), variant)


def simulator_systems(spec: Spec) -> list[dict]:
    """The systems in the register simulator's shape: id, group, ages, cov, eq {key: [[coef, expr]]}.

    The covariance lower triangle has the unknown-sign rule applied (values before scaling), so the
    simulator multiplies by cov_scale exactly as before.
    """
    out = []
    for s in spec.systems:
        out.append(
            {
                "id": s.id,
                "group": s.group,
                "ages": list(s.ages),
                "table": s.table,
                "cov_scale": s.cov_scale,
                "cov": s.cov_lower_signed(),
                "eq": {k: [[s.params[t.param].estimate, t.expr] for t in eq.terms] for k, eq in s.equations.items()},
            }
        )
    return out
