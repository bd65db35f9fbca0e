"""Study B model runs: the main fit and the sensitivity runs of spec B §4.3.6, each the same
estimator on a panel variant, with the disclosure gate of R8 applied before anything is published.

Not estimated: person random effects (unobserved heterogeneity). statsmodels has no random-effects
multinomial logit; spec B §4.4 shows cluster-robust SEs do not correct for frailty, so duration
effects are read with care. The missing-destination variants (persons dropped / emigration year censored /
coded as return) are panels of their own, built by dbt (fct_b_person_year_md_variants, one definition
with the main panel) and fitted by `run_missing_destination`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from models_py.settings import setting
from models_py.studies.b.design import (
    DesignSpec,
    build_design,
    empty_outcome_levels,
    exclude_empty_levels,
    merge_sparse_levels,
)
from models_py.studies.b.mnl import (
    ame_table,
    counts,
    fit_mnl,
    income_points,
    income_profile,
    peak_memory_mb,
    rrr_table,
)

RANDOM_EFFECTS_NOTE = (
    "Person random effects are not estimated (no random-effects multinomial logit in "
    "statsmodels); cluster-robust SEs do not correct for unobserved heterogeneity."
)
ORIGINS = ["nordic", "eu_west", "eu_east", "other_europe", "non_europe"]
SENSITIVITY_RUNS = [
    "nordic_excluded",
    "ever_self_employed_excluded",
    "income_spline",
    "two_step",
    *[f"origin_{o}" for o in ORIGINS],
]


def missing_destination_rules() -> list[str]:
    """The missing-destination rules other than the main one (dbt vars study_b_missing_destination_rules,
    study_b_missing_destination): the rules fct_b_person_year_md_variants builds a risk set for, the runs
    b_sensitivity fits and the runs the gate and label map expect: one list for all of them."""
    main = setting("study_b_missing_destination")
    return [r for r in setting("study_b_missing_destination_rules") if r != main]


def missing_destination_runs() -> list[str]:
    """The runs on the risk sets of missing_destination_rules()."""
    return [f"missing_destination_{r}" for r in missing_destination_rules()]


def level_persons(panel: pd.DataFrame, spec: DesignSpec, model: str, pid: str = "person_id") -> pd.DataFrame:
    """Persons per level of every categorical regressor (binaries as 0/1) and per outcome, as used in
    the fit: the table the R8 check reads (a published model has every count >= the threshold)."""
    rows = []
    for v in ["y", *_design_vars(spec)]:
        per = panel.groupby(v, observed=True)[pid].nunique()
        for lv, k in per.items():
            label = str(int(lv)) if isinstance(lv, (bool, np.bool_)) else str(lv)
            rows.append(
                {
                    "model": model,
                    "variable": "outcome" if v == "y" else v,
                    "level": ["stay", "return", "onward"][int(lv)] if v == "y" else label,
                    "persons": int(k),
                }
            )
    return pd.DataFrame(rows, columns=["model", "variable", "level", "persons"])


def _design_vars(spec: DesignSpec) -> list[str]:
    d_vars = [c for c in spec.cats if not (c == "inc_group" and spec.income != "groups")]
    return d_vars + (["year"] if spec.year_fe else []) + list(spec.binaries)


def empty_outcome_cells(panel: pd.DataFrame, spec: DesignSpec, outcome: str = "y") -> list[str]:
    """Levels in which an outcome category never occurs: the coefficient's MLE does not exist
    (separation), so the model is not fitted; names variable, level and outcome only."""
    problems = []
    names = {0: "stay", 1: "return", 2: "onward"} if outcome == "y" else {0: "no-event", 1: "event"}
    for v in _design_vars(spec):
        for lv, missing in empty_outcome_levels(panel, v, outcome).items():
            problems += [f"{v}={lv}: no {names.get(int(j), j)} outcome" for j in missing]
    return problems


def publication_problems(
    panel: pd.DataFrame, spec: DesignSpec, n_params: int | None, min_persons: int, min_df: int, pid: str = "person_id"
) -> list[str]:
    """R8: residual df >= min_df and every level of every categorical regressor (binaries as two
    levels) and every outcome category held by >= min_persons persons. Messages name the variable
    and level only, never a count or a person."""
    problems = []
    outcome_persons = panel.groupby("y")[pid].nunique()
    for j, name in enumerate(["stay", "return", "onward"]):
        if outcome_persons.get(j, 0) < min_persons:
            problems.append(f"outcome {name}: fewer than {min_persons} persons")
    for v in _design_vars(spec):
        per = panel.groupby(v, observed=True)[pid].nunique()
        if v in spec.binaries and len(per) < 2:
            problems.append(f"{v}: no variation")
        for lv, k in per.items():
            if k < min_persons:
                problems.append(f"{v}={lv}: fewer than {min_persons} persons")
    if n_params is not None and len(panel) - n_params < min_df:
        problems.append(f"residual df below {min_df}")
    return problems


@dataclass
class RunResult:
    model: str
    publishable: bool
    problems: list[str]
    merged: list[str]
    counts: pd.DataFrame
    levels: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)
    rrr: pd.DataFrame | None = None
    ame: pd.DataFrame | None = None
    income_profile: pd.DataFrame | None = None


def run_model(
    panel: pd.DataFrame,
    spec: DesignSpec,
    model: str,
    min_persons: int,
    min_df: int,
    margins: bool = True,
    pid: str = "person_id",
) -> RunResult:
    """Drop nominal levels without an outcome, merge sparse ordered bands, check R8, fit, and build the
    publishable tables. A run that fails R8 returns its problems and counts only (nothing estimated is published)."""
    # first the nominal levels without an outcome leave (that can empty a year or band of an outcome), then the
    # ordered bands and years are merged (merging relabels rows, it never empties a nominal level)
    panel, excluded = exclude_empty_levels(panel, spec)
    panel, spec, merged = merge_sparse_levels(panel, spec, min_persons, pid=pid)
    merged = excluded + merged
    n_params_guess = None
    problems = publication_problems(panel, spec, n_params_guess, min_persons, min_df, pid=pid)
    cnt = counts(panel, model, pid=pid)
    problems = problems or empty_outcome_cells(panel, spec)
    if problems:
        return RunResult(model, False, problems, merged, cnt)
    try:
        fit = fit_mnl(panel, spec, model=model, pid=pid)
    except (RuntimeError, np.linalg.LinAlgError) as exc:  # not converged / singular: publish nothing estimated
        return RunResult(model, False, [f"{model}: fit failed ({type(exc).__name__})"], merged, cnt)
    problems = publication_problems(panel, spec, fit.params.size, min_persons, min_df, pid=pid)
    res = RunResult(
        model,
        not problems,
        problems,
        merged + fit.design.aliased,
        cnt,
        summary=dict(fit.summary),
        levels=level_persons(panel, spec, model, pid=pid),
    )
    if problems:
        return res
    res.rrr = rrr_table(fit)
    if margins:
        t0 = time.perf_counter()
        res.ame = ame_table(fit)
        res.income_profile = income_profile(fit, income_points(panel, fit, min_persons, pid=pid))
        res.summary["margins_seconds"] = round(time.perf_counter() - t0, 3)
    res.summary["peak_memory_mb"] = round(peak_memory_mb(), 1)
    return res


def _spline_panel(panel: pd.DataFrame, base: DesignSpec) -> tuple[pd.DataFrame, DesignSpec]:
    """Income as a linear spline in inc_pct instead of groups; rows without earned income get inc_pct 0
    and a no_income indicator (the groups model's 'none' level)."""
    p = panel.copy()
    p["no_income"] = p["inc_pct"].isna()
    p["inc_pct"] = p["inc_pct"].fillna(0.0)
    binaries = [*base.binaries, "no_income"] if p["no_income"].any() else list(base.binaries)
    return p, replace(base, cats=dict(base.cats), binaries=binaries, income="spline")


def variant(panel: pd.DataFrame, run: str, base: DesignSpec | None = None) -> tuple[pd.DataFrame, DesignSpec]:
    """The panel and design of one sensitivity run: the main design `base` on a panel variant."""
    base = base or DesignSpec()
    if run == "nordic_excluded":
        return panel[~panel["nordic_route"].astype(bool)], base
    if run == "ever_self_employed_excluded":
        return panel[~panel["ever_self_employed"].astype(bool)], base
    if run == "income_spline":
        return _spline_panel(panel, base)
    if run.startswith("origin_"):
        cats = {k: v for k, v in base.cats.items() if k != "origin"}
        return panel[panel["origin"] == run.removeprefix("origin_")], replace(base, cats=cats)
    raise ValueError(f"unknown sensitivity run {run!r}")


def two_step(
    panel: pd.DataFrame, min_persons: int, min_df: int, pid: str = "person_id", base: DesignSpec | None = None
) -> RunResult:
    """Spec B §2.3 variant (b): a logit for leave vs stay on every person-year, then a logit for
    onward vs return on the emigration rows; cluster-robust by person; tidy rows like rrr_table."""
    spec = base or DesignSpec()
    panel, spec, merged = merge_sparse_levels(panel, spec, min_persons, pid=pid)
    problems = publication_problems(panel, spec, None, min_persons, min_df, pid=pid)
    cnt = counts(panel, "two_step", pid=pid)
    if problems:
        return RunResult("two_step", False, problems, merged, cnt)
    z95 = stats.norm.ppf(0.975)
    rows, summary = [], {"model": "two_step"}
    em_all = panel[panel["y"] > 0]
    em, em_spec, em_merged = merge_sparse_levels(em_all, spec, min_persons, pid=pid)
    empty = empty_outcome_cells(panel.assign(_leave=(panel["y"] > 0).astype(int)), spec, outcome="_leave")
    empty += [f"emigrants {p}" for p in empty_outcome_cells(em, em_spec)]
    if empty:
        return RunResult("two_step", False, empty, merged, cnt)
    em_levels = level_persons(em, em_spec, "two_step", pid=pid)
    thin = em_levels[(em_levels["variable"] != "outcome") & (em_levels["persons"] < min_persons)]
    if len(thin) or (em["y"] == 2).groupby(em[pid]).any().sum() < min_persons:
        return RunResult(
            "two_step",
            False,
            [f"emigrants {v}={lv}: fewer than {min_persons} persons" for v, lv in zip(thin["variable"], thin["level"])]
            or [f"emigrants: fewer than {min_persons} onward persons"],
            merged,
            cnt,
        )
    for eq, data, dspec, outcome in (
        ("leave_vs_stay", panel, spec, panel["y"] > 0),
        ("onward_vs_return", em, em_spec, em["y"] == 2),
    ):
        d = build_design(data, dspec)
        try:
            res = sm.Logit(outcome.astype(float).to_numpy(), d.X, check_rank=False).fit(
                method="newton",
                disp=0,
                maxiter=100,
                cov_type="cluster",
                cov_kwds={"groups": pd.factorize(data[pid])[0]},
            )
        except np.linalg.LinAlgError:
            return RunResult("two_step", False, [f"two-step {eq} logit: singular design"], merged, cnt)
        if not res.mle_retvals.get("converged", False):
            return RunResult("two_step", False, [f"two-step {eq} logit did not converge"], merged, cnt)
        b, se = np.asarray(res.params), np.asarray(res.bse)
        summary[f"{eq}_llf"] = float(res.llf)
        summary[f"{eq}_observations"] = int(len(data))
        # the binding residual df is the smaller equation's (the emigration rows)
        summary["df_resid"] = min(summary.get("df_resid", len(data)), int(len(data) - len(b)))
        summary["n_params"] = summary.get("n_params", 0) + int(len(b))
        summary["llf"] = summary.get("llf", 0.0) + float(res.llf)
        for t, bi, si in zip(d.names, b, se):
            rows.append(
                {
                    "model": "two_step",
                    "equation": eq,
                    "term": t,
                    "estimate": float(bi),
                    "std_error": float(si),
                    "z": float(bi / si),
                    "p_value": float(2 * stats.norm.sf(abs(bi / si))),
                    "rrr": float(np.exp(bi)),
                    "ci_low": float(np.exp(bi - z95 * si)),
                    "ci_high": float(np.exp(bi + z95 * si)),
                }
            )
    summary["converged"] = True
    levels = pd.concat(
        [
            level_persons(panel, spec, "two_step", pid=pid),
            level_persons(em, em_spec, "two_step", pid=pid).assign(variable=lambda f: "emigrants:" + f["variable"]),
        ],
        ignore_index=True,
    )
    return RunResult(
        "two_step",
        True,
        [],
        merged + [f"emigrants: {m}" for m in em_merged],
        cnt,
        summary=summary,
        rrr=pd.DataFrame(rows),
        levels=levels,
    )


def run_sensitivity(
    panel: pd.DataFrame, run: str, min_persons: int, min_df: int, pid: str = "person_id", base: DesignSpec | None = None
) -> RunResult:
    if run == "two_step":
        return two_step(panel, min_persons, min_df, pid=pid, base=base)
    p, spec = variant(panel, run, base)
    # a run publishes its coefficient table and counts; margins belong to the main model
    return run_model(p, spec, run, min_persons, min_df, margins=(run == "income_spline"), pid=pid)


def run_missing_destination(
    panel: pd.DataFrame,
    rule: str,
    min_persons: int,
    min_df: int,
    pid: str = "person_id",
    base: DesignSpec | None = None,
) -> RunResult:
    """The main design on the risk set built under another missing-destination rule (spec B §4.1 [I]):
    run `missing_destination_<rule>`; coefficients and counts only, like the other sensitivity runs."""
    return run_model(
        panel, base or DesignSpec(), f"missing_destination_{rule}", min_persons, min_df, margins=False, pid=pid
    )


MAIN_COLUMNS = {"rrr": "main_rrr", "ci_low": "main_ci_low", "ci_high": "main_ci_high"}


def sensitivity_table(results: list[RunResult], main: pd.DataFrame | None = None) -> pd.DataFrame:
    """models.b_sensitivity: one block of rows per publishable run (relative risk ratios), long, each term beside
    the main model's ratio and interval for the same equation and term (`main`: the main model's rrr_table; null
    where the main model has no such term or was not published). The two-step run's onward-vs-return logit sits
    beside the main model's onward-vs-return contrast; its leave-vs-stay equation has no counterpart."""
    columns = ["run", "model", "equation", "term", "estimate", "std_error", "z", "p_value", "rrr", "ci_low", "ci_high"]
    parts = [r.rrr.assign(run=r.model) for r in results if r.publishable and r.rrr is not None]
    table = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    )
    beside = (
        main[["equation", "term", *MAIN_COLUMNS]].rename(columns=MAIN_COLUMNS)
        if main is not None and len(main)
        else pd.DataFrame({c: pd.Series(dtype=t) for c, t in [("equation", str), ("term", str)]})
    )
    out = table.merge(beside, on=["equation", "term"], how="left", validate="many_to_one")
    for column in MAIN_COLUMNS.values():
        out[column] = (
            out[column].astype("Float64") if column in out else pd.Series(pd.NA, index=out.index, dtype="Float64")
        )
    return out
