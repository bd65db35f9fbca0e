"""Emigration hazards: who leaves Norway physically in a year.

Immigrants: study A's cell rate (SUR, `sur.py`) times the cell's 1 Jan stock, redistributed within
the cell by study B's multipliers, so cell aggregates follow study A in expectation [A §4, B §3].
Non-immigrants: age profile x study C group multipliers x trend x Covid dip [C §2.6].
"""

from __future__ import annotations

import numpy as np

from models_py import bands

from .draws import interp_knots
from .population import (
    DURATION_BANDS,
    DURATION_EDGES,
    RESIDENT,
    B,
    F,
    G,
    age_group,
    approx_year,
    day,
)
from .world import World
from .year import YearState

CELL_LETTERS = "KM"  # K women (sex 2), M men (sex 1): cell index 2 - sex
N_CELLS = 4 * 2 * 7  # country group 0..3 x letter x age group 0..6 (1..3 and 1..6 used)
STUDY_B_DURATIONS = tuple(bands.labels("dur_band_b"))
STUDY_B_EDUCATION = (*bands.labels("educ_b"), "unknown")


def cell_key(group, sex, age_groups):
    """Flat index of study A cell (country group, K/M, age group). v1.0 used sex - 1 here, which gave
    men the women's (K) equations and vice versa (men/women ratio < 1) -- fixed in v1.1."""
    return (group.astype(np.int64) * 2 + (2 - sex)) * 7 + age_groups


def study_b_duration_band(years: np.ndarray) -> np.ndarray:
    return np.select([years <= 1, years <= 4, years <= 9], [0, 1, 2], 3)


def study_b_education_band(world: World, persons: np.ndarray) -> np.ndarray:
    final = world.pop.final_education[persons]
    return np.where(world.pop.education_unregistered[persons], 3, np.where(final >= 6, 2, np.where(final >= 4, 1, 0)))


def immigrant_composition(world: World, year: int) -> dict:
    """The 1 Jan immigrant stock by study A cell: size, ANKO/ANME shares (0-2 and 3-9 years since
    arrival), ln BEH input at scale 1, and (truth only) the stock by duration band A3b."""
    pop = world.pop
    stock = np.flatnonzero((pop.register_status == RESIDENT) & (pop.category == B))
    years_here = year - 1 - approx_year(pop.first_immigration_day[stock])  # completed years (approx.)
    key = cell_key(pop.country_group[stock], pop.sex[stock], age_group(year - 1 - pop.birth_year[stock]))
    size = np.bincount(key, minlength=N_CELLS)
    recent = np.bincount(key, weights=(years_here <= 2), minlength=N_CELLS)
    medium = np.bincount(key, weights=(years_here >= 3) & (years_here <= 9), minlength=N_CELLS)
    shares, counts = {}, {}
    for group in (1, 2, 3):
        for letter_index, letter in enumerate(CELL_LETTERS):
            for cell_age in range(1, 7):
                k = (group * 2 + letter_index) * 7 + cell_age
                c = size[k]
                shares[(group, letter, cell_age)] = (recent[k] / c if c else 0.0, medium[k] / c if c else 0.0)
                counts[(group, letter, cell_age)] = int(c)
    stock_by_group = {g: np.sum(pop.country_group[stock] == g) / world.scale for g in (1, 2, 3)}
    by_duration = np.bincount(np.searchsorted(DURATION_EDGES, years_here, side="right"), minlength=len(DURATION_BANDS))
    return {"shares": shares, "BEH": stock_by_group, "n": counts, "dur_n": by_duration}


