"""The simulator's truth: what the deliveries are drawn from, for the calibration and the tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .events import EMIGRATION, IMMIGRATION
from .population import DURATION_BANDS

SEXES = {"K": 2, "M": 1}  # study A's cell letters: K women, M men


class Truth:
    def __init__(self):
        self.yearly: list[dict] = []
        self.emigrations_by_type: list[dict] = []
        self.sur_cells: list[dict] = []
        self.departures_by_duration: list[dict] = []
        self.onward_intercept = float("nan")  # the last solved intercept (kept when a year has none)

    def record_sur_cells(self, year: int, rates: dict, composition: dict) -> None:
        for group in (1, 2, 3):
            for letter in "KM":
                for age_group in range(1, 7):
                    cell = (group, letter, age_group)
                    self.sur_cells.append(
                        {
                            "year": year,
                            "country_group": group,
                            "sex": SEXES[letter],
                            "age_group": age_group,
                            "rate": rates[f"{group}{letter}{age_group}"],
                            "stock_1jan": composition["n"][cell],
                            "anko": composition["shares"][cell][0],
                            "anme": composition["shares"][cell][1],
                        }
                    )

    def record_departures_by_duration(self, year: int, stock: np.ndarray, expected: np.ndarray) -> None:
        """Expected departures by duration band (A3b) beside the 1 Jan stock of the band."""
        for k, band in enumerate(DURATION_BANDS):
            self.departures_by_duration.append(
                {
                    "year": year,
                    "duration_band": band,
                    "stock_1jan": int(stock[k]),
                    "expected_departures": float(expected[k]),
                    "rate": float(expected[k] / stock[k]) if stock[k] else float("nan"),
                }
            )

    def record_year(self, year: int, counts: dict, events: dict) -> None:
        """counts: residents_1jan, persons, deaths, births, departures, departures_unreported,
        new_immigrants, returns; events: the year's delivered events."""
        direction = events["direction"]
        self.yearly.append(
            {
                "year": year,
                "residents_1jan": counts["residents_1jan"],
                "persons": counts["persons"],
                "immigrations_registered": int((direction == IMMIGRATION).sum()),
                "emigrations_registered": int((direction == EMIGRATION).sum()),
                "deaths": counts["deaths"],
                "births": counts["births"],
                "departures": counts["departures"],
                "departures_unreported": counts["departures_unreported"],
                "new_immigrants": counts["new_immigrants"],
                "returns": counts["returns"],
                "onward_intercept": float(self.onward_intercept),
            }
        )
        if len(direction):
            out = direction == EMIGRATION
            event_year = events["event_day"][out].astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
            table = pd.DataFrame({"event_year": event_year, "admin": events["administrative"][out]}).value_counts()
            for _, row in table.reset_index().iterrows():
                self.emigrations_by_type.append(
                    {
                        "registration_year": year,
                        "event_year": int(row["event_year"]),
                        "registration_type": "administrative" if row["admin"] else "reported",
                        "n": int(row["count"]),
                    }
                )

    def write(self, truth_dir: Path, params_path: Path, run: dict) -> None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(self.yearly).to_csv(truth_dir / "yearly.csv", index=False)
        pd.DataFrame(self.emigrations_by_type).to_csv(
            truth_dir / "emigrations_by_registration_event_type.csv", index=False
        )
        pd.DataFrame(self.sur_cells).to_csv(truth_dir / "sur_cell_rates.csv", index=False)
        pd.DataFrame(self.departures_by_duration).to_csv(truth_dir / "departure_rates_by_duration.csv", index=False)
        shutil.copyfile(params_path, truth_dir / "params.yaml")
        (truth_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n")
