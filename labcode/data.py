"""Step 1 of both exercises: the digits data, split, with a bias column and one-hot labels.

The lab classifies the 8 x 8 grey-level images of handwritten digits that ship with
scikit-learn (1,797 images, 10 classes). Every chapter starts from the same split,
made by :func:`load_digits_split`, so the numbers in the book are comparable.

The validation part is for choosing hyperparameters; the test part is touched once
per final model.
"""

from __future__ import annotations

import functools
import math

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from . import _validate

__all__ = [
    "NUM_CLASSES",
    "IMAGE_SHAPE",
    "Partition",
    "DigitsSplit",
    "load_digits_split",
    "split_dataset",
    "split_data",
    "add_bias",
    "one_hot",
    "confusion_matrix",
]

NUM_CLASSES = 10
"""Number of digit classes (0 to 9)."""

IMAGE_SHAPE = (8, 8)
"""Height and width of one digit image; a feature vector is an image read row by row."""

_PIXEL_MAX = 16.0  # the digits' grey levels run from 0 to 16


@dataclass(frozen=True)
class Partition:
    """One part of a split: features and labels.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features, float64.
    y : ndarray of shape (n_samples,)
        Integer class labels, int64.
    """

    X: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def class_counts(self, num_classes: int = NUM_CLASSES) -> np.ndarray:
        """Number of samples of each class, an int64 array of shape (num_classes,)."""
        return np.bincount(self.y, minlength=num_classes)


@dataclass(frozen=True)
class DigitsSplit:
    """A stratified train / validation / test split.

    Attributes
    ----------
    train, val, test : Partition
        The three disjoint parts. ``train`` fits the weights, ``val`` chooses
        hyperparameters, ``test`` is used once per final model.
    seed : int
        The seed that made the split.
    """

    train: Partition
    val: Partition
    test: Partition
    seed: int

    @property
    def n_features(self) -> int:
        """Number of input features (64 for the digits)."""
        return int(self.train.X.shape[1])

    @property
    def sizes(self) -> dict[str, int]:
        """Number of samples in each part, keyed ``"train"``, ``"val"``, ``"test"``."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def parts(self) -> dict[str, Partition]:
        """The three parts keyed by name, in the order train, val, test."""
        return {"train": self.train, "val": self.val, "test": self.test}


def confusion_matrix(
    y_true: object, y_pred: object, *, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n_samples,)
        True and predicted labels in ``0 .. num_classes - 1``.
    num_classes : int, default 10
        Number of classes.

    Returns
    -------
    ndarray of shape (num_classes, num_classes)
        int64; entry ``[i, j]`` counts the samples of class ``i`` predicted as ``j``, so
        the diagonal holds the correct predictions and each row sums to the class's size.
    """
    y_true = _validate.labels(y_true, num_classes, "y_true")
    y_pred = _validate.labels(y_pred, num_classes, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true of shape {y_true.shape} and y_pred of shape {y_pred.shape} must have "
            "the same shape"
        )
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def _check_split(X: object, y: object, val_size: object, test_size: object, seed: object,
                 num_classes: object) -> dict:
    num_classes = _validate.width(num_classes, "num_classes")
    X, y = _validate.features_labels(X, y, num_classes)
    val_size = _validate.real(val_size, "val_size", low=0.0, high=1.0, low_open=True, high_open=True)
    test_size = _validate.real(test_size, "test_size", low=0.0, high=1.0, low_open=True, high_open=True)
    if val_size + test_size >= 1.0:
        raise ValueError(
            f"val_size + test_size must be below 1 to leave training data, got "
            f"val_size={val_size} + test_size={test_size} = {val_size + test_size}"
        )
    return {"X": X, "y": y, "val_size": val_size, "test_size": test_size,
            "seed": _validate.seed(seed), "num_classes": num_classes}


@_validate.checked(_check_split)
def split_dataset(
    X: object,
    y: object,
    *,
    val_size: float = 0.2,
    test_size: float = 0.2,
    seed: int = 0,
    num_classes: int = NUM_CLASSES,
) -> DigitsSplit:
    """Split features and labels into stratified train, validation and test parts.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Finite real features.
    y : array_like of shape (n_samples,)
        Integer labels in ``0 .. num_classes - 1``.
    val_size, test_size : float, default 0.2
        Fractions of all samples that go to the validation and the test part.
        Both in (0, 1), with ``val_size + test_size < 1``.
    seed : int, default 0
        Seed of the shuffle; the same seed gives the same split.
    num_classes : int, default 10
        Number of classes.

    Returns
    -------
    DigitsSplit
        The three parts, each keeping the class proportions of ``y``.

    Raises
    ------
    ValueError
        If the inputs are invalid, or if a part would hold fewer samples than
        there are classes present (stratification needs one of each).
    """
    n = X.shape[0]
    n_present = int(np.unique(y).size)
    n_test = int(np.ceil(test_size * n))
    n_val = int(np.ceil(val_size * n))
    n_train = n - n_test - n_val
    sizes = {"train": n_train, "val": n_val, "test": n_test}
    too_small = {k: v for k, v in sizes.items() if v < n_present}
    if too_small:
        raise ValueError(
            f"val_size={val_size} and test_size={test_size} on {n} samples give part sizes "
            f"{sizes}; each part needs at least one sample of each of the {n_present} classes"
        )
    parts = split_data(X, y, val_size, test_size, seed)
    return DigitsSplit(**{name: Partition(*part) for name, part in parts.items()}, seed=seed)


