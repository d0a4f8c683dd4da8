"""Exercise 2, Steps 6 to 10: one-parameter studies over several seeds.

:func:`sweep` trains every value of one :class:`~labcode.experiment.TrainConfig` field
at several seeds, every other field fixed, on any :class:`concurrent.futures.Executor`:
by default this process's shared pool (:func:`~labcode.engine.pool.default_pool`), or
:class:`~labcode.engine.pool.SerialExecutor` in this process, or a Dask cluster's
``get_executor()``. The runs of one value go to the executor as one task, trained as one
stack (:func:`~labcode.engine.stacked.train_stacked`).

With ``cache_dir``, each finished run is stored at once in a
:class:`~labcode.engine.runcache.RunCache`. A rerun, also after an interrupt or a crash,
trains only the stacks with a run missing, each whole and stacked as before, and stores
the missing runs, so it gives the numbers of an uninterrupted sweep (the book's appendix,
:ref:`engine-design`, says why). A run that diverges is kept and marked ``diverged``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import _validate
from ..data import DigitsSplit
from ..models import COMPLEX_WIDTH_FACTORS
from ..experiment import TrainConfig, run_experiment
from ..training import History
from .pool import close_default_pool, default_pool
from .runcache import RunCache
from .stacked import is_stackable, train_stacked

__all__ = [
    "SWEEPABLE",
    "SweepResult",
    "sweep",
    "train_runs",
]

SWEEPABLE = (
    "model",
    "hidden_size",
    "optimizer",
    "lr",
    "epochs",
    "batch_size",
    "l1",
    "l2",
    "penalize",
)
"""The :class:`~labcode.experiment.TrainConfig` fields a study can vary (``seed`` is
varied by the ``seeds`` argument of :func:`sweep`)."""

EPOCH_COLUMNS = (
    "param", "value", "seed", "epoch",
    "train_loss", "train_accuracy", "val_loss", "val_accuracy",
    "test_accuracy", "diverged",
)  # fmt: skip

RUN_COLUMNS = (
    "param", "value", "seed", "val_accuracy", "test_accuracy", "diverged",
    "diverged_at_epoch", "epochs_run", "train_seconds", "cached",
)  # fmt: skip


@dataclass(frozen=True)
class SweepResult:
    """The outcome of :func:`sweep`.

    Attributes
    ----------
    param : str
        The field that was varied.
    values : tuple
        Its values, in the order given.
    seeds : tuple of int
        The seeds each value was trained with.
    base : TrainConfig
        The configuration every other field was taken from.
    table : pandas.DataFrame
        Tidy per-epoch table, one row per run and epoch, columns ``param, value, seed,
        epoch, train_loss, train_accuracy, val_loss, val_accuracy``, plus the run's final
        ``test_accuracy`` and ``diverged`` on each of its rows. A diverged run has rows up
        to its last finite epoch.
    runs : pandas.DataFrame
        One row per run: ``param, value, seed``, the final ``val_accuracy`` and
        ``test_accuracy``, ``diverged``, ``diverged_at_epoch``, ``epochs_run``,
        ``train_seconds`` (of a run trained in a stack, the stack's training time
        divided by its runs) and ``cached`` (read from the cache instead of trained).
    """

    param: str
    values: tuple
    seeds: tuple[int, ...]
    base: TrainConfig
    table: pd.DataFrame
    runs: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Final validation and test accuracy per value: mean, standard deviation, count.

        Diverged runs count with the accuracy of their final model; the ``diverged``
        column says how many of a value's runs diverged.
        """
        grouped = self.runs.groupby("value", sort=False)
        out = pd.DataFrame(
            {
                "val_mean": grouped["val_accuracy"].mean(),
                "val_std": grouped["val_accuracy"].std(ddof=0),
                "test_mean": grouped["test_accuracy"].mean(),
                "test_std": grouped["test_accuracy"].std(ddof=0),
                "runs": grouped.size(),
                "diverged": grouped["diverged"].sum().astype(int),
            }
        )
        out.index.name = self.param
        return out

    def final_val_accuracy(self, value: Any) -> np.ndarray:
        """Final validation accuracies of the runs of one value, ordered by seed."""
        rows = self.runs[self.runs["value"] == value].sort_values("seed")
        if rows.empty:
            raise ValueError(
                f"{value!r} is not one of the values of this sweep over {self.param}: "
                f"{list(self.values)}"
            )
        return rows["val_accuracy"].to_numpy(dtype=float)


