"""The register simulator: vectorised person arrays stepped year by year (no per-person Python loops).

Register year Y: population_status on 1 Jan Y (register view), migration events registered in Y,
education on 1 Oct Y-1, income for Y-1, persons as known at the end of Y. See README.md.

`run_year` lists the yearly steps; each mechanism lives in its own module (population/stock,
households, immigration, departures, destinations, registration, covariates, deliveries, truth).
The order of the steps is the order of the random draws: same seed => byte-identical deliveries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import households
from .covariates import education_register, income_register, register_education
from .deliveries import (
    PersonIds,
    education_table,
    events_table,
    income_table,
    persons_table,
    status_table,
)
from .departures import draw_departures, immigrant_composition, multi_migrants
from .destinations import choose_destinations
from .events import EventLog
from .immigration import new_immigrants, returns
from .population import EMIGRATED, RESIDENT, day
from .registration import (
    cleanup_backlog,
    leave,
    register_administrative,
    register_reported,
    same_year_returns,
)
from .stock import build_initial_stock, deaths
from .truth import Truth
from .world import PARAMS_PATH, World, load_params
from .writer import write_delivery
from .year import Departures, YearState

__all__ = ["SimulationSummary", "load_params", "simulate"]


@dataclass
class SimulationSummary:
    out_dir: Path
    truth_dir: Path
    years: list[int]
    seed: int
    scale: float
    residents_first: int = 0
    residents_last: int = 0
    persons_last: int = 0
    seconds: float = 0.0
    manifests: dict = field(default_factory=dict)


@dataclass
class Simulation:
    world: World
    events: EventLog = field(default_factory=EventLog)
    ids: PersonIds = field(default_factory=PersonIds)
    truth: Truth = field(default_factory=Truth)

    def run_year(self, year: int, out_dir: Path, producer: str) -> tuple[YearState, dict]:
        world, events = self.world, self.events
        state = self.open_year(year)  # 1 Jan register view and its tables
        self.emigration_rates(state)  # study A cell rates from the SUR systems
        state.returns = returns(world, year, events)  # scheduled re-immigrations
        state.new_immigrants = new_immigrants(world, year, events)
        state.died = deaths(world, year, state.present)
        state.departures = self.departures(state)  # who leaves, where to, reported or not
        leave(world, year, state.departures)
        cleanup_backlog(world, year)
        registered = register_reported(world, year, events)
        register_administrative(world, year, events)
        same_year_returns(world, year, events, registered)
        state.births = households.births(world, year)
        households.separations(world, year)
        households.marriages(world, year)
        households.internal_moves(world, year)
        households.naturalisations(world, year)
        register_education(world, year)
        return state, self.deliver(state, out_dir, producer)

    def open_year(self, year: int) -> YearState:
        """Who is in the 1 Jan register, and the tables describing them: population_status,
        education (residents) and income of the year before (status rows aged 16+)."""
        world, pop = self.world, self.world.pop
        status_rows = np.flatnonzero(
            (pop.register_status == RESIDENT) | ((pop.register_status >= EMIGRATED) & (pop.exit_year == year - 1))
        )
        residents = np.flatnonzero(pop.register_status == RESIDENT)
        state = YearState(
            year=year,
            status_rows=status_rows,
            residents=residents,
            present=np.flatnonzero(pop.present & (pop.register_status == RESIDENT)),
            children=households.children_in_household(world, year),
        )
        households.settle_separations(world, year, status_rows)
        state.tables["population_status"] = status_table(world, self.ids, year, status_rows, state.children)
        state.tables["education"] = education_table(world, self.ids, education_register(world, year, residents))
        state.tables["income"] = income_table(world, self.ids, income_register(world, year, status_rows))
        return state

    def emigration_rates(self, state: YearState) -> None:
        state.composition = immigrant_composition(self.world, state.year)
        state.rates = self.world.sur.step(state.year, state.composition)
        self.truth.record_sur_cells(state.year, state.rates, state.composition)

    def departures(self, state: YearState) -> Departures:
        """Departures of the present 1 Jan residents who survived, then multi-migrants; destinations
        are drawn for both, but a multi-migrant's departure is always reported."""
        world, pop, year = self.world, self.world.pop, state.year
        pool = state.present[pop.present[state.present]]
        leaving, expected_by_duration = draw_departures(world, state, pool)
        self.truth.record_departures_by_duration(year, state.composition["dur_n"], expected_by_duration)
        departure_day = day(year) + world.rng.integers(0, 365, len(leaving))
        multi, multi_day = multi_migrants(world, year, state.new_immigrants)
        persons = np.concatenate([leaving, multi])
        country, unreported = choose_destinations(world, state, persons)
        if state.onward_intercept is not None:
            self.truth.onward_intercept = state.onward_intercept
        is_multi = np.zeros(len(persons), bool)
        is_multi[len(leaving) :] = True
        return Departures(
            persons=persons,
            day=np.concatenate([departure_day, multi_day]).astype(np.int32),
            country=country,
            unreported=unreported & ~is_multi,
            multi_migrant=is_multi,
        )

    def deliver(self, state: YearState, out_dir: Path, producer: str) -> dict:
        """Write the register year's delivery and record its truth."""
        world = self.world
        events, numbers = self.events.close_year()
        tables = {
            "persons": persons_table(world, self.ids),
            "population_status": state.tables["population_status"],
            "migration_events": events_table(world, self.ids, events, numbers),
            "education": state.tables["education"],
            "income": state.tables["income"],
        }
        manifest = write_delivery(out_dir, state.year, tables, producer)
        self.truth.record_year(
            state.year,
            {
                "residents_1jan": len(state.residents),
                "persons": int(world.pop.n),
                "deaths": int(len(state.died)),
                "births": int(state.births),
                "departures": int(len(state.departures.persons)),
                "departures_unreported": int(state.departures.unreported.sum()),
                "new_immigrants": int(len(state.new_immigrants)),
                "returns": int(state.returns),
            },
            events,
        )
        return manifest


