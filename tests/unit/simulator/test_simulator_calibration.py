"""Calibration of the simulator against the studies' headline numbers, computed from the deliveries alone.

Runs scale 0.01 (about 42,000 residents in 1990; ~5 s simulation + ~4 s report). Each tolerance is
stated with its reason: at this scale the yearly counts are small, so quantities are pooled over years
and the tolerance is several binomial standard errors of the pooled share (or the spread the studies
themselves give, whichever is wider).
"""

from __future__ import annotations

import math

import pytest

from models_py.simulator import load_params, simulate
from models_py.simulator.calibration import calibration_report
from models_py.simulator.calibration_checks import AGE_GROUPS, DUR_BANDS


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("calib")
    simulate(base / "landing", scale=0.01, first_year=1990, last_year=2023, seed=11)
    df = calibration_report(base / "landing")
    return {r.quantity: r for r in df.itertuples()}


def val(rep, q):
    return rep[q].value


def test_population_size(report):
    # stock drawn to the target exactly up to rounding (se of the draw 0); 2023 within ±5 % [SYS, issue #6]:
    # at scale 0.01 the 2023 count has ~52,000 persons, its sampling spread (~0.5 %) is far below 5 %
    assert abs(val(report, "residents 1 Jan 1990 (scale 1)") / 4_233_116 - 1) < 0.01
    assert abs(val(report, "residents 1 Jan 2023 (scale 1)") / 5_488_984 - 1) < 0.05


def test_study_a_headlines(report):
    # >20,000 immigrant emigrations a year [A §6]; at scale 0.01 one year has ~300 events (se ~6 %);
    # upper bound 37,000 (~25,000 + 3 se + the SUR excess documented in the README; v1.0 gave 37,600)
    assert 20_000 < val(report, "immigrants' emigrations 2013 (scale 1)") < 37_000
    # about 2/3 [A §5 Fig 3.3]; ~370 events in 2013 -> se ~2.4 pp; ±0.10 is ~4 se
    assert abs(val(report, "immigrants' share of all emigrations 2013") - 0.67) < 0.10
    # 44 per 1,000 in 2011 [A §5 Fig 3.10]; ~250 events -> se ~0.3 pp; ±1.5 pp also covers the SUR error draws
    assert abs(val(report, "immigrants' emigration rate 2011 (%)") - 4.4) < 1.5
    g = {k: val(report, f"rate G{k} 2009-2013 pooled (%)") for k in (1, 2, 3)}
    # G1 > G3 and G2 > G3 [A §6 item 3, Figs 5.36-5.38]; pooled over 5 years ~400-900 events per group
    # (se 0.2-0.35 pp) against gaps of >1.5 pp
    assert g[1] > g[3] and g[2] > g[3]
    # G1 ~7 > G2 ~5 [A §5 Figs 5.36-5.38]. NB seed-dependent (README "Known deviations"): G1's 35-62 system
    # has an own-lag root ~0.83, so its SUR error draws can drive the cell to clip_min for a decade; holds
    # for this seed with a margin of ~1.9 pp (~5 se)
    assert g[1] > g[2]
    for k, tgt in ((1, 7.0), (2, 5.0), (3, 3.5)):
        assert abs(g[k] - tgt) < 2.5, k
    # administrative share 19-30 % [A §7]; pooled 2000-2013 n ~ 4,000 -> se < 1 pp; band 0.15-0.35
    assert 0.15 <= val(report, "administrative share of immigrants' emigrations 2000-2013") <= 0.35
    # 2013 clean-up spike [A §7]: ratio ~1.4-1.8 with cleanup hazard 0.40; at ~40-60 admin events a year
    # the ratio's se is ~0.25, so >1.2 and <3.0 (the v1.0 value was 3.5: the whole backlog at once)
    assert 1.2 < val(report, "administrative emigrations registered 2013 / mean(2011-2012)") < 3.0


def test_study_a_rates_by_sex_age_and_duration(report):
    # delivered pooled rates 2000-2013 (1 Jan classification, multi-migrants excluded) beside the truth
    # (cell rate x 1 Jan stock / stock). Tolerance per row = max(3 binomial se, 15 % of the truth); the
    # 15 % floor covers registration timing (administrative emigrations dated 2+ years after the
    # departure, one age/botid band later). At most 2 of the 12 cells may miss (rows at 3 se: ~1 %
    # each by chance, plus the timing shift concentrated in 18-34 -> 35-62).
    misses = []
    for sname in ("men", "women"):
        for lab in AGE_GROUPS.values():
            r = report[f"rate {sname} {lab} 2000-2013 pooled (%)"]
            tol = float(r.tolerance.strip("±pp "))
            assert not math.isnan(r.target)
            if abs(r.value - r.target) > tol:
                misses.append((sname, lab, r.value, r.target))
    assert len(misses) <= 2, misses
    # ordering of the report [A §6 item 3]: 18-34 above 35-62 above 71+ for both sexes
    for sname in ("men", "women"):
        v = {lab: val(report, f"rate {sname} {lab} 2000-2013 pooled (%)") for lab in AGE_GROUPS.values()}
        assert v["18-34"] > v["35-62"] > v["71+"], (sname, v)
    # duration bands [A §3.3 A3b, Fig 3.16]: falling with botid; each within its tolerance of the truth
    d = [report[f"rate botid {b} 2000-2013 pooled (%)"] for b in DUR_BANDS]
    assert all(a.value > b.value for a, b in zip(d[:-2], d[1:-1])), [x.value for x in d]
    assert d[0].value > 2 * d[-1].value
    for r in d:
        assert abs(r.value - r.target) <= max(float(r.tolerance.strip("±pp ")), 0.25 * r.target), (
            r.quantity,
            r.value,
            r.target,
        )


