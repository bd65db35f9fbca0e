"""Births and households: fertility, parents and grandparents of the newborn, couples (marriage,
family immigrants joining a resident spouse, separation and divorce), internal moves, naturalisation,
and the children counted in each household."""

from __future__ import annotations

import numpy as np

from .covariates import draw_final_education
from .draws import interp_knots, pair_sample
from .population import (
    DIVORCED,
    MARRIED,
    NO_DATE,
    REGISTERED_PARTNER,
    RESIDENT,
    SEPARATED,
    A,
    B,
    C,
    E,
    approx_year,
    study_c_group,
)
from .world import World


# ------------------------------------------------------------------ births
def births(world: World, year: int) -> int:
    """Children born in `year` to resident women 15-49 (TFR series x age profile x immigrant group
    multipliers). Returns the number of births."""
    mothers = _draw_mothers(world, year)
    n = len(mothers)
    if n == 0:
        return 0
    pop, rng, norway = world.pop, world.rng, world.countries.NOR
    fathers = _draw_fathers(world, year, mothers)
    mother_country = pop.birth_country[mothers]
    father_country = np.where(fathers >= 0, pop.birth_country[np.maximum(fathers, 0)], -1).astype(np.int16)
    category, grandparents = _category_and_grandparents(world, mothers, fathers, father_country)
    father_norwegian = (fathers >= 0) & (pop.citizenship[np.maximum(fathers, 0)] == norway)
    citizenship = np.where((pop.citizenship[mothers] == norway) | father_norwegian, norway, pop.citizenship[mothers])
    birth_month = rng.integers(1, 13, n)
    params = world.params["fertility"]
    children = pop.add(
        n,
        sex=np.where(rng.random(n) < params["male_share"], 1, 2),
        birth_year=year,
        birth_month=birth_month,
        birth_country=norway,
        mother=mothers,
        father=fathers,
        mother_birth_country=mother_country,
        father_birth_country=father_country,
        n_foreign_grandparents=np.minimum(grandparents, 4),
        category=category,
        register_status=RESIDENT,
        present=True,
        municipality=pop.municipality[mothers],
        citizenship=citizenship,
        earnings_potential=rng.standard_normal(n).astype(np.float32),
    )
    pop.study_c_group[children] = study_c_group(
        category, pop.birth_country[children], pop.arrival_age[children], pop.n_foreign_grandparents[children]
    )
    pop.final_education[children] = draw_final_education(world, n, np.full(n, 1990.0), np.zeros(n, dtype=np.int8))
    return n


def _draw_mothers(world: World, year: int) -> np.ndarray:
    pop, params = world.pop, world.params["fertility"]
    women = np.flatnonzero(
        pop.present
        & (pop.register_status == RESIDENT)
        & (pop.sex == 2)
        & (year - pop.birth_year >= 15)
        & (year - pop.birth_year <= 49)
    )
    age = year - pop.birth_year[women]
    profile = interp_knots(params["age_profile"], np.arange(15, 50))
    rate_by_age = profile / profile.sum() * float(interp_knots(params["tfr"], year))
    group = params["group_multiplier"]
    multiplier = np.where(
        pop.category[women] == B,
        np.array([1.0, group[1], group[2], group[3]])[pop.country_group[women]],
        group["native"],
    )
    return women[world.rng.random(len(women)) < rate_by_age[age - 15] * multiplier]


def _draw_fathers(world: World, year: int, mothers: np.ndarray) -> np.ndarray:
    """The resident spouse; for unmarried mothers a man of the same market and age band (cohabitants)
    unless the father is unknown."""
    pop, rng = world.pop, world.rng
    fathers = pop.spouse[mothers].copy()
    fathers = np.where((fathers >= 0) & (pop.register_status[np.maximum(fathers, 0)] == RESIDENT), fathers, -1)
    unmarried = np.flatnonzero(fathers < 0)
    if len(unmarried):
        men = np.flatnonzero(
            pop.present
            & (pop.register_status == RESIDENT)
            & (pop.sex == 1)
            & (year - pop.birth_year >= 18)
            & (year - pop.birth_year <= 60)
        )

        def market(persons):  # immigrants by birth country, others together; 5-year age bands
            origin = np.where(pop.category[persons] == B, pop.birth_country[persons], -1).astype(np.int64)
            return origin * 100 + (year - pop.birth_year[persons]) // 5

        fathers[unmarried] = pair_sample(rng, market(mothers[unmarried]), men, market(men))
        unknown = rng.random(len(unmarried)) < world.params["fertility"]["father_unknown_share"] * 3
        fathers[unmarried[unknown]] = -1
    return fathers


