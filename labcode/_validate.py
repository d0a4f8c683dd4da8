"""The input checks every public function of labcode uses, written once.

Each check takes the value and the argument's name, and either returns the value in
the form the caller works with or raises a ``TypeError`` (wrong kind of value) or a
``ValueError`` (right kind, wrong value) whose message names the argument, what it got
and what was expected. Public entry points call them once, at the door; loops call
nothing from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import numpy as np


def describe(x: object) -> str:
    """A short description of a value for error messages: its type and value, or shape."""
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


# --- numbers ----------------------------------------------------------------------------


def integer(value: object, name: str, *, minimum: int = 1) -> int:
    """An int (``True`` is refused) of at least ``minimum``, returned as int."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def torch_module(model: object, name: str = "model") -> None:
    """A :class:`torch.nn.Module` (torch is imported only when this runs)."""
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {describe(model)}")


def device(value: object, name: str = "device"):
    """A CPU or CUDA :class:`torch.device` that exists on this machine."""
    import torch

    if isinstance(value, torch.device):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str such as 'cpu' or 'cuda', got {describe(value)}")
    try:
        parsed = torch.device(value)
    except RuntimeError:
        parsed = None
    if parsed is None or parsed.type not in ("cpu", "cuda"):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'cuda:<index>', got {value!r}")
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{name} {value!r} was asked for, but CUDA is not available here "
            f"(torch {torch.__version__}); use {name}='cpu'"
        )
    if parsed.type == "cuda" and parsed.index is not None:
        if parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"{name} {value!r} does not exist; this machine has "
                f"{torch.cuda.device_count()} GPU(s)"
            )
    return parsed


def counted(n: int, what: str) -> int:
    """The number of samples a loop over ``what`` saw; a ValueError when it saw none."""
    if n == 0:
        raise ValueError(f"{what} yielded no samples")
    return n


def seed(value: object, name: str = "seed") -> int:
    """A seed: an int >= 0 and below 2**32 (NumPy's, scikit-learn's and torch's range)."""
    value = integer(value, name, minimum=0)
    if value >= 2**32:
        raise ValueError(f"{name} must be below 2**32 = {2**32}, got {value}")
    return value


def seeds(values: object, name: str = "seeds") -> tuple[int, ...]:
    """A non-empty sequence of distinct seeds."""
    if isinstance(values, (str, bytes, Integral)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of ints >= 0, got {describe(values)}")
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must name at least one seed, got none")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Integral) or not 0 <= v < 2**32:
            raise ValueError(f"{name} must be ints >= 0 and below 2**32, got {v!r} in {values}")
    out = tuple(int(v) for v in values)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat, got {out}")
    return out


def sizes(values: object, name: str, *, at_least: int, what: str) -> tuple[int, ...]:
    """A sequence of at least ``at_least`` layer sizes (ints >= 1); ``what`` names them."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of ints >= 1, got {describe(values)}")
    if len(values) < at_least:
        raise ValueError(f"{name} must have at least {what}, got {tuple(values)}")
    return tuple(integer(n, f"{name}[{i}]") for i, n in enumerate(values))


def mlp_shape(
    in_features: object, hidden_sizes: object, num_classes: object, dropout: object
) -> tuple[int, tuple[int, ...], int, float]:
    """The sizes and dropout probability of :class:`labcode.models.ComplexMLP`, checked."""
    return (
        integer(in_features, "in_features"),
        sizes(hidden_sizes, "hidden_sizes", at_least=1, what="one hidden layer"),
        integer(num_classes, "num_classes"),
        real(dropout, "dropout", low=0.0, high=1.0, high_open=True),
    )


def real(
    value: object,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number in the interval from ``low`` to ``high``, returned as float.

    ``low_open`` / ``high_open`` exclude the end points; the message states the interval.
    """
    if high == math.inf:
        where = f"a finite number {'above' if low_open else '>='} {low:g}"
    else:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        where = f"a finite number in {left}{low:g}, {high:g}{right}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be {where}, got {describe(value)}")
    value = float(value)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (math.isfinite(value) and above and below):
        raise ValueError(f"{name} must be {where}, got {value}")
    return value


