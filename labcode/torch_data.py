"""Exercise 2, Step 3: the digits as a PyTorch ``Dataset``, and the ``DataLoader``\\ s.

:class:`DigitsDataset` holds one part of the split as two tensors, features in float32
and labels in int64 (the types ``nn.Linear`` and the cross-entropy loss expect).

:func:`make_loaders` builds the three :class:`torch.utils.data.DataLoader`\\ s of a
:class:`labcode.data.DigitsSplit`. The training loader shuffles, with its own seeded
:class:`torch.Generator`; the validation and test loaders never do.

Why the loaders ask for whole batches
-------------------------------------
The textbook ``DataLoader(dataset, batch_size=32, shuffle=True)`` calls
``dataset[i]`` once per sample and then stacks the 32 rows (the "collation"). For
data that already sit in one tensor, that per-sample work costs more than the
forward and backward pass of a small model. The loaders here give the ``DataLoader``
a :class:`BatchIndexSampler` as its sampler and set ``batch_size=None``, which the
``DataLoader`` documentation calls *disabling automatic batching*: each step then
hands the dataset a whole tensor of indices, ``dataset[tensor([i1, ..., i32])]``, and
one tensor indexing returns the batch. Same kind of batches (a new random order each
epoch, cut into batches), a fraction of the time (see
``benchmarks/bench_torch_mlp.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from . import _validate
from .data import (
    NUM_CLASSES,
    DigitsSplit,
)

__all__ = [
    "DigitsDataset",
    "BatchIndexSampler",
    "Loaders",
    "make_loader",
    "make_loaders",
]


def _check_dataset(X: object, y: object, num_classes: object, device: object) -> dict:
    num_classes = _validate.width(num_classes, "num_classes")
    X, y = _validate.features_labels(X, y, num_classes)
    return {"X": X, "y": y, "num_classes": num_classes, "device": _validate.device(device)}


def _explain_index(index: object, n: int) -> None:
    """When ``dataset[index]`` failed: the clear error if the index's kind is why."""
    if isinstance(index, (str, bytes, float, type(None))) or isinstance(index, bool):
        raise TypeError(f"index must be an int, a list of ints or an int tensor below {n}, "
                        f"got {_validate.describe(index)}")
    if isinstance(index, torch.Tensor) and index.dtype.is_floating_point:
        raise TypeError(f"index must be an int tensor, got {_validate.describe(index)}")


class DigitsDataset(Dataset):
    """Features (float32) and labels (int64) of one part of the split, as tensors.

    ``X`` is array_like of shape (n_samples, n_features), finite; ``y`` of shape
    (n_samples,), integers in ``0 .. num_classes - 1``. ``device`` says where the
    tensors live: on a GPU the whole (small) dataset is copied once. ``ds[i]`` is one
    sample; ``ds[[i, j, ...]]`` (or a tensor of indices) is a batch, in that order. Bad
    input raises ``TypeError`` or ``ValueError`` naming the value.

    >>> ds = DigitsDataset([[0.0, 0.5], [1.0, 0.25]], [3, 7])
    >>> len(ds), ds[1]
    (2, (tensor([1.0000, 0.2500]), tensor(7)))
    >>> ds[[1, 0]][1].tolist()
    [7, 3]
    """

    @_validate.checked(_check_dataset)
    def __init__(self, X, y, *, num_classes: int = NUM_CLASSES, device="cpu"):
        self.num_classes = num_classes
        self.X = torch.as_tensor(X, dtype=torch.float32).to(device)
        self.y = torch.as_tensor(y, dtype=torch.int64).to(device)

    def __len__(self) -> int:
        return len(self.y)

    @_validate.checked(explain=lambda self, index: _explain_index(index, len(self)))
    def __getitem__(self, index):
        return self.X[index], self.y[index]

    def __repr__(self) -> str:
        n, d = self.X.shape
        return f"DigitsDataset(n_samples={n}, n_features={d}, device={self.X.device})"


class Loaders(NamedTuple):
    """The three loaders of a split; unpacks as ``train, val, test``."""

    train: DataLoader
    """Shuffled once per epoch, with its own seeded generator."""
    val: DataLoader
    """In the split's order, never shuffled."""
    test: DataLoader
    """In the split's order, never shuffled."""


def _check_sampler(n: object, batch_size: object, shuffle: object, generator: object) -> dict:
    if shuffle and not isinstance(generator, torch.Generator):
        raise ValueError(
            "a shuffled sampler needs a seeded torch.Generator, got "
            f"generator={generator!r}; pass torch.Generator().manual_seed(seed)"
        )
    return {"n": _validate.integer(n, "n"), "batch_size": _validate.integer(batch_size, "batch_size")}


