"""Register simulator: writes yearly population-register deliveries (see README.md).

from models_py.simulator import simulate
simulate("data/landing", scale=0.001, first_year=1990, last_year=2023, seed=42)
"""

from .engine import SimulationSummary, load_params, simulate

__all__ = ["simulate", "SimulationSummary", "load_params"]
