"""Command line: python -m models_py.simulator --out DIR --scale S --first-year Y0 --last-year Y1 --seed N"""
from __future__ import annotations

import argparse
import sys

from .engine import simulate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models_py.simulator", description="Write simulated register deliveries.")
    ap.add_argument("--out", required=True, help="landing folder (one sub-folder per register year)")
    ap.add_argument("--scale", type=float, default=0.001, help="fraction of Norway's population (1 = ~5.5M in 2023)")
    ap.add_argument("--first-year", type=int, default=1990)
    ap.add_argument("--last-year", type=int, default=2023)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--truth-dir", default=None, help="default: <out>/../simulation_truth")
    ap.add_argument("--params", default=None, help="alternative params.yaml")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    s = simulate(a.out, scale=a.scale, first_year=a.first_year, last_year=a.last_year, seed=a.seed,
                 truth_dir=a.truth_dir, progress=not a.no_progress, params_path=a.params)
    print(f"wrote {len(s.years)} register years to {s.out_dir} (truth: {s.truth_dir}); residents "
          f"{s.residents_first} -> {s.residents_last}; {s.seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
