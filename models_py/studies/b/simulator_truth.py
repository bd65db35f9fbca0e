"""What the project's register simulator encodes of study B's model, as terms of the study's design.

The simulator (models_py/simulator/params.yaml, `onward_logit`) draws whether an emigration of a known
destination is onward (not to the country of birth) from a logit with fixed coefficients, its intercept solved
each year. That is study B's onward-versus-return equation: the two-step run's second logit (emigration rows,
the main design with year fixed effects, which absorb the yearly intercept). The terms below are the ones with a
one-to-one counterpart in the design; each true value is the simulator's coefficient minus that of the design's
reference level.

Not encoded as study B terms, so not compared: income and wealth (the simulator uses the percentile rank linearly,
a top-5 % bonus and a top-wealth-quintile bonus; the design uses groups), and the leave-versus-stay equation (the
simulator's `leave_effects` redistribute study A's cell rates among a cell's persons, so a leave logit across cells
mixes them with the cells' rates).
"""

from __future__ import annotations

from models_py.simulator.world import load_params
from models_py.studies.b.design import CATS

BINARY = {
    "female": "female",
    "citizen_no": "norwegian_citizen",
    "spouse_in_no": "spouse_in_norway",
    "child_in_hh": "child_in_household",
    "employed": "employed",
    "welfare_any": "welfare",
}
# design variable -> the simulator's key for its levels
LEVELS = {"educ": "education", "dur_band": "duration", "age_band": "age_band", "origin": "origin"}


def onward_vs_return_truth(params: dict | None = None) -> dict[str, float]:
    """term of the design (`female`, `educ=high`, ...) -> the simulator's true onward-vs-return coefficient."""
    p = (params or load_params())["onward_logit"]
    truth = {term: float(p[key]) for term, key in BINARY.items()}
    for variable, key in LEVELS.items():
        reference, *others = CATS[variable]
        for level in others:
            if level in p[key]:  # 'unknown' education is encoded; design-only levels are not
                truth[f"{variable}={level}"] = float(p[key][level]) - float(p[key][reference])
    return truth
