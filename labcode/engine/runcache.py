"""The run cache of :func:`labcode.engine.sweep.sweep`: one record and one weights file per run.

Each finished run is written to its own files as soon as it ends, atomically and
durably (written to a temporary file, flushed to disk, then renamed), under a key that
hashes its configuration, labcode's version and source fingerprint and the data: its
numbers (``run-KEY.json``) and its trained weights (``run-KEY.pt``, read back by
:func:`load_run`). A rerun, also after an interrupt or a crash, computes only the runs
that are missing.

The cache does not trust the disk. A record carries the SHA-256 digest of its own
content and of its weights file; on reading, a record that fails its digest, lacks a
field, holds a value of the wrong type or range, or whose weights file is missing, fails
its digest or does not load into the model, counts as missing: the run is trained again
and a :class:`RunCacheWarning` names the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import _validate
from ..data import NUM_CLASSES, DigitsSplit
from ..models import build_model
from ..provenance import source_fingerprint
from ..experiment import ExperimentResult, TrainConfig, run_experiment
from ..training import History

__all__ = ["RunCache", "RunCacheWarning", "cached_experiment", "load_run"]


_CACHE_FORMAT = 3  # 3: digests of the record and of its weights; 2: weights in run-KEY.pt

STALE_TMP_SECONDS = 60.0
"""A temporary file of the cache older than this, when a sweep starts, was left by a
writer that died; it is removed (younger ones may belong to a sweep still running)."""


class RunCacheWarning(UserWarning):
    """A file of the run cache was damaged or did not match its run: the run is trained again."""


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


def _write_atomically(path: Path, payload: dict[str, Any] | bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if isinstance(payload, bytes) else "w") as fh:
            if isinstance(payload, bytes):
                fh.write(payload)
            else:
                json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _digest(content: object) -> str:
    blob = content if isinstance(content, bytes) else json.dumps(content, sort_keys=True).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _warn(path: Path, why: str) -> None:
    warnings.warn(f"run cache: {path} {why}; the run is trained again", RunCacheWarning,
                  stacklevel=4)


def _is_real(x: object, low: float = -math.inf, high: float = math.inf) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and (
        math.isnan(x) or low <= x <= high)


def _valid_record(record: object) -> str | None:
    """Why ``record`` is not a well-formed run record, or None when it is."""
    if not isinstance(record, dict) or not isinstance(record.get("history"), dict):
        return "has no history"
    hist = record["history"]
    columns = [hist.get(c) for c in ("epoch", *History.COLUMNS)]
    if not all(isinstance(c, list) for c in columns) or len({len(c) for c in columns}) != 1:
        return "holds a history whose columns are missing or of different lengths"
    n = len(columns[0])
    if hist["epoch"] != list(range(1, n + 1)):
        return "holds a history whose epochs are not 1, 2, ..."
    if not isinstance(hist.get("epochs_requested"), int) or not 0 <= n <= hist["epochs_requested"]:
        return "holds a history longer than the epochs it asked for"
    if not all(_is_real(v, 0.0, 1.0) for c in ("train_accuracy", "val_accuracy") for v in hist[c]):
        return "holds an accuracy outside [0, 1]"
    if not all(_is_real(v, 0.0) or v == math.inf for c in ("train_loss", "val_loss")
               for v in hist[c]):
        return "holds a negative or non-numeric loss"
    if not (hist.get("diverged_at_epoch") is None or isinstance(hist["diverged_at_epoch"], int)):
        return "holds a divergence epoch that is not a number"
    if hist["diverged_at_epoch"] is None and n != hist["epochs_requested"]:
        return "holds a shortened history"
    if not isinstance(hist.get("message"), str) or not isinstance(hist.get("weights_finite"), bool):
        return "holds a history without its message"
    for name in ("val_accuracy", "test_accuracy"):
        if not _is_real(record.get(name), 0.0, 1.0):
            return f"holds a {name} that is not a number in [0, 1]"
    for name in ("val_loss", "test_loss", "train_seconds"):
        if not (_is_real(record.get(name), 0.0) or record.get(name) == math.inf):
            return f"holds a {name} that is not a number >= 0"
    return None


def _result_from(config: TrainConfig, record: dict[str, Any], model: torch.nn.Module
                 ) -> ExperimentResult:
    hist = record["history"]
    history = History(
        **{c: tuple(hist[c]) for c in History.COLUMNS},
        epochs_requested=hist["epochs_requested"],
        diverged_at_epoch=hist["diverged_at_epoch"],
        message=hist["message"],
        weights_finite=hist["weights_finite"],
    )
    return ExperimentResult(
        config=config, history=history,
        val_accuracy=record["val_accuracy"], val_loss=record["val_loss"],
        test_accuracy=record["test_accuracy"], test_loss=record["test_loss"],
        model=model, train_seconds=record["train_seconds"],
    )  # fmt: skip


class RunCache:
    """A run cache folder, for the runs trained on one data split.

    Each run has two files, named by a key that hashes its configuration, labcode's
    version and source fingerprint, and the data: ``run-KEY.json``, its signed record
    of numbers, and ``run-KEY.pt``, its trained weights. :func:`~labcode.engine.sweep.sweep`,
    :func:`cached_experiment` and :func:`load_run` read and write runs through it.

    Parameters
    ----------
    cache_dir : path
        The folder; created by :meth:`prepare`.
    split : DigitsSplit, optional
        The data of its runs; the book's split by default.

    Raises
    ------
    TypeError
        If ``cache_dir`` is not a path or ``split`` not a :class:`~labcode.data.DigitsSplit`.
    """

    def __init__(self, cache_dir: str | os.PathLike, split: DigitsSplit | None = None):
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(f"cache_dir must be a path, got {type(cache_dir).__name__}")
        if split is not None:
            _validate.instance(split, DigitsSplit, "split")
        self.folder = Path(cache_dir)
        self.split = split
        # what, besides its configuration, a run's key hashes
        self.identity = {"labcode_fingerprint": source_fingerprint(),
                         "data": _split_identity(split)}  # fmt: skip

    def __repr__(self) -> str:
        return f"RunCache({str(self.folder)!r})"

    def paths(self, config: TrainConfig) -> tuple[Path, Path]:
        """The record's and the weights' file of the run ``config`` (they may not exist)."""
        stem = f"run-{_cache_key(config, self.identity)}"
        return self.folder / f"{stem}.json", self.folder / f"{stem}.pt"

    def prepare(self) -> None:
        """Make the folder, check that it is writable, remove stale temporary files.

        A temporary file older than ``STALE_TMP_SECONDS`` was left by a writer that
        died. Raises a PermissionError (or the OSError) naming the folder, so that a
        caller learns it before any training.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.folder, prefix=".write-test.", suffix=".tmp")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise type(exc)(exc.errno, f"the run cache folder {self.folder} cannot be written "
                            f"to ({exc.strerror}); pass another cache_dir") from None
        stale = time.time() - STALE_TMP_SECONDS
        for tmp in self.folder.glob("*.tmp"):
            try:
                if tmp.is_file() and tmp.stat().st_mtime < stale:
                    tmp.unlink()
            except OSError:
                pass  # another sweep removed or renamed it meanwhile

    @staticmethod
    def encode(result: ExperimentResult) -> tuple[dict[str, Any], bytes]:
        """What :meth:`store` keeps of a finished run: its record (a JSON-able dict of
        its configuration, history and scores) and its model's state dict, saved."""
        history = result.history
        record = {
            "config": result.config.to_dict(),
            "history": {
                **history.to_dict(),
                "epochs_requested": history.epochs_requested,
                "diverged_at_epoch": history.diverged_at_epoch,
                "message": history.message,
                "weights_finite": history.weights_finite,
            },
            "val_accuracy": float(result.val_accuracy),
            "val_loss": float(result.val_loss),
            "test_accuracy": float(result.test_accuracy),
            "test_loss": float(result.test_loss),
            "train_seconds": float(result.train_seconds),
        }
        buffer = io.BytesIO()
        torch.save(result.model.state_dict(), buffer)
        return record, buffer.getvalue()

    def store(self, config: TrainConfig, record: dict[str, Any], weights: bytes) -> None:
        """Write the run ``config``'s weights, then its signed record, each atomically.

        ``record`` and ``weights`` are as :meth:`encode` returns them. A run whose
        record is on disk is complete.
        """
        json_path, weights_path = self.paths(config)
        _write_atomically(weights_path, weights)
        signed = {"format": _CACHE_FORMAT, "identity": self.identity, "record": record,
                  "weights": _digest(weights)}
        _write_atomically(json_path, {**signed, "digest": _digest(signed)})

    def read(self, config: TrainConfig) -> dict[str, Any] | None:
        """The stored record of the run ``config``, or None when absent, damaged or not a match.

        A file that exists but cannot be trusted gives one :class:`RunCacheWarning`.
        """
        path = self.paths(config)[0]
        if not path.is_file():
            return None  # absent (or not a file: sweep reports that before training)
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            _warn(path, "cannot be read as a run record")
            return None
        if not isinstance(payload, dict):
            _warn(path, "is not a run record")
            return None
        if payload.get("format") != _CACHE_FORMAT or payload.get("identity") != self.identity:
            return None  # another version of the cache or of labcode: not ours to judge
        signed = {k: payload.get(k) for k in ("format", "identity", "record", "weights")}
        if payload.get("digest") != _digest(signed):
            _warn(path, "does not match its digest (edited or damaged)")
            return None
        record = payload["record"]
        if not isinstance(record, dict) or record.get("config") != json.loads(
                json.dumps(config.to_dict())):
            _warn(path, "holds another configuration than its name says")
            return None
        why = _valid_record(record)
        if why is None and record["history"]["epochs_requested"] != config.epochs:
            why = "holds a history of another number of epochs"
        if why is not None:
            _warn(path, why)
            return None
        weights_path = path.with_suffix(".pt")
        try:
            weights = weights_path.read_bytes()
        except OSError:
            _warn(weights_path, "is missing or cannot be read")
            return None
        if _digest(weights) != payload["weights"]:
            _warn(weights_path, "does not match the digest its record holds (replaced or damaged)")
            return None
        return record

    def load(self, config: TrainConfig) -> ExperimentResult | None:
        """The stored run ``config``, trained model included, or None (see :func:`load_run`)."""
        record = self.read(config)
        if record is None:
            return None
        width = {} if self.split is None else {"in_features": self.split.n_features}
        model = build_model(config.model, hidden_size=config.hidden_size,
                            num_classes=NUM_CLASSES, **width)  # fmt: skip
        weights_path = self.paths(config)[1]
        try:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception:  # noqa: BLE001 - weights that do not load are a missing run
            _warn(weights_path, "does not load into the model")
            return None
        return _result_from(config, record, model)


