"""Checks run once, at the door: counted per iteration, per batch and per run, and the
bad inputs of every public entry point answered by a clear TypeError or ValueError."""

from __future__ import annotations

import collections
import functools
import inspect
import sys

import numpy as np
import pytest
import torch
from torch import nn

from labcode import _validate
from labcode.data import load_digits_split, one_hot
from labcode.experiment import TrainConfig, run_experiment
from labcode.models import ComplexMLP, SimpleMLP
from labcode.numpy_net import NumpyNetwork, train_network
from labcode.training import fit, make_optimizer, train_epoch, weight_penalty


@pytest.fixture
def validations(monkeypatch) -> collections.Counter:
    """Counts the calls into ``labcode._validate`` made from outside it, by caller."""
    counts: collections.Counter = collections.Counter()
    for name, f in list(vars(_validate).items()):
        if not inspect.isfunction(f) or f.__module__ != _validate.__name__:
            continue
        if name in ("checked", "describe") or name.startswith("_"):
            continue

        def counted(*args, __f=f, __name=name, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__")
            if caller != _validate.__name__:
                counts[f"{__name} from {caller}"] += 1
            return __f(*args, **kwargs)

        monkeypatch.setattr(_validate, name, functools.wraps(f)(counted))
    return counts


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 64)), rng.integers(0, 10, n)


def test_the_numpy_loops_check_nothing_per_iteration(validations):
    X, y = _data()
    spent = {}
    for epochs in (1, 5):
        validations.clear()
        NumpyNetwork((64, 16, 10), seed=0).fit(X, one_hot(y), lr=0.1, epochs=epochs)
        spent[epochs] = sum(validations.values())
    assert spent[1] == spent[5] > 0, spent
    net = NumpyNetwork((64, 10), seed=0)
    for iterations in (1, 5):
        validations.clear()
        train_network(net.params, X, one_hot(y), 0.1, iterations)
        spent[f"train_network {iterations}"] = sum(validations.values())
    assert spent["train_network 1"] == spent["train_network 5"] > 0, spent


def _batches(n_batches, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, 64, generator=g), torch.randint(0, 10, (size,), generator=g))
            for _ in range(n_batches)]


@pytest.mark.parametrize("penalty", [None, "l1"])
def test_the_torch_loops_check_nothing_per_batch_or_epoch(validations, penalty):
    spent = {}
    for n_batches in (1, 6):
        torch.manual_seed(0)
        model = ComplexMLP()
        optimizer = make_optimizer("adam", model.parameters(), 1e-3)
        pen = None if penalty is None else (lambda m: weight_penalty(m, l1=1e-3))
        validations.clear()
        train_epoch(model, _batches(n_batches), optimizer, pen)
        spent[f"train_epoch {n_batches}"] = sum(validations.values())
        validations.clear()
        fit(model, _batches(n_batches), optimizer=optimizer, epochs=n_batches,
            val_loader=_batches(2), l1=1e-3 if penalty else 0.0)
        spent[f"fit {n_batches}"] = sum(validations.values())
    assert spent["train_epoch 1"] == spent["train_epoch 6"] > 0, spent
    assert spent["fit 1"] == spent["fit 6"] > 0, spent


def test_one_run_checks_its_arguments_about_twenty_times_at_most(validations):
    split = load_digits_split(seed=0)
    spent = {}
    for epochs in (1, 3):
        config = TrainConfig(epochs=epochs, l2=1e-4)
        validations.clear()
        run_experiment(config, split)
        spent[epochs] = dict(validations)
    assert spent[1] == spent[3], spent
    assert 0 < sum(spent[1].values()) <= 20, spent[1]


def test_a_call_from_inside_a_checked_call_skips_its_checks_but_not_a_later_outer_one():
    X, y = _data(10)
    net = NumpyNetwork((64, 10), seed=0)
    net.fit(X, one_hot(y), lr=0.1, epochs=1)  # nested calls skipped their checks ...
    with pytest.raises(TypeError, match="X must be a float64 NumPy array"):
        from labcode.numpy_net import fc_forward
        fc_forward(X.astype(np.float32), net.params["W1"])  # ... and this one, outside, does not


def test_an_error_inside_a_checked_call_leaves_the_next_call_checked():
    model = SimpleMLP()
    with pytest.raises(TypeError):
        model(np.zeros((2, 64), dtype=np.float32))
    with pytest.raises(ValueError, match=r"x must have shape \(batch_size, 64\), got \(2, 63\)"):
        model(torch.zeros(2, 63))


# --- The bad inputs of the review, each a clear error naming the argument ---------------------


