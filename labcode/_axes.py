"""Two helpers that :mod:`labcode.plots` and :mod:`labcode.study_plots` share."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter


def percent(axis, decimals: int | None = 0) -> None:
    """Accuracies and shares on an axis in percent, as the book writes them (``decimals=None``:
    as many as the ticks need, 12.5% rather than a rounded 12%)."""
    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new figure of ``figsize`` inches when it is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax
