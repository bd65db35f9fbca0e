"""The migration events of the register year being simulated, and the running event number."""

from __future__ import annotations

import numpy as np

IMMIGRATION, EMIGRATION = 1, 0  # event direction
EVENT_FIELDS = {
    "person": np.int64,
    "direction": np.int8,
    "event_day": np.int32,
    "registration_day": np.int32,
    "country": np.int16,
    "administrative": bool,
    "reason": np.int8,
    "municipality": np.int16,
}


class EventLog:
    def __init__(self):
        self.chunks: list[dict] = []
        self.next_number = 0  # event ids run on across register years

    def add(self, person, direction, event_day, registration_day, country, administrative, reason, municipality):
        """Record events of one direction; country/reason -1 = none."""
        n = len(person)
        if n == 0:
            return
        self.chunks.append(
            {
                "person": np.asarray(person, np.int64),
                "direction": np.full(n, direction, dtype=np.int8),
                "event_day": np.asarray(event_day, np.int32),
                "registration_day": np.asarray(registration_day, np.int32),
                "country": np.asarray(country, np.int16),
                "administrative": np.broadcast_to(np.asarray(administrative, bool), (n,)).copy(),
                "reason": np.broadcast_to(np.asarray(reason, np.int8), (n,)).copy(),
                "municipality": np.asarray(municipality, np.int16),
            }
        )

    def close_year(self) -> tuple[dict, np.ndarray]:
        """The year's events in delivery order (registration day, person, direction) with their
        event numbers; the log starts the next year empty."""
        if self.chunks:
            events = {k: np.concatenate([c[k] for c in self.chunks]) for k in self.chunks[0]}
        else:
            events = {k: np.zeros(0, dtype=t) for k, t in EVENT_FIELDS.items()}
        order = np.lexsort((events["direction"], events["person"], events["registration_day"]))
        events = {k: v[order] for k, v in events.items()}
        numbers = np.arange(self.next_number, self.next_number + len(order))
        self.next_number += len(order)
        self.chunks = []
        return events, numbers