def _category_and_grandparents(world: World, mothers, fathers, father_country):
    """The child's immigrant category and number of foreign-born grandparents (no draws)."""
    pop, norway = world.pop, world.countries.NOR
    no_father = fathers < 0
    mother_immigrant = pop.category[mothers] == B
    father_immigrant = np.where(~no_father, pop.category[np.maximum(fathers, 0)] == B, True)
    mother_foreign = pop.birth_country[mothers] != norway
    father_foreign = np.where(~no_father, father_country != norway, False)
    category = np.where(
        mother_immigrant & father_immigrant & (mother_foreign | no_father),
        C,
        np.where(mother_foreign | father_foreign, E, A),
    ).astype(np.int8)
    category = np.where(no_father & ~mother_immigrant & mother_foreign, E, category)

    def foreign_parents_of(parent, exists):
        known = np.maximum(parent, 0)
        mother, father = pop.mother_birth_country[known], pop.father_birth_country[known]
        own = np.where(mother < 0, 1, mother != norway).astype(np.int8) + np.where(
            father < 0, 1, father != norway
        ).astype(np.int8)
        own = np.where(pop.category[known] == B, 2, own)
        return np.where(exists, own, 2)  # unknown parent -> grandparents counted as foreign-born

    everyone = np.ones(len(mothers), bool)
    grandparents = foreign_parents_of(mothers, everyone) + foreign_parents_of(fathers, ~no_father)
    grandparents = np.where(
        no_father, foreign_parents_of(mothers, everyone) + np.where(mother_immigrant, 2, 0), grandparents
    )
    return category, grandparents


# ------------------------------------------------------------------ couples
def marry(world: World, candidates: np.ndarray, year: int) -> int:
    """Pair candidates (any sex) by market and age rank; unpaired stay unmarried. Returns the pairs."""
    pop, rng, params = world.pop, world.rng, world.params["household"]
    if len(candidates) == 0:
        return 0
    market = np.where(pop.category[candidates] == B, pop.country_group[candidates], 0).astype(np.int64)
    market[rng.random(len(candidates)) > params["same_market_share"]] = 0
    age = (year - pop.birth_year[candidates]).astype(float) + rng.normal(0, 3, len(candidates))
    age = np.where(pop.sex[candidates] == 1, age - 2.5, age)  # men are on average ~2.5 years older
    n_pairs = 0
    for this_market in np.unique(market):
        members, member_age = candidates[market == this_market], age[market == this_market]
        is_man, is_woman = pop.sex[members] == 1, pop.sex[members] == 2
        men, women = members[is_man], members[is_woman]
        men_age, women_age = member_age[is_man], member_age[is_woman]
        k = min(len(men), len(women))
        if k == 0:
            continue
        # keep k random of the larger side, then sort by age and pair
        if len(men) > k:
            keep = rng.permutation(len(men))[:k]
            men, men_age = men[keep], men_age[keep]
        if len(women) > k:
            keep = rng.permutation(len(women))[:k]
            women, women_age = women[keep], women_age[keep]
        men = men[np.argsort(men_age, kind="stable")]
        women = women[np.argsort(women_age, kind="stable")]
        pop.spouse[men] = women
        pop.spouse[women] = men
        partner = rng.random(k) < params["registered_partner_share"]
        status = np.where(partner, REGISTERED_PARTNER, MARRIED).astype(np.int8)
        pop.marital_status[men] = status
        pop.marital_status[women] = status
        n_pairs += k
    return n_pairs


