"""The figures of the studies, Exercise 2, Steps 6 to 10 (``ax=None`` in, axes out).

:func:`plot_sweep_curves` and :func:`plot_sweep_final` draw the tables of a study
(``SweepResult.table`` and ``SweepResult.runs``); :func:`plot_weight_histograms` the
weights of Step 9. The figures of the data and of one run are in :mod:`labcode.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from matplotlib.axes import Axes

from .notebook import sci
from . import _validate
from ._axes import new_axes, percent
from .plots import FIGURE_INCHES, TEXT_PT

__all__ = [
    "plot_sweep",
    "plot_train_val_curves",
    "plot_sweep_curves",
    "plot_sweep_final",
    "plot_weight_histograms",
]


_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v")


def _style(i: int, n_points: int) -> dict:
    """The line style of the ``i``-th curve: a dash pattern and a marker, a pair of its own
    for each of the first 20 curves, so that no two are told apart by colour alone."""
    return {"linestyle": _LINESTYLES[i % len(_LINESTYLES)],
            "marker": _MARKERS[i % len(_MARKERS)], "markersize": 4,
            "markevery": max(1, n_points // 8)}


_SCIENTIFIC = ("lr", "l1", "l2")
"""The settings the book's tables write in scientific notation, every value of them."""


def _number(value: float, param: str = "") -> str:
    """A value as the book's tables write it: a rate as ``1e-4`` or ``1e-1`` (never
    ``0.0001`` or ``1e-05``), any other number as ``32`` or ``0.5``."""
    if value != 0 and (param in _SCIENTIFIC or abs(value) < 1e-3):
        mantissa, exponent = sci(value, 6).split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"
    return f"{value:g}"


def _value_label(param: str, value: object) -> str:
    if isinstance(value, float):
        return f"{param}={_number(value, param)}"
    return f"{param}={value}"


def _check_sweep(values: object, accuracies: object, param: object) -> dict:
    values, accuracies = list(values), [float(a) for a in accuracies]
    if not values or len(values) != len(accuracies):
        raise ValueError(f"values and accuracies must be two lists of the same non-zero "
                         f"length, got {len(values)} and {len(accuracies)}")
    if not all(isinstance(v, str) for v in values):
        values = [_validate.real(v, f"values[{i}]") for i, v in enumerate(values)]
    return {"values": values, "accuracies": accuracies,
            "param": _validate.instance(param, str, "param")}


@_validate.checked(_check_sweep)
def plot_sweep(values: list, accuracies: list, param: str) -> Axes:
    """The validation accuracy of each value of a sweep (the handout's Steps 6 to 8).

    Numbers (learning rates, hidden sizes) are drawn as a line with markers, on a
    logarithmic x axis when they span a factor of 10 or more (base 2 for whole numbers);
    names (optimizers) as one horizontal bar each.

    Parameters
    ----------
    values : list of numbers, or list of str
        The values of the sweep, for example ``[1e-4, 1e-3, 1e-2]``.
    accuracies : list of float
        The validation accuracy of each value, in the same order.
    param : str
        The parameter's name, the label of its axis.

    Returns
    -------
    Axes
    """
    _, ax = plt.subplots(figsize=(FIGURE_INCHES, 3), layout="constrained")
    if all(isinstance(v, str) for v in values):
        ax.barh(values, accuracies)
        ax.set(xlabel="final validation accuracy", ylabel=param)
        percent(ax.xaxis)
    else:
        ax.plot(values, accuracies, marker="o")
        _log_axis_if_wide(ax.xaxis, values, param)
        ax.set(xlabel=param, ylabel="final validation accuracy")
        percent(ax.yaxis)
    ax.set_title(f"One run per value of {param}")
    return ax


def _log_axis_if_wide(axis, values: list, param: str) -> None:
    """A logarithmic axis when the values span a factor of 10 or more (base 2 for whole
    numbers), its ticks written as the values are."""
    if min(values) > 0 and max(values) / min(values) >= 10:
        whole = all(float(v).is_integer() for v in values)
        axis.axes.set_xscale("log", base=2 if whole else 10)
        axis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _: f"{v:g}" if whole else _number(v, param)))


