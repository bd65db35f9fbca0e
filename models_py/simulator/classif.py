"""Classifications read from the dbt seeds (the one place for them); the simulator never copies them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models_py.settings import setting

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SEEDS = REPO / "dbt" / "seeds"
DEFAULT_MACRO = REPO.parent / "shared" / "data" / "macro_series.csv"


def seeds_dir() -> Path:
    return Path(os.environ.get("SIM_SEEDS_DIR", DEFAULT_SEEDS))


@dataclass
class Countries:
    codes: np.ndarray  # object array of ISO3 codes (index = country id)
    group_a: np.ndarray  # int8 study A group 0 (NOR) / 1 / 2 / 3
    nordic: np.ndarray  # bool
    eea: np.ndarray  # bool
    dest_cat: np.ndarray  # object (NORDIC/UK/USA_CAN/GERMANY/OTHER/'')
    origin_b: np.ndarray  # object (nordic/eu_west/eu_east/other_europe/non_europe/'')
    admin_risk: np.ndarray  # object (high/normal)
    NOR: int
    XXX: int

    def idx(self, code: str) -> int:
        return self._index[code]

    def has(self, code: str) -> bool:
        return code in self._index


def load_countries(d: Path | None = None) -> Countries:
    d = d or seeds_dir()
    df = pd.read_csv(d / "countries.csv", dtype=str, keep_default_na=False)
    df = df.sort_values("country_code", kind="stable").reset_index(drop=True)
    ga = pd.to_numeric(df["study_a_group"], errors="coerce").fillna(0).astype(np.int8).to_numpy().copy()
    codes = df["country_code"].to_numpy(dtype=object)
    c = Countries(
        codes=codes,
        group_a=ga,
        nordic=(df["is_nordic"].str.lower() == "true").to_numpy(),
        eea=(df["is_eea"].str.lower() == "true").to_numpy(),
        dest_cat=df["dest_cat"].to_numpy(dtype=object),
        origin_b=df["study_b_origin"].to_numpy(dtype=object),
        admin_risk=df["admin_emigration_risk"].to_numpy(dtype=object),
        NOR=int(np.flatnonzero(codes == "NOR")[0]),
        XXX=int(np.flatnonzero(codes == setting("unknown_country_code"))[0]),  # the unknown country's index
    )
    c._index = {k: i for i, k in enumerate(codes)}
    ga[c.XXX] = 3 if ga[c.XXX] == 0 else ga[c.XXX]  # [A §3.4] stateless/unknown -> group 3
    return c


@dataclass
class Municipalities:
    codes: np.ndarray  # 2013 codes (object)
    county: np.ndarray  # object county code
    centrality: np.ndarray  # int8 1..4
    pop_share: np.ndarray
    imm_weight: np.ndarray
    changes: pd.DataFrame


def load_municipalities(d: Path | None = None) -> Municipalities:
    d = d or seeds_dir()
    m = pd.read_csv(d / "municipalities_2013.csv", dtype=str, keep_default_na=False)
    m = m.sort_values("municipality_code", kind="stable").reset_index(drop=True)
    ch = pd.read_csv(d / "municipality_changes.csv", dtype=str, keep_default_na=False)
    return Municipalities(
        codes=m["municipality_code"].to_numpy(dtype=object),
        county=m["county_code"].to_numpy(dtype=object),
        centrality=m["centrality"].astype(int).to_numpy().astype(np.int8),
        pop_share=m["pop_share_2013"].astype(float).to_numpy(),
        imm_weight=m["immigrant_share_weight"].astype(float).to_numpy(),
        changes=ch,
    )


class MuniCoder:
    """Maps 2013 municipality indices to the code valid on a reference date.

    municipality_changes.csv rows (old_code -> new_code, old valid to valid_to). Before valid_to+1 a
    2013 code c is represented by the old codes merged into it; c itself is kept as a candidate when
    exactly one row flows into it (an absorption: c existed before), and dropped when several rows
    flow into it (a merger into a new code). A person is given one candidate, chosen stably from
    the person index, so a person keeps the same old code in every older delivery.
    """

    def __init__(self, mun: Municipalities):
        self.mun = mun
        self.all_codes: list[str] = list(mun.codes)
        self._code_idx = {c: i for i, c in enumerate(self.all_codes)}
        ch = mun.changes.copy()
        ch["valid_to"] = pd.to_datetime(ch["valid_to"]).dt.date
        self.ch = ch
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _cidx(self, code: str) -> int:
        if code not in self._code_idx:
            self._code_idx[code] = len(self.all_codes)
            self.all_codes.append(code)
        return self._code_idx[code]

    def table(self, year: int):
        if year in self._cache:
            return self._cache[year]
        import datetime as dt

        D = dt.date(year, 1, 1)
        n = len(self.mun.codes)
        cands: list[list[int]] = []
        if not hasattr(self, "_into"):
            self._into = {}
            for o, nw, vt in zip(self.ch["old_code"], self.ch["new_code"], self.ch["valid_to"]):
                if o != nw:
                    self._into.setdefault(nw, []).append((o, vt))
        for c in self.mun.codes:
            rows = self._into.get(c, [])
            cs = [c]
            if rows:
                olds = [o for o, vt in rows if vt >= D]
                if olds:
                    cs = sorted(set(olds + ([c] if len(rows) == 1 else [])))
            cands.append([self._cidx(x) for x in cs])
        k = np.array([len(x) for x in cands], dtype=np.int64)
        tab = np.zeros((n, int(k.max())), dtype=np.int32)
        for i, x in enumerate(cands):
            tab[i, : len(x)] = x
        self._cache[year] = (tab, k)
        return tab, k

    def codes_at(self, year: int, muni_idx: np.ndarray, person_idx: np.ndarray) -> np.ndarray:
        """Return indices into self.all_codes (int32) for the code valid on 1 Jan `year`."""
        tab, k = self.table(year)
        kk = k[muni_idx]
        return tab[muni_idx, (person_idx % kk)]


def load_macro(path: Path | None = None) -> pd.DataFrame:
    p = path or (seeds_dir() / "macro_series.csv")
    if not Path(p).exists():
        p = DEFAULT_MACRO
    return pd.read_csv(p)
