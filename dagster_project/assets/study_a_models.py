"""Study A chapter 4 assets: the nine restricted iterated SUR systems, their simulations and Table 4.12.

Thin: the statistics live in models_py.studies.a; these assets read the EMI mart and the macro seed,
call it, and write tidy tables into the warehouse schema `models`.
"""

import time

import dagster as dg
import numpy as np
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from dagster_project.assets.dbt import dbt_models, relation_of
from dagster_project.partitions import DUCKDB_POOL
from dagster_project.resources import Warehouse
from models_py.publish import disclosure
from models_py.publish.gate import record_model_check
from models_py.studies.a import simulate as sim
from models_py.studies.a.inputs import (
    CELL_COUNT_COLUMNS,
    CELL_COUNTS,
    build_design,
    build_panel,
    cell_series,
    input_years,
    missing_inputs,
    pool_input_cells,
    pooled_cells_per_system,
    reads_series,
)
from models_py.studies.a.simulate import PanelArrays
from models_py.studies.a.spec import load_spec
from models_py.studies.a.sur import fit_system, tidy
from models_py.studies.a.table_4_12 import table_4_12
from models_py.warehouse import replace_table

GROUP = "study_a"  # with the study's marts and exhibits: one group per study in the UI
RATES_MODEL, MACRO_SEED = "rate_a_macro", "macro_series"
FIT_TABLES = ("coefficients", "diagnostics", "residual_cov", "systems")
# Tables this module writes, for the exhibits that read them (models_py/exhibits/study_a.yaml).
MODEL_TABLES = {
    **{f"models.a_sur_{name}": "a_sur_fit" for name in FIT_TABLES},
    "models.a_sur_simulation": "a_sur_simulation",
    "models.a_sur_counterfactuals": "a_sur_counterfactuals",
    "models.a_table_4_12": "a_table_4_12",
}


def _drop(con, *tables: str) -> None:
    """Outputs of a stage that cannot run on these data are removed, so no stale estimate is published."""
    for table in tables:
        con.execute(f"drop table if exists models.{table}")
        con.execute("delete from models.model_gate where output_table = ?", [f"models.{table}"]) if _has(
            con, "model_gate"
        ) else None


def _has(con, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'models' and table_name = ?", [table]
        ).fetchall()[0][0]
    )


def _min_df(con) -> float:
    return con.execute("select min(min_residual_df) from models.a_sur_systems").fetchall()[0][0]


def _record_verdicts(con, tables: dict[str, pd.DataFrame], residual_df: dict, series: set | None = None) -> None:
    """R9 (aggregate-series models): every input cell the outputs were fitted on (after pooling: every block of
    models.a_sur_input_cells; `series`: the (group, sex, age) series they read, default all 36) passes R2/R3 for
    EMI, ANKO and ANME, and every equation keeps 10 residual df; the verdict per output table lets the
    disclosure gate publish it."""
    cells = con.execute(
        "select distinct country_group, sex, age_group, block_start, block_end, "
        + ", ".join(f"block_{c}" for c in CELL_COUNT_COLUMNS)
        + " from models.a_sur_input_cells"
    ).df()
    if series is not None:
        cells = cells[reads_series(cells, series)]
    frame = cells.rename(columns={f"block_{c}": c for c in CELL_COUNT_COLUMNS})
    inputs = disclosure.TableSpec(
        "a_sur_input_cells",
        frame,
        ["country_group", "sex", "age_group", "block_start"],
        {c: c for c in CELL_COUNT_COLUMNS},
        [disclosure.RateSpec(rate, e, n) for rate, (e, n) in CELL_COUNTS.items()],
    )
    for name, out in tables.items():
        record = disclosure.check_model(
            f"models.{name}", "aggregate", fields=list(out.columns), residual_df=residual_df, input_tables=[inputs]
        )
        record_model_check(con, f"models.{name}", record, list(out.columns))


def _write(con, table: str, frame: pd.DataFrame) -> None:
    replace_table(con, "models", table, frame)


def _panel(con) -> pd.DataFrame:
    long = con.execute("select year, series, value from models.a_sur_inputs").df()
    wide = long.pivot(index="year", columns="series", values="value").sort_index()
    # lags are shifts: the index must hold every year
    return wide.reindex(pd.RangeIndex(int(wide.index.min()), int(wide.index.max()) + 1, name="year"))


def _sample_years(spec) -> tuple[int, int]:
    return min(s.sample[0] for s in spec.systems), max(s.sample[1] for s in spec.systems)