def _train_task(
    configs: tuple[TrainConfig, ...], split: DigitsSplit | None
) -> list[tuple[dict[str, Any], bytes]]:
    """The task :func:`sweep` sends to the executor: runs that differ only in their seed,
    trained as one stack (:func:`~labcode.engine.stacked.train_stacked`); each run's
    record and weights, in the order of ``configs``.

    Importable and picklable in both directions, and light: the models stay in the
    worker, only their state dicts (a few kilobytes each) come back.
    """
    if is_stackable(configs[0].model):
        results = train_stacked(configs, split)
    else:  # a model the stack cannot train: one run after the other
        results = [run_experiment(config, split) for config in configs]
    return [RunCache.encode(result) for result in results]


def _seed_groups(configs: Sequence[TrainConfig], indices: Sequence[int]) -> list[list[int]]:
    """``indices`` into ``configs`` grouped by everything but the seed, in first-seen order.

    A run of a model that cannot be stacked (:func:`~labcode.engine.stacked.is_stackable`)
    is a group of its own.
    """
    groups: dict[TrainConfig, list[int]] = {}
    for i in indices:
        config = configs[i]
        key = dataclasses.replace(config, seed=0) if is_stackable(config.model) else config
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _check_param_values(base: object, param: object, values: object) -> tuple[str, tuple]:
    _validate.instance(base, TrainConfig, "base")
    _validate.one_of(param, "param", SWEEPABLE)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"values must be a sequence of values for {param}, got {values!r}")
    values = tuple(values)
    if not values:
        raise ValueError(f"values must name at least one value for {param}, got none")
    seen: list = []
    for v in values:
        if v in seen:
            raise ValueError(f"values must not repeat, but {param}={v!r} appears twice")
        seen.append(v)
    return param, values


def _progress_bar(total: int, initial: int, desc: str, show: bool | None):
    if show is None:
        show = sys.stderr.isatty()
    if show:
        from tqdm.auto import tqdm
    else:  # tqdm.auto warns in a notebook without ipywidgets, even for a hidden bar
        from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="run", disable=not show, leave=True)


def _expected_cost(config: TrainConfig) -> float:
    """A rough relative training time, only to order the runs (longest first)."""
    factors = COMPLEX_WIDTH_FACTORS if config.model.startswith("complex") else (1,)
    width = config.hidden_size * sum(factors)
    cost = config.epochs * (1.0 + width / 512)
    if config.model.startswith("complex"):
        cost *= 1.5  # BatchNorm and Dropout
    if config.l1 > 0 or config.l2 > 0:
        cost *= 1.3  # the penalty's forward and backward
    return cost


