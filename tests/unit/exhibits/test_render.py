"""models_py.exhibits.render: a line figure with a declared band shades each series' interval; a reference measure
is one more dashed line."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from models_py.exhibits.render import _draw_panel  # noqa: E402
from tests.helpers.exhibits import make_exhibit  # noqa: E402


def _panel(figure: dict):
    df = pd.DataFrame(
        {
            "x": [1, 2, 3, 1, 2, 3],
            "series": ["a", "a", "a", "b", "b", "b"],
            "estimate": [1.0, 2.0, 3.0, 2.0, 2.5, 3.5],
            "ci_low": [0.5, 1.5, 2.5, 1.5, 2.0, 3.0],
            "ci_high": [1.5, 2.5, 3.5, 2.5, 3.0, 4.0],
        }
    )
    exhibit = make_exhibit(id="b_fig_9", study="b", columns=list(df.columns), figure=figure)
    fig, ax = plt.subplots()
    _draw_panel(ax, df, exhibit, figure, {})
    plt.close(fig)
    return ax


def test_a_band_is_one_shaded_interval_per_series_in_its_line_colour():
    spec = {"kind": "line", "x": "x", "y": "estimate", "series": "series"}
    assert len(_panel(spec).collections) == 0
    ax = _panel({**spec, "band": ["ci_low", "ci_high"]})
    assert len(ax.collections) == 2 and len(ax.lines) == 2
    for line, band in zip(ax.lines, ax.collections):
        assert tuple(band.get_facecolor()[0][:3]) == matplotlib.colors.to_rgb(line.get_color())
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() >= 0.5 and ys.max() <= 4.0


def test_the_legend_sits_right_of_every_panel_however_long_its_labels():
    from models_py.exhibits.render import _layout_with_legend

    fig, axes = plt.subplots(1, 2, figsize=(5.2 * 2 + 1.5, 4.4), dpi=100)
    for ax in axes:
        ax.plot([0, 100], [1, 2], label="Income groups (main model)")
        ax.plot([0, 100], [2, 3], label="Percentile spline (sensitivity run), a label longer than the old margin")
    handles, names = axes[0].get_legend_handles_labels()
    legend = _layout_with_legend(fig, handles, names)
    fig.canvas.draw()
    assert legend.get_window_extent().x0 >= max(ax.get_window_extent().x1 for ax in axes)
    plt.close(fig)


def test_a_reference_measure_is_one_dashed_line_with_one_point_per_x():
    spec = {"kind": "line", "x": "x", "y": "estimate", "series": "series", "reference": "ci_high"}
    ax = _panel({**spec, "reference_label": "Actual"})
    assert len(ax.lines) == 3
    reference = ax.lines[-1]
    assert reference.get_label() == "Actual" and reference.get_linestyle() == "--"
    assert list(reference.get_xdata()) == [1.0, 2.0, 3.0] and list(reference.get_ydata()) == [1.5, 2.5, 3.5]