@dg.asset(
    deps=[get_asset_key_for_model([dbt_models], RATES_MODEL), get_asset_key_for_model([dbt_models], MACRO_SEED)],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"python"},
    description="Study A Table 4.1 inputs: EMI/ANKO/ANME/POP by group x sex x age and BEH from rate_a_macro, "
    "with the macro series of the seed (1988 on, for the lags), as one long table (year, series, value). "
    "Empty (and nothing estimated downstream) when no system's estimation sample is covered by the delivered "
    "register years and cells; systems not covered are listed in the metadata.",
)
def a_sur_inputs(context: dg.AssetExecutionContext, warehouse: Warehouse):
    spec = load_spec()
    lo, hi = _sample_years(spec)
    with warehouse.connect() as con:
        rates = con.execute(
            "select year, country_group, sex, age_group, emi, anko, anme, population_jan1, beh, small_cell, "
            f"{', '.join(c for c in CELL_COUNT_COLUMNS if c != 'population_jan1')} "
            f"from {relation_of(RATES_MODEL)} where country_group between 1 and 3 and sex in (1, 2)"
        ).df()
        macro = con.execute(
            f"select year, lednor, led1, led2, relinnt1, relinnt2, relinnt3 from {relation_of(MACRO_SEED)}"
        ).df()
        # R9: only the years the systems read (samples with two lags), each failing cell pooled with its
        # neighbouring years until it passes; the blocks stay internal (models.a_sur_input_cells)
        cells = pool_input_cells(rates, input_years((lo, hi)))
        _write(con, "a_sur_input_cells", cells)
        panel = build_panel(cells, macro)
        missing = missing_inputs(spec, panel)
        if missing:
            # series names and years only (no cell counts): a system needs its full 1990/91-2013 sample
            context.log.warning("study A SUR systems not estimable, inputs incomplete: " + "; ".join(missing.values()))
        if len(missing) == len(spec.systems):
            _drop(con, "a_sur_inputs", *(f"a_sur_{n}" for n in FIT_TABLES), "a_sur_simulation", "a_sur_counterfactuals")
            yield dg.MaterializeResult(metadata={"estimable_systems": 0})
            return
        long = panel.rename_axis("year").reset_index().melt(id_vars="year", var_name="series", value_name="value")
        _write(con, "a_sur_inputs", long)  # blanks kept as null: every series keeps its column
    in_sample = rates[rates["year"].between(*input_years((lo, hi)))]
    yield dg.MaterializeResult(
        metadata={
            "years": f"{int(panel.index.min())}-{int(panel.index.max())}",
            "series": int(panel.shape[1]),
            "small_input_cells": int(in_sample["small_cell"].fillna(True).astype(bool).sum()),
            "pooled_input_cells": int(cells["pooled"].sum()),
            "input_cells": len(cells),
            "systems_not_estimable": dg.MetadataValue.json({str(k): v for k, v in missing.items()}),
        }
    )


@dg.asset_check(
    asset=a_sur_inputs,
    blocking=False,
    pool=DUCKDB_POOL,
    description="No rate series of the estimation years (with lags) comes from a cell flagged small_cell "
    "(dbt var small_cell_threshold). Warns: the series enter only aggregate estimates.",
)
def a_sur_inputs_no_small_cells(warehouse: Warehouse) -> dg.AssetCheckResult:
    spec = load_spec()
    lo, hi = _sample_years(spec)
    with warehouse.connect() as con:
        n, small = con.execute(
            "select count(*), count(*) filter (where small_cell or small_cell is null) "
            f"from {relation_of(RATES_MODEL)} "
            "where country_group between 1 and 3 and sex in (1, 2) and year between ? and ?",
            list(input_years((lo, hi))),
        ).fetchone()
    return dg.AssetCheckResult(
        passed=bool(small == 0),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"input_cells": int(n), "small_cells": int(small)},
    )