class BatchIndexSampler(Sampler[torch.Tensor]):
    """Batches of indices, each an int64 tensor: ``0 .. n - 1`` in order, or shuffled.

    With ``shuffle=True`` every pass (epoch) draws a new random permutation of
    ``0 .. n - 1`` from ``generator`` and cuts it into batches of ``batch_size``; the
    same generator state gives the same batches. Handed to a ``DataLoader`` as its
    ``sampler`` with ``batch_size=None``, it makes the loader fetch each batch with one
    tensor indexing (see the module's introduction).

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Indices per batch; the last batch is smaller when ``n`` is not a multiple
        (unless ``drop_last``).
    shuffle : bool, default False
        Draw a new order for every pass.
    generator : torch.Generator, optional
        Required when ``shuffle`` is true, so that the order is reproducible and does
        not depend on torch's global random state.
    drop_last : bool, default False
        Leave out the last, incomplete batch.
    """

    @_validate.checked(_check_sampler)
    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ):
        self.n = n
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.generator = generator
        self.drop_last = bool(drop_last)

    def __len__(self) -> int:
        """Number of batches per pass."""
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator)
        else:
            order = torch.arange(self.n)
        batches = order.split(self.batch_size)
        return iter(batches[: len(self)])


def _check_make_loader(dataset: object, batch_size: object, shuffle: object, generator: object) -> None:
    _validate.instance(dataset, DigitsDataset, "dataset")
    _check_sampler(len(dataset), batch_size, shuffle, generator)


@_validate.checked(_check_make_loader)
def make_loader(
    dataset: DigitsDataset,
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A ``DataLoader`` that yields whole batches of a :class:`DigitsDataset`.

    ``for xb, yb in make_loader(ds, batch_size=32, shuffle=True, generator=g)`` yields
    batches like ``DataLoader(ds, batch_size=32, shuffle=True, generator=g)`` does (a
    new random order each epoch, cut into batches of 32), but asks the dataset for each
    batch with one tensor of indices instead of one call per sample (see the module's
    introduction).

    Parameters
    ----------
    dataset : DigitsDataset
        The samples.
    batch_size : int, default 32
        Samples per batch.
    shuffle : bool, default False
        Draw a new random order every epoch.
    generator : torch.Generator, optional
        The random generator of the shuffle; required when ``shuffle`` is true.
    drop_last : bool, default False
        Leave out the last, incomplete batch.

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``(X, y)`` with ``X`` of shape (batch, n_features), float32, and ``y`` of
        shape (batch,), int64. ``len(loader)`` is the number of batches per epoch.
    """
    sampler = BatchIndexSampler(
        len(dataset), batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last
    )
    return DataLoader(dataset, sampler=sampler, batch_size=None)


def _check_loaders(split: object, batch_size: object, seed: object, eval_batch_size: object,
                   device: object) -> dict:
    _validate.instance(split, DigitsSplit, "split")
    return {"seed": _validate.seed(seed), "batch_size": _validate.integer(batch_size, "batch_size"),
            "eval_batch_size": None if eval_batch_size is None
            else _validate.integer(eval_batch_size, "eval_batch_size"),
            "device": _validate.device(device)}


@_validate.checked(_check_loaders)
def make_loaders(
    split: DigitsSplit,
    *,
    batch_size: int = 32,
    seed: int = 0,
    eval_batch_size: int | None = None,
    device: str | torch.device = "cpu",
) -> Loaders:
    """The training, validation and test loaders of a split.

    Parameters
    ----------
    split : DigitsSplit
        For example ``labcode.data.load_digits_split(seed=0)``.
    batch_size : int, default 32
        Batch size of the training loader.
    seed : int, default 0
        Seed of the training loader's shuffle (its own :class:`torch.Generator`).
    eval_batch_size : int, optional
        Batch size of the validation and test loaders; by default each of them yields
        its whole part as one batch, which gives the same loss and accuracy as small
        batches and is faster.
    device : str or torch.device, default "cpu"
        Where the datasets' tensors live.

    Returns
    -------
    Loaders
        ``(train, val, test)``. Only ``train`` shuffles; ``val`` and ``test`` keep the
        split's order.

    Notes
    -----
    The training loader keeps its last, smaller batch, except when that batch would
    hold a single sample (``len(split.train) % batch_size == 1``, for example batches
    of 4 of the 1077 training images): then it leaves that batch out, as
    ``drop_last=True`` does, so one sample per epoch goes unused (a different one each
    epoch, since the order is shuffled). BatchNorm cannot normalise a batch of one
    sample in training mode, and one sample's gradient is a poor step for any model.
    A batch size of 1 with the BatchNorm model is refused by
    :class:`labcode.experiment.TrainConfig`.

    Examples
    --------
    >>> from labcode.data import load_digits_split
    >>> train, val, test = make_loaders(load_digits_split(seed=0), batch_size=32)
    >>> xb, yb = next(iter(train))
    >>> xb.shape, yb.shape, len(train)
    (torch.Size([32, 64]), torch.Size([32]), 34)
    """
    generator = torch.Generator().manual_seed(int(seed))
    datasets = {
        name: DigitsDataset(part.X, part.y, device=device)
        for name, part in split.parts().items()
    }
    single = len(datasets["train"]) % batch_size == 1  # a last batch of one sample
    return Loaders(
        train=make_loader(datasets["train"], batch_size=batch_size, shuffle=True,
                          generator=generator, drop_last=single),
        val=make_loader(datasets["val"], batch_size=eval_batch_size or len(datasets["val"])),
        test=make_loader(datasets["test"], batch_size=eval_batch_size or len(datasets["test"])),
    )

