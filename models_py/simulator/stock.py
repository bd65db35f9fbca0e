"""Population and stock: the 1 Jan register population of the first year, and deaths.

The initial stock is drawn in a fixed order of steps (each a function below); every step's draws
come after the previous step's, so the order of the calls in `build_initial_stock` is part of the
deliveries' identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .covariates import draw_final_education
from .draws import interp_knots, stochastic_round
from .households import link_mothers, marry
from .immigration import assign_reasons
from .population import (
    DEAD,
    DIVORCED,
    RESIDENT,
    WIDOWED,
    A,
    B,
    C,
    E,
    F,
    G,
    approx_year,
    day,
    real_day,
    study_c_group,
)
from .world import World


@dataclass
class StockDraft:
    """Columns of the stock before it enters the population (index = person number)."""

    first_year: int
    n: int
    birth_year: np.ndarray
    sex: np.ndarray
    category: np.ndarray | None = None
    immigrants: np.ndarray | None = None  # person numbers of category B
    descendants: np.ndarray | None = None  # C
    one_foreign_parent: np.ndarray | None = None  # E
    foreign_born_norwegian: np.ndarray | None = None  # F and G
    birth_month: np.ndarray | None = None
    birth_country: np.ndarray | None = None
    country_group: np.ndarray | None = None
    immigrant_groups: np.ndarray | None = None  # country group of each immigrant
    first_immigration_day: np.ndarray | None = None
    arrival_age: np.ndarray | None = None
    immigrant_arrival_age: np.ndarray | None = None
    mother_birth_country: np.ndarray | None = None
    father_birth_country: np.ndarray | None = None
    descendant_origin: np.ndarray | None = None
    n_foreign_grandparents: np.ndarray | None = None
    citizenship: np.ndarray | None = None
    years_here: np.ndarray | None = None  # immigrants' years since arrival on 1 Jan


def build_initial_stock(world: World, first_year: int) -> None:
    stock = _ages_and_sexes(world, first_year)
    _categories(world, stock)
    _immigrant_arrivals(world, stock)
    _descendants_and_foreign_born(world, stock)
    _parents_birth_countries(world, stock)
    _grandparents_and_citizenship(world, stock)
    world.pop.add(
        stock.n,
        sex=stock.sex,
        birth_year=stock.birth_year,
        birth_month=stock.birth_month,
        birth_country=stock.birth_country,
        mother_birth_country=stock.mother_birth_country,
        father_birth_country=stock.father_birth_country,
        n_foreign_grandparents=stock.n_foreign_grandparents,
        category=stock.category,
        register_status=RESIDENT,
        present=True,
        citizenship=stock.citizenship,
        first_immigration_day=stock.first_immigration_day,
        arrival_age=stock.arrival_age,
        country_group=stock.country_group,
        immigration_reason=np.full(stock.n, -1, dtype=np.int8),
        earnings_potential=world.rng.standard_normal(stock.n).astype(np.float32),
    )
    _settle(world, stock)
    _couples_and_mothers(world, stock)


def _ages_and_sexes(world: World, first_year: int) -> StockDraft:
    """Ages from cohort births x survival to 1 Jan of the first year: Gompertz with the sex
    multipliers, scaled up by the cohorts' higher historical mortality, so that the old-age stock and
    its sex ratio (women outnumber men from ~75) are right; sex is drawn jointly with the birth year [SSB~]."""
    params, mortality = world.params["stock"], world.params["mortality"]
    n = stochastic_round(world.rng, params["residents"] * world.scale)
    cohorts = np.arange(first_year - 105, first_year)
    births = interp_knots(params["cohort_births_knots"], cohorts)
    ages = first_year - cohorts - 0.5
    historical = float(params.get("historical_mortality_multiplier", 1.0))
    male_share = float(world.params["fertility"]["male_share"])
    weights = []
    for sex in (1, 2):
        hazard = (
            np.exp(mortality["alpha"])
            * mortality["sex_multiplier"][sex]
            * historical
            / mortality["beta"]
            * (np.exp(mortality["beta"] * ages) - 1)
        )
        weights.append(births * (male_share if sex == 1 else 1 - male_share) * np.exp(-hazard))
    pick = world.choose(n, np.concatenate(weights))
    return StockDraft(
        first_year=first_year,
        n=n,
        birth_year=cohorts[pick % len(cohorts)].astype(np.int16),
        sex=np.where(pick < len(cohorts), 1, 2).astype(np.int8),
    )


def _categories(world: World, stock: StockDraft) -> None:
    params, rng, n = world.params["stock"], world.rng, stock.n
    shares = ("immigrant_share", "descendant_share", "one_foreign_parent_share", "foreign_born_norwegian_parents_share")
    sizes = [stochastic_round(rng, n * params[share]) for share in shares]
    stock.category = np.full(n, A, dtype=np.int8)
    order = rng.permutation(n)
    stock.immigrants, stock.descendants, stock.one_foreign_parent, stock.foreign_born_norwegian = np.split(
        order[: sum(sizes)], np.cumsum(sizes[:3])
    )
    stock.category[stock.immigrants] = B
    stock.category[stock.foreign_born_norwegian] = np.where(rng.random(len(stock.foreign_born_norwegian)) < 0.6, F, G)
    stock.category[stock.one_foreign_parent] = E
    stock.category[stock.descendants] = C


def _immigrant_arrivals(world: World, stock: StockDraft) -> None:
    """Birth months (everyone), then immigrants' country group, arrival year (decaying into the
    past), age at arrival, birth year, arrival day and birth country."""
    params, rng, n = world.params["stock"], world.rng, stock.n
    immigrants, first_year = stock.immigrants, stock.first_year
    stock.birth_month = rng.integers(1, 13, n).astype(np.int8)
    stock.birth_country = np.full(n, world.countries.NOR, dtype=np.int16)
    stock.country_group = np.zeros(n, dtype=np.int8)
    shares = params["immigrant_group_shares"]
    groups = np.array([1, 2, 3])[world.choose(len(immigrants), np.array([shares[1], shares[2], shares[3]]))]
    stock.immigrant_groups = groups
    stock.country_group[immigrants] = groups
    stock.first_immigration_day = np.full(n, -1, dtype=np.int32)
    stock.arrival_age = np.full(n, -1, dtype=np.int16)
    years = np.arange(params["arrival_first_year"], first_year)
    arrival_year = years[world.choose(len(immigrants), np.exp(params["arrival_decay_per_year"] * (years - first_year)))]
    gamma = world.params["immigration"]["adult_age_gamma"]
    adult_age = gamma["offset"] + rng.gamma(gamma["shape"], gamma["scale"], len(immigrants))
    child = rng.random(len(immigrants)) < 0.15
    age = np.where(child, rng.integers(0, 18, len(immigrants)), adult_age).astype(np.int16)
    stock.immigrant_arrival_age = age
    stock.birth_year[immigrants] = (arrival_year - age).astype(np.int16)
    stock.arrival_age[immigrants] = age
    stock.first_immigration_day[immigrants] = real_day(
        np.array([day(int(y)) for y in arrival_year]) + rng.integers(0, 365, len(immigrants))
    )
    for group in (1, 2, 3):
        members = immigrants[groups == group]
        stock.birth_country[members] = world.choose(len(members), world.country_weights(group, 1990))


def _descendants_and_foreign_born(world: World, stock: StockDraft) -> None:
    """C: Norwegian-born to two immigrant parents, young. F/G: foreign-born with Norwegian-born
    parent(s), arrived as children."""
    rng, first_year, foreign_born = world.rng, stock.first_year, stock.foreign_born_norwegian
    stock.birth_year[stock.descendants] = (
        first_year - 1 - np.minimum(rng.exponential(9, len(stock.descendants)), 40)
    ).astype(np.int16)
    stock.birth_country[foreign_born] = world.choose(
        len(foreign_born), world.country_weights(1, 1990) + 0.3 * world.country_weights(3, 1990)
    )
    arrival_age = np.clip(first_year - stock.birth_year[foreign_born] - rng.integers(0, 20, len(foreign_born)), 0, None)
    stock.arrival_age[foreign_born] = arrival_age
    stock.first_immigration_day[foreign_born] = real_day(
        np.array([day(int(y)) for y in (stock.birth_year[foreign_born] + arrival_age)])
        + rng.integers(0, 365, len(foreign_born))
    )


def _parents_birth_countries(world: World, stock: StockDraft) -> None:
    """Immigrants' parents from their birth country (father unknown for 10 %); E: one parent from an
    origin drawn from the immigrant stock mix; C: both parents from one such origin; F/G."""
    rng, norway, unknown_country = world.rng, world.countries.NOR, world.countries.XXX
    immigrants, birth_country = stock.immigrants, stock.birth_country
    one_foreign, descendants, foreign_born = stock.one_foreign_parent, stock.descendants, stock.foreign_born_norwegian
    mother = np.full(stock.n, norway, dtype=np.int16)
    father = np.full(stock.n, norway, dtype=np.int16)
    mother[immigrants] = birth_country[immigrants]
    father[immigrants] = np.where(rng.random(len(immigrants)) < 0.9, birth_country[immigrants], -1)
    origin = (
        birth_country[immigrants][rng.integers(0, max(len(immigrants), 1), len(one_foreign))]
        if len(immigrants)
        else np.full(len(one_foreign), unknown_country)
    )
    foreign_mother = rng.random(len(one_foreign)) < 0.5
    mother[one_foreign] = np.where(foreign_mother, origin, norway)
    father[one_foreign] = np.where(foreign_mother, norway, origin)
    stock.descendant_origin = (
        birth_country[immigrants][rng.integers(0, max(len(immigrants), 1), len(descendants))]
        if len(immigrants)
        else np.full(len(descendants), unknown_country)
    )
    mother[descendants] = stock.descendant_origin
    father[descendants] = stock.descendant_origin
    two_norwegian = stock.category[foreign_born] == G
    mother[foreign_born] = np.where(
        two_norwegian | (rng.random(len(foreign_born)) < 0.5), norway, birth_country[foreign_born]
    )
    father[foreign_born] = np.where(
        two_norwegian | (mother[foreign_born] != norway), norway, birth_country[foreign_born]
    )
    stock.mother_birth_country, stock.father_birth_country = mother, father


def _grandparents_and_citizenship(world: World, stock: StockDraft) -> None:
    """Foreign-born grandparents by category; immigrants naturalised with the group hazard after
    seven years; half of the descendants Norwegian."""
    rng, norway, immigrants = world.rng, world.countries.NOR, stock.immigrants
    grandparents = np.zeros(stock.n, dtype=np.int8)
    grandparents[immigrants] = 4
    grandparents[stock.descendants] = 4
    grandparents[stock.one_foreign_parent] = np.where(rng.random(len(stock.one_foreign_parent)) < 0.85, 2, 3)
    grandparents[stock.foreign_born_norwegian] = np.where(stock.category[stock.foreign_born_norwegian] == F, 2, 0)
    stock.n_foreign_grandparents = grandparents
    stock.citizenship = np.full(stock.n, norway, dtype=np.int16)
    stock.years_here = stock.first_year - approx_year(stock.first_immigration_day[immigrants])
    hazard = world.params["immigration"]["naturalisation_hazard"]
    group_hazard = np.array([0.0, hazard[1], hazard[2], hazard[3]])[stock.immigrant_groups]
    naturalised = 1 - (1 - group_hazard) ** np.clip(stock.years_here - 7, 0, None)
    stock.citizenship[immigrants] = np.where(
        rng.random(len(immigrants)) < naturalised, norway, stock.birth_country[immigrants]
    )
    stock.citizenship[stock.descendants] = np.where(
        rng.random(len(stock.descendants)) < 0.5, norway, stock.descendant_origin
    )


def _settle(world: World, stock: StockDraft) -> None:
    """Reasons (internal only: no events before the first year), study C groups, municipalities,
    final education and immigrants' unregistered education."""
    pop, immigrants, n = world.pop, stock.immigrants, stock.n
    pop.mother_birth_country[immigrants] = np.where(
        pop.mother_birth_country[immigrants] < 0, -1, pop.mother_birth_country[immigrants]
    )
    assign_reasons(world, immigrants, stock.immigrant_groups, stock.immigrant_arrival_age)
    pop.study_c_group[:n] = study_c_group(
        stock.category, stock.birth_country, stock.arrival_age, stock.n_foreign_grandparents
    )
    pop.municipality[:n] = world.assign_municipality(n, immigrant=(stock.category == B))
    group = np.where(stock.category == B, stock.country_group, 0)
    pop.final_education[:n] = draw_final_education(world, n, stock.birth_year.astype(float), group)
    pop.education_unregistered[immigrants] = world.rng.random(len(immigrants)) < world.params["education"][
        "immigrant_missing_at_arrival"
    ] * np.exp(-0.05 * stock.years_here)


