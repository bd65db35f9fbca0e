"""Benchmark: the study B main model on a synthetic panel of the scale-1 size (about 2.5 M person-years).

Run once by hand (not part of the test suite): `python -m models_py.studies.b.benchmark [rows]`.
Reports rows, persons, parameters, simulation, fit and margins times and the peak resident memory
of the process (ru_maxrss), as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

from models_py.studies.b.design import DesignSpec
from models_py.studies.b.mnl import ame_table, fit_mnl, income_points, income_profile, peak_memory_mb, rrr_table
from models_py.studies.b.simulate import simulate_panel

ROWS_PER_PERSON = 11.7  # person-years per simulated person (spec B §4.4 DGP)


def benchmark(rows: int = 2_500_000, seed: int = 7) -> dict:
    t0 = time.perf_counter()
    panel = simulate_panel(int(rows / ROWS_PER_PERSON), seed=seed)
    t_sim = time.perf_counter() - t0
    mem_panel = peak_memory_mb()
    t1 = time.perf_counter()
    fit = fit_mnl(panel, DesignSpec(), model="benchmark")
    t_fit = time.perf_counter() - t1
    mem_fit = peak_memory_mb()
    t2 = time.perf_counter()
    rrr = rrr_table(fit)
    ame = ame_table(fit)
    prof = income_profile(fit, income_points(panel, fit, min_persons=10))
    t_margins = time.perf_counter() - t2
    return {
        "rows": int(len(panel)),
        "persons": int(panel["person_id"].nunique()),
        "returns": int((panel["y"] == 1).sum()),
        "onward": int((panel["y"] == 2).sum()),
        "parameters": int(fit.params.size),
        "iterations": fit.summary["iterations"],
        "simulate_seconds": round(t_sim, 1),
        "fit_seconds": round(t_fit, 1),
        "margins_seconds": round(t_margins, 1),
        "rrr_rows": len(rrr),
        "ame_rows": len(ame),
        "profile_rows": len(prof),
        "peak_mb_after_panel": round(mem_panel),
        "peak_mb_after_fit": round(mem_fit),
        "peak_mb": round(peak_memory_mb()),
    }


if __name__ == "__main__":
    print(json.dumps(benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 2_500_000)))
