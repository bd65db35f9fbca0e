"""Immigration: first immigrations (volume, country group, country, age, sex, category, reason),
the asylum artefact of 1998-2003, and the re-immigration of returning emigrants."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .covariates import draw_final_education
from .draws import interp_knots, pair_sample, stochastic_round, year_value
from .events import IMMIGRATION, EventLog
from .households import join_resident_spouse
from .population import (
    DIVORCED,
    EMIGRATED,
    MARRIED,
    REASON,
    RESIDENT,
    B,
    F,
    G,
    day,
    study_c_group,
)
from .world import World

LATEST_REGISTRATION_LAG_DAYS = 20  # an arrival is registered within 20 days (but in its year)


def assign_reasons(world: World, persons: np.ndarray, groups: np.ndarray, arrival_age: np.ndarray) -> None:
    """Immigration reason by country group; children mostly family; Nordic citizens `nordic`."""
    params, pop = world.params["immigration"], world.pop
    reason = np.full(len(persons), -1, dtype=np.int8)
    for group in (1, 2, 3):
        members = groups == group
        shares = params["reasons"][group]
        names = list(shares)
        reason[members] = np.array([REASON[x] for x in names])[
            world.choose(int(members.sum()), np.array([float(shares[x]) for x in names]))
        ]
    family = (
        (arrival_age < 18)
        & (reason != REASON["refuge"])
        & (world.rng.random(len(persons)) < params["child_reason_family_share"] + 0.3)
    )
    reason[family] = REASON["family"]
    citizenship = pop.citizenship[persons]
    reason[world.country_nordic[citizenship] & (citizenship != world.countries.NOR)] = REASON["nordic"]
    pop.immigration_reason[persons] = reason


def delivered_reason(world: World, persons: np.ndarray) -> np.ndarray:
    """The reason on an immigration event: none for Norwegian citizens, `nordic` for Nordic citizens,
    `other` when unknown."""
    pop, norway = world.pop, world.countries.NOR
    reason = pop.immigration_reason[persons].copy()
    citizenship = pop.citizenship[persons]
    reason = np.where(citizenship == norway, -1, reason)
    reason = np.where(world.country_nordic[citizenship] & (citizenship != norway), REASON["nordic"], reason)
    reason = np.where((reason < 0) & (citizenship != norway), REASON["other"], reason)
    return reason.astype(np.int8)


@dataclass
class Arrivals:
    """The year's first immigrants before they enter the population."""

    year: int
    n: int
    birth_country: np.ndarray
    group: np.ndarray
    asylum: np.ndarray | None = None
    sex: np.ndarray | None = None
    arrival_age: np.ndarray | None = None
    arrival_day: np.ndarray | None = None
    birth_year: np.ndarray | None = None
    category: np.ndarray | None = None
    municipality: np.ndarray | None = None  # on arrival (a family immigrant then moves to the spouse)


def new_immigrants(world: World, year: int, events: EventLog) -> np.ndarray:
    """First immigrations of `year`; returns their person numbers."""
    arrivals = _countries(world, year)
    _asylum_artefact(world, arrivals)
    _ages_and_categories(world, arrivals)
    persons = _enter(world, arrivals)
    _families(world, arrivals, persons)
    registration = np.minimum(
        arrivals.arrival_day + world.rng.integers(0, LATEST_REGISTRATION_LAG_DAYS, arrivals.n), day(year, 12, 31)
    )
    events.add(
        persons,
        IMMIGRATION,
        arrivals.arrival_day,
        registration,
        arrivals.birth_country,
        False,
        delivered_reason(world, persons),
        arrivals.municipality,
    )
    return persons


def _countries(world: World, year: int) -> Arrivals:
    params = world.params["immigration"]
    n = stochastic_round(world.rng, float(interp_knots(params["first_immigrations"], year)) * world.scale)
    shares = params["group_shares"]
    knots = sorted(shares)
    group_share = np.array([interp_knots({k: shares[k][g] for k in knots}, year) for g in (1, 2, 3)])
    group = np.array([1, 2, 3], dtype=np.int8)[world.choose(n, group_share)]
    birth_country = np.zeros(n, dtype=np.int16)
    for g in (1, 2, 3):
        members = group == g
        birth_country[members] = world.choose(int(members.sum()), world.country_weights(g, year))
    return Arrivals(year=year, n=n, birth_country=birth_country, group=group)


def _asylum_artefact(world: World, arrivals: Arrivals) -> None:
    """Extra G3 refugee registrations in 1998-2003 [A §7]."""
    artefact, countries = world.params["immigration"]["asylum_artefact"], world.countries
    extra = stochastic_round(world.rng, float(artefact["extra_arrivals"].get(arrivals.year, 0)) * world.scale)
    if extra:
        codes = [c for c in artefact["countries"] if countries.has(c)]
        weights = np.array([artefact["countries"][c] for c in codes])
        birth_country = np.array([countries.idx(c) for c in codes], dtype=np.int16)[world.choose(extra, weights)]
        arrivals.birth_country = np.concatenate([arrivals.birth_country, birth_country])
        arrivals.group = np.concatenate([arrivals.group, np.full(extra, 3, dtype=np.int8)])
    arrivals.asylum = np.zeros(arrivals.n + extra, bool)
    arrivals.asylum[arrivals.n :] = True
    arrivals.n += extra


