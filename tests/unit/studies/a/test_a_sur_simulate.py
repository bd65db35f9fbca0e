"""§4.10 simulations: exact on data generated without errors, and the counterfactuals' mechanics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models_py.studies.a import montecarlo as mc
from models_py.studies.a.simulate import (
    counterfactuals,
    dynamic_simulation,
    published_coefficients,
    run_all,
    solve_path,
    static_simulation,
)
from models_py.studies.a.spec import load_spec

MACRO = Path(__file__).resolve().parents[4] / "dbt" / "seeds" / "macro_series.csv"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def exact_panel(spec):
    """Rates that follow the published equations exactly (zero errors) from 1992 on."""
    base = mc.dgp_panel(pd.read_csv(MACRO))
    return solve_path(spec, published_coefficients(spec), base, range(1992, 2014)).to_frame()


def test_static_and_dynamic_reproduce_error_free_data(spec, exact_panel):
    coefs = published_coefficients(spec)
    st = static_simulation(spec, coefs, exact_panel)
    assert list(st["year"]) == list(range(2000, 2014))
    np.testing.assert_allclose(st["simulated_rate_pct"], st["actual_rate_pct"], rtol=1e-12)
    dy = dynamic_simulation(spec, coefs, exact_panel)
    assert list(dy["year"]) == list(range(1992, 2014))
    np.testing.assert_allclose(dy["simulated_emigrations"], dy["actual_emigrations"], rtol=1e-12)


def test_dynamic_path_feeds_simulated_lags_static_does_not(spec, exact_panel):
    """Disturb one actual rate in 2005: the static prediction of 2006 moves (actual lag), the dynamic
    path does not (it uses its own simulated 2005 value)."""
    coefs = published_coefficients(spec)
    noisy = exact_panel.copy()
    noisy.loc[2005, "EMI_2K3"] += 0.05  # EMI_K3[t-1] of (4.2.1) with b_K3 = 0.729
    st0, st1 = (static_simulation(spec, coefs, p).set_index("year") for p in (exact_panel, noisy))
    assert st1.at[2006, "simulated_emigrations"] != pytest.approx(st0.at[2006, "simulated_emigrations"])
    dy0, dy1 = (dynamic_simulation(spec, coefs, p).set_index("year") for p in (exact_panel, noisy))
    np.testing.assert_allclose(dy1["simulated_emigrations"], dy0["simulated_emigrations"], rtol=1e-12)


def test_counterfactual_mechanics_and_published_directions(spec, exact_panel):
    cf = counterfactuals(spec, published_coefficients(spec), exact_panel).set_index(["scenario", "year"])
    assert set(cf.index.get_level_values(0)) == {"income", "lednor", "led1", "led2"}
    # income always enters lagged: no effect in the shock year, then fewer emigrations (Table 4.11 (i))
    assert cf.at[("income", 2000), "difference"] == pytest.approx(0, abs=1e-9)
    assert (cf.loc["income"].loc[2001:, "difference"] < 0).all()
    # LED1 +1: g < 0 in (4.1.x) and g_M5 < 0 -> fewer emigrations from 2000 (Table 4.11 (iii))
    assert (cf.loc["led1"]["difference"] < 0).all()
    # LEDNOR +1 enters (4.5.2) and (4.6.1) through differences and (4.6.4) directly in the shock year
    assert cf.at[("lednor", 2000), "difference"] > 0
    assert cf.at[("income", 2013), "published_difference"] == -3828
    assert np.isnan(cf.at[("led2", 2013), "published_difference"])


def test_run_all_labels_sources(spec, exact_panel):
    coefs = published_coefficients(spec)
    sim, cf = run_all(spec, {"published": coefs, "estimated": coefs}, exact_panel)
    assert set(sim["coefficients"]) == {"published", "estimated"} and set(sim["kind"]) == {"static", "dynamic"}
    assert len(sim) == 2 * (14 + 22) and len(cf) == 2 * 4 * 14


def test_a_system_without_coefficients_keeps_its_observed_rates(spec, exact_panel):
    """System 5 not estimable: a path leaves its cells at the observed values and solves the others."""
    coefs = {k: v for k, v in published_coefficients(spec).items() if k != 5}
    noisy = exact_panel.copy()
    five = next(s for s in spec.systems if s.id == 5)
    columns = [f"EMI_{five.group}{key}" for key in five.order]
    noisy.loc[1995:2013, columns] *= 1.5  # observed rates the equations do not reproduce
    path = solve_path(spec, coefs, noisy, range(1992, 2014)).to_frame()
    pd.testing.assert_frame_equal(path.loc[1992:2013, columns], noisy.loc[1992:2013, columns])
    # system 2 (same group, adults) is solved; its equations do not read system 5's cells, so it stays exact
    two = next(s for s in spec.systems if s.id == 2)
    other = [f"EMI_{two.group}{key}" for key in two.order]
    np.testing.assert_allclose(path.loc[1992:2013, other], exact_panel.loc[1992:2013, other], rtol=1e-12)
    st = static_simulation(spec, coefs, noisy)
    st_all = static_simulation(spec, published_coefficients(spec), noisy)
    # with all nine the prediction of system 5's cells is the exact one, without it the observed (x 1.5) one
    assert (st["simulated_emigrations"] > st_all["simulated_emigrations"]).all()