def simulate(
    out_dir,
    scale: float = 0.001,
    first_year: int = 1990,
    last_year: int = 2023,
    seed: int = 42,
    truth_dir=None,
    progress: bool = False,
    params_path=None,
) -> SimulationSummary:
    """Write register deliveries first_year..last_year into out_dir (one folder per year) and the
    simulator's truth into truth_dir (default: <out_dir>/../simulation_truth)."""
    started = time.time()
    out_dir = Path(out_dir)
    truth_dir = Path(truth_dir) if truth_dir is not None else out_dir.parent / "simulation_truth"
    out_dir.mkdir(parents=True, exist_ok=True)
    params = load_params(params_path)
    simulation = Simulation(World.create(scale, seed, params))
    world = simulation.world
    build_initial_stock(world, first_year)
    years = list(range(first_year, last_year + 1))
    summary = SimulationSummary(out_dir=out_dir, truth_dir=truth_dir, years=years, seed=world.seed, scale=world.scale)
    producer = f"register-simulator {params['version']} scale={world.scale:g} seed={world.seed}"
    for year in _progress(years, progress):
        state, summary.manifests[year] = simulation.run_year(year, out_dir, producer)
        if year == first_year:
            summary.residents_first = len(state.residents)
    summary.residents_last = int((world.pop.register_status == RESIDENT).sum())
    summary.persons_last = int(world.pop.n)
    simulation.truth.write(
        truth_dir,
        Path(params_path) if params_path is not None else PARAMS_PATH,
        {
            "seed": world.seed,
            "scale": world.scale,
            "first_year": first_year,
            "last_year": last_year,
            "params_version": params["version"],
        },
    )
    summary.seconds = time.time() - started
    return summary


def _progress(years: list[int], progress: bool):
    if not progress:
        return years
    from tqdm import tqdm

    return tqdm(years, desc="simulating register years", unit="year")
