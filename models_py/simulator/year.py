"""The state of one simulated register year, handed explicitly from step to step."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Departures:
    """Who left Norway physically in the year, when, where to, and whether they told the register."""

    persons: np.ndarray
    day: np.ndarray
    country: np.ndarray
    unreported: np.ndarray
    multi_migrant: np.ndarray  # new immigrants leaving again in their arrival year [A §2.4]


@dataclass
class YearState:
    year: int
    status_rows: np.ndarray  # population_status rows: residents on 1 Jan + exits registered the year before
    residents: np.ndarray  # registered residents on 1 Jan
    present: np.ndarray  # registered residents physically in Norway on 1 Jan
    children: np.ndarray  # children in the household per person on 1 Jan (persons then existing)
    tables: dict = field(default_factory=dict)  # delivered tables built on 1 Jan
    composition: dict | None = None  # study A cell composition of the immigrant stock
    rates: dict | None = None  # study A cell emigration rates of the year
    returns: int = 0
    new_immigrants: np.ndarray | None = None
    died: np.ndarray | None = None
    departures: Departures | None = None
    births: int = 0
    onward_intercept: float | None = None  # solved when the year has labour immigrants leaving onward/return

    def children_of(self, persons: np.ndarray) -> np.ndarray:
        """Children on 1 Jan of `persons` (0 for persons added during the year)."""
        counts = np.zeros(len(persons), dtype=np.int64)
        known = persons < len(self.children)
        counts[known] = self.children[persons[known]]
        return counts
