"""Tests of labcode.engine.sweep: the grid, the run cache and resume, divergence, executors."""

from __future__ import annotations

import json
import os
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import torch

import labcode.engine.pool as pool_module
import labcode.engine.runcache as runcache_module
from labcode.data import load_digits_split
from labcode.engine.pool import SerialExecutor, process_pool
from labcode.engine.runcache import RunCacheWarning, cached_experiment, load_run
from labcode.engine.stacked import train_stacked
from labcode.engine.sweep import SWEEPABLE, SweepResult, sweep, train_runs
from labcode.experiment import TrainConfig, run_experiment

import numerics

# small runs: 2 epochs each, so the whole module stays fast
BASE = TrainConfig(epochs=2)


class CountingExecutor(SerialExecutor):
    """Runs tasks at once and counts them; can simulate an interrupt after ``stop_after``."""

    def __init__(self, stop_after: int | None = None):
        self.submitted = 0
        self.stop_after = stop_after

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if self.stop_after is not None and self.submitted >= self.stop_after:
            raise KeyboardInterrupt("simulated interrupt")
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture(scope="module")
def reference() -> SweepResult:
    return sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0, 1), executor=SerialExecutor())


def test_table_has_one_row_per_run_and_epoch(reference):
    t = reference.table
    assert list(t.columns) == [
        "param", "value", "seed", "epoch", "train_loss", "train_accuracy",
        "val_loss", "val_accuracy", "test_accuracy", "diverged",
    ]  # fmt: skip
    assert len(t) == 2 * 2 * 2
    assert set(t["param"]) == {"lr"}
    assert sorted(set(t["value"])) == [1e-3, 1e-2]
    assert set(zip(t["value"], t["seed"], t["epoch"])) == {
        (v, s, e) for v in (1e-2, 1e-3) for s in (0, 1) for e in (1, 2)
    }
    assert t["val_accuracy"].between(0, 1).all()
    r = reference.runs
    assert len(r) == 4 and not r["diverged"].any() and not r["cached"].any()
    assert (r["epochs_run"] == 2).all()
    # per-run test accuracy appears on each of the run's rows
    for _, run in r.iterrows():
        rows = t[(t["value"] == run["value"]) & (t["seed"] == run["seed"])]
        assert (rows["test_accuracy"] == run["test_accuracy"]).all()


def test_sweep_equals_individual_runs(reference):
    from labcode.experiment import run_experiment

    one = run_experiment(BASE.replace(lr=1e-3, seed=1))
    rows = reference.table[(reference.table["value"] == 1e-3) & (reference.table["seed"] == 1)]
    np.testing.assert_array_equal(rows["val_accuracy"], one.history.val_accuracy)
    run = reference.runs[(reference.runs["value"] == 1e-3) & (reference.runs["seed"] == 1)]
    assert run["test_accuracy"].item() == one.test_accuracy


def test_summary_and_final_val_accuracy(reference):
    s = reference.summary()
    assert list(s.index) == [1e-2, 1e-3]
    assert (s["runs"] == 2).all()
    acc = reference.final_val_accuracy(1e-2)
    assert acc.shape == (2,)
    assert s.loc[1e-2, "val_mean"] == pytest.approx(acc.mean())
    with pytest.raises(ValueError, match=r"0.5 is not one of the values of this sweep over lr"):
        reference.final_val_accuracy(0.5)


def test_the_seeds_of_one_value_are_one_task_and_one_record_each(tmp_path):
    ex = CountingExecutor()
    result = sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0, 1, 2), cache_dir=tmp_path, executor=ex)
    assert ex.submitted == 2  # one stack of three seeds per value
    assert len(result.runs) == 6
    assert len(list(tmp_path.glob("run-*.json"))) == len(list(tmp_path.glob("run-*.pt"))) == 6
    for lr in (1e-2, 1e-3):
        for seed in (0, 1, 2):
            assert load_run(BASE.replace(lr=lr, seed=seed), tmp_path) is not None


def test_resume_after_interrupt_computes_only_the_missing_runs(tmp_path, reference):
    cache = tmp_path / "runs"
    k = 1  # tasks: each holds the two seeds of one value
    with pytest.raises(KeyboardInterrupt):
        sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0, 1), cache_dir=cache,
              executor=CountingExecutor(stop_after=k))
    assert len(list(cache.glob("run-*.json"))) == 2 * k
    assert not list(cache.glob("*.tmp"))  # written atomically: no partial files left
    rerun = CountingExecutor()
    resumed = sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0, 1), cache_dir=cache, executor=rerun)
    assert rerun.submitted == 2 - k
    assert resumed.runs["cached"].sum() == 2 * k
    pd.testing.assert_frame_equal(resumed.table, reference.table)
    again = CountingExecutor()
    sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0, 1), cache_dir=cache, executor=again)
    assert again.submitted == 0