def _cases():
    from labcode.data import DigitsSplit, add_bias, confusion_matrix
    from labcode.experiment import compare_values, torch_threads
    from labcode.numpy_net import fc_backward, forward_pass, gradient_step, sigmoid_backward
    from labcode.torch_data import DigitsDataset
    from labcode.training import evaluate, logsumexp_cross_entropy, naive_cross_entropy, predict

    X = np.ones((4, 3))
    W = np.ones((3, 2))
    dZ = np.ones((4, 2))
    x64 = torch.zeros(2, 64)
    logits = torch.zeros(2, 10)
    bf16 = torch.rand(3, 64).to(torch.bfloat16)

    def fit_on(batches, model=None):
        model = model or SimpleMLP()
        return fit(model, batches, optimizer=make_optimizer("sgd", model.parameters(), 0.1),
                   epochs=1)

    def enter(context):
        with context:
            pass

    yield "bool labels", lambda: one_hot([True, False]), TypeError, "y must hold integer class labels"
    yield "complex gradient", lambda: gradient_step({"W1": W}, {"W1": W.astype(complex)}, 0.1), \
        TypeError, r"grads\['W1'\] must hold real numbers"
    yield "threads 2**40", lambda: TrainConfig(num_threads=2**40), ValueError, \
        "TrainConfig.num_threads must be at most 1024"
    yield "hidden 2**40", lambda: TrainConfig(hidden_size=2**40), ValueError, \
        "TrainConfig.hidden_size must be at most 8192"
    yield "threads 2**40 in torch_threads", lambda: enter(torch_threads(2**40)), ValueError, \
        "num_threads must be at most 1024"
    yield "predict with a model that scores no classes", \
        lambda: predict(nn.Identity(), np.eye(64)[[3, 11]]), ValueError, "pass num_classes"
    yield "predict with 64 outputs for 10 classes", \
        lambda: predict(nn.Linear(64, 64), np.eye(64)[[3, 11]], num_classes=10), ValueError, \
        "model must give 10 logits per row of X, one per class, but its last Linear layer has 64"
    yield "fc_backward(dZ, None)", lambda: fc_backward(dZ, None), TypeError, \
        r"cache must be the cache fc_forward returned, the tuple \(X, W\), got NoneType"
    yield "fc_backward(dZ, (X,))", lambda: fc_backward(dZ, (X,)), TypeError, \
        r"cache must be the cache fc_forward returned"
    yield "fc_backward with lists", lambda: fc_backward(dZ.tolist(), (X.tolist(), W.tolist())), \
        TypeError, r"cache\[0\] \(X\) must be a float64 NumPy array, got list"
    yield "sigmoid_backward(dA, None)", lambda: sigmoid_backward(dZ, None), TypeError, \
        "cache must be the cache sigmoid_forward returned, the matrix A"
    yield "bfloat16 batch into a model", lambda: SimpleMLP()(bf16), TypeError, \
        r"x must have the dtype of the model's weights, torch.float32, got torch.bfloat16"
    yield "bfloat16 batches into fit", lambda: fit_on([(bf16, torch.zeros(3, dtype=torch.long))]), \
        TypeError, r"the inputs of batch 0 of train_loader must have the dtype"
    yield "DigitsDataset['a']", lambda: DigitsDataset(X, [0, 1, 2, 3])["a"], TypeError, \
        "index must be an int, a list of ints or an int tensor below 4, got str 'a'"
    yield "SimpleMLP()(ndarray)", lambda: SimpleMLP()(np.zeros((2, 64), np.float32)), TypeError, \
        r"x must be a torch.Tensor of shape \(batch_size, 64\), got array"
    yield "a (2, 63) batch", lambda: SimpleMLP()(torch.zeros(2, 63)), ValueError, \
        r"x must have shape \(batch_size, 64\), got \(2, 63\)"
    yield "a (2, 63) batch, ComplexMLP", lambda: ComplexMLP()(torch.zeros(2, 63)), ValueError, \
        r"x must have shape \(batch_size, 64\), got \(2, 63\)"
    yield "a float64 batch", lambda: SimpleMLP()(x64.double()), TypeError, \
        "x must have the dtype of the model's weights, torch.float32, got torch.float64"
    yield "a float64 batch, ComplexMLP", lambda: ComplexMLP()(x64.double()), TypeError, \
        "x must have the dtype of the model's weights"
    yield "ComplexMLP on one sample", lambda: ComplexMLP()(torch.zeros(1, 64)), ValueError, \
        r"x holds 1 sample\(s\), but in training mode BatchNorm needs at least 2"
    yield "make_optimizer with the model", \
        lambda: make_optimizer("adam", SimpleMLP(), 1e-3), TypeError, \
        r"params must be the model's parameters, model.parameters\(\), not the model itself"
    yield "make_optimizer with no parameters", lambda: make_optimizer("adam", [], 1e-3), \
        ValueError, "params must hold at least one parameter, got none"
    yield "fit with float labels", lambda: fit_on([(x64, torch.zeros(2))]), TypeError, \
        r"the labels of batch 0 of train_loader must hold class indices as int64"
    yield "fit with a label of 10", lambda: fit_on([(x64, torch.tensor([1, 10]))]), ValueError, \
        r"the labels of batch 0 of train_loader must hold class indices in 0..9, got 10"
    yield "fit with a label of -1", lambda: fit_on([(x64, torch.tensor([-1, 1]))]), ValueError, \
        r"must hold class indices in 0..9, got -1"
    yield "fit with NumPy batches", lambda: fit_on([(np.zeros((2, 64), np.float32), np.zeros(2))]), \
        TypeError, r"the inputs of batch 0 of train_loader must be a torch.Tensor"
    yield "fit with a generator", lambda: fit_on(b for b in [(x64, torch.zeros(2).long())]), \
        TypeError, "train_loader is an iterator"
    yield "fit with no batches", lambda: fit_on([]), ValueError, "train_loader yielded no"
    yield "evaluate with a label of 10", lambda: evaluate(SimpleMLP(), [(x64, torch.tensor([1, 10]))]), \
        ValueError, r"the labels of batch 0 of loader must hold class indices in 0..9"
    for loss in (logsumexp_cross_entropy, naive_cross_entropy):
        yield f"{loss.__name__} with float targets", lambda loss=loss: loss(logits, torch.zeros(2)), \
            TypeError, "targets must hold class indices as int64"
        yield f"{loss.__name__} with a target of 10", \
            lambda loss=loss: loss(logits, torch.tensor([1, 10])), ValueError, \
            r"targets must hold class indices in 0..9, got 10"
        yield f"{loss.__name__} with a target of -1", \
            lambda loss=loss: loss(logits, torch.tensor([-1, 1])), ValueError, \
            r"targets must hold class indices in 0..9, got -1"
    yield "one_hot of 2**40 classes", lambda: one_hot([0, 1], num_classes=2**40), ValueError, \
        "num_classes must be at most 65536"
    yield "confusion matrix of 2**40 classes", \
        lambda: confusion_matrix([0], [0], num_classes=2**40), ValueError, "num_classes must be at most"
    yield "a NumpyNetwork 2**40 wide", lambda: NumpyNetwork((64, 2**40, 10), seed=0), ValueError, \
        r"layer_sizes\[1\] must be at most 65536"
    yield "a SimpleMLP 2**40 wide", lambda: SimpleMLP(hidden_size=2**40), ValueError, \
        "hidden_size must be at most 65536"
    yield "2**40 iterations", \
        lambda: NumpyNetwork((64, 10), seed=0).fit(np.zeros((2, 64)), np.zeros((2, 10)), lr=0.1,
                                                   epochs=2**40), \
        ValueError, "epochs must be at most 1000000"
    yield "forward_pass with no weights", lambda: forward_pass(X, {}), ValueError, \
        r"params must hold the weight matrices \['W1'\]"
    yield "forward_pass with a wrong key", lambda: forward_pass(X, {"w1": W}), ValueError, \
        r"params must hold the weight matrices \['W1'\], got keys \['w1'\]"
    yield "add_bias of a bfloat16 tensor is the float64 array", None, None, None
    yield "compare_values over an unknown field", \
        lambda: compare_values(load_digits_split(seed=0), "nonexistent", [1]), ValueError, \
        "param must be one of"
    yield "compare_values over a number", \
        lambda: compare_values(load_digits_split(seed=0), "lr", 0.1), TypeError, \
        "values must be a list of values for lr"
    from labcode.engine.sweep import sweep, train_runs

    yield "sweep with executor='serial'", \
        lambda: sweep(TrainConfig(epochs=1), "lr", [0.1], seeds=[0], executor="serial"), TypeError, \
        r"executor must be a concurrent.futures.Executor \(labcode.engine.pool.SerialExecutor"
    if not torch.cuda.is_available():
        yield "sweep on a GPU that is not here", \
            lambda: sweep(TrainConfig(epochs=1, device="cuda"), "lr", [0.1], seeds=[0]), \
            ValueError, "device 'cuda' was asked for, but CUDA is not available here"
    yield "train_runs of one config", lambda: train_runs(TrainConfig(), cache_dir="unused"), \
        TypeError, "configs must be a list of TrainConfig, got TrainConfig"
    del add_bias, DigitsSplit


