"""Property-based: every public entry point stops a bad argument at the door.

Hypothesis feeds each argument values of the wrong type, shape, range and device; each
call must raise ValueError or TypeError, and the message must name the argument. The
examples are drawn deterministically (``derandomize``), so every machine runs the same.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labcode
from labcode.data import load_digits_split
from labcode.experiment import TrainConfig

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# --- values that are never a valid argument of the given kind -------------------------------

not_a_number = st.one_of(st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
                         st.complex_numbers(allow_nan=False).filter(lambda z: z.imag != 0),
                         st.just(object()))
bad_count = st.one_of(not_a_number, st.booleans(), st.integers(max_value=0),
                      st.floats(allow_nan=True, allow_infinity=True))
bad_seed = st.one_of(not_a_number, st.booleans(), st.integers(max_value=-1),
                     st.integers(min_value=2**32, max_value=2**80), st.floats())
bad_positive = st.one_of(not_a_number, st.booleans(), st.floats(max_value=0.0),
                         st.just(math.nan), st.just(math.inf), st.integers(max_value=0))
bad_share = st.one_of(not_a_number, st.floats(max_value=0.0), st.floats(min_value=1.0),
                      st.just(math.nan))
bad_dropout = st.one_of(not_a_number, st.floats(max_value=-1e-9), st.floats(min_value=1.0),
                        st.just(math.nan))
bad_device = st.one_of(not_a_number, st.sampled_from(["gpu", "tpu:0", "cuda:x", "meta", ""]))
bad_name = st.one_of(not_a_number, st.text(max_size=8).filter(
    lambda s: s not in ("simple", "complex", "adam", "sgd", "weights", "all")))


def _matrix_with(value: float, shape=(3, 4)) -> np.ndarray:
    M = np.zeros(shape)
    M[1, 2] = value
    return M


bad_matrix = st.one_of(
    not_a_number,
    st.sampled_from([np.zeros(4), np.zeros((2, 3, 4)), np.zeros((0, 4)), _matrix_with(np.nan),
                     _matrix_with(np.inf), np.array([["a", "b"]]), np.zeros((3, 4), complex)]),
)


def _refused(call, name: str) -> None:
    """``call()`` raises ValueError or TypeError, and the message names ``name``."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert name in str(info.value), (name, str(info.value))


# --- the entry points ---------------------------------------------------------------------

CONFIG_FIELDS = {
    "hidden_size": bad_count, "epochs": bad_count, "batch_size": bad_count,
    "lr": bad_positive, "l1": st.one_of(not_a_number, st.floats(max_value=-1e-12), st.just(math.nan)),
    "seed": bad_seed, "model": bad_name, "optimizer": bad_name, "penalize": bad_name,
    "device": bad_device, "num_threads": st.one_of(st.text(max_size=2), st.integers(max_value=0)),
}


@pytest.mark.parametrize("field", CONFIG_FIELDS)
def test_train_config_names_each_bad_field(field):
    @SETTINGS
    @given(value=CONFIG_FIELDS[field])
    def check(value):
        _refused(lambda: TrainConfig(**{field: value}), f"TrainConfig.{field}"
                 if field not in ("device",) else "device")

    check()


@SETTINGS
@given(seed=bad_seed)
def test_the_split_names_a_bad_seed(seed):
    _refused(lambda: load_digits_split(seed=seed), "seed")


@SETTINGS
@given(share=bad_share)
def test_the_split_names_a_bad_share(share):
    _refused(lambda: load_digits_split(val_size=share), "val_size")


@SETTINGS
@given(X=bad_matrix)
def test_the_numpy_pieces_name_a_bad_matrix(X):
    _refused(lambda: labcode.add_bias(X), "X")


@SETTINGS
@given(value=bad_matrix)
def test_the_blocks_name_a_bad_input(value):
    W = np.zeros((4, 2))
    if not (isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim == 2):
        _refused(lambda: labcode.fc_forward(value, W), "X")
        _refused(lambda: labcode.sigmoid_forward(value), "Z")


@SETTINGS
@given(size=bad_count)
def test_the_models_name_a_bad_size(size):
    _refused(lambda: labcode.SimpleMLP(hidden_size=size), "hidden_size")
    _refused(lambda: labcode.ComplexMLP(in_features=size), "in_features")


@SETTINGS
@given(p=bad_dropout)
def test_complex_mlp_names_a_bad_dropout(p):
    _refused(lambda: labcode.ComplexMLP(dropout=p), "dropout")


@SETTINGS
@given(X=bad_matrix)
def test_the_dataset_names_bad_features(X):
    _refused(lambda: labcode.DigitsDataset(X, [0, 1, 2]), "X")


@SETTINGS
@given(device=bad_device)
def test_the_dataset_names_a_bad_device(device):
    _refused(lambda: labcode.DigitsDataset(np.zeros((2, 3)), [0, 1], device=device), "device")


@pytest.fixture(scope="module")
def split():
    return load_digits_split(seed=0)


def test_the_loaders_name_each_bad_argument(split):
    @SETTINGS
    @given(batch_size=bad_count, seed=bad_seed)
    def check(batch_size, seed):
        _refused(lambda: labcode.make_loaders(split, batch_size=batch_size), "batch_size")
        _refused(lambda: labcode.make_loaders(split, seed=seed), "seed")

    check()


def test_predict_names_bad_features():
    model = labcode.SimpleMLP()

    @SETTINGS
    @given(X=bad_matrix)
    def check(X):
        _refused(lambda: labcode.predict(model, X), "X")

    check()


@SETTINGS
@given(a=bad_matrix)
def test_relative_error_names_a_bad_array(a):
    if isinstance(a, np.ndarray) and a.dtype != complex and a.dtype.kind in "fiu":
        return  # any real array of any shape is fine here (shapes are compared with b)
    _refused(lambda: labcode.relative_error(a, np.zeros((3, 4))), "a")


@SETTINGS
@given(value=st.one_of(not_a_number, st.floats(max_value=-1e-12), st.just(math.nan)))
def test_weight_penalty_names_a_bad_strength(value):
    model = labcode.SimpleMLP(4, 3, 2)
    _refused(lambda: labcode.weight_penalty(model, l1=value), "l1")
    _refused(lambda: labcode.weight_penalty(model, l2=value), "l2")


def test_a_model_that_is_not_a_module_is_named(split):
    loader = labcode.make_loaders(split).val
    for bad in (None, "model", labcode.SimpleMLP, np.zeros(3), torch.zeros(3)):
        _refused(lambda: labcode.evaluate(bad, loader), "model")
        _refused(lambda: labcode.predict(bad, split.val.X), "model")