def plot_sweep_curves(
    table: object,
    *,
    metric: str = "val_accuracy",
    labels: Mapping[object, str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Per-epoch curves of a study: the mean over seeds, with a band of +/- one std.

    Parameters
    ----------
    table : pandas.DataFrame
        The per-epoch table of a :class:`labcode.engine.sweep.SweepResult` (``result.table``),
        with columns ``param, value, seed, epoch`` and ``metric``.
    metric : str, default "val_accuracy"
        The column to draw, e.g. ``"train_loss"``.
    labels : mapping, optional
        The legend's name for each value (``param=value`` by default).
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        One line per value, in the order of the study.
    """
    import pandas as pd

    _validate.instance(table, pd.DataFrame, "table")
    needed = {"param", "value", "seed", "epoch", metric}
    if not needed <= set(table.columns):
        raise ValueError(
            f"table must have the columns {sorted(needed)}, got {list(table.columns)}"
        )
    if table.empty:
        raise ValueError("table has no rows")
    ax = new_axes(ax, (FIGURE_INCHES, 3.8))
    param = str(table["param"].iloc[0])
    for value, rows in table.groupby("value", sort=False):
        stats = rows.groupby("epoch")[metric].agg(["mean", "std", "count"])
        std = stats["std"].fillna(0.0)
        name = labels[value] if labels and value in labels else _value_label(param, value)
        line = ax.plot(stats.index, stats["mean"], label=name,
                       **_style(len(ax.lines), len(stats)))[0]
        ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std,
                        color=line.get_color(), alpha=0.2, linewidth=0)
    n_seeds = table.groupby("value", sort=False)["seed"].nunique().max()
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    if "accuracy" in metric:
        percent(ax.yaxis)
    ax.set_title(f"{metric.replace('_', ' ').capitalize()} per epoch,\nmean \u00b1 1 std over "
                 f"{n_seeds} seeds")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=TEXT_PT)  # clear of the curves
    ax.grid(alpha=0.3)
    return ax


def plot_sweep_final(
    runs: object,
    *,
    metric: str = "val_accuracy",
    logx: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Final score of each run against the studied value, with the mean and +/- one std.

    Parameters
    ----------
    runs : pandas.DataFrame
        The per-run table of a :class:`labcode.engine.sweep.SweepResult` (``result.runs``).
    metric : str, default "val_accuracy"
        The column to draw.
    logx : bool, optional
        Logarithmic value axis; by default on for a numeric study whose values span
        more than a factor of 20 (learning rates, hidden sizes).
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        Dots for single runs (crosses for diverged ones), a line through the means,
        error bars of one standard deviation. Categorical values (optimizer names)
        are spread evenly along the axis.
    """
    import pandas as pd

    _validate.instance(runs, pd.DataFrame, "runs")
    needed = {"param", "value", "seed", metric, "diverged"}
    if not needed <= set(runs.columns):
        raise ValueError(f"runs must have the columns {sorted(needed)}, got {list(runs.columns)}")
    if runs.empty:
        raise ValueError("runs has no rows")
    ax = new_axes(ax, (FIGURE_INCHES, 3.8))
    param = str(runs["param"].iloc[0])
    values = list(dict.fromkeys(runs["value"]))
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                  for v in values)
    positions = {v: (float(v) if numeric else float(k)) for k, v in enumerate(values)}
    if logx is None:
        logx = numeric and min(values) > 0 and max(values) / min(values) > 20
    x = runs["value"].map(positions).to_numpy(dtype=float)
    ok = ~runs["diverged"].to_numpy(dtype=bool)
    y = runs[metric].to_numpy(dtype=float)
    ax.scatter(x[ok], y[ok], s=14, color="0.5", label="one run", zorder=2)
    if (~ok).any():
        ax.scatter(x[~ok], y[~ok], s=30, marker="x", color="tab:red", label="diverged run",
                   zorder=3)
    stats = runs.groupby("value", sort=False)[metric].agg(["mean", "std"])
    xs = [positions[v] for v in stats.index]
    # a line through the means only where the values are ordered numbers
    ax.errorbar(xs, stats["mean"], yerr=stats["std"].fillna(0.0), marker="o", capsize=4,
                color="tab:blue", label="mean \u00b1 1 std", zorder=4,
                linestyle="-" if numeric else "none")
    if logx:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(xs)
    if numeric:
        ax.set_xticklabels([_number(float(v), param) for v in stats.index])
    else:
        ax.set_xticklabels([str(v) for v in stats.index], rotation=30, ha="right")
    ax.set_xlabel(param.replace("_", " ") + (" (log scale)" if logx else ""))
    ax.set_ylabel("final " + metric.replace("_", " "))
    if "accuracy" in metric:
        percent(ax.yaxis)
    ax.set_title(f"Final {metric.replace('_', ' ')} against {param.replace('_', ' ')}")
    ax.legend(fontsize=TEXT_PT)
    ax.grid(alpha=0.3)
    return ax


def plot_weight_histograms(
    weights: Mapping[str, object],
    *,
    near_zero: float | None = None,
    bins: int = 81,
    title: str = "Weights of the trained network",
    ax: Axes | None = None,
) -> Axes:
    """Histograms of the weights of several models, overlaid, on a logarithmic count axis.

    Parameters
    ----------
    weights : mapping of str to array_like
        A label and the weights of each model (any shape; flattened), for example
        :func:`labcode.engine.model_findings.weight_values` of each trained model.
    near_zero : float, optional
        Give each model's share of weights with ``|w| < near_zero`` in the legend (the
        interval is far narrower than one bin).
    bins : int, default 81
        Number of bins, shared by all models, symmetric about 0 (an odd number puts one
        bin around 0).
    title : str
        The axes' title.
    ax : Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Axes
        One step outline per model; the count axis is logarithmic so that both the
        peak at 0 and the tails are visible.
    """
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError("weights must be a non-empty mapping of label to weights")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    if near_zero is not None and not (isinstance(near_zero, (int, float)) and near_zero > 0):
        raise ValueError(f"near_zero must be a positive number or None, got {near_zero!r}")
    arrays = {}
    for label, values in weights.items():
        arr = np.asarray(values, dtype=np.float64).ravel()
        if arr.size == 0 or not np.isfinite(arr).all():
            raise ValueError(f"weights[{label!r}] must hold finite numbers, got {arr.size} values")
        arrays[str(label)] = arr
    limit = max(float(np.abs(a).max()) for a in arrays.values())
    edges = np.linspace(-limit, limit, bins + 1)
    ax = new_axes(ax, (FIGURE_INCHES, 3.8))
    for label, arr in arrays.items():
        text = label
        if near_zero is not None:
            text += f" ({np.mean(np.abs(arr) < near_zero):.1%} near zero)"
        ax.hist(arr, bins=edges, histtype="step", linewidth=1.6, label=text)
    ax.set_yscale("log")
    ax.set_xlabel("weight value")
    ax.set_ylabel("number of weights (log scale)")
    ax.set_title(title)
    ax.legend(fontsize=TEXT_PT)
    ax.grid(alpha=0.3)
    return ax


def plot_train_val_curves(tables: Mapping[str, object], *, title: str = "") -> np.ndarray:
    """Training and validation accuracy per epoch of several settings, side by side.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        For each setting's name, its per-epoch table (a
        :class:`labcode.engine.sweep.SweepResult`'s ``table``, restricted to one value),
        with columns ``seed``, ``epoch``, ``train_accuracy`` and ``val_accuracy``.
    title : str
        The figure's title.

    Returns
    -------
    ndarray of Axes
        Above the training accuracy, below the validation accuracy: one line per
        setting, the mean over seeds with a band of +/- one standard deviation, on a
        shared vertical axis.
    """
    import pandas as pd

    if not isinstance(tables, Mapping) or not tables:
        raise ValueError("tables must map at least one setting's name to its per-epoch table")
    # one above the other: side by side, a phone would show their text too small
    fig, axes = plt.subplots(2, 1, figsize=(FIGURE_INCHES, 5.6), layout="constrained", sharex=True,
                             sharey=True)
    for name, table in tables.items():
        if not isinstance(table, pd.DataFrame) or table.empty:
            raise ValueError(f"tables[{name!r}] must be a non-empty pandas DataFrame")
        for ax, metric in zip(axes, ("train_accuracy", "val_accuracy")):
            stats = table.groupby("epoch")[metric].agg(["mean", "std"])
            std = stats["std"].fillna(0.0)
            line = ax.plot(stats.index, stats["mean"], label=name,
                           **_style(list(tables).index(name), len(stats)))[0]
            ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std,
                            color=line.get_color(), alpha=0.2, linewidth=0)
    for ax, part in zip(axes, ("training", "validation")):
        ax.set_title(f"{part.capitalize()} accuracy")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
    axes[1].set_xlabel("epoch")
    for ax in axes:
        percent(ax.yaxis)
    axes[1].legend(fontsize=TEXT_PT)
    if title:
        fig.suptitle(title)
    return axes
