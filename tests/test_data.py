"""Tests of labcode.data: the split, add_bias, one_hot and their input checks."""

import numpy as np
import pytest

from labcode import _validate
from labcode.data import (
    IMAGE_SHAPE,
    NUM_CLASSES,
    DigitsSplit,
    add_bias,
    load_digits_split,
    one_hot,
    split_dataset,
)


@pytest.fixture(scope="module")
def split() -> DigitsSplit:
    return load_digits_split(seed=0)


def test_split_sizes_and_types(split):
    assert split.sizes == {"train": 1077, "val": 360, "test": 360}
    assert split.n_features == IMAGE_SHAPE[0] * IMAGE_SHAPE[1] == 64
    for name, part in split.parts().items():
        assert part.X.dtype == np.float64, name
        assert part.y.dtype == np.int64, name
        assert part.X.shape == (len(part), 64), name
        assert part.X.min() >= 0.0 and part.X.max() <= 1.0, name
        assert set(np.unique(part.y)) == set(range(NUM_CLASSES)), name


def test_split_pixels_are_scaled_to_unit_interval(split):
    # the raw grey levels are 0..16, so every scaled value is a multiple of 1/16
    allX = np.vstack([p.X for p in split.parts().values()])
    assert allX.max() == 1.0
    np.testing.assert_array_equal(allX * 16, np.round(allX * 16))


def test_split_parts_are_disjoint_and_cover_the_data(split):
    from sklearn.datasets import load_digits

    raw = load_digits().data / 16.0
    rows = np.vstack([p.X for p in split.parts().values()])
    assert rows.shape[0] == raw.shape[0]
    # every row of the data appears exactly as often as in the original
    as_bytes = lambda a: sorted(r.tobytes() for r in a)  # noqa: E731
    assert as_bytes(rows) == as_bytes(raw)


def test_split_is_stratified(split):
    total = sum(p.class_counts() for p in split.parts().values())
    overall = total / total.sum()
    for name, part in split.parts().items():
        share = part.class_counts() / len(part)
        # stratification rounds each class to within one sample of its exact share
        assert np.all(np.abs(share - overall) <= 1.0 / len(part) + 1e-12), name


def test_split_is_reproducible_and_depends_on_seed():
    a, b = load_digits_split(seed=3), load_digits_split(seed=3)
    c = load_digits_split(seed=4)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.y, c.train.y)
    assert a.seed == 3


def test_split_custom_sizes():
    s = load_digits_split(val_size=0.1, test_size=0.3, seed=0)
    assert s.sizes == {"train": 1077 + 360 - 180 - 540 + 360, "val": 180, "test": 540}
    assert sum(s.sizes.values()) == 1797


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"val_size": 0.0}, ValueError, r"val_size must be a finite number in \(0, 1\), got 0.0"),
        ({"test_size": 1.0}, ValueError, r"test_size must be a finite number in"),
        ({"val_size": 0.5, "test_size": 0.5}, ValueError, r"val_size \+ test_size must be below 1"),
        ({"val_size": 0.001}, ValueError, r"each part needs at least one sample of each of the 10"),
        ({"test_size": 0.995, "val_size": 0.001}, ValueError, r"val_size \+ test_size|each part"),
        ({"val_size": "0.2"}, TypeError, r"val_size must be a finite number in \(0, 1\), got str '0.2'"),
        ({"seed": 1.5}, TypeError, r"seed must be an int >= 0, got float 1.5"),
        ({"seed": -1}, ValueError, r"seed must be an int >= 0, got -1"),
    ],
)
def test_load_digits_split_rejects_bad_sizes(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_digits_split(**kwargs)


def test_split_dataset_rejects_nan_and_mismatched_lengths():
    X = np.random.default_rng(0).random((100, 3))
    y = np.arange(100) % 10
    X_nan = X.copy()
    X_nan[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite, but X\[7, 2\] = nan"):
        split_dataset(X_nan, y)
    with pytest.raises(ValueError, match=r"same number of samples, got X of shape \(100, 3\) and y of shape \(99,\)"):
        split_dataset(X, y[:99])


def test_add_bias_appends_ones_and_keeps_values():
    X = np.arange(6, dtype=np.float64).reshape(3, 2)
    out = add_bias(X)
    assert out.shape == (3, 3)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[:, :2], X)
    np.testing.assert_array_equal(out[:, 2], np.ones(3))
    assert not np.shares_memory(out, X)
    # the bias row of W then acts as b in X @ W + b
    W = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 20.0]])
    np.testing.assert_allclose(out @ W, X @ W[:2] + W[2])


