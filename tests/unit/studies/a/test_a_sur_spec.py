"""Study A's SUR specification file: it loads, its rules are enforced, and the simulator reads it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from models_py.studies.a.spec import (
    SPEC_PATH,
    SpecError,
    build_spec,
    load_spec,
    parse_expr,
    simulator_systems,
)
from models_py.studies.a.table_4_12 import table_4_12


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _system(raw, sid):
    return next(s for s in raw["systems"] if s["id"] == sid)


def test_nine_systems_of_four_equations_with_the_published_restrictions():
    spec = load_spec()
    assert [s.id for s in spec.systems] == list(range(1, 10))
    assert sum(len(s.equations) for s in spec.systems) == 36
    assert spec.system(1).restrictions() == [
        ("m", ["K3", "K4", "M3", "M4"]),
        ("c", ["K3", "K4", "M3", "M4"]),
        ("g", ["K3", "K4", "M3", "M4"]),
    ]
    assert spec.system(4).restrictions() == [("e_K5", ["K5", "M5", "M6"]), ("u_K6", ["K6", "M6"])]
    assert spec.system(5).restrictions() == []
    # every published parameter is estimated once: 15 in Table 4.2, 14 in Table 4.10
    assert len(spec.system(1).params) == 15 and len(spec.system(9).params) == 14


def test_s_k3_variant_is_a_setting():
    default, shared = load_spec(), load_spec("shared_4_2_2")
    assert default.variant == "own_equation"
    assert [p for p, _ in default.system(2).restrictions()] == ["f"]
    assert ("s_K3", ["K3", "K4"]) in shared.system(2).restrictions()
    assert "lnBEH2" in [t.expr for t in shared.system(2).equations["K4"].terms]
    with pytest.raises(SpecError, match="unknown s_K3 variant"):
        load_spec("no_such_variant")


def test_unknown_sign_covariances_follow_the_rule():
    c4 = load_spec().system(4).covariance() / 1e-5
    # C.4: known positive cov(K5,M5) and cov(M5,M6); the other off-diagonals' signs were lost -> 0
    assert c4[2, 0] == pytest.approx(0.242) and c4[3, 2] == pytest.approx(0.097)
    assert c4[1, 0] == 0 and c4[3, 0] == 0 and c4[2, 1] == 0 and c4[3, 1] == 0
    c1 = load_spec().system(1).covariance() / 1e-3
    assert c1[1, 0] == pytest.approx(0.033) and c1[0, 1] == c1[1, 0]


def test_parse_expr_sums_differences_and_lags():
    (s1, a1), (s2, a2) = parse_expr("LEDNOR - LED2")
    assert (s1, a1.series, s2, a2.series) == (1, "LEDNOR", -1, "LED2")
    ((_, a),) = parse_expr("lnRELINNT3[-2]")
    assert (a.kind, a.group, a.lag) == ("lnRELINNT", 3, -2)
    for bad in ("LED3", "EMI_K7", "Trend[-1]", "LEDNOR -", "+ LED1", "LED1 LED2"):
        with pytest.raises(SpecError):
            parse_expr(bad)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: _system(r, 1)["equations"]["K3"]["terms"].append(["zz", "LED1"]), "no published value"),
        (lambda r: _system(r, 1)["params"].update({"zz": [0.1, 1.0, ["K3"]]}), "not in any equation"),
        (lambda r: _system(r, 1)["params"]["c"].__setitem__(2, ["K3", "K4"]), "published for"),
        (lambda r: _system(r, 1)["equations"]["K3"]["terms"].__setitem__(1, ["b_K3", "EMI_K9[-1]"]), "unknown series"),
        (lambda r: _system(r, 3)["equations"]["K3"]["terms"].__setitem__(2, ["e", "lnRELINNT1[-2]"]), "not of group"),
        (lambda r: _system(r, 7)["equations"]["K1"]["terms"].__setitem__(2, ["e", "EMI_M1"]), "current dependent"),
        (
            lambda r: _system(r, 2)["cov"].__setitem__("lower", [[0.1], [0.5, 0.1], [0, 0, 0.1], [0, 0, 0, 0.1]]),
            "positive definite",
        ),
        (lambda r: _system(r, 4)["cov"].__setitem__("known_positive", [["M5", "X9"]]), "must name two equations"),
        (lambda r: r["variants"]["s_K3"]["options"]["shared_4_2_2"][0].__setitem__("param", "s_K9"), "missing system"),
        (lambda r: _system(r, 1)["b1"].pop("K3"), "Table B1"),
        (lambda r: r["systems"].pop(), "numbered 1..9"),
    ],
)
def test_every_rule_is_enforced(raw, mutate, message):
    broken = copy.deepcopy(raw)
    mutate(broken)
    variant = "shared_4_2_2" if "missing system" in message else None
    with pytest.raises(SpecError, match=message):
        build_spec(broken, variant)


def test_simulator_reads_the_spec():
    import pandas as pd

    from models_py.simulator import load_params
    from models_py.simulator.sur import MacroSeries, SurProcess

    params = load_params()
    assert "systems" not in params["sur"]  # the copy is gone
    macro = MacroSeries(pd.read_csv(SPEC_PATH.parents[3] / "dbt" / "seeds" / "macro_series.csv"))
    proc = SurProcess(params, macro, np.random.default_rng(0))
    spec = load_spec()
    sim = simulator_systems(spec)
    assert [s["id"] for s in proc.systems] == [s.id for s in spec.systems]
    k3 = proc.systems[0]["eqs"]["K3"]
    assert [c for c, _ in k3] == [spec.system(1).params[t.param].estimate for t in spec.system(1).equations["K3"].terms]
    np.testing.assert_array_equal(proc.systems[3]["cov"], spec.system(4).covariance())
    assert sim[1]["eq"]["M4"][4] == [0.0013, "LEDNOR[-1]"]


def test_table_4_12_generated_from_the_spec():
    t = table_4_12(load_spec()).set_index(["country_group", "sex", "age_group"])
    assert len(t) == 36
    assert t.loc[(1, "K", "18-34"), "rel_income"] == "Y(−1)"
    assert t.loc[(1, "K", "18-34"), "own_unemployment"] == "Y(−1)"
    assert t.loc[(1, "M", "63-70"), "own_unemployment"] == "Y(0)"
    assert t.loc[(2, "K", "71+"), "lednor"] == "Y(0)" and t.loc[(2, "K", "71+"), "own_unemployment"] == "Y(0)"
    assert t.loc[(3, "K", "63-70"), "other_unemployment"] == "Y(0) (LED1)"
    assert t.loc[(3, "M", "35-62"), "trend"] == ""  # Table 4.4 has no u_M4 (the raw Table 4.12 did)
    assert (t.xs(3, level="country_group")["own_unemployment"] == "n/a").all()
    assert t.loc[(2, "M", "35-62"), "medium"] == "Y" and t.loc[(2, "K", "18-34"), "network"] == "Y"
