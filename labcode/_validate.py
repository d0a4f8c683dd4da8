"""The input checks every public function of labcode uses, written once.

Each check takes the value and the argument's name, and either returns the value in
the form the caller works with or raises a ``TypeError`` (wrong kind of value) or a
``ValueError`` (right kind, wrong value) whose message names the argument, what it got
and what was expected. Public entry points call them once, at the door; loops call
nothing from here.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from numbers import Integral, Real

import numpy as np


# --- the door ---------------------------------------------------------------------------

_INSIDE = contextvars.ContextVar("labcode_inside_a_checked_call", default=False)


def checked(
    check: Callable[..., dict | None] | None = None,
    *,
    explain: Callable[..., None] | None = None,
) -> Callable[[Callable], Callable]:
    """Decorate a public function so that its arguments are checked once, at the door.

    ``check`` receives the call's arguments by name (defaults filled in; only those its
    signature names, unless it takes ``**kwargs``) and raises a
    ``TypeError`` or ``ValueError``, or returns ``None`` or a dict of arguments to
    replace (``{"X": X_as_float64}``). It runs only when the call comes from outside
    labcode: a decorated function called by another one (``fit`` calling
    ``forward_pass`` calling ``fc_forward``) runs its body alone, since the outer call
    has checked what goes in. ``explain``, called with the same arguments when the body
    raises, looks for the bad argument behind the error and raises a clear error in its
    place; when it finds nothing, the original error propagates. Checks that would need
    to look at every batch go there, so that they cost nothing while nothing fails.

    The undecorated function is ``decorated.__wrapped__``.
    """

    def decorate(body: Callable) -> Callable:
        signature = inspect.signature(body)
        check_takes, explain_takes = _names(check), _names(explain)

        @functools.wraps(body)
        def door(*args, **kwargs):
            if _INSIDE.get():
                return body(*args, **kwargs)
            if check is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                replaced = check(**_only(bound.arguments, check_takes))
                if replaced:
                    bound.arguments.update(replaced)
                args, kwargs = bound.args, bound.kwargs
            token = _INSIDE.set(True)
            try:
                return body(*args, **kwargs)
            except Exception:
                if explain is None:
                    raise
                _INSIDE.reset(token)
                token = None
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                try:
                    explain(**_only(bound.arguments, explain_takes))  # the clear error, or returns
                except (TypeError, ValueError) as clear:
                    # shown from here: the frames of the explanation and of the failure
                    # inside torch or NumPy would say no more
                    raise clear.with_traceback(None) from None
                raise
            finally:
                if token is not None:
                    _INSIDE.reset(token)

        return door

    return decorate


def _names(f: Callable | None) -> frozenset[str] | None:
    """The argument names ``f`` takes; None when it takes any (``**kwargs``) or is None."""
    if f is None:
        return None
    parameters = inspect.signature(f).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


def _only(arguments: dict, names: frozenset[str] | None) -> dict:
    return dict(arguments) if names is None else {k: v for k, v in arguments.items() if k in names}


def instance(value: object, cls: type | tuple[type, ...], name: str, what: str | None = None):
    """``value`` itself when it is an instance of ``cls``; a TypeError naming ``name`` if not.

    ``what`` words the expected type (by default the class's module and name).
    """
    if not isinstance(value, cls):
        if what is None:
            classes = cls if isinstance(cls, tuple) else (cls,)
            what = " or ".join(_qualified(c) for c in classes)
        raise TypeError(f"{name} must be {_article(what)} {what}, got {describe(value)}")
    return value


def _qualified(cls: type) -> str:
    """labcode's own classes by their module; others by their shortest public path
    (``torch.optim.Optimizer``, not ``torch.optim.optimizer.Optimizer``)."""
    import sys

    module = cls.__module__
    if module == "builtins":
        return cls.__name__
    if module.split(".")[0] == "labcode":  # where to import it from
        return f"{module}.{cls.__name__}"
    parts = module.split(".")
    for k in range(1, len(parts) + 1):
        if getattr(sys.modules.get(".".join(parts[:k])), cls.__name__, None) is cls:
            return ".".join(parts[:k] + [cls.__name__])
    return f"{module}.{cls.__name__}"


def _article(what: str) -> str:
    return "an" if what[:1].lower() in "aeio" else "a"


def describe(x: object) -> str:
    """A short description of a value for error messages: its type and value, or shape."""
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    if type(x).__name__ in ("Tensor", "Parameter") and hasattr(x, "dtype"):
        return f"tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


# --- numbers ----------------------------------------------------------------------------


MAX_WIDTH = 2**16
"""The most units a layer, or classes a label, may have: wider can only be a mistake for
8 x 8 digits (a weight matrix of this width squared already holds four billion numbers)."""


def integer(value: object, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An int (``True`` is refused) of at least ``minimum`` (and at most ``maximum``), as int."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return int(value)


MAX_EPOCHS = 10**6
"""The most epochs (or iterations) a run may ask for: more can only be a mistake here."""


def epochs(value: object, name: str = "epochs") -> int:
    """A number of epochs or iterations: an int from 1 to :data:`MAX_EPOCHS`."""
    return integer(value, name, maximum=MAX_EPOCHS)


def width(value: object, name: str) -> int:
    """A number of units or classes: an int from 1 to :data:`MAX_WIDTH`."""
    return integer(value, name, maximum=MAX_WIDTH)


def torch_module(model: object, name: str = "model") -> None:
    """A :class:`torch.nn.Module` (torch is imported only when this runs)."""
    from torch import nn

    instance(model, nn.Module, name)


def device(value: object, name: str = "device", *, here: bool = True):
    """A CPU or CUDA :class:`torch.device`; with ``here``, one that exists on this machine."""
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
    if not here:
        return parsed
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
    """A sequence of at least ``at_least`` layer sizes (:func:`width`); ``what`` names them."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of ints >= 1, got {describe(values)}")
    if len(values) < at_least:
        raise ValueError(f"{name} must have at least {what}, got {tuple(values)}")
    return tuple(width(n, f"{name}[{i}]") for i, n in enumerate(values))


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
        x = x.detach().cpu()
        if str(x.dtype) in ("torch.bfloat16", "torch.float16"):  # NumPy has no bfloat16
            x = x.float()
        x = x.numpy()
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
    num_classes = width(num_classes, "num_classes")
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


