"""T9 (models, R8/R9) and the independent scan of a published folder (every format)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from models_py.publish.disclosure import (
    RateSpec,
    TableSpec,
    category_persons,
    check_model,
    load_settings,
    scan_published_folder,
)

ALLOWED = ["term", "coef", "std_err", "ci_low", "ci_high", "p_value", "nobs", "llf", "pseudo_r2", "aic", "bic"]


def simulated_logit(n_small: int, seed: int = 0):
    """A person-level logit with a known effect; one category of the regressor holds n_small persons."""
    rng = np.random.default_rng(seed)
    n = 2000
    region = np.array(["a"] * (n - n_small - 900) + ["b"] * 900 + ["c"] * n_small)
    x = rng.normal(size=n)
    beta = {"a": -1.0, "b": -0.5, "c": 0.0}
    p = 1 / (1 + np.exp(-(np.vectorize(beta.get)(region) + 0.8 * x)))
    y = rng.binomial(1, p)
    df = pd.DataFrame({"person": np.arange(n), "region": region, "x": x, "y": y})
    X = sm.add_constant(pd.get_dummies(df[["region"]], drop_first=True, dtype=float).assign(x=df.x))
    fit = sm.Logit(df.y, X).fit(disp=0)
    assert abs(fit.params["x"] - 0.8) < 0.2  # the estimator recovers the simulated effect
    return df, fit


def test_t9_a_category_of_three_persons_blocks_the_model():
    df, fit = simulated_logit(3)
    rec = check_model(
        "logit_small",
        "person",
        fields=ALLOWED,
        residual_df=fit.df_resid,
        category_persons=category_persons(df, ["region"], "person"),
        outcome_persons={str(k): int(v) for k, v in df.y.value_counts().items()},
    )
    assert rec.status == "fail" and "regressor region: 1 level" in rec.reason
    assert "3" not in rec.reason.replace("R8", "")  # the small count is not quoted (R12)
    df, fit = simulated_logit(60)
    ok = check_model(
        "logit_ok",
        "person",
        fields=ALLOWED,
        residual_df=fit.df_resid,
        category_persons=category_persons(df, ["region"], "person"),
        outcome_persons={str(k): int(v) for k, v in df.y.value_counts().items()},
    )
    assert ok.status == "pass", ok.reason


def test_t9_forbidden_fields_and_small_outcome_and_df():
    df, fit = simulated_logit(60)
    cats = category_persons(df, ["region"], "person")
    rec = check_model(
        "m",
        "person",
        fields=[*ALLOWED, "resid", "fittedvalues", "leverage"],
        residual_df=fit.df_resid,
        category_persons=cats,
        outcome_persons={"0": 1990, "1": 10},
    )
    assert rec.status == "fail"
    assert "fittedvalues, leverage, resid" in rec.reason
    assert (
        check_model(
            "m",
            "person",
            fields=ALLOWED,
            residual_df=fit.df_resid,
            category_persons=cats,
            outcome_persons={"0": 1991, "1": 9},
        ).status
        == "fail"
    )
    assert check_model("m", "person", fields=ALLOWED, residual_df=9, category_persons=cats).status == "fail"
    # the whitelist comes from the settings file: a field listed there passes, the rest is refused
    s = load_settings()
    assert (
        check_model(
            "m", "person", fields=s["models"]["person_level_fields"], residual_df=50, category_persons=cats
        ).status
        == "pass"
    )


def test_t9_aggregate_series_model():
    good = pd.DataFrame({"year": ["1", "2", "3"], "e": [12, 30, 0], "n": [100, 200, 50]})
    good["rate"] = good.e / good.n
    spec = TableSpec("series", good, ["year"], {"e": "emigrants", "n": "population"}, [RateSpec("rate", "e", "n")])
    assert (
        check_model(
            "var",
            "aggregate",
            fields=["equation", "term", "coef", "resid_cov"],
            residual_df={"eq1": 25, "eq2": 25},
            input_tables=[spec],
        ).status
        == "pass"
    )
    assert (
        check_model("var", "aggregate", fields=["coef"], residual_df={"eq1": 25, "eq2": 8}, input_tables=[spec]).status
        == "fail"
    )
    bad = good.assign(e=[12, 5, 0])
    spec_bad = TableSpec("series", bad, ["year"], {"e": "emigrants", "n": "population"}, [RateSpec("rate", "e", "n")])
    rec = check_model("var", "aggregate", fields=["coef"], residual_df=30, input_tables=[spec_bad])
    assert rec.status == "fail" and "fail R2/R3" in rec.reason


@pytest.fixture
def published(tmp_path):
    """A small published folder: one planted violation per format, everything else clean."""
    root = tmp_path / "pub"
    (root / "tables").mkdir(parents=True)
    # CSV: one count of 4 in column 'emigrants'; the 'year' column and a rate of a safe cell must not be flagged
    pd.DataFrame(
        {"year": [2001, 2002, 2003], "emigrants": [0, 4, 40], "population": [50, 60, 400], "rate": [0.0, None, 0.1]}
    ).to_csv(root / "tables" / "a.csv", index=False)
    # Parquet: a rate that implies 3 events beside its denominator (3/150 = 2 %)
    pd.DataFrame({"group": ["x", "y"], "population": [150, 500], "rate_pct": [2.0, 10.0]}).to_parquet(
        root / "tables" / "b.parquet"
    )
    # XLSX: a count of 7 on a second sheet
    with pd.ExcelWriter(root / "tables" / "c.xlsx", engine="openpyxl") as xw:
        pd.DataFrame({"county": ["k1"], "persons": [500]}).to_excel(xw, sheet_name="ok", index=False)
        pd.DataFrame({"county": ["k2"], "persons": [7]}).to_excel(xw, sheet_name="small", index=False)
    # HTML: suppressed cells print ':', one person id leaks in a table cell; a count of 12 with thousands separators
    (root / "index.html").write_text(
        "<html><body><h1>Report 2023</h1><table><tr><th>year</th><th>emigrants</th></tr>"
        "<tr><td>2001</td><td>:</td></tr><tr><td>2002</td><td>1 234</td></tr><tr><td>2003</td><td>12</td></tr>"
        "</table><table><tr><th>note</th></tr><tr><td>see P0000012345</td></tr></table></body></html>",
        encoding="utf-8",
    )
    # SVG: an event id in a tooltip text
    (root / "fig.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="2">rate 2001</text><title>E00000000042</title></svg>',
        encoding="utf-8",
    )
    # manifest.json: checksums are not ids; a count of 2 under a count key is
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "files": [{"path": "tables/a.csv", "sha256": "ab" * 32}],
                "persons": 2,
                "rows": 3,
                "generated": "2026-11-28T04:00:00Z",
            }
        ),
        encoding="utf-8",
    )
    return root


def test_scan_finds_each_planted_violation_and_nothing_else(published):
    decl = {"tables/b.parquet": {"counts": ["population"], "rates": {"rate_pct": ["population", 100]}}}
    found = scan_published_folder(published, decl)
    got = {(f.file, f.column, f.rule) for f in found}
    assert got == {
        ("tables/a.csv", "emigrants", "R2 count 1-9"),
        ("tables/b.parquet", "rate_pct", "R3 rate implies a count 1-9"),
        ("tables/c.xlsx", "small: persons", "R2 count 1-9"),
        ("index.html", "table 2: note", "R12 id-shaped string"),
        ("fig.svg", "text", "R12 id-shaped string"),
        ("manifest.json", "persons", "R2 count 1-9"),
    }
    # findings never carry the value
    for f in found:
        assert not any(tok in f.detail for tok in ("P0000012345", "E00000000042")) and f.detail.endswith("cell(s)")


def test_scan_of_a_clean_folder_is_empty(published):
    (published / "tables" / "a.csv").unlink()
    (published / "tables" / "c.xlsx").unlink()
    (published / "index.html").write_text("<table><tr><th>emigrants</th></tr><tr><td>:</td></tr></table>")
    (published / "fig.svg").write_text("<svg><text>2001</text></svg>")
    (published / "manifest.json").write_text(json.dumps({"sha256": "cd" * 32, "persons": 0}))
    (published / "tables" / "b.parquet").unlink()
    assert scan_published_folder(published) == []