def join_resident_spouse(world: World, family_immigrants: np.ndarray, year: int) -> None:
    """Family immigrants marry a resident of the opposite sex, same market and 10-year age band, and
    move to the spouse's municipality."""
    pop, rng = world.pop, world.rng
    residents = np.flatnonzero(
        (pop.register_status == RESIDENT)
        & pop.present
        & (pop.spouse < 0)
        & (year - pop.birth_year >= 20)
        & (year - pop.birth_year <= 65)
    )
    if len(residents) == 0:
        return
    native_share = world.params["immigration"]["family_spouse_native_share"]
    to_native = (
        rng.random(len(family_immigrants))
        < np.array([0.6, native_share[1], native_share[2], native_share[3]])[pop.country_group[family_immigrants]]
    )
    market = np.where(to_native, 0, pop.birth_country[family_immigrants]).astype(np.int64)
    resident_market = np.where(pop.category[residents] == B, pop.birth_country[residents], 0).astype(np.int64)
    # key: market, opposite sex, 10-year age band
    key = (market * 3 + (3 - pop.sex[family_immigrants])) * 20 + (year - pop.birth_year[family_immigrants]) // 10
    resident_key = (resident_market * 3 + pop.sex[residents]) * 20 + (year - pop.birth_year[residents]) // 10
    spouse = pair_sample(rng, key, residents, resident_key)
    found = spouse >= 0
    newcomer, spouse = family_immigrants[found], spouse[found]
    _, first = np.unique(spouse, return_index=True)  # a resident can be chosen once
    newcomer, spouse = newcomer[first], spouse[first]
    pop.spouse[newcomer] = spouse
    pop.spouse[spouse] = newcomer
    pop.marital_status[newcomer] = MARRIED
    pop.marital_status[spouse] = MARRIED
    pop.municipality[newcomer] = pop.municipality[spouse]


def link_mothers(world: World, children: np.ndarray, year: int) -> None:
    """Initial stock: link children to a resident woman 20-37 years older of the same origin market;
    her spouse becomes the father. An immigrant child arrives no earlier than the mother."""
    pop, rng = world.pop, world.rng
    if len(children) == 0:
        return
    women = np.flatnonzero((pop.sex == 2) & (pop.register_status == RESIDENT) & (year - 1 - pop.birth_year >= 18))
    origin = np.where(pop.category == B, pop.birth_country, -1).astype(np.int64)  # immigrants: by birth country
    origin = np.where((pop.category != B), -1, origin)
    target_birth_year = pop.birth_year[children] - rng.integers(20, 38, len(children))
    child_origin = np.where(
        np.isin(pop.category[children], [C]),
        pop.mother_birth_country[children],
        np.where(pop.category[children] == B, pop.birth_country[children], -1),
    ).astype(np.int64)
    mother = pair_sample(
        rng, child_origin * 4000 + target_birth_year, women, origin[women] * 4000 + pop.birth_year[women]
    )
    found = mother >= 0
    child, mother = children[found], mother[found]
    immigrant = child[pop.category[child] == B]
    immigrant_mother = mother[pop.category[child] == B]
    pop.first_immigration_day[immigrant] = np.maximum(
        pop.first_immigration_day[immigrant], pop.first_immigration_day[immigrant_mother]
    )
    pop.arrival_age[immigrant] = np.clip(
        approx_year(pop.first_immigration_day[immigrant]) - pop.birth_year[immigrant], 0, None
    )
    pop.mother[child] = mother
    spouse = pop.spouse[mother]
    pop.father[child] = np.where(spouse >= 0, spouse, -1)
    pop.mother_birth_country[child] = pop.birth_country[mother]
    father = pop.father[child]
    pop.father_birth_country[child] = np.where(
        father >= 0, pop.birth_country[np.maximum(father, 0)], pop.father_birth_country[child]
    )
    pop.study_c_group[child] = study_c_group(
        pop.category[child], pop.birth_country[child], pop.arrival_age[child], pop.n_foreign_grandparents[child]
    )


# ------------------------------------------------------------------ yearly household events
def _present_residents(world: World) -> np.ndarray:
    return np.flatnonzero(world.pop.present & (world.pop.register_status == RESIDENT))


def separations(world: World, year: int) -> None:
    """Couples separate: the wife is drawn, both become separated."""
    pop, alive = world.pop, _present_residents(world)
    wives = alive[
        (pop.sex[alive] == 2)
        & (pop.spouse[alive] >= 0)
        & np.isin(pop.marital_status[alive], [MARRIED, REGISTERED_PARTNER])
    ]
    wives = wives[world.rng.random(len(wives)) < world.params["household"]["divorce_hazard"]]
    husbands = pop.spouse[wives]
    for partner in (wives, husbands):
        pop.marital_status[partner] = SEPARATED
        pop.spouse[partner] = -1
        pop.separation_year[partner] = year