def test_add_bias_accepts_integers_and_lists():
    out = add_bias([[1, 2]])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, 2.0, 1.0]])


@pytest.mark.parametrize(
    ("X", "exc", "match"),
    [
        (np.zeros(64), ValueError, r"X must be 2-D with shape \(n_samples, n_features\), got shape \(64,\)"),
        (np.zeros((2, 3, 4)), ValueError, r"got shape \(2, 3, 4\)"),
        (np.zeros((0, 4)), ValueError, r"at least one row and one column, got shape \(0, 4\)"),
        (np.array([[1.0, np.nan]]), ValueError, r"X must be finite, but X\[0, 1\] = nan"),
        (np.array([[np.inf, 1.0]]), ValueError, r"X\[0, 0\] = inf"),
        (np.array([["a", "b"]]), TypeError, r"X must be a numeric array, got array of shape \(1, 2\)"),
        ("abc", TypeError, r"X must be a numeric array"),
        (np.array([[1 + 2j]]), TypeError, r"X must be real-valued"),
    ],
)
def test_add_bias_rejects_bad_input(X, exc, match):
    with pytest.raises(exc, match=match):
        add_bias(X)


def test_one_hot_encodes_each_label():
    y = np.array([0, 3, 9, 3])
    Y = one_hot(y)
    assert Y.shape == (4, 10)
    assert Y.dtype == np.float64
    np.testing.assert_array_equal(Y.sum(axis=1), np.ones(4))
    np.testing.assert_array_equal(Y.argmax(axis=1), y)
    np.testing.assert_array_equal(one_hot([1], num_classes=3), [[0.0, 1.0, 0.0]])


def test_one_hot_accepts_whole_floats():
    np.testing.assert_array_equal(one_hot(np.array([2.0, 0.0]), num_classes=3), [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    ("y", "kwargs", "exc", "match"),
    [
        ([0, 10], {}, ValueError, r"labels in 0..9 \(num_classes=10\), but y\[1\] = 10"),
        ([-1, 2], {}, ValueError, r"but y\[0\] = -1"),
        ([3], {"num_classes": 3}, ValueError, r"labels in 0..2 \(num_classes=3\), but y\[0\] = 3"),
        ([0.5, 1.0], {}, ValueError, r"y must hold integer class labels, but y\[0\] = 0.5"),
        ([1.0, np.nan], {}, ValueError, r"y must hold integer class labels, but y\[1\] = nan"),
        (["a"], {}, TypeError, r"y must hold integer class labels, got list \['a'\]"),
        ([[0, 1]], {}, ValueError, r"y must be 1-D with shape \(n_samples,\), got shape \(1, 2\)"),
        ([0], {"num_classes": 2.0}, TypeError, r"num_classes must be an int >= 1, got float 2.0"),
        ([0], {"num_classes": 0}, ValueError, r"num_classes must be an int >= 1, got 0"),
        ([True, False], {}, TypeError, r"y must hold integer class labels, got booleans"),
    ],
)
def test_one_hot_rejects_bad_labels(y, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        one_hot(y, **kwargs)


def test_check_features_names_the_argument():
    with pytest.raises(ValueError, match=r"X_val must be finite"):
        _validate.features([[np.nan]], "X_val")


def test_split_data_on_the_raw_digits_is_the_split_of_load_digits_split():
    # the data chapter's claim: the exercise's split of the digits, with the book's shares and
    # seed, is the split every later chapter gets from load_digits_split
    from sklearn.datasets import load_digits

    from labcode.data import split_data

    digits = load_digits()
    parts = split_data(digits.data / 16, digits.target, val_size=0.2, test_size=0.2, seed=0)
    split = load_digits_split(seed=0)
    for name, part in split.parts().items():
        np.testing.assert_array_equal(parts[name][0], part.X)
        np.testing.assert_array_equal(parts[name][1], part.y)
