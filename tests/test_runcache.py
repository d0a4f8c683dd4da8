"""The run cache does not trust the disk: every damaged, edited, swapped or missing file
counts as a missing run (trained again, with a warning naming the file)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from labcode.engine.pool import SerialExecutor
from labcode.engine.runcache import STALE_TMP_SECONDS, RunCacheWarning, load_run
from labcode.engine.sweep import sweep
from labcode.experiment import TrainConfig

BASE = TrainConfig(epochs=2)


class Counting(SerialExecutor):
    def __init__(self):
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture()
def cache(tmp_path):
    folder = tmp_path / "runs"
    first = sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0,), cache_dir=folder,
                  executor=SerialExecutor(), progress=False)
    return folder, first


def _record_path(folder, lr):
    for path in folder.glob("run-*.json"):
        if json.loads(path.read_text())["record"]["config"]["lr"] == lr:
            return path
    raise AssertionError(lr)


def _again(folder):
    ex = Counting()
    result = sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0,), cache_dir=folder, executor=ex,
                   progress=False)
    return ex.submitted, result


def _edit(path, change):
    payload = json.loads(path.read_text())
    change(payload)
    path.write_text(json.dumps(payload))


@pytest.mark.parametrize("value", [0.123456, "high", float("nan"), 1.5, None])
def test_an_edited_number_is_not_believed(cache, value):
    folder, first = cache
    path = _record_path(folder, 1e-2)
    _edit(path, lambda p: p["record"].__setitem__("val_accuracy", value))
    with pytest.warns(RunCacheWarning, match=f"{path.name}.*digest"):
        trained, again = _again(folder)
    assert trained == 1
    assert again.runs["val_accuracy"].tolist() == first.runs["val_accuracy"].tolist()
    assert _again(folder)[0] == 0  # retrained and written back: trusted again


@pytest.mark.parametrize("damage", ["missing key", "short history", "wrong type"])
def test_a_record_that_is_malformed_yet_signed_is_not_believed(cache, damage):
    """Even with a digest that matches (written by a buggy writer), the content is checked."""
    from labcode.engine import runcache

    folder, _ = cache
    path = _record_path(folder, 1e-2)
    payload = json.loads(path.read_text())
    record = payload["record"]
    if damage == "missing key":
        del record["history"]
    elif damage == "short history":
        for column in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            record["history"][column] = record["history"][column][:1]
    else:
        record["test_loss"] = "low"
    signed = {k: payload[k] for k in ("format", "identity", "record", "weights")}
    payload["digest"] = runcache._digest(signed)
    path.write_text(json.dumps(payload))
    with pytest.warns(RunCacheWarning, match=path.name):
        assert _again(folder)[0] == 1


def test_swapped_or_perturbed_weights_are_not_believed(cache):
    folder, _ = cache
    a, b = _record_path(folder, 1e-2).with_suffix(".pt"), _record_path(folder, 1e-3).with_suffix(".pt")
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    with pytest.warns(RunCacheWarning, match="does not match the digest"):
        assert load_run(BASE.replace(lr=1e-2), folder) is None
    with pytest.warns(RunCacheWarning):
        assert _again(folder)[0] == 2
    result = load_run(BASE.replace(lr=1e-2), folder)
    assert result is not None  # the retrained run's weights and record agree again


@pytest.mark.parametrize("damage", ["garbage", "deleted"])
def test_a_run_without_good_weights_is_trained_again(cache, damage):
    folder, _ = cache
    weights = _record_path(folder, 1e-3).with_suffix(".pt")
    if damage == "garbage":
        weights.write_bytes(b"\x00" * 100)
    else:
        weights.unlink()
    with pytest.warns(RunCacheWarning, match=weights.name):
        assert _again(folder)[0] == 1
    assert load_run(BASE.replace(lr=1e-3), folder) is not None


def test_a_folder_where_a_record_belongs_is_reported_before_training(tmp_path):
    folder = tmp_path / "runs"
    sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=folder, executor=SerialExecutor(),
          progress=False)
    (path,) = folder.glob("run-*.json")
    path.unlink()
    path.mkdir()
    ex = Counting()
    with pytest.raises(ValueError, match=r"is not a file, but a run's file belongs there"):
        sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=folder, executor=ex, progress=False)
    assert ex.submitted == 0


def test_a_read_only_cache_is_reported_before_training(tmp_path):
    if os.geteuid() == 0 and _can_override_permissions():
        # root writes into read-only folders: rerun the test as root without that power
        _rerun_without_permission_override(
            "test_a_read_only_cache_is_reported_before_training", tmp_path)
        return
    folder = tmp_path / "runs"
    folder.mkdir()
    folder.chmod(0o500)
    ex = Counting()
    try:
        with pytest.raises(PermissionError, match=r"run cache folder .* cannot be written"):
            sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=folder, executor=ex, progress=False)
    finally:
        folder.chmod(0o700)
    assert ex.submitted == 0


# the capabilities that let root ignore a folder's permission bits
_OVERRIDES = ("dac_override", "dac_read_search")


def _can_override_permissions() -> bool:
    """Whether this process may write where the permission bits say no (root, by the
    capability CAP_DAC_OVERRIDE: bit 1 of CapEff in /proc/self/status)."""
    status = Path("/proc/self/status").read_text()
    effective = int(re.search(r"^CapEff:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
    return bool(effective & (1 << 1))


def _rerun_without_permission_override(test: str, tmp_path: Path) -> None:
    """Run one test of this module in a new pytest process that keeps root's user id but
    drops the capabilities to override permissions (``setpriv --bounding-set``), so that a
    read-only folder is read-only to it, as to any user. CI runs as root."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run this test without root's override"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [setpriv, "--bounding-set=" + ",".join(f"-{c}" for c in _OVERRIDES), "--",
         sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"--basetemp={tmp_path / 'inner'}", f"{Path(__file__)}::{test}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:] + proc.stderr


def test_an_unwritable_cache_path_is_reported_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    ex = Counting()
    with pytest.raises(OSError, match=r"run cache folder .* cannot be written"):
        sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=blocker / "runs", executor=ex,
              progress=False)
    assert ex.submitted == 0