@dg.asset(
    deps=[a_sur_inputs],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"linearmodels"},
    description="Tables 4.2-4.10, B1 and Appendix C: each of the nine systems by iterated FGLS (linearmodels SUR) "
    "with the cross-equation equality restrictions of models_py/studies/a/sur_spec.yaml, beside the published values.",
)
def a_sur_fit(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    spec = load_spec()
    with warehouse.connect() as con:
        if not _has(con, "a_sur_inputs"):
            _drop(con, *(f"a_sur_{n}" for n in FIT_TABLES))
            return dg.MaterializeResult(metadata={"systems_fitted": 0})
        panel = _panel(con)
        skip = set(missing_inputs(spec, panel))
        design = build_design(spec, panel)
        arrays = PanelArrays(panel, spec.trend_base_year)  # the observed rates, for the bootstrap intervals
        started = time.perf_counter()
        fits = {}
        for system in spec.systems:
            if system.id in skip:
                continue
            try:
                fits[system.id] = fit_system(system, design, spec.estimation, arrays)
            except (ValueError, np.linalg.LinAlgError) as exc:  # degenerate data, e.g. a singular Sigma
                context.log.warning(f"system {system.id} not estimated: {type(exc).__name__}: {exc}")
                skip.add(system.id)
        if not fits:
            _drop(con, *(f"a_sur_{n}" for n in FIT_TABLES))
            return dg.MaterializeResult(metadata={"systems_fitted": 0, "systems_not_estimable": str(sorted(skip))})
        seconds = time.perf_counter() - started
        tables = tidy(fits)
        tables["systems"]["variant"] = spec.variant
        cells = con.execute("select country_group, sex, age_group, year, pooled from models.a_sur_input_cells").df()
        tables["systems"] = tables["systems"].merge(pooled_cells_per_system(spec, cells), on="system", how="left")
        for name, frame in tables.items():
            _write(con, f"a_sur_{name}", frame)
        _record_verdicts(
            con,
            {f"a_sur_{n}": f for n, f in tables.items()},
            {
                f"system {k}": float(v)
                for k, v in zip(tables["systems"]["system"], tables["systems"]["min_residual_df"])
            },
            set().union(*(cell_series(s) for s in spec.systems if s.id in fits)),
        )
    s = tables["systems"]
    return dg.MaterializeResult(
        metadata={
            "fit_seconds_all_systems": round(seconds, 3),
            "s_K3_variant": spec.variant,
            "systems_fitted": len(fits),
            "systems_not_estimable": str(sorted(skip)),
            "iterations": dg.MetadataValue.json({int(k): int(v) for k, v in zip(s["system"], s["iterations"])}),
            "converged": bool(s["converged"].all()),
            "max_restriction_violation": float(s["max_restriction_violation"].max()),
        }
    )


def _systems(warehouse: Warehouse) -> pd.DataFrame:
    """The fitted systems; empty when nothing was estimable on these data (then nothing is published either)."""
    with warehouse.connect() as con:
        if not _has(con, "a_sur_systems"):
            return pd.DataFrame(columns=["system", "converged", "max_restriction_violation"])
        return con.execute("select * from models.a_sur_systems order by system").df()


@dg.asset_check(
    asset=a_sur_fit,
    blocking=True,
    pool=DUCKDB_POOL,
    description="Every fitted system converged (iterations below the limit, finite estimates).",
)
def a_sur_fit_converged(warehouse: Warehouse) -> dg.AssetCheckResult:
    s = _systems(warehouse)
    bad = s.loc[~s["converged"].astype(bool), "system"].tolist()
    return dg.AssetCheckResult(passed=not bad, metadata={"systems": len(s), "not_converged": str(bad)})


@dg.asset_check(
    asset=a_sur_fit,
    blocking=True,
    pool=DUCKDB_POOL,
    description="Every equation keeps at least min_residual_df (sur_spec.yaml) residual degrees of freedom.",
)
def a_sur_fit_residual_df(warehouse: Warehouse) -> dg.AssetCheckResult:
    need = int(load_spec().estimation["min_residual_df"])
    if _systems(warehouse).empty:
        return dg.AssetCheckResult(passed=True, metadata={"equations": 0, "required": need})
    with warehouse.connect() as con:
        low = con.execute(
            "select count(*), min(residual_df) from models.a_sur_diagnostics where residual_df < ?", [need]
        ).fetchone()
        n = con.execute("select count(*) from models.a_sur_diagnostics").fetchone()[0]
    return dg.AssetCheckResult(
        passed=bool(n == 4 * len(_systems(warehouse)) and n > 0 and low[0] == 0),
        metadata={"equations": int(n), "below": int(low[0]), "required": need},
    )


@dg.asset_check(
    asset=a_sur_fit,
    blocking=True,
    pool=DUCKDB_POOL,
    description="The equality restrictions hold in the estimates to restriction_tolerance (sur_spec.yaml).",
)
def a_sur_fit_restrictions_hold(warehouse: Warehouse) -> dg.AssetCheckResult:
    tol = float(load_spec().estimation["restriction_tolerance"])
    s = _systems(warehouse)
    worst = float(s["max_restriction_violation"].max()) if len(s) else 0.0
    return dg.AssetCheckResult(passed=bool(worst <= tol), metadata={"max_violation": worst, "tolerance": tol})


def _coefficients(con) -> dict[str, dict[int, dict[str, float]]]:
    c = con.execute("select system, term, estimate from models.a_sur_coefficients").df()
    estimated = {int(k): dict(zip(g["term"], g["estimate"])) for k, g in c.groupby("system")}
    return {"estimated": estimated, "published": sim.published_coefficients(load_spec())}


def _fitted(context, con, spec) -> set[int]:
    if not _has(con, "a_sur_systems"):
        return set()
    fitted = {int(x) for (x,) in con.execute("select system from models.a_sur_systems").fetchall()}
    held = sorted({s.id for s in spec.systems} - fitted)
    if held:
        context.log.warning(f"simulations with the estimated coefficients hold systems {held} at their observed rates")
    return fitted


def _simulate_with_both_coefficient_sets(context, warehouse: Warehouse, table: str, simulate) -> pd.DataFrame | None:
    """Writes and returns `table`: the frames of `simulate(spec, coefficients, panel)`, once with the estimated
    and once with the published coefficients (column `coefficients`). A system that was not estimable keeps its
    observed rates in the estimated paths (column `observed_systems`); None, and the table dropped, when no
    system was estimated."""
    spec = load_spec()
    with warehouse.connect() as con:
        if not _fitted(context, con, spec):
            _drop(con, table)
            return None
        panel = _panel(con)
        all_ids = {s.id for s in spec.systems}
        out = pd.concat(
            [
                frame.assign(
                    coefficients=source, observed_systems=", ".join(str(i) for i in sorted(all_ids - set(coefs)))
                )
                for source, coefs in _coefficients(con).items()
                for frame in simulate(spec, coefs, panel)
            ],
            ignore_index=True,
        )
        _write(con, table, out)
        _record_verdicts(con, {table: out}, {"system": float(_min_df(con))})
    return out


@dg.asset(
    deps=[a_sur_fit],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"python"},
    description="Fig 4.1 static simulation of the total rate (2000-2013, actual lags) and the dynamic reference "
    "path (1992-2013, simulated lags, zero errors), with the estimated and the published coefficients "
    "(a system not estimable keeps its observed rates in the estimated paths: column observed_systems).",
)
def a_sur_simulation(context: dg.AssetExecutionContext, warehouse: Warehouse):
    out = _simulate_with_both_coefficient_sets(
        context,
        warehouse,
        "a_sur_simulation",
        lambda spec, coefs, panel: (
            sim.static_simulation(spec, coefs, panel),
            sim.dynamic_simulation(spec, coefs, panel),
        ),
    )
    yield dg.MaterializeResult(metadata={"rows": 0 if out is None else len(out)})