def positive(value: object, name: str) -> float:
    """A finite real number above 0 (a learning rate, a step size)."""
    return real(value, name, low=0.0, low_open=True)


def non_negative(value: object, name: str) -> float:
    """A finite real number >= 0 (a penalty strength)."""
    return real(value, name, low=0.0)


def one_of(value: object, name: str, options: Iterable[object]) -> object:
    """One of ``options``; the message lists them."""
    options = list(options)
    if not isinstance(value, type(options[0])) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


# --- arrays -----------------------------------------------------------------------------


def _numeric(x: object, name: str, must: str) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except ValueError:  # a ragged nested list
        raise TypeError(f"{name} must {must}, got {describe(x)}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must {must}, got {describe(x)}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got {describe(arr)}")
    return arr


def real_array(x: object, name: str) -> np.ndarray:
    """Any array of real numbers, of any shape, as float64 (the gradient check's inputs)."""
    try:
        return _numeric(x, name, "be an array of real numbers").astype(np.float64)
    except TypeError:  # complex too: one message for every kind of non-real input
        raise TypeError(f"{name} must be an array of real numbers, got {describe(x)}") from None


def features(X: object, name: str = "X") -> np.ndarray:
    """A 2-D, non-empty, finite, real feature matrix, returned as float64."""
    arr = _numeric(X, name, "be a numeric array")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (n_samples, n_features), got shape {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"{name} must have at least one row and one column, got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite, but {name}[{row}, {col}] = {arr[row, col]} "
            f"({int(bad.sum())} non-finite entries in all)"
        )
    return arr


def labels(y: object, num_classes: int, name: str = "y") -> np.ndarray:
    """1-D integer class labels in ``0 .. num_classes - 1`` (``3.0`` is fine, ``2.5`` is not), as int64."""
    num_classes = integer(num_classes, "num_classes")
    arr = _numeric(y, name, "hold integer class labels")
    if arr.dtype == np.bool_:  # True/False from a comparison, not classes
        raise TypeError(f"{name} must hold integer class labels, got booleans: {describe(y)}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D with shape (n_samples,), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        finite = np.isfinite(arr)
        whole = finite & (arr == np.round(np.where(finite, arr, 0)))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise ValueError(f"{name} must hold integer class labels, but {name}[{i}] = {arr[i]}")
    outside = (arr < 0) | (arr >= num_classes)  # before the cast: 1e20 must not wrap around
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        got = int(arr[i]) if np.issubdtype(arr.dtype, np.integer) else arr[i]
        raise ValueError(
            f"{name} must hold labels in 0..{num_classes - 1} (num_classes={num_classes}), "
            f"but {name}[{i}] = {got}"
        )
    return arr.astype(np.int64)


def model_inputs(model: object, X: object) -> np.ndarray:
    """Features for a torch model: a model, and as many columns as its ``in_features``."""
    torch_module(model)
    X = features(X)
    expected = getattr(model, "in_features", None)
    if expected is not None and X.shape[1] != expected:
        raise ValueError(f"X must have {expected} columns for this model, got shape {X.shape}")
    return X


def features_labels(X: object, y: object, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and their labels, with as many labels as rows."""
    X, y = features(X), labels(y, num_classes)
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of samples, got X of shape {X.shape} "
            f"and y of shape {y.shape}"
        )
    return X, y


def float_matrices(**arrays: object) -> None:
    """Each keyword argument is a 2-D float64 NumPy array (the NumPy blocks' inputs).

    Checks kind and shape only, never the values: the blocks run inside training
    loops, so this must cost the same for a 10 x 10 and a 10,000 x 10,000 matrix.
    """
    for name, M in arrays.items():
        if not isinstance(M, np.ndarray) or M.dtype != np.float64:
            raise TypeError(f"{name} must be a float64 NumPy array, got {describe(M)}")
        if M.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {M.shape}")


def shape(M: np.ndarray, expected: tuple[int, ...], name: str, of: str) -> None:
    """``M.shape == expected``, the shape of ``of``, or a ValueError naming both shapes."""
    if M.shape != expected:
        raise ValueError(f"{name} of shape {M.shape} does not match {of} of shape {expected}")
