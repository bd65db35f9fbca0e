"""Figures drawn from an exhibit's published table, as the registry entry declares them (matplotlib, SVG + PNG).

Only the published (disclosure-protected) table is drawn: a suppressed cell is a gap in a line or a missing
bar, never a value (disclosure policy R10).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from models_py.exhibits.registry import Exhibit, category_order  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "register-pipeline"  # stable ids inside SVG files
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, scanned by the disclosure check)


def _filter(df: pd.DataFrame, where: dict) -> pd.DataFrame:
    for column, value in (where or {}).items():
        values = [str(v) for v in (value if isinstance(value, list) else [value])]
        df = df[df[column].astype("string").isin(values)]
    return df


def _label_of(exhibit: Exhibit, df: pd.DataFrame, column: str, value) -> str:
    label_column = f"{column}_label"
    if label_column in df.columns:
        hit = df.loc[df[column] == value, label_column]
        if len(hit):
            return str(hit.iloc[0])
    return str(value)


PALETTE = plt.get_cmap("tab10").colors


def _colors(df: pd.DataFrame, exhibit: Exhibit, spec: dict) -> dict:
    """One colour per category of every series column, fixed across panels (by label-map order); a figure's
    `colors: {code: colour}` overrides (the studies draw the origin country red and unknown grey)."""
    columns = {spec.get("series")} | {p.get("series") for p in spec.get("panels") or []}
    colors = {}
    for column in sorted(c for c in columns if c):
        for i, code in enumerate(category_order(exhibit, column, df[column])):
            colors[(column, str(code))] = PALETTE[i % len(PALETTE)]
        for code, color in (spec.get("colors") or {}).items():
            colors[(column, str(code))] = color
    return colors


def _draw_panel(ax, df: pd.DataFrame, exhibit: Exhibit, fig_spec: dict, colors: dict) -> None:
    x, y, series, kind = fig_spec["x"], fig_spec["y"], fig_spec.get("series"), fig_spec["kind"]

    def color(g):
        return colors.get((series, str(g))) if series else None

    values = pd.to_numeric(df[y], errors="coerce").astype(float)
    df = df.assign(_y=values)
    groups = category_order(exhibit, series, df[series]) if series else [None]
    xs = category_order(exhibit, x, df[x]) if kind != "line" else sorted(pd.unique(df[x].dropna()))
    if kind == "line":
        for g in groups:
            part = df if g is None else df[df[series] == g]
            part = part.sort_values(x)
            (line,) = ax.plot(
                part[x].astype(float),
                part["_y"],
                marker=".",
                color=color(g),
                label=None if g is None else _label_of(exhibit, df, series, g),
            )
            if fig_spec.get("band"):  # the interval of each point, shaded in the line's colour
                low, high = (pd.to_numeric(part[c], errors="coerce").astype(float) for c in fig_spec["band"])
                ax.fill_between(part[x].astype(float), low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        if fig_spec.get("reference"):  # one more measure to read the lines against (the actual rate), dashed black
            ref = fig_spec["reference"]
            path = df.drop_duplicates(x).sort_values(x)  # the same value in every series' row of an x
            label = fig_spec.get("reference_label", ref.replace("_", " ").capitalize())
            ax.plot(
                path[x].astype(float),
                pd.to_numeric(path[ref], errors="coerce").astype(float),
                marker=".",
                color="black",
                linestyle="--",
                label=label,
            )
        return
    x_labels = [_label_of(exhibit, df, x, v) for v in xs]
    positions = np.arange(len(xs))
    table = (
        df.pivot_table(index=x, columns=series, values="_y", aggfunc="sum", dropna=False)
        if series
        else df.set_index(x)[["_y"]]
    )
    table = table.reindex(index=xs)
    if kind in ("bar", "barh") and not series:
        heights = table["_y"].to_numpy()
        (ax.barh if kind == "barh" else ax.bar)(positions, heights)
    elif kind == "stacked_bar" or (kind in ("bar", "barh") and series):
        stacked = kind == "stacked_bar"
        width = 0.8 if stacked else 0.8 / max(len(groups), 1)
        bottom = np.zeros(len(xs))
        for i, g in enumerate(groups):
            heights = np.nan_to_num(table[g].to_numpy(dtype=float)) if g in table.columns else np.zeros(len(xs))
            offset = 0 if stacked else (i - (len(groups) - 1) / 2) * width
            if kind == "barh":
                ax.barh(
                    positions + offset,
                    heights,
                    height=width,
                    left=bottom if stacked else None,
                    color=color(g),
                    label=_label_of(exhibit, df, series, g),
                )
            else:
                ax.bar(
                    positions + offset,
                    heights,
                    width=width,
                    bottom=bottom if stacked else None,
                    color=color(g),
                    label=_label_of(exhibit, df, series, g),
                )
            if stacked:
                bottom = bottom + heights
    else:  # grouped_bar: x groups, one bar per series
        width = 0.8 / max(len(groups), 1)
        for i, g in enumerate(groups):
            heights = table[g].to_numpy(dtype=float) if g in table.columns else np.full(len(xs), np.nan)
            ax.bar(
                positions + (i - (len(groups) - 1) / 2) * width,
                heights,
                width=width,
                color=color(g),
                label=_label_of(exhibit, df, series, g),
            )
    if kind == "barh":
        ax.set_yticks(positions, x_labels, fontsize=8)
        ax.invert_yaxis()
    else:
        # long category names wrap onto lines under few bars, and turn when there are many
        many = len(x_labels) > 8
        shown = x_labels if many else [textwrap.fill(label, 13) for label in x_labels]
        ax.set_xticks(
            positions, shown, fontsize=7 if many else 8, rotation=45 if many else 0, ha="right" if many else "center"
        )


def _layout_with_legend(fig, handles: list, names: list[str]):
    """One legend right of the panels, the panels laid out in what its measured width leaves (a fixed margin let
    long labels such as study B's income forms run over the last panel)."""
    right = 1.0
    legend = None
    if names:
        legend = fig.legend(handles, names, loc="center right", fontsize=8, frameon=False)
        # the width needs only the legend's own text laid out, not a draw of the whole figure (a third of the time)
        width = legend.get_window_extent(renderer=fig.canvas.get_renderer()).width
        right = 1.0 - width / fig.bbox.width - 0.01
    fig.tight_layout(rect=(0, 0, right, 0.93))
    return legend


def draw(df: pd.DataFrame, exhibit: Exhibit, out_dir: Path) -> list[Path]:
    """Draw the exhibit's figure into out_dir as <id>.svg and <id>.png; returns the files written."""
    spec = dict(exhibit.figure or {})
    if not spec:
        return []
    panels = spec.get("panels") or [{"title": "", "where": {}}]
    colors = _colors(df, exhibit, spec)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.5, 4.4), dpi=100, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        part = _filter(df, panel.get("where"))
        # a panel may draw its own measure (y, y_label, series): study A Figure 4.2's LEDNOR beside the rates
        panel_spec = {**spec, **{k: panel[k] for k in ("y", "y_label", "series") if k in panel}}
        _draw_panel(ax, part, exhibit, panel_spec, colors)
        ax.set_title(panel.get("title", ""), fontsize=10)
        horizontal = spec["kind"] == "barh"
        (ax.set_xlabel if horizontal else ax.set_ylabel)(panel_spec.get("y_label", panel_spec["y"]), fontsize=9)
        if spec["kind"] == "line":
            ax.set_xlabel(spec.get("x_label", spec["x"].replace("_", " ").capitalize()), fontsize=9)
        ax.grid(alpha=0.3, axis="x" if horizontal else "y")
        (ax.set_xlim if horizontal else ax.set_ylim)(0, None)  # values from zero, as the studies draw them
    handles, names = [], []  # one legend for all panels, each label once
    for ax in axes[0]:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            if name not in names:
                handles.append(handle)
                names.append(name)
    fig.suptitle(exhibit.heading, fontsize=10, wrap=True)
    _layout_with_legend(fig, handles, names)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in ("svg", "png"):
        path = out_dir / f"{exhibit.id}.{suffix}"
        fig.savefig(path, metadata={"Date": None} if suffix == "svg" else None)
        written.append(path)
    plt.close(fig)
    return written
