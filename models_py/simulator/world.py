"""What every mechanism reads: parameters, classifications, the random generator and the population.

One `World` per simulation. The mechanisms are plain functions `step(world, year, ...)`; the only
state they share across years is the population (person fields) and the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from . import classif
from .draws import weighted_choice, year_value
from .population import Population
from .sur import MacroSeries, SurProcess

PARAMS_PATH = Path(__file__).with_name("params.yaml")
ORIGIN_REGIONS = ("nordic", "eu_west", "eu_east", "other_europe", "non_europe")  # study B origin dummies


def load_params(path: Path | None = None) -> dict:
    with open(path or PARAMS_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@dataclass
class World:
    params: dict
    scale: float
    seed: int
    rng: np.random.Generator
    countries: classif.Countries
    municipalities: classif.Municipalities
    muni_coder: classif.MuniCoder
    macro: MacroSeries
    sur: SurProcess
    pop: Population
    # per country: study A group, Nordic, unreported-departure risk, origin region of study B
    country_group: np.ndarray
    country_nordic: np.ndarray
    country_admin_risk: np.ndarray
    country_origin_region: np.ndarray
    # per municipality: centrality 1..4, county, settlement weights (everyone, immigrants)
    muni_centrality: np.ndarray
    muni_county: np.ndarray
    muni_weight_all: np.ndarray
    muni_weight_immigrant: np.ndarray

    @classmethod
    def create(cls, scale: float, seed: int, params: dict) -> World:
        countries = classif.load_countries()
        municipalities = classif.load_municipalities()
        macro = MacroSeries(classif.load_macro())
        risk = params["registration"]["admin_risk_multiplier"]
        admin_risk = np.array([risk.get(str(x), 1.0) for x in countries.admin_risk], dtype=float)
        admin_risk[countries.nordic] = risk.get("nordic", 0.05)
        region = {name: i for i, name in enumerate(ORIGIN_REGIONS)}
        # the SUR error draws have their own generator, so the person draws do not depend on them
        return cls(
            params=params,
            scale=float(scale),
            seed=int(seed),
            rng=np.random.default_rng(np.random.SeedSequence([int(seed), 20260101])),
            countries=countries,
            municipalities=municipalities,
            muni_coder=classif.MuniCoder(municipalities),
            macro=macro,
            sur=SurProcess(params, macro, np.random.default_rng(np.random.SeedSequence([int(seed), 4242]))),
            pop=Population(int(params["stock"]["residents"] * float(scale) * 2.2) + 1000),
            country_group=countries.group_a.astype(np.int8),
            country_nordic=countries.nordic,
            country_admin_risk=admin_risk,
            country_origin_region=np.array([region.get(str(x), 4) for x in countries.origin_b], dtype=np.int8),
            muni_centrality=municipalities.centrality,
            muni_county=municipalities.county,
            muni_weight_all=municipalities.pop_share / municipalities.pop_share.sum(),
            muni_weight_immigrant=municipalities.imm_weight / municipalities.imm_weight.sum(),
        )

    def choose(self, n: int, weights: np.ndarray) -> np.ndarray:
        return weighted_choice(self.rng, n, weights)

    def country_weights(self, group: int, year: int) -> np.ndarray:
        """Birth-country weights of new immigrants of study A group `group`: the listed countries of
        the year's table, and the group's residual weight spread over its other countries."""
        immigration = self.params["immigration"]
        table = year_value(immigration["country_weights"], year)[group]
        weights = np.zeros(len(self.countries.codes))
        members = np.flatnonzero((self.country_group == group) & (np.arange(len(weights)) != self.countries.NOR))
        residual = float(immigration["residual_weight"][group])
        listed = 0.0
        for code, value in table.items():
            if self.countries.has(code):
                weights[self.countries.idx(code)] += float(value)
                listed += float(value)
        others = [i for i in members if weights[i] == 0]
        if others:
            weights[others] = residual * listed / (1 - residual) / len(others) if listed > 0 else 1.0
        return weights

    def assign_municipality(
        self, n: int, immigrant: np.ndarray | None = None, centrality_weights: dict | None = None
    ) -> np.ndarray:
        """Municipalities by population share; immigrants by immigrant settlement weights (optionally
        times a weight per centrality). Draws n, then one per immigrant."""
        chosen = self.choose(n, self.muni_weight_all).astype(np.int16)
        if immigrant is not None and immigrant.any():
            weights = self.muni_weight_immigrant
            if centrality_weights is not None:
                weights = weights * np.array([centrality_weights[int(c)] for c in self.muni_centrality])
            chosen[immigrant] = self.choose(int(immigrant.sum()), weights)
        return chosen