def in_features(model) -> int | None:
    """How many features ``model`` takes: its ``in_features``, else its first Linear's."""
    from torch import nn

    expected = getattr(model, "in_features", None)
    if isinstance(expected, Integral):
        return int(expected)
    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    return None if first is None else first.in_features


def model_inputs(model: object, X: object) -> np.ndarray:
    """Features for a torch model: a model, and as many columns as it takes."""
    torch_module(model)
    X = features(X)
    expected = in_features(model)
    if expected is not None and X.shape[1] != expected:
        raise ValueError(f"X must have {expected} columns for this model, got shape {X.shape}")
    return X


def out_features(model) -> int | None:
    """How many outputs ``model`` gives: its last Linear's ``out_features``."""
    from torch import nn

    last = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            last = m
    return None if last is None else last.out_features


def class_indices(y: object, n_classes: int | None, name: str) -> None:
    """``y`` is a 1-D int64 tensor of class indices in ``0 .. n_classes - 1``."""
    import torch

    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {describe(y)}")
    if y.dtype != torch.int64:
        raise TypeError(f"{name} must hold class indices as int64 (torch.long), got {y.dtype}; "
                        f"convert them with .long()")
    if n_classes is not None and y.numel() and (y.min() < 0 or y.max() >= n_classes):
        bad = y[(y < 0) | (y >= n_classes)][0].item()
        raise ValueError(f"{name} must hold class indices in 0..{n_classes - 1}, got {bad}")


def batches(model, loader: object, name: str = "loader") -> None:
    """Raise the clear error when a batch of ``loader`` is why training or evaluating
    ``model`` failed (see :func:`checked`); else return. ``loader`` is iterable: the
    door's check has seen to that."""
    n = 0
    for i, batch in enumerate(loader):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"{name} must yield (inputs, labels) pairs, but batch {i} is "
                            f"{describe(batch)}")
        xb, yb = batch
        model_batch(model, xb, f"the inputs of batch {i} of {name}")
        class_indices(yb, out_features(model), f"the labels of batch {i} of {name}")
        if yb.shape != xb.shape[:1]:
            raise ValueError(f"batch {i} of {name} has {tuple(xb.shape)} inputs but labels of "
                             f"shape {tuple(yb.shape)}: one label per input row")
        n += len(yb)
    if n == 0:
        raise ValueError(f"{name} yielded no samples")


def model_batch(model, x: object, name: str = "x") -> None:
    """Raise the clear error when the batch ``x`` is why ``model(x)`` failed; else return.

    Runs after the failure only (see :func:`checked`), so it costs nothing per batch.
    """
    import torch

    expected = in_features(model)
    width = "in_features" if expected is None else expected
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (batch_size, {width}), got "
                        f"{describe(x)}; convert it with torch.as_tensor({name}, dtype=torch.float32)")
    weight = next(model.parameters(), None)
    if x.ndim == 0 or (expected is not None and x.shape[-1] != expected):
        raise ValueError(f"{name} must have shape (batch_size, {width}), got {tuple(x.shape)}")
    if weight is not None and x.dtype != weight.dtype:
        raise TypeError(f"{name} must have the dtype of the model's weights, {weight.dtype}, got "
                        f"{x.dtype}; convert it with {name}.to({weight.dtype})")
    if weight is not None and x.device != weight.device:
        raise ValueError(f"{name} is on {x.device} but the model is on {weight.device}; "
                         f"move it with {name}.to({str(weight.device)!r})")
    norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d, torch.nn.SyncBatchNorm)
    batchnorm = any(isinstance(m, norms) for m in model.modules())
    if batchnorm and model.training and x.ndim >= 1 and x.shape[0] < 2:
        raise ValueError(f"{name} holds {x.shape[0]} sample(s), but in training mode BatchNorm "
                         "needs at least 2 per batch (it normalises over the batch); call "
                         "model.eval() to score single samples")


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