CASES = list(_cases())


@pytest.mark.parametrize(("call", "exc", "match"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES if case[1]])
def test_each_bad_input_is_a_clear_error_naming_the_argument(call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call()
    assert info.value.__cause__ is None and info.value.__suppress_context__ or \
        info.value.__context__ is None, "the error from inside torch or NumPy is not shown"
    frame = info.traceback[-1]
    assert "labcode" in str(frame.path), f"raised from {frame.path}, not from labcode"


def test_half_precision_tensors_are_taken_as_the_numbers_they_hold():
    from labcode.data import add_bias

    x = torch.tensor([[0.5, 0.25]], dtype=torch.bfloat16)
    np.testing.assert_array_equal(add_bias(x), [[0.5, 0.25, 1.0]])
    np.testing.assert_array_equal(one_hot(torch.tensor([1.0], dtype=torch.float16), 3), [[0, 1, 0]])


def test_forward_pass_takes_the_weights_in_any_order():
    from labcode.numpy_net import forward_pass

    X = np.random.default_rng(0).normal(size=(3, 4))
    W1, W2 = np.ones((5, 2)), np.ones((3, 1))
    A, _ = forward_pass(X, {"W2": W2, "W1": W1})
    np.testing.assert_array_equal(A, forward_pass(X, {"W1": W1, "W2": W2})[0])