def load_run(
    config: TrainConfig, cache_dir: str | os.PathLike, split: DigitsSplit | None = None
) -> ExperimentResult | None:
    """A finished run of ``config`` read from a run cache, trained model included.

    Parameters
    ----------
    config : TrainConfig
        The run, exactly as it was trained (seed included).
    cache_dir : path
        The ``cache_dir`` a :func:`~labcode.engine.sweep.sweep` or :func:`cached_experiment` wrote to.
    split : DigitsSplit, optional
        The data it was trained on; the book's split by default.

    Returns
    -------
    ExperimentResult or None
        As :func:`~labcode.experiment.run_experiment` returned it (the model on the CPU,
        in training mode), or None when the cache holds no such run from this version
        of labcode, or holds one that cannot be trusted (a :class:`RunCacheWarning` then
        names the file).
    """
    _validate.instance(config, TrainConfig, "config")
    return RunCache(cache_dir, split).load(config)


def cached_experiment(
    config: TrainConfig, *, cache_dir: str | os.PathLike, split: DigitsSplit | None = None
) -> ExperimentResult:
    """:func:`~labcode.experiment.run_experiment` through the run cache of :func:`~labcode.engine.sweep.sweep`.

    Reads the run from ``cache_dir`` when it is there (see :func:`load_run`); otherwise
    trains it in this process and stores it, so that a later sweep reads it too.

    Parameters
    ----------
    config : TrainConfig
        The run.
    cache_dir : path
        The run cache.
    split : DigitsSplit, optional
        The data; the book's split by default.

    Returns
    -------
    ExperimentResult
    """
    _validate.instance(config, TrainConfig, "config")
    cache = RunCache(cache_dir, split)
    cached = cache.load(config)
    if cached is not None:
        return cached
    cache.prepare()
    result = run_experiment(config, split)
    cache.store(config, *RunCache.encode(result))
    return result
