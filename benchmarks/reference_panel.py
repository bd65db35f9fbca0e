"""A plain pandas build of the core of the person-year panel, straight from the delivered Parquet files:
the yardstick the pipeline's fct_person_year is measured against (issue 16).

    python benchmarks/reference_panel.py --landing DIR [--warehouse W.duckdb]

Core panel, with the pipeline's definitions (dbt staging -> int_person_years -> fct_person_year):
- skeleton: a person-year for every person resident on 1 January of a register year (status
  `resident` in that year's population_status), or with a registered immigration dated in the year
  (register years first..last delivered) without being resident on 1 January;
- persons (sex, birth year) from the newest register year that delivers the person; person-years
  of persons no delivery describes are dropped (the inner join in fct_person_year);
- migration events de-duplicated by event_id (newest register year wins);
- age = year - birth year; age_group_a = the study A band (dbt var `bands`, models_py.bands) of
  age on 1 January (age - 1);
- outcome: n_emigrations = registered emigrations dated in the year; emigrated = n_emigrations > 0.
It reads the delivered files, not the gate's output: on a delivery with quarantined rows the two can
differ, and the comparison says so. With --warehouse, the result is compared row by row with
fct_person_year on those columns (DuckDB `except all` both ways; counts only are printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models_py import bands  # noqa: E402
from models_py.delivery import delivery_years  # noqa: E402

COLUMNS = ["person_id", "year", "sex", "age", "age_group_a", "n_emigrations", "emigrated"]


def _read(landing: Path, years: list[str], table: str, columns: list[str]) -> pd.DataFrame:
    frames = []
    for year in years:
        df = pd.read_parquet(landing / year / f"{table}.parquet", columns=columns)
        df["register_year"] = np.int16(year)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def build(landing: Path) -> pd.DataFrame:
    years = delivery_years(landing)
    first, last = int(years[0]), int(years[-1])
    persons = _read(landing, years, "persons", ["person_id", "sex", "birth_year"])
    persons = (
        persons.sort_values("register_year").drop_duplicates("person_id", keep="last").drop(columns="register_year")
    )
    status = _read(landing, years, "population_status", ["person_id", "status"])
    jan1 = status.loc[status["status"] == "resident", ["person_id", "register_year"]].rename(
        columns={"register_year": "year"}
    )
    events = _read(landing, years, "migration_events", ["event_id", "person_id", "direction", "event_date"])
    events = events.sort_values("register_year").drop_duplicates("event_id", keep="last")
    events["year"] = pd.to_datetime(events["event_date"]).dt.year
    arrivals = events.loc[
        (events["direction"] == "in") & events["year"].between(first, last), ["person_id", "year"]
    ].drop_duplicates()
    skeleton = pd.concat([jan1.assign(year=jan1["year"].astype("int64")), arrivals.astype({"year": "int64"})])
    skeleton = skeleton.drop_duplicates(["person_id", "year"])
    panel = skeleton.merge(persons, on="person_id", how="inner")
    panel["age"] = panel["year"] - panel["birth_year"].astype("int64")
    labels = np.array(bands.labels("age_group_a"), dtype=object)
    panel["age_group_a"] = labels[bands.band_index("age_group_a", (panel["age"] - 1).to_numpy())]
    out = events.loc[events["direction"] == "out"].groupby(["person_id", "year"]).size().rename("n_emigrations")
    panel = panel.merge(out.reset_index().astype({"year": "int64"}), on=["person_id", "year"], how="left")
    panel["n_emigrations"] = panel["n_emigrations"].fillna(0).astype("int64")
    panel["emigrated"] = (panel["n_emigrations"] > 0).astype("int64")
    return panel[COLUMNS]


def compare(panel: pd.DataFrame, warehouse: Path) -> dict:
    """Rows of the reference missing from fct_person_year and the other way round (counts only)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.register("reference", panel)
        cols = ", ".join(COLUMNS)
        schema = con.execute(
            "select table_schema from information_schema.tables where table_name = 'fct_person_year'"
        ).fetchone()[0]
        fct = f'"{schema}".fct_person_year'  # a name from the catalogue, not from a delivery
        pipeline = (
            "select person_id, cast(year as bigint), cast(sex as bigint), cast(age as bigint),"
            f" age_group_a, cast(n_emigrations as bigint), cast(emigrated as bigint) from {fct}"
        )
        only_ref = con.execute(f"select count(*) from (select {cols} from reference except all {pipeline})")
        only_ref = only_ref.fetchone()[0]
        only_pipe = con.execute(f"select count(*) from ({pipeline} except all select {cols} from reference)")
        only_pipe = only_pipe.fetchone()[0]
        pipeline_rows = con.execute(f"select count(*) from {fct}").fetchone()[0]
    finally:
        con.close()
    return {
        "pipeline_rows": pipeline_rows,
        "only_in_reference": only_ref,
        "only_in_pipeline": only_pipe,
        "equal": only_ref == 0 and only_pipe == 0,
    }


def build_and_compare(landing: Path, warehouse: Path) -> dict:
    """Run this script as a child process (its own peak memory, sampled from /proc) and read its figures."""
    import tempfile

    from benchmarks.pipeline_benchmark import measured

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reference.json"
        _, mem, code = measured(
            [
                sys.executable,
                str(Path(__file__)),
                "--landing",
                str(landing),
                "--warehouse",
                str(warehouse),
                "--json",
                str(out),
            ],
            {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)},
            Path(tmp) / "reference.log",
        )
        if code:
            raise RuntimeError(f"reference build failed: {(Path(tmp) / 'reference.log').read_text()[-300:]}")
        result = json.loads(out.read_text())
    result["peak_gb"] = mem.peak()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--warehouse", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    started = time.perf_counter()
    panel = build(args.landing)
    result = {"seconds": time.perf_counter() - started, "rows": len(panel), "columns": COLUMNS[2:]}
    if args.warehouse:
        diff = compare(panel, args.warehouse)
        result.update(diff)
        if not diff["equal"]:
            result["difference"] = (
                f"{diff['only_in_reference']} rows only in the reference, "
                f"{diff['only_in_pipeline']} only in fct_person_year"
            )
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
