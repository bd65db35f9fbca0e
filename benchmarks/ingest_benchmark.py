"""Ingest gate, table by table (as before) versus one pass per year, on the same landing.

    python benchmarks/ingest_benchmark.py --landing DIR [--years 2020 2023] [--before OLD_INGEST.py]

"table by table" runs `ingest_table` for each table of each year, which is what the per-table
Dagster assets do; with --before it uses an older copy of models_py/ingest.py for that (e.g.
`git show <commit>:models_py/ingest.py > /tmp/ingest_before.py`). "year pass" runs `ingest_year`
once per year. Each side starts from an empty warehouse in its own temporary folder; the two
warehouses' raw tables, quarantine and ingest log are compared (same counts per table-year).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models_py import ingest  # noqa: E402
from models_py.contracts import DELIVERED_TABLES  # noqa: E402
from models_py.delivery import delivery_years  # noqa: E402
from models_py.warehouse import connect  # noqa: E402


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location("ingest_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def counts(warehouse: Path) -> list[tuple]:
    con = connect(warehouse, read_only=True)  # the pipeline's one way to open a warehouse
    try:
        return con.execute(
            "select register_year, table_name, delivered, accepted, quarantined from raw.ingest_log order by all"
        ).fetchall()
    finally:
        con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--years", type=int, nargs=2, default=None, help="first and last register year")
    ap.add_argument("--before", type=Path, default=None, help="older models_py/ingest.py for the table-by-table side")
    args = ap.parse_args()
    years = [int(y) for y in delivery_years(args.landing)]
    if args.years:
        years = [y for y in years if args.years[0] <= y <= args.years[1]]
    old = load_module(args.before) if args.before else ingest
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "by_table.duckdb", Path(tmp) / "by_year.duckdb"
        started = time.perf_counter()
        for table in DELIVERED_TABLES:  # the asset order: one table over all its years, then the next
            for year in years:
                old.ingest_table(a, args.landing / str(year), year, table)
        by_table = time.perf_counter() - started
        started = time.perf_counter()
        for year in years:
            result = ingest.ingest_year(b, args.landing / str(year), year)
            refused = [t for t, r in result.items() if isinstance(r, ingest.DeliveryError)]
            if refused:
                raise SystemExit(f"{year}: refused {refused}")
        by_year = time.perf_counter() - started
        same = counts(a) == counts(b)
        rows = sum(r[2] for r in counts(b))
    print(f"register years {years[0]}-{years[-1]} ({len(years)}), {rows:,} delivered rows")
    print(f"table by table{' (--before)' if args.before else ''}: {by_table:.1f} s")
    print(f"year pass: {by_year:.1f} s  ({by_table / by_year:.1f}x faster)")
    print(f"same delivered/accepted/quarantined per table-year: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
