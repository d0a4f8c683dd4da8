"""Faults a hostile user finds: configurations that crash, bad input that slips through,
workers that outlive their parent, checkers that hang or crash instead of answering."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from labcode import checks
from labcode.checks import check_fc_forward, check_sigmoid_forward, check_simple_mlp
from labcode.data import load_digits_split
from labcode.experiment import TrainConfig, run_experiment
from labcode.gradcheck import relative_error
from labcode.models import SimpleMLP
from labcode.numpy_net import fc_forward, sigmoid_forward
from labcode.torch_data import DigitsDataset, make_loaders
from labcode.training import fit, make_optimizer

REPO = Path(__file__).resolve().parents[1]


# --- ComplexMLP at every batch size the config accepts -----------------------------------


@pytest.fixture(scope="module")
def split():
    return load_digits_split(seed=0)


@pytest.mark.parametrize("batch_size", [4, 2, 1076])  # 1077 % batch_size == 1
def test_the_training_loader_never_ends_on_a_batch_of_one_sample(split, batch_size):
    loaders = make_loaders(split, batch_size=batch_size, seed=0)
    sizes = [len(y) for _, y in loaders.train]
    assert min(sizes) >= 2 and sum(sizes) == len(split.train) - 1
    assert len(loaders.train) == len(sizes)


def test_the_training_loader_keeps_every_sample_otherwise(split):
    sizes = [len(y) for _, y in make_loaders(split, batch_size=32, seed=0).train]
    assert sum(sizes) == len(split.train) and sizes[-1] == len(split.train) % 32


def test_complex_mlp_trains_where_the_last_batch_would_hold_one_sample(split):
    result = run_experiment(TrainConfig(model="complex", batch_size=4, epochs=1), split)
    assert len(result.history) == 1 and not result.diverged


def test_a_batch_norm_model_with_batches_of_one_is_refused_at_creation():
    with pytest.raises(ValueError, match=r"TrainConfig.batch_size.*BatchNorm.*at least 2"):
        TrainConfig(model="complex", batch_size=1)
    assert TrainConfig(model="simple", batch_size=1).batch_size == 1


# --- bad input that slipped through --------------------------------------------------------


def test_a_model_name_that_is_not_a_string_is_named():
    with pytest.raises((TypeError, ValueError), match=r"TrainConfig.model"):
        TrainConfig(model=["simple"])
    with pytest.raises((TypeError, ValueError), match=r"TrainConfig.optimizer"):
        TrainConfig(optimizer={"adam": 1})


@pytest.mark.parametrize("seed", [2**32, -1, 2**64])
def test_the_split_seed_is_checked_at_the_door(seed):
    with pytest.raises(ValueError, match=r"seed must be"):
        load_digits_split(seed=seed)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_gpu_is_our_message_not_torchs(split):
    with pytest.raises(ValueError, match=r"CUDA"):
        DigitsDataset(split.val.X, split.val.y, device="cuda")
    with pytest.raises(ValueError, match=r"CUDA"):
        make_loaders(split, device="cuda")


def test_fit_refuses_an_optimizer_over_another_models_parameters(split):
    model, other = SimpleMLP(), SimpleMLP()
    optimizer = make_optimizer("adam", other.parameters(), 1e-3)
    with pytest.raises(ValueError, match=r"optimizer.*parameters of the model"):
        fit(model, make_loaders(split).train, optimizer=optimizer, epochs=1)


def test_relative_error_refuses_complex_numbers():
    with pytest.raises(TypeError, match=r"a must be an array of real numbers"):
        relative_error(np.array([1 + 1j]), np.array([1.0]))


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labcode", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def test_the_cli_takes_no_abbreviations():
    proc = _cli("sweep", "lr", "0.1", "--seed", "3", "--epochs", "1")
    assert proc.returncode == 2
    assert "unrecognized arguments: --seed" in proc.stderr or "--seed" in proc.stderr


@pytest.mark.parametrize("args, words", [
    (["sweep", "lr", "0.1", "--seeds", "100000000"], "--seeds must be at most"),
    (["train", "--epochs", "10000000"], "--epochs must be at most"),
])
def test_the_cli_bounds_seeds_and_epochs(args, words):
    proc = _cli(*args)
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert "--no-limits" in proc.stderr  # and says how to lift the bound


# --- no orphans ----------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(c) for c in text.split()}
    return found


def _wait_for_exit(pids: set[int], timeout: float) -> set[int]:
    """Wait until every process of ``pids`` has exited, or ``timeout`` seconds have passed;
    the ones still running. Woken by the kernel as each exits (a pidfd becomes readable),
    not by polling."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue  # gone already
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    try:
        while fds and (left := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(left * 1000):
                poller.unregister(fd)
                os.close(fd)
                del fds[fd]
        return {fds[fd] for fd in fds}
    finally:
        for fd in fds:
            os.close(fd)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_pool_workers_exit_when_the_cli_dies(sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "labcode", "sweep", "hidden_size", "8", "16", "--seeds", "2",
         "--epochs", "200", "--workers", "2", "--no-progress"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = {c for c in _children(proc.pid) if _alive(c)}
        assert len(workers) >= 2, "the sweep never started its workers"
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        assert _wait_for_exit(workers, timeout=10) == set(), "a worker outlived its parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


# --- checkers that always answer -------------------------------------------------------------


def test_an_endless_loop_is_a_verdict(monkeypatch):
    monkeypatch.setattr(checks.framework, "TIME_LIMIT", 1.0)

    def forever(X, W):
        while True:
            pass

    verdict = check_fc_forward(forever, verbose=False)  # returns at all: the limit fired
    assert verdict.status == "error"
    assert "did not finish within 1 s" in verdict.message and "endless loop" in verdict.message


def test_an_endless_forward_pass_is_a_verdict(monkeypatch):
    monkeypatch.setattr(checks.framework, "TIME_LIMIT", 1.0)

    class Endless(SimpleMLP):
        def forward(self, x):
            while True:
                pass

    verdict = check_simple_mlp(Endless, verbose=False)
    assert verdict.status == "error" and "did not finish" in verdict.message


@pytest.mark.parametrize("error", [SystemExit(3), GeneratorExit(), type("Odd", (BaseException,), {})()])
def test_a_base_exception_is_a_verdict(error):
    def raises(X, W):
        raise error

    verdict = check_fc_forward(raises, verbose=False)
    assert verdict.status == "error" and type(error).__name__ in verdict.message


def test_an_exception_that_cannot_be_printed_is_a_verdict():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    def raises(X, W):
        raise Unprintable()

    verdict = check_fc_forward(raises, verbose=False)
    assert verdict.status == "error" and "Unprintable" in verdict.message


def test_a_result_that_cannot_be_printed_is_a_verdict():
    class Opaque:
        def __repr__(self):
            raise RuntimeError("no")

    verdict = check_fc_forward(lambda X, W: Opaque(), verbose=False)
    assert verdict.status == "failed" and "Opaque" in verdict.message


def test_a_huge_message_is_cut():
    def raises(X, W):
        raise ValueError("x" * 10_000_000)

    verdict = check_fc_forward(raises, verbose=False)
    assert verdict.status == "error" and len(verdict.message) < 5000
    assert "characters left out" in verdict.message


def test_the_reference_is_immune_to_the_notebooks_floating_point_settings():
    old = np.seterr(all="raise")
    try:
        assert check_sigmoid_forward(sigmoid_forward, verbose=False).passed
        assert check_fc_forward(fc_forward, verbose=False).passed
        assert np.geterr()["over"] == "raise"  # the notebook's setting is left as it was
    finally:
        np.seterr(**old)


# --- wrong models that used to pass ----------------------------------------------------------


class _DropoutMLP(SimpleMLP):
    def __init__(self, in_features=64, hidden_size=32, num_classes=10):
        super().__init__(in_features, hidden_size, num_classes)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x):
        return self.fc2(self.drop(self.relu(self.fc1(x))))


class _DetachedMLP(SimpleMLP):
    def forward(self, x):
        hidden = self.relu(self.fc1(x))
        return self.fc2(hidden.detach() if self.training else hidden)


class _SpareParameterMLP(torch.nn.Module):
    def __init__(self, in_features=64, hidden_size=32, num_classes=10):
        super().__init__()
        self.fc1 = torch.nn.Linear(in_features, hidden_size)
        self.relu = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(hidden_size, num_classes, bias=False)
        self.spare = torch.nn.Parameter(torch.zeros(num_classes))

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x))) + self.spare