def _couples_and_mothers(world: World, stock: StockDraft) -> None:
    """Marital status by age (married ones paired by market and age), then children and young adults
    linked to mothers in the stock: same origin market, mother 20-37 years older."""
    params, pop, n = world.params["stock"], world.pop, stock.n
    age = stock.first_year - 1 - stock.birth_year
    married = interp_knots(params["married_share_by_age"], age)
    divorced = interp_knots(params["divorced_share_by_age"], age)
    u = world.rng.random(n)
    status = np.zeros(n, dtype=np.int8)
    status[(u >= married) & (u < married + divorced)] = DIVORCED
    status[(age >= 70) & (u >= married + divorced) & (u < married + divorced + 0.25 * (age - 60) / 30)] = WIDOWED
    pop.marital_status[:n] = status
    marry(world, np.flatnonzero(u < married), year=stock.first_year - 1)
    link_mothers(world, np.flatnonzero(age < 25), stock.first_year)


def deaths(world: World, year: int, alive: np.ndarray) -> np.ndarray:
    """Gompertz mortality with improvement, sex and immigrant multipliers, infant rate. The spouse of
    the deceased becomes widowed. Returns who died."""
    pop, params = world.pop, world.params["mortality"]
    age = (year - pop.birth_year[alive]).astype(float)
    improvement = (1 - params["improvement_per_year"]) ** (year - 1990)
    rate = np.exp(params["alpha"] + params["beta"] * age) * np.where(age < 95, improvement, 1.0)
    rate *= np.where(pop.sex[alive] == 1, params["sex_multiplier"][1], params["sex_multiplier"][2])
    rate *= np.where(pop.category[alive] == B, params["immigrant_multiplier"], 1.0)
    rate = np.where(age <= 1, float(interp_knots(params["infant_rate"], year)), rate)
    died = alive[world.rng.random(len(alive)) < 1 - np.exp(-rate)]
    pop.death_day[died] = day(year) + world.rng.integers(0, 365, len(died))
    pop.register_status[died] = DEAD
    pop.present[died] = False
    pop.exit_year[died] = year
    widowed = pop.spouse[died]
    widowed = widowed[widowed >= 0]
    pop.marital_status[widowed] = WIDOWED
    pop.spouse[widowed] = -1
    pop.spouse[died] = -1
    return died
