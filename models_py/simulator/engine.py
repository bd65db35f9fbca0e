"""The register simulator: vectorised person arrays stepped year by year (no per-person Python loops).

Register year Y: population_status on 1 Jan Y (register view), migration events registered in Y,
education on 1 Oct Y-1, income for Y-1, persons as known at the end of Y. See README.md.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from . import classif
from .sur import MacroSeries, SurProcess
from .writer import write_delivery

PARAMS_PATH = Path(__file__).with_name("params.yaml")
EPOCH = dt.date(1970, 1, 1)
CAT_CODES = np.array(["A", "B", "C", "E", "F", "G"], dtype=object)
A, B, C, E, F, G = range(6)
MARITAL = np.array(["never_married", "married", "widowed", "divorced", "separated", "registered_partner"], dtype=object)
REASONS = np.array(["work", "family", "refuge", "education", "nordic", "other"], dtype=object)
R_IDX = {r: i for i, r in enumerate(REASONS)}
STATUS = np.array(["resident", "emigrated", "dead"], dtype=object)
AGEGROUP_EDGES = np.array([7, 18, 35, 63, 71])  # -> groups 1..6 [A §3.2]
DUR_EDGES = np.array([3, 6, 11, 16])             # completed years since first immigration -> A3b bands [A §3.3]
DUR_BANDS = ("0-2", "3-5", "6-10", "11-15", "16+")


def days(y: int, m: int = 1, d: int = 1) -> int:
    return (dt.date(y, m, d) - EPOCH).days


def load_params(path: Path | None = None) -> dict:
    with open(path or PARAMS_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def interp_knots(knots: dict, x):
    ks = np.array(sorted(float(k) for k in knots))
    vs = np.array([float(knots[k]) for k in sorted(knots, key=float)])
    return np.interp(x, ks, vs)


def year_value(table: dict, year: int):
    """Piecewise-constant lookup: the entry of the latest key <= year (or the first)."""
    keys = sorted(int(k) for k in table)
    k = max([x for x in keys if x <= year], default=keys[0])
    return table[k]


def sround(rng, x: float) -> int:
    f = np.floor(x)
    return int(f + (rng.random() < (x - f)))


def agegroup(age: np.ndarray) -> np.ndarray:
    return (np.searchsorted(AGEGROUP_EDGES, age, side="right") + 1).astype(np.int8)


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


NO_DATE = -1  # day-number sentinel for "no date" (days since 1970-01-01; earlier dates are negative)


def real_day(d: np.ndarray) -> np.ndarray:
    """Day numbers of real dates, moved off the sentinel (1969-12-31 becomes 1969-12-30)."""
    return np.where(d == NO_DATE, NO_DATE - 1, d)


FIELDS = {  # name: (dtype, default)
    "sex": (np.int8, 1), "birth_year": (np.int16, 1900), "birth_month": (np.int8, 1), "birth_country": (np.int16, 0),
    "mother": (np.int64, -1), "father": (np.int64, -1), "mother_birth_country": (np.int16, -1), "father_birth_country": (np.int16, -1),
    "n_foreign_grandparents": (np.int8, 0), "category": (np.int8, 0), "death_day": (np.int32, -1),
    "register_status": (np.int8, 0), "present": (np.bool_, False), "municipality": (np.int16, 0), "citizenship": (np.int16, 0),
    "marital_status": (np.int8, 0), "spouse": (np.int64, -1), "first_immigration_day": (np.int32, -1), "arrival_age": (np.int16, -1),
    "immigration_reason": (np.int8, -1), "final_education": (np.int8, 4), "education_unregistered": (np.bool_, False), "earnings_potential": (np.float32, 0.0),
    "country_group": (np.int8, 0), "study_c_group": (np.int8, 5), "exit_year": (np.int16, 0), "departure_day": (np.int32, -1),
    "pending_registration_year": (np.int16, 0), "pending_event_day": (np.int32, -1), "pending_country": (np.int16, -1), "pending_administrative": (np.bool_, False),
    "return_year": (np.int16, 0), "destination": (np.int16, -1), "latest_arrival_year": (np.int16, 0),
    "employed": (np.bool_, False), "income_percentile": (np.float32, 0.5), "welfare": (np.bool_, False),
    "wealth_top_quintile": (np.bool_, False), "self_employed": (np.bool_, False), "asylum_artefact": (np.bool_, False),
    "separation_year": (np.int16, 0), "emigration_count": (np.int16, 0), "last_emigration_year": (np.int16, 0),
}


class Pop:
    def __init__(self, cap: int):
        self.n = 0
        self.cap = max(cap, 1024)
        self.a = {k: np.full(self.cap, d, dtype=t) for k, (t, d) in FIELDS.items()}

    def add(self, n: int, **cols) -> np.ndarray:
        if self.n + n > self.cap:
            newcap = max(int(self.cap * 1.5), self.n + n + 1024)
            for k, (t, d) in FIELDS.items():
                arr = np.full(newcap, d, dtype=t)
                arr[: self.n] = self.a[k][: self.n]
                self.a[k] = arr
            self.cap = newcap
        idx = np.arange(self.n, self.n + n, dtype=np.int64)
        for k, v in cols.items():
            self.a[k][idx] = v
        self.n += n
        return idx

    def __getattr__(self, k):
        a = self.__dict__.get("a")
        if a is not None and k in a:
            return a[k][: self.n]
        raise AttributeError(k)


@dataclass
class SimulationSummary:
    out_dir: Path
    truth_dir: Path
    years: list[int]
    seed: int
    scale: float
    residents_first: int = 0
    residents_last: int = 0
    persons_last: int = 0
    seconds: float = 0.0
    manifests: dict = field(default_factory=dict)


class Simulator:
    def __init__(self, scale: float, seed: int, params: dict, first_year: int, last_year: int):
        self.scale = float(scale)
        self.seed = int(seed)
        self.p = params
        self.first_year, self.last_year = first_year, last_year
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 20260101]))
        self.cty = classif.load_countries()
        self.mun = classif.load_municipalities()
        self.mcoder = classif.MuniCoder(self.mun)
        self.macro_df = classif.load_macro()
        self.macro = MacroSeries(self.macro_df)
        self.sur = SurProcess(params, self.macro, np.random.default_rng(np.random.SeedSequence([self.seed, 4242])))
        est = int(params["stock"]["residents"] * self.scale * 2.2) + 1000
        self.pop = Pop(est)
        self.ev = []            # event chunks of the current year
        self.event_counter = 0
        self.id_chunks: list[pa.Array] = []
        self.truth_rows: list[dict] = []
        self.truth_emig: list[dict] = []
        self.truth_sur: list[dict] = []
        self.truth_dur: list[dict] = []
        # derived country arrays
        c = self.cty
        self.c_group = c.group_a.astype(np.int8)
        self.c_nordic = c.nordic
        risk = params["registration"]["admin_risk_multiplier"]
        self.c_admin = np.array([risk.get(str(x), 1.0) for x in c.admin_risk], dtype=float)
        self.c_admin[c.nordic] = risk.get("nordic", 0.05)
        self.c_g2 = self.c_group == 2
        self.c_destcat = c.dest_cat
        ob = {"nordic": 0, "eu_west": 1, "eu_east": 2, "other_europe": 3, "non_europe": 4}
        self.c_origin = np.array([ob.get(str(x), 4) for x in c.origin_b], dtype=np.int8)
        m = self.mun
        self.m_cent = m.centrality
        self.m_county = m.county
        self.m_w_all = m.pop_share / m.pop_share.sum()
        self.m_w_imm = m.imm_weight / m.imm_weight.sum()

    # ------------------------------------------------------------------ helpers
    def choice_w(self, n: int, weights: np.ndarray) -> np.ndarray:
        cw = np.cumsum(weights)
        cw = cw / cw[-1]
        return np.minimum(np.searchsorted(cw, self.rng.random(n), side="right"), len(weights) - 1)

    def country_weights(self, group: int, year: int) -> np.ndarray:
        ip = self.p["immigration"]
        table = year_value(ip["country_weights"], year)[group]
        w = np.zeros(len(self.cty.codes))
        members = np.flatnonzero((self.c_group == group) & (np.arange(len(w)) != self.cty.NOR))
        resid = float(ip["residual_weight"][group])
        listed = 0.0
        for code, val in table.items():
            if self.cty.has(code):
                w[self.cty.idx(code)] += float(val)
                listed += float(val)
        others = [i for i in members if w[i] == 0]
        if others:
            w[others] = resid * listed / (1 - resid) / len(others) if listed > 0 else 1.0
        return w

    def ids_for(self, idx: np.ndarray) -> pa.Array:
        allids = self.all_ids()
        return allids.take(pa.array(idx, type=pa.int64()))

    def all_ids(self) -> pa.Array:
        have = sum(len(x) for x in self.id_chunks)
        if have < self.pop.n:
            k = np.arange(have, self.pop.n)
            s = np.char.add("P", np.char.zfill(k.astype(str), 10))
            self.id_chunks.append(pa.array(s.astype(object), type=pa.string()))
            self._ids = None
        if getattr(self, "_ids", None) is None or len(self._ids) != self.pop.n:
            self._ids = pa.concat_arrays(self.id_chunks) if len(self.id_chunks) > 1 else self.id_chunks[0]
            self.id_chunks = [self._ids]
        return self._ids

    def code_arr(self, idx: np.ndarray, codes: np.ndarray) -> pa.Array:
        idx = np.asarray(idx)
        mask = idx < 0
        dictionary = pa.array(list(codes), type=pa.string())
        ind = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask)
        return pa.DictionaryArray.from_arrays(ind, dictionary).cast(pa.string())

    def dates(self, d: np.ndarray) -> pa.Array:
        # -1 is the "no date" sentinel; other negative day numbers are real dates before 1970
        # (immigrants of the 1990 stock arrived from 1946 on)
        d = np.asarray(d, dtype=np.int32)
        return pa.array(d, type=pa.int32(), mask=d == NO_DATE).cast(pa.date32())

    def age_at(self, year: int) -> np.ndarray:
        """Completed age on 1 Jan `year` (birth month known, day taken as the 1st)."""
        pp = self.pop
        return (year - 1 - pp.birth_year).astype(np.int16)

    def assign_muni(self, n: int, immigrant: np.ndarray | None = None, cent_w: dict | None = None) -> np.ndarray:
        w_all, w_imm = self.m_w_all, self.m_w_imm
        out = self.choice_w(n, w_all).astype(np.int16)
        if immigrant is not None and immigrant.any():
            w = w_imm
            if cent_w is not None:
                w = w * np.array([cent_w[int(c)] for c in self.m_cent])
            k = int(immigrant.sum())
            out[immigrant] = self.choice_w(k, w)
        return out

    def edu_draw(self, n: int, cohort: np.ndarray, group: np.ndarray) -> np.ndarray:
        ep = self.p["education"]
        out = np.full(n, 4, dtype=np.int8)
        nat = group == 0
        if nat.any():
            knots = sorted(ep["native_final"])
            levels = sorted({int(l) for k in knots for l in ep["native_final"][k]})
            probs = np.stack([interp_knots({k: ep["native_final"][k].get(l, 0) for k in knots}, cohort[nat]) for l in levels], 1)
            u = self.rng.random(nat.sum())[:, None]
            cp = np.cumsum(probs, 1) / probs.sum(1, keepdims=True)
            out[nat] = np.array(levels, dtype=np.int8)[np.minimum((u > cp).sum(1), len(levels) - 1)]
        for g in (1, 2, 3):
            s = group == g
            if s.any():
                d = ep["immigrant_final"][g]
                lv = np.array([int(k) for k in d], dtype=np.int8)
                out[s] = lv[self.choice_w(int(s.sum()), np.array([float(v) for v in d.values()]))]
        return out

    def pair_sample(self, keys_target: np.ndarray, pool_idx: np.ndarray, pool_keys: np.ndarray) -> np.ndarray:
        """For each target key pick a random pool member with the same key (-1 if none)."""
        if len(pool_idx) == 0 or len(keys_target) == 0:
            return np.full(len(keys_target), -1, dtype=np.int64)
        o = np.argsort(pool_keys, kind="stable")
        sk = pool_keys[o]
        lo = np.searchsorted(sk, keys_target, "left")
        hi = np.searchsorted(sk, keys_target, "right")
        cnt = hi - lo
        pick = lo + np.floor(self.rng.random(len(keys_target)) * np.maximum(cnt, 1)).astype(np.int64)
        res = np.where(cnt > 0, pool_idx[o][np.minimum(pick, len(sk) - 1)], -1)
        return res.astype(np.int64)

    def cgroup_of(self, cat, bc, arr_age, nfgp):
        """Study C groups 1..5 [C §2.5]."""
        g = np.full(len(cat), 5, dtype=np.int8)
        g[(cat == C) & (nfgp == 4)] = 1
        g[(cat == B) & (arr_age >= 0) & (arr_age <= 9)] = 2
        g[(cat == E) & (nfgp >= 2)] = 3
        g[(cat == B) & ((arr_age >= 10) | (arr_age < 0))] = 4
        return g

    # ------------------------------------------------------------------ initial stock
    def build_stock(self):
        p, rng, cty = self.p["stock"], self.rng, self.cty
        Y0 = self.first_year
        N = sround(rng, p["residents"] * self.scale)
        # ages from cohort births x survival
        cohorts = np.arange(Y0 - 105, Y0)
        births = interp_knots(p["cohort_births_knots"], cohorts)
        mp = self.p["mortality"]
        ages = Y0 - cohorts - 0.5
        # survival to 1 Jan Y0 by sex: Gompertz with the sex multipliers, scaled up by the cohorts'
        # higher historical mortality (stock.historical_mortality_multiplier), so that the old-age
        # stock and its sex ratio (women outnumber men from ~75) are right; sex is drawn jointly
        # with the birth year [SSB~]
        hm = float(p.get("historical_mortality_multiplier", 1.0))
        msh = float(self.p["fertility"]["male_share"])
        ws = []
        for sx in (1, 2):
            h = np.exp(mp["alpha"]) * mp["sex_multiplier"][sx] * hm / mp["beta"] * (np.exp(mp["beta"] * ages) - 1)
            ws.append(births * (msh if sx == 1 else 1 - msh) * np.exp(-h))
        w = np.concatenate(ws)
        pick = self.choice_w(N, w)
        by = cohorts[pick % len(cohorts)].astype(np.int16)
        sex = np.where(pick < len(cohorts), 1, 2).astype(np.int8)
        n_b = sround(rng, N * p["immigrant_share"])
        n_c = sround(rng, N * p["descendant_share"])
        n_e = sround(rng, N * p["one_foreign_parent_share"])
        n_fg = sround(rng, N * p["foreign_born_norwegian_parents_share"])
        cat = np.full(N, A, dtype=np.int8)
        perm = rng.permutation(N)
        ib, ic, ie, ifg = np.split(perm[: n_b + n_c + n_e + n_fg], np.cumsum([n_b, n_c, n_e]))
        cat[ib] = B
        cat[ifg] = np.where(rng.random(len(ifg)) < 0.6, F, G)
        cat[ie] = E
        cat[ic] = C
        # immigrants: adult-heavy ages -> redraw birth years for B from arrival model
        bm = rng.integers(1, 13, N).astype(np.int8)
        bc = np.full(N, cty.NOR, dtype=np.int16)
        grp = np.zeros(N, dtype=np.int8)
        gs = p["immigrant_group_shares"]
        gb = np.array([1, 2, 3])[self.choice_w(len(ib), np.array([gs[1], gs[2], gs[3]]))]
        grp[ib] = gb
        first_imm = np.full(N, -1, dtype=np.int32)
        arr_age = np.full(N, -1, dtype=np.int16)
        # arrival years
        yrs = np.arange(p["arrival_first_year"], Y0)
        aw = np.exp(p["arrival_decay_per_year"] * (yrs - Y0))
        ay = yrs[self.choice_w(len(ib), aw)]
        ap = self.p["immigration"]
        adult_age = (ap["adult_age_gamma"]["offset"] + rng.gamma(ap["adult_age_gamma"]["shape"], ap["adult_age_gamma"]["scale"], len(ib)))
        child = rng.random(len(ib)) < 0.15
        aage = np.where(child, rng.integers(0, 18, len(ib)), adult_age).astype(np.int16)
        by[ib] = (ay - aage).astype(np.int16)
        arr_age[ib] = aage
        first_imm[ib] = real_day(np.array([days(int(y)) for y in ay]) + rng.integers(0, 365, len(ib)))
        for g in (1, 2, 3):
            s = ib[gb == g]
            cw = self.country_weights(g, 1990)
            bc[s] = self.choice_w(len(s), cw)
        # C: Norwegian-born to two immigrant parents, young
        by[ic] = (Y0 - 1 - np.minimum(rng.exponential(9, len(ic)), 40)).astype(np.int16)
        # F/G foreign born with Norwegian-born parent(s)
        bc[ifg] = self.choice_w(len(ifg), self.country_weights(1, 1990) + 0.3 * self.country_weights(3, 1990))
        fg_arr = np.clip(Y0 - by[ifg] - rng.integers(0, 20, len(ifg)), 0, None)
        arr_age[ifg] = fg_arr
        first_imm[ifg] = real_day(np.array([days(int(y)) for y in (by[ifg] + fg_arr)]) + rng.integers(0, 365, len(ifg)))
        mbc = np.full(N, cty.NOR, dtype=np.int16)
        fbc = np.full(N, cty.NOR, dtype=np.int16)
        mbc[ib] = bc[ib]
        fbc[ib] = np.where(rng.random(len(ib)) < 0.9, bc[ib], -1)
        # E: one foreign-born parent, origin drawn from the immigrant stock mix
        eo = bc[ib][rng.integers(0, max(len(ib), 1), len(ie))] if len(ib) else np.full(len(ie), cty.XXX)
        mom_foreign = rng.random(len(ie)) < 0.5
        mbc[ie] = np.where(mom_foreign, eo, cty.NOR)
        fbc[ie] = np.where(mom_foreign, cty.NOR, eo)
        co = bc[ib][rng.integers(0, max(len(ib), 1), len(ic))] if len(ib) else np.full(len(ic), cty.XXX)
        mbc[ic] = co
        fbc[ic] = co
        g_par = cat[ifg] == G
        mbc[ifg] = np.where(g_par | (rng.random(len(ifg)) < 0.5), cty.NOR, bc[ifg])
        fbc[ifg] = np.where(g_par | (mbc[ifg] != cty.NOR), cty.NOR, bc[ifg])
        nfgp = np.zeros(N, dtype=np.int8)
        nfgp[ib] = 4
        nfgp[ic] = 4
        nfgp[ie] = np.where(rng.random(len(ie)) < 0.85, 2, 3)
        nfgp[ifg] = np.where(cat[ifg] == F, 2, 0)
        cit = np.full(N, cty.NOR, dtype=np.int16)
        years_here = Y0 - (first_imm[ib] // 365 + 1970)
        nh = self.p["immigration"]["naturalisation_hazard"]
        nat_h = np.array([0.0, nh[1], nh[2], nh[3]])[gb]
        p_nat = 1 - (1 - nat_h) ** np.clip(years_here - 7, 0, None)
        cit[ib] = np.where(rng.random(len(ib)) < p_nat, cty.NOR, bc[ib])
        cit[ic] = np.where(rng.random(len(ic)) < 0.5, cty.NOR, co)
        reason = np.full(N, -1, dtype=np.int8)
        idx = self.pop.add(N, sex=sex, birth_year=by, birth_month=bm, birth_country=bc, mother_birth_country=mbc, father_birth_country=fbc, n_foreign_grandparents=nfgp, category=cat, register_status=1,
                           present=True, citizenship=cit, first_immigration_day=first_imm, arrival_age=arr_age, country_group=grp, immigration_reason=reason,
                           earnings_potential=rng.standard_normal(N).astype(np.float32))
        pp = self.pop
        pp.mother_birth_country[ib] = np.where(pp.mother_birth_country[ib] < 0, -1, pp.mother_birth_country[ib])
        # reasons for stock immigrants (internal only; no events before 1990)
        self._assign_reason(ib, gb, aage)
        pp.study_c_group[:N] = self.cgroup_of(cat, bc, arr_age, nfgp)
        # municipalities
        pp.municipality[:N] = self.assign_muni(N, immigrant=(cat == B))
        # education
        eg = np.where(cat == B, grp, 0)
        pp.final_education[:N] = self.edu_draw(N, by.astype(float), eg)
        pp.education_unregistered[ib] = rng.random(len(ib)) < self.p["education"]["immigrant_missing_at_arrival"] * np.exp(-0.05 * years_here)
        # marital status and couples
        age = Y0 - 1 - by
        pm = interp_knots(p["married_share_by_age"], age)
        pdv = interp_knots(p["divorced_share_by_age"], age)
        u = rng.random(N)
        want_married = u < pm
        mar = np.zeros(N, dtype=np.int8)
        mar[(u >= pm) & (u < pm + pdv)] = 3
        mar[(age >= 70) & (u >= pm + pdv) & (u < pm + pdv + 0.25 * (age - 60) / 30)] = 2
        pp.marital_status[:N] = mar
        self._marry(np.flatnonzero(want_married), year=Y0 - 1, initial=True)
        # link children (<18) to mothers in the stock: same origin market, mother 20-40 years older
        kids = np.flatnonzero(age < 25)
        self._link_mothers(kids, Y0)

    def _assign_reason(self, idx, groups, arr_age):
        rng, ip, pp = self.rng, self.p["immigration"], self.pop
        r = np.full(len(idx), -1, dtype=np.int8)
        for g in (1, 2, 3):
            s = groups == g
            d = ip["reasons"][g]
            names = list(d)
            r[s] = np.array([R_IDX[x] for x in names])[self.choice_w(int(s.sum()), np.array([float(d[x]) for x in names]))]
        kid = arr_age < 18
        fam = kid & (r != R_IDX["refuge"]) & (rng.random(len(idx)) < ip["child_reason_family_share"] + 0.3)
        r[fam] = R_IDX["family"]
        nordic = self.c_nordic[pp.citizenship[idx]] & (pp.citizenship[idx] != self.cty.NOR)
        r[nordic] = R_IDX["nordic"]
        pp.immigration_reason[idx] = r

    def _link_mothers(self, kids: np.ndarray, year: int):
        pp, rng = self.pop, self.rng
        if len(kids) == 0:
            return
        women = np.flatnonzero((pp.sex == 2) & (pp.register_status == 1) & (year - 1 - pp.birth_year >= 18))
        mk = np.where(pp.category == B, pp.birth_country, -1).astype(np.int64)          # immigrants: by birth country
        mk = np.where((pp.category != B), -1, mk)
        target_by = pp.birth_year[kids] - rng.integers(20, 38, len(kids))
        kid_market = np.where(np.isin(pp.category[kids], [C]), pp.mother_birth_country[kids], np.where(pp.category[kids] == B, pp.birth_country[kids], -1)).astype(np.int64)
        keys_t = kid_market * 4000 + target_by
        keys_p = mk[women] * 4000 + pp.birth_year[women]
        mom = self.pair_sample(keys_t, women, keys_p)
        # B children: mother must have arrived no later than the child
        ok = mom >= 0
        kb = kids[ok]
        mb = mom[ok]
        isb = pp.category[kb] == B
        pp.first_immigration_day[kb[isb]] = np.maximum(pp.first_immigration_day[kb[isb]], pp.first_immigration_day[mb[isb]])
        pp.arrival_age[kb[isb]] = np.clip((pp.first_immigration_day[kb[isb]] // 365 + 1970) - pp.birth_year[kb[isb]], 0, None)
        pp.mother[kb] = mb
        sp = pp.spouse[mb]
        pp.father[kb] = np.where(sp >= 0, sp, -1)
        pp.mother_birth_country[kb] = pp.birth_country[mb]
        fb = pp.father[kb]
        pp.father_birth_country[kb] = np.where(fb >= 0, pp.birth_country[np.maximum(fb, 0)], pp.father_birth_country[kb])
        pp.study_c_group[kb] = self.cgroup_of(pp.category[kb], pp.birth_country[kb], pp.arrival_age[kb], pp.n_foreign_grandparents[kb])

    def _marry(self, cand: np.ndarray, year: int, initial: bool = False):
        """Pair candidates (any sex) by market and age rank; unpaired stay unmarried."""
        pp, rng = self.pop, self.rng
        if len(cand) == 0:
            return 0
        market = np.where(pp.category[cand] == B, pp.country_group[cand], 0).astype(np.int64)
        cross = rng.random(len(cand)) > self.p["household"]["same_market_share"]
        market[cross] = 0
        age = (year - pp.birth_year[cand]).astype(float) + rng.normal(0, 3, len(cand))
        # men are on average ~2.5 years older
        age = np.where(pp.sex[cand] == 1, age - 2.5, age)
        n_pairs = 0
        for m in np.unique(market):
            s = cand[market == m]
            a_ = age[market == m]
            men, women = s[pp.sex[s] == 1], s[pp.sex[s] == 2]
            am, aw = a_[pp.sex[s] == 1], a_[pp.sex[s] == 2]
            k = min(len(men), len(women))
            if k == 0:
                continue
            # keep k random of the larger side, then sort by age and pair
            if len(men) > k:
                sel = rng.permutation(len(men))[:k]
                men, am = men[sel], am[sel]
            if len(women) > k:
                sel = rng.permutation(len(women))[:k]
                women, aw = women[sel], aw[sel]
            men = men[np.argsort(am, kind="stable")]
            women = women[np.argsort(aw, kind="stable")]
            pp.spouse[men] = women
            pp.spouse[women] = men
            rp = rng.random(k) < self.p["household"]["registered_partner_share"]
            code = np.where(rp, 5, 1).astype(np.int8)
            pp.marital_status[men] = code
            pp.marital_status[women] = code
            n_pairs += k
        return n_pairs

    # ------------------------------------------------------------------ yearly pieces
    def add_event(self, person, direction, event_date, reg_date, country, admin, reason, muni):
        n = len(person)
        if n == 0:
            return
        self.ev.append({"person": np.asarray(person, np.int64), "dir": np.full(n, direction, dtype=np.int8),
                        "ed": np.asarray(event_date, np.int32), "rd": np.asarray(reg_date, np.int32),
                        "country": np.asarray(country, np.int16), "admin": np.broadcast_to(np.asarray(admin, bool), (n,)).copy(),
                        "reason": np.broadcast_to(np.asarray(reason, np.int8), (n,)).copy(),
                        "muni": np.asarray(muni, np.int16)})

    def immigration_reason_for(self, idx):
        pp = self.pop
        r = pp.immigration_reason[idx].copy()
        cit = pp.citizenship[idx]
        r = np.where(cit == self.cty.NOR, -1, r)
        nordic = self.c_nordic[cit] & (cit != self.cty.NOR)
        r = np.where(nordic, R_IDX["nordic"], r)
        r = np.where((r < 0) & (cit != self.cty.NOR), R_IDX["other"], r)
        return r.astype(np.int8)

    def new_immigrants(self, Y: int):
        rng, ip, cty, pp = self.rng, self.p["immigration"], self.cty, self.pop
        n = sround(rng, float(interp_knots(ip["first_immigrations"], Y)) * self.scale)
        shares_t = ip["group_shares"]
        ks = sorted(shares_t)
        gsh = np.array([interp_knots({k: shares_t[k][g] for k in ks}, Y) for g in (1, 2, 3)])
        grp = np.array([1, 2, 3], dtype=np.int8)[self.choice_w(n, gsh)]
        bc = np.zeros(n, dtype=np.int16)
        for g in (1, 2, 3):
            s = grp == g
            bc[s] = self.choice_w(int(s.sum()), self.country_weights(g, Y))
        # asylum artefact [A §7]
        art = self.p["immigration"]["asylum_artefact"]
        n_as = sround(rng, float(art["extra_arrivals"].get(Y, 0)) * self.scale)
        if n_as:
            codes = [c for c in art["countries"] if cty.has(c)]
            wv = np.array([art["countries"][c] for c in codes])
            bc_as = np.array([cty.idx(c) for c in codes], dtype=np.int16)[self.choice_w(n_as, wv)]
            bc = np.concatenate([bc, bc_as])
            grp = np.concatenate([grp, np.full(n_as, 3, dtype=np.int8)])
        ntot = n + n_as
        is_as = np.zeros(ntot, bool)
        is_as[n:] = True
        ms = year_value(ip["male_share"], Y)
        sex = np.where(rng.random(ntot) < np.array([0.5, ms[1], ms[2], ms[3]])[grp], 1, 2).astype(np.int8)
        cs = np.array([0.1] + [ip["child_share"][g] for g in (1, 2, 3)])[grp]
        u = rng.random(ntot)
        child = u < cs
        young = child & (rng.random(ntot) < ip["young_child_share_of_children"])
        g_ = ip["adult_age_gamma"]
        aage = np.where(young, rng.integers(0, 10, ntot), np.where(child, rng.integers(10, 18, ntot),
                        g_["offset"] + rng.gamma(g_["shape"], g_["scale"], ntot)))
        aage = np.minimum(aage, 90).astype(np.int16)
        arr_date = days(Y) + rng.integers(0, 365, ntot)
        by = (Y - aage - (rng.random(ntot) < 0.5)).astype(np.int16)
        cat = np.full(ntot, B, dtype=np.int8)
        uu = rng.random(ntot)
        cat[(uu < ip["share_f"]) & ~is_as] = F
        cat[(uu >= ip["share_f"]) & (uu < ip["share_f"] + ip["share_g"]) & ~is_as] = G
        mbc = np.where(cat == B, bc, np.where(cat == G, cty.NOR, np.where(rng.random(ntot) < 0.5, cty.NOR, bc))).astype(np.int16)
        fbc = np.where(cat == B, bc, np.where(cat == G, cty.NOR, np.where(mbc == cty.NOR, bc, cty.NOR))).astype(np.int16)
        nfgp = np.where(cat == B, 4, np.where(cat == F, 2, 0)).astype(np.int8)
        cit = np.where(cat == B, bc, cty.NOR).astype(np.int16)
        is_imm = cat == B
        cent_w = None
        idx = pp.add(ntot, sex=sex, birth_year=by, birth_month=rng.integers(1, 13, ntot), birth_country=bc, mother_birth_country=mbc, father_birth_country=fbc, n_foreign_grandparents=nfgp, category=cat,
                     register_status=1, present=True, citizenship=cit, first_immigration_day=arr_date, arrival_age=aage, country_group=np.where(is_imm, grp, 0),
                     earnings_potential=rng.standard_normal(ntot).astype(np.float32), asylum_artefact=is_as, latest_arrival_year=Y)
        muni = self.assign_muni(ntot, immigrant=np.ones(ntot, bool))
        if n_as:
            muni[is_as] = self.assign_muni(n_as, immigrant=np.ones(n_as, bool), cent_w=art["centrality_weights"])
        pp.municipality[idx] = muni
        self._assign_reason(idx, grp, aage)
        pp.immigration_reason[idx[is_as]] = R_IDX["refuge"]
        pp.study_c_group[idx] = self.cgroup_of(cat, bc, aage, nfgp)
        pp.final_education[idx] = self.edu_draw(ntot, by.astype(float), np.where(is_imm, grp, 0))
        pp.education_unregistered[idx] = is_imm & (aage >= 10) & (rng.random(ntot) < self.p["education"]["immigrant_missing_at_arrival"])
        # link arriving children to arriving women of the same birth country
        kids = idx[aage < 18]
        women = idx[(sex == 2) & (aage >= 20) & (aage <= 50)]
        if len(kids) and len(women):
            mom = self.pair_sample(pp.birth_country[kids].astype(np.int64), women, pp.birth_country[women].astype(np.int64))
            ok = (mom >= 0)
            ok[ok] &= (pp.birth_year[kids[ok]] - pp.birth_year[mom[ok]]) >= 16
            pp.mother[kids[ok]] = mom[ok]
        # family immigrants join a resident spouse
        fam = idx[(pp.immigration_reason[idx] == R_IDX["family"]) & (aage >= 20) & (aage <= 60)]
        fam = fam[rng.random(len(fam)) < 0.6]
        if len(fam):
            self._join_spouse(fam, Y)
        self.add_event(idx, 1, arr_date, np.minimum(arr_date + rng.integers(0, 20, ntot), days(Y, 12, 31)), bc, False,
                       self.immigration_reason_for(idx), muni)
        return idx

    def _join_spouse(self, fam: np.ndarray, Y: int):
        pp, rng = self.pop, self.rng
        res = np.flatnonzero((pp.register_status == 1) & pp.present & (pp.spouse < 0) & (Y - pp.birth_year >= 20) & (Y - pp.birth_year <= 65))
        if len(res) == 0:
            return
        fs = self.p["immigration"]["family_spouse_native_share"]
        nat_share = np.array([0.6, fs[1], fs[2], fs[3]])[pp.country_group[fam]]
        to_native = rng.random(len(fam)) < nat_share
        mk_f = np.where(to_native, 0, pp.birth_country[fam]).astype(np.int64)
        mk_r = np.where(pp.category[res] == B, pp.birth_country[res], 0).astype(np.int64)
        # key: market, opposite sex, 10-year age band
        kf = (mk_f * 3 + (3 - pp.sex[fam])) * 20 + (Y - pp.birth_year[fam]) // 10
        kr = (mk_r * 3 + pp.sex[res]) * 20 + (Y - pp.birth_year[res]) // 10
        sp = self.pair_sample(kf, res, kr)
        ok = sp >= 0
        f, s = fam[ok], sp[ok]
        # resolve duplicates: a resident can be chosen once
        _, first = np.unique(s, return_index=True)
        f, s = f[first], s[first]
        pp.spouse[f] = s
        pp.spouse[s] = f
        pp.marital_status[f] = 1
        pp.marital_status[s] = 1
        pp.municipality[f] = pp.municipality[s]

    def deaths(self, Y: int, alive_idx: np.ndarray):
        pp, rng, mp = self.pop, self.rng, self.p["mortality"]
        age = (Y - pp.birth_year[alive_idx]).astype(float)
        imp = (1 - mp["improvement_per_year"]) ** (Y - 1990)
        m = np.exp(mp["alpha"] + mp["beta"] * age) * np.where(age < 95, imp, 1.0)
        m *= np.where(pp.sex[alive_idx] == 1, mp["sex_multiplier"][1], mp["sex_multiplier"][2])
        m *= np.where(pp.category[alive_idx] == B, mp["immigrant_multiplier"], 1.0)
        m = np.where(age <= 1, float(interp_knots(mp["infant_rate"], Y)), m)
        q = 1 - np.exp(-m)
        die = alive_idx[rng.random(len(alive_idx)) < q]
        dd = days(Y) + rng.integers(0, 365, len(die))
        pp.death_day[die] = dd
        pp.register_status[die] = 3
        pp.present[die] = False
        pp.exit_year[die] = Y
        sp = pp.spouse[die]
        sp = sp[sp >= 0]
        pp.marital_status[sp] = 2
        pp.spouse[sp] = -1
        pp.spouse[die] = -1
        return die

    def income(self, Y: int, rows: np.ndarray):
        """Income for calendar year Y-1 for the population_status rows aged 16+ in Y-1."""
        pp, rng, ip = self.pop, self.rng, self.p["income"]
        age = (Y - 1 - pp.birth_year[rows]).astype(float)
        rows = rows[age >= 16]
        age = age[age >= 16]
        n = len(rows)
        z = pp.earnings_potential[rows].astype(float)
        idxw = (1 + ip["nominal_growth"]) ** (Y - 1 - ip["wage_index_base_year"])
        # active in Y-1: present at least part of the year (ghosts away since before Y-1 have no income)
        away = pp.departure_day[rows]
        ghost = (away >= 0) & (away < days(Y - 1)) & ~pp.present[rows]
        ghost |= (pp.register_status[rows] == 1) & ~pp.present[rows] & (away < 0)
        imm = pp.category[rows] == B
        eb = ip["employment_base"]
        base = np.where(imm, np.array([eb[1], eb[2], eb[3], eb[3]])[np.clip(pp.country_group[rows] - 1, 0, 3)], eb["native"])
        dur = np.where(imm, np.clip((Y - 1) - (pp.first_immigration_day[rows] // 365 + 1970), 0, 15), 15)
        edu = pp.final_education[rows]
        le = base - ((age - 42) ** 2) / 260 + 0.5 * z + np.where(edu >= 6, 0.5, np.where(edu <= 2, -0.5, 0)) \
            + np.where(imm, 0.08 * dur - 0.6, 0) + ip["lednor_effect"] * (self.macro.get("lednor", Y - 1) - 4) \
            - np.where(age < 20, 1.2, 0) - np.where(age >= 67, 4.0, 0) - np.where(age >= 62, 1.0, 0)
        employed = (rng.random(n) < logistic(le)) & ~ghost
        mw = ip["median_wage_1989"] * idxw
        lw = np.log(mw) + 0.35 * z + np.where(edu >= 6, 0.3, np.where(edu <= 2, -0.2, 0)) - ((age - 48) ** 2) / 900 \
            + rng.normal(0, 0.45, n) - np.where(pp.sex[rows] == 2, 0.15, 0)
        wage = np.where(employed, np.exp(lw), np.where((rng.random(n) < 0.25) & ~ghost, np.exp(lw) * 0.1, 0.0))
        selfemp = (rng.random(n) < ip["self_employed_share"] * np.where(pp.sex[rows] == 1, 1.4, 0.6)
                   * ((age >= 22) & (age <= 75))) & ~ghost
        se_inc = np.where(selfemp, np.exp(np.log(250000 * idxw / 1.8) + rng.normal(0, 0.7, n)), 0.0)
        neg = selfemp & (rng.random(n) < 0.07)
        se_inc = np.where(neg, -rng.uniform(0, 100000 * idxw / 1.8, n), se_inc)
        wl = ip["welfare_logit"]
        lwf = np.where(employed, wl["employed"], wl["not_employed"]) - 0.4 * z + np.where(pp.immigration_reason[rows] == R_IDX["refuge"], wl["refuge_extra"], 0) \
            - np.where(age >= 67, 3.0, 0)
        welfare = (rng.random(n) < logistic(lwf)) & ~ghost
        wel_amt = np.where(welfare, np.exp(np.log(80000 * idxw / 1.8) + rng.normal(0, 0.6, n)), 0.0)
        wealth = (np.clip(age - 22, 0, 50) * 30000 * idxw / 1.8 * np.exp(0.8 * z + rng.normal(0, 0.8, n))
                  - np.where(age < 40, rng.exponential(150000 * idxw / 1.8, n), 0.0))
        wealth = np.where(imm, wealth * np.minimum(1, (dur + 1) / 10), wealth)
        wealth = np.where(ghost, wealth * 0.3, wealth)
        wage = np.round(wage, 0)
        se_inc = np.round(se_inc, 0)
        wel_amt = np.round(wel_amt, 0)
        wealth = np.round(wealth, 0)
        # state for the coming year's hazards (study B covariates measured at t-1)
        tot = wage + se_inc
        rank = np.empty(n)
        if n:
            rank[np.argsort(tot, kind="stable")] = np.arange(n) / max(n - 1, 1)
        pp.employed[rows] = employed
        pp.income_percentile[rows] = rank
        pp.welfare[rows] = welfare
        pp.self_employed[rows] = selfemp
        if n:
            pp.wealth_top_quintile[rows] = wealth >= np.quantile(wealth, 0.8)
        return {"person_id": self.ids_for(rows), "income_year": np.full(n, Y - 1, dtype=np.int16),
                "wage_income": wage, "self_employment_income": se_inc, "welfare_benefits": wel_amt,
                "net_wealth": wealth, "employed": employed, "self_employed": selfemp}

    def education_table(self, Y: int, rows: np.ndarray):
        pp, rng = self.pop, self.rng
        age = (Y - 1 - pp.birth_year[rows]).astype(np.int16)
        fin = pp.final_education[rows]
        reach = np.select([age < 6, age < 13, age < 16, age < 19, age < 21, age < 23, age < 26, age < 30],
                          [0, 1, 2, 3, 4, 5, 6, 7], 8).astype(np.int8)
        cur = np.minimum(fin, reach)
        # pass-through for secondary levels (final 2 stays 2; upper secondary 4 reached at 19)
        cur = np.where((age >= 19) & (fin >= 4) & (cur == 3), 4, cur)
        cur = np.where((age >= 16) & (fin == 3), 3, cur)
        cur = np.where(age >= 16, np.maximum(cur, np.minimum(fin, 2)), cur)
        missing = pp.education_unregistered[rows] | ((pp.category[rows] == B) & (age < 6) & False)
        nus = np.where(missing, -1, cur).astype(np.int16)
        enrolled = ((age >= 6) & (age <= 18) & (rng.random(len(rows)) < 0.97)) | \
                   ((age >= 19) & (age <= 32) & (cur < fin) & (fin >= 5) & (rng.random(len(rows)) < self.p["education"]["enrol_prob_higher"])) | \
                   ((age >= 19) & (age <= 60) & (rng.random(len(rows)) < 0.02))
        enrolled &= pp.present[rows]
        self._cur_edu = (rows, cur, missing)
        return {"person_id": self.ids_for(rows), "nus_level": pa.array(nus.astype(np.int8), mask=nus < 0),
                "enrolled": enrolled}

    def status_table(self, Y: int, rows: np.ndarray):
        pp = self.pop
        reg = pp.register_status[rows]
        st = np.where(reg == 1, 0, np.where(reg == 2, 1, 2))
        res = reg == 1
        mcode = np.full(len(rows), -1, dtype=np.int32)
        mcode[res] = self.mcoder.codes_at(Y, pp.municipality[rows[res]].astype(np.int64), rows[res])
        sp = pp.spouse[rows]
        sp_ok = (sp >= 0) & res
        sp_ok[sp_ok] &= pp.register_status[sp[sp_ok]] == 1
        spi = np.where(sp_ok, sp, -1)
        ids = self.all_ids()
        spouse_ids = ids.take(pa.array(np.maximum(spi, 0), type=pa.int64()))
        spouse_ids = pc.if_else(pa.array(sp_ok), spouse_ids, pa.scalar(None, pa.string()))
        mar = pp.marital_status[rows].copy()
        # separated -> divorced one year after the separation
        sepd = (mar == 4) & (pp.separation_year[rows] < Y - 1)
        pp.marital_status[rows[sepd]] = 3
        mar[sepd] = 3
        nch = self.children_counts(Y)[rows]
        return {"person_id": ids.take(pa.array(rows, type=pa.int64())), "status": self.code_arr(st, STATUS),
                "municipality": self.code_arr(mcode, np.array(self.mcoder.all_codes, dtype=object)),
                "citizenship": self.code_arr(pp.citizenship[rows], self.cty.codes),
                "marital_status": self.code_arr(mar, MARITAL), "spouse_id": spouse_ids,
                "n_children_in_household": np.minimum(nch, 20).astype(np.int8)}

    def children_counts(self, Y: int) -> np.ndarray:
        pp = self.pop
        n = pp.n
        kids = np.flatnonzero((pp.register_status == 1) & (Y - 1 - pp.birth_year < 18))
        out = np.zeros(n, dtype=np.int64)
        m = pp.mother[kids]
        ok = m >= 0
        ok[ok] &= pp.register_status[m[ok]] == 1
        out += np.bincount(m[ok], minlength=n)
        f = pp.father[kids]
        okf = (f >= 0)
        okf[okf] &= (pp.register_status[f[okf]] == 1)
        # father counts the child when the mother is absent or is his spouse
        mm = pp.mother[kids[okf]]
        with_f = (mm < 0) | (pp.spouse[np.maximum(mm, 0)] == f[okf]) | (pp.register_status[np.maximum(mm, 0)] != 1)
        out += np.bincount(f[okf][with_f], minlength=n)
        return out

    # ------------------------------------------------------------------ emigration
    def nch_of(self, idx):
        out = np.zeros(len(idx), dtype=np.int64)
        ok = idx < len(self._nch)
        out[ok] = self._nch[idx[ok]]
        return out

    def sur_composition(self, Y: int):
        pp = self.pop
        st = np.flatnonzero((pp.register_status == 1) & (pp.category == B))
        age = Y - 1 - pp.birth_year[st]
        ag = agegroup(age)
        dur = Y - 1 - (pp.first_immigration_day[st] // 365 + 1970)   # completed years since first immigration (approx.)
        # cell index: sex 2 (women) -> "K" (si 0), sex 1 (men) -> "M" (si 1). v1.0 used sex - 1 here, which
        # gave men the women's (K) equations and vice versa (men/women ratio < 1) -- fixed in v1.1
        key = (pp.country_group[st].astype(np.int64) * 2 + (2 - pp.sex[st])) * 7 + ag
        cnt = np.bincount(key, minlength=4 * 2 * 7)
        ko = np.bincount(key, weights=(dur <= 2), minlength=56)
        me = np.bincount(key, weights=(dur >= 3) & (dur <= 9), minlength=56)
        shares, ncell = {}, {}
        for g in (1, 2, 3):
            for si, s in enumerate("KM"):
                for a in range(1, 7):
                    k = (g * 2 + si) * 7 + a
                    c = cnt[k]
                    shares[(g, s, a)] = (ko[k] / c if c else 0.0, me[k] / c if c else 0.0)
                    ncell[(g, s, a)] = int(c)
        beh = {g: np.sum(pp.country_group[st] == g) / self.scale for g in (1, 2, 3)}
        # truth only: 1 Jan stock by duration-of-residence band (study A Table A3b)
        dband = np.bincount(np.searchsorted(DUR_EDGES, dur, side="right"), minlength=len(DUR_BANDS))
        return {"shares": shares, "BEH": beh, "n": ncell, "dur_n": dband}

    def departures(self, Y: int, pool: np.ndarray, rates: dict, comp: dict):
        """Draw who leaves Norway in Y (physical departure) among present residents in `pool`."""
        pp, rng, P = self.pop, self.rng, self.p
        le = P["leave_effects"]
        age = (Y - 1 - pp.birth_year[pool]).astype(np.int64)
        imm = pp.category[pool] == B
        prob = np.zeros(len(pool))
        # --- immigrants: SUR cell rate redistributed by study B multipliers
        ii = pool[imm]
        ag = agegroup(age[imm])
        dur = Y - 1 - (pp.first_immigration_day[ii] // 365 + 1970)
        lm = np.zeros(len(ii))
        lm += np.where(pp.spouse[ii] >= 0, le["spouse_in_norway"], 0)
        nch = self.nch_of(ii)
        lm += np.where(nch > 0, le["child_in_household"], 0)
        dcat = np.select([dur <= 1, dur <= 4, dur <= 9], [0, 1, 2], 3)
        lm += np.array([le["duration"][k] for k in ("0-1", "2-4", "5-9", "10+")])[dcat]
        e = pp.final_education[ii]
        ecat = np.where(pp.education_unregistered[ii], 3, np.where(e >= 6, 2, np.where(e >= 4, 1, 0)))
        lm += np.array([le["education"][k] for k in ("low", "medium", "high", "unknown")])[ecat] * (age[imm] >= 20)
        lm += np.where(pp.employed[ii], le["employed"], 0)
        lm += np.where((pp.arrival_age[ii] <= 9) & (pp.arrival_age[ii] >= 0), le["arrived_as_child"], 0)
        lm += np.where(pp.citizenship[ii] == self.cty.NOR, le["norwegian_citizen"], 0)
        w = float(np.clip((Y - 2004) / 5, 0, 1))
        cent = self.m_cent[pp.municipality[ii]]
        ce = np.array([0] + [(1 - w) * le["centrality_early"][k] + w * le["centrality_late"][k] for k in (1, 2, 3, 4)])
        lm += ce[cent]
        cm = np.zeros(len(self.m_county))
        for k, v in le["county"].items():
            cm[self.m_county == k] = v
        lm += cm[pp.municipality[ii]]
        mult = np.exp(lm)
        key = (pp.country_group[ii].astype(np.int64) * 2 + (2 - pp.sex[ii])) * 7 + ag   # K = women (sex 2), as in sur_composition
        summ = np.bincount(key, weights=mult, minlength=56)
        target = np.zeros(56)
        for g in (1, 2, 3):
            for si, s in enumerate("KM"):
                for a in range(1, 7):
                    target[(g * 2 + si) * 7 + a] = rates[f"{g}{s}{a}"] * comp["n"][(g, s, a)]
        pi = np.where(summ[key] > 0, target[key] * mult / np.maximum(summ[key], 1e-12), 0)
        pi = np.minimum(pi, le["max_individual_prob"])
        # asylum artefact: extra departure hazard in the first two years [A §7]
        art = P["immigration"]["asylum_artefact"]
        as_ = pp.asylum_artefact[ii] & (Y - pp.latest_arrival_year[ii] <= 2)
        pi = np.where(as_, 1 - (1 - pi) * (1 - art["departure_prob_per_year"]), pi)
        prob[imm] = pi
        # truth only: expected departures by duration band (A3b) beside the 1 Jan stock of the band
        eb = np.bincount(np.searchsorted(DUR_EDGES, dur, side="right"), weights=pi, minlength=len(DUR_BANDS))
        for k, band in enumerate(DUR_BANDS):
            self.truth_dur.append({"year": Y, "duration_band": band, "stock_1jan": int(comp["dur_n"][k]),
                                   "expected_departures": float(eb[k]),
                                   "rate": float(eb[k] / comp["dur_n"][k]) if comp["dur_n"][k] else float("nan")})
        # --- non-immigrants: age profile x study C group multipliers x trend
        ni = pool[~imm]
        ne = P["nonimmigrant_emigration"]
        a2 = age[~imm]
        r = interp_knots(ne["age_rates"], a2)
        cg = pp.study_c_group[ni]
        gm = np.ones(len(ni))
        gm[cg == 1] = ne["group_multiplier"]["G1"]
        gm[cg == 3] = ne["group_multiplier"]["G3"]
        gm[np.isin(pp.category[ni], [F, G])] = ne["group_multiplier"]["F_G"]
        lr = np.log(gm)
        lr += np.where((cg == 1) & (a2 >= 26) & (a2 <= 30), ne["late_twenties_peak_G1"], 0)
        lr += np.where((pp.final_education[ni] >= 6) & (a2 >= 22), ne["high_education"], 0)
        lr += ne["yearly_trend"] * (Y - 2000)
        lr += np.log(ne["covid_multiplier"].get(Y, 1.0))
        prob[~imm] = np.minimum(r * np.exp(lr), 0.5)
        leave = pool[rng.random(len(pool)) < prob]
        return leave

    def onward_logit(self, idx: np.ndarray, Y: int) -> np.ndarray:
        pp, ol = self.pop, self.p["onward_logit"]
        age = (Y - pp.birth_year[idx]).astype(np.int64)
        ab = np.select([age < 20, age <= 27, age <= 34, age <= 39, age <= 49, age <= 65], [0, 1, 2, 3, 4, 5], 6)
        names = ["<20", "20-27", "28-34", "35-39", "40-49", "50-65", "66+"]
        x = np.array([ol["age_band"][k] for k in names])[ab]
        x += np.where(pp.sex[idx] == 2, ol["female"], 0)
        x += np.where(pp.citizenship[idx] == self.cty.NOR, ol["norwegian_citizen"], 0)
        x += np.where(pp.spouse[idx] >= 0, ol["spouse_in_norway"], 0)
        x += np.where(self.nch_of(idx) > 0, ol["child_in_household"], 0)
        dur = Y - (pp.first_immigration_day[idx] // 365 + 1970)
        dcat = np.select([dur <= 1, dur <= 4, dur <= 9], [0, 1, 2], 3)
        x += np.array([ol["duration"][k] for k in ("0-1", "2-4", "5-9", "10+")])[dcat]
        e = pp.final_education[idx]
        ecat = np.where(pp.education_unregistered[idx], 3, np.where(e >= 6, 2, np.where(e >= 4, 1, 0)))
        x += np.array([ol["education"][k] for k in ("low", "medium", "high", "unknown")])[ecat]
        x += np.where(pp.employed[idx], ol["employed"], 0)
        x += ol["income_pct"] * pp.income_percentile[idx] + np.where(pp.income_percentile[idx] >= 0.95, ol["top_earner_p95"], 0)
        x += np.where(pp.wealth_top_quintile[idx], ol["wealth_positive_top_quintile"], 0)
        x += np.where(pp.welfare[idx], ol["welfare"], 0)
        x += np.array([ol["origin"][k] for k in ("nordic", "eu_west", "eu_east", "other_europe", "non_europe")])[self.c_origin[pp.birth_country[idx]]]
        return x

    def pick_dest_country(self, cats: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        """cats: category index 0..4 (NORDIC, UK, USA_CAN, GERMANY, OTHER) -> country index."""
        out = np.full(len(cats), -1, dtype=np.int16)
        names = ["NORDIC", "UK", "USA_CAN", "GERMANY", "OTHER"]
        cc = self.p["destination"]["cat_countries"]
        for k, nm in enumerate(names):
            s = np.flatnonzero(cats == k)
            if len(s) == 0:
                continue
            codes = [c for c in cc[nm] if self.cty.has(c)]
            ci = np.array([self.cty.idx(c) for c in codes], dtype=np.int16)
            wv = np.array([float(cc[nm][c]) for c in codes])
            pick = ci[self.choice_w(len(s), wv)]
            clash = pick == exclude[s]
            if clash.any():   # redraw once, then fall back to another country of the category
                pick[clash] = ci[self.choice_w(int(clash.sum()), wv)]
                clash = pick == exclude[s]
                pick[clash] = ci[(np.searchsorted(ci, pick[clash]) + 1) % len(ci)] if len(ci) > 1 else self.cty.idx("GBR")
            out[s] = pick
        return out

    def nonorigin_cats(self, idx: np.ndarray, kind: str, origin: np.ndarray, Y: int) -> np.ndarray:
        dp = self.p["destination"]
        base = dp["nonorigin_cat_shares"][kind]
        names = ["NORDIC", "UK", "USA_CAN", "GERMANY", "OTHER"]
        W = np.tile(np.array([base[k] for k in names]), (len(idx), 1))
        for code, mults in dp["origin_cat_multipliers"].items():
            if self.cty.has(code):
                s = origin == self.cty.idx(code)
                for k, v in mults.items():
                    W[s, names.index(k)] *= v
        hi = self.pop.final_education[idx] >= 6
        W[hi, 0] *= dp["high_education_nordic_multiplier"]
        cw = np.cumsum(W, 1)
        u = self.rng.random(len(idx)) * cw[:, -1]
        return (u[:, None] > cw).sum(1)

    def destinations(self, Y: int, leave: np.ndarray):
        """Split departures into reported/unreported and pick destinations. Returns (country, unreported)."""
        pp, rng, P = self.pop, self.rng, self.p
        dp, rp = P["destination"], P["registration"]
        n = len(leave)
        country = np.full(n, -1, dtype=np.int16)
        cat = pp.category[leave]
        cg = pp.study_c_group[leave]
        imm = cat == B
        # unreported departures -> administrative emigration later [A §7]
        pu = np.zeros(n)
        pu[imm] = rp["unreported_base"] * self.c_admin[pp.birth_country[leave[imm]]]
        pu[imm & (cg == 2)] *= 0.4
        un = rp["unreported_nonimmigrant"]
        pu[~imm] = np.select([cg[~imm] == 1, cg[~imm] == 3, cg[~imm] == 5], [un["G1"], un["G3"], un["G5"]], un["other"])
        unreported = rng.random(n) < pu
        rep = ~unreported
        # reported immigrants (G4-type): unknown / return / onward
        s = np.flatnonzero(rep & imm & (cg != 2))
        unk = rng.random(len(s)) < dp["immigrant_reported_unknown_share"]
        s_known = s[~unk]
        li = leave[s_known]
        x = self.onward_logit(li, Y)
        labour = (pp.immigration_reason[li] == R_IDX["work"]) | (pp.immigration_reason[li] == R_IDX["nordic"])
        b0 = self._solve_intercept(x[labour], P["onward_logit"]["target_onward_share_labour"])
        ro = P["onward_logit"]["reason_offset"]
        off = np.array([ro.get(r, 0.0) for r in REASONS] + [ro["none"]])[np.where(pp.immigration_reason[li] < 0, len(REASONS), pp.immigration_reason[li])]
        onward = rng.random(len(li)) < logistic(b0 + x + np.where(labour, 0, off))
        onward |= pp.birth_country[li] == self.cty.XXX
        country[s_known[~onward]] = pp.birth_country[li[~onward]]
        oc = self.nonorigin_cats(li[onward], "immigrant", pp.birth_country[li[onward]], Y)
        country[s_known[onward]] = self.pick_dest_country(oc, pp.birth_country[li[onward]])
        self._onward_truth = (li, onward, labour)
        # descendants & natives & G2: study C shares [C §2.7]
        s = np.flatnonzero(rep & ((~imm) | (cg == 2)))
        li = leave[s]
        cgs = pp.study_c_group[li]
        origin = np.where(pp.category[li] == B, pp.birth_country[li], np.where(pp.mother_birth_country[li] >= 0, pp.mother_birth_country[li], -1)).astype(np.int16)
        origin = np.where((origin == self.cty.NOR) | (origin < 0), np.where((pp.father_birth_country[li] >= 0) & (pp.father_birth_country[li] != self.cty.NOR), pp.father_birth_country[li], -1), origin)
        origin = np.where(np.isin(pp.category[li], [F, G]) & (pp.birth_country[li] != self.cty.NOR), pp.birth_country[li], origin)
        unk_share = np.select([cgs == 1, cgs == 2, cgs == 3], [dp["unknown_share"]["G1"], dp["unknown_share"]["G2"], dp["unknown_share"]["G3"]], dp["unknown_share"]["G5"])
        unk_share = np.maximum(unk_share - pu[s], 0) / np.maximum(1 - pu[s], 1e-9)
        u1 = rng.random(len(li))
        unknown = u1 < unk_share
        ts = dp["to_origin_share"]
        p_or = np.select([cgs == 1, cgs == 2, cgs == 3], [ts["G1"], ts["G2"], ts["G3"]], ts["G5_foreign_link"])
        p_or = np.where((origin < 0) | (origin == self.cty.XXX), 0.0, p_or)
        odds = p_or / np.maximum(1 - p_or, 1e-9)
        for code, v in dp["origin_to_origin_multipliers"].items():
            if self.cty.has(code):
                odds = np.where(origin == self.cty.idx(code), odds * v, odds)
        odds = np.where(pp.final_education[li] >= 6, odds * dp["high_education_to_origin_multiplier"], odds)
        p_or = odds / (1 + odds) / (1 - unk_share)   # share among all -> among known
        to_or = (~unknown) & (rng.random(len(li)) < np.minimum(p_or, 1))
        country[s[to_or]] = origin[to_or]
        rest = (~unknown) & ~to_or
        kind = np.where(cgs[rest] == 5, 0, 1)
        oc = np.zeros(int(rest.sum()), dtype=np.int64)
        r_idx = li[rest]
        if kind.size:
            m0 = kind == 0
            oc[m0] = self.nonorigin_cats(r_idx[m0], "majority", origin[rest][m0], Y)
            oc[~m0] = self.nonorigin_cats(r_idx[~m0], "descendant", origin[rest][~m0], Y)
        country[s[rest]] = self.pick_dest_country(oc, origin[rest])
        return country, unreported

    def _solve_intercept(self, x: np.ndarray, target: float) -> float:
        if len(x) == 0:
            return float(np.log(target / (1 - target)))
        lo, hi = -15.0, 10.0
        for _ in range(50):
            mid = (lo + hi) / 2
            if logistic(mid + x).mean() > target:
                hi = mid
            else:
                lo = mid
        self._b0 = (lo + hi) / 2
        return self._b0

    def schedule_return(self, Y: int, idx: np.ndarray, admin: bool):
        pp, rng, rm = self.pop, self.rng, self.p["return_migration"]
        if len(idx) == 0:
            return
        if admin:
            ret = rng.random(len(idx)) < rm["admin_return"]
            pp.return_year[idx[ret]] = Y + rng.integers(1, 6, int(ret.sum()))
            return
        w5 = rm["within5"]
        age = Y - pp.birth_year[idx]
        cg = pp.study_c_group[idx]
        base = np.select([cg == 1, cg == 2, cg == 3, cg == 4], [w5["G1"], w5["G2"], w5["G3"], w5["G4"]], w5["G5"])
        base = np.where(age < 18, w5["child"], base)
        base = np.where((age > 35) & (pp.category[idx] == B), w5["elderly"], base)
        dest = pp.destination[idx]
        origin_dest = (dest == pp.birth_country[idx]) | ((dest == pp.mother_birth_country[idx]) & (pp.mother_birth_country[idx] != self.cty.NOR))
        base = base * np.where(origin_dest, rm["destination_multiplier"]["origin"], rm["destination_multiplier"]["other"])
        base = base * np.where(pp.final_education[idx] >= 6, rm["high_education_multiplier"], 1.0)
        u = rng.random(len(idx))
        ret = u < np.minimum(base, 0.95)
        late = (~ret) & (u < base + rm["late_return"])
        ev_y = (pp.pending_event_day[idx] // 365.2425 + 1970).astype(np.int64)
        k = 1 + self.choice_w(len(idx), np.array(rm["delay_probs"]))
        ry = np.where(ret, ev_y + k, np.where(late, ev_y + rng.integers(5, 11, len(idx)), 0))
        ry = np.where((ry > 0) & (ry <= Y), Y + 1, ry)
        pp.return_year[idx] = ry.astype(np.int16)

    # ------------------------------------------------------------------ main loop
    def run(self, out_dir: Path, truth_dir: Path, progress: bool = False) -> SimulationSummary:
        import time
        t0 = time.time()
        self.build_stock()
        pp, rng, P = self.pop, self.rng, self.p
        years = list(range(self.first_year, self.last_year + 1))
        summ = SimulationSummary(out_dir=out_dir, truth_dir=truth_dir, years=years, seed=self.seed, scale=self.scale)
        producer = f"register-simulator {P['version']} scale={self.scale:g} seed={self.seed}"
        it = years
        if progress:
            from tqdm import tqdm
            it = tqdm(years, desc="simulating register years", unit="year")
        for Y in it:
            self.ev = []
            # ---------- 1 Jan Y: register view
            rows = np.flatnonzero((pp.register_status == 1) | ((pp.register_status >= 2) & (pp.exit_year == Y - 1)))
            residents = np.flatnonzero(pp.register_status == 1)
            if Y == self.first_year:
                summ.residents_first = len(residents)
            self._nch = self.children_counts(Y)
            status = self.status_table(Y, rows)
            education = self.education_table(Y, residents)
            income = self.income(Y, rows)
            comp = self.sur_composition(Y)
            rates = self.sur.step(Y, comp)
            for g in (1, 2, 3):
                for s in "KM":
                    for a in range(1, 7):
                        self.truth_sur.append({"year": Y, "country_group": g, "sex": 2 if s == "K" else 1, "age_group": a,
                                               "rate": rates[f"{g}{s}{a}"], "stock_1jan": comp["n"][(g, s, a)],
                                               "anko": comp["shares"][(g, s, a)][0], "anme": comp["shares"][(g, s, a)][1]})
            n_res_jan1 = len(residents)
            present0 = np.flatnonzero(pp.present & (pp.register_status == 1))
            # ---------- returns scheduled for Y (re-immigration)
            ret = np.flatnonzero((pp.register_status == 2) & (pp.return_year == Y) & (pp.death_day < 0))
            n_ret = len(ret)
            if n_ret:
                rd = days(Y) + rng.integers(0, 365, n_ret)
                pp.register_status[ret] = 1
                pp.present[ret] = True
                pp.return_year[ret] = 0
                pp.departure_day[ret] = -1
                pp.latest_arrival_year[ret] = Y
                pp.municipality[ret] = self.assign_muni(n_ret, immigrant=pp.category[ret] == B)
                cfrom = np.where(pp.destination[ret] >= 0, pp.destination[ret], np.where(pp.birth_country[ret] != self.cty.NOR, pp.birth_country[ret], -1))
                self.add_event(ret, 1, rd, np.minimum(rd + rng.integers(0, 20, n_ret), days(Y, 12, 31)), cfrom, False,
                               self.immigration_reason_for(ret), pp.municipality[ret])
                sp = pp.spouse[ret]
                bad = (sp >= 0)
                bad[bad] = pp.register_status[sp[bad]] != 1
                pp.spouse[ret[bad]] = -1
                pp.marital_status[ret[bad & (pp.marital_status[ret] == 1)]] = 3
            # ---------- new immigrants
            new = self.new_immigrants(Y)
            # ---------- deaths among those present at 1 Jan
            died = self.deaths(Y, present0)
            # ---------- departures among present 1 Jan residents who survived
            pool = present0[pp.present[present0]]
            leave = self.departures(Y, pool, rates, comp)
            dd = days(Y) + rng.integers(0, 365, len(leave))
            # multi-migrants: new immigrants who leave again within the year [A §2.4]
            mm = new[rng.random(len(new)) < P["registration"]["multi_migrant_same_year_share"]]
            mm = mm[~pp.asylum_artefact[mm]]
            mm_d = np.minimum(pp.first_immigration_day[mm] + 30 + rng.integers(0, 200, len(mm)), days(Y, 12, 31))
            ok_mm = mm_d > pp.first_immigration_day[mm]
            mm, mm_d = mm[ok_mm], mm_d[ok_mm]
            leave_all = np.concatenate([leave, mm])
            dd_all = np.concatenate([dd, mm_d]).astype(np.int32)
            country, unreported = self.destinations(Y, leave_all)
            is_mm = np.zeros(len(leave_all), bool)
            is_mm[len(leave):] = True
            unreported &= ~is_mm
            pp.present[leave_all] = False
            pp.departure_day[leave_all] = dd_all
            pp.destination[leave_all] = country
            # reported: registration lag
            rp = P["registration"]
            lagp = np.array(rp["reported_lag_probs"])
            lag = self.choice_w(len(leave_all), lagp)
            lag[is_mm] = 0
            rep = ~unreported
            pp.pending_registration_year[leave_all[rep]] = Y + lag[rep]
            pp.pending_event_day[leave_all[rep]] = dd_all[rep]
            pp.pending_country[leave_all[rep]] = country[rep]
            pp.pending_administrative[leave_all[rep]] = False
            pp.pending_registration_year[leave_all[unreported]] = -1
            pp.pending_event_day[leave_all[unreported]] = dd_all[unreported]
            pp.pending_administrative[leave_all[unreported]] = True
            # ---------- 2013 clean-up: outstanding late reported cases registered now [A §7]
            if Y == rp["cleanup_year"]:
                late = np.flatnonzero((pp.pending_registration_year > Y) & ~pp.pending_administrative & (pp.pending_event_day < days(Y)))
                late = late[rng.random(len(late)) < rp["cleanup_extra_lag_cases"]]
                pp.pending_registration_year[late] = Y
            # ---------- register reported emigrations due in Y
            due = np.flatnonzero((pp.pending_registration_year == Y) & ~pp.pending_administrative & (pp.register_status == 1))
            ed = pp.pending_event_day[due]
            same = ed >= days(Y)
            rdate = np.where(same, np.minimum(ed + rng.integers(0, 45, len(due)), days(Y, 12, 31)),
                             days(Y) + rng.integers(0, 365, len(due)))
            if Y == rp["cleanup_year"]:
                rdate = np.where(~same, days(Y) + rng.integers(0, 181, len(due)), rdate)
            self._register_emigration(Y, due, ed, rdate, pp.pending_country[due], False)
            # ---------- administrative emigrations [A §2.3, §7]
            gh = np.flatnonzero(pp.pending_administrative & (pp.pending_registration_year == -1) & (pp.register_status == 1))
            elig = gh[pp.departure_day[gh] + 731 <= days(Y, 12, 31)]
            hz = np.full(len(elig), rp["admin_decision_hazard"])
            if Y >= rp["eu_rule_year"]:
                hz = np.where(self.c_g2[pp.citizenship[elig]] | (self.cty.eea[pp.citizenship[elig]] & ~self.c_nordic[pp.citizenship[elig]]),
                              hz * rp["eu_rule_hazard_multiplier"], hz)
            cleanup = Y == rp["cleanup_year"]
            if cleanup:
                hz = np.maximum(hz, rp["cleanup_hazard"])
            dec = elig[rng.random(len(elig)) < hz]
            lo = np.maximum(days(Y), pp.departure_day[dec] + 731)
            hi_ = np.full(len(dec), days(Y, 12, 31))
            if cleanup:
                hi_ = np.where(lo <= days(Y, 6, 30), days(Y, 6, 30), hi_)
            ddate = lo + np.floor(rng.random(len(dec)) * (hi_ - lo + 1)).astype(np.int32)
            self._register_emigration(Y, dec, ddate, ddate, np.full(len(dec), -1, np.int16), True)
            # same-year returners (emigrate and come back within Y) [A §2.4]
            sy = due[(pp.pending_event_day[due] >= days(Y)) & (rng.random(len(due)) < P["return_migration"]["same_year_return_share"])]
            if len(sy):
                rd_e = np.minimum(pp.departure_day[sy] + 60 + rng.integers(0, 120, len(sy)), days(Y, 12, 31))
                ok = rd_e > pp.departure_day[sy]
                sy, rd_e = sy[ok], rd_e[ok]
                # event of return must follow the registration of the emigration
                pp.register_status[sy] = 1
                pp.present[sy] = True
                pp.return_year[sy] = 0
                pp.departure_day[sy] = -1
                cfrom = np.where(pp.destination[sy] >= 0, pp.destination[sy], -1)
                self.add_event(sy, 1, rd_e, rd_e, cfrom, False, self.immigration_reason_for(sy), pp.municipality[sy])
            # ---------- births
            self.births(Y)
            # ---------- household, moves, naturalisation, education registration
            self.household(Y)
            # ---------- write delivery Y
            events = self.events_table(Y)
            ids = self.all_ids()
            persons = self.persons_table(ids)
            tables = {"persons": persons, "population_status": status, "migration_events": events,
                      "education": education, "income": income}
            man = write_delivery(out_dir, Y, tables, producer)
            summ.manifests[Y] = man
            # ---------- truth
            evc = self._ev_cat
            self.truth_rows.append({"year": Y, "residents_1jan": n_res_jan1, "persons": int(pp.n),
                                    "immigrations_registered": int((evc["dir"] == 1).sum()),
                                    "emigrations_registered": int((evc["dir"] == 0).sum()),
                                    "deaths": int(len(died)), "births": int(self._births_n),
                                    "departures": int(len(leave_all)), "departures_unreported": int(unreported.sum()),
                                    "new_immigrants": int(len(new)), "returns": int(n_ret),
                                    "onward_intercept": float(getattr(self, "_b0", float("nan")))})
            if len(evc["dir"]):
                ey = (evc["ed"][evc["dir"] == 0].astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970)
                typ = evc["admin"][evc["dir"] == 0]
                df = pd.DataFrame({"event_year": ey, "admin": typ}).value_counts().reset_index()
                for _, r in df.iterrows():
                    self.truth_emig.append({"registration_year": Y, "event_year": int(r["event_year"]),
                                            "registration_type": "administrative" if r["admin"] else "reported",
                                            "n": int(r["count"])})
        summ.residents_last = int((pp.register_status == 1).sum())
        summ.persons_last = int(pp.n)
        self.write_truth(truth_dir)
        summ.seconds = time.time() - t0
        return summ

    def _register_emigration(self, Y, idx, event_date, reg_date, country, admin: bool):
        pp = self.pop
        if len(idx) == 0:
            return
        self.add_event(idx, 0, event_date, reg_date, country, admin, -1, pp.municipality[idx])
        pp.register_status[idx] = 2
        pp.exit_year[idx] = Y
        pp.pending_registration_year[idx] = 0
        pp.pending_administrative[idx] = False
        pp.emigration_count[idx] += 1
        pp.last_emigration_year[idx] = Y
        if admin:
            pp.destination[idx] = -1
        pp.pending_event_day[idx] = event_date
        self.schedule_return(Y, idx, admin)

    def births(self, Y: int):
        pp, rng, fp = self.pop, self.rng, self.p["fertility"]
        women = np.flatnonzero(pp.present & (pp.register_status == 1) & (pp.sex == 2) & (Y - pp.birth_year >= 15) & (Y - pp.birth_year <= 49))
        age = Y - pp.birth_year[women]
        prof = interp_knots(fp["age_profile"], np.arange(15, 50))
        asfr = prof / prof.sum() * float(interp_knots(fp["tfr"], Y))
        gm = np.where(pp.category[women] == B, np.array([1.0, fp["group_multiplier"][1], fp["group_multiplier"][2], fp["group_multiplier"][3]])[pp.country_group[women]],
                      fp["group_multiplier"]["native"])
        pbirth = asfr[age - 15] * gm
        moms = women[rng.random(len(women)) < pbirth]
        n = len(moms)
        self._births_n = n
        if n == 0:
            return
        cty = self.cty
        dad = pp.spouse[moms].copy()
        dad = np.where((dad >= 0) & (pp.register_status[np.maximum(dad, 0)] == 1), dad, -1)
        # unmarried mothers: a father from the same market (cohabitants) unless unknown
        nod = np.flatnonzero(dad < 0)
        if len(nod):
            men = np.flatnonzero(pp.present & (pp.register_status == 1) & (pp.sex == 1) & (Y - pp.birth_year >= 18) & (Y - pp.birth_year <= 60))
            mk = lambda ix: np.where(pp.category[ix] == B, pp.birth_country[ix], -1).astype(np.int64) * 100 + (Y - pp.birth_year[ix]) // 5
            dad[nod] = self.pair_sample(mk(moms[nod]), men, mk(men))
            unk = rng.random(len(nod)) < fp["father_unknown_share"] * 3
            dad[nod[unk]] = -1
        mbc = pp.birth_country[moms]
        fbc = np.where(dad >= 0, pp.birth_country[np.maximum(dad, 0)], -1).astype(np.int16)
        mB = pp.category[moms] == B
        fB = np.where(dad >= 0, pp.category[np.maximum(dad, 0)] == B, True)
        mfor = mbc != cty.NOR
        ffor = np.where(dad >= 0, fbc != cty.NOR, False)
        cat = np.where(mB & fB & (mfor | (dad < 0)), C, np.where(mfor | ffor, E, A)).astype(np.int8)
        cat = np.where((dad < 0) & ~mB & mfor, E, cat)

        def gp(ix, exists):
            ixs = np.maximum(ix, 0)
            own = (np.where(pp.mother_birth_country[ixs] < 0, 1, pp.mother_birth_country[ixs] != cty.NOR).astype(np.int8)
                   + np.where(pp.father_birth_country[ixs] < 0, 1, pp.father_birth_country[ixs] != cty.NOR).astype(np.int8))
            own = np.where(pp.category[ixs] == B, 2, own)
            return np.where(exists, own, 2)   # unknown parent -> grandparents counted as foreign-born
        nf = gp(moms, np.ones(n, bool)) + gp(dad, dad >= 0)
        nf = np.where(dad < 0, gp(moms, np.ones(n, bool)) + np.where(mB, 2, 0), nf)
        cit = np.where((pp.citizenship[moms] == cty.NOR) | ((dad >= 0) & (pp.citizenship[np.maximum(dad, 0)] == cty.NOR)), cty.NOR, pp.citizenship[moms])
        bdate_m = rng.integers(1, 13, n)
        idx = pp.add(n, sex=np.where(rng.random(n) < fp["male_share"], 1, 2), birth_year=Y, birth_month=bdate_m, birth_country=cty.NOR,
                     mother=moms, father=dad, mother_birth_country=mbc, father_birth_country=fbc, n_foreign_grandparents=np.minimum(nf, 4), category=cat, register_status=1, present=True,
                     municipality=pp.municipality[moms], citizenship=cit, earnings_potential=rng.standard_normal(n).astype(np.float32))
        pp.study_c_group[idx] = self.cgroup_of(cat, pp.birth_country[idx], pp.arrival_age[idx], pp.n_foreign_grandparents[idx])
        pp.final_education[idx] = self.edu_draw(n, np.full(n, 1990.0), np.zeros(n, dtype=np.int8))

    def household(self, Y: int):
        pp, rng, P = self.pop, self.rng, self.p
        hp = P["household"]
        alive = np.flatnonzero(pp.present & (pp.register_status == 1))
        age = Y - pp.birth_year[alive]
        # divorce
        wives = alive[(pp.sex[alive] == 2) & (pp.spouse[alive] >= 0) & np.isin(pp.marital_status[alive], [1, 5])]
        div = wives[rng.random(len(wives)) < hp["divorce_hazard"]]
        hus = pp.spouse[div]
        for grp_ in (div, hus):
            pp.marital_status[grp_] = 4
            pp.spouse[grp_] = -1
            pp.separation_year[grp_] = Y
        # marriage
        single = alive[(pp.spouse[alive] < 0) & (age >= 18) & (age <= 80)]
        h = interp_knots(hp["marriage_hazard"], Y - pp.birth_year[single])
        cand = single[rng.random(len(single)) < h * 2]   # both sides are drawn: ~ hazard x 2 / 2 pairs
        self._marry(cand, Y)
        # internal moves: women and single men move; spouses and minor children follow
        im = P["internal_moves"]
        heads = alive[(age >= 18) & ((pp.sex[alive] == 2) | (pp.spouse[alive] < 0))]
        ha = Y - pp.birth_year[heads]
        hz = interp_knots(im["hazard_by_age"], ha) * np.where(pp.category[heads] == B, im["immigrant_multiplier"], 1.0)
        mv = heads[rng.random(len(heads)) < hz]
        if len(mv):
            w = self.m_w_all * np.where(self.m_cent == 4, im["central_pull"], 1.0)
            nm = self.choice_w(len(mv), w).astype(np.int16)
            wi = self.choice_w(len(mv), self.m_w_imm).astype(np.int16)
            nm = np.where(pp.category[mv] == B, wi, nm)
            pp.municipality[mv] = nm
            sp = pp.spouse[mv]
            ok = sp >= 0
            pp.municipality[sp[ok]] = nm[ok]
            kids = alive[(age < 18)]
            m = pp.mother[kids]
            okk = m >= 0
            pp.municipality[kids[okk]] = pp.municipality[m[okk]]
        # naturalisation
        ip = P["immigration"]
        cand = alive[(pp.citizenship[alive] != self.cty.NOR) & (pp.first_immigration_day[alive] != NO_DATE)]
        yrs = Y - (pp.first_immigration_day[cand] // 365 + 1970)
        el = cand[yrs >= ip["naturalisation_min_years"]]
        hzn = np.array([0.03, ip["naturalisation_hazard"][1], ip["naturalisation_hazard"][2], ip["naturalisation_hazard"][3]])[pp.country_group[el]]
        nat = el[rng.random(len(el)) < hzn]
        pp.citizenship[nat] = self.cty.NOR
        kids = alive[(pp.citizenship[alive] != self.cty.NOR) & (pp.category[alive] == C)]
        pp.citizenship[kids[rng.random(len(kids)) < 0.05]] = self.cty.NOR
        # immigrants' education becomes registered over time [C §2.9]
        miss = alive[pp.education_unregistered[alive]]
        pp.education_unregistered[miss[rng.random(len(miss)) < P["education"]["missing_resolution_hazard"]]] = False

    def events_table(self, Y: int):
        if self.ev:
            ev = {k: np.concatenate([e[k] for e in self.ev]) for k in self.ev[0]}
        else:
            ev = {k: np.zeros(0, dtype=t) for k, t in [("person", np.int64), ("dir", np.int8), ("ed", np.int32), ("rd", np.int32),
                                                         ("country", np.int16), ("admin", bool), ("reason", np.int8), ("muni", np.int16)]}
        # stable order: registration date, person, direction
        o = np.lexsort((ev["dir"], ev["person"], ev["rd"]))
        ev = {k: v[o] for k, v in ev.items()}
        self._ev_cat = ev
        n = len(o)
        eid = np.char.add("E", np.char.zfill(np.arange(self.event_counter, self.event_counter + n).astype(str), 11))
        self.event_counter += n
        mun = np.full(n, -1, dtype=np.int32)
        # municipality code valid at the event date (its year's 1 Jan table)
        ey = (ev["ed"].astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970)
        for y in np.unique(ey):
            s = ey == y
            mun[s] = self.mcoder.codes_at(int(y), ev["muni"][s].astype(np.int64), ev["person"][s])
        reason = np.where(ev["dir"] == 1, ev["reason"], -1)
        return {"event_id": pa.array(eid.astype(object), type=pa.string()), "person_id": self.ids_for(ev["person"]),
                "direction": self.code_arr(1 - ev["dir"].astype(np.int64) * 1 + 0, np.array(["in", "out"], dtype=object))
                if False else self.code_arr(np.where(ev["dir"] == 1, 0, 1), np.array(["in", "out"], dtype=object)),
                "event_date": self.dates(ev["ed"]), "registration_date": self.dates(ev["rd"]),
                "country": self.code_arr(np.where(ev["country"] >= 0, ev["country"], -1), self.cty.codes),
                "registration_type": self.code_arr(ev["admin"].astype(np.int64), np.array(["reported", "administrative"], dtype=object)),
                "immigration_reason": self.code_arr(reason, REASONS),
                "municipality": self.code_arr(mun, np.array(self.mcoder.all_codes, dtype=object))}

    def persons_table(self, ids: pa.Array):
        pp = self.pop
        n = pp.n
        mid, fid = pp.mother, pp.father
        def ref(x):
            return pc.if_else(pa.array(x >= 0), ids.take(pa.array(np.maximum(x, 0), type=pa.int64())), pa.scalar(None, pa.string()))
        return {"person_id": ids, "sex": pp.sex, "birth_year": pp.birth_year, "birth_month": pp.birth_month,
                "birth_country": self.code_arr(pp.birth_country, self.cty.codes), "mother_id": ref(mid), "father_id": ref(fid),
                "mother_birth_country": self.code_arr(pp.mother_birth_country, self.cty.codes),
                "father_birth_country": self.code_arr(pp.father_birth_country, self.cty.codes),
                "n_foreign_born_grandparents": pp.n_foreign_grandparents, "immigrant_category": self.code_arr(pp.category, CAT_CODES),
                "first_immigration_date": self.dates(pp.first_immigration_day), "death_date": self.dates(pp.death_day)}

    def write_truth(self, truth_dir: Path):
        truth_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(self.truth_rows).to_csv(truth_dir / "yearly.csv", index=False)
        pd.DataFrame(self.truth_emig).to_csv(truth_dir / "emigrations_by_registration_event_type.csv", index=False)
        pd.DataFrame(self.truth_sur).to_csv(truth_dir / "sur_cell_rates.csv", index=False)
        pd.DataFrame(self.truth_dur).to_csv(truth_dir / "departure_rates_by_duration.csv", index=False)
        shutil.copyfile(PARAMS_PATH if not hasattr(self, "params_path") else self.params_path, truth_dir / "params.yaml")
        (truth_dir / "run.json").write_text(json.dumps({"seed": self.seed, "scale": self.scale, "first_year": self.first_year,
                                                         "last_year": self.last_year, "params_version": self.p["version"]}, indent=2) + "\n")


def simulate(out_dir, scale: float = 0.001, first_year: int = 1990, last_year: int = 2023, seed: int = 42,
             truth_dir=None, progress: bool = False, params_path=None) -> SimulationSummary:
    """Write register deliveries first_year..last_year into out_dir (one folder per year) and the
    simulator's truth into truth_dir (default: <out_dir>/../simulation_truth)."""
    out_dir = Path(out_dir)
    truth_dir = Path(truth_dir) if truth_dir is not None else out_dir.parent / "simulation_truth"
    out_dir.mkdir(parents=True, exist_ok=True)
    params = load_params(params_path)
    sim = Simulator(scale, seed, params, first_year, last_year)
    if params_path is not None:
        sim.params_path = Path(params_path)
    return sim.run(out_dir, truth_dir, progress=progress)