def _ages_and_categories(world: World, arrivals: Arrivals) -> None:
    """Sex and child shares by group, age at arrival (young child, child, adult gamma), arrival day,
    birth year, and F/G among the non-asylum arrivals."""
    params, rng, n, year, group = world.params["immigration"], world.rng, arrivals.n, arrivals.year, arrivals.group
    male_share = year_value(params["male_share"], year)
    arrivals.sex = np.where(
        rng.random(n) < np.array([0.5, male_share[1], male_share[2], male_share[3]])[group], 1, 2
    ).astype(np.int8)
    child = rng.random(n) < np.array([0.1] + [params["child_share"][g] for g in (1, 2, 3)])[group]
    young = child & (rng.random(n) < params["young_child_share_of_children"])
    gamma = params["adult_age_gamma"]
    age = np.where(
        young,
        rng.integers(0, 10, n),
        np.where(child, rng.integers(10, 18, n), gamma["offset"] + rng.gamma(gamma["shape"], gamma["scale"], n)),
    )
    arrivals.arrival_age = np.minimum(age, 90).astype(np.int16)
    arrivals.arrival_day = day(year) + rng.integers(0, 365, n)
    arrivals.birth_year = (year - arrivals.arrival_age - (rng.random(n) < 0.5)).astype(np.int16)
    arrivals.category = np.full(n, B, dtype=np.int8)
    u = rng.random(n)
    arrivals.category[(u < params["share_f"]) & ~arrivals.asylum] = F
    arrivals.category[(u >= params["share_f"]) & (u < params["share_f"] + params["share_g"]) & ~arrivals.asylum] = G


def _enter(world: World, arrivals: Arrivals) -> np.ndarray:
    """Add the arrivals to the population with parents' countries, citizenship, municipality (asylum
    arrivals mostly in the least central ones), reason, study C group and education."""
    pop, rng, norway, n = world.pop, world.rng, world.countries.NOR, arrivals.n
    category, country = arrivals.category, arrivals.birth_country
    mother = np.where(
        category == B, country, np.where(category == G, norway, np.where(rng.random(n) < 0.5, norway, country))
    ).astype(np.int16)
    father = np.where(
        category == B, country, np.where(category == G, norway, np.where(mother == norway, country, norway))
    ).astype(np.int16)
    grandparents = np.where(category == B, 4, np.where(category == F, 2, 0)).astype(np.int8)
    immigrant = category == B
    persons = pop.add(
        n,
        sex=arrivals.sex,
        birth_year=arrivals.birth_year,
        birth_month=rng.integers(1, 13, n),
        birth_country=country,
        mother_birth_country=mother,
        father_birth_country=father,
        n_foreign_grandparents=grandparents,
        category=category,
        register_status=RESIDENT,
        present=True,
        citizenship=np.where(immigrant, country, norway).astype(np.int16),
        first_immigration_day=arrivals.arrival_day,
        arrival_age=arrivals.arrival_age,
        country_group=np.where(immigrant, arrivals.group, 0),
        earnings_potential=rng.standard_normal(n).astype(np.float32),
        asylum_artefact=arrivals.asylum,
        latest_arrival_year=arrivals.year,
    )
    municipality = world.assign_municipality(n, immigrant=np.ones(n, bool))
    extra = int(arrivals.asylum.sum())
    if extra:
        municipality[arrivals.asylum] = world.assign_municipality(
            extra,
            immigrant=np.ones(extra, bool),
            centrality_weights=world.params["immigration"]["asylum_artefact"]["centrality_weights"],
        )
    pop.municipality[persons] = municipality
    arrivals.municipality = municipality
    assign_reasons(world, persons, arrivals.group, arrivals.arrival_age)
    pop.immigration_reason[persons[arrivals.asylum]] = REASON["refuge"]
    pop.study_c_group[persons] = study_c_group(category, country, arrivals.arrival_age, grandparents)
    pop.final_education[persons] = draw_final_education(
        world, n, arrivals.birth_year.astype(float), np.where(immigrant, arrivals.group, 0)
    )
    pop.education_unregistered[persons] = (
        immigrant
        & (arrivals.arrival_age >= 10)
        & (rng.random(n) < world.params["education"]["immigrant_missing_at_arrival"])
    )
    return persons


