"""Calibration report: headline quantities computed from the deliveries alone, beside their targets.

    python -m models_py.simulator.calibration --landing DIR [--out report.csv]

Only the landing folder (Parquet deliveries + manifests) and the classification seeds are read; the
scale is taken from the manifest's producer string to express counts at scale 1. The simulator's
truth folder (default <landing>/../simulation_truth) is read only for the *targets* of the study A
breakdowns (sex x age group, duration band): the values themselves come from the deliveries.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from models_py import settings
from models_py.contracts import DELIVERED_TABLES

from . import classif
from .calibration_checks import (
    _population,
    _Report,
    _study_a,
    _study_a_artefacts,
    _study_b,
)
from .engine import load_params

TABLES = DELIVERED_TABLES


def _connect(landing: Path) -> tuple[duckdb.DuckDBPyConnection, float, int]:
    landing = Path(landing)
    years = sorted(int(p.name) for p in landing.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}", p.name))
    man = json.loads((landing / f"{years[-1]}" / "manifest.json").read_text())
    m = re.search(r"scale=([0-9.eE+-]+)", man.get("producer", ""))
    scale = float(m.group(1)) if m else 1.0
    # in memory, but bounded and spilling like the warehouse (scale 1 joins ~170 M status rows)
    con = duckdb.connect(
        config={
            "memory_limit": settings.duckdb_memory_limit(),
            "temp_directory": tempfile.mkdtemp(prefix="calibration_"),
            "preserve_insertion_order": False,
        }
    )
    for t in TABLES:
        # the path goes through the relation API, never into SQL text (a quote in it would break the SQL)
        con.read_parquet(f"{landing.as_posix()}/*/{t}.parquet", filename=True).project(
            "*, cast(regexp_extract(filename, '(\\d{4})[/\\\\][a-z_]+\\.parquet$', 1) as int) as register_year"
        ).create_view(t)
    last = years[-1]
    con.execute(f"create table p as select * from persons where register_year = {last}")
    cty = pd.read_csv(classif.seeds_dir() / "countries.csv", dtype=str, keep_default_na=False)
    con.register("cty_df", cty)
    con.execute("create table cty as select * from cty_df")
    # person attributes: study A group, first immigration (from events; null for the pre-first-year stock)
    con.execute("""
        create table pa as
        select p.*, c.study_a_group as grp_a,
               coalesce(p.first_immigration_date, fi.first_in) as first_in,
               year(coalesce(p.first_immigration_date, fi.first_in)) - p.birth_year as arr_age,
               case when p.immigrant_category='C' and p.n_foreign_born_grandparents=4 then 1
                    when p.immigrant_category='B' and year(coalesce(p.first_immigration_date, fi.first_in)) - p.birth_year between 0 and 9 then 2
                    when p.immigrant_category='E' and p.n_foreign_born_grandparents>=2 then 3
                    when p.immigrant_category='B' then 4 else 5 end as cgrp,
               case when p.immigrant_category='B' then p.birth_country
                    when p.mother_birth_country is not null and p.mother_birth_country <> 'NOR' then p.mother_birth_country
                    when p.father_birth_country is not null and p.father_birth_country <> 'NOR' then p.father_birth_country
                    when p.birth_country <> 'NOR' then p.birth_country end as origin,
               fi.first_reason
        from p left join cty c on c.country_code = p.birth_country
        left join (select person_id, min(event_date) first_in, arg_min(immigration_reason, event_date) first_reason
                   from migration_events where direction='in' group by 1) fi using (person_id)""")
    con.execute("""create table ev as select e.*, year(e.event_date) ey from migration_events e""")
    con.execute("""create table st as select s.*, pa.birth_year, pa.sex, pa.immigrant_category, pa.grp_a, pa.cgrp, pa.first_in
                   from population_status s join pa using (person_id)""")
    return con, scale, last


# Bands from their one home (dbt_project.yml `bands`, read by models_py/bands.py) [A §3.2, §3.3 A3b]
def calibration_report(landing, params_path=None, truth_dir=None) -> pd.DataFrame:
    con, scale, last = _connect(Path(landing))
    truth_dir = Path(truth_dir) if truth_dir is not None else Path(landing).parent / "simulation_truth"
    report = _Report(con, scale, last, truth_dir, load_params(params_path))
    residents = _population(report)
    _study_a(report, min(residents))
    _study_a_artefacts(report)
    _study_b(report)
    _study_c(report)
    _study_c_group_sizes(report, min(max(residents), 2023))
    if max(residents) >= 2005:
        _study_c_returns(report)
    df = pd.DataFrame(report.rows)
    df.attrs["scale"] = scale
    return df


def _study_c(r: _Report) -> None:
    """18-35, 2000-2023: rates, unknown destinations, to-origin shares."""
    q = r.q
    r.con.execute("""create table py as select cgrp, register_year y from st where status='resident'
                   and register_year - birth_year between 18 and 35 and register_year between 2000 and 2023""")
    r.con.execute("""create table ce as select ev.*, pa.cgrp, pa.origin, pa.birth_year from ev join pa using (person_id)
                   where ev.direction='out' and ev.ey between 2000 and 2023 and ev.ey - pa.birth_year between 18 and 35""")
    rc = dict(
        q("""with e as (select cgrp, count(*) n from ce group by 1), s as (select cgrp, count(*) n from py group by 1)
                   select cgrp, 100.0*e.n/s.n from e join s using (cgrp)""")
    )
    for gname, tgt, tol in ((1, 0.6, "<1"), (2, 0.8, "<1.2"), (3, 0.6, "<1"), (4, 4.0, ">2"), (5, 0.3, "<0.5")):
        if gname in rc:
            r.add(
                "C",
                f"rate G{gname} 18-35 2000-2023 pooled (%)",
                rc[gname],
                tgt,
                tol,
                "[C §6 H1-H2] G4 >> G2 > G1 > G5, G5 < 0.5 %",
            )
    unk = dict(q("select cgrp, avg(case when country is null then 1.0 else 0 end) from ce group by 1"))
    for gname, key in ((1, "G1"), (2, "G2"), (3, "G3"), (5, "G5")):
        if gname in unk:
            r.add(
                "C",
                f"unknown-destination share G{gname}",
                unk[gname],
                r.params["destination"]["unknown_share"][key],
                "±0.06",
                "[C §2.7]",
            )
    if 4 in unk:
        r.add("C", "unknown-destination share G4", unk[4], 0.39, "±0.10", "[C §2.7] 39 %")
    r.con.execute("""create table ceo as select ce.*, co.group53_code dg, oo.group53_code og from ce
                   left join cty co on co.country_code = ce.country left join cty oo on oo.country_code = ce.origin""")
    to = dict(q("select cgrp, avg(case when dg is not null and dg = og then 1.0 else 0 end) from ceo group by 1"))
    for gname, _label in ((1, "G1"), (2, "G2")):
        if gname in to:
            r.add(
                "C",
                f"to-origin share G{gname}",
                to[gname],
                {1: 0.20, 2: 0.30}[gname],
                "±0.08",
                "[C §6 H5] ~20 % / ~30 %",
            )


def _study_c_group_sizes(r: _Report, ylast: int) -> None:
    """Residents 1 Jan aged 18-35 in the latest year, and persons ever in the sample (resident 1 Jan
    aged 18-35 some year 2000-2023) beside Table A1 [C §2.5, Fig 2]."""
    q, scale = r.q, r.scale
    gs = dict(
        q(f"""select cgrp, count(*) from st where status='resident' and register_year = {ylast}
                   and register_year - 1 - birth_year between 18 and 35 group by 1""")
    )
    for gname in (1, 2, 3, 4, 5):
        r.add(
            "C",
            f"persons 18-35 G{gname} 1 Jan {ylast} (scale 1)",
            gs.get(gname, 0) / scale,
            None,
            "",
            "[C Fig 2] no per-group value printed",
        )
    r.add(
        "C",
        f"persons 18-35 G1+G2 1 Jan {ylast} (scale 1)",
        (gs.get(1, 0) + gs.get(2, 0)) / scale,
        95_000,
        "±30 %",
        "[C §5 Fig 2] G1+G2 'nearly 100,000' in 2023 (<20,000 in 2000)",
    )
    ever = dict(
        q(f"""select cgrp, count(distinct person_id) from st where status='resident'
                     and register_year between 2000 and {ylast} and register_year - 1 - birth_year between 18 and 35 group by 1""")
    )
    a1 = {1: 65_155, 2: 56_531, 3: 118_856, 4: 810_231, 5: 2_169_524}
    for gname in (1, 2, 3, 4, 5):
        r.add(
            "C",
            f"persons ever 18-35 2000-{ylast} G{gname} (scale 1)",
            ever.get(gname, 0) / scale,
            a1[gname],
            "±30 %",
            "[C §2.5 Table A1]"
            + (" G4 printed 141,307 (impossible); 810,231 implied by the total [C §8]" if gname == 4 else ""),
        )


def _study_c_returns(r: _Report) -> None:
    ret = dict(
        r.q(f"""select ce.cgrp, avg(case when s.status in ('resident','dead') then 1.0 else 0 end)
                       from ce left join population_status s on s.person_id = ce.person_id and s.register_year = ce.ey + 5
                       where ce.ey between 2000 and {min(2019, r.last - 5)} group by 1""")
    )
    for gname, tgt in ((1, 0.43), (2, 0.37), (4, 0.14), (5, 0.55)):
        if gname in ret:
            r.add("C", f"five-year return share G{gname}", ret[gname], tgt, "±0.10", "[C §2.8, §6 H8]")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models_py.simulator.calibration")
    ap.add_argument("--landing", required=True)
    ap.add_argument("--out", default=None, help="optional CSV path")
    a = ap.parse_args(argv)
    df = calibration_report(a.landing)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60, "display.max_rows", 200):
        print(f"calibration report for {a.landing} (scale {df.attrs['scale']:g})")
        print(df.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    if a.out:
        df.to_csv(a.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
