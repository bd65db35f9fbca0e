"""The calibration report's checks, one function per study section: each computes a headline quantity from the
deliveries (through `_Report.q`) and records it beside its target and tolerance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models_py import bands

AGE_GROUPS = dict(enumerate(bands.labels("age_group_a"), start=1))  # the simulator's truth numbers groups 1..6
DUR_BANDS = tuple(bands.labels("botid_group_a3b"))


def _se_tol(n_events: float, stock: float, k: float = 3.0, floor_rel: float = 0.15, target: float = 0.0) -> float:
    """Tolerance for a pooled rate (%): k binomial standard errors (sqrt(n)/stock), at least floor_rel of
    the target (the delivered rate differs from the truth by registration timing: administrative
    emigrations dated up to years after the departure, the 2013 clean-up, multi-migrants)."""
    se = 100.0 * (max(n_events, 1.0) ** 0.5) / max(stock, 1.0)
    return max(k * se, floor_rel * target)


class _Report:
    """The connection, the scale and the rows of the report being built."""

    def __init__(self, con, scale: float, last: int, truth_dir: Path, params: dict):
        self.con, self.scale, self.last, self.truth_dir, self.params = con, scale, last, truth_dir, params
        self.rows: list[dict] = []

    def add(self, study, quantity, value, target, tolerance, note=""):
        self.rows.append(
            {
                "study": study,
                "quantity": quantity,
                "value": value,
                "target": target,
                "tolerance": tolerance,
                "note": note,
            }
        )

    def q(self, sql: str) -> list:
        return self.con.execute(sql).fetchall()


def _population(r: _Report) -> dict:
    res = dict(r.q("select register_year, count(*) from population_status where status='resident' group by 1"))
    y0 = min(res)
    r.add(
        "SYS",
        f"residents 1 Jan {y0} (scale 1)",
        res[y0] / r.scale,
        r.params["stock"]["residents"],
        "±3 %",
        "stock size [SYS]",
    )
    if 2023 in res:
        r.add(
            "SYS", "residents 1 Jan 2023 (scale 1)", res[2023] / r.scale, 5_488_984, "±5 %", "[SYS] about 5.5 million"
        )
    return res


def _study_a(r: _Report, y0: int) -> None:
    """Immigrants' emigration (event year, latest knowledge)."""
    r.con.execute("""create table emi_b as select ev.*, pa.grp_a, pa.sex, pa.birth_year, pa.first_in from ev join pa using (person_id)
                   where ev.direction='out' and pa.immigrant_category='B'""")
    yrs = [y for y in range(max(y0, 1990), min(r.last, 2013) + 1)]
    if not yrs:
        return
    lo, hi = min(yrs), max(yrs)
    _study_a_headline(r, lo, hi)
    _study_a_groups(r, hi)
    # ---- rates by sex x age group and by duration band, pooled 2000-{hi} [A §5 Figs 3.12, 3.14, 3.16],
    # classified by the 1 Jan status (the cohort variant of [A §3.1]) so that they compare with the
    # simulator's truth (cell rates x 1 Jan stock, pooled = sum(expected) / sum(stock)).
    lo2 = max(lo, 2000)
    # numerator: emigrations of persons in the 1 Jan stock of the event year (same-year arrivals,
    # i.e. multi-migrants, excluded as in the report's "excl." figures [A §2.4])
    r.con.execute(f"""create table emi_c as select e.* from emi_b e join st s on s.person_id = e.person_id
                    and s.register_year = e.ey and s.status = 'resident' where e.ey between {lo2} and {hi}""")
    _study_a_by_sex_age(r, lo2, hi)
    _study_a_by_duration(r, lo2, hi)


def _study_a_headline(r: _Report, lo: int, hi: int) -> None:
    q, scale = r.q, r.scale
    counts = q(f"""select ey, count(*) from emi_b where ey between {lo} and {hi} group by 1 order by 1""")
    stock = dict(
        q(f"""select register_year, count(*) from st where status='resident' and immigrant_category='B'
                      and register_year between {lo} and {hi} group by 1""")
    )
    rate = {y: n / stock[y] for y, n in counts if stock.get(y)}
    if 2011 in rate:
        r.add(
            "A",
            "immigrants' emigration rate 2011 (%)",
            100 * rate[2011],
            4.4,
            "±1.5 pp",
            "[A §5 Fig 3.10] 44 per 1,000 in 2011",
        )
    if 2013 in dict(counts):
        n13 = dict(counts)[2013] / scale
        r.add(
            "A",
            "immigrants' emigrations 2013 (scale 1)",
            n13,
            25000,
            ">20,000",
            "[A §6 item 1] more than 20,000 a year",
        )
        allo = q("select count(*) from ev where direction='out' and ey=2013")[0][0]
        r.add(
            "A",
            "immigrants' share of all emigrations 2013",
            dict(counts)[2013] / max(allo, 1),
            0.67,
            "±0.10",
            "[A §5 Fig 3.3] about 2/3",
        )