def _run_all(
    configs: Sequence[TrainConfig],
    *,
    describe: Callable[[int], str],
    executor: Executor | None,
    cache: RunCache | None,
    split: DigitsSplit | None,
    progress: bool | None,
    desc: str,
) -> tuple[list[dict], set[int]]:
    """Records of every config (read from the cache or trained) and which were cached."""
    if executor is not None:  # checked here, before anything is read or trained
        _validate.instance(executor, Executor, "executor",
                           "concurrent.futures.Executor (labcode.engine.pool.SerialExecutor(), "
                           "for one run after the other)")
    for device in dict.fromkeys(config.device for config in configs):
        _validate.device(device)  # available here, or a ValueError before any training
    records: dict[int, dict] = {}
    cached: set[int] = set()
    if cache is not None:
        cache.prepare()  # writable, or one clear error before any training
        for i, config in enumerate(configs):
            record = cache.read(config)
            if record is not None:
                records[i] = record
                cached.add(i)

    missing = [i for i in range(len(configs)) if i not in records]
    if cache is not None:
        for i in missing:
            for path in cache.paths(configs[i]):
                if path.exists() and not path.is_file():
                    raise ValueError(f"{path} is not a file, but a run's file belongs there: "
                                     "remove it, or pass another cache_dir")
    bar = _progress_bar(len(configs), len(configs) - len(missing), desc, progress)
    write_errors: list[BaseException] = []
    # one task per stack of seeds. The stacks are those of all the configs, cached or
    # not, and a stack with a run missing is trained whole again: a run's numbers depend
    # on the stack it is trained in, so a run missing after an interrupt is trained in
    # the stack it would have had, and the stored runs of that stack are kept
    todo = set(missing)
    groups = [group for group in _seed_groups(configs, range(len(configs)))
              if any(i in todo for i in group)]  # fmt: skip
    written = {id(group): threading.Event() for group in groups}

    def on_done(group: list[int], future: Future) -> None:
        # runs as soon as the task ends (in the executor's thread), so that finished
        # runs are on disk even if this process is interrupted before it reads them
        try:
            if cache is None or future.cancelled() or future.exception() is not None:
                return
            for i, (record, weights) in zip(group, future.result()):
                if i in todo:
                    cache.store(configs[i], record, weights)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            write_errors.append(exc)
        finally:
            written[id(group)].set()

    def describe_group(group: list[int]) -> str:
        if len(group) == 1:
            return describe(group[0])
        return "the stack of " + "; ".join(describe(i) for i in group)

    shared = executor is None
    if shared and missing:
        executor = default_pool()
    futures: dict[Future, list[int]] = {}
    try:
        # the longest tasks first, so that no worker is left with a long one at the end
        for group in sorted(groups, key=lambda g: -_expected_cost(configs[g[0]]) * len(g)):
            future = executor.submit(_train_task, tuple(configs[i] for i in group), split)
            futures[future] = group
            future.add_done_callback(lambda f, group=group: on_done(group, f))
        for future in as_completed(futures):
            group = futures[future]
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                if shared:
                    close_default_pool()
                raise
            except Exception as exc:
                raise RuntimeError(f"{describe_group(group)} failed: {exc}") from exc
            for i, (record, _) in zip(group, outcomes):
                if i in todo:
                    records[i] = record
            written[id(group)].wait()  # on disk before sweep returns, whatever the executor
            bar.update(sum(i in todo for i in group))
        if write_errors:
            raise write_errors[0]
    except BaseException:
        # an interrupt or a failed task: drop the queued tasks (finished ones are
        # cached); the pool itself stays for the next call
        for future in futures:
            future.cancel()
        raise
    finally:
        bar.close()
    return [records[i] for i in range(len(configs))], cached


def train_runs(
    configs: Sequence[TrainConfig],
    *,
    cache_dir: str | os.PathLike,
    executor: Executor | None = None,
    split: DigitsSplit | None = None,
    progress: bool | None = None,
) -> list[TrainConfig]:
    """Train, all at once, every configuration that the run cache does not hold yet.

    Several studies that share a cache can put all their runs on the executor together
    this way, so that no worker waits for the last run of one study before the next
    starts; each :func:`sweep` then reads its runs from the cache.

    Parameters
    ----------
    configs : sequence of TrainConfig
        The runs (duplicates are trained once).
    cache_dir : path
        The run cache.
    executor, split, progress
        As for :func:`sweep`.

    Returns
    -------
    list of TrainConfig
        The configurations that were trained (the others were in the cache).
    """
    if isinstance(configs, (str, bytes, TrainConfig)) or not isinstance(configs, Iterable):
        raise TypeError(f"configs must be a list of TrainConfig, got {_validate.describe(configs)}")
    configs = list(configs)
    for k, config in enumerate(configs):
        _validate.instance(config, TrainConfig, f"configs[{k}]")
    unique = list(dict.fromkeys(configs))  # each run once, in the given order
    if split is not None:
        _validate.instance(split, DigitsSplit, "split")
    _, cached = _run_all(
        unique, describe=lambda i: f"the run {unique[i]}", executor=executor,
        cache=RunCache(cache_dir, split), split=split, progress=progress, desc="runs",
    )  # fmt: skip
    return [config for i, config in enumerate(unique) if i not in cached]


