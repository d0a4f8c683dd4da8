"""The studies of Exercise 2, Steps 6 to 10, as the book runs them.

Each study is a :func:`labcode.sweep.sweep` of one field of the Step 3 configuration
over the values the handout asks for, at several seeds. The chapters and the tests call
the same :func:`run_study`, with the same run cache, so the claims a chapter makes are
checked by the tests on exactly the results the chapter shows.

Where finished runs are kept: :func:`run_cache_dir` returns the folder named by the
environment variable ``LABCODE_RUN_CACHE`` when it is set, and otherwise the default the
caller gives (the chapters use ``_build/.labcode_runs`` of the repository, which
``make clean`` removes).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import Executor
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .data import NUM_CLASSES
from .sweep import SerialExecutor, SweepResult, load_run, sweep, train_runs
from .training import (
    OPTIMIZERS,
    ExperimentResult,
    TrainConfig,
    penalized_parameters,
    run_experiment,
)

__all__ = [
    "RUN_CACHE_ENV",
    "SEEDS",
    "Study",
    "STUDIES",
    "run_cache_dir",
    "run_study",
    "ALL_STUDIES",
    "study_configs",
    "prepare_studies",
    "CHANCE_ACCURACY",
    "LEARNED_SHARE",
    "TIE_MARGIN",
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
    "PENALTY_STRENGTH",
    "NEAR_ZERO",
    "REGULARIZERS",
    "penalty_config",
    "setting_label",
    "RegularizationStudy",
    "regularization_configs",
    "run_regularization_study",
    "weight_values",
    "near_zero_share",
    "train_models",
    "regularization_findings",
    "MODEL_STUDY_VALUES",
    "run_model_study",
    "mode_behaviour",
    "BATCH_INDEPENDENT",
    "complex_findings",
    "describe_config",
    "best_configuration",
]

RUN_CACHE_ENV = "LABCODE_RUN_CACHE"
"""Environment variable that, when set, names the folder of the studies' run cache."""

SEEDS = (0, 1, 2)
"""The seeds every study trains each value with."""


@dataclass(frozen=True)
class Study:
    """One study of the lab: a field of the Step 3 configuration and its values.

    Attributes
    ----------
    step : int
        The handout's step number.
    param : str
        The :class:`~labcode.training.TrainConfig` field that varies.
    values : tuple
        Its values, in the order the book shows them.
    title : str
        A short heading.
    """

    step: int
    param: str
    values: tuple
    title: str


STUDIES: dict[str, Study] = {
    "learning_rate": Study(6, "lr", (1e-1, 1e-2, 1e-3, 1e-4, 1e-5), "Learning rate"),
    "hidden_size": Study(7, "hidden_size", (16, 32, 64, 128, 256, 512), "Hidden size"),
    "optimizer": Study(8, "optimizer", tuple(OPTIMIZERS), "Optimizer"),
}
"""The one-parameter studies of Steps 6 to 8, keyed by name; every other field keeps
its Step 3 value (``TrainConfig()``)."""


def run_cache_dir(default: str | os.PathLike | None = None) -> Path | None:
    """The folder for finished runs: ``$LABCODE_RUN_CACHE`` if set, else ``default``.

    Parameters
    ----------
    default : path, optional
        Used when the environment variable is not set; ``None`` means no cache.

    Returns
    -------
    Path or None
    """
    env = os.environ.get(RUN_CACHE_ENV)
    if env:
        return Path(env)
    return Path(default) if default is not None else None


def run_study(
    name: str,
    *,
    base: TrainConfig | None = None,
    seeds: Sequence[int] = SEEDS,
    cache_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    **sweep_kwargs: Any,
) -> SweepResult:
    """Run the study ``name`` of :data:`STUDIES` (see :func:`labcode.sweep.sweep`).

    Parameters
    ----------
    name : str
        A key of :data:`STUDIES`.
    base : TrainConfig, optional
        The fixed settings; the Step 3 configuration by default.
    seeds : sequence of int, default :data:`SEEDS`
        The seeds of each value.
    cache_dir, executor, progress
        Passed to :func:`~labcode.sweep.sweep`.
    **sweep_kwargs
        Any other argument of :func:`~labcode.sweep.sweep` (``split``).

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`STUDIES` (the message lists them).
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; valid names are {sorted(STUDIES)}")
    study = STUDIES[name]
    return sweep(
        base if base is not None else TrainConfig(),
        study.param,
        study.values,
        seeds=seeds,
        cache_dir=cache_dir,
        executor=executor,
        progress=progress,
        **sweep_kwargs,
    )


ALL_STUDIES = (*STUDIES, "regularization", "model")
"""The names of every study of Steps 6 to 10, for :func:`study_configs` and
:func:`prepare_studies`. They are those of :data:`STUDIES`, then Step 9's
(:func:`run_regularization_study`) and Step 10's (:func:`run_model_study`)."""


