"""Figures for the report (matplotlib, no display needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def line_figure(df: pd.DataFrame, x: str, y: str, series: list[str], title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    for key, part in df.sort_values(x).groupby(series, sort=True):
        label = " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        ax.plot(part[x], part[y].astype(float), marker=".", label=label)
    ax.set_title(title)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