def _study_a_groups(r: _Report, hi: int) -> None:
    q = r.q
    g = q(f"""with e as (select grp_a, count(*) n from emi_b where ey between 2009 and {hi} group by 1),
              s as (select grp_a, count(*) n from st where status='resident' and immigrant_category='B'
                    and register_year between 2009 and {hi} group by 1)
              select e.grp_a, 100.0*e.n/s.n from e join s using (grp_a) order by 1""")
    gd = {str(a): b for a, b in g}
    for k, tgt in (("1", 7.0), ("2", 5.0), ("3", 3.5)):
        if k in gd:
            r.add(
                "A",
                f"rate G{k} 2009-{hi} pooled (%)",
                gd[k],
                tgt,
                "±2.5 pp",
                "[A §5 Figs 5.36-5.38] G1 ~7, G2 ~5; G3 lowest",
            )
    sx = q(f"""with e as (select sex, count(*) n from emi_b where ey between 2000 and {hi} group by 1),
               s as (select sex, count(*) n from st where status='resident' and immigrant_category='B'
                     and register_year between 2000 and {hi} group by 1)
               select e.sex, e.n*1.0/s.n from e join s using (sex) order by 1""")
    if len(sx) == 2:
        r.add("A", "rate ratio men/women 2000-2013", sx[0][1] / sx[1][1], 1.15, ">1", "[A §6 item 3] men > women")
    adm = q(f"""select count(*) filter (where registration_type='administrative')*1.0/count(*) from emi_b
               where ey between 2000 and {hi}""")[0][0]
    r.add(
        "A",
        "administrative share of immigrants' emigrations 2000-2013",
        adm,
        0.22,
        "0.15-0.35",
        "[A §7] 19 % 1971-2011, recently >20 %",
    )


def _study_a_by_sex_age(r: _Report, lo2: int, hi: int) -> None:
    q = r.q
    sa = bands.sql_case("age_group_a", "(register_year - 1 - birth_year)")
    ea = bands.sql_case("age_group_a", "(ey - 1 - birth_year)")
    num = dict(((int(a), b), n) for a, b, n in q(f"""select sex, {ea}, count(*) from emi_c group by 1, 2"""))
    den = dict(
        ((int(a), b), n)
        for a, b, n in q(f"""select sex, {sa}, count(*) from st where status='resident'
               and immigrant_category='B' and register_year between {lo2} and {hi} group by 1, 2""")
    )
    sur = r.truth_dir / "sur_cell_rates.csv"
    tr = None
    if sur.exists():
        t = pd.read_csv(sur)
        t = t[(t.year >= lo2) & (t.year <= hi)].assign(exp=lambda d: d.rate * d.stock_1jan)
        tr = (
            t.groupby(["sex", "age_group"])
            .apply(lambda d: 100 * d.exp.sum() / max(d.stock_1jan.sum(), 1), include_groups=False)
            .to_dict()
        )
    for sx, sname in ((1, "men"), (2, "women")):
        for a, lab in AGE_GROUPS.items():
            n, d = num.get((sx, lab), 0), den.get((sx, lab), 0)
            if d:
                tgt = tr.get((sx, a)) if tr else None
                tol = _se_tol(n, d, target=tgt or 0.0)
                r.add(
                    "A",
                    f"rate {sname} {lab} {lo2}-{hi} pooled (%)",
                    100 * n / d,
                    tgt,
                    f"±{tol:.2f} pp",
                    f"truth: SUR cell rates x 1 Jan stock [A §3.2]; n={n}",
                )


