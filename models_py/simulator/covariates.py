"""Covariates: education (final level, level reached, enrolment) and income for the year before.

Income also sets the study B covariates of the coming year's departure hazards (employment, income
percentile, welfare, self-employment, top wealth quintile: measured at t-1) [B §3].
"""

from __future__ import annotations

import numpy as np

from .draws import interp_knots, logistic
from .population import REASON, RESIDENT, B, approx_year, day
from .world import World

UNREGISTERED_LEVEL = -1  # delivered as a null NUS level


def draw_final_education(world: World, n: int, cohort: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Final NUS level: natives (group 0) by birth cohort, immigrants by study A country group 1..3."""
    levels_params = world.params["education"]
    native_shares = levels_params["native_final"]
    final = np.full(n, 4, dtype=np.int8)
    native = group == 0
    if native.any():
        knots = sorted(native_shares)
        levels = sorted({int(level) for k in knots for level in native_shares[k]})
        probs = np.stack(
            [interp_knots({k: native_shares[k].get(level, 0) for k in knots}, cohort[native]) for level in levels], 1
        )
        u = world.rng.random(native.sum())[:, None]
        cumulative = np.cumsum(probs, 1) / probs.sum(1, keepdims=True)
        final[native] = np.array(levels, dtype=np.int8)[np.minimum((u > cumulative).sum(1), len(levels) - 1)]
    for group_a in (1, 2, 3):
        members = group == group_a
        if members.any():
            shares = levels_params["immigrant_final"][group_a]
            levels = np.array([int(k) for k in shares], dtype=np.int8)
            final[members] = levels[world.choose(int(members.sum()), np.array([float(v) for v in shares.values()]))]
    return final


def education_register(world: World, year: int, rows: np.ndarray) -> dict:
    """Education on 1 Oct of year-1 for `rows`: level reached (UNREGISTERED_LEVEL when not in the
    register) and enrolment. Three uniform draws per row."""
    pop, rng = world.pop, world.rng
    age = (year - 1 - pop.birth_year[rows]).astype(np.int16)
    final = pop.final_education[rows]
    reachable = np.select(
        [age < 6, age < 13, age < 16, age < 19, age < 21, age < 23, age < 26, age < 30], [0, 1, 2, 3, 4, 5, 6, 7], 8
    ).astype(np.int8)
    reached = np.minimum(final, reachable)
    # pass-through for secondary levels (final 2 stays 2; upper secondary 4 reached at 19)
    reached = np.where((age >= 19) & (final >= 4) & (reached == 3), 4, reached)
    reached = np.where((age >= 16) & (final == 3), 3, reached)
    reached = np.where(age >= 16, np.maximum(reached, np.minimum(final, 2)), reached)
    level = np.where(pop.education_unregistered[rows], UNREGISTERED_LEVEL, reached).astype(np.int16)
    enrolled = (
        ((age >= 6) & (age <= 18) & (rng.random(len(rows)) < 0.97))
        | (
            (age >= 19)
            & (age <= 32)
            & (reached < final)
            & (final >= 5)
            & (rng.random(len(rows)) < world.params["education"]["enrol_prob_higher"])
        )
        | ((age >= 19) & (age <= 60) & (rng.random(len(rows)) < 0.02))
    )
    enrolled &= pop.present[rows]
    return {"person": rows, "nus_level": level, "enrolled": enrolled}


def register_education(world: World, year: int) -> None:
    """Immigrants' missing education becomes registered over time [C §2.9]."""
    pop = world.pop
    alive = np.flatnonzero(pop.present & (pop.register_status == RESIDENT))
    missing = alive[pop.education_unregistered[alive]]
    resolved = world.rng.random(len(missing)) < world.params["education"]["missing_resolution_hazard"]
    pop.education_unregistered[missing[resolved]] = False


def income_register(world: World, year: int, rows: np.ndarray) -> dict:
    """Income for calendar year year-1 for the population_status rows aged 16+ in year-1; updates
    the persons' study B covariates."""
    pop, params = world.pop, world.params["income"]
    age = (year - 1 - pop.birth_year[rows]).astype(float)
    rows = rows[age >= 16]
    person = _IncomeYear(world, year, rows, age[age >= 16])
    # away since before year-1 without a registered emigration: no sign of life, no income
    away = pop.departure_day[rows]
    person.ghost = (away >= 0) & (away < day(year - 1)) & ~pop.present[rows]
    person.ghost |= (pop.register_status[rows] == RESIDENT) & ~pop.present[rows] & (away < 0)
    employed = _employment(person, params)
    wage = _wage(person, params, employed)
    self_employed, self_employment = _self_employment(person, params)
    welfare, benefits = _welfare(person, params, employed)
    wealth = _wealth(person)
    wage, self_employment, benefits, wealth = (np.round(x, 0) for x in (wage, self_employment, benefits, wealth))
    _set_study_b_covariates(world, rows, employed, wage + self_employment, welfare, self_employed, wealth)
    return {
        "person": rows,
        "income_year": np.full(len(rows), year - 1, dtype=np.int16),
        "wage_income": wage,
        "self_employment_income": self_employment,
        "welfare_benefits": benefits,
        "net_wealth": wealth,
        "employed": employed,
        "self_employed": self_employed,
    }


class _IncomeYear:
    """The inputs of one income year for the rows aged 16+ (draws happen in the functions below, in
    the order income_register calls them)."""

    def __init__(self, world: World, year: int, rows: np.ndarray, age: np.ndarray):
        pop, params = world.pop, world.params["income"]
        self.world, self.year, self.rows, self.age, self.n = world, year, rows, age, len(rows)
        self.potential = pop.earnings_potential[rows].astype(float)
        self.wage_index = (1 + params["nominal_growth"]) ** (year - 1 - params["wage_index_base_year"])
        self.immigrant = pop.category[rows] == B
        self.years_here = np.where(
            self.immigrant, np.clip((year - 1) - approx_year(pop.first_immigration_day[rows]), 0, 15), 15
        )
        self.education = pop.final_education[rows]
        self.ghost = np.zeros(len(rows), bool)


def _employment(person: _IncomeYear, params: dict) -> np.ndarray:
    pop, age, education = person.world.pop, person.age, person.education
    base_by_group = params["employment_base"]
    base = np.where(
        person.immigrant,
        np.array([base_by_group[1], base_by_group[2], base_by_group[3], base_by_group[3]])[
            np.clip(pop.country_group[person.rows] - 1, 0, 3)
        ],
        base_by_group["native"],
    )
    log_odds = (
        base
        - ((age - 42) ** 2) / 260
        + 0.5 * person.potential
        + np.where(education >= 6, 0.5, np.where(education <= 2, -0.5, 0))
        + np.where(person.immigrant, 0.08 * person.years_here - 0.6, 0)
        + params["lednor_effect"] * (person.world.macro.get("lednor", person.year - 1) - 4)
        - np.where(age < 20, 1.2, 0)
        - np.where(age >= 67, 4.0, 0)
        - np.where(age >= 62, 1.0, 0)
    )
    return (person.world.rng.random(person.n) < logistic(log_odds)) & ~person.ghost


def _wage(person: _IncomeYear, params: dict, employed: np.ndarray) -> np.ndarray:
    rng, age, education = person.world.rng, person.age, person.education
    median_wage = params["median_wage_1989"] * person.wage_index
    log_wage = (
        np.log(median_wage)
        + 0.35 * person.potential
        + np.where(education >= 6, 0.3, np.where(education <= 2, -0.2, 0))
        - ((age - 48) ** 2) / 900
        + rng.normal(0, 0.45, person.n)
        - np.where(person.world.pop.sex[person.rows] == 2, 0.15, 0)
    )
    # some not employed have a small wage income
    return np.where(
        employed, np.exp(log_wage), np.where((rng.random(person.n) < 0.25) & ~person.ghost, np.exp(log_wage) * 0.1, 0.0)
    )


def _self_employment(person: _IncomeYear, params: dict) -> tuple[np.ndarray, np.ndarray]:
    rng, age, n, index = person.world.rng, person.age, person.n, person.wage_index
    self_employed = (
        rng.random(n)
        < params["self_employed_share"]
        * np.where(person.world.pop.sex[person.rows] == 1, 1.4, 0.6)
        * ((age >= 22) & (age <= 75))
    ) & ~person.ghost
    income = np.where(self_employed, np.exp(np.log(250000 * index / 1.8) + rng.normal(0, 0.7, n)), 0.0)
    loss = self_employed & (rng.random(n) < 0.07)
    income = np.where(loss, -rng.uniform(0, 100000 * index / 1.8, n), income)
    return self_employed, income


def _welfare(person: _IncomeYear, params: dict, employed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng, n = person.world.rng, person.n
    logit = params["welfare_logit"]
    refugee = person.world.pop.immigration_reason[person.rows] == REASON["refuge"]
    log_odds = (
        np.where(employed, logit["employed"], logit["not_employed"])
        - 0.4 * person.potential
        + np.where(refugee, logit["refuge_extra"], 0)
        - np.where(person.age >= 67, 3.0, 0)
    )
    welfare = (rng.random(n) < logistic(log_odds)) & ~person.ghost
    amount = np.where(welfare, np.exp(np.log(80000 * person.wage_index / 1.8) + rng.normal(0, 0.6, n)), 0.0)
    return welfare, amount


def _wealth(person: _IncomeYear) -> np.ndarray:
    rng, age, n, index = person.world.rng, person.age, person.n, person.wage_index
    wealth = np.clip(age - 22, 0, 50) * 30000 * index / 1.8 * np.exp(
        0.8 * person.potential + rng.normal(0, 0.8, n)
    ) - np.where(age < 40, rng.exponential(150000 * index / 1.8, n), 0.0)
    wealth = np.where(person.immigrant, wealth * np.minimum(1, (person.years_here + 1) / 10), wealth)
    return np.where(person.ghost, wealth * 0.3, wealth)


def _set_study_b_covariates(world: World, rows, employed, earnings, welfare, self_employed, wealth) -> None:
    """State for the coming year's hazards (study B covariates measured at t-1)."""
    pop, n = world.pop, len(rows)
    rank = np.empty(n)
    if n:
        rank[np.argsort(earnings, kind="stable")] = np.arange(n) / max(n - 1, 1)
    pop.employed[rows] = employed
    pop.income_percentile[rows] = rank
    pop.welfare[rows] = welfare
    pop.self_employed[rows] = self_employed
    if n:
        pop.wealth_top_quintile[rows] = wealth >= np.quantile(wealth, 0.8)