def _families(world: World, arrivals: Arrivals, persons: np.ndarray) -> None:
    """Arriving children get an arriving mother of the same birth country (at least 16 years older);
    60 % of family immigrants aged 20-60 join a resident spouse."""
    pop, rng, age = world.pop, world.rng, arrivals.arrival_age
    children = persons[age < 18]
    women = persons[(arrivals.sex == 2) & (age >= 20) & (age <= 50)]
    if len(children) and len(women):
        mother = pair_sample(
            rng, pop.birth_country[children].astype(np.int64), women, pop.birth_country[women].astype(np.int64)
        )
        found = mother >= 0
        found[found] &= (pop.birth_year[children[found]] - pop.birth_year[mother[found]]) >= 16
        pop.mother[children[found]] = mother[found]
    family = persons[(pop.immigration_reason[persons] == REASON["family"]) & (age >= 20) & (age <= 60)]
    family = family[rng.random(len(family)) < 0.6]
    if len(family):
        join_resident_spouse(world, family, arrivals.year)


def returns(world: World, year: int, events: EventLog) -> int:
    """Emigrants whose return was scheduled for `year` re-immigrate (from their destination, else
    their birth country); a spouse who is no longer resident is dropped. Returns their number."""
    pop, rng, norway = world.pop, world.rng, world.countries.NOR
    returning = np.flatnonzero((pop.register_status == EMIGRATED) & (pop.return_year == year) & (pop.death_day < 0))
    n = len(returning)
    if n == 0:
        return 0
    arrival = day(year) + rng.integers(0, 365, n)
    pop.register_status[returning] = RESIDENT
    pop.present[returning] = True
    pop.return_year[returning] = 0
    pop.departure_day[returning] = -1
    pop.latest_arrival_year[returning] = year
    pop.municipality[returning] = world.assign_municipality(n, immigrant=pop.category[returning] == B)
    origin = np.where(
        pop.destination[returning] >= 0,
        pop.destination[returning],
        np.where(pop.birth_country[returning] != norway, pop.birth_country[returning], -1),
    )
    registration = np.minimum(arrival + rng.integers(0, LATEST_REGISTRATION_LAG_DAYS, n), day(year, 12, 31))
    events.add(
        returning,
        IMMIGRATION,
        arrival,
        registration,
        origin,
        False,
        delivered_reason(world, returning),
        pop.municipality[returning],
    )
    spouse = pop.spouse[returning]
    gone = spouse >= 0
    gone[gone] = pop.register_status[spouse[gone]] != RESIDENT
    pop.spouse[returning[gone]] = -1
    pop.marital_status[returning[gone & (pop.marital_status[returning] == MARRIED)]] = DIVORCED
    return n


def schedule_returns(world: World, year: int, emigrants: np.ndarray, administrative: bool) -> None:
    """At registration, draw a re-immigration: study C's five-year return probabilities by group,
    lower for adult immigrants, by destination (origin or not) and education, with delays of 1-4
    years, late returns (5-10 years); administrative emigrants return 1-5 years later at their own rate."""
    pop, rng, params = world.pop, world.rng, world.params["return_migration"]
    if len(emigrants) == 0:
        return
    if administrative:
        returning = rng.random(len(emigrants)) < params["admin_return"]
        pop.return_year[emigrants[returning]] = year + rng.integers(1, 6, int(returning.sum()))
        return
    within5 = params["within5"]
    age = year - pop.birth_year[emigrants]
    group = pop.study_c_group[emigrants]
    probability = np.select(
        [group == 1, group == 2, group == 3, group == 4],
        [within5["G1"], within5["G2"], within5["G3"], within5["G4"]],
        within5["G5"],
    )
    probability = np.where(age < 18, within5["child"], probability)
    probability = np.where((age > 35) & (pop.category[emigrants] == B), within5["elderly"], probability)
    destination = pop.destination[emigrants]
    mother_country = pop.mother_birth_country[emigrants]
    to_origin = (destination == pop.birth_country[emigrants]) | (
        (destination == mother_country) & (mother_country != world.countries.NOR)
    )
    multiplier = params["destination_multiplier"]
    probability = probability * np.where(to_origin, multiplier["origin"], multiplier["other"])
    probability = probability * np.where(pop.final_education[emigrants] >= 6, params["high_education_multiplier"], 1.0)
    u = rng.random(len(emigrants))
    returns_within5 = u < np.minimum(probability, 0.95)
    late = (~returns_within5) & (u < probability + params["late_return"])
    event_year = (pop.pending_event_day[emigrants] // 365.2425 + 1970).astype(np.int64)
    delay = 1 + world.choose(len(emigrants), np.array(params["delay_probs"]))
    return_year = np.where(
        returns_within5, event_year + delay, np.where(late, event_year + rng.integers(5, 11, len(emigrants)), 0)
    )
    return_year = np.where((return_year > 0) & (return_year <= year), year + 1, return_year)
    pop.return_year[emigrants] = return_year.astype(np.int16)