def settle_separations(world: World, year: int, rows: np.ndarray) -> None:
    """Separated -> divorced one year after the separation (for the 1 Jan status rows)."""
    pop = world.pop
    settled = (pop.marital_status[rows] == SEPARATED) & (pop.separation_year[rows] < year - 1)
    pop.marital_status[rows[settled]] = DIVORCED


def marriages(world: World, year: int) -> None:
    pop, alive = world.pop, _present_residents(world)
    age = year - pop.birth_year[alive]
    single = alive[(pop.spouse[alive] < 0) & (age >= 18) & (age <= 80)]
    hazard = interp_knots(world.params["household"]["marriage_hazard"], year - pop.birth_year[single])
    marry(world, single[world.rng.random(len(single)) < hazard * 2], year)  # both sides drawn: ~ hazard x 2 / 2 pairs


def internal_moves(world: World, year: int) -> None:
    """Women and single men move; spouses and minor children (with their mother) follow."""
    pop, alive, params = world.pop, _present_residents(world), world.params["internal_moves"]
    age = year - pop.birth_year[alive]
    heads = alive[(age >= 18) & ((pop.sex[alive] == 2) | (pop.spouse[alive] < 0))]
    hazard = interp_knots(params["hazard_by_age"], year - pop.birth_year[heads]) * np.where(
        pop.category[heads] == B, params["immigrant_multiplier"], 1.0
    )
    movers = heads[world.rng.random(len(heads)) < hazard]
    if len(movers) == 0:
        return
    weights = world.muni_weight_all * np.where(world.muni_centrality == 4, params["central_pull"], 1.0)
    destination = world.choose(len(movers), weights).astype(np.int16)
    immigrant_destination = world.choose(len(movers), world.muni_weight_immigrant).astype(np.int16)
    destination = np.where(pop.category[movers] == B, immigrant_destination, destination)
    pop.municipality[movers] = destination
    spouse = pop.spouse[movers]
    pop.municipality[spouse[spouse >= 0]] = destination[spouse >= 0]
    children = alive[(age < 18)]
    mother = pop.mother[children]
    pop.municipality[children[mother >= 0]] = pop.municipality[mother[mother >= 0]]


def naturalisations(world: World, year: int) -> None:
    """Immigrants after the minimum residence (hazard by country group); descendants C at 5 %."""
    pop, rng, norway, alive = world.pop, world.rng, world.countries.NOR, _present_residents(world)
    params = world.params["immigration"]
    foreign = alive[(pop.citizenship[alive] != norway) & (pop.first_immigration_day[alive] != NO_DATE)]
    eligible = foreign[year - approx_year(pop.first_immigration_day[foreign]) >= params["naturalisation_min_years"]]
    hazard = np.array(
        [
            0.03,
            params["naturalisation_hazard"][1],
            params["naturalisation_hazard"][2],
            params["naturalisation_hazard"][3],
        ]
    )[pop.country_group[eligible]]
    pop.citizenship[eligible[rng.random(len(eligible)) < hazard]] = norway
    descendants = alive[(pop.citizenship[alive] != norway) & (pop.category[alive] == C)]
    pop.citizenship[descendants[rng.random(len(descendants)) < 0.05]] = norway


def children_in_household(world: World, year: int) -> np.ndarray:
    """Per person: resident children under 18 on 1 Jan; the father counts a child when the mother is
    absent or is his spouse."""
    pop = world.pop
    n = pop.n
    children = np.flatnonzero((pop.register_status == RESIDENT) & (year - 1 - pop.birth_year < 18))
    counts = np.zeros(n, dtype=np.int64)
    mother = pop.mother[children]
    with_mother = mother >= 0
    with_mother[with_mother] &= pop.register_status[mother[with_mother]] == RESIDENT
    counts += np.bincount(mother[with_mother], minlength=n)
    father = pop.father[children]
    with_father = father >= 0
    with_father[with_father] &= pop.register_status[father[with_father]] == RESIDENT
    their_mother = pop.mother[children[with_father]]
    counted = (
        (their_mother < 0)
        | (pop.spouse[np.maximum(their_mother, 0)] == father[with_father])
        | (pop.register_status[np.maximum(their_mother, 0)] != RESIDENT)
    )
    counts += np.bincount(father[with_father][counted], minlength=n)
    return counts