def test_study_b_onward_share(report):
    # about 1 in 10 [B §3]; the intercept is solved each year for the expected share; n ~ 1,400 at
    # this scale -> binomial se ~ 0.8 pp, tolerance 4 pp (5 se)
    target = load_params()["onward_logit"]["target_onward_share_labour"]
    r = report["onward share, labour immigrants 20-65, 2000-2020"]
    assert abs(r.value - target) < 0.04


def test_study_b_income_gradient(report):
    # onward share increases with income [B §1.2 item 8]; quartiles of ~340 emigrations each -> se ~1.5 pp.
    # Q4 - Q1 is ~8-10 pp (coefficient 1.2 per unit rank + top-5 % bonus) -> > 3 pp is ~3 se below it;
    # the middle quartiles are within noise of each other, so only the outer halves are compared
    q = [val(report, f"onward share, labour immigrants, income quartile {k}") for k in (1, 2, 3, 4)]
    assert val(report, "onward share Q4 - Q1, labour immigrants") > 0.03
    assert q[2] + q[3] > q[0] + q[1]


def test_study_c_groups(report):
    rc = {g: val(report, f"rate G{g} 18-35 2000-2023 pooled (%)") for g in (1, 2, 3, 4, 5)}
    # ordering G4 >> G2, G1 > G5 and G5 < 0.5 % [C §6 H1-H2] (G1/G2 ~ 100-300 events at this scale)
    assert rc[4] > 2 * max(rc[1], rc[2])
    assert rc[1] > rc[5] and rc[2] > rc[5]
    assert rc[5] < 0.5 and rc[1] < 1.0
    p = load_params()["destination"]["unknown_share"]
    # unknown shares [C §2.7]: G5 n ~ 7,000 (se < 0.2 pp) -> ±2 pp; G1 n ~ 150 (se ~ 2.5 pp) -> ±8 pp
    assert abs(val(report, "unknown-destination share G5") - p["G5"]) < 0.02
    assert abs(val(report, "unknown-destination share G1") - p["G1"]) < 0.08
    # G4 39 % [C §2.7]: n ~ 5,000 -> se ~0.7 pp; ±6 pp covers the admin part registered after age 35
    assert abs(val(report, "unknown-destination share G4") - 0.39) < 0.06
    # to origin ~20 % (G1) / ~30 % (G2) [C §6 H5]; n ~ 130 / 100 -> se ~3.5 / 4.6 pp; ±0.12 is ~3 se
    assert abs(val(report, "to-origin share G1") - 0.20) < 0.12
    assert abs(val(report, "to-origin share G2") - 0.30) < 0.14
    # five-year return [C §6 H8]: G4 14 %, G5 55 %; n ~ 10,000 / 5,000 -> se ~ 0.5 pp; ±8 pp covers the
    # re-emigration before the t+5 checkpoint that the simulator does not target exactly
    assert abs(val(report, "five-year return share G4") - 0.14) < 0.08
    assert abs(val(report, "five-year return share G5") - 0.55) < 0.10
    # G1 43 % with n ~ 100 emigrations 2000-2018 -> se ~ 5 pp; tolerance 15 pp (3 se)
    assert abs(val(report, "five-year return share G1") - 0.43) < 0.15


def test_study_c_group_sizes(report):
    # G1+G2 aged 18-35 'nearly 100,000' in 2023 [C Fig 2]; ~1,100 persons at this scale (se ~3 %), ±30 %
    # because the figure gives no exact value
    assert abs(val(report, "persons 18-35 G1+G2 1 Jan 2023 (scale 1)") / 95_000 - 1) < 0.30
    # persons ever in the sample [C Table A1]: G5 and G4 (implied 810,231) within 15 % (tens of thousands of
    # persons at this scale, se < 1 %); G2 within 30 %. G1 (+35 %) and G3 (-48 %) are known deviations
    # (README): only their order of magnitude is checked
    a1 = {1: 65_155, 2: 56_531, 3: 118_856, 4: 810_231, 5: 2_169_524}
    ev = {g: val(report, f"persons ever 18-35 2000-2023 G{g} (scale 1)") for g in a1}
    for g in (4, 5):
        assert abs(ev[g] / a1[g] - 1) < 0.15, g
    assert abs(ev[2] / a1[2] - 1) < 0.30
    for g in (1, 3):
        assert 0.4 < ev[g] / a1[g] < 2.0, g
    assert ev[5] > ev[4] > max(ev[1], ev[2], ev[3])
