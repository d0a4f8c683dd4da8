"""The studies of Exercise 2, Steps 6 to 10, as the book runs them.

Each study is a :func:`labcode.engine.sweep.sweep` of one field of the Step 3 configuration
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
import os
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import _validate
from ..experiment import HANDOUT_SWEEPS, ExperimentResult, TrainConfig, run_experiment
from ..training import OPTIMIZERS
from .pool import SerialExecutor
from .runcache import load_run
from .sweep import SweepResult, sweep, train_runs

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
    "PENALTY_STRENGTH",
    "REGULARIZERS",
    "penalty_config",
    "setting_label",
    "RegularizationStudy",
    "regularization_configs",
    "run_regularization_study",
    "train_models",
    "MODEL_STUDY_VALUES",
    "run_model_study",
]


RUN_CACHE_ENV = "LABCODE_RUN_CACHE"
"""Environment variable that, when set, names the folder of the studies' run cache."""

SEEDS = (0, 1, 2, 3, 4)
"""The seeds every study trains each value with."""


@dataclass(frozen=True)
class Study:
    """One study of the lab: a field of the Step 3 configuration and its values.

    Attributes
    ----------
    step : int
        The handout's step number.
    param : str
        The :class:`~labcode.experiment.TrainConfig` field that varies.
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
    "learning_rate": Study(6, "lr", HANDOUT_SWEEPS["lr"], "Learning rate"),
    "hidden_size": Study(7, "hidden_size", HANDOUT_SWEEPS["hidden_size"], "Hidden size"),
    "optimizer": Study(8, "optimizer", HANDOUT_SWEEPS["optimizer"], "Optimizer"),
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
    """Run the study ``name`` of :data:`STUDIES` (see :func:`labcode.engine.sweep.sweep`).

    Parameters
    ----------
    name : str
        A key of :data:`STUDIES`.
    base : TrainConfig, optional
        The fixed settings; the Step 3 configuration by default.
    seeds : sequence of int, default :data:`SEEDS`
        The seeds of each value.
    cache_dir, executor, progress
        Passed to :func:`~labcode.engine.sweep.sweep`.
    **sweep_kwargs
        Any other argument of :func:`~labcode.engine.sweep.sweep` (``split``).

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
    """Every run of the study ``name``: one :class:`~labcode.experiment.TrainConfig` per setting and seed.

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
        As for :func:`labcode.engine.sweep.sweep`.

    Returns
    -------
    list of TrainConfig
        The runs that were trained (the others were in the cache already).
    """
    if isinstance(names, str):
        raise TypeError(f"names must be a sequence of study names, got the string {names!r}")
    configs = [c for name in names for c in study_configs(name, base=base, seeds=seeds)]
    return train_runs(configs, cache_dir=cache_dir, executor=executor, progress=progress)


PENALTY_STRENGTH: float = 1e-3
"""The handout's Step 9 strength ``lambda`` of the L1 and of the L2 penalty."""

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
    _validate.one_of(regularizer, "regularizer", REGULARIZERS)
    base = TrainConfig() if base is None else base
    _validate.instance(base, TrainConfig, "base")
    if regularizer == "none":
        return base.replace(l1=0.0, l2=0.0, penalize="weights")
    strength = _validate.positive(strength, f"strength for {regularizer}")
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
    """Train no penalty, L1 and L2 (Step 9) at every seed, through :func:`~labcode.engine.sweep.sweep`.

    Three sweeps with the same cache: the base configuration (``l1`` over ``(0.0,)``),
    and for each of L1 and L2 a sweep over ``penalize``. With ``cache_dir``, all their
    runs are first trained together (:func:`labcode.engine.sweep.train_runs`).

    Parameters
    ----------
    strength : float, default :data:`PENALTY_STRENGTH`
        ``l1`` of the L1 settings and ``l2`` of the L2 settings.
    penalize : sequence of {"weights", "all"}, default ("weights", "all")
        The choices of penalized parameters to run.
    base : TrainConfig, optional
        Every other field; the Step 3 configuration by default.
    seeds, cache_dir, executor, progress, **sweep_kwargs
        Passed to :func:`~labcode.engine.sweep.sweep`.

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


def train_models(
    configs: Sequence[TrainConfig],
    *,
    executor: Executor | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> list[ExperimentResult]:
    """Train several configurations and keep the trained models.

    Where a chapter needs the weights themselves (a histogram, the modes of a model),
    this gives the :class:`~labcode.experiment.ExperimentResult` of each run, model
    included. With ``cache_dir`` it reads the runs a :func:`~labcode.engine.sweep.sweep`
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
        _validate.instance(config, TrainConfig, f"configs[{k}]")
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


MODEL_STUDY_VALUES = ("simple", "complex", "complex_no_batchnorm", "complex_no_dropout")
"""The models Step 10 compares, all other fields at the Step 3 configuration.

They are the two models of the handout, and the ComplexMLP without its BatchNorm or its
Dropout layers (:func:`labcode.models.complex_without`), to see which part helps."""


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