def split_data(
    X: np.ndarray, y: np.ndarray, val_size: float, test_size: float, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stratified split into training, validation and test parts.

    The test part takes ``ceil(test_size * n)`` of the ``n`` samples, the validation
    part ``ceil(val_size * n)`` of the rest, and the training part what remains; each
    keeps the class proportions of ``y``. The same ``seed`` gives the same split.
    Returns ``{"train": (X_train, y_train), "val": (X_val, y_val), "test": (X_test,
    y_test)}``. :func:`split_dataset` checks the inputs and calls it.
    """
    n = len(y)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=math.ceil(test_size * n), stratify=y, random_state=seed
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=math.ceil(val_size * n), stratify=y_rest, random_state=seed
    )
    return {"train": (X_train, y_train), "val": (X_val, y_val), "test": (X_test, y_test)}


def load_digits_split(
    *, val_size: float = 0.2, test_size: float = 0.2, seed: int = 0
) -> DigitsSplit:
    """Load scikit-learn's digits and split them into train, validation and test parts.

    Pixel values (0 to 16) are scaled to [0, 1]. Nothing is downloaded: the data
    ships inside scikit-learn.

    Parameters
    ----------
    val_size, test_size : float, default 0.2
        Fractions of the 1,797 images that go to the validation and test parts.
    seed : int, default 0
        Seed of the stratified shuffle.

    Returns
    -------
    DigitsSplit
        ``X`` float64 of shape (n, 64) in [0, 1], ``y`` int64 of shape (n,) in 0..9.

    Examples
    --------
    >>> split = load_digits_split(seed=0)
    >>> split.sizes
    {'train': 1077, 'val': 360, 'test': 360}
    >>> split.train.X.shape, split.train.y.dtype
    ((1077, 64), dtype('int64'))
    """
    X, y = _digits()
    return split_dataset(X, y, val_size=val_size, test_size=test_size, seed=seed)


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The scaled digits, read once per process (each study run asks for them again).

    Read-only: :func:`split_dataset` indexes them, so every split gets its own copies.
    """
    digits = load_digits()
    X = digits.data.astype(np.float64) / _PIXEL_MAX
    y = digits.target.astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@_validate.checked(lambda X: {"X": _validate.features(X)})
def add_bias(X: object) -> np.ndarray:
    """Append a column of ones to ``X``, so that ``add_bias(X) @ W`` includes a bias.

    With the ones column, the last row of a weight matrix ``W`` of shape
    (n_features + 1, n_out) acts as the bias vector ``b`` of ``X @ W[:-1] + b``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Finite real features.

    Returns
    -------
    ndarray of shape (n_samples, n_features + 1)
        A new float64 array, ``X`` with a last column of ones.

    Raises
    ------
    TypeError
        If ``X`` is not numeric.
    ValueError
        If ``X`` is not 2-D (a single sample must be passed as shape (1, n_features)),
        is empty, or holds NaN or infinity.

    Examples
    --------
    >>> add_bias([[0.5, 0.25]])
    array([[0.5 , 0.25, 1.  ]])
    """
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _check_one_hot(y: object, num_classes: object) -> dict:
    num_classes = _validate.width(num_classes, "num_classes")
    return {"y": _validate.labels(y, num_classes), "num_classes": num_classes}


@_validate.checked(_check_one_hot)
def one_hot(y: object, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Encode integer labels as one-hot rows.

    Parameters
    ----------
    y : array_like of shape (n_samples,)
        Integer labels in ``0 .. num_classes - 1``.
    num_classes : int, default 10
        Number of classes, the width of the result.

    Returns
    -------
    ndarray of shape (n_samples, num_classes)
        float64, with ``out[i, y[i]] == 1`` and zeros elsewhere.

    Raises
    ------
    TypeError, ValueError
        For non-integer labels, labels out of range, or a ``y`` that is not 1-D.

    Examples
    --------
    >>> one_hot([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    out = np.zeros((y.shape[0], num_classes), dtype=np.float64)
    out[np.arange(y.shape[0]), y] = 1.0
    return out