def test_cache_never_mixes_other_configs_or_code(tmp_path, monkeypatch):
    cache = tmp_path / "runs"
    sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=cache, executor=SerialExecutor())
    # another base config: nothing is reused
    ex = CountingExecutor()
    sweep(BASE.replace(batch_size=64), "lr", [1e-2], seeds=(0,), cache_dir=cache, executor=ex)
    assert ex.submitted == 1
    # other labcode source: nothing is reused
    monkeypatch.setattr(runcache_module, "source_fingerprint", lambda: "0" * 16)
    ex = CountingExecutor()
    sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=cache, executor=ex)
    assert ex.submitted == 1


def test_cache_file_with_wrong_content_is_recomputed(tmp_path):
    cache = tmp_path / "runs"
    first = sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=cache, executor=SerialExecutor())
    (path,) = cache.glob("run-*.json")
    payload = json.loads(path.read_text())
    payload["record"]["config"]["lr"] = 0.5  # a file that does not match its key
    path.write_text(json.dumps(payload))
    ex = CountingExecutor()
    with pytest.warns(RunCacheWarning, match=str(path)):
        again = sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=cache, executor=ex)
    assert ex.submitted == 1
    pd.testing.assert_frame_equal(again.table, first.table)
    path.write_text("{not json")
    ex = CountingExecutor()
    with pytest.warns(RunCacheWarning, match="cannot be read"):
        sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=cache, executor=ex)
    assert ex.submitted == 1


def test_a_diverging_run_is_recorded_not_dropped():
    base = TrainConfig(optimizer="sgd", epochs=3)
    result = sweep(base, "lr", [1e10, 1e-2], seeds=(0,), executor=SerialExecutor())
    runs = result.runs.set_index("value")
    assert bool(runs.loc[1e10, "diverged"]) is True
    assert runs.loc[1e10, "diverged_at_epoch"] >= 1
    assert runs.loc[1e10, "epochs_run"] < 3
    assert bool(runs.loc[1e-2, "diverged"]) is False
    assert result.summary().loc[1e10, "diverged"] == 1
    # its finite epochs, if any, are in the table, all flagged
    assert result.table[result.table["value"] == 1e10]["diverged"].all()


@pytest.mark.parametrize(
    ("param", "values", "exc", "match"),
    [
        ("seed", [1, 2], ValueError, r"param must be one of \['model', .*\], got 'seed'"),
        ("learning_rate", [0.1], ValueError, r"got 'learning_rate'"),
        ("lr", [0.1, -1.0], ValueError, r"sweep over lr: the value -1.0 is invalid: TrainConfig.lr"),
        ("optimizer", ["adam", "lbfgs"], ValueError, r"the value 'lbfgs' is invalid.*unknown optimizer"),
        ("hidden_size", [32, 0], ValueError, r"the value 0 is invalid"),
        ("epochs", [2.5], TypeError, r"the value 2.5 is invalid"),
        ("lr", [], ValueError, r"values must name at least one value for lr"),
        ("lr", [0.1, 0.1], ValueError, r"values must not repeat, but lr=0.1 appears twice"),
        ("lr", 0.1, TypeError, r"values must be a sequence of values for lr"),
    ],
)
def test_invalid_sweeps_fail_before_any_run(param, values, exc, match):
    ex = CountingExecutor()
    with pytest.raises(exc, match=match):
        sweep(BASE, param, values, executor=ex)
    assert ex.submitted == 0


@pytest.mark.parametrize(
    ("seeds", "match"),
    [((), "at least one seed"), ((0, 0), "must not repeat"), ((-1,), r"ints >= 0 and below 2\*\*32, got -1")],
)
def test_invalid_seeds_fail_before_any_run(seeds, match):
    ex = CountingExecutor()
    with pytest.raises(ValueError, match=match):
        sweep(BASE, "lr", [0.1], seeds=seeds, executor=ex)
    assert ex.submitted == 0


def test_sweepable_fields_exist():
    import dataclasses

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(SWEEPABLE) <= names
    assert "seed" not in SWEEPABLE


def test_default_process_pool_gives_the_same_table(reference):
    parallel = sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0, 1), progress=False)
    pd.testing.assert_frame_equal(parallel.table, reference.table)


def test_default_pool_is_made_once_and_reused(tmp_path):
    sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=tmp_path, progress=False)
    first = pool_module._POOL
    assert first is not None
    sweep(BASE, "lr", [1e-3], seeds=(0,), cache_dir=tmp_path, progress=False)
    assert pool_module._POOL is first
    assert pool_module.default_pool() is first


