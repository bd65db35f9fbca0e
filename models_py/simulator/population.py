"""The person store: one numpy column per person field, indexed by a person number (0, 1, ...).

Codes shared by every mechanism live here: immigrant categories, register status, marital status,
immigration reasons, the day-number dates and study A's age groups and duration bands.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from models_py import bands

EPOCH = dt.date(1970, 1, 1)
NO_DATE = -1  # day-number sentinel for "no date" (days since 1970-01-01; earlier dates are negative)

# immigrant categories [SSB]: A no immigrant background, B immigrant, C Norwegian-born to two immigrant
# parents, E one foreign-born parent, F/G foreign-born with one/two Norwegian-born parents
CATEGORY_CODES = np.array(["A", "B", "C", "E", "F", "G"], dtype=object)
A, B, C, E, F, G = range(6)

# register status (0 = not yet in the register)
RESIDENT, EMIGRATED, DEAD = 1, 2, 3
STATUS_CODES = np.array(["resident", "emigrated", "dead"], dtype=object)  # delivered for status 1, 2, 3

MARITAL_CODES = np.array(
    ["never_married", "married", "widowed", "divorced", "separated", "registered_partner"], dtype=object
)
NEVER_MARRIED, MARRIED, WIDOWED, DIVORCED, SEPARATED, REGISTERED_PARTNER = range(6)

REASON_CODES = np.array(["work", "family", "refuge", "education", "nordic", "other"], dtype=object)
REASON = {r: i for i, r in enumerate(REASON_CODES)}

# The bands' one home is the `bands` var of dbt/dbt_project.yml (models_py/bands.py reads it).
AGE_GROUP_EDGES = bands.lower_edges("age_group_a")  # -> groups 1..6 [A §3.2]
DURATION_EDGES = bands.lower_edges("botid_group_a3b")  # completed years since first immigration -> A3b [A §3.3]
DURATION_BANDS = tuple(bands.labels("botid_group_a3b"))


def day(year: int, month: int = 1, day_of_month: int = 1) -> int:
    """Day number (days since 1970-01-01) of a date."""
    return (dt.date(year, month, day_of_month) - EPOCH).days


def real_day(days: np.ndarray) -> np.ndarray:
    """Day numbers of real dates, moved off the sentinel (1969-12-31 becomes 1969-12-30)."""
    return np.where(days == NO_DATE, NO_DATE - 1, days)


def approx_year(days: np.ndarray) -> np.ndarray:
    """Calendar year of day numbers with 365-day years (the simulator's duration-of-residence clock)."""
    return days // 365 + 1970


def age_group(age: np.ndarray) -> np.ndarray:
    """Study A age groups 1..6 [A §3.2]."""
    return (np.searchsorted(AGE_GROUP_EDGES, age, side="right") + 1).astype(np.int8)


def study_c_group(category, birth_country, arrival_age, n_foreign_grandparents) -> np.ndarray:
    """Study C groups 1..5 [C §2.5]: G1 descendants with four foreign-born grandparents, G2 immigrants
    arrived aged 0-9, G3 one foreign-born parent and at least two foreign-born grandparents, G4 other
    immigrants, G5 everyone else."""
    group = np.full(len(category), 5, dtype=np.int8)
    group[(category == C) & (n_foreign_grandparents == 4)] = 1
    group[(category == B) & (arrival_age >= 0) & (arrival_age <= 9)] = 2
    group[(category == E) & (n_foreign_grandparents >= 2)] = 3
    group[(category == B) & ((arrival_age >= 10) | (arrival_age < 0))] = 4
    return group


# name: (dtype, default). Person numbers (mother, father, spouse) are -1 when absent; country and
# municipality fields are indices into the classification seeds; *_day fields are day numbers.
FIELDS = {
    "sex": (np.int8, 1),  # 1 man, 2 woman
    "birth_year": (np.int16, 1900),
    "birth_month": (np.int8, 1),
    "birth_country": (np.int16, 0),
    "mother": (np.int64, -1),
    "father": (np.int64, -1),
    "mother_birth_country": (np.int16, -1),
    "father_birth_country": (np.int16, -1),
    "n_foreign_grandparents": (np.int8, 0),
    "category": (np.int8, 0),  # A..G above
    "death_day": (np.int32, -1),
    "register_status": (np.int8, 0),  # RESIDENT, EMIGRATED, DEAD
    "present": (np.bool_, False),  # physically in Norway (a resident can be away unregistered)
    "municipality": (np.int16, 0),  # 2013 municipality index
    "citizenship": (np.int16, 0),
    "marital_status": (np.int8, 0),
    "spouse": (np.int64, -1),
    "first_immigration_day": (np.int32, -1),
    "arrival_age": (np.int16, -1),  # age at first immigration
    "immigration_reason": (np.int8, -1),  # REASON
    "final_education": (np.int8, 4),  # NUS level the person will reach
    "education_unregistered": (np.bool_, False),  # immigrants' education not (yet) in the register [C §2.9]
    "earnings_potential": (np.float32, 0.0),  # latent N(0, 1) behind employment, wage, welfare, wealth
    "country_group": (np.int8, 0),  # study A country group 1..3 of immigrants, 0 otherwise
    "study_c_group": (np.int8, 5),
    "exit_year": (np.int16, 0),  # year of the registered emigration or death
    "departure_day": (np.int32, -1),  # physical departure while still registered
    "pending_registration_year": (np.int16, 0),  # year a reported departure gets registered; -1 unreported
    "pending_event_day": (np.int32, -1),
    "pending_country": (np.int16, -1),
    "pending_administrative": (np.bool_, False),  # unreported: waits for an administrative emigration
    "return_year": (np.int16, 0),  # scheduled re-immigration (0 none)
    "destination": (np.int16, -1),
    "latest_arrival_year": (np.int16, 0),
    "employed": (np.bool_, False),  # income-year covariates (study B, measured at t-1)
    "income_percentile": (np.float32, 0.5),
    "welfare": (np.bool_, False),
    "wealth_top_quintile": (np.bool_, False),
    "self_employed": (np.bool_, False),
    "asylum_artefact": (np.bool_, False),  # extra refugee registration of 1998-2003 [A §7]
    "separation_year": (np.int16, 0),
    "emigration_count": (np.int16, 0),
    "last_emigration_year": (np.int16, 0),
}


class Population:
    """Growing column store. `pop.birth_year` is a view of the first `pop.n` entries (writable)."""

    def __init__(self, capacity: int):
        self.n = 0
        self.capacity = max(capacity, 1024)
        self.columns = {name: np.full(self.capacity, default, dtype=dtype) for name, (dtype, default) in FIELDS.items()}

    def add(self, n: int, **values) -> np.ndarray:
        """Append n persons with the given field values (defaults elsewhere); returns their numbers."""
        if self.n + n > self.capacity:
            capacity = max(int(self.capacity * 1.5), self.n + n + 1024)
            for name, (dtype, default) in FIELDS.items():
                column = np.full(capacity, default, dtype=dtype)
                column[: self.n] = self.columns[name][: self.n]
                self.columns[name] = column
            self.capacity = capacity
        persons = np.arange(self.n, self.n + n, dtype=np.int64)
        for name, value in values.items():
            self.columns[name][persons] = value
        self.n += n
        return persons

    def __getattr__(self, name):
        columns = self.__dict__.get("columns")
        if columns is not None and name in columns:
            return columns[name][: self.n]
        raise AttributeError(name)
