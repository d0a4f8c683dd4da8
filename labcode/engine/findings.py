"""What the chapter on Steps 6 to 8 states, computed from the studies' results.

Each ``*_findings`` function reads one study's results and returns a dict: the numbers
the chapter's prose quotes, and under ``"claims"`` one boolean per sentence that states
a comparison. :func:`check_claims` raises when one of them is false, so a chapter whose
results changed cannot keep prose that no longer describes them. The yardsticks the
claims use (:data:`TIE_MARGIN`, :data:`CHANCE_ACCURACY`, ...) are defined here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import _validate
from ..data import NUM_CLASSES
from .sweep import SweepResult

__all__ = [
    "CHANCE_ACCURACY",
    "LEARNED_SHARE",
    "TIE_MARGIN",
    "tied",
    "exceeds",
    "check_study",
    "REACH_LEVEL",
    "LATE_EPOCHS",
    "UNSTABLE_FACTOR",
    "FITS_TRAINING_SET",
    "RUNNING_AVERAGE_OPTIMIZERS",
    "learned_threshold",
    "mean_curves",
    "epochs_to_reach",
    "late_fluctuation",
    "learning_rate_findings",
    "hidden_size_findings",
    "optimizer_findings",
    "check_claims",
]


CHANCE_ACCURACY: float = 1 / NUM_CLASSES
"""Accuracy of guessing one class for every image (the ten classes are balanced)."""

LEARNED_SHARE: float = 0.5
"""A setting *has learned the task* when its mean final validation accuracy covers at
least this share of the way from :data:`CHANCE_ACCURACY` to the accuracy of the Step 3
configuration in the same study (see :func:`learned_threshold`): it gets most of what
the Step 3 model gets beyond guessing."""

TIE_MARGIN: float = 0.01
"""Mean final validation accuracies closer than this (one percentage point, 3.6 of the
360 validation images) count as *tied*; a gap larger than this counts as a difference.
Each findings function also checks that the margin exceeds the spread over seeds of the
best settings (claim ``margin_exceeds_noise``), so that a "difference" is not noise.