@pytest.mark.parametrize(
    ("workers", "exc"),
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_process_pool_rejects_bad_worker_counts(workers, exc):
    with pytest.raises(exc, match=r"workers must be an int >= 1, got"):
        process_pool(workers)


def _outputs(model, X):
    model.eval()
    with torch.no_grad():
        return model(X)


def test_the_cache_keeps_each_runs_weights(tmp_path):
    sweep(BASE, "lr", [1e-2], seeds=(0, 1), cache_dir=tmp_path, executor=SerialExecutor())
    assert len(list(tmp_path.glob("run-*.pt"))) == 2
    config = BASE.replace(lr=1e-2, seed=1)
    loaded = load_run(config, tmp_path)
    # exactly what the stack of the sweep's two seeds trained
    fresh = train_stacked([config.replace(seed=0), config])[1]
    assert loaded.history == fresh.history
    assert (loaded.val_accuracy, loaded.val_loss, loaded.test_accuracy, loaded.test_loss) == (
        fresh.val_accuracy, fresh.val_loss, fresh.test_accuracy, fresh.test_loss)
    X = torch.randn(7, 64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(_outputs(loaded.model, X), _outputs(fresh.model, X))
    # and run_experiment's run of that seed, up to round-off
    alone = run_experiment(config)
    assert loaded.history.val_accuracy == alone.history.val_accuracy
    assert loaded.test_accuracy == alone.test_accuracy
    # float32, 2 epochs of 34 steps trained stacked or alone (tests/numerics.py), then a
    # forward pass, on terms of the outputs' size
    steps = BASE.epochs * -(-len(load_digits_split(seed=0).train.y) // BASE.batch_size)
    expected = _outputs(alone.model, X)
    torch.testing.assert_close(_outputs(loaded.model, X), expected, **numerics.close(
        torch.float32, numerics.training(steps=steps, batch=BASE.batch_size) + 64 + 32 + 10,
        scale=expected.abs().max().item()))


def test_load_run_is_none_without_the_run_or_its_weights(tmp_path):
    assert load_run(BASE, tmp_path) is None
    sweep(BASE, "lr", [1e-2], seeds=(0,), cache_dir=tmp_path, executor=SerialExecutor())
    assert load_run(BASE.replace(lr=1e-3), tmp_path) is None  # another config
    config = BASE.replace(lr=1e-2)
    assert load_run(config, tmp_path) is not None
    (weights,) = tmp_path.glob("run-*.pt")
    weights.write_bytes(b"not a state dict")
    with pytest.warns(RunCacheWarning, match="does not match the digest"):
        assert load_run(config, tmp_path) is None
    weights.unlink()
    with pytest.warns(RunCacheWarning, match="is missing"):
        assert load_run(config, tmp_path) is None
    with pytest.raises(TypeError, match="TrainConfig"):
        load_run({"lr": 1e-2}, tmp_path)


def test_cached_experiment_trains_once_then_reads(tmp_path, monkeypatch):
    first = cached_experiment(BASE, cache_dir=tmp_path)

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of reading the cache")

    monkeypatch.setattr(runcache_module, "run_experiment", no_training)
    again = cached_experiment(BASE, cache_dir=tmp_path)
    assert again.history == first.history
    X = torch.randn(3, 64, generator=torch.Generator().manual_seed(1))
    assert torch.equal(_outputs(again.model, X), _outputs(first.model, X))
    # a sweep finds the run cached_experiment stored
    result = sweep(BASE, "lr", [BASE.lr], seeds=(BASE.seed,), cache_dir=tmp_path,
                   executor=CountingExecutor(stop_after=0))
    assert result.runs["cached"].all()


def test_train_runs_trains_only_what_the_cache_lacks(tmp_path):
    configs = [BASE.replace(seed=s) for s in (0, 1)]
    ex = CountingExecutor()
    assert train_runs(configs + configs[:1], cache_dir=tmp_path, executor=ex) == configs
    assert ex.submitted == 1  # the two seeds as one stack; the duplicate is trained once
    again = CountingExecutor(stop_after=0)
    assert train_runs(configs, cache_dir=tmp_path, executor=again) == []
    result = sweep(BASE, "lr", [BASE.lr], seeds=(0, 1), cache_dir=tmp_path,
                   executor=CountingExecutor(stop_after=0))
    assert result.runs["cached"].all()
    with pytest.raises(TypeError, match=r"configs\[0\]"):
        train_runs([{"lr": 1e-2}], cache_dir=tmp_path)


def test_dask_executor_gives_the_same_table(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        result = sweep(BASE, "lr", [1e-2, 1e-3], seeds=(0, 1), executor=client.get_executor())
    pd.testing.assert_frame_equal(result.table, reference.table)


# Adam at the book's largest learning rate, where a difference in the last bit grows: a
# run's numbers then depend on the stack it is trained in (its size, its place in it)
CHAOTIC = TrainConfig(lr=0.1, epochs=2)
FIVE_SEEDS = (0, 1, 2, 3, 4)


def _numbers(result: SweepResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sweep's numbers: its tables without the wall-clock time and the ``cached`` flag."""
    return result.table, result.runs.drop(columns=["train_seconds", "cached"])


def _kill_at_record(monkeypatch, count: int) -> None:
    """Make the ``count``-th run record moved into place raise KeyboardInterrupt instead,
    as a kill between two files of a stack would stop the sweep."""
    real, seen = os.replace, []

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith(".json") and Path(dst).name.startswith("run-"):
            seen.append(dst)
            if len(seen) == count:
                raise KeyboardInterrupt("simulated kill")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_a_sweep_killed_inside_a_stack_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    whole = sweep(CHAOTIC, "lr", [CHAOTIC.lr], seeds=FIVE_SEEDS, cache_dir=tmp_path / "whole",
                  executor=SerialExecutor(), progress=False)
    regrouped_differs = []
    for stored in (1, 2, 3):  # runs of the five-seed stack on disk when the sweep dies
        cache = tmp_path / f"killed-after-{stored}"
        with monkeypatch.context() as m:
            _kill_at_record(m, stored + 1)
            with pytest.raises(KeyboardInterrupt):
                sweep(CHAOTIC, "lr", [CHAOTIC.lr], seeds=FIVE_SEEDS, cache_dir=cache,
                      executor=SerialExecutor(), progress=False)
        assert len(list(cache.glob("run-*.json"))) == stored
        resumed = sweep(CHAOTIC, "lr", [CHAOTIC.lr], seeds=FIVE_SEEDS, cache_dir=cache,
                        executor=SerialExecutor(), progress=False)
        assert resumed.runs["cached"].sum() == stored
        for got, expected in zip(_numbers(resumed), _numbers(whole)):
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
        X = torch.randn(7, 64, generator=torch.Generator().manual_seed(0))
        for seed in FIVE_SEEDS:
            config = CHAOTIC.replace(seed=seed)
            a, b = load_run(config, cache), load_run(config, tmp_path / "whole")
            assert a.history == b.history
            assert torch.equal(_outputs(a.model, X), _outputs(b.model, X))
        # what a stack of only the missing seeds would have given
        alone = train_stacked([CHAOTIC.replace(seed=s) for s in FIVE_SEEDS[stored:]])
        regrouped_differs.append(any(
            r.history != load_run(r.config, cache).history for r in alone))
    # else this setting no longer tells a regrouped stack from the first: choose another
    assert any(regrouped_differs)


def test_a_stack_partly_stored_by_another_sweep_is_trained_whole_and_the_stored_runs_kept(
        tmp_path):
    three = sweep(CHAOTIC, "lr", [CHAOTIC.lr], seeds=(0, 1, 2), cache_dir=tmp_path,
                  executor=SerialExecutor(), progress=False)
    ex = CountingExecutor()
    five = sweep(CHAOTIC, "lr", [CHAOTIC.lr], seeds=FIVE_SEEDS, cache_dir=tmp_path, executor=ex,
                 progress=False)
    assert ex.submitted == 1 and five.runs["cached"].tolist() == [True] * 3 + [False] * 2
    # the stored runs are read, not replaced: the first sweep reads its own numbers again
    pd.testing.assert_frame_equal(five.runs.iloc[:3].drop(columns="cached"),
                                  three.runs.drop(columns="cached"), check_exact=True)
    # the missing runs are those of the stack of all five seeds
    stack = train_stacked([CHAOTIC.replace(seed=s) for s in FIVE_SEEDS])
    for seed in (3, 4):
        assert load_run(CHAOTIC.replace(seed=seed), tmp_path).history == stack[seed].history
    again = CountingExecutor(stop_after=0)
    pd.testing.assert_frame_equal(
        sweep(CHAOTIC, "lr", [CHAOTIC.lr], seeds=FIVE_SEEDS, cache_dir=tmp_path, executor=again,
              progress=False).runs.drop(columns="cached"),
        five.runs.drop(columns="cached"), check_exact=True)


def test_closing_the_default_pool_makes_the_next_one_new():
    first = pool_module.default_pool()
    assert pool_module.default_pool() is first
    pool_module.close_default_pool()
    second = pool_module.default_pool()
    assert second is not first
    assert second.submit(int, "7").result() == 7
    with pytest.raises(RuntimeError, match="shutdown"):
        first.submit(int, "7")