def _affine_free_complex():
    from labcode.models import ComplexMLP

    class AffineFree(ComplexMLP):
        def __init__(self, in_features=64, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
            super().__init__(in_features, hidden_sizes, num_classes, dropout)
            self.spares = torch.nn.ParameterList()
            for block in self.blocks:
                n = block[1].num_features
                block[1] = torch.nn.BatchNorm1d(n, affine=False)
                self.spares.append(torch.nn.Parameter(torch.ones(n)))
                self.spares.append(torch.nn.Parameter(torch.zeros(n)))

    return AffineFree


@pytest.mark.parametrize("cls, words", [
    (_DropoutMLP, "only Linear, ReLU layers"),
    (_DetachedMLP, "gradients reaching every parameter"),
    (_SpareParameterMLP, "without a bias"),
])
def test_wrong_simple_mlps_fail(cls, words):
    verdict = check_simple_mlp(cls, verbose=False)
    assert verdict.status == "failed" and words in verdict.message, verdict.message


def test_a_complex_mlp_without_batchnorms_scale_fails():
    from labcode.checks import check_complex_mlp

    verdict = check_complex_mlp(_affine_free_complex(), verbose=False)
    assert verdict.status == "failed" and "affine=False" in verdict.message, verdict.message


def test_a_result_that_breaks_the_check_is_a_verdict():
    from labcode.checks import check_gradient_step

    class Hostile(dict):
        def __getitem__(self, key):
            raise RuntimeError("no")

    verdict = check_gradient_step(lambda params, grads, lr: Hostile(params), verbose=False)
    assert verdict.status in ("error", "failed")  # a verdict, not a crash of the checker


def test_a_forward_that_turns_its_layers_to_double_is_a_verdict():
    class Doubled(SimpleMLP):
        def forward(self, x):
            self.double()
            return super().forward(x.double())

    verdict = check_simple_mlp(Doubled, verbose=False)
    assert verdict.status in ("failed", "error") and "SimpleMLP" in verdict.message
