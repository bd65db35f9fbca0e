"""Command line: python -m models_py.simulator --out DIR --scale S --first-year Y0 --last-year Y1 --seed N"""

from __future__ import annotations

import argparse
import sys

from .engine import simulate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models_py.simulator", description="Write simulated register deliveries."
    )
    parser.add_argument("--out", required=True, help="landing folder (one sub-folder per register year)")
    parser.add_argument(
        "--scale", type=float, default=0.001, help="fraction of Norway's population (1 = ~5.5M in 2023)"
    )
    parser.add_argument("--first-year", type=int, default=1990)
    parser.add_argument("--last-year", type=int, default=2023)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--truth-dir", default=None, help="default: <out>/../simulation_truth")
    parser.add_argument("--params", default=None, help="alternative params.yaml")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    summary = simulate(
        args.out,
        scale=args.scale,
        first_year=args.first_year,
        last_year=args.last_year,
        seed=args.seed,
        truth_dir=args.truth_dir,
        progress=not args.no_progress,
        params_path=args.params,
    )
    print(
        f"wrote {len(summary.years)} register years to {summary.out_dir} (truth: {summary.truth_dir}); residents "
        f"{summary.residents_first} -> {summary.residents_last}; {summary.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
