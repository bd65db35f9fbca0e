"""Destinations of departures, and whether a departure is reported to the register.

Unreported departures become administrative emigrations later [A §7]. Reported immigrants (study
C's G4 type): unknown destination, return to the birth country, or onward migration by study B's
conditional logit, whose intercept is solved every year so that labour immigrants' onward share is
the target [B §3.3]. Descendants, natives and G2: study C's shares of unknown, to-origin and the
non-origin destination categories [C §2.7].
"""

from __future__ import annotations

import numpy as np

from .departures import (
    STUDY_B_DURATIONS,
    STUDY_B_EDUCATION,
    study_b_duration_band,
    study_b_education_band,
)
from .draws import logistic
from .population import REASON, REASON_CODES, B, F, G, approx_year
from .world import ORIGIN_REGIONS, World
from .year import YearState

DESTINATION_CATEGORIES = ["NORDIC", "UK", "USA_CAN", "GERMANY", "OTHER"]
ONWARD_AGE_BANDS = ["<20", "20-27", "28-34", "35-39", "40-49", "50-65", "66+"]


def choose_destinations(world: World, state: YearState, leaving: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns (destination country or -1, unreported) per departure; sets state.onward_intercept
    when it is solved."""
    country = np.full(len(leaving), -1, dtype=np.int16)
    unreported_probability = _unreported_probability(world, leaving)
    unreported = world.rng.random(len(leaving)) < unreported_probability
    immigrant = world.pop.category[leaving] == B
    group = world.pop.study_c_group[leaving]
    g4_type = np.flatnonzero(~unreported & immigrant & (group != 2))
    _immigrant_destinations(world, state, leaving, g4_type, country)
    study_c = np.flatnonzero(~unreported & (~immigrant | (group == 2)))
    _study_c_destinations(world, leaving, study_c, unreported_probability[study_c], country)
    return country, unreported


def _unreported_probability(world: World, leaving: np.ndarray) -> np.ndarray:
    """Immigrants: base x origin risk (G2 x 0.4); others by study C group."""
    pop, params = world.pop, world.params["registration"]
    immigrant = pop.category[leaving] == B
    group = pop.study_c_group[leaving]
    probability = np.zeros(len(leaving))
    probability[immigrant] = params["unreported_base"] * world.country_admin_risk[pop.birth_country[leaving[immigrant]]]
    probability[immigrant & (group == 2)] *= 0.4
    other = params["unreported_nonimmigrant"]
    probability[~immigrant] = np.select(
        [group[~immigrant] == 1, group[~immigrant] == 3, group[~immigrant] == 5],
        [other["G1"], other["G3"], other["G5"]],
        other["other"],
    )
    return probability


def _immigrant_destinations(world: World, state: YearState, leaving, positions, country) -> None:
    pop, rng, params = world.pop, world.rng, world.params
    unknown = rng.random(len(positions)) < params["destination"]["immigrant_reported_unknown_share"]
    known = positions[~unknown]
    persons = leaving[known]
    x = onward_log_odds(world, state, persons)
    reason = pop.immigration_reason[persons]
    labour = (reason == REASON["work"]) | (reason == REASON["nordic"])
    target = params["onward_logit"]["target_onward_share_labour"]
    if labour.any():
        intercept = state.onward_intercept = solve_intercept(x[labour], target)
    else:
        intercept = float(np.log(target / (1 - target)))
    offsets = params["onward_logit"]["reason_offset"]
    offset = np.array([offsets.get(r, 0.0) for r in REASON_CODES] + [offsets["none"]])[
        np.where(reason < 0, len(REASON_CODES), reason)
    ]
    onward = rng.random(len(persons)) < logistic(intercept + x + np.where(labour, 0, offset))
    onward |= pop.birth_country[persons] == world.countries.XXX
    country[known[~onward]] = pop.birth_country[persons[~onward]]
    categories = nonorigin_categories(world, persons[onward], "immigrant", pop.birth_country[persons[onward]])
    country[known[onward]] = pick_country(world, categories, pop.birth_country[persons[onward]])


def onward_log_odds(world: World, state: YearState, persons: np.ndarray) -> np.ndarray:
    """Study B's onward-vs-return logit without the intercept."""
    pop, params = world.pop, world.params["onward_logit"]
    age = (state.year - pop.birth_year[persons]).astype(np.int64)
    age_band = np.select([age < 20, age <= 27, age <= 34, age <= 39, age <= 49, age <= 65], [0, 1, 2, 3, 4, 5], 6)
    x = np.array([params["age_band"][k] for k in ONWARD_AGE_BANDS])[age_band]
    x += np.where(pop.sex[persons] == 2, params["female"], 0)
    x += np.where(pop.citizenship[persons] == world.countries.NOR, params["norwegian_citizen"], 0)
    x += np.where(pop.spouse[persons] >= 0, params["spouse_in_norway"], 0)
    x += np.where(state.children_of(persons) > 0, params["child_in_household"], 0)
    years_here = state.year - approx_year(pop.first_immigration_day[persons])
    x += np.array([params["duration"][k] for k in STUDY_B_DURATIONS])[study_b_duration_band(years_here)]
    x += np.array([params["education"][k] for k in STUDY_B_EDUCATION])[study_b_education_band(world, persons)]
    x += np.where(pop.employed[persons], params["employed"], 0)
    x += params["income_pct"] * pop.income_percentile[persons] + np.where(
        pop.income_percentile[persons] >= 0.95, params["top_earner_p95"], 0
    )
    x += np.where(pop.wealth_top_quintile[persons], params["wealth_positive_top_quintile"], 0)
    x += np.where(pop.welfare[persons], params["welfare"], 0)
    region = world.country_origin_region[pop.birth_country[persons]]
    x += np.array([params["origin"][k] for k in ORIGIN_REGIONS])[region]
    return x


def solve_intercept(x: np.ndarray, target: float) -> float:
    """The intercept b0 with mean(logistic(b0 + x)) = target (bisection)."""
    low, high = -15.0, 10.0
    for _ in range(50):
        middle = (low + high) / 2
        if logistic(middle + x).mean() > target:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def _study_c_destinations(world: World, leaving, positions, unreported_probability, country) -> None:
    pop, rng, params = world.pop, world.rng, world.params["destination"]
    persons = leaving[positions]
    group = pop.study_c_group[persons]
    origin = _origin_country(world, persons)
    unknown_share = np.select(
        [group == 1, group == 2, group == 3],
        [params["unknown_share"]["G1"], params["unknown_share"]["G2"], params["unknown_share"]["G3"]],
        params["unknown_share"]["G5"],
    )
    # unreported departures have no destination either: the unknown share among the reported
    unknown_share = np.maximum(unknown_share - unreported_probability, 0) / np.maximum(1 - unreported_probability, 1e-9)
    unknown = rng.random(len(persons)) < unknown_share
    to_origin = (~unknown) & (
        rng.random(len(persons)) < np.minimum(_to_origin_probability(world, persons, group, origin, unknown_share), 1)
    )
    country[positions[to_origin]] = origin[to_origin]
    rest = (~unknown) & ~to_origin
    majority = np.where(group[rest] == 5, 0, 1) == 0
    categories = np.zeros(int(rest.sum()), dtype=np.int64)
    if majority.size:
        categories[majority] = nonorigin_categories(world, persons[rest][majority], "majority", origin[rest][majority])
        categories[~majority] = nonorigin_categories(
            world, persons[rest][~majority], "descendant", origin[rest][~majority]
        )
    country[positions[rest]] = pick_country(world, categories, origin[rest])


def _origin_country(world: World, persons: np.ndarray) -> np.ndarray:
    """Immigrants: birth country; others: the mother's, else the father's foreign birth country;
    F/G born abroad: their birth country; -1 none."""
    pop, norway = world.pop, world.countries.NOR
    mother, father = pop.mother_birth_country[persons], pop.father_birth_country[persons]
    origin = np.where(pop.category[persons] == B, pop.birth_country[persons], np.where(mother >= 0, mother, -1)).astype(
        np.int16
    )
    foreign_father = np.where((father >= 0) & (father != norway), father, -1)
    origin = np.where((origin == norway) | (origin < 0), foreign_father, origin)
    return np.where(
        np.isin(pop.category[persons], [F, G]) & (pop.birth_country[persons] != norway),
        pop.birth_country[persons],
        origin,
    )


def _to_origin_probability(world: World, persons, group, origin, unknown_share) -> np.ndarray:
    """Study C's to-origin share by group, times origin and high-education odds multipliers, as a
    share among the departures with a known destination."""
    params, countries = world.params["destination"], world.countries
    shares = params["to_origin_share"]
    probability = np.select(
        [group == 1, group == 2, group == 3], [shares["G1"], shares["G2"], shares["G3"]], shares["G5_foreign_link"]
    )
    probability = np.where((origin < 0) | (origin == countries.XXX), 0.0, probability)
    odds = probability / np.maximum(1 - probability, 1e-9)
    for code, multiplier in params["origin_to_origin_multipliers"].items():
        if countries.has(code):
            odds = np.where(origin == countries.idx(code), odds * multiplier, odds)
    odds = np.where(world.pop.final_education[persons] >= 6, odds * params["high_education_to_origin_multiplier"], odds)
    return odds / (1 + odds) / (1 - unknown_share)


def nonorigin_categories(world: World, persons: np.ndarray, kind: str, origin: np.ndarray) -> np.ndarray:
    """Destination category 0..4 (DESTINATION_CATEGORIES) by `kind` shares with origin-specific
    multipliers (e.g. Somalia -> UK); the high-educated go more to the Nordic countries."""
    params = world.params["destination"]
    base = params["nonorigin_cat_shares"][kind]
    weights = np.tile(np.array([base[k] for k in DESTINATION_CATEGORIES]), (len(persons), 1))
    for code, multipliers in params["origin_cat_multipliers"].items():
        if world.countries.has(code):
            from_origin = origin == world.countries.idx(code)
            for category, value in multipliers.items():
                weights[from_origin, DESTINATION_CATEGORIES.index(category)] *= value
    weights[world.pop.final_education[persons] >= 6, 0] *= params["high_education_nordic_multiplier"]
    cumulative = np.cumsum(weights, 1)
    u = world.rng.random(len(persons)) * cumulative[:, -1]
    return (u[:, None] > cumulative).sum(1)


def pick_country(world: World, categories: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """A country of each destination category, other than `exclude` (the origin)."""
    countries = world.countries
    chosen = np.full(len(categories), -1, dtype=np.int16)
    category_countries = world.params["destination"]["cat_countries"]
    for k, name in enumerate(DESTINATION_CATEGORIES):
        members = np.flatnonzero(categories == k)
        if len(members) == 0:
            continue
        codes = [c for c in category_countries[name] if countries.has(c)]
        candidates = np.array([countries.idx(c) for c in codes], dtype=np.int16)
        weights = np.array([float(category_countries[name][c]) for c in codes])
        pick = candidates[world.choose(len(members), weights)]
        clash = pick == exclude[members]
        if clash.any():  # redraw once, then fall back to another country of the category
            pick[clash] = candidates[world.choose(int(clash.sum()), weights)]
            clash = pick == exclude[members]
            pick[clash] = (
                candidates[(np.searchsorted(candidates, pick[clash]) + 1) % len(candidates)]
                if len(candidates) > 1
                else countries.idx("GBR")
            )
        chosen[members] = pick
    return chosen