def draw_departures(world: World, state: YearState, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who among the present residents in `pool` leaves in the year (one uniform draw each); also
    returns the immigrants' expected departures by duration band (truth)."""
    pop = world.pop
    age = (state.year - 1 - pop.birth_year[pool]).astype(np.int64)
    immigrant = pop.category[pool] == B
    probability = np.zeros(len(pool))
    probability[immigrant], expected_by_duration = _immigrant_probability(world, state, pool[immigrant], age[immigrant])
    probability[~immigrant] = _nonimmigrant_probability(world, state.year, pool[~immigrant], age[~immigrant])
    return pool[world.rng.random(len(pool)) < probability], expected_by_duration


def _immigrant_probability(world: World, state: YearState, persons: np.ndarray, age: np.ndarray):
    """p_i = rate_cell * N_cell * exp(x_i b) / sum over the cell's present members of exp(x_j b),
    capped; asylum-artefact arrivals add a departure hazard in their first two years [A §7]."""
    pop, effects, year = world.pop, world.params["leave_effects"], state.year
    years_here = year - 1 - approx_year(pop.first_immigration_day[persons])
    multiplier = np.exp(_study_b_log_multiplier(world, state, persons, age, years_here))
    key = cell_key(pop.country_group[persons], pop.sex[persons], age_group(age))
    cell_sum = np.bincount(key, weights=multiplier, minlength=N_CELLS)
    target = np.zeros(N_CELLS)
    for group in (1, 2, 3):
        for letter_index, letter in enumerate(CELL_LETTERS):
            for cell_age in range(1, 7):
                target[(group * 2 + letter_index) * 7 + cell_age] = (
                    state.rates[f"{group}{letter}{cell_age}"] * state.composition["n"][(group, letter, cell_age)]
                )
    probability = np.where(cell_sum[key] > 0, target[key] * multiplier / np.maximum(cell_sum[key], 1e-12), 0)
    probability = np.minimum(probability, effects["max_individual_prob"])
    artefact = world.params["immigration"]["asylum_artefact"]
    early_asylum = pop.asylum_artefact[persons] & (year - pop.latest_arrival_year[persons] <= 2)
    probability = np.where(early_asylum, 1 - (1 - probability) * (1 - artefact["departure_prob_per_year"]), probability)
    expected = np.bincount(
        np.searchsorted(DURATION_EDGES, years_here, side="right"), weights=probability, minlength=len(DURATION_BANDS)
    )
    return probability, expected


def _study_b_log_multiplier(world: World, state: YearState, persons, age, years_here) -> np.ndarray:
    """Study B's directions: spouse, children, duration, education (20+), employment, arrived as a
    child, citizenship, centrality (early -> late pattern 2004-2009) and county of study A ch. 5."""
    pop, effects, year = world.pop, world.params["leave_effects"], state.year
    log_multiplier = np.zeros(len(persons))
    log_multiplier += np.where(pop.spouse[persons] >= 0, effects["spouse_in_norway"], 0)
    log_multiplier += np.where(state.children_of(persons) > 0, effects["child_in_household"], 0)
    log_multiplier += np.array([effects["duration"][k] for k in STUDY_B_DURATIONS])[study_b_duration_band(years_here)]
    log_multiplier += np.array([effects["education"][k] for k in STUDY_B_EDUCATION])[
        study_b_education_band(world, persons)
    ] * (age >= 20)
    log_multiplier += np.where(pop.employed[persons], effects["employed"], 0)
    arrival_age = pop.arrival_age[persons]
    log_multiplier += np.where((arrival_age <= 9) & (arrival_age >= 0), effects["arrived_as_child"], 0)
    log_multiplier += np.where(pop.citizenship[persons] == world.countries.NOR, effects["norwegian_citizen"], 0)
    late = float(np.clip((year - 2004) / 5, 0, 1))
    centrality = np.array(
        [0] + [(1 - late) * effects["centrality_early"][k] + late * effects["centrality_late"][k] for k in (1, 2, 3, 4)]
    )
    log_multiplier += centrality[world.muni_centrality[pop.municipality[persons]]]
    county = np.zeros(len(world.muni_county))
    for code, value in effects["county"].items():
        county[world.muni_county == code] = value
    log_multiplier += county[pop.municipality[persons]]
    return log_multiplier


def _nonimmigrant_probability(world: World, year: int, persons: np.ndarray, age: np.ndarray) -> np.ndarray:
    pop, params = world.pop, world.params["nonimmigrant_emigration"]
    rate = interp_knots(params["age_rates"], age)
    group = pop.study_c_group[persons]
    multiplier = np.ones(len(persons))
    multiplier[group == 1] = params["group_multiplier"]["G1"]
    multiplier[group == 3] = params["group_multiplier"]["G3"]
    multiplier[np.isin(pop.category[persons], [F, G])] = params["group_multiplier"]["F_G"]
    log_rate = np.log(multiplier)
    log_rate += np.where((group == 1) & (age >= 26) & (age <= 30), params["late_twenties_peak_G1"], 0)
    log_rate += np.where((pop.final_education[persons] >= 6) & (age >= 22), params["high_education"], 0)
    log_rate += params["yearly_trend"] * (year - 2000)
    log_rate += np.log(params["covid_multiplier"].get(year, 1.0))
    return np.minimum(rate * np.exp(log_rate), 0.5)


def multi_migrants(world: World, year: int, new_immigrants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New immigrants (not asylum arrivals) who leave again within their arrival year [A §2.4]:
    who and their departure day."""
    pop, rng = world.pop, world.rng
    share = world.params["registration"]["multi_migrant_same_year_share"]
    leaving = new_immigrants[rng.random(len(new_immigrants)) < share]
    leaving = leaving[~pop.asylum_artefact[leaving]]
    departure = np.minimum(
        pop.first_immigration_day[leaving] + 30 + rng.integers(0, 200, len(leaving)), day(year, 12, 31)
    )
    after_arrival = departure > pop.first_immigration_day[leaving]
    return leaving[after_arrival], departure[after_arrival]