Every comparison of two accuracies goes through :func:`tied` and :func:`exceeds`, which
apply this margin the same way everywhere: a gap of at most the margin is a tie, a larger
one a difference, and nothing is neither."""

REACH_LEVEL: float = 0.95
"""The validation accuracy whose first epoch the chapter compares (:func:`epochs_to_reach`):
a little below what the Step 3 configuration ends with."""

LATE_EPOCHS: int = 10
"""The last epochs of a run, over which "still improving" and "unstable" are judged."""

UNSTABLE_FACTOR: float = 3.0
"""A learning rate is called *unstable* when its validation accuracy jumps from epoch to
epoch, over the last :data:`LATE_EPOCHS` epochs, more than this many times as much as
at the Step 3 learning rate (see :func:`late_fluctuation`)."""


_ROUNDING = 1e-9
"""Accuracies are counts over a few hundred images: two different gaps differ by far more
than this, while a gap of exactly one margin computed in floating point can land a few
units of the last place above it (``0.97 - 0.96 > 0.01``)."""


def tied(a: float, b: float) -> bool:
    """True when accuracies ``a`` and ``b`` are at most :data:`TIE_MARGIN` apart: a tie."""
    return abs(a - b) <= TIE_MARGIN + _ROUNDING


def exceeds(a: float, b: float) -> bool:
    """True when accuracy ``a`` is more than :data:`TIE_MARGIN` above ``b``: a difference.

    For any two accuracies exactly one of ``tied(a, b)``, ``exceeds(a, b)`` and
    ``exceeds(b, a)`` holds.
    """
    return a - b > TIE_MARGIN + _ROUNDING


def check_study(result: object, param: str, needed: Sequence[Any] = ()) -> SweepResult:
    """``result``, if it is a study over ``param`` that ran every value of ``needed``.

    What each findings function asks of the study it reads, before reading it.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`~labcode.engine.sweep.SweepResult`.
    ValueError
        If it varied another field than ``param``, or lacks a value of ``needed`` (the
        message names the missing values).
    """
    _validate.instance(result, SweepResult, "result")
    if result.param != param:
        raise ValueError(f"result must be a study over {param!r}, got one over {result.param!r}")
    present = set(result.runs["value"])
    missing = [v for v in needed if v not in present]
    if missing:
        raise ValueError(
            f"the study over {param} must include the values {list(needed)}; "
            f"{missing} are missing from {list(result.values)}"
        )
    return result


def learned_threshold(reference_accuracy: float) -> float:
    """The accuracy above which a setting counts as having learned the task.

    ``CHANCE_ACCURACY + LEARNED_SHARE * (reference_accuracy - CHANCE_ACCURACY)``.

    Parameters
    ----------
    reference_accuracy : float
        Mean final validation accuracy of the Step 3 configuration, in [0, 1].

    Returns
    -------
    float
    """
    if isinstance(reference_accuracy, bool) or not isinstance(
        reference_accuracy, (int, float, np.floating)
    ):
        raise TypeError(
            f"reference_accuracy must be a float, got {type(reference_accuracy).__name__}"
        )
    if not 0.0 <= reference_accuracy <= 1.0:
        raise ValueError(f"reference_accuracy must lie in [0, 1], got {reference_accuracy}")
    return CHANCE_ACCURACY + LEARNED_SHARE * (float(reference_accuracy) - CHANCE_ACCURACY)


def mean_curves(result: SweepResult, metric: str = "val_accuracy") -> pd.DataFrame:
    """The mean over seeds of a per-epoch metric, one column per value.

    Parameters
    ----------
    result : SweepResult
        A study.
    metric : str, default "val_accuracy"
        A per-epoch column of ``result.table`` (``"train_accuracy"``, ``"val_loss"``, ...).

    Returns
    -------
    pandas.DataFrame
        Indexed by epoch (from 1), columns in the study's order. A diverged run counts
        only in the epochs it completed.
    """
    _validate.instance(result, SweepResult, "result")
    if metric not in result.table.columns or metric in ("param", "value", "seed", "epoch"):
        raise ValueError(f"metric must be a per-epoch column of the table, got {metric!r}")
    curves = result.table.groupby(["epoch", "value"], sort=False)[metric].mean().unstack("value")
    order = [v for v in dict.fromkeys(result.runs["value"]) if v in curves.columns]
    return curves.sort_index()[order]


def epochs_to_reach(
    result: SweepResult, level: float = REACH_LEVEL, metric: str = "val_accuracy"
) -> dict[Any, int | None]:
    """The first epoch at which each value's mean curve reaches ``level``.

    Parameters
    ----------
    result : SweepResult
        A study.
    level : float, default :data:`REACH_LEVEL`
        The level to reach (``>=``).
    metric : str, default "val_accuracy"
        The per-epoch column whose mean over seeds is compared.

    Returns
    -------
    dict
        Value to epoch (counting from 1), or ``None`` if the mean curve never reaches
        ``level``; in the study's order.
    """
    curves = mean_curves(result, metric)
    out: dict[Any, int | None] = {}
    for value in curves.columns:
        reached = curves.index[curves[value].to_numpy() >= level]
        out[value] = int(reached[0]) if len(reached) else None
    return out


def late_fluctuation(result: SweepResult, last: int = LATE_EPOCHS) -> pd.Series:
    """How much validation accuracy jumps between epochs late in training.

    For each run, the mean absolute difference of validation accuracy between
    consecutive epochs over its last ``last`` epochs; then the mean over seeds. A run
    that settles has a value near the granularity of the accuracy (1/360); one whose
    steps are too large keeps jumping.

    Parameters
    ----------
    result : SweepResult
        A study.
    last : int, default :data:`LATE_EPOCHS`
        Number of final epochs looked at (``last`` differences, or fewer for a short run).

    Returns
    -------
    pandas.Series
        Indexed by value, in the study's order.
    """
    _validate.instance(result, SweepResult, "result")
    last = _validate.integer(last, "last")
    table = result.table.sort_values(["value", "seed", "epoch"], kind="stable")

    def jumps(acc: pd.Series) -> float:
        steps = np.abs(np.diff(acc.to_numpy(dtype=float)[-(last + 1):]))
        return float(steps.mean()) if steps.size else 0.0

    per_run = table.groupby(["value", "seed"], sort=False)["val_accuracy"].apply(jumps)
    per_value = per_run.groupby(level="value").mean()
    order = [v for v in dict.fromkeys(result.runs["value"]) if v in per_value.index]
    return per_value[order]


def _ranked(summary: pd.DataFrame) -> list:
    return list(summary["val_mean"].sort_values(ascending=False, kind="stable").index)


def _gain_over_last(curves: pd.DataFrame, value: Any, last: int) -> float:
    curve = curves[value].dropna()
    return float(curve.iloc[-1] - curve.iloc[max(0, len(curve) - 1 - last)])


def learning_rate_findings(result: SweepResult) -> dict[str, Any]:
    """What the learning-rate study (Step 6) shows, and the claims the chapter makes.

    The *reference* is the Step 3 learning rate, ``result.base.lr``; the study must
    also hold at least one smaller and one larger rate.

    Parameters
    ----------
    result : SweepResult
        The study over ``lr`` (:func:`~labcode.engine.studies.run_study` ``("learning_rate")``).

    Returns
    -------
    dict
        Numbers: ``reference``, ``summary`` (the table of
        :meth:`~labcode.engine.sweep.SweepResult.summary`),
        ``ranking`` (values by mean final validation accuracy, best first), ``best``,
        ``second``, ``top_two_gap``, ``learned_threshold``, ``smallest``, ``largest``,
        ``mean`` and ``std`` (dicts by value), ``late_gain`` (gain of the mean curve over
        the last :data:`LATE_EPOCHS` epochs, by value), ``fluctuation`` (by value),
        ``fluctuation_ratio`` (largest over reference), ``largest_val_loss_min``,
        ``largest_val_loss_min_epoch``, ``largest_val_loss_final``,
        ``epochs_to_reach`` (of :data:`REACH_LEVEL`, by value), ``fastest`` (the value
        that reaches it first) and ``claims``, a dict of booleans:

        ``smallest_not_learned``
            The smallest rate has not learned the task (:func:`learned_threshold`).
        ``other_smaller_learned``
            There is a rate between the smallest and the reference, and every such rate
            has learned the task.
        ``smaller_still_improving``
            Every rate below the reference gains more than :data:`TIE_MARGIN` over the
            last :data:`LATE_EPOCHS` epochs: slow, not stuck.
        ``smaller_never_reach``
            No rate below the reference reaches :data:`REACH_LEVEL`.
        ``largest_worse``
            The largest rate ends more than :data:`TIE_MARGIN` below the reference.
        ``largest_unstable``
            Its late fluctuation exceeds :data:`UNSTABLE_FACTOR` times the reference's.
        ``largest_val_loss_rises``
            Its mean validation loss ends more than 1.5 times its lowest value.
        ``best_is_interior``
            Both the smallest and the largest rate end more than :data:`TIE_MARGIN`
            below the best.
        ``top_two_tied``
            The two best rates end at most :data:`TIE_MARGIN` apart.
        ``reference_in_top_two``
            The reference is one of the two best rates.
        ``larger_reaches_faster``
            The reference reaches :data:`REACH_LEVEL`, and the rate that reaches it in
            the fewest epochs is one of the two best and larger than the reference.
        ``none_diverged``
            No run of the study diverged.
        ``margin_exceeds_noise``
            The standard deviation over seeds of each of the two best rates is below
            :data:`TIE_MARGIN`.
    """
    ref_needed = (result.base.lr,) if isinstance(result, SweepResult) else ()
    result = check_study(result, "lr", ref_needed)
    ref = result.base.lr
    values = sorted(set(result.runs["value"]))
    smaller = [v for v in values if v < ref]
    larger = [v for v in values if v > ref]
    if not smaller or not larger:
        raise ValueError(
            f"the study over lr must hold rates below and above the reference {ref:g}, "
            f"got {list(result.values)}"
        )
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    ranking = _ranked(summary)
    best, second = ranking[0], ranking[1]
    smallest, largest = values[0], values[-1]
    threshold = learned_threshold(mean[ref])
    curves = mean_curves(result)
    late_gain = {v: _gain_over_last(curves, v, LATE_EPOCHS) for v in curves.columns}
    fluctuation = late_fluctuation(result)
    ratio = float(fluctuation[largest] / fluctuation[ref]) if fluctuation[ref] > 0 else float("inf")
    val_loss = mean_curves(result, "val_loss")[largest].dropna()
    reach = epochs_to_reach(result, REACH_LEVEL)
    reached = {v: e for v, e in reach.items() if e is not None}
    fastest = min(reached, key=lambda v: (reached[v], v)) if reached else None
    claims = {
        "smallest_not_learned": mean[smallest] < threshold,
        "other_smaller_learned": len(smaller) > 1
        and all(mean[v] >= threshold for v in smaller[1:]),
        "smaller_still_improving": all(exceeds(late_gain[v], 0.0) for v in smaller),
        "smaller_never_reach": all(reach[v] is None for v in smaller),
        "largest_worse": exceeds(mean[ref], mean[largest]),
        "largest_unstable": ratio > UNSTABLE_FACTOR,
        "largest_val_loss_rises": bool(val_loss.iloc[-1] > 1.5 * val_loss.min()),
        "best_is_interior": exceeds(mean[best], mean[smallest]) and exceeds(mean[best], mean[largest]),
        "top_two_tied": tied(mean[best], mean[second]),
        "reference_in_top_two": ref in (best, second),
        "larger_reaches_faster": reach[ref] is not None and fastest in (best, second)
        and fastest > ref,
        "none_diverged": not result.runs["diverged"].any(),
        "margin_exceeds_noise": max(std[best], std[second]) < TIE_MARGIN,
    }
    return {
        "reference": ref,
        "summary": summary,
        "ranking": ranking,
        "best": best,
        "second": second,
        "top_two_gap": mean[best] - mean[second],
        "learned_threshold": threshold,
        "smallest": smallest,
        "largest": largest,
        "mean": mean,
        "std": std,
        "late_gain": late_gain,
        "fluctuation": fluctuation.to_dict(),
        "fluctuation_ratio": ratio,
        "largest_val_loss_min": float(val_loss.min()),
        "largest_val_loss_min_epoch": int(val_loss.idxmin()),
        "largest_val_loss_final": float(val_loss.iloc[-1]),
        "epochs_to_reach": reach,
        "fastest": fastest,
        "claims": {k: bool(v) for k, v in claims.items()},
    }


FITS_TRAINING_SET: float = 0.99
"""Final training accuracy above which a network is said to fit the training set."""


def hidden_size_findings(result: SweepResult) -> dict[str, Any]:
    """What the hidden-size study (Step 7) shows, and the claims the chapter makes.

    The *reference* is the Step 3 width, ``result.base.hidden_size``. The *saturation
    width* is the smallest width whose mean final validation accuracy is within
    :data:`TIE_MARGIN` of the best.

    Parameters
    ----------
    result : SweepResult
        The study over ``hidden_size`` (:func:`~labcode.engine.studies.run_study` ``("hidden_size")``).

    Returns
    -------
    dict
        Numbers: ``reference``, ``summary``, ``ranking``, ``best``, ``mean``, ``std``,
        ``smallest``, ``widest``, ``saturation``, ``smallest_gap`` (best minus smallest
        width), ``spread_beyond_saturation`` (best minus the worst width from the
        saturation width on), ``train_accuracy`` (mean final training accuracy, by width),
        ``epochs_to_reach`` (of :data:`REACH_LEVEL`) and ``claims``:

        ``smallest_underfits``
            The smallest width ends more than :data:`TIE_MARGIN` below the best.
        ``smallest_lowest_train``
            The smallest width has the lowest final training accuracy of all widths.
        ``flat_beyond_saturation``
            Every width from the saturation width on, the widest included, ends within
            :data:`TIE_MARGIN` of the best, and the saturation width is not the widest.
        ``widest_fits_training_set``
            The widest network's final training accuracy is above
            :data:`FITS_TRAINING_SET`.
        ``wider_learns_faster``
            The widest network reaches :data:`REACH_LEVEL` in at most half the epochs
            the reference width needs (which reaches it).
        ``widest_fastest``
            No width reaches :data:`REACH_LEVEL` in fewer epochs than the widest.
        ``margin_exceeds_noise``
            The standard deviation over seeds of every width from the saturation width
            on is below :data:`TIE_MARGIN`.
    """
    ref_needed = (result.base.hidden_size,) if isinstance(result, SweepResult) else ()
    result = check_study(result, "hidden_size", ref_needed)
    ref = result.base.hidden_size
    widths = sorted(set(result.runs["value"]))
    if len(widths) < 2:
        raise ValueError(f"the study over hidden_size must hold at least two widths, got {widths}")
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    ranking = _ranked(summary)
    best = ranking[0]
    smallest, widest = widths[0], widths[-1]
    saturation = next(w for w in widths if tied(mean[best], mean[w]))
    beyond = [w for w in widths if w >= saturation]
    train_acc = mean_curves(result, "train_accuracy").ffill().iloc[-1].to_dict()
    reach = epochs_to_reach(result, REACH_LEVEL)
    claims = {
        "smallest_underfits": exceeds(mean[best], mean[smallest]),
        "smallest_lowest_train": all(train_acc[smallest] < train_acc[w] for w in widths[1:]),
        "flat_beyond_saturation": saturation < widest
        and all(tied(mean[best], mean[w]) for w in beyond),
        "widest_fits_training_set": train_acc[widest] > FITS_TRAINING_SET,
        "wider_learns_faster": reach[ref] is not None and reach[widest] is not None
        and reach[widest] <= reach[ref] / 2,
        "widest_fastest": reach[widest] is not None
        and all(e is None or reach[widest] <= e for e in reach.values()),
        "margin_exceeds_noise": all(std[w] < TIE_MARGIN for w in beyond),
    }
    return {
        "reference": ref,
        "summary": summary,
        "ranking": ranking,
        "best": best,
        "mean": mean,
        "std": std,
        "smallest": smallest,
        "widest": widest,
        "saturation": saturation,
        "smallest_gap": mean[best] - mean[smallest],
        "spread_beyond_saturation": mean[best] - min(mean[w] for w in beyond),
        "train_accuracy": train_acc,
        "epochs_to_reach": reach,
        "claims": {k: bool(v) for k, v in claims.items()},
    }


RUNNING_AVERAGE_OPTIMIZERS = ("rmsprop", "adam", "adamw", "nadam")
"""The optimizers of :data:`~labcode.training.OPTIMIZERS` that divide each step by a
running (exponentially decaying) average of squared gradients."""


def optimizer_findings(result: SweepResult) -> dict[str, Any]:
    """What the optimizer study (Step 8) shows, and the claims the chapter makes.

    All optimizers run at the Step 3 learning rate. The *reference* is the Step 3
    optimizer, ``result.base.optimizer``; the study must hold ``sgd``,
    ``sgd_momentum``, ``adagrad``, ``adadelta`` and every name of
    :data:`RUNNING_AVERAGE_OPTIMIZERS`.

    Parameters
    ----------
    result : SweepResult
        The study over ``optimizer`` (:func:`~labcode.engine.studies.run_study` ``("optimizer")``).

    Returns
    -------
    dict
        Numbers: ``reference``, ``summary``, ``ranking`` (best first), ``best``,
        ``mean``, ``std``, ``top`` (the optimizers within :data:`TIE_MARGIN` of the
        best, in ranking order), ``learned_threshold``, ``first_epoch`` (mean
        validation accuracy after one epoch, by optimizer), ``epochs_to_reach`` (of
        :data:`REACH_LEVEL`) and ``claims``:

        ``running_average_on_top``
            ``top`` is exactly :data:`RUNNING_AVERAGE_OPTIMIZERS`.
        ``sgd_not_learned``
            Plain SGD has not learned the task (:func:`learned_threshold`).
        ``sgd_lags_adaptive``
            Plain SGD ends more than :data:`TIE_MARGIN` below AdaGrad and every
            optimizer of :data:`RUNNING_AVERAGE_OPTIMIZERS`.
        ``momentum_helps``
            SGD with momentum has learned the task and ends more than
            :data:`TIE_MARGIN` above plain SGD.
        ``momentum_lags_top``
            ... but more than :data:`TIE_MARGIN` below the best.
        ``adagrad_learns_slowly``
            AdaGrad has learned the task but ends more than :data:`TIE_MARGIN` below
            the best.
        ``adadelta_not_learned``
            Adadelta has not learned the task.
        ``adadelta_at_chance``
            Adadelta ends at most :data:`TIE_MARGIN` above :data:`CHANCE_ACCURACY`.
        ``adamw_matches_adam``
            AdamW and Adam end at most :data:`TIE_MARGIN` apart.
        ``rmsprop_starts_faster``
            After the first epoch, RMSProp's mean validation accuracy is more than
            :data:`TIE_MARGIN` above Adam's.
        ``margin_exceeds_noise``
            The standard deviation over seeds of every optimizer in ``top`` is below
            :data:`TIE_MARGIN`.
    """
    names = ("sgd", "sgd_momentum", "adagrad", "adadelta", *RUNNING_AVERAGE_OPTIMIZERS)
    result = check_study(result, "optimizer", names)
    ref = result.base.optimizer
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    ranking = _ranked(summary)
    best = ranking[0]
    top = [v for v in ranking if tied(mean[best], mean[v])]
    threshold = learned_threshold(mean[ref]) if ref in mean else learned_threshold(mean[best])
    first = mean_curves(result).iloc[0].to_dict()
    claims = {
        "running_average_on_top": set(top) == set(RUNNING_AVERAGE_OPTIMIZERS),
        "sgd_not_learned": mean["sgd"] < threshold,
        "sgd_lags_adaptive": all(
            exceeds(mean[v], mean["sgd"]) for v in ("adagrad", *RUNNING_AVERAGE_OPTIMIZERS)
        ),
        "momentum_helps": mean["sgd_momentum"] >= threshold
        and exceeds(mean["sgd_momentum"], mean["sgd"]),
        "momentum_lags_top": exceeds(mean[best], mean["sgd_momentum"]),
        "adagrad_learns_slowly": mean["adagrad"] >= threshold
        and exceeds(mean[best], mean["adagrad"]),
        "adadelta_not_learned": mean["adadelta"] < threshold,
        "adadelta_at_chance": not exceeds(mean["adadelta"], CHANCE_ACCURACY),
        "adamw_matches_adam": tied(mean["adamw"], mean["adam"]),
        "rmsprop_starts_faster": exceeds(first["rmsprop"], first["adam"]),
        "margin_exceeds_noise": all(std[v] < TIE_MARGIN for v in top),
    }
    return {
        "reference": ref,
        "summary": summary,
        "ranking": ranking,
        "best": best,
        "mean": mean,
        "std": std,
        "top": top,
        "learned_threshold": threshold,
        "first_epoch": first,
        "epochs_to_reach": epochs_to_reach(result, REACH_LEVEL),
        "claims": {k: bool(v) for k, v in claims.items()},
    }


def check_claims(findings: dict[str, Any], study: str = "study") -> None:
    """Raise if any claim of a findings dict is false.

    Parameters
    ----------
    findings : dict
        Returned by :func:`learning_rate_findings`, :func:`hidden_size_findings` or
        :func:`optimizer_findings`.
    study : str
        Named in the message.

    Raises
    ------
    ValueError
        Naming every false claim: the prose that states it no longer describes the
        results and must be revised.
    """
    if not isinstance(findings, dict) or not isinstance(findings.get("claims"), dict):
        raise TypeError(
            "findings must be a dict with a 'claims' dict, as the *_findings functions return"
        )
    false = [name for name, holds in findings["claims"].items() if not holds]
    if false:
        raise ValueError(
            f"the {study} results no longer support these claims: {', '.join(false)}; "
            f"revise the text that states them"
        )
