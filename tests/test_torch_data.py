"""Tests of labcode.torch_data: DigitsDataset, BatchIndexSampler and the loaders."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from labcode.data import DigitsSplit, load_digits_split
from labcode.torch_data import BatchIndexSampler, DigitsDataset, make_loader, make_loaders


@pytest.fixture(scope="module")
def split() -> DigitsSplit:
    return load_digits_split(seed=0)


def _epoch(loader):
    xs, ys = zip(*loader)
    return torch.cat(xs), torch.cat(ys), [len(y) for y in ys]


def test_dataset_holds_float32_features_and_int64_labels(split):
    ds = DigitsDataset(split.train.X, split.train.y)
    assert len(ds) == 1077
    assert ds.X.dtype == torch.float32 and ds.X.shape == (1077, 64)
    assert ds.y.dtype == torch.int64 and ds.y.shape == (1077,)
    np.testing.assert_array_equal(ds.X.numpy(), split.train.X.astype(np.float32))
    np.testing.assert_array_equal(ds.y.numpy(), split.train.y)
    assert "n_samples=1077" in repr(ds)


def test_dataset_indexing_gives_one_sample_or_a_batch():
    ds = DigitsDataset([[0.0, 0.5], [1.0, 0.25], [0.5, 0.5]], [3, 7, 1])
    x, y = ds[1]
    assert x.shape == (2,) and y.shape == () and int(y) == 7
    for index in ([2, 0], torch.tensor([2, 0])):
        xb, yb = ds[index]
        assert xb.shape == (2, 2)
        assert yb.tolist() == [1, 3]
        torch.testing.assert_close(xb[0], torch.tensor([0.5, 0.5]))


def test_dataset_accepts_tensors():
    ds = DigitsDataset(torch.rand(4, 3, dtype=torch.float64), torch.tensor([0, 1, 2, 9]))
    assert ds.X.dtype == torch.float32 and ds.y.tolist() == [0, 1, 2, 9]


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (np.zeros((3, 4)), [0, 1], ValueError,
         r"same number of samples, got X of shape \(3, 4\) and y of shape \(2,\)"),
        ([[0.0, np.nan], [1.0, 0.0]], [0, 1], ValueError, r"X\[0, 1\] = nan"),
        ([[0.0, np.inf], [1.0, 0.0]], [0, 1], ValueError, r"X\[0, 1\] = inf"),
        (np.zeros(4), [0, 1, 2, 3], ValueError, r"X must be 2-D .* got shape \(4,\)"),
        (np.zeros((2, 3)), [[0, 1]], ValueError, r"y must be 1-D .* got shape \(1, 2\)"),
        (np.zeros((2, 3)), [0, 12], ValueError, r"labels in 0..9 .* y\[1\] = 12"),
        (np.zeros((2, 3)), [0, -1], ValueError, r"y\[1\] = -1"),
        (np.zeros((2, 3)), [0, 1.5], ValueError, r"y\[1\] = 1.5"),
        ([["a", "b"]], [0], TypeError, "X must be a numeric array"),
    ],
)
def test_dataset_refuses_bad_input_naming_the_value(X, y, error, match):
    with pytest.raises(error, match=match):
        DigitsDataset(X, y)


def test_dataset_checks_labels_against_num_classes():
    with pytest.raises(ValueError, match=r"labels in 0..2 \(num_classes=3\), but y\[0\] = 5"):
        DigitsDataset(np.zeros((1, 2)), [5], num_classes=3)


def test_loaders_yield_batches_of_the_right_shapes(split):
    train, val, test = make_loaders(split, batch_size=32)
    xb, yb = next(iter(train))
    assert xb.shape == (32, 64) and xb.dtype == torch.float32
    assert yb.shape == (32,) and yb.dtype == torch.int64
    assert len(train) == 34  # ceil(1077 / 32)
    _, _, sizes = _epoch(train)
    assert sizes == [32] * 33 + [1077 - 33 * 32]
    # validation and test come as one batch each by default
    assert len(val) == 1 and len(test) == 1
    assert [len(y) for _, y in val] == [360]


def test_training_loader_covers_every_sample_once_per_epoch_in_a_new_order(split):
    train = make_loaders(split, batch_size=32, seed=3).train
    ds = train.dataset
    first_X, first_y, _ = _epoch(train)
    second_X, second_y, _ = _epoch(train)
    for X, y in ((first_X, first_y), (second_X, second_y)):
        # the same rows as the dataset, reordered
        assert sorted(map(bytes, X.numpy())) == sorted(map(bytes, ds.X.numpy()))
        assert torch.equal(torch.sort(y).values, torch.sort(ds.y).values)
    assert not torch.equal(first_y, second_y)
    assert not torch.equal(first_y, ds.y)


def test_shuffle_depends_on_the_seed_only(split):
    torch.manual_seed(1)
    a = _epoch(make_loaders(split, seed=5).train)[1]
    torch.manual_seed(2)  # torch's global generator does not matter
    b = _epoch(make_loaders(split, seed=5).train)[1]
    c = _epoch(make_loaders(split, seed=6).train)[1]
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_validation_and_test_loaders_keep_the_split_order(split):
    _, val, test = make_loaders(split, batch_size=32, eval_batch_size=100)
    for loader, part in ((val, split.val), (test, split.test)):
        for _ in range(2):  # every epoch, the same order
            X, y, sizes = _epoch(loader)
            assert sizes == [100, 100, 100, 60]
            np.testing.assert_array_equal(X.numpy(), part.X.astype(np.float32))
            np.testing.assert_array_equal(y.numpy(), part.y)


def test_unshuffled_batches_equal_the_textbook_dataloader():
    rng = np.random.default_rng(0)
    ds = DigitsDataset(rng.random((70, 5)), rng.integers(0, 10, 70))
    fast = list(make_loader(ds, batch_size=16))
    plain = list(DataLoader(ds, batch_size=16))  # one __getitem__ per sample, then collation
    assert len(fast) == len(plain) == 5
    for (xf, yf), (xp, yp) in zip(fast, plain):
        assert torch.equal(xf, xp) and torch.equal(yf, yp)


def test_batch_index_sampler_partitions_the_indices():
    g = torch.Generator().manual_seed(0)
    sampler = BatchIndexSampler(10, 4, shuffle=True, generator=g)
    batches = list(sampler)
    assert len(sampler) == 3 and [len(b) for b in batches] == [4, 4, 2]
    assert all(b.dtype == torch.int64 for b in batches)
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    dropped = BatchIndexSampler(10, 4, drop_last=True)
    assert len(dropped) == 2
    assert [b.tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffling_needs_a_generator():
    with pytest.raises(ValueError, match="needs a seeded torch.Generator, got generator=None"):
        BatchIndexSampler(10, 4, shuffle=True)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1, got 0"),
        ({"batch_size": 2.0}, TypeError, "batch_size must be an int >= 1, got float"),
        ({"eval_batch_size": -1}, ValueError, "eval_batch_size must be an int >= 1, got -1"),
        ({"seed": -1}, ValueError, "seed must be an int >= 0, got -1"),
    ],
)
def test_make_loaders_refuses_bad_arguments(split, kwargs, error, match):
    with pytest.raises(error, match=match):
        make_loaders(split, **kwargs)


def test_make_loaders_needs_a_split(split):
    with pytest.raises(TypeError, match="DigitsSplit"):
        make_loaders(split.train)