@dg.asset(
    deps=[a_sur_fit],
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"python"},
    description="Table 4.11: change in the number of emigrations vs the reference path for RELINNTj +0.1, "
    "LEDNOR +1, LED1 +1, LED2 +1 from 2000, beside the published values (a system not estimable keeps its "
    "observed rates in the estimated paths: column observed_systems).",
)
def a_sur_counterfactuals(context: dg.AssetExecutionContext, warehouse: Warehouse):
    out = _simulate_with_both_coefficient_sets(
        context,
        warehouse,
        "a_sur_counterfactuals",
        lambda spec, coefs, panel: (sim.counterfactuals(spec, coefs, panel),),
    )
    if out is None:
        yield dg.MaterializeResult(metadata={"rows": 0})
        return
    est = out[out["coefficients"] == "estimated"].groupby("scenario")["difference"].sum()
    yield dg.MaterializeResult(
        metadata={"cumulative_estimated": dg.MetadataValue.json({k: round(float(v), 1) for k, v in est.items()})}
    )


@dg.asset(
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"python"},
    description="Table 4.12 (where each regressor enters), generated from sur_spec.yaml.",
)
def a_table_4_12(warehouse: Warehouse) -> dg.MaterializeResult:
    t = table_4_12(load_spec())
    with warehouse.connect() as con:
        _write(con, "a_table_4_12", t)
        # the specification itself: no data enter it
        record_model_check(
            con,
            "models.a_table_4_12",
            disclosure.GateRecord("models.a_table_4_12", "model", "pass", "generated from the specification", ["R9"]),
            list(t.columns),
        )
    return dg.MaterializeResult(metadata={"rows": len(t)})


study_a_model_assets = [a_sur_inputs, a_sur_fit, a_sur_simulation, a_sur_counterfactuals, a_table_4_12]
study_a_model_checks = [
    a_sur_inputs_no_small_cells,
    a_sur_fit_converged,
    a_sur_fit_residual_df,
    a_sur_fit_restrictions_hold,
]
