"""Charts shared by the UI's pages: one colour per category, the same in every chart."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b"]
OTHER = "#a0a4ab"  # the category outside the palette (e.g. "unclassified")
TEXT = "#31333f"


def category_bars(
    frame: pd.DataFrame,
    category: str,
    value: str,
    categories: Sequence[str],
    value_format: str = "d",
    value_max: float | None = None,
) -> alt.LayerChart:
    """Horizontal bars, largest first, each labelled with its value.

    ``categories`` fixes the colours (by position; anything else is grey), so a class keeps
    its colour whether it is the most frequent class or the least probable one.
    """
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(categories))]
    domain = list(categories) + sorted(set(frame[category]) - set(categories))
    top = value_max if value_max is not None else float(frame[value].max())
    x_scale = alt.Scale(domain=[0, top * 1.12], nice=False)  # room for the value labels
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{category}:N", sort="-x", title=None, axis=alt.Axis(labelFontSize=13)),
        x=alt.X(
            f"{value}:Q", title=None, scale=x_scale, axis=alt.Axis(format=value_format, tickCount=5)
        ),
        tooltip=[category, alt.Tooltip(value, format=value_format)],
    )
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        color=alt.Color(
            f"{category}:N",
            scale=alt.Scale(domain=domain, range=colours + [OTHER] * (len(domain) - len(colours))),
            legend=None,
        )
    )
    labels = base.mark_text(align="left", dx=4, color=TEXT).encode(
        text=alt.Text(f"{value}:Q", format=value_format)
    )
    return (bars + labels).properties(height=34 * len(frame) + 30)
