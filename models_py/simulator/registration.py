"""Registration and administrative dating: when a departure becomes a registered emigration.

A reported departure is registered with a lag of 0/1/2 years; an unreported one becomes an
administrative emigration, decided with a yearly hazard once two years (731 days) have passed since
the departure and dated at the decision, country unknown [A §2.3, §7]. From the EU-rule year the
hazard for EEA (non-Nordic) citizens is lower; the 2013 clean-up decides faster in its first half and
registers half of the outstanding late reported cases [A §7]. Same-year returners emigrate and come
back within the year [A §2.4].
"""

from __future__ import annotations

import numpy as np

from .events import EMIGRATION, IMMIGRATION, EventLog
from .immigration import delivered_reason, schedule_returns
from .population import EMIGRATED, RESIDENT, day
from .world import World
from .year import Departures

YEARS_BEFORE_ADMINISTRATIVE = 731  # days since departure before an administrative decision
UNREPORTED = -1  # pending_registration_year of an unreported departure


def leave(world: World, year: int, departures: Departures) -> None:
    """Departures leave the country; reported ones wait for their registration year (lag drawn for
    all, 0 for multi-migrants), unreported ones for an administrative decision."""
    pop, persons = world.pop, departures.persons
    pop.present[persons] = False
    pop.departure_day[persons] = departures.day
    pop.destination[persons] = departures.country
    lag = world.choose(len(persons), np.array(world.params["registration"]["reported_lag_probs"]))
    lag[departures.multi_migrant] = 0
    reported, unreported = ~departures.unreported, departures.unreported
    pop.pending_registration_year[persons[reported]] = year + lag[reported]
    pop.pending_event_day[persons[reported]] = departures.day[reported]
    pop.pending_country[persons[reported]] = departures.country[reported]
    pop.pending_administrative[persons[reported]] = False
    pop.pending_registration_year[persons[unreported]] = UNREPORTED
    pop.pending_event_day[persons[unreported]] = departures.day[unreported]
    pop.pending_administrative[persons[unreported]] = True


def cleanup_backlog(world: World, year: int) -> None:
    """Clean-up year: a share of the outstanding late reported cases are registered now [A §7]."""
    pop, params = world.pop, world.params["registration"]
    if year != params["cleanup_year"]:
        return
    late = np.flatnonzero(
        (pop.pending_registration_year > year) & ~pop.pending_administrative & (pop.pending_event_day < day(year))
    )
    late = late[world.rng.random(len(late)) < params["cleanup_extra_lag_cases"]]
    pop.pending_registration_year[late] = year


def register_reported(world: World, year: int, events: EventLog) -> np.ndarray:
    """Reported emigrations due in `year`: registered within 45 days of a departure in the year, at
    any day of the year for earlier departures (first half in the clean-up year). Returns them."""
    pop, rng = world.pop, world.rng
    due = np.flatnonzero(
        (pop.pending_registration_year == year) & ~pop.pending_administrative & (pop.register_status == RESIDENT)
    )
    event_day = pop.pending_event_day[due]
    this_year = event_day >= day(year)
    registration = np.where(
        this_year,
        np.minimum(event_day + rng.integers(0, 45, len(due)), day(year, 12, 31)),
        day(year) + rng.integers(0, 365, len(due)),
    )
    if year == world.params["registration"]["cleanup_year"]:
        registration = np.where(~this_year, day(year) + rng.integers(0, 181, len(due)), registration)
    register_emigration(world, year, events, due, event_day, registration, pop.pending_country[due], False)
    return due


def register_administrative(world: World, year: int, events: EventLog) -> None:
    pop, rng, params = world.pop, world.rng, world.params["registration"]
    waiting = np.flatnonzero(
        pop.pending_administrative & (pop.pending_registration_year == UNREPORTED) & (pop.register_status == RESIDENT)
    )
    eligible = waiting[pop.departure_day[waiting] + YEARS_BEFORE_ADMINISTRATIVE <= day(year, 12, 31)]
    hazard = np.full(len(eligible), params["admin_decision_hazard"])
    if year >= params["eu_rule_year"]:
        citizenship = pop.citizenship[eligible]
        eu_rule = (world.country_group[citizenship] == 2) | (
            world.countries.eea[citizenship] & ~world.country_nordic[citizenship]
        )
        hazard = np.where(eu_rule, hazard * params["eu_rule_hazard_multiplier"], hazard)
    cleanup = year == params["cleanup_year"]
    if cleanup:
        hazard = np.maximum(hazard, params["cleanup_hazard"])
    decided = eligible[rng.random(len(eligible)) < hazard]
    first = np.maximum(day(year), pop.departure_day[decided] + YEARS_BEFORE_ADMINISTRATIVE)
    last = np.full(len(decided), day(year, 12, 31))
    if cleanup:
        last = np.where(first <= day(year, 6, 30), day(year, 6, 30), last)
    decision = first + np.floor(rng.random(len(decided)) * (last - first + 1)).astype(np.int32)
    register_emigration(world, year, events, decided, decision, decision, np.full(len(decided), -1, np.int16), True)


def register_emigration(
    world: World, year: int, events: EventLog, persons, event_day, registration_day, country, administrative: bool
) -> None:
    pop = world.pop
    if len(persons) == 0:
        return
    events.add(persons, EMIGRATION, event_day, registration_day, country, administrative, -1, pop.municipality[persons])
    pop.register_status[persons] = EMIGRATED
    pop.exit_year[persons] = year
    pop.pending_registration_year[persons] = 0
    pop.pending_administrative[persons] = False
    pop.emigration_count[persons] += 1
    pop.last_emigration_year[persons] = year
    if administrative:
        pop.destination[persons] = -1
    pop.pending_event_day[persons] = event_day
    schedule_returns(world, year, persons, administrative)


def same_year_returns(world: World, year: int, events: EventLog, registered: np.ndarray) -> None:
    """Some of the reported emigrants who left this year come back within the year [A §2.4]; the
    return follows the registration of the emigration."""
    pop, rng = world.pop, world.rng
    share = world.params["return_migration"]["same_year_return_share"]
    returning = registered[(pop.pending_event_day[registered] >= day(year)) & (rng.random(len(registered)) < share)]
    if len(returning) == 0:
        return
    arrival = np.minimum(pop.departure_day[returning] + 60 + rng.integers(0, 120, len(returning)), day(year, 12, 31))
    after = arrival > pop.departure_day[returning]
    returning, arrival = returning[after], arrival[after]
    pop.register_status[returning] = RESIDENT
    pop.present[returning] = True
    pop.return_year[returning] = 0
    pop.departure_day[returning] = -1
    origin = np.where(pop.destination[returning] >= 0, pop.destination[returning], -1)
    events.add(
        returning,
        IMMIGRATION,
        arrival,
        arrival,
        origin,
        False,
        delivered_reason(world, returning),
        pop.municipality[returning],
    )
