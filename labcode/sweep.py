"""Exercise 2, Steps 6 to 10: one-parameter studies over several seeds.

A study changes one field of a :class:`~labcode.training.TrainConfig` at a time, keeps
every other field at the base configuration, and trains each value with several seeds,
so that an effect can be told apart from the noise of one run. :func:`sweep` runs the
``values x seeds`` grid on any :class:`concurrent.futures.Executor`:

* by default a local process pool with one worker per core, each training with one
  torch thread (``TrainConfig.num_threads`` is 1 by default);
* :class:`SerialExecutor` runs everything in the calling process, one run after the other;
* a Dask cluster's executor (``distributed.Client(...).get_executor()``) spreads the
  runs over many machines.

With ``cache_dir``, each finished run is written to its own file as soon as it ends,
atomically, under a key that hashes its configuration, labcode's version and source
fingerprint and the data; a rerun, also after an interrupt or a crash, computes only the
runs that are missing. A run that diverges is kept and marked ``diverged``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import DigitsSplit
from .provenance import source_fingerprint
from .training import History, TrainConfig, run_experiment

__all__ = [
    "SWEEPABLE",
    "SerialExecutor",
    "SweepResult",
    "run_record",
    "sweep",
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
"""The :class:`~labcode.training.TrainConfig` fields a study can vary (``seed`` is
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
_CACHE_FORMAT = 1


class SerialExecutor(Executor):
    """An :class:`~concurrent.futures.Executor` that runs each task at once, in this process.

    ``submit`` returns a future that is already done. Useful to time a study without
    parallelism, to debug a run, and where processes cannot be started.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Call ``fn`` with the given arguments now; return a future holding the outcome."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            if not isinstance(exc, Exception):
                raise
            future.set_exception(exc)
        return future


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
        ``train_seconds`` and ``cached`` (read from the cache instead of trained).
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


def run_record(config: TrainConfig, split: DigitsSplit | None = None) -> dict[str, Any]:
    """Train one configuration and return its results as plain, JSON-ready data.

    This is the task :func:`sweep` sends to the executor: importable, picklable in both
    directions, and light (the model itself stays in the worker).

    Parameters
    ----------
    config : TrainConfig
        The run.
    split : DigitsSplit, optional
        The data; the book's split by default.

    Returns
    -------
    dict
        Keys ``config`` (dict), ``history`` (:meth:`~labcode.training.History.to_dict` plus
        ``diverged_at_epoch``, ``epochs_requested`` and ``message``), ``val_accuracy``,
        ``test_accuracy``, ``train_seconds``.
    """
    result = run_experiment(config, split)
    history = result.history
    return {
        "config": config.to_dict(),
        "history": {
            **history.to_dict(),
            "epochs_requested": history.epochs_requested,
            "diverged_at_epoch": history.diverged_at_epoch,
            "message": history.message,
        },
        "val_accuracy": float(result.val_accuracy),
        "test_accuracy": float(result.test_accuracy),
        "train_seconds": float(result.train_seconds),
    }


def _check_param_values(base: object, param: object, values: object) -> tuple[str, tuple]:
    if not isinstance(base, TrainConfig):
        raise TypeError(f"base must be a labcode.training.TrainConfig, got {type(base).__name__}")
    if not isinstance(param, str) or param not in SWEEPABLE:
        raise ValueError(f"param must be one of {list(SWEEPABLE)}, got {param!r}")
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


def _check_seeds(seeds: object) -> tuple[int, ...]:
    if isinstance(seeds, Integral) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of ints, got {seeds!r}")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed, got none")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, Integral) or s < 0:
            raise ValueError(f"seeds must be ints >= 0, got {s!r} in {seeds}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must not repeat, got {seeds}")
    return tuple(int(s) for s in seeds)


def _split_identity(split: DigitsSplit | None) -> str:
    if split is None:
        return "book split (load_digits_split(seed=0))"
    digest = hashlib.sha256()
    for part in (split.train, split.val, split.test):
        digest.update(np.ascontiguousarray(part.X).tobytes())
        digest.update(np.ascontiguousarray(part.y).tobytes())
    return "sha256:" + digest.hexdigest()[:16]


def _cache_key(config: TrainConfig, identity: dict[str, str]) -> str:
    blob = json.dumps({"config": config.to_dict(), **identity}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _write_atomically(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_cached(path: Path, config: TrainConfig, identity: dict[str, str]) -> dict | None:
    """The cached record of ``config``, or None when absent, unreadable or not a match."""
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(payload, dict)
        or payload.get("format") != _CACHE_FORMAT
        or payload.get("identity") != identity
        or payload.get("record", {}).get("config") != json.loads(json.dumps(config.to_dict()))
    ):
        return None
    return payload["record"]


def _default_executor(n_tasks: int) -> ProcessPoolExecutor:
    # forkserver: workers start from a clean process (no inherited torch threads), and
    # fork from a server that has imported labcode once; torch._dynamo is imported by
    # the first optimizer a process builds (seconds), so the server imports it too
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["labcode.sweep", "torch._dynamo"])
    return ProcessPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, n_tasks)), mp_context=ctx)


def _progress_bar(total: int, initial: int, desc: str, show: bool | None):
    if show is None:
        show = sys.stderr.isatty()
    if show:
        from tqdm.auto import tqdm
    else:  # tqdm.auto warns in a notebook without ipywidgets, even for a hidden bar
        from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="run", disable=not show, leave=True)


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
        Its values, each checked by :class:`~labcode.training.TrainConfig` before any
        run starts.
    seeds : sequence of int, default (0, 1, 2)
        The seeds every value is trained with.
    executor : concurrent.futures.Executor, optional
        Where the runs go. By default a local process pool with one worker per core
        (created and shut down here); any executor with ``submit`` works, e.g.
        :class:`SerialExecutor` or a Dask client's ``get_executor()``.
    cache_dir : path, optional
        Folder for finished runs, one JSON file per run. Runs found there (same
        configuration, data, labcode version and source) are read instead of trained.
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
    The default pool starts its workers with the ``forkserver`` method, which imports
    the calling script again in each worker: in a script, call :func:`sweep` under
    ``if __name__ == "__main__":``. Notebooks need nothing of the kind.
    """
    param, values = _check_param_values(base, param, values)
    seeds = _check_seeds(seeds)
    if split is not None and not isinstance(split, DigitsSplit):
        raise TypeError(f"split must be a labcode.data.DigitsSplit, got {type(split).__name__}")
    grid: list[tuple[Any, int, TrainConfig]] = []
    for value in values:
        try:
            config = dataclasses.replace(base, **{param: value})
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"sweep over {param}: the value {value!r} is invalid: {exc}") from None
        grid.extend((value, seed, dataclasses.replace(config, seed=seed)) for seed in seeds)

    cache = Path(cache_dir) if cache_dir is not None else None
    identity = {
        "labcode_fingerprint": source_fingerprint(),
        "data": _split_identity(split),
    }
    records: dict[int, dict] = {}
    cached: set[int] = set()
    paths: dict[int, Path] = {}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for i, (_, _, config) in enumerate(grid):
            paths[i] = cache / f"run-{_cache_key(config, identity)}.json"
            record = _read_cached(paths[i], config, identity)
            if record is not None:
                records[i] = record
                cached.add(i)

    missing = [i for i in range(len(grid)) if i not in records]
    bar = _progress_bar(len(grid), len(grid) - len(missing), f"{param} sweep", progress)
    write_errors: list[BaseException] = []

    def on_done(i: int, future: Future) -> None:
        # runs as soon as the run ends (in the executor's thread), so that a finished
        # run is on disk even if this process is interrupted before it reads it
        if cache is None or future.cancelled() or future.exception() is not None:
            return
        try:
            payload = {"format": _CACHE_FORMAT, "identity": identity, "record": future.result()}
            _write_atomically(paths[i], payload)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            write_errors.append(exc)

    own_executor = executor is None and len(missing) > 0
    if own_executor:
        executor = _default_executor(len(missing))
    try:
        futures: dict[Future, int] = {}
        for i in missing:
            future = executor.submit(run_record, grid[i][2], split)
            futures[future] = i
            future.add_done_callback(lambda f, i=i: on_done(i, f))
        for future in as_completed(futures):
            i = futures[future]
            try:
                records[i] = future.result()
            except Exception as exc:
                value, seed, _ = grid[i]
                raise RuntimeError(
                    f"sweep over {param}: the run {param}={value!r}, seed={seed} failed: {exc}"
                ) from exc
            bar.update(1)
        if write_errors:
            raise write_errors[0]
    except BaseException:
        if own_executor:
            executor.shutdown(wait=True, cancel_futures=True)
            own_executor = False
        raise
    finally:
        bar.close()
        if own_executor:
            executor.shutdown(wait=True)

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

