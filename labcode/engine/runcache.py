"""The run cache of :func:`labcode.engine.sweep.sweep`: one record and one weights file per run.

Each finished run is written to its own files as soon as it ends, atomically, under a
key that hashes its configuration, labcode's version and source fingerprint and the
data: its numbers (``run-KEY.json``) and its trained weights (``run-KEY.pt``, read back
by :func:`load_run`). A rerun, also after an interrupt or a crash, computes only the
runs that are missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import NUM_CLASSES, DigitsSplit
from ..models import build_model
from ..provenance import source_fingerprint
from ..experiment import ExperimentResult, TrainConfig, run_experiment
from ..training import History

__all__ = ["cached_experiment", "load_run"]


_CACHE_FORMAT = 2  # 2: val_loss and test_loss in the record, weights in run-KEY.pt


def _record_of(result: ExperimentResult) -> dict[str, Any]:
    history = result.history
    return {
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


def _weights_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


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


def _identity(split: DigitsSplit | None) -> dict[str, str]:
    return {"labcode_fingerprint": source_fingerprint(), "data": _split_identity(split)}


def _run_paths(cache: Path, config: TrainConfig, identity: dict[str, str]) -> tuple[Path, Path]:
    stem = f"run-{_cache_key(config, identity)}"
    return cache / f"{stem}.json", cache / f"{stem}.pt"


def _store(cache: Path, config: TrainConfig, identity: dict[str, str],
           record: dict[str, Any], weights: bytes | None) -> None:
    # the weights first: a run whose .json exists is complete
    json_path, weights_path = _run_paths(cache, config, identity)
    if weights is not None:
        _write_atomically(weights_path, weights)
    _write_atomically(json_path, {"format": _CACHE_FORMAT, "identity": identity, "record": record})


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


def _check_cache_dir(cache_dir: object) -> Path:
    if not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a path, got {type(cache_dir).__name__}")
    return Path(cache_dir)


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
        of labcode, or not its weights.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    cache = _check_cache_dir(cache_dir)
    return _load(cache, config, _identity(split), split)


def _load(cache: Path, config: TrainConfig, identity: dict[str, str],
          split: DigitsSplit | None) -> ExperimentResult | None:
    json_path, weights_path = _run_paths(cache, config, identity)
    record = _read_cached(json_path, config, identity)
    if record is None or not weights_path.is_file():
        return None
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - an unreadable file is a missing run
        return None
    width = {} if split is None else {"in_features": split.n_features}  # else the model's default
    model = build_model(config.model, hidden_size=config.hidden_size, num_classes=NUM_CLASSES, **width)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError):
        return None
    return _result_from(config, record, model)


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
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    cache = _check_cache_dir(cache_dir)
    identity = _identity(split)
    cached = _load(cache, config, identity, split)
    if cached is not None:
        return cached
    result = run_experiment(config, split)
    cache.mkdir(parents=True, exist_ok=True)
    _store(cache, config, identity, _record_of(result), _weights_bytes(result.model))
    return result
