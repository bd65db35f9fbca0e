"""R11 in the pipeline: each published report is a release whose count cells join the history, and the next run's
gate reads the newest release. Re-publishing the same data changes nothing; a count that moved by 1-9 persons
since the last release is suppressed (its difference would count late-registered persons)."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import duckdb
import pandas as pd

from tests.helpers.pipeline import PipelineEnv, run_years
from tests.helpers.warehouse import query_df

PUBLISH = dg.AssetSelection.assets("disclosure_gate", "scorecard", "emigration_report")
HISTORY = "exhibits_published.suppression_history"


def _published(warehouse) -> dict[str, pd.DataFrame]:
    ids = query_df(
        warehouse, "select exhibit_id from exhibits_published.gate_record where status in ('pass', 'review')"
    )
    return {i: query_df(warehouse, f'select * from exhibits_published."{i}"') for i in ids["exhibit_id"]}


def test_each_report_is_a_release_and_the_next_gate_suppresses_small_revisions(
    published_pipeline, tmp_path, monkeypatch
):
    from models_py import settings

    source, result = published_pipeline
    assert result.success
    env = PipelineEnv(source.landing, tmp_path / "warehouse.duckdb", tmp_path / "reports")
    shutil.copy(source.warehouse, env.warehouse)  # the shared run stays untouched
    for name, value in (("ENV_LANDING", env.landing), ("ENV_WAREHOUSE", env.warehouse), ("ENV_REPORTS", env.reports)):
        monkeypatch.setenv(getattr(settings, name), str(value))

    # the full run published one release: its cells are the published count cells, flagged as published
    history = query_df(env.warehouse, f"select * from {HISTORY}")
    assert history["release"].nunique() == 1 and len(history) > 100
    first = _published(env.warehouse)
    flagged = history.groupby("exhibit_id")["suppressed"].sum()
    for exhibit_id, n in flagged.items():
        mask = query_df(env.warehouse, f'select * from exhibits_published."{exhibit_id}__suppressed"')
        columns = history.loc[history["exhibit_id"] == exhibit_id, "column_name"].unique()
        assert n == int(mask[list(columns)].to_numpy().sum()), exhibit_id

    # publishing the same data again: the gate reads the release, and nothing changes
    again = run_years(env, selection=PUBLISH)
    assert again.success
    assert query_df(env.warehouse, f"select count(distinct release) n from {HISTORY}")["n"].iloc[0] == 2
    second = _published(env.warehouse)
    assert second.keys() == first.keys()
    for exhibit_id, table in first.items():
        pd.testing.assert_frame_equal(second[exhibit_id], table, check_dtype=False, obj=exhibit_id)

    # a published cell of at least 20 persons that the last release printed 3 lower: a revision of 3 persons
    newest = query_df(env.warehouse, f"select * from {HISTORY} where release = (select max(release) from {HISTORY})")
    candidates = newest[~newest["suppressed"] & (newest["value"] >= 20) & (newest["cell"] != "")]
    assert not candidates.empty, "no published cell of 20 or more persons: the test proves nothing"
    target = candidates.iloc[0]
    con = duckdb.connect(str(env.warehouse))
    con.execute(
        f"update {HISTORY} set value = value - 3 where release = ? and exhibit_id = ? and column_name = ? and cell = ?",
        [target["release"], target["exhibit_id"], target["column_name"], target["cell"]],
    )
    con.close()
    revised = run_years(env, selection=PUBLISH)
    assert revised.success
    gate_meta = revised.asset_materializations_for_node("disclosure_gate")[0].metadata
    assert gate_meta["previous_release"].value == target["release"]
    exhibit_id, column = target["exhibit_id"], target["column_name"]
    table = query_df(env.warehouse, f'select * from exhibits_published."{exhibit_id}"')
    mask = query_df(env.warehouse, f'select * from exhibits_published."{exhibit_id}__suppressed"')
    cell = json.loads(target["cell"])
    row = pd.Series(True, index=table.index)
    for dim, code in cell.items():
        row &= table[dim].astype(str) == str(code)
    assert row.sum() == 1
    assert bool(mask.loc[row, column].iloc[0]), "the revised cell was published"
    assert pd.isna(table.loc[row, column].iloc[0])
    record = query_df(env.warehouse, "select * from exhibits_published.gate_record where exhibit_id = ?", [exhibit_id])
    assert "R11" in str(record["rules"].iloc[0])