def _study_a_by_duration(r: _Report, lo2: int, hi: int) -> None:
    q = r.q
    dur_sql = bands.sql_case("botid_group_a3b", "(register_year - 1 - year(first_in))")
    edur = bands.sql_case("botid_group_a3b", "(ey - 1 - year(first_in))")
    numd = dict(q(f"""select {edur}, count(*) from emi_c where first_in is not null group by 1"""))
    dend = dict(
        q(f"""select {dur_sql}, count(*) from st where status='resident' and immigrant_category='B'
               and first_in is not null and register_year between {lo2} and {hi} group by 1""")
    )
    dpath = r.truth_dir / "departure_rates_by_duration.csv"
    trd = None
    if dpath.exists():
        t = pd.read_csv(dpath)
        t = t[(t.year >= lo2) & (t.year <= hi)]
        g_ = t.groupby("duration_band")[["expected_departures", "stock_1jan"]].sum()
        trd = (100 * g_.expected_departures / g_.stock_1jan.clip(lower=1)).to_dict()
    for band in DUR_BANDS:
        n, d = numd.get(band, 0), dend.get(band, 0)
        if d:
            tgt = trd.get(band) if trd else None
            tol = _se_tol(n, d, target=tgt or 0.0)
            r.add(
                "A",
                f"rate botid {band} {lo2}-{hi} pooled (%)",
                100 * n / d,
                tgt,
                f"±{tol:.2f} pp",
                f"truth: expected departures / 1 Jan stock [A §3.3 A3b, Fig 3.16 falls with botid]; n={n}",
            )


def _study_a_artefacts(r: _Report) -> None:
    """The 2013 clean-up spike and multi-migrants [A §7, §2.4]."""
    spike = dict(
        r.q("""select register_year, count(*) from migration_events where direction='out'
                        and registration_type='administrative' group by 1""")
    )
    if all(y in spike for y in (2011, 2012, 2013)):
        r.add(
            "A",
            "administrative emigrations registered 2013 / mean(2011-2012)",
            spike[2013] / ((spike[2011] + spike[2012]) / 2),
            2.0,
            ">1.3",
            "[A §7] 2013 clean-up spike",
        )
    mm = r.q("""with x as (select person_id, ey, count(*) filter (where direction='in') i, count(*) filter (where direction='out') o
                           from ev join pa using (person_id) where pa.immigrant_category='B' group by 1, 2)
                select count(*)*1.0/count(distinct ey) from x where i>0 and o>0""")[0][0]
    r.add(
        "A",
        "multi-migrant immigrant person-years per year (scale 1)",
        (mm or 0) / r.scale,
        2000,
        "±50 %",
        "[A §2.4] about 2,000 a year",
    )


def _study_b(r: _Report) -> None:
    """Onward share among labour immigrants' emigrations with a known destination, and by income quartile."""
    q = r.q
    ob = q("""select count(*) filter (where ev.country <> pa.birth_country)*1.0/count(*), count(*) from ev join pa using (person_id)
              where ev.direction='out' and pa.immigrant_category='B' and ev.country is not null and ev.ey between 2000 and 2020
                and (pa.first_reason in ('work', 'nordic')) and ey - pa.birth_year between 20 and 65 and pa.arr_age >= 18""")[
        0
    ]
    r.add(
        "B",
        "onward share, labour immigrants 20-65, 2000-2020",
        ob[0],
        r.params["onward_logit"]["target_onward_share_labour"],
        "±0.04",
        f"[B §3] about 1 in 10 (n={ob[1]})",
    )
    # income gradient [B §1.2 item 8]: onward share by quartile of the previous year's income (wage +
    # self-employment) as a percentile rank within all income rows of that income year (the simulator's
    # covariate), then quartiles of that rank within the analysis sample (equal-sized groups)
    r.con.execute("""create table incq as select person_id, income_year,
                   percent_rank() over (partition by income_year order by wage_income + self_employment_income) pr
                   from income""")
    iq = q("""with x as (select ev.country <> pa.birth_country as onward,
                        ntile(4) over (order by incq.pr, ev.event_id) q
                 from ev join pa using (person_id) join incq on incq.person_id = ev.person_id and incq.income_year = ev.ey - 1
                 where ev.direction='out' and pa.immigrant_category='B' and ev.country is not null and ev.ey between 2000 and 2020
                   and (pa.first_reason in ('work', 'nordic')) and ey - pa.birth_year between 20 and 65 and pa.arr_age >= 18)
              select q, avg(onward::int), count(*) from x group by 1 order by 1""")
    iqd = {int(k): (v, n) for k, v, n in iq}
    for k in (1, 2, 3, 4):
        if k in iqd:
            r.add(
                "B",
                f"onward share, labour immigrants, income quartile {k}",
                iqd[k][0],
                None,
                "increasing in quartile",
                f"[B §1.2 item 8] onward more likely with higher income (n={iqd[k][1]})",
            )
    if 1 in iqd and 4 in iqd:
        r.add(
            "B",
            "onward share Q4 - Q1, labour immigrants",
            iqd[4][0] - iqd[1][0],
            None,
            ">0",
            "[B §1.2 item 8] monotone increasing income effect",
        )