def sweep(
    base: TrainConfig,
    param: str,
    values: Sequence[Any],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    executor: Executor | None = None,
    cache_dir: str | os.PathLike | None = None,
    split: DigitsSplit | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Train every value of one parameter with every seed, all else fixed at ``base``.

    Parameters
    ----------
    base : TrainConfig
        The configuration of every run, but for ``param`` and ``seed``.
    param : str
        The field to vary, one of :data:`SWEEPABLE`.
    values : sequence
        Its values, each checked by :class:`~labcode.experiment.TrainConfig` before any
        run starts.
    seeds : sequence of int, default (0, 1, 2)
        The seeds every value is trained with.
    executor : concurrent.futures.Executor, optional
        Where the runs go. By default this process's shared pool, one worker per
        core, created by the first sweep that needs it; any executor with ``submit``
        works, e.g. :class:`~labcode.engine.pool.SerialExecutor` or a Dask client's ``get_executor()``.
    cache_dir : path, optional
        Folder for finished runs: a JSON file of numbers and a file of trained weights
        per run. Runs found there (same configuration, data, labcode version and
        source) are read instead of trained; :func:`~labcode.engine.runcache.load_run` reads a run's model.
    split : DigitsSplit, optional
        The data; the book's split by default.
    progress : bool, optional
        Show a progress bar; by default only when standard error is a terminal.

    Returns
    -------
    SweepResult
        The per-epoch table, the per-run table and the grid.

    Raises
    ------
    TypeError, ValueError
        For an unknown ``param``, an invalid value (the message names it), repeated
        values or seeds, before any run starts.
    RuntimeError
        If a run fails other than by diverging (the message names the run).

    Notes
    -----
    The default pool stays up for later sweeps of the same process and is shut down
    when the process exits. On Linux its workers are forked from this process. Elsewhere
    they start from a fork server, which imports the calling script again in each
    worker: there, in a script, call :func:`sweep` under ``if __name__ == "__main__":``.
    Notebooks need nothing of the kind.
    """
    param, values = _check_param_values(base, param, values)
    seeds = _validate.seeds(seeds)
    if split is not None:
        _validate.instance(split, DigitsSplit, "split")
    grid: list[tuple[Any, int, TrainConfig]] = []
    for value in values:
        try:
            config = dataclasses.replace(base, **{param: value})
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"sweep over {param}: the value {value!r} is invalid: {exc}") from None
        grid.extend((value, seed, dataclasses.replace(config, seed=seed)) for seed in seeds)

    records, cached = _run_all(
        [config for _, _, config in grid],
        describe=lambda i: f"sweep over {param}: the run {param}={grid[i][0]!r}, seed={grid[i][1]}",
        executor=executor, split=split, progress=progress,
        cache=RunCache(cache_dir, split) if cache_dir is not None else None,
        desc=f"{param} sweep",
    )  # fmt: skip

    epoch_rows, run_rows = [], []
    for i, (value, seed, _) in enumerate(grid):
        record = records[i]
        hist = record["history"]
        diverged_at = hist["diverged_at_epoch"]
        for k, epoch in enumerate(hist["epoch"]):
            epoch_rows.append(
                (param, value, seed, epoch)
                + tuple(hist[c][k] for c in History.COLUMNS)
                + (record["test_accuracy"], diverged_at is not None)
            )
        run_rows.append(
            (
                param, value, seed, record["val_accuracy"], record["test_accuracy"],
                diverged_at is not None, math.nan if diverged_at is None else diverged_at,
                len(hist["epoch"]), record["train_seconds"], i in cached,
            )
        )  # fmt: skip
    table = pd.DataFrame(epoch_rows, columns=list(EPOCH_COLUMNS))
    runs = pd.DataFrame(run_rows, columns=list(RUN_COLUMNS))
    return SweepResult(
        param=param, values=values, seeds=seeds, base=base, table=table, runs=runs
    )