def test_stale_temporary_files_are_removed_and_fresh_ones_kept(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    stale, fresh = folder / "run-x.json.abc.tmp", folder / "run-y.json.def.tmp"
    stale.write_text("{")
    fresh.write_text("{")
    old = time.time() - STALE_TMP_SECONDS - 10
    os.utime(stale, (old, old))
    sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=folder, executor=SerialExecutor(),
          progress=False)
    assert not stale.exists() and fresh.exists()


class SlowCallbacks(ThreadPoolExecutor):
    """Finishes each future at once but runs its done-callbacks late, in another thread,
    only once the caller's thread has read the result: what a process pool or a Dask
    client may do. A sweep that did not wait for its callbacks would return first."""

    def __init__(self, max_workers):
        super().__init__(max_workers=max_workers)
        self.unread: list[Future] = []  # results the caller never read

    def submit(self, fn, /, *args, **kwargs):
        inner = super().submit(fn, *args, **kwargs)
        caller, read = threading.get_ident(), threading.Event()
        callbacks = []

        class Outer(Future):
            def result(self, timeout=None):
                value = super().result(timeout)
                if threading.get_ident() == caller:
                    read.set()
                return value

        outer = Outer()
        outer.add_done_callback = callbacks.append

        def finish(f):
            outer.set_result(f.result())  # waiters (as_completed) wake up now

            def late():
                if not read.wait(timeout=120):  # a limit, so that such a sweep cannot hang
                    self.unread.append(outer)
                for cb in callbacks:
                    cb(outer)
            super(SlowCallbacks, self).submit(late)

        inner.add_done_callback(finish)
        return outer


def test_every_run_is_on_disk_when_sweep_returns(tmp_path):
    folder = tmp_path / "runs"
    with SlowCallbacks(max_workers=2) as ex:
        sweep(BASE, "lr", [1e-2, 1e-3, 1e-4], seeds=(0,), cache_dir=folder, executor=ex,
              progress=False)
        assert len(list(folder.glob("run-*.json"))) == 3  # before the executor shuts down
    assert ex.unread == []  # every callback ran after the sweep had read its result
    assert _again_three(folder) == 0


def _again_three(folder):
    ex = Counting()
    sweep(BASE, "lr", [1e-2, 1e-3, 1e-4], seeds=(0,), cache_dir=folder, executor=ex,
          progress=False)
    return ex.submitted


def test_a_run_cache_object_stores_reads_and_loads_a_run(tmp_path):
    from labcode.engine.runcache import RunCache
    from labcode.experiment import run_experiment

    config = BASE.replace(epochs=1)
    cache = RunCache(tmp_path / "runs")
    json_path, weights_path = cache.paths(config)
    assert json_path.parent == weights_path.parent == tmp_path / "runs"
    assert json_path.name.startswith("run-") and weights_path == json_path.with_suffix(".pt")
    assert cache.paths(config.replace(seed=1))[0] != json_path
    assert cache.read(config) is None and cache.load(config) is None
    cache.prepare()
    result = run_experiment(config)
    record, weights = RunCache.encode(result)
    cache.store(config, record, weights)
    assert cache.read(config) == json.loads(json.dumps(record))
    assert weights_path.read_bytes() == weights
    loaded = cache.load(config)
    assert loaded.history == result.history and loaded.test_accuracy == result.test_accuracy
    # what load_run and a sweep read
    assert load_run(config, tmp_path / "runs").history == result.history
    ex = Counting()
    sweep(config, "lr", [config.lr], seeds=(config.seed,), cache_dir=tmp_path / "runs",
          executor=ex, progress=False)
    assert ex.submitted == 0


@pytest.mark.parametrize(
    ("cache_dir", "split", "match"),
    [(None, None, "cache_dir must be a path, got NoneType"),
     (3, None, "cache_dir must be a path, got int"),
     ("runs", "book", "split must be a labcode.data.DigitsSplit, got str")],
)
def test_a_run_cache_refuses_what_is_not_a_folder_or_a_split(cache_dir, split, match):
    from labcode.engine.runcache import RunCache

    with pytest.raises(TypeError, match=match):
        RunCache(cache_dir, split)
