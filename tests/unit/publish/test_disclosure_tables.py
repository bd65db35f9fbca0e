"""Disclosure gate on tables: T1-T7 of disclosure_policy.md, with independent oracles (numpy rank, HiGHS)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from models_py.publish.disclosure import RateSpec, TableSpec, audit_pattern, load_settings, protect, round_significant


def table2d(v: np.ndarray, rows=None, cols=None, name="n") -> pd.DataFrame:
    """A 2-D table with its row, column and grand totals (codes 'all')."""
    R, C = v.shape
    rows = rows or [f"r{i}" for i in range(R)]
    cols = cols or [f"c{j}" for j in range(C)]
    recs = [(rows[i], cols[j], v[i, j]) for i in range(R) for j in range(C)]
    recs += [(rows[i], "all", v[i].sum()) for i in range(R)]
    recs += [("all", cols[j], v[:, j].sum()) for j in range(C)]
    recs.append(("all", "all", v.sum()))
    return pd.DataFrame(recs, columns=["r", "c", name])


def spec2d(df, eid="t", family="default"):
    return TableSpec(eid, df, ["r", "c"], {"n": "n"}, margins={"r": "all", "c": "all"}, family=family)


def oracle_relations(df: pd.DataFrame) -> np.ndarray:
    """Margin relations of a 2-D table written from scratch (row totals, column totals)."""
    key = {(r, c): i for i, (r, c) in enumerate(zip(df.r, df.c))}
    rows = []
    for (r, c), i in key.items():
        if r == "all":
            a = np.zeros(len(key))
            a[i] = 1
            for (r2, c2), j in key.items():
                if c2 == c and r2 != "all":
                    a[j] -= 1
            rows.append(a)
        if c == "all":
            a = np.zeros(len(key))
            a[i] = 1
            for (r2, c2), j in key.items():
                if r2 == r and c2 != "all":
                    a[j] -= 1
            rows.append(a)
    return np.array(rows)


def oracle_determined(A: np.ndarray, sup: np.ndarray) -> list[int]:
    """Suppressed cells whose unit vector lies in the row space of the relations restricted to suppressed cells."""
    S = np.flatnonzero(sup)
    As = A[:, S]
    rk = np.linalg.matrix_rank(As)
    out = []
    for k, j in enumerate(S):
        e = np.zeros(len(S))
        e[k] = 1
        if np.linalg.matrix_rank(np.vstack([As, e])) == rk:
            out.append(int(j))
    return out


def oracle_width(A, values, sup, j, fixed=()):
    S = np.flatnonzero(sup)
    P = np.flatnonzero(~sup)
    b = -A[:, P] @ values[P]
    bounds = [(1, 1) if s in fixed else (1, None) for s in S]
    c = (S == j).astype(float)
    lo = linprog(c, A_eq=A[:, S], b_eq=b, bounds=bounds, method="highs")
    hi = linprog(-c, A_eq=A[:, S], b_eq=b, bounds=bounds, method="highs")
    assert lo.status in (0, 3) and hi.status in (0, 3)
    if lo.status == 3 or hi.status == 3:
        return np.inf
    return -hi.fun - lo.fun


def bridge_values():
    """Two 2x2 cycles of small cells joined by one small cell (r0, c2): every line holds 0 or >= 2 of them."""
    v = np.full((5, 5), 60)
    for i, j in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        v[i, j] = 3
    for i, j in [(2, 2), (2, 3), (3, 2), (3, 3)]:
        v[i, j] = 4
    v[0, 2] = 5
    return v


def test_t3_bridge_caught_by_audit_and_fixed_by_protection():
    df = table2d(bridge_values())
    small = ((df.n > 0) & (df.n < 10)).to_numpy()
    # the two-per-line heuristic is satisfied by the primary pattern alone ...
    A = oracle_relations(df)
    per_line = (np.abs(A[:, small]) > 0).sum(axis=1)
    assert set(per_line.tolist()) <= {0, 2, 3}
    # ... yet the joining cell is determined: the oracle and the module's audit agree, and an intruder recovers it
    bridge = int(df.index[(df.r == "r0") & (df.c == "c2")][0])
    assert oracle_determined(A, small) == [bridge]
    res = audit_pattern([spec2d(df)], {"t": {"n": small.tolist()}})["default"]
    assert not res["exact_passed"]
    assert res["determined"] == [("t", bridge, "n")]
    S = np.flatnonzero(small)
    x = np.linalg.lstsq(A[:, S], -A[:, ~small] @ df.n.to_numpy(float)[~small], rcond=None)[0]
    assert round(x[list(S).index(bridge)]) == 5
    # protection adds secondary suppression until nothing is determined
    out = protect([spec2d(df)])
    rec = out.record("t")
    assert rec.status == "pass" and rec.audit["exact_passed"] and rec.audit["interval_passed"]
    sup = out.frames["t"]["n_suppressed"].to_numpy()
    assert sup[small].all() and sup.sum() > small.sum()
    assert oracle_determined(A, sup) == []
    assert rec.primary == 9 and rec.secondary == sup.sum() - 9


def cells_of(df, pairs):
    sup = np.zeros(len(df), dtype=bool)
    for r, c in pairs:
        sup[int(df.index[(df.r == r) & (df.c == c)][0])] = True
    return sup


RECT = [("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")]


def test_t4_interval_audit_with_highs():
    """A rectangle of 1, 1, 40, 40: no cell is a linear function of published values, yet x00 + x01 = 2 with
    both >= 1 pins the ones. A rectangle through larger partners leaves a wide interval."""
    df = table2d(np.array([[1, 1, 50], [40, 40, 50], [30, 30, 60]]))
    A, values = oracle_relations(df), df.n.to_numpy(float)
    j = int(df.index[(df.r == "r0") & (df.c == "c0")][0])
    pinned = cells_of(df, RECT)
    assert oracle_determined(A, pinned) == []
    assert oracle_width(A, values, pinned, j) == pytest.approx(0)
    res = audit_pattern([spec2d(df)], {"t": {"n": pinned.tolist()}})["default"]
    assert res["exact_passed"] and not res["interval_passed"]
    wide = cells_of(
        df, [("r0", "c0"), ("r0", "c2"), ("r1", "c0"), ("r1", "c2"), ("r0", "c1"), ("r2", "c1"), ("r2", "c0")]
    )
    assert oracle_width(A, values, wide, j) >= 1
    res = audit_pattern([spec2d(df)], {"t": {"n": wide.tolist()}})["default"]
    assert res["exact_passed"] and res["interval_passed"] and res["min_width"] >= 1
    out = protect([spec2d(df)])
    sup = out.frames["t"]["n_suppressed"].to_numpy()
    for p in np.flatnonzero((values > 0) & (values < 10)):
        assert oracle_width(A, values, sup, p) >= 1


def test_t5_singletons():
    """A singleton 1 and a 3 share a row (x00 + x01 = 4): each interval is [1, 3] (R5b passes), but the person
    alone in the 1 knows it and reads the 3 exactly (T5)."""
    df = table2d(np.array([[1, 3, 50], [40, 40, 50], [30, 30, 60]]))
    A, values = oracle_relations(df), df.n.to_numpy(float)
    s1 = int(df.index[(df.r == "r0") & (df.c == "c0")][0])
    p3 = int(df.index[(df.r == "r0") & (df.c == "c1")][0])
    sup = cells_of(df, RECT)
    assert oracle_width(A, values, sup, p3) == pytest.approx(2)
    assert oracle_width(A, values, sup, p3, fixed=(s1,)) == pytest.approx(0)
    res = audit_pattern([spec2d(df)], {"t": {"n": sup.tolist()}})["default"]
    assert res["exact_passed"] and res["interval_passed"] and not res["singleton_passed"]
    out = protect([spec2d(df)])
    sup2 = out.frames["t"]["n_suppressed"].to_numpy()
    assert out.record("t").audit["singleton_passed"]
    assert oracle_width(A, values, sup2, p3) >= 1
    assert oracle_width(A, values, sup2, p3, fixed=(s1,)) >= 1


def test_t1_t2_rates_and_complement():
    """R3: N >= 20 and 10 <= e <= N-10; rates round to 3 significant digits; 'everyone' is protected too."""
    df = pd.DataFrame(
        {
            "g": ["a", "b", "c", "d", "e", "all"],
            "emigrants": [0, 12, 25, 15, 40, 92],
            "population": [30, 19, 30, 15, 123, 217],
        }
    )
    df["rate"] = df.emigrants / df.population
    t = TableSpec(
        "r",
        df,
        ["g"],
        {"emigrants": "emigrants", "population": "population"},
        [RateSpec("rate", "emigrants", "population")],
        {"g": "all"},
    )
    out = protect([t])
    f = out.frames["r"]
    s = load_settings()
    for _, row in f.iterrows():
        for c in ("emigrants", "population"):
            assert row[f"{c}_suppressed"] or row[c] == 0 or row[c] >= s["min_persons"]  # T1
        if not row["rate_suppressed"]:
            e, n = df.loc[_, "emigrants"], df.loc[_, "population"]
            assert n >= 20 and (e == 0 or 10 <= e <= n - 10)  # T2
            assert row["rate"] == round_significant(e / n, 3)
    by = f.set_index("g")
    assert not by.loc["a", "rate_suppressed"]  # 0 of 30
    assert by.loc["b", "rate_suppressed"]  # N = 19
    assert by.loc["c", "rate_suppressed"]  # 25 of 30: complement 5
    assert by.loc["d", "rate_suppressed"]  # 15 of 15: everyone
    assert by.loc["e", "rate"] == pytest.approx(0.325)  # 40/123 = 0.32520.. -> 3 digits
    # both counts of 'd' (15 of 15) cannot stay published together, nor those of 'c'
    assert by.loc["d", "emigrants_suppressed"] or by.loc["d", "population_suppressed"]
    assert by.loc["c", "emigrants_suppressed"] or by.loc["c", "population_suppressed"]
    assert out.record("r").audit["interval_passed"]


def test_t6_family_across_tables():
    """National by year, national by year x sex, county x year, pooled years; numerator and denominator."""
    rng = np.random.default_rng(3)
    years, counties, sexes = ["2001", "2002", "2003"], ["k1", "k2", "k3"], ["1", "2"]
    atoms = pd.DataFrame([(y, k, s) for y in years for k in counties for s in sexes], columns=["year", "county", "sex"])
    atoms["pop"] = rng.integers(40, 200, len(atoms))
    atoms["emi"] = rng.integers(0, 14, len(atoms))

    def agg(by, fill):
        g = atoms.groupby(by)[["pop", "emi"]].sum().reset_index() if by else atoms[["pop", "emi"]].sum().to_frame().T
        for d, code in fill.items():
            g[d] = code
        return g

    counts = {"pop": "population", "emi": "emigrants"}
    m = {"year": "all", "sex": "all", "county": "national"}
    # table 1: national by year x sex with sex and year totals (no county column: at its total)
    t1 = pd.concat(
        [
            agg(["year", "sex"], {}),
            agg(["year"], {"sex": "all"}),
            agg(["sex"], {"year": "all"}),
            agg([], {"year": "all", "sex": "all"}),
        ],
        ignore_index=True,
    )
    # table 2: county x year, no sex (at its total), with the national row
    t2 = pd.concat([agg(["county", "year"], {}), agg(["year"], {"county": "national"})], ignore_index=True)
    # table 3: county, years pooled (the year total), emigrants only
    t3 = agg(["county"], {"year": "all"})
    specs = [
        TableSpec("nat", t1, ["year", "sex"], counts, [], {"year": "all", "sex": "all"}, "fam"),
        TableSpec("cty", t2, ["county", "year"], counts, [], {"county": "national", "year": "all"}, "fam"),
        TableSpec("pool", t3, ["county", "year"], {"emi": "emigrants"}, [], m, "fam"),
    ]
    out = protect(specs)
    assert {r.status for r in out.records} <= {"pass", "review"}
    # the same cell is suppressed wherever it appears: national year rows of 'cty' = 'nat' rows with sex = all
    a = out.frames["nat"].query("sex == 'all'").set_index("year")
    b = out.frames["cty"].query("county == 'national'").set_index("year")
    for y in years:
        for c in ("pop", "emi"):
            assert a.loc[y, f"{c}_suppressed"] == b.loc[y, f"{c}_suppressed"]
    # independent audit of the union: cells are atoms' sums; relations come from the atoms, not from the module
    cells = []
    for eid, fr, meas in (
        ("nat", out.frames["nat"], ("pop", "emi")),
        ("cty", out.frames["cty"], ("pop", "emi")),
        ("pool", out.frames["pool"], ("emi",)),
    ):
        src = {"nat": t1, "cty": t2, "pool": t3}[eid]
        for i, row in src.iterrows():
            sel = np.ones(len(atoms), dtype=bool)
            for d in ("year", "sex", "county"):
                code = row.get(d, None) if d in src.columns else None
                if code is not None and code not in ("all", "national"):
                    sel &= (atoms[d] == code).to_numpy()
            for mm in meas:
                cells.append((mm, tuple(sel), float(row[mm]), bool(fr.loc[i, f"{mm}_suppressed"])))
    # T1 on every table
    for _mm, _, v, s_ in cells:
        assert s_ or v == 0 or v >= 10
    # per measure: a published cell is sum of atoms; suppressed primary cells must not be pinned (LP over atoms)
    for mm in ("pop", "emi"):
        cs = {}
        for m_, sel, v, s_ in cells:
            if m_ == mm:
                cs.setdefault(sel, (v, s_))
        pub = [(np.array(sel, float), v) for sel, (v, s_) in cs.items() if not s_]
        prim = [(np.array(sel, float), v) for sel, (v, s_) in cs.items() if s_ and 0 < v < 10]
        Aeq = np.array([p for p, _ in pub])
        beq = np.array([v for _, v in pub])
        for sel, v in prim:
            lo = linprog(sel, A_eq=Aeq, b_eq=beq, bounds=[(0, None)] * len(atoms), method="highs")
            hi = linprog(-sel, A_eq=Aeq, b_eq=beq, bounds=[(0, None)] * len(atoms), method="highs")
            assert lo.status == 0
            width = np.inf if hi.status == 3 else -hi.fun - lo.fun
            assert width >= 1, (mm, v)


def test_t7_determinism():
    from disclosure_synthetic import atoms, study_tables

    a = atoms(seed=5, years=range(2000, 2003), counties=3, groups=3)
    pats = []
    for _ in range(2):
        out = protect(study_tables(a))
        pats.append(b"".join(out.frames[e].filter(like="_suppressed").to_numpy().tobytes() for e in sorted(out.frames)))
    assert pats[0] == pats[1]
    # row order of the input does not change the pattern (cells are keyed by their codes)
    tabs = study_tables(a)
    shuffled = [
        TableSpec(
            t.exhibit_id, t.frame.sample(frac=1, random_state=1), t.dimensions, t.counts, t.rates, t.margins, t.family
        )
        for t in tabs
    ]
    out2 = protect(shuffled)
    out1 = protect(tabs)
    for e in out1.frames:
        x = out1.frames[e].sort_values(tabs[0].dimensions if e == "national" else list(out1.frames[e].columns[:2]))
        y = out2.frames[e].loc[x.index]
        assert (x.filter(like="_suppressed").to_numpy() == y.filter(like="_suppressed").to_numpy()).all()


def test_declaration_errors_fail_the_table_without_values():
    df = table2d(np.array([[3, 40], [50, 60]]))
    df.loc[(df.r == "all") & (df.c == "all"), "n"] += 1  # margin no longer adds up
    out = protect([spec2d(df)])
    rec = out.record("t")
    assert rec.status == "fail" and out.frames["t"] is None
    assert "margins" in rec.reason
    assert not set(re.findall(r"\d+", rec.reason)) & {str(int(x)) for x in df.n}  # R12: no cell value quoted


def test_missing_total_declaration_is_refused():
    a = pd.DataFrame({"year": ["1", "2"], "n": [20, 30]})
    b = pd.DataFrame({"sex": ["m", "f"], "n": [25, 25]})
    out = protect([TableSpec("a", a, ["year"], {"n": "n"}), TableSpec("b", b, ["sex"], {"n": "n"})])
    assert all(r.status == "fail" for r in out.records)
    assert "declares no total" in out.records[0].reason


def test_unpublished_cell_derived_by_differencing_is_protected():
    """Two tables without a common printed total: sex x year and year only; the year-by-sex split is printed
    for one sex per year only, so the other sex follows by subtraction and is small."""
    t1 = pd.DataFrame({"year": ["1", "2"], "n": [40, 50]})
    t2 = pd.DataFrame({"year": ["1", "2"], "sex": ["m", "m"], "n": [37, 20]})  # women: 3 and 30, never printed
    specs = [
        TableSpec("y", t1, ["year"], {"n": "n"}, [], {}, "f"),
        TableSpec("ys", t2, ["year", "sex"], {"n": "n"}, [], {"sex": {"all": ["m", "f"]}}, "f"),
    ]
    out = protect(specs)
    fr_y, fr_ys = out.frames["y"], out.frames["ys"]
    # women in year 1 (3) must not be derivable: one of the two cells of year 1 is suppressed
    assert fr_y.loc[0, "n_suppressed"] or fr_ys.loc[0, "n_suppressed"]
    assert not fr_ys.loc[1, "n_suppressed"] and not fr_y.loc[1, "n_suppressed"]


def test_person_years_judged_on_persons_and_persons_column_dropped():
    df = pd.DataFrame(
        {"g": ["a", "b", "all"], "py": [35.5, 400.0, 435.5], "py_persons": [4, 90, 94], "emi": [0, 12, 12]}
    )
    df["rate"] = df.emi / df.py
    t = TableSpec(
        "py",
        df,
        ["g"],
        {"py": "person_years", "emi": "emigrants"},
        [RateSpec("rate", "emi", "py")],
        {"g": "all"},
        persons={"py": "py_persons"},
    )
    out = protect([t])
    f = out.frames["py"].set_index("g")
    assert "py_persons" not in f.columns
    assert f.loc["a", "py_suppressed"] and f.loc["a", "rate_suppressed"]
    assert f.loc["b", "py_suppressed"]  # secondary: a + b = all


def test_rate_inputs_not_declared_as_counts_are_not_published():
    df = pd.DataFrame({"g": ["a", "b"], "e": [5, 30], "n": [100, 200]})
    df["rate"] = df.e / df.n
    out = protect([TableSpec("r", df, ["g"], {}, [RateSpec("rate", "e", "n")])])
    f = out.frames["r"]
    assert "e" not in f.columns and "n" not in f.columns
    assert f["rate_suppressed"].tolist() == [True, False] and f["rate"].iloc[1] == 0.15


def _returns_onward(sums):
    df = pd.DataFrame(
        {
            "level": ["low", "mid", "high"],
            "returns": [40, 55, 60],
            "onward": [3, 20, 25],  # 3 onward moves in the low group: primary
            "emigrations": [43, 75, 85],
        }
    )
    df["onward_share_pct"] = 100 * df["onward"] / df["emigrations"]
    spec = TableSpec(
        "b",
        df,
        ["level"],
        {"returns": "ret", "onward": "onw", "emigrations": "emi"},
        [RateSpec("onward_share_pct", "onward", "emigrations")],
        {},
        "b",
        sums=sums,
    )
    return protect([spec]).frames["b"]


def test_a_declared_within_row_sum_protects_a_part_from_total_minus_the_other_part():
    """emigrations = returns + onward in every row: with returns and emigrations printed, a suppressed onward count
    is one subtraction away unless the audit knows the sum (the study B descriptives leak)."""
    undeclared = _returns_onward(None)
    low = undeclared.iloc[0]
    assert undeclared.loc[0, "onward_suppressed"]
    # without the declaration the gate cannot see it: 43 - 40 = 3 stays derivable (what the declaration is for)
    assert low["emigrations"] - low["returns"] == 3
    declared = _returns_onward({"emi": ["ret", "onw"]})
    low = declared.iloc[0]
    assert declared.loc[0, "onward_suppressed"] and np.isnan(low["onward"])
    assert declared.loc[0, "returns_suppressed"] or declared.loc[0, "emigrations_suppressed"]
    assert declared.loc[0, "onward_share_pct_suppressed"]  # the share goes with its suppressed numerator
    assert not declared.loc[1:, ["returns_suppressed", "onward_suppressed", "emigrations_suppressed"]].any().any()


def test_a_sum_over_measures_with_other_dimensions_is_refused():
    t1 = pd.DataFrame({"level": ["a"], "emigrations": [30]})
    t2 = pd.DataFrame({"level": ["a"], "year": ["1"], "returns": [20], "onward": [10]})
    specs = [
        TableSpec("t1", t1, ["level"], {"emigrations": "emi"}, [], {"year": "all"}, "f", sums={"emi": ["ret", "onw"]}),
        TableSpec("t2", t2, ["level", "year"], {"returns": "ret", "onward": "onw"}, [], {"year": "all"}, "f"),
    ]
    out = protect(specs)
    assert all(r.status == "fail" for r in out.records)
    assert "do not have its dimensions" in out.records[0].reason


def test_a_rate_whose_numerator_exceeds_its_denominator_is_audited_without_the_subset_relation():
    """A flow classified at the event over a 1 January stock (study A's county rates) can exceed the stock in a cell
    (one emigration, nobody resident on 1 January): numerator <= denominator is then no relation of the audit, which
    would otherwise be infeasible and block the report; the table is protected by its margins as usual."""
    df = pd.DataFrame(
        {
            "county": ["01", "02", "03", "04", "00"],
            "emigrations": [0, 30, 14, 1, 45],
            "population": [40, 120, 60, 0, 220],
        }
    )
    df["rate"] = df.emigrations / df.population.replace(0, np.nan)
    t = TableSpec(
        "c",
        df,
        ["county"],
        {"emigrations": "emigrations", "population": "population"},
        [RateSpec("rate", "emigrations", "population")],
        {"county": "00"},
    )
    out = protect([t])
    record = out.record("c")
    assert record.status != "fail" and "infeasible" not in record.reason, record.reason
    assert out.frames["c"].set_index("county").loc["04", "emigrations_suppressed"]  # the 1 is primary (R2)
