"""The five delivered tables of a register year, as Arrow columns in the contracts' shape.

Person numbers become ids `P0000000001`, event numbers `E00000000001`, code indices become the
classification codes (negative index = null) and day numbers become dates (NO_DATE = null).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .events import IMMIGRATION
from .population import (
    CATEGORY_CODES,
    MARITAL_CODES,
    NO_DATE,
    REASON_CODES,
    RESIDENT,
    STATUS_CODES,
)
from .world import World

DIRECTION_CODES = np.array(["in", "out"], dtype=object)
REGISTRATION_CODES = np.array(["reported", "administrative"], dtype=object)
MAX_CHILDREN_DELIVERED = 20


class PersonIds:
    """Person ids, built once per person and cached (person numbers only grow)."""

    def __init__(self):
        self.chunks: list[pa.Array] = []
        self.ids: pa.Array | None = None

    def all(self, n: int) -> pa.Array:
        have = sum(len(x) for x in self.chunks)
        if have < n:
            numbers = np.arange(have, n)
            text = np.char.add("P", np.char.zfill(numbers.astype(str), 10))
            self.chunks.append(pa.array(text.astype(object), type=pa.string()))
            self.ids = None
        if self.ids is None or len(self.ids) != n:
            self.ids = pa.concat_arrays(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
            self.chunks = [self.ids]
        return self.ids

    def of(self, n: int, persons: np.ndarray) -> pa.Array:
        return self.all(n).take(pa.array(persons, type=pa.int64()))

    def optional(self, n: int, persons: np.ndarray, known: np.ndarray) -> pa.Array:
        """Ids of `persons` where `known`, null elsewhere."""
        ids = self.all(n).take(pa.array(np.maximum(persons, 0), type=pa.int64()))
        return pc.if_else(pa.array(known), ids, pa.scalar(None, pa.string()))


def code_array(index: np.ndarray, codes: np.ndarray) -> pa.Array:
    index = np.asarray(index)
    missing = index < 0
    dictionary = pa.array(list(codes), type=pa.string())
    indices = pa.array(np.where(missing, 0, index).astype(np.int32), mask=missing)
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def date_array(days: np.ndarray) -> pa.Array:
    # -1 is the "no date" sentinel; other negative day numbers are real dates before 1970
    # (immigrants of the 1990 stock arrived from 1946 on)
    days = np.asarray(days, dtype=np.int32)
    return pa.array(days, type=pa.int32(), mask=days == NO_DATE).cast(pa.date32())


def status_table(world: World, ids: PersonIds, year: int, rows: np.ndarray, children: np.ndarray) -> dict:
    """population_status on 1 Jan: municipality code valid that day, spouse only if resident."""
    pop = world.pop
    status = pop.register_status[rows]
    resident = status == RESIDENT
    municipality = np.full(len(rows), -1, dtype=np.int32)
    municipality[resident] = world.muni_coder.codes_at(
        year, pop.municipality[rows[resident]].astype(np.int64), rows[resident]
    )
    spouse = pop.spouse[rows]
    spouse_known = (spouse >= 0) & resident
    spouse_known[spouse_known] &= pop.register_status[spouse[spouse_known]] == RESIDENT
    spouse = np.where(spouse_known, spouse, -1)
    return {
        "person_id": ids.of(pop.n, rows),
        "status": code_array(status - 1, STATUS_CODES),
        "municipality": code_array(municipality, np.array(world.muni_coder.all_codes, dtype=object)),
        "citizenship": code_array(pop.citizenship[rows], world.countries.codes),
        "marital_status": code_array(pop.marital_status[rows], MARITAL_CODES),
        "spouse_id": ids.optional(pop.n, spouse, spouse_known),
        "n_children_in_household": np.minimum(children[rows], MAX_CHILDREN_DELIVERED).astype(np.int8),
    }


def education_table(world: World, ids: PersonIds, education: dict) -> dict:
    level = education["nus_level"]
    return {
        "person_id": ids.of(world.pop.n, education["person"]),
        "nus_level": pa.array(level.astype(np.int8), mask=level < 0),
        "enrolled": education["enrolled"],
    }


def income_table(world: World, ids: PersonIds, income: dict) -> dict:
    return {"person_id": ids.of(world.pop.n, income["person"])} | {k: v for k, v in income.items() if k != "person"}


def events_table(world: World, ids: PersonIds, events: dict, numbers: np.ndarray) -> dict:
    """migration_events: municipality code valid on the event date (its year's 1 Jan table)."""
    event_id = np.char.add("E", np.char.zfill(numbers.astype(str), 11))
    municipality = np.full(len(numbers), -1, dtype=np.int32)
    event_year = events["event_day"].astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    for year in np.unique(event_year):
        in_year = event_year == year
        municipality[in_year] = world.muni_coder.codes_at(
            int(year), events["municipality"][in_year].astype(np.int64), events["person"][in_year]
        )
    immigration = events["direction"] == IMMIGRATION
    return {
        "event_id": pa.array(event_id.astype(object), type=pa.string()),
        "person_id": ids.of(world.pop.n, events["person"]),
        "direction": code_array(np.where(immigration, 0, 1), DIRECTION_CODES),
        "event_date": date_array(events["event_day"]),
        "registration_date": date_array(events["registration_day"]),
        "country": code_array(np.where(events["country"] >= 0, events["country"], -1), world.countries.codes),
        "registration_type": code_array(events["administrative"].astype(np.int64), REGISTRATION_CODES),
        "immigration_reason": code_array(np.where(immigration, events["reason"], -1), REASON_CODES),
        "municipality": code_array(municipality, np.array(world.muni_coder.all_codes, dtype=object)),
    }


def persons_table(world: World, ids: PersonIds) -> dict:
    """persons as known at the end of the register year (every person ever registered)."""
    pop, codes = world.pop, world.countries.codes
    return {
        "person_id": ids.all(pop.n),
        "sex": pop.sex,
        "birth_year": pop.birth_year,
        "birth_month": pop.birth_month,
        "birth_country": code_array(pop.birth_country, codes),
        "mother_id": ids.optional(pop.n, pop.mother, pop.mother >= 0),
        "father_id": ids.optional(pop.n, pop.father, pop.father >= 0),
        "mother_birth_country": code_array(pop.mother_birth_country, codes),
        "father_birth_country": code_array(pop.father_birth_country, codes),
        "n_foreign_born_grandparents": pop.n_foreign_grandparents,
        "immigrant_category": code_array(pop.category, CATEGORY_CODES),
        "first_immigration_date": date_array(pop.first_immigration_day),
        "death_date": date_array(pop.death_day),
    }