def study_configs(
    name: str, *, base: TrainConfig | None = None, seeds: Sequence[int] = SEEDS
) -> list[TrainConfig]:
    """Every run of the study ``name``: one :class:`~labcode.training.TrainConfig` per setting and seed.

    Parameters
    ----------
    name : str
        One of :data:`ALL_STUDIES`.
    base : TrainConfig, optional
        The fixed settings; the Step 3 configuration by default.
    seeds : sequence of int, default :data:`SEEDS`

    Returns
    -------
    list of TrainConfig
        The runs the study trains (with :data:`PENALTY_STRENGTH` and both choices of
        penalized parameters for ``"regularization"``).
    """
    if name not in ALL_STUDIES:
        raise ValueError(f"unknown study {name!r}; valid names are {list(ALL_STUDIES)}")
    base = base if base is not None else TrainConfig()
    if name == "regularization":
        return regularization_configs(base=base, seeds=seeds)
    if name == "model":
        param, values = "model", MODEL_STUDY_VALUES
    else:
        param, values = STUDIES[name].param, STUDIES[name].values
    return [dataclasses.replace(base, **{param: value}, seed=seed)
            for value in values for seed in seeds]  # fmt: skip


def prepare_studies(
    names: Sequence[str] = ALL_STUDIES,
    *,
    cache_dir: str | os.PathLike,
    base: TrainConfig | None = None,
    seeds: Sequence[int] = SEEDS,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> list[TrainConfig]:
    """Train the runs of several studies together, into the run cache.

    :func:`run_study`, :func:`run_regularization_study` and :func:`run_model_study` then
    read their runs from ``cache_dir``. Putting every run on the executor at once keeps
    all workers busy until the last run; one study after the other, a worker would wait
    at the end of each study.

    Parameters
    ----------
    names : sequence of str, default :data:`ALL_STUDIES`
    cache_dir : path
        The run cache.
    base, seeds
        As for :func:`run_study`.
    executor, progress
        As for :func:`labcode.sweep.sweep`.

    Returns
    -------
    list of TrainConfig
        The runs that were trained (the others were in the cache already).
    """
    if isinstance(names, str):
        raise TypeError(f"names must be a sequence of study names, got the string {names!r}")
    configs = [c for name in names for c in study_configs(name, base=base, seeds=seeds)]
    return train_runs(configs, cache_dir=cache_dir, executor=executor, progress=progress)


# --- Findings of Steps 6 to 8: the numbers and claims the chapter states -------------
#
# Each *_findings function reads one study's results and returns a dict: the numbers
# the chapter's prose quotes, and under "claims" one boolean per sentence that states a
# comparison. check_claims raises when one of them is false, so a chapter whose results
# changed cannot keep prose that no longer describes them.

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
best settings (claim ``margin_exceeds_noise``), so that a "difference" is not noise."""

REACH_LEVEL: float = 0.95
"""The validation accuracy whose first epoch the chapter compares (:func:`epochs_to_reach`):
a little below what the Step 3 configuration ends with."""

LATE_EPOCHS: int = 10
"""The last epochs of a run, over which "still improving" and "unstable" are judged."""

UNSTABLE_FACTOR: float = 3.0
"""A learning rate is called *unstable* when its validation accuracy jumps from epoch to
epoch, over the last :data:`LATE_EPOCHS` epochs, more than this many times as much as
at the Step 3 learning rate (see :func:`late_fluctuation`)."""


def _check_result(result: object, param: str, needed: Sequence[Any] = ()) -> SweepResult:
    if not isinstance(result, SweepResult):
        raise TypeError(f"result must be a labcode.sweep.SweepResult, got {type(result).__name__}")
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
    if not isinstance(result, SweepResult):
        raise TypeError(f"result must be a labcode.sweep.SweepResult, got {type(result).__name__}")
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
    if not isinstance(result, SweepResult):
        raise TypeError(f"result must be a labcode.sweep.SweepResult, got {type(result).__name__}")
    if isinstance(last, bool) or not isinstance(last, (int, np.integer)) or last < 1:
        raise ValueError(f"last must be a positive int, got {last!r}")
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
        The study over ``lr`` (:func:`run_study` ``("learning_rate")``).

    Returns
    -------
    dict
        Numbers: ``reference``, ``summary`` (the table of
        :meth:`~labcode.sweep.SweepResult.summary`),
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
            The two best rates end less than :data:`TIE_MARGIN` apart.
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
    result = _check_result(result, "lr", ref_needed)
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
        "smaller_still_improving": all(late_gain[v] > TIE_MARGIN for v in smaller),
        "smaller_never_reach": all(reach[v] is None for v in smaller),
        "largest_worse": mean[ref] - mean[largest] > TIE_MARGIN,
        "largest_unstable": ratio > UNSTABLE_FACTOR,
        "largest_val_loss_rises": bool(val_loss.iloc[-1] > 1.5 * val_loss.min()),
        "best_is_interior": (mean[best] - mean[smallest] > TIE_MARGIN
                             and mean[best] - mean[largest] > TIE_MARGIN),
        "top_two_tied": mean[best] - mean[second] < TIE_MARGIN,
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
        The study over ``hidden_size`` (:func:`run_study` ``("hidden_size")``).

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
    result = _check_result(result, "hidden_size", ref_needed)
    ref = result.base.hidden_size
    widths = sorted(set(result.runs["value"]))
    if len(widths) < 2:
        raise ValueError(f"the study over hidden_size must hold at least two widths, got {widths}")
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    ranking = _ranked(summary)
    best = ranking[0]
    smallest, widest = widths[0], widths[-1]
    saturation = next(w for w in widths if mean[best] - mean[w] < TIE_MARGIN)
    beyond = [w for w in widths if w >= saturation]
    train_acc = mean_curves(result, "train_accuracy").ffill().iloc[-1].to_dict()
    reach = epochs_to_reach(result, REACH_LEVEL)
    claims = {
        "smallest_underfits": mean[best] - mean[smallest] > TIE_MARGIN,
        "smallest_lowest_train": all(train_acc[smallest] < train_acc[w] for w in widths[1:]),
        "flat_beyond_saturation": saturation < widest
        and all(mean[best] - mean[w] < TIE_MARGIN for w in beyond),
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
        The study over ``optimizer`` (:func:`run_study` ``("optimizer")``).

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
            Adadelta ends less than :data:`TIE_MARGIN` above :data:`CHANCE_ACCURACY`.
        ``adamw_matches_adam``
            AdamW and Adam end less than :data:`TIE_MARGIN` apart.
        ``rmsprop_starts_faster``
            After the first epoch, RMSProp's mean validation accuracy is more than
            :data:`TIE_MARGIN` above Adam's.
        ``margin_exceeds_noise``
            The standard deviation over seeds of every optimizer in ``top`` is below
            :data:`TIE_MARGIN`.
    """
    names = ("sgd", "sgd_momentum", "adagrad", "adadelta", *RUNNING_AVERAGE_OPTIMIZERS)
    result = _check_result(result, "optimizer", names)
    ref = result.base.optimizer
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    ranking = _ranked(summary)
    best = ranking[0]
    top = [v for v in ranking if mean[best] - mean[v] < TIE_MARGIN]
    threshold = learned_threshold(mean[ref]) if ref in mean else learned_threshold(mean[best])
    first = mean_curves(result).iloc[0].to_dict()
    claims = {
        "running_average_on_top": set(top) == set(RUNNING_AVERAGE_OPTIMIZERS),
        "sgd_not_learned": mean["sgd"] < threshold,
        "sgd_lags_adaptive": all(
            mean[v] - mean["sgd"] > TIE_MARGIN for v in ("adagrad", *RUNNING_AVERAGE_OPTIMIZERS)
        ),
        "momentum_helps": mean["sgd_momentum"] >= threshold
        and mean["sgd_momentum"] - mean["sgd"] > TIE_MARGIN,
        "momentum_lags_top": mean[best] - mean["sgd_momentum"] > TIE_MARGIN,
        "adagrad_learns_slowly": mean["adagrad"] >= threshold
        and mean[best] - mean["adagrad"] > TIE_MARGIN,
        "adadelta_not_learned": mean["adadelta"] < threshold,
        "adadelta_at_chance": mean["adadelta"] < CHANCE_ACCURACY + TIE_MARGIN,
        "adamw_matches_adam": abs(mean["adamw"] - mean["adam"]) < TIE_MARGIN,
        "rmsprop_starts_faster": first["rmsprop"] - first["adam"] > TIE_MARGIN,
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


# --- Steps 9 and 10: L1/L2 regularization, the ComplexMLP, the final choice ----------
#
# Step 9 compares no penalty, L1 and L2 at one strength, with the penalty on the weight
# matrices only and on every parameter. Its runs go through labcode.sweep.sweep with
# the same run cache as the other studies: the runs without a penalty are the Step 3
# configuration's, trained once for all studies. Step 10 compares the two models of
# labcode.models.MODELS. best_configuration then picks, on validation accuracy alone,
# the best of every configuration the studies trained.

PENALTY_STRENGTH: float = 1e-3
"""The handout's Step 9 strength ``lambda`` of the L1 and of the L2 penalty."""

NEAR_ZERO: float = 1e-3
"""A weight counts as *near zero* when ``|w|`` is below this. With Adam at the Step 3
learning rate (also 1e-3) every step moves a weight by about this much, so under L1 a
weight whose data gradient is weaker than the penalty's pull ends within about one step
of zero, rather than at exactly zero."""

REGULARIZERS = ("none", "L1", "L2")
"""The settings Step 9 compares, in the order the book shows them."""


def penalty_config(
    regularizer: str,
    *,
    penalize: str = "weights",
    strength: float = PENALTY_STRENGTH,
    base: TrainConfig | None = None,
) -> TrainConfig:
    """The configuration of one Step 9 setting.

    Parameters
    ----------
    regularizer : {"none", "L1", "L2"}
        Which penalty (:data:`REGULARIZERS`).
    penalize : {"weights", "all"}, default "weights"
        Which parameters it includes (:data:`labcode.training.PENALIZE`); ignored for
        ``"none"``, whose configuration keeps ``penalize="weights"`` so that it is the
        same run as ``base``'s.
    strength : float, default :data:`PENALTY_STRENGTH`
        ``l1`` or ``l2``, positive.
    base : TrainConfig, optional
        Every other field; the Step 3 configuration by default.

    Returns
    -------
    TrainConfig
        ``base`` with ``l1``, ``l2`` and ``penalize`` set.
    """
    if regularizer not in REGULARIZERS:
        raise ValueError(f"regularizer must be one of {list(REGULARIZERS)}, got {regularizer!r}")
    base = TrainConfig() if base is None else base
    if not isinstance(base, TrainConfig):
        raise TypeError(f"base must be a labcode.training.TrainConfig, got {type(base).__name__}")
    if regularizer == "none":
        return base.replace(l1=0.0, l2=0.0, penalize="weights")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not strength > 0:
        raise ValueError(f"strength must be a positive number for {regularizer}, got {strength!r}")
    strengths = {"l1": 0.0, "l2": 0.0, regularizer.lower(): strength}
    return base.replace(penalize=penalize, **strengths)


def setting_label(regularizer: str, penalize: str) -> str:
    """How the book names a Step 9 setting: ``"none"``, ``"L1 (weights)"``, ``"L2 (all)"``."""
    return regularizer if regularizer == "none" else f"{regularizer} ({penalize})"


@dataclass(frozen=True)
class RegularizationStudy:
    """The runs of Step 9 (:func:`run_regularization_study`).

    Attributes
    ----------
    strength : float
        The penalty strength of the L1 and L2 settings.
    penalize : tuple of str
        The choices of penalized parameters that were run.
    results : dict of str to SweepResult
        ``"none"``: a sweep of ``l1`` over ``(0.0,)`` (the base configuration);
        ``"L1"`` and ``"L2"``: sweeps over ``penalize`` with that penalty on.
    runs : pandas.DataFrame
        One row per run: ``setting`` (:func:`setting_label`), ``regularizer``,
        ``penalize``, ``seed``, ``val_accuracy``, ``test_accuracy``, ``diverged``,
        ``cached``.
    """

    strength: float
    penalize: tuple[str, ...]
    results: dict[str, SweepResult]
    runs: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Final validation accuracy per setting: mean, standard deviation over seeds, runs."""
        grouped = self.runs.groupby("setting", sort=False)["val_accuracy"]
        out = pd.DataFrame(
            {"val_mean": grouped.mean(), "val_std": grouped.std(ddof=0), "runs": grouped.size()}
        )
        out.index.name = "setting"
        return out


def regularization_configs(
    *,
    strength: float = PENALTY_STRENGTH,
    penalize: Sequence[str] = ("weights", "all"),
    base: TrainConfig | None = None,
    seeds: Sequence[int] = SEEDS,
) -> list[TrainConfig]:
    """Every run of :func:`run_regularization_study`: no penalty, then L1 and L2 for each choice of ``penalize``, at every seed."""
    if isinstance(penalize, str):
        raise TypeError(f"penalize must be a sequence of choices, got the string {penalize!r}")
    none = penalty_config("none", base=base)
    return [dataclasses.replace(none, seed=s) for s in seeds] + [
        dataclasses.replace(penalty_config(r, penalize=p, strength=strength, base=base), seed=s)
        for r in ("L1", "L2") for p in penalize for s in seeds
    ]  # fmt: skip


def run_regularization_study(
    *,
    strength: float = PENALTY_STRENGTH,
    penalize: Sequence[str] = ("weights", "all"),
    base: TrainConfig | None = None,
    seeds: Sequence[int] = SEEDS,
    cache_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    **sweep_kwargs: Any,
) -> RegularizationStudy:
    """Train no penalty, L1 and L2 (Step 9) at every seed, through :func:`~labcode.sweep.sweep`.

    Three sweeps with the same cache: the base configuration (``l1`` over ``(0.0,)``),
    and for each of L1 and L2 a sweep over ``penalize``. With ``cache_dir``, all their
    runs are first trained together (:func:`labcode.sweep.train_runs`).

    Parameters
    ----------
    strength : float, default :data:`PENALTY_STRENGTH`
        ``l1`` of the L1 settings and ``l2`` of the L2 settings.
    penalize : sequence of {"weights", "all"}, default ("weights", "all")
        The choices of penalized parameters to run.
    base : TrainConfig, optional
        Every other field; the Step 3 configuration by default.
    seeds, cache_dir, executor, progress, **sweep_kwargs
        Passed to :func:`~labcode.sweep.sweep`.

    Returns
    -------
    RegularizationStudy
    """
    if isinstance(penalize, str):
        raise TypeError(f"penalize must be a sequence of choices, got the string {penalize!r}")
    penalize = tuple(penalize)
    none = penalty_config("none", base=base)
    common = dict(seeds=seeds, cache_dir=cache_dir, executor=executor, progress=progress,
                  **sweep_kwargs)
    penalized = {
        regularizer: penalty_config(regularizer, penalize=penalize[0] if penalize else "weights",
                                    strength=strength, base=base)
        for regularizer in ("L1", "L2")
    }
    if cache_dir is not None:
        # every run on the executor at once; the sweeps below read them from the cache
        configs = regularization_configs(strength=strength, penalize=penalize, base=base,
                                         seeds=seeds)
        trained = set(train_runs(configs, cache_dir=cache_dir, executor=executor,
                                 progress=progress, split=sweep_kwargs.get("split")))
    else:
        trained = None
    results = {"none": sweep(none, "l1", (0.0,), **common)}
    for regularizer, config in penalized.items():
        results[regularizer] = sweep(config, "penalize", penalize, **common)
    frames = []
    for regularizer, result in results.items():
        runs = result.runs.copy()
        runs["regularizer"] = regularizer
        runs["penalize"] = (
            result.base.penalize if regularizer == "none" else runs["value"].astype(str)
        )
        runs["setting"] = [setting_label(regularizer, p) for p in runs["penalize"]]
        if trained is not None:  # trained above, then read from the cache by the sweep
            runs["cached"] = [
                dataclasses.replace(result.base, **{result.param: v}, seed=seed) not in trained
                for v, seed in zip(runs["value"], runs["seed"])
            ]
        frames.append(runs)
    columns = ["setting", "regularizer", "penalize", "seed", "val_accuracy", "test_accuracy",
               "diverged", "cached"]
    table = pd.concat(frames, ignore_index=True)[columns]
    return RegularizationStudy(float(strength), penalize, results, table)


def weight_values(model: torch.nn.Module, penalize: str = "weights") -> np.ndarray:
    """Every entry of the parameters a penalty would include, as one flat array.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model.
    penalize : {"weights", "all"}, default "weights"
        As in :func:`labcode.training.penalized_parameters`.

    Returns
    -------
    ndarray of shape (n_values,)
        float64.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = penalized_parameters(model, penalize)
    return np.concatenate([p.detach().cpu().double().numpy().ravel() for p in params])


def near_zero_share(values: object, threshold: float = NEAR_ZERO) -> float:
    """The share of ``values`` whose absolute value is below ``threshold``.

    Parameters
    ----------
    values : array_like
        Weights, any shape, finite.
    threshold : float, default :data:`NEAR_ZERO`
        Positive.

    Returns
    -------
    float
        In [0, 1].
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"values must be a non-empty array of finite numbers, got {arr.size} values")
    if not (isinstance(threshold, (int, float, np.floating)) and threshold > 0):
        raise ValueError(f"threshold must be a positive number, got {threshold!r}")
    return float(np.mean(np.abs(arr) < threshold))


def train_models(
    configs: Sequence[TrainConfig],
    *,
    executor: Executor | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> list[ExperimentResult]:
    """Train several configurations and keep the trained models.

    Where a chapter needs the weights themselves (a histogram, the modes of a model),
    this gives the :class:`~labcode.training.ExperimentResult` of each run, model
    included. With ``cache_dir`` it reads the runs a :func:`~labcode.sweep.sweep`
    already trained there (numbers and weights) and stores the ones it trains.

    Parameters
    ----------
    configs : sequence of TrainConfig
        The runs.
    executor : concurrent.futures.Executor, optional
        Where the runs that must be trained go; by default one after the other in this
        process, which for the few runs a chapter needs is faster than starting worker
        processes.
    cache_dir : path, optional
        The run cache of the studies.

    Returns
    -------
    list of ExperimentResult
        In the order of ``configs``, each with its trained model on the CPU.
    """
    configs = list(configs)
    for k, config in enumerate(configs):
        if not isinstance(config, TrainConfig):
            raise TypeError(
                f"configs[{k}] must be a labcode.training.TrainConfig, got {type(config).__name__}"
            )
    if cache_dir is not None:
        train_runs(configs, cache_dir=cache_dir,
                   executor=executor if executor is not None else SerialExecutor(), progress=False)
        loaded = [load_run(config, cache_dir) for config in configs]
        if all(result is not None for result in loaded):
            return loaded
    if executor is None:
        return [run_experiment(config) for config in configs]
    futures = [executor.submit(run_experiment, config) for config in configs]
    return [future.result() for future in futures]


def regularization_findings(
    study: RegularizationStudy, weights: dict[str, np.ndarray]
) -> dict[str, Any]:
    """What Step 9 shows, and the claims the chapter makes.

    Parameters
    ----------
    study : RegularizationStudy
        From :func:`run_regularization_study`, with the settings ``"none"``,
        ``"L1 (weights)"`` and ``"L2 (weights)"`` (and optionally the ``(all)`` ones).
    weights : dict of str to ndarray
        For ``"none"``, ``"L1 (weights)"`` and ``"L2 (weights)"``: the weight-matrix
        entries of one trained model (:func:`weight_values`).

    Returns
    -------
    dict
        Numbers: ``summary``, ``mean``, ``std`` (final validation accuracy by setting),
        ``near_zero`` (share of weights below :data:`NEAR_ZERO`, by setting of
        ``weights``), ``mean_abs`` (mean ``|w|``), ``l1_gap`` and ``l2_gap`` (none minus
        the penalty on weights), ``penalize_gap`` (largest gap between ``weights`` and
        ``all`` of one penalty, ``nan`` without ``all``) and ``claims``:

        ``l1_costs_accuracy``
            L1 on the weights ends more than :data:`TIE_MARGIN` below no penalty.
        ``l2_ties_none``
            L2 on the weights ends less than :data:`TIE_MARGIN` from no penalty.
        ``no_penalty_helps``
            No penalized setting ends more than :data:`TIE_MARGIN` above no penalty.
        ``penalize_choice_tied``
            For L1 and for L2, penalizing all parameters and only the weights end less
            than :data:`TIE_MARGIN` apart (false when the ``all`` settings were not run).
        ``l1_most_near_zero``
            L1 leaves more than twice the share of near-zero weights that L2 leaves, and
            L2 more than no penalty.
        ``penalties_shrink``
            Both penalties give a smaller mean ``|w|`` than no penalty.
        ``margin_exceeds_noise``
            Every setting's standard deviation over seeds is below :data:`TIE_MARGIN`.
    """
    if not isinstance(study, RegularizationStudy):
        raise TypeError(
            f"study must be a RegularizationStudy, got {type(study).__name__}"
        )
    summary = study.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    needed = ("none", "L1 (weights)", "L2 (weights)")
    missing = [s for s in needed if s not in mean]
    if missing:
        raise ValueError(f"the study must hold the settings {list(needed)}; {missing} are missing")
    missing = [s for s in needed if s not in weights]
    if missing:
        raise ValueError(f"weights must hold the settings {list(needed)}; {missing} are missing")
    near = {s: near_zero_share(weights[s]) for s in needed}
    mean_abs = {s: float(np.mean(np.abs(np.asarray(weights[s], dtype=float)))) for s in needed}
    gaps = [
        abs(mean[f"{r} (weights)"] - mean[f"{r} (all)"])
        for r in ("L1", "L2")
        if f"{r} (all)" in mean
    ]
    penalize_gap = max(gaps) if len(gaps) == 2 else math.nan
    claims = {
        "l1_costs_accuracy": mean["none"] - mean["L1 (weights)"] > TIE_MARGIN,
        "l2_ties_none": abs(mean["none"] - mean["L2 (weights)"]) < TIE_MARGIN,
        "no_penalty_helps": all(m - mean["none"] <= TIE_MARGIN for m in mean.values()),
        "penalize_choice_tied": len(gaps) == 2 and penalize_gap < TIE_MARGIN,
        "l1_most_near_zero": near["L1 (weights)"] > 2 * near["L2 (weights)"]
        and near["L2 (weights)"] > near["none"],
        "penalties_shrink": mean_abs["L1 (weights)"] < mean_abs["none"]
        and mean_abs["L2 (weights)"] < mean_abs["none"],
        "margin_exceeds_noise": all(s < TIE_MARGIN for s in std.values()),
    }
    return {
        "summary": summary,
        "mean": mean,
        "std": std,
        "near_zero": near,
        "mean_abs": mean_abs,
        "l1_gap": mean["none"] - mean["L1 (weights)"],
        "l2_gap": mean["none"] - mean["L2 (weights)"],
        "penalize_gap": penalize_gap,
        "claims": {k: bool(v) for k, v in claims.items()},
    }


MODEL_STUDY_VALUES = ("simple", "complex")
"""The models Step 10 compares, all other fields at the Step 3 configuration."""


def run_model_study(
    *,
    base: TrainConfig | None = None,
    seeds: Sequence[int] = SEEDS,
    cache_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    **sweep_kwargs: Any,
) -> SweepResult:
    """The Step 10 study: a sweep of ``model`` over :data:`MODEL_STUDY_VALUES`.

    The ``"simple"`` runs are the Step 3 configuration's, read from the cache when the
    other studies trained them. Parameters as for :func:`run_study`.
    """
    return sweep(
        base if base is not None else TrainConfig(),
        "model",
        MODEL_STUDY_VALUES,
        seeds=seeds,
        cache_dir=cache_dir,
        executor=executor,
        progress=progress,
        **sweep_kwargs,
    )


def mode_behaviour(model: torch.nn.Module, X: object, *, seed: int = 0, part: int = 10) -> dict[str, Any]:
    """How a model's outputs depend on its mode (train or eval), measured on a copy.

    Four measurements, each the largest absolute difference between logits:

    * ``eval_repeat``: two forward passes of ``X`` in evaluation mode;
    * ``train_repeat``: two forward passes of ``X`` in training mode (Dropout draws new
      masks each time);
    * ``eval_batch``: the first ``part`` rows passed alone against the same rows inside
      the whole batch, in evaluation mode;
    * ``batchnorm_batch``: the same with BatchNorm in training mode and Dropout off, so
      only the batch statistics differ.

    Plus ``train_changed``: the number of rows whose predicted class differs between the
    two training-mode passes, and ``n``, the number of rows.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model; it is copied, so its weights and running statistics are not
        touched.
    X : array_like of shape (n_samples, n_features)
        Inputs, at least ``part + 1`` rows.
    seed : int, default 0
        Seeds the Dropout masks of the training-mode passes.
    part : int, default 10
        Rows passed alone, at least 2 (BatchNorm needs two samples in training mode).

    Returns
    -------
    dict
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = torch.as_tensor(np.asarray(X, dtype=np.float32))
    if x.ndim != 2 or not 2 <= part < x.shape[0]:
        raise ValueError(
            f"X must be 2-D with more than part={part} rows (part >= 2), got shape {tuple(x.shape)}"
        )
    copy = deepcopy(model).cpu()
    diff = lambda a, b: float((a - b).abs().max())  # noqa: E731
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        copy.eval()
        e1, e2 = copy(x), copy(x)
        eval_batch = diff(copy(x[:part]), e1[:part])
        copy.train()
        t1, t2 = copy(x), copy(x)
        for m in copy.modules():
            if isinstance(m, torch.nn.Dropout):
                m.eval()
        batchnorm_batch = diff(copy(x[:part]), copy(x)[:part])
    return {
        "n": int(x.shape[0]),
        "eval_repeat": diff(e1, e2),
        "train_repeat": diff(t1, t2),
        "train_changed": int((t1.argmax(1) != t2.argmax(1)).sum()),
        "eval_batch": eval_batch,
        "batchnorm_batch": batchnorm_batch,
    }


BATCH_INDEPENDENT: float = 1e-5
"""Logits that differ by less than this count as equal (float32 rounding when a batch is
split differently)."""


def complex_findings(result: SweepResult, modes: dict[str, Any]) -> dict[str, Any]:
    """What Step 10 shows, and the claims the chapter makes.

    Parameters
    ----------
    result : SweepResult
        :func:`run_model_study`'s sweep over ``model`` (``"simple"`` and ``"complex"``).
    modes : dict
        :func:`mode_behaviour` of a trained ComplexMLP.

    Returns
    -------
    dict
        Numbers: ``summary``, ``mean``, ``std``, ``gap`` (complex minus simple),
        ``epochs_to_reach`` (of :data:`REACH_LEVEL`, by model) and ``claims``:

        ``complex_not_worse``
            The ComplexMLP's mean final validation accuracy is at least the
            SimpleMLP's.
        ``complex_learns_faster``
            The ComplexMLP's mean curve reaches :data:`REACH_LEVEL` in at most half the
            epochs the SimpleMLP's needs (which reaches it).
        ``eval_deterministic``
            Two evaluation-mode passes give identical logits.
        ``train_random``
            Two training-mode passes differ, and change the predicted class of at least
            one row.
        ``eval_batch_independent``
            In evaluation mode a row's logits do not depend on the rest of the batch
            (less than :data:`BATCH_INDEPENDENT`).
        ``batchnorm_batch_dependent``
            With BatchNorm in training mode they do (more than 1000 times that).
        ``margin_exceeds_noise``
            Both models' standard deviations over seeds are below :data:`TIE_MARGIN`.
    """
    result = _check_result(result, "model", ("simple", "complex"))
    needed = ("eval_repeat", "train_repeat", "train_changed", "eval_batch", "batchnorm_batch")
    if not isinstance(modes, dict) or any(k not in modes for k in needed):
        raise ValueError(f"modes must be a dict from mode_behaviour with the keys {list(needed)}")
    summary = result.summary()
    mean, std = summary["val_mean"].to_dict(), summary["val_std"].to_dict()
    reach = epochs_to_reach(result, REACH_LEVEL)
    claims = {
        "complex_not_worse": mean["complex"] >= mean["simple"],
        "complex_learns_faster": reach["simple"] is not None and reach["complex"] is not None
        and reach["complex"] <= reach["simple"] / 2,
        "eval_deterministic": modes["eval_repeat"] == 0.0,
        "train_random": modes["train_repeat"] > 0.0 and modes["train_changed"] >= 1,
        "eval_batch_independent": modes["eval_batch"] < BATCH_INDEPENDENT,
        "batchnorm_batch_dependent": modes["batchnorm_batch"] > 1000 * BATCH_INDEPENDENT,
        "margin_exceeds_noise": std["simple"] < TIE_MARGIN and std["complex"] < TIE_MARGIN,
    }
    return {
        "summary": summary,
        "mean": mean,
        "std": std,
        "gap": mean["complex"] - mean["simple"],
        "epochs_to_reach": reach,
        "claims": {k: bool(v) for k, v in claims.items()},
    }


def describe_config(config: TrainConfig, reference: TrainConfig | None = None) -> str:
    """The fields of ``config`` that differ from ``reference`` (Step 3 by default), seed aside.

    Returns ``"Step 3 configuration"`` when nothing but the seed differs.
    """
    reference = TrainConfig() if reference is None else reference
    ref = reference.to_dict()
    parts = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in config.to_dict().items()
        if k != "seed" and v != ref[k]
    ]
    return ", ".join(parts) if parts else "Step 3 configuration"


def best_configuration(results: Sequence[SweepResult]) -> dict[str, Any]:
    """Pick the best configuration on validation accuracy, then read its test accuracy.

    Every value of every study is one configuration (the study's base with that value);
    a configuration that several studies trained (the Step 3 one) counts once. They are
    ranked by mean final validation accuracy over seeds; only the best one's test
    accuracy is read.

    Parameters
    ----------
    results : sequence of SweepResult
        The studies, for example those of :func:`run_study`, the ``results`` of a
        :class:`RegularizationStudy` and :func:`run_model_study`.

    Returns
    -------
    dict
        ``candidates`` (a DataFrame, best first: ``description``, ``val_mean``,
        ``val_std``, ``runs``, and the ``config`` of each), ``best`` (its TrainConfig),
        ``description``, ``val_mean``, ``val_std``, ``n_candidates``, ``n_tied`` (other
        configurations within :data:`TIE_MARGIN` of the best), ``test_accuracy`` (of
        the best configuration's runs, by seed) and ``test_mean``.
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one study, got none")
    rows: dict[str, dict[str, Any]] = {}
    for result in results:
        if not isinstance(result, SweepResult):
            raise TypeError(
                f"results must be labcode.sweep.SweepResult objects, got {type(result).__name__}"
            )
        for value in result.values:
            config = dataclasses.replace(result.base, **{result.param: value}, seed=0)
            key = json.dumps(config.to_dict(), sort_keys=True)
            if key in rows:
                continue
            runs = result.runs[result.runs["value"] == value].sort_values("seed")
            rows[key] = {
                "description": describe_config(config),
                "val_mean": float(runs["val_accuracy"].mean()),
                "val_std": float(runs["val_accuracy"].std(ddof=0)),
                "runs": len(runs),
                "config": config,
                "_test": dict(zip(runs["seed"].astype(int), runs["test_accuracy"].astype(float))),
            }
    table = pd.DataFrame(list(rows.values()))
    table = table.sort_values("val_mean", ascending=False, kind="stable").reset_index(drop=True)
    best = table.iloc[0]
    test = best["_test"]
    return {
        "candidates": table.drop(columns="_test"),
        "best": best["config"],
        "description": best["description"],
        "val_mean": float(best["val_mean"]),
        "val_std": float(best["val_std"]),
        "n_candidates": len(table),
        "n_tied": int((best["val_mean"] - table["val_mean"].iloc[1:] < TIE_MARGIN).sum()),
        "test_accuracy": test,
        "test_mean": float(np.mean(list(test.values()))),
    }
