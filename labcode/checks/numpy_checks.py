"""The checkers of the NumPy pieces: add_bias, one_hot and the NumPy network's blocks.

Each result is compared with labcode's own implementation (:mod:`labcode.data`,
:mod:`labcode.numpy_net`) to ``REFERENCE_TOLERANCE`` and, for gradients, with
central finite differences (:mod:`labcode.gradcheck`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

import numpy as np

from ..data import add_bias, one_hot
from ..gradcheck import TOLERANCE, numerical_gradient, relative_error
from ..numpy_net import fc_forward as _fc_forward
from ..numpy_net import mse_loss as _mse_loss
from ..numpy_net import sigmoid_forward as _sigmoid_forward
from .framework import (
    _RESULTS,
    Verdict,
    _checker_docstring,
    _describe,
    _NotImplemented,
    _pair,
    _Run,
    _run,
    _unchanged,
)

__all__ = [
    "check_add_bias",
    "check_one_hot",
    "check_split_data",
    "check_fc_forward",
    "check_fc_backward",
    "check_sigmoid_forward",
    "check_sigmoid_backward",
    "check_mse_loss",
    "check_gradient_step",
    "check_forward_pass",
    "check_backward_pass",
    "check_train_network",
    "check_accuracy",
    "check_plot_first_image",
    "check_plot_sweep",
    "check_lr_sweep",
    "check_hidden_size_sweep",
    "check_optimizer_sweep",
]

REFERENCE_TOLERANCE = 1e-10
"""Relative error (:func:`labcode.gradcheck.relative_error`) allowed between a student's
float64 array and labcode's: rounding differences only."""


# --- Comparing arrays ------------------------------------------------------------------


def _close(a: np.ndarray, b: np.ndarray, tol: float = REFERENCE_TOLERANCE) -> bool:
    """Whether two arrays have one shape, are finite and agree to relative error ``tol``."""
    return (
        a.shape == b.shape and bool(np.isfinite(a).all() and np.isfinite(b).all())
        and relative_error(a, b) <= tol
    )


def _factor(got: np.ndarray, want: np.ndarray) -> float | None:
    """``c`` if ``got`` is ``c * want`` for a constant ``c != 1`` (to rounding), else None."""
    if got.shape != want.shape:
        return None
    denom = float(np.vdot(want, want))
    if denom == 0.0:
        return None
    c = float(np.vdot(got, want)) / denom
    if c == 0.0 or math.isclose(c, 1.0, rel_tol=1e-9) or not _close(got, c * want, 1e-9):
        return None
    return c


def _factor_hint(what: str, c: float, known: Mapping[float, str] | None = None) -> str:
    for value, text in (known or {}).items():
        if math.isclose(c, value, rel_tol=1e-6):
            return text
    if math.isclose(c, -1.0, rel_tol=1e-6):
        return f"wrong sign: {what} has the opposite sign of the correct result."
    return f"{what} is off by a constant factor of {c:.4g}."


def _float_array(
    run: _Run, value: object, *, what: str, shape: tuple[int, ...], case: str,
    shape_hint: Callable[[tuple[int, ...]], str | None] = lambda s: None,
    finite_hint: str | None = None, float64: bool = True,
) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape``, or a failure naming ``what``.

    With ``float64`` (the default) the array must be float64 already, as everything in
    the NumPy network is: float32 would lose the precision the gradient checks need.
    """
    if not isinstance(value, np.ndarray):
        run.fail(case, f"{what}, a NumPy array of shape {shape}", _describe(value),
                 f"return {what} as a NumPy array.")
    if value.dtype == object or not (
        np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_
    ) or np.iscomplexobj(value):
        run.fail(case, f"{what}, a real array of shape {shape}", _describe(value))
    if value.shape != shape:
        hint = shape_hint(value.shape)
        if hint is None and value.shape == shape[::-1] and len(shape) == 2:
            hint = f"{what} looks transposed: it has shape {value.shape}, not {shape}."
        run.fail(case, f"{what} of shape {shape}", f"{what} of shape {value.shape}", hint)
    if float64 and value.dtype != np.float64:
        run.fail(case, f"{what} of dtype float64", f"dtype {value.dtype}",
                 "compute in float64, the dtype of the inputs; do not convert to float32 "
                 "or to integers.")
    arr = value.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        run.fail(
            case, f"{what} of shape {shape} with finite entries",
            f"{what} with {int(bad.sum())} non-finite entries (NaN or infinity), "
            f"the first at {list(where)}", finite_hint,
        )
    run.ok()
    return arr


def _array_value(
    run: _Run, got: np.ndarray, want: np.ndarray, *, what: str, formula: str, case: str,
    hint: Callable[[np.ndarray], str | None] = lambda g: None,
    factor_hints: Mapping[float, str] | None = None,
) -> None:
    """Fail unless ``got`` equals labcode's ``want`` to :data:`REFERENCE_TOLERANCE`."""
    if _close(got, want):
        run.ok()
        return
    text = hint(got)
    if text is None:
        c = _factor(got, want)
        if c is not None:
            text = _factor_hint(what, c, factor_hints)
        elif got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, want.T):
            text = f"{what} looks transposed."
    run.fail(
        case, f"{what} = {formula}", f"{what} with relative error "
        f"{relative_error(got, want):.2g} against {formula} (tolerance {REFERENCE_TOLERANCE:g})",
        text,
    )


def _gradient_value(
    run: _Run, got: np.ndarray, want: np.ndarray, numerical: np.ndarray, *, what: str,
    case: str, hint: Callable[[np.ndarray], str | None] = lambda g: None,
    factor_hints: Mapping[float, str] | None = None,
) -> None:
    """Fail unless ``got`` equals labcode's gradient and the finite-difference estimate.

    Where the true gradient is zero, a relative error means nothing (the estimate is
    rounding noise, and any noise is 100% off zero); there the estimate must agree to
    :data:`labcode.gradcheck.TOLERANCE` in absolute terms.
    """
    err_ref = relative_error(got, want)
    if np.any(want):
        err_num, kind = relative_error(got, numerical), "relative error"
    else:
        err_num, kind = float(np.max(np.abs(got - numerical), initial=0.0)), "absolute error"
    if err_ref <= REFERENCE_TOLERANCE and err_num <= TOLERANCE:
        run.ok(2)
        return
    text = hint(got)
    if text is None:
        c = _factor(got, want)
        if c is not None:
            text = _factor_hint(what, c, factor_hints)
        elif got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, want.T):
            text = f"{what} looks transposed."
    run.fail(
        case,
        f"{what} equal to labcode's gradient and to the finite-difference estimate",
        f"{what} with relative error {err_ref:.2g} against labcode's gradient and "
        f"{kind} {err_num:.2g} against finite differences (tolerance {TOLERANCE:g})",
        text,
    )


# --- Step 1: add_bias and one_hot ------------------------------------------------------------


@_checker_docstring("add_bias")
def check_add_bias(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``add_bias(X)``: ``X`` with a column of ones appended as its last column.

    Inputs: a (5, 3) random matrix, one sample of shape (1, 4) and a single
    feature of shape (6, 1). Checks the shape, the values, that the ones are the last
    column, and that ``X`` is left unchanged. Reference: :func:`labcode.data.add_bias`.
    """
    return _run("add_bias", func, _add_bias_body, verbose=verbose)


def _add_bias_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(0)
    cases = [
        ("X of shape (5, 3), random values", rng.normal(size=(5, 3))),
        ("one sample: X of shape (1, 4)", rng.normal(size=(1, 4))),
        ("a single feature: X of shape (6, 1)", rng.normal(size=(6, 1))),
    ]
    for case, X in cases:
        X0 = X.copy()
        out = run.call(func, X, case=case, expr="add_bias(X)")
        _unchanged(run, case, X=(X, X0))
        n, d = X0.shape
        want = add_bias(X0)

        def shape_hint(s: tuple[int, ...], n: int = n, d: int = d) -> str | None:
            if s == (n, d):
                return "no column was added: append a column of ones, np.hstack([X, ones])."
            if s == (n + 1, d):
                return "you appended a row; append a column instead (axis=1)."
            return None

        got = _float_array(run, out, what="add_bias(X)", shape=(n, d + 1), case=case,
                           shape_hint=shape_hint)
        if np.array_equal(got, want):
            run.ok()
            continue
        if np.all(got[:, 0] == 1.0) and np.array_equal(got[:, 1:], X0):
            hint = ("bias column first instead of last: the ones must be the last column, "
                    "np.hstack([X, ones]), because the last row of W holds the bias.")
        elif np.array_equal(got[:, :-1], X0):
            hint = "the appended column must hold ones, the constant input of the bias."
        else:
            hint = "the first columns must be X itself, unchanged, followed by a column of ones."
        run.fail(case, f"X followed by a column of ones, of shape {want.shape}",
                 f"an array whose values differ, first row {np.array2string(got[0], precision=3)}",
                 hint)


@_checker_docstring("split_data")
def check_split_data(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``split_data(X, y, val_size, test_size, seed) -> {"train", "val", "test"}``.

    Inputs: 60 samples of 3 classes (30, 18 and 12, in class order) whose first feature
    is the sample's index, split with two seeds and two pairs of sizes. Checks that each
    part is a pair ``(X_part, y_part)`` whose rows keep their labels, the sizes (to one
    sample), that every sample is in exactly one part, that each part keeps the class
    proportions (to one sample), that the same seed gives the same split and another
    seed another one, and that ``X`` and ``y`` are left unchanged. Reference:
    :func:`labcode.data.split_data`.
    """
    return _run("split_data", func, _split_data_body, verbose=verbose)


def _split_parts(run: _Run, out: object, case: str, X: np.ndarray,
                 y: np.ndarray) -> dict[str, np.ndarray]:
    """The indices of the samples in each part, after checking the parts' form."""
    names = ["train", "val", "test"]
    if not isinstance(out, Mapping) or set(out) != set(names):
        run.fail(case, "a dict with keys 'train', 'val' and 'test'",
                 _describe(out) if not isinstance(out, Mapping) else f"a dict with keys {list(out)}",
                 'return {"train": (X_train, y_train), "val": (X_val, y_val), '
                 '"test": (X_test, y_test)}.')
    indices = {}
    for name in names:
        part = out[name]
        if not (isinstance(part, (tuple, list)) and len(part) == 2
                and all(isinstance(a, np.ndarray) for a in part)):
            run.fail(case, f"{name!r}: a pair (X_{name}, y_{name}) of arrays", _describe(part),
                     f"keep each part as a pair: \"{name}\": (X_{name}, y_{name}).")
        X_part, y_part = part
        if X_part.ndim != 2 or X_part.shape[1] != X.shape[1] or y_part.shape != (len(X_part),):
            run.fail(case, f"X_{name} of shape (m, {X.shape[1]}) and y_{name} of shape (m,)",
                     f"X_{name} of shape {X_part.shape} and y_{name} of shape {y_part.shape}",
                     "split the rows (the samples) of X and y together.")
        idx = X_part[:, 0].astype(np.int64)
        if not (np.array_equal(idx, X_part[:, 0]) and np.all((idx >= 0) & (idx < len(y)))
                and np.array_equal(X[idx], X_part)):
            run.fail(case, f"the rows of X_{name} taken from X", f"X_{name} with other rows",
                     "move whole rows of X, unchanged.")
        if not np.array_equal(y[idx], y_part):
            run.fail(case, f"y_{name}[i], the label of the row X_{name}[i]",
                     f"labels that do not belong to their rows",
                     "shuffle X and y together (one call of train_test_split(X, y, ...)), "
                     "never each on its own.")
        indices[name] = idx
    run.ok()
    return indices


def _split_data_body(run: _Run, func: Callable) -> None:
    y = np.repeat([0, 1, 2], [30, 18, 12])
    n = len(y)
    X = np.column_stack([np.arange(n), np.random.default_rng(10).normal(size=(n, 2))])
    cases = [(0.2, 0.25, 0), (0.2, 0.25, 1), (0.3, 0.1, 0)]
    splits = {}
    for val_size, test_size, seed in cases:
        case = (f"60 samples of 3 classes (30, 18 and 12, sorted by class), val_size = "
                f"{val_size}, test_size = {test_size}, seed = {seed}")
        X0, y0 = X.copy(), y.copy()
        out = run.call(func, X, y, val_size, test_size, seed, case=case,
                       expr="split_data(X, y, val_size, test_size, seed)")
        _unchanged(run, case, X=(X, X0), y=(y, y0))
        parts = _split_parts(run, out, case, X0, y0)
        all_idx = np.concatenate(list(parts.values()))
        if len(all_idx) != n or len(np.unique(all_idx)) != n:
            twice = len(all_idx) - len(np.unique(all_idx))
            hint = ("take the validation part from what is left after the test part, not "
                    "from all the samples." if twice else
                    "every sample belongs to one of the three parts.")
            run.fail(case, f"each of the {n} samples in exactly one part",
                     f"{len(all_idx)} rows in the parts, {twice} of them repeated", hint)
        run.ok()
        sizes = {name: len(idx) for name, idx in parts.items()}
        want = {"val": val_size * n, "test": test_size * n}
        want["train"] = n - want["val"] - want["test"]
        if any(abs(sizes[k] - want[k]) > 1 + 1e-9 for k in want):
            hint = None
            relative = val_size * (n - math.ceil(test_size * n))
            if abs(sizes["val"] - relative) <= 1 and abs(sizes["val"] - want["val"]) > 1:
                hint = ("val_size is a share of all the samples: take ceil(val_size * n) "
                        "samples from the rest, not the share val_size of the rest.")
            elif abs(sizes["val"] - want["test"]) <= 1 and abs(sizes["test"] - want["val"]) <= 1:
                hint = "val_size and test_size are swapped."
            run.fail(case, "part sizes of about "
                     + ", ".join(f"{k} {v:.1f}" for k, v in want.items()) + " samples",
                     ", ".join(f"{k} {v}" for k, v in sizes.items()), hint)
        run.ok()
        if np.array_equal(np.sort(parts["train"]), np.arange(sizes["train"])):
            run.fail(case, "parts drawn at random from all the samples",
                     f"the training part is the first {sizes['train']} samples in their order",
                     "shuffle before cutting: train_test_split does, with random_state=seed.")
        counts = np.bincount(y)
        for name, idx in parts.items():
            got = np.bincount(y[idx], minlength=3)
            expected = counts * len(idx) / n
            if np.abs(got - expected).max() > 1 + 1e-9:
                run.fail(case, f"the {name} part with the class proportions of y, about "
                         f"{np.array2string(expected, precision=1)} samples of classes 0, 1, 2",
                         f"{got.tolist()}", "stratify: train_test_split(..., stratify=y) for "
                         "the test part, and stratify=y_rest for the validation part.")
        run.ok()
        splits[(val_size, test_size, seed)] = {k: np.sort(v) for k, v in parts.items()}
        again = run.call(func, X, y, val_size, test_size, seed, case=case,
                         expr="split_data(X, y, val_size, test_size, seed), a second time")
        again_parts = _split_parts(run, again, case, X0, y0)
        if any(not np.array_equal(again_parts[k], parts[k]) for k in parts):
            run.fail(case, "the same split from the same seed", "another split the second time",
                     "pass the seed on: train_test_split(..., random_state=seed), in both calls.")
        run.ok()
    first, other = splits[(0.2, 0.25, 0)], splits[(0.2, 0.25, 1)]
    if all(np.array_equal(first[k], other[k]) for k in first):
        run.fail("seed = 0 and seed = 1, with val_size = 0.2 and test_size = 0.25",
                 "two different splits", "the same split for both seeds",
                 "use the seed given: random_state=seed, not a number of your own.")
    run.ok()


@_checker_docstring("one_hot")
def check_one_hot(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``one_hot(y, num_classes=10)``: one row per label, a 1 in column ``y[i]``.

    Inputs: labels including 0 and 9 with the default ``num_classes``, labels that
    do not reach ``num_classes - 1`` (``num_classes=4``), and one sample. Checks shape,
    values, float dtype and that ``y`` is left unchanged. Reference:
    :func:`labcode.data.one_hot`.
    """
    return _run("one_hot", func, _one_hot_body, verbose=verbose)


def _one_hot_body(run: _Run, func: Callable) -> None:
    cases = [
        ("8 labels including 0 and 9, y = [3, 0, 9, 1, 9, 5, 0, 2], default num_classes (10)",
         np.array([3, 0, 9, 1, 9, 5, 0, 2]), None),
        ("labels that do not reach num_classes - 1 (a batch need not hold every class): "
         "y = [1, 0, 1] with num_classes=4", np.array([1, 0, 1]), 4),
        ("one sample, y = [9], default num_classes (10)", np.array([9]), None),
    ]
    for case, y, k in cases:
        y0 = y.copy()
        if k is None:
            out = run.call(func, y, case=case, expr="one_hot(y)")
            k = 10
        else:
            out = run.call(func, y, num_classes=k, case=case, expr=f"one_hot(y, num_classes={k})")
        _unchanged(run, case, y=(y, y0))
        n = y0.shape[0]
        want = one_hot(y0, num_classes=k)

        def shape_hint(
            s: tuple[int, ...], n: int = n, k: int = k, top: int = int(y0.max())
        ) -> str | None:
            if s == (k, n) and n != k:
                return "transposed: one row per sample, one column per class."
            if len(s) == 2 and s[0] == n and s[1] == top + 1 and top + 1 != k:
                return (f"the width must be num_classes = {k}, not y.max() + 1 = {top + 1}: "
                        "a batch need not contain every class.")
            if len(s) == 2 and s[0] == n and abs(s[1] - k) == 1:
                return (f"off-by-one in the width: classes 0..{k - 1} need num_classes = {k} "
                        "columns.")
            return None

        got = _float_array(run, out, what=f"one_hot(y, num_classes={k})", shape=(n, k),
                           case=case, shape_hint=shape_hint, float64=False)
        if not np.array_equal(got, want):
            if np.array_equal(got, np.roll(want, -1, axis=1)) or np.array_equal(
                got, np.roll(want, 1, axis=1)
            ):
                hint = ("off-by-one: the 1 of label c belongs in column c (columns are numbered "
                        "from 0), for example out[np.arange(n), y] = 1.")
            elif not np.array_equal(got.sum(axis=1), np.ones(n)):
                hint = "each row must hold exactly one 1, in column y[i], and zeros elsewhere."
            else:
                hint = "row i must have its 1 in column y[i]."
            first = int(np.flatnonzero((got != want).any(axis=1))[0])
            run.fail(case, f"row {first} (label {y0[first]}) = {want[first].astype(int).tolist()}",
                     f"row {first} = {np.array2string(got[first], precision=3)}", hint)
        run.ok()
        if out.dtype != np.float64:
            run.fail(case, "a float64 array (the targets of the mean squared error)",
                     f"dtype {out.dtype}",
                     "create the array with np.zeros((n, num_classes)), which is float64.")
        run.ok()


# --- Exercise 1: the blocks of the NumPy network ---------------------------------------------


def _fc_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(description, X, W, dZ): a square W first, so a transposed W still has its shape."""
    rng = np.random.default_rng(1)
    cases = []
    for n, n_in, n_out, note in [
        (4, 3, 4, "; W is square, so a transposed W would still fit"),
        (6, 4, 3, ""),
        (1, 4, 3, "; one sample"),
    ]:
        X = add_bias(rng.normal(size=(n, n_in)))
        W = rng.normal(size=(n_in + 1, n_out))
        dZ = rng.normal(size=(n, n_out))
        cases.append((f"X of shape {X.shape} (last column ones) and W of shape {W.shape}{note}",
                      X, W, dZ))
    return cases


@_checker_docstring("fc_forward")
def check_fc_forward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``fc_forward(X, W) -> (Z, cache)``: ``Z = X @ W`` and ``cache = (X, W)``.

    Inputs: a square ``W`` (so that ``X @ W.T`` still has the right shape), a general
    case and one sample; ``X`` has its column of ones. Checks the tuple, ``Z``'s shape
    and values, the cache, and that the inputs are left unchanged. Reference:
    :func:`labcode.numpy_net.fc_forward`.
    """
    return _run("fc_forward", func, _fc_forward_body, verbose=verbose)


def _fc_forward_body(run: _Run, func: Callable) -> None:
    for case, X, W, _ in _fc_cases():
        X0, W0 = X.copy(), W.copy()
        out = run.call(func, X, W, case=case, expr="fc_forward(X, W)")
        _unchanged(run, case, X=(X, X0), W=(W, W0))
        Z, cache = _pair(run, out, ("Z", "cache"), case,
                         "return two things, the output and the cache: return Z, (X, W).")
        want = X0 @ W0

        def hint(got: np.ndarray, X0: np.ndarray = X0, W0: np.ndarray = W0) -> str | None:
            if _close(got, X0 @ W0.T):
                return "transposed weight: Z = X @ W, with W of shape (n_in + 1, n_out) as given."
            if _close(got, X0[:, :-1] @ W0[:-1]):
                return ("the bias is missing: use all of X and W; X's last column (ones) "
                        "picks W's last row.")
            return None

        got = _float_array(run, Z, what="Z", shape=want.shape, case=case)
        _array_value(run, got, want, what="Z", formula="X @ W", case=case, hint=hint)
        if not (
            isinstance(cache, (tuple, list)) and len(cache) == 2
            and all(isinstance(c, np.ndarray) for c in cache)
            and cache[0].shape == X0.shape and cache[1].shape == W0.shape
            and np.array_equal(cache[0], X0) and np.array_equal(cache[1], W0)
        ):
            swapped = (isinstance(cache, (tuple, list)) and len(cache) == 2
                       and all(isinstance(c, np.ndarray) for c in cache)
                       and cache[0].shape == W0.shape and cache[1].shape == X0.shape
                       and np.array_equal(cache[0], W0) and np.array_equal(cache[1], X0))
            if swapped:
                run.fail(case, "cache = (X, W), the inputs fc_backward needs, in this order",
                         "cache = (W, X)", "the cache holds W and X in the other order: "
                         "return (X, W); fc_backward unpacks it as X, W = cache.")
            run.fail(case, "cache = (X, W), the inputs fc_backward needs", _describe(cache),
                     "return the tuple (X, W) as the cache: the backward pass computes "
                     "X.T @ dZ and dZ @ W.T from it.")
        run.ok()


@_checker_docstring("fc_backward")
def check_fc_backward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``fc_backward(dZ, cache) -> (dX, dW)`` with ``cache = (X, W)``.

    Each gradient is compared with labcode's (:func:`labcode.numpy_net.fc_backward`)
    and with central finite differences of ``sum(dZ * (X @ W))``
    (:func:`labcode.gradcheck.numerical_gradient`, tolerance
    :data:`labcode.gradcheck.TOLERANCE`). Inputs: a square ``W``, a general case and one
    sample. Also checks that ``dZ`` and the cache are left unchanged.
    """
    return _run("fc_backward", func, _fc_backward_body, verbose=verbose)


def _fc_backward_body(run: _Run, func: Callable) -> None:
    for case, X, W, dZ in _fc_cases():
        case = f"dZ of shape {dZ.shape} and cache = (X, W), with {case}"
        X0, W0, dZ0 = X.copy(), W.copy(), dZ.copy()
        out = run.call(func, dZ, (X, W), case=case, expr="fc_backward(dZ, cache)")
        _unchanged(run, case, dZ=(dZ, dZ0), X=(X, X0), W=(W, W0))
        dX, dW = _pair(run, out, ("dX", "dW"), case, "return both gradients: return dX, dW.")
        want_dX, want_dW = dZ0 @ W0.T, X0.T @ dZ0
        Xc, Wc = X0.copy(), W0.copy()

        def loss(_: np.ndarray) -> float:
            return float(np.sum(dZ0 * _fc_forward(Xc, Wc)[0]))

        num_dW, num_dX = numerical_gradient(loss, Wc), numerical_gradient(loss, Xc)
        square = X0.shape == W0.shape
        if (isinstance(dX, np.ndarray) and isinstance(dW, np.ndarray)
                and (dX.shape, dW.shape) == (W0.shape, X0.shape)
                and (not square or (_close(dX, want_dW) and _close(dW, want_dX)))):
            run.fail(case, f"(dX, dW): dX = dZ @ W.T of shape {X0.shape} and dW = X.T @ dZ "
                     f"of shape {W0.shape}", "(dW, dX): the two gradients in the other order",
                     "dX and dW are swapped: return dX, dW in this order.")

        def dW_hint(got: np.ndarray, X0: np.ndarray = X0, dZ0: np.ndarray = dZ0) -> str | None:
            if _close(got, dZ0.T @ X0) and not _close(got, X0.T @ dZ0):
                return "dW looks transposed: dW = X.T @ dZ has the shape of W."
            return None

        def dX_hint(got: np.ndarray, W0: np.ndarray = W0, dZ0: np.ndarray = dZ0) -> str | None:
            if square and _close(got, dZ0 @ W0):
                return "transposed weight: dX = dZ @ W.T, the transpose of W."
            return None

        n = X0.shape[0]
        factors = {1.0 / n: "divided by the number of samples: mse_loss already averages, "
                            "so the layer's backward must not divide again."} if n > 1 else {}
        got_dX = _float_array(run, dX, what="dX", shape=X0.shape, case=case)
        _gradient_value(run, got_dX, want_dX, num_dX, what="dX", case=case, hint=dX_hint,
                        factor_hints=factors)
        transposed = "dW looks transposed: dW = X.T @ dZ has the shape of W."
        got_dW = _float_array(run, dW, what="dW", shape=W0.shape, case=case,
                              shape_hint=lambda s: transposed if s == W0.shape[::-1] else None)
        _gradient_value(run, got_dW, want_dW, num_dW, what="dW", case=case, hint=dW_hint,
                        factor_hints=factors)


def _sigmoid(Z: np.ndarray) -> np.ndarray:
    return _sigmoid_forward(np.asarray(Z, dtype=np.float64))[0]


@_checker_docstring("sigmoid_forward")
def check_sigmoid_forward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``sigmoid_forward(Z) -> (A, cache)``: ``A = 1 / (1 + exp(-Z))``, ``cache = A``.

    Inputs: a (4, 3) random matrix, and one sample with large ``|z|`` (±40, ±1000),
    where a careless formula overflows. Checks the tuple, ``A`` (finite, to rounding),
    the cache and that ``Z`` is left unchanged. Reference:
    :func:`labcode.numpy_net.sigmoid_forward`.
    """
    return _run("sigmoid_forward", func, _sigmoid_forward_body, verbose=verbose)


def _sigmoid_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(2)
    return [
        ("Z of shape (4, 3), random values in about [-6, 6]", 2.0 * rng.normal(size=(4, 3))),
        ("one sample with large |z|: Z = [[-1000, -40, -1, 0, 1, 40, 1000]]",
         np.array([[-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0]])),
    ]


_OVERFLOW_HINT = (
    "exp overflowed for large |z|: compute exp(-|z|), which never exceeds 1, "
    "as 1 / (1 + e) where z >= 0 and e / (1 + e) where z < 0."
)


def _sigmoid_forward_body(run: _Run, func: Callable) -> None:
    for case, Z in _sigmoid_cases():
        Z0 = Z.copy()
        out = run.call(func, Z, case=case, expr="sigmoid_forward(Z)")
        _unchanged(run, case, Z=(Z, Z0))
        A, cache = _pair(run, out, ("A", "cache"), case,
                         "return two things, the output and the cache: return A, A.")
        want = _sigmoid(Z0)
        got = _float_array(run, A, what="A", shape=Z0.shape, case=case, finite_hint=_OVERFLOW_HINT)
        overflowed = [w for w in run.warnings if "overflow" in w]
        if overflowed:  # right values, but only because 1 / (1 + inf) happens to be 0
            run.fail(case, "A computed without overflow: a form that never warns",
                     f"the right values, after {overflowed[0]}", _OVERFLOW_HINT)
        if not np.allclose(got, want, rtol=1e-12, atol=1e-15):
            if np.allclose(got, 1.0 - want, rtol=1e-12, atol=1e-15):
                hint = "wrong sign in the exponent: sigmoid(z) = 1 / (1 + exp(-z))."
            elif np.any((got < 0) | (got > 1)):
                hint = "a sigmoid lies in [0, 1]: A = 1 / (1 + exp(-Z))."
            else:
                hint = None
            i = tuple(int(v) for v in np.argwhere(~np.isclose(got, want, rtol=1e-12, atol=1e-15))[0])
            run.fail(case, f"A = 1 / (1 + exp(-Z)); at {list(i)} (z = {Z0[i]:g}) {want[i]:.6g}",
                     f"{got[i]:.6g} there", hint)
        run.ok()
        if not (isinstance(cache, np.ndarray) and cache.shape == Z0.shape
                and np.allclose(cache, want, rtol=1e-12, atol=1e-15)):
            hint = ("the cache must be A, the sigmoid's output: the backward pass uses "
                    "A * (1 - A).")
            received = _describe(cache)
            if (isinstance(cache, np.ndarray) and cache.shape == Z0.shape
                    and np.array_equal(cache, Z0)):
                hint = "the cache holds Z; it must hold A: the backward pass uses A * (1 - A)."
                received = "cache = Z"
            run.fail(case, "cache = A", received, hint)
        run.ok()


@_checker_docstring("sigmoid_backward")
def check_sigmoid_backward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``sigmoid_backward(dA, cache) -> dZ`` with ``cache = A = sigmoid(Z)``.

    ``dZ`` is compared with labcode's (:func:`labcode.numpy_net.sigmoid_backward`) and
    with central finite differences of ``sum(dA * sigmoid(Z))`` with respect to ``Z``.
    Inputs: a random (4, 3) case and one saturated sample (``|z|`` up to 30). Also
    checks that ``dA`` and the cache are left unchanged.
    """
    return _run("sigmoid_backward", func, _sigmoid_backward_body, verbose=verbose)


def _sigmoid_backward_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(3)
    cases = [
        ("dA of shape (4, 3) and cache = A = sigmoid(Z) for random Z", 2.0 * rng.normal(size=(4, 3))),
        ("one sample, dA of shape (1, 5) and cache = A = sigmoid(Z) with "
         "Z = [[-30, -2, 0, 2, 30]] (saturated at both ends)",
         np.array([[-30.0, -2.0, 0.0, 2.0, 30.0]])),
    ]
    for case, Z in cases:
        A = _sigmoid(Z)
        dA = rng.normal(size=Z.shape)
        A0, dA0, Zc = A.copy(), dA.copy(), Z.copy()
        out = run.call(func, dA, A, case=case, expr="sigmoid_backward(dA, cache)")
        _unchanged(run, case, dA=(dA, dA0), cache=(A, A0))
        want = dA0 * A0 * (1.0 - A0)
        num = numerical_gradient(lambda _: float(np.sum(dA0 * _sigmoid(Zc))), Zc)

        def hint(got: np.ndarray, A0: np.ndarray = A0, dA0: np.ndarray = dA0) -> str | None:
            if _close(got, A0 * (1.0 - A0)):
                return "multiply by dA (the chain rule): dZ = dA * A * (1 - A)."
            if _close(got, -dA0 * A0 * (1.0 - A0)):
                return "wrong sign: dZ = dA * A * (1 - A)."
            S = _sigmoid(A0)
            if _close(got, dA0 * S * (1.0 - S)):
                return ("the cache already holds A = sigmoid(Z): do not apply the sigmoid again; "
                        "dZ = dA * A * (1 - A).")
            if _close(got, dA0 * A0) or _close(got, dA0 * (1.0 - A0)):
                return "the sigmoid's derivative is A * (1 - A): dZ = dA * A * (1 - A)."
            if _close(got, dA0):
                return ("the sigmoid's derivative is missing: dZ = dA * A * (1 - A), the "
                        "upstream gradient times sigma'(z) = A * (1 - A).")
            return None

        got = _float_array(run, out, what="dZ", shape=Z.shape, case=case)
        _gradient_value(run, got, want, num, what="dZ", case=case, hint=hint)


@_checker_docstring("mse_loss")
def check_mse_loss(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``mse_loss(A, Y) -> (loss, dA)``: ``loss = mean((A - Y) ** 2)`` over all entries.

    ``loss`` is compared with labcode's (:func:`labcode.numpy_net.mse_loss`); ``dA``
    with labcode's and with central finite differences of the loss. Inputs: a random
    (5, 3) case with one-hot targets, one sample with 10 outputs, and ``A == Y`` (loss
    0). Also checks that ``A`` and ``Y`` are left unchanged.
    """
    return _run("mse_loss", func, _mse_loss_body, verbose=verbose)


def _mse_loss_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(4)
    Y1 = one_hot(np.array([0, 2, 1, 2, 0]), num_classes=3)
    Y2 = one_hot(np.array([9]))
    cases = [
        ("A of shape (5, 3) in (0, 1) and one-hot targets Y of shape (5, 3)",
         _sigmoid(rng.normal(size=(5, 3))), Y1),
        ("one sample: A of shape (1, 10) and Y = one_hot([9]) of shape (1, 10)",
         _sigmoid(rng.normal(size=(1, 10))), Y2),
        ("A equal to Y, both of shape (5, 3): the loss is 0", Y1.copy(), Y1.copy()),
    ]
    for case, A, Y in cases:
        A0, Y0 = A.copy(), Y.copy()
        out = run.call(func, A, Y, case=case, expr="mse_loss(A, Y)")
        _unchanged(run, case, A=(A, A0), Y=(Y, Y0))
        loss, dA = _pair(run, out, ("loss", "dA"), case,
                         "return the loss and its gradient: return loss, dA.")
        want_loss, want_dA = _mse_loss(A0, Y0)
        n, k = A0.shape
        size = A0.size
        if (
            isinstance(loss, (bool, np.bool_))
            or not isinstance(loss, (int, float, np.number, np.ndarray))
            or np.ndim(loss) != 0
            or np.iscomplexobj(loss)
            or not np.issubdtype(np.asarray(loss).dtype, np.number)
        ):
            run.fail(case, "loss, one number", _describe(loss),
                     "the loss is one number, the mean over all n_samples * n_outputs entries.")
        got_loss = float(loss)
        if not math.isclose(got_loss, want_loss, rel_tol=1e-10, abs_tol=1e-15):
            hint = None
            if want_loss > 0:
                c = got_loss / want_loss
                known = {
                    float(size): "you summed the squared errors; the loss is their mean over all "
                                 "n_samples * n_outputs entries (A.size).",
                    float(k): "you divided by the number of samples only; the mean runs over "
                              "all n_samples * n_outputs entries (A.size).",
                    float(n): "you divided by the number of outputs only; the mean runs over "
                              "all n_samples * n_outputs entries (A.size).",
                    0.5: "there is no factor 1/2: loss = mean((A - Y) ** 2).",
                }
                hint = next((t for v, t in known.items() if math.isclose(c, v, rel_tol=1e-9)), None)
            run.fail(case, f"loss = {want_loss:.6g}", f"loss = {got_loss:.6g}", hint)
        run.ok()
        got_dA = _float_array(run, dA, what="dA", shape=A0.shape, case=case)
        Ac = A0.copy()
        num = numerical_gradient(lambda _: _mse_loss(Ac, Y0)[0], Ac)
        factors = {
            -1.0: "wrong sign: dA = 2 * (A - Y) / A.size, the derivative with respect to A.",
            0.5: "the factor 2 is missing: the derivative of (a - y) ** 2 is 2 * (a - y).",
            float(size): "divide by A.size, as the loss does: dA = 2 * (A - Y) / A.size.",
            0.5 * size: "dA = 2 * (A - Y) / A.size: the factor 2 and the division by A.size.",
        }
        if k > 1:
            factors[float(k)] = ("divide by A.size, the number of entries, not by the number "
                                 "of samples: dA = 2 * (A - Y) / A.size.")
        _gradient_value(run, got_dA, want_dA, num, what="dA", case=case, factor_hints=factors)


@_checker_docstring("gradient_step")
def check_gradient_step(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``gradient_step(params, grads, lr)``: a new dict of ``W - lr * dW``.

    Inputs: two weight matrices with ``lr = 0.5``, and one with ``lr = 0.1``. Checks
    that a dict with the keys of ``params`` comes back, its values, and that
    ``params`` and ``grads`` are left unchanged. Reference:
    :func:`labcode.numpy_net.gradient_step`.
    """
    return _run("gradient_step", func, _gradient_step_body, verbose=verbose)


def _gradient_step_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(5)
    cases = [
        ("params {'W1': (4, 3), 'W2': (4, 2)}, grads of the same shapes, lr = 0.5",
         {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(4, 2))},
         {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(4, 2))}, 0.5),
        ("params {'W1': (3, 2)}, grads of the same shape, lr = 0.1",
         {"W1": rng.normal(size=(3, 2))}, {"W1": rng.normal(size=(3, 2))}, 0.1),
    ]
    for case, params, grads, lr in cases:
        p0 = {k: v.copy() for k, v in params.items()}
        g0 = {k: v.copy() for k, v in grads.items()}
        p_in, g_in = dict(params), dict(grads)
        out = run.call(func, p_in, g_in, lr, case=case, expr="gradient_step(params, grads, lr)")
        if set(p_in) != set(p0) or set(g_in) != set(g0):
            run.fail(case, "params and grads left as they were",
                     f"params with keys {list(p_in)} and grads with keys {list(g_in)}",
                     "do not add or remove keys of the inputs; build a new dict.")
        _unchanged(run, case, **{f"params[{k!r}]": (p_in[k], p0[k]) for k in p0},
                   **{f"grads[{k!r}]": (g_in[k], g0[k]) for k in g0})
        if not isinstance(out, Mapping):
            hint = ("return the new dict of weights."
                    if out is None else "return a dict keyed like params.")
            run.fail(case, f"a dict with keys {list(p0)}", _describe(out), hint)
        if set(out) != set(p0):
            run.fail(case, f"a dict with keys {list(p0)}", f"a dict with keys {list(out)}",
                     "return one updated array for every key of params.")
        run.ok()
        for key in p0:
            W, dW = p0[key], g0[key]
            got = _float_array(run, out[key], what=f"new {key}", shape=W.shape, case=case)

            def hint(got: np.ndarray, W: np.ndarray = W, dW: np.ndarray = dW) -> str | None:
                if _close(got, W + lr * dW):
                    return "wrong sign: step against the gradient, W - lr * dW."
                if _close(got, W - dW):
                    return "the learning rate is missing: W - lr * dW."
                if _close(got, -lr * dW) or _close(got, lr * dW):
                    return "the new weights are W - lr * dW: start from W."
                return None

            _array_value(run, got, W - lr * dW, what=f"new {key}",
                         formula=f"params[{key!r}] - lr * grads[{key!r}]", case=case, hint=hint)


# --- Steps 2 to 4: the network's passes and its training loop ---------------------------------


def _network_cases() -> list[tuple[str, np.ndarray, dict[str, np.ndarray]]]:
    """Inputs without a bias column and weights of 1, 2 and 3 layers; the last network
    has layers of one width, so that a wrong order of layers or caches still fits."""
    rng = np.random.default_rng(7)

    def weights(*sizes: int) -> dict[str, np.ndarray]:
        return {f"W{l}": rng.normal(size=(n_in + 1, n_out))
                for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)}

    return [
        ("the lab's network, one layer: X of shape (4, 5), params {'W1': (6, 3)}",
         rng.normal(size=(4, 5)), weights(5, 3)),
        ("three layers of one width: X of shape (4, 3), params {'W1', 'W2', 'W3'} each (4, 3)",
         rng.normal(size=(4, 3)), weights(3, 3, 3, 3)),
        ("a hidden layer: X of shape (5, 4), params {'W1': (5, 6), 'W2': (7, 2)}",
         rng.normal(size=(5, 4)), weights(4, 6, 2)),
    ]


def _layers(X: np.ndarray, params: Mapping[str, np.ndarray], *, sigmoid_between: bool = True,
            sigmoid_last: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every layer's input with its bias column and output, with or without sigmoids."""
    out, A = [], X
    for l in range(1, len(params) + 1):
        X_tilde = add_bias(A)
        Z = X_tilde @ params[f"W{l}"]
        last = l == len(params)
        A = _sigmoid(Z) if (sigmoid_last if last else sigmoid_between) else Z
        out.append((X_tilde, A))
    return out


def _copies(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: W.copy() for key, W in params.items()}


@_checker_docstring("forward_pass")
def check_forward_pass(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``forward_pass(X, params) -> (A, caches)``: the blocks stacked into the network.

    Inputs: networks of one layer (the lab's), two layers and three layers of one width,
    with ``X`` without its bias column. Checks the output, one ``(fc_cache,
    sigmoid_cache)`` per layer, first layer first, each holding that layer's input with
    its bias column, its weights and its activations, and that ``X`` and ``params`` are
    left unchanged. Names a missing bias column, a bias column on the output, a missing
    sigmoid, layers left out, and caches flat, reversed or of the wrong layer.
    Reference: :func:`labcode.numpy_net.forward_pass`.
    """
    return _run("forward_pass", func, _forward_pass_body, verbose=verbose)


def _forward_pass_body(run: _Run, func: Callable) -> None:
    for case, X, params in _network_cases():
        X0, p0 = X.copy(), _copies(params)
        out = run.call(func, X, dict(params), case=case, expr="forward_pass(X, params)")
        _unchanged(run, case, X=(X, X0), **{f"params[{k!r}]": (params[k], p0[k]) for k in p0})
        A, caches = _pair(run, out, ("A", "caches"), case,
                          "return the output and the list of caches: return A, caches.")
        layers = _layers(X0, p0)
        n, L = X0.shape[0], len(p0)
        n_out = p0[f"W{L}"].shape[1]
        widths = [W.shape[1] for W in p0.values()]

        def shape_hint(s: tuple[int, ...]) -> str | None:
            if s == (n, n_out + 1):
                return ("the bias column goes before each fc layer, into its input; the "
                        "network's output has no bias column.")
            if L > 1 and s in [(n, w) for w in widths[:-1]]:
                return ("only some of the layers ran: loop over every weight matrix, "
                        "W1, W2, ..., in order.")
            return None

        got = _float_array(run, A, what="A", shape=(n, n_out), case=case, shape_hint=shape_hint)

        def hint(got: np.ndarray) -> str | None:
            if any(_close(got, A_l) for _, A_l in layers[:-1]):
                return ("only some of the layers ran: loop over every weight matrix, "
                        "W1, W2, ..., in order.")
            if _close(got, _layers(X0, p0, sigmoid_last=False)[-1][1]):
                return "the sigmoid follows every fc layer, the last one too."
            if L > 1 and _close(got, _layers(X0, p0, sigmoid_between=False)[-1][1]):
                return "the sigmoid follows every fc layer, the hidden ones too."
            return None

        _array_value(run, got, layers[-1][1], what="A", case=case, hint=hint,
                     formula="the last sigmoid's output, layer after layer")
        if not isinstance(caches, (list, tuple)) or len(caches) != L:
            what = _describe(caches)
            if isinstance(caches, (list, tuple)):
                what = f"a {type(caches).__name__} of {len(caches)} entries"
            hint_text = ("keep one entry per layer, the pair (fc_cache, sigmoid_cache)."
                         if isinstance(caches, (list, tuple)) and len(caches) == 2 * L else
                         "append one (fc_cache, sigmoid_cache) per layer to a list, "
                         "and return the list.")
            run.fail(case, f"caches, a list of {L} (fc_cache, sigmoid_cache), one per layer",
                     what, hint_text)
        run.ok()
        for l, ((X_tilde, A_l), cache) in enumerate(zip(layers, caches), start=1):
            where = f"caches[{l - 1}]"
            if not (isinstance(cache, (list, tuple)) and len(cache) == 2):
                run.fail(case, f"{where} = (fc_cache, sigmoid_cache) of layer {l}",
                         _describe(cache), "keep each layer's two caches as a pair: "
                         "caches.append((fc_cache, sigmoid_cache)).")
            fc_cache, sigmoid_cache = cache
            ok = (isinstance(fc_cache, (list, tuple)) and len(fc_cache) == 2
                  and all(isinstance(a, np.ndarray) for a in fc_cache)
                  and _close(np.asarray(fc_cache[0]), X_tilde)
                  and _close(np.asarray(fc_cache[1]), p0[f"W{l}"])
                  and isinstance(sigmoid_cache, np.ndarray) and _close(sigmoid_cache, A_l))
            if not ok:
                hint_text = None
                if L > 1 and isinstance(caches[0], (list, tuple)) and len(caches[0]) == 2:
                    first = caches[0][0]
                    if (isinstance(first, (list, tuple)) and len(first) == 2
                            and isinstance(first[1], np.ndarray)
                            and _close(np.asarray(first[1]), p0[f"W{L}"])):
                        hint_text = ("the caches are in reverse order: keep them first layer "
                                     "first, as the layers run; backward_pass walks them back.")
                run.fail(case, f"{where} = ((input of layer {l} with its bias column, W{l}), "
                         f"activations of layer {l})", f"{where} = {_describe(cache)} with "
                         "other values", hint_text or "keep the caches fc_forward and "
                         "sigmoid_forward returned for this layer, as they returned them.")
            run.ok()


def _backward_reference(dA: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]],
                        params: Mapping[str, np.ndarray], *, sigmoid: bool = True,
                        drop: slice = slice(None, -1), pass_on: bool = True) -> dict:
    """The gradients of every layer, with the usual mistakes as options."""
    grads, g = {}, dA
    for l in range(len(layers), 0, -1):
        X_tilde, A = layers[l - 1]
        dZ = g * A * (1 - A) if (sigmoid or l == len(layers)) else g
        grads[f"W{l}"] = X_tilde.T @ dZ
        if pass_on:
            g = (dZ @ params[f"W{l}"].T)[:, drop]
    return grads


@_checker_docstring("backward_pass")
def check_backward_pass(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``backward_pass(dA, caches) -> grads``: backpropagation, last layer first.

    Inputs: the caches of :func:`labcode.numpy_net.forward_pass` for networks of one,
    two and three layers, and a gradient ``dA`` of the output. Checks that one gradient
    per weight matrix comes back, keyed like ``params``, each equal to labcode's, and
    that ``dA`` and the caches are left unchanged. Names a missing layer, the sigmoid's
    backward left out of a hidden layer, the bias column's gradient passed on or the
    wrong column dropped, and the same ``dA`` given to every layer. Reference:
    :func:`labcode.numpy_net.backward_pass`.
    """
    return _run("backward_pass", func, _backward_pass_body, verbose=verbose)


def _backward_pass_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(8)
    for case, X, params in _network_cases():
        layers = _layers(X, params)
        L, n_out = len(params), params[f"W{len(params)}"].shape[1]
        dA = rng.normal(size=(X.shape[0], n_out))
        caches = [((X_tilde, params[f"W{l}"].copy()), A)
                  for l, (X_tilde, A) in enumerate(layers, start=1)]
        frozen = [(X_tilde.copy(), W.copy(), A.copy()) for (X_tilde, W), A in caches]
        case = f"dA of shape {dA.shape} and the caches of forward_pass, for {case}"
        dA0 = dA.copy()
        out = run.call(func, dA, list(caches), case=case, expr="backward_pass(dA, caches)")
        _unchanged(run, case, dA=(dA, dA0))
        for l, (((X_tilde, W), A), (X_tilde0, W0, A0)) in enumerate(zip(caches, frozen), 1):
            _unchanged(run, case, **{f"caches[{l - 1}]": (X_tilde, X_tilde0),
                                     f"W{l} in caches[{l - 1}]": (W, W0),
                                     f"the activations in caches[{l - 1}]": (A, A0)})
        keys = [f"W{l}" for l in range(1, L + 1)]
        if not isinstance(out, Mapping):
            run.fail(case, f"a dict of gradients with keys {keys}", _describe(out),
                     "return the gradients in a dict keyed like params, {'W1': dW1, ...}.")
        if set(out) != set(keys):
            hint = ("one gradient per layer: walk the caches from the last layer to the "
                    "first and keep every layer's dW.") if set(out) < set(keys) else (
                    f"key the gradients like params: {keys}.")
            run.fail(case, f"a dict of gradients with keys {keys}",
                     f"a dict with keys {list(out)}", hint)
        run.ok()
        want = _backward_reference(dA0, layers, params)

        def mistake(**options: object) -> dict:
            """The gradients of a mistake, or none where its shapes do not fit."""
            try:
                with np.errstate(all="ignore"):
                    return _backward_reference(dA0, layers, params, **options)
            except ValueError:
                return {}

        mistakes = [
            ("the sigmoid's backward belongs to every layer: dZ = sigmoid_backward(dA, "
             "sigmoid_cache) before fc_backward, in the hidden layers too.",
             mistake(sigmoid=False)),
            ("the bias column is the last column of each layer's input: drop the last "
             "column of dX, dX[:, :-1], before passing it on.",
             mistake(drop=slice(1, None))),
            ("pass each layer's dX (without its bias column) on to the layer before; "
             "every layer got the network's dA.",
             mistake(pass_on=False)),
        ]
        for key in keys:
            got = _float_array(run, out[key], what=f"grads[{key!r}]",
                               shape=params[key].shape, case=case)

            def hint(got: np.ndarray, key: str = key) -> str | None:
                return next((text for text, grads in mistakes
                             if key in grads and _close(got, grads[key])), None)

            _array_value(run, got, want[key], what=f"grads[{key!r}]", case=case, hint=hint,
                         formula=f"labcode's gradient of the loss with respect to {key}")


@_checker_docstring("train_network")
def check_train_network(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``train_network(params, X, Y, lr, iterations) -> (params, losses)``.

    Inputs: a network of one layer and one with a hidden layer, 4 iterations on 6
    samples, and one iteration. Checks the trained weights and the loss of every
    iteration against labcode's loop, and that ``params``, ``X`` and ``Y`` are left
    unchanged. Names weights never updated or updated in place, a layer left out of the
    update, the loss recorded once or after the update, the learning rate or the number
    of iterations ignored, and the notebook's own data used instead of the arguments.
    Reference: :func:`labcode.numpy_net.train_network`.
    """
    return _run("train_network", func, _train_network_body, verbose=verbose)


_NOTEBOOK_DATA = re.compile(r"^(X|Y|y)_(train|val|test)$|^split$")


def _train_network_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(9)
    X = rng.uniform(size=(6, 3))
    Y = np.eye(2)[[0, 1, 1, 0, 1, 0]]
    cases = [
        ("one layer: params {'W1': (4, 2)}, X of shape (6, 3), one-hot Y of shape (6, 2), "
         "lr = 2.0, iterations = 4", {"W1": rng.normal(size=(4, 2))}, 2.0, 4),
        ("a hidden layer: params {'W1': (4, 3), 'W2': (4, 2)}, X of shape (6, 3), one-hot Y "
         "of shape (6, 2), lr = 1.5, iterations = 4",
         {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(4, 2))}, 1.5, 4),
        ("one iteration: params {'W1': (4, 2)}, X of shape (6, 3), lr = 0.5, iterations = 1",
         {"W1": rng.normal(size=(4, 2))}, 0.5, 1),
    ]
    reads = sorted({name for name in getattr(getattr(func, "__code__", None), "co_names", ())
                    if _NOTEBOOK_DATA.match(name)})
    for case, params, lr, iterations in cases:
        p0, X0, Y0 = _copies(params), X.copy(), Y.copy()
        out = run.call(func, params, X, Y, lr, iterations, case=case,
                       expr="train_network(params, X, Y, lr, iterations)")
        _unchanged(run, case, X=(X, X0), Y=(Y, Y0))
        for key in p0:
            if not np.array_equal(params[key], p0[key]):
                run.fail(case, f"params[{key!r}] left as it was", f"params[{key!r}] changed",
                         "update a copy: params = gradient_step(params, grads, lr) gives "
                         "new weights and leaves the caller's as they were.")
        run.ok()
        trained, losses = _pair(run, out, ("params", "losses"), case,
                                "return the trained weights and the losses: "
                                "return params, losses.")
        want_params, want_losses = _train_reference(p0, X0, Y0, lr, iterations)
        data_hint = (f"your function reads the notebook's {', '.join(reads)}: train on the X "
                     "and Y it is given." if reads else None)
        if isinstance(losses, (int, float, np.number)) and not isinstance(losses, bool):
            run.fail(case, f"losses, the {iterations} losses of the iterations", f"one number, "
                     f"{float(losses):.6g}", "keep the loss of every iteration in a list: "
                     "losses.append(loss) inside the loop.")
        try:
            got = np.asarray(losses, dtype=np.float64)
        except (TypeError, ValueError):
            got = None
        if got is None or got.ndim != 1:
            run.fail(case, f"losses, a list of {iterations} numbers", _describe(losses),
                     "keep the loss of every iteration in a list: losses.append(loss).")
        if got.shape != (iterations,):
            hint = data_hint or (
                "the loss of every iteration, once each: losses.append(loss) inside the "
                "loop, which runs `iterations` times.")
            run.fail(case, f"losses, a list of {iterations} numbers", f"{got.size} numbers",
                     hint)
        if not np.allclose(got, want_losses, rtol=1e-10, atol=0.0):
            hint = data_hint
            if hint is None and iterations > 1 and np.allclose(got, want_losses[0], rtol=1e-10):
                hint = ("the loss never changes: the weights were not updated. Assign the "
                        "result of gradient_step, params = gradient_step(params, grads, lr).")
            if hint is None and iterations > 1:
                after = _train_reference(p0, X0, Y0, lr, iterations + 1)[1][1:]
                if np.allclose(got, after, rtol=1e-10):
                    hint = ("record the loss of each iteration's forward pass, before the "
                            "update, as mse_loss returns it.")
                elif np.isclose(got[0], want_losses[0], rtol=1e-10):
                    hint = ("the first loss is right and the later ones are not: each "
                            "iteration must update every weight matrix once, by "
                            "W - lr * dW with the lr given.")
            run.fail(case, "the losses of labcode's loop, "
                     f"{np.array2string(np.asarray(want_losses), precision=6)}",
                     np.array2string(got, precision=6), hint)
        run.ok()
        if not isinstance(trained, Mapping) or set(trained) != set(p0):
            run.fail(case, f"the trained weights, a dict with keys {list(p0)}",
                     _describe(trained) if not isinstance(trained, Mapping)
                     else f"a dict with keys {list(trained)}",
                     "return the weights of the last update, keyed like params.")
        for key in p0:
            W = _float_array(run, trained[key], what=f"trained {key}", shape=p0[key].shape,
                             case=case)

            def hint(W: np.ndarray, key: str = key) -> str | None:
                if np.array_equal(W, p0[key]):
                    return f"{key} was never updated: update every weight matrix, every iteration."
                if iterations > 1 and _close(W, _train_reference(p0, X0, Y0, lr, iterations - 1)[0][key]):
                    return "one update too few: the loop must update the weights every iteration."
                return data_hint

            _array_value(run, W, want_params[key], what=f"trained {key}", case=case, hint=hint,
                         formula=f"{key} after {iterations} steps of labcode's loop")


def _train_reference(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray,
                     lr: float, iterations: int) -> tuple[dict[str, np.ndarray], list[float]]:
    from ..numpy_net import train_network

    return train_network(_copies(params), X, Y, lr, iterations)


@_checker_docstring("accuracy")
def check_accuracy(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``accuracy(A, y) -> float``: the share of rows of ``A`` whose argmax is ``y``.

    Inputs: outputs of 5 samples over 4 classes (argmax along the wrong axis has the
    wrong length), of 4 samples over 4 classes (the wrong axis fits but gives another
    share), and of one sample. Checks that one float in [0, 1] comes back, its value, and
    that the inputs are left unchanged. Names the usual mistakes: the argmax over the
    samples, a count or a percentage instead of a share, the largest output itself
    instead of its index, thresholded outputs against one-hot rows. Reference:
    :func:`labcode.numpy_net.accuracy`.
    """
    return _run("accuracy", func, _accuracy_body, verbose=verbose)


def _accuracy_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(6)
    square = np.array([[0.9, 0.2, 0.1, 0.3], [0.95, 0.8, 0.7, 0.2],
                       [0.3, 0.1, 0.2, 0.6], [0.2, 0.4, 0.95, 0.1]])
    y_square = np.array([0, 0, 3, 1])  # 3 of 4 right; with the argmax over the samples, 1
    A = rng.uniform(size=(5, 4))
    y = A.argmax(axis=1).copy()
    y[[1, 3]] = (y[[1, 3]] + 1) % 4  # 3 of 5 right
    return [
        ("A of shape (4, 4) and y = [0, 0, 3, 1]; A is square, so an argmax over the "
         "wrong axis still fits", square, y_square),
        ("A of shape (5, 4) (5 samples, 4 classes) and y = " + str(y.tolist()), A, y),
        ("one sample: A = [[0.1, 0.7, 0.2]] and y = [1]", np.array([[0.1, 0.7, 0.2]]),
         np.array([1])),
    ]


def _accuracy_body(run: _Run, func: Callable) -> None:
    for case, A, y in _accuracy_cases():
        A0, y0 = A.copy(), y.copy()
        out = run.call(func, A, y, case=case, expr="accuracy(A, y)")
        _unchanged(run, case, A=(A, A0), y=(y, y0))
        want = float(np.mean(A0.argmax(axis=1) == y0))
        n, k = A0.shape
        if (isinstance(out, (bool, np.bool_)) or not isinstance(out, (int, float, np.number,
                                                                     np.ndarray))
                or np.ndim(out) != 0):
            hint = None
            if isinstance(out, np.ndarray) and out.shape == (n,) and out.dtype == bool:
                hint = ("you return one True/False per sample: the accuracy is their mean, "
                        "np.mean(predicted == y).")
            run.fail(case, f"one number, the share {want:.4g}", _describe(out),
                     hint or "return one number: the share of samples predicted right.")
        got = float(out)
        if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12):
            known = [
                (want * n, "you counted the right predictions: the accuracy is their "
                           "share, divided by the number of samples (np.mean)."),
                (100.0 * want, "a share in [0, 1], not a percentage: leave out the factor 100."),
                (float(np.mean(A0.argmax(axis=0)[:n] == y0)) if k == n else None,
                 "argmax over the wrong axis: each row is a sample, so take the largest "
                 "output of each row, A.argmax(axis=1)."),
                (float(np.mean(A0.max(axis=1) == y0)),
                 "the predicted class is the index of the largest output (argmax), not "
                 "the largest output itself (max)."),
                (float(np.mean((A0 > 0.5) == np.eye(k)[y0])),
                 "compare the predicted classes (the argmax of each row) with the labels, "
                 "not thresholded outputs with one-hot rows."),
            ]
            hint = next((text for value, text in known if value is not None
                         and math.isclose(got, value, rel_tol=1e-12, abs_tol=1e-12)), None)
            run.fail(case, f"accuracy = {want:.6g}, the share of rows whose argmax is the label",
                     f"{got:.6g}", hint)
        run.ok()


@_checker_docstring("plot_first_image")
def check_plot_first_image(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``plot_first_image(X, y) -> Axes``: the 8 x 8 picture of ``X[0]``, titled
    with ``y[0]``.

    Inputs: three random images with the labels 7, 2, 5, and the same images in another
    order. Reads the picture back from the returned Axes: one image, of shape (8, 8),
    equal to ``X[0].reshape(8, 8)``; a title that names the label. Names the usual
    mistakes: no Axes returned, the row not reshaped, another image, the picture
    transposed, a title without the label or with another image's. Closes the figures it
    made. Reference: :func:`labcode.plots.plot_first_image`.
    """
    return _run("plot_first_image", func, _plot_first_image_body, verbose=verbose)


def _plot_first_image_body(run: _Run, func: Callable) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    rng = np.random.default_rng(7)
    X = rng.uniform(size=(3, 64))
    y = np.array([7, 2, 5])
    cases = [("X of shape (3, 64) (random grey levels) and y = [7, 2, 5]", X, y),
             ("the same images in another order: y = [5, 7, 2]", X[[2, 0, 1]], y[[2, 0, 1]])]
    for case, X, y in cases:
        X0, y0 = X.copy(), y.copy()
        before = set(plt.get_fignums())
        try:
            out = run.call(func, X, y, case=case, expr="plot_first_image(X, y)")
            _unchanged(run, case, X=(X, X0), y=(y, y0))
            if not isinstance(out, Axes):
                run.fail(case, "the Axes the picture is drawn on", _describe(out),
                         "return the Axes: ax = plots.plot_digit_image(...) or "
                         "fig, ax = plt.subplots(); ax.imshow(...); return ax.")
            images = out.get_images()
            if len(images) != 1:
                run.fail(case, "one image drawn on the Axes", f"{len(images)} images",
                         "draw the picture with ax.imshow (or plots.plot_digit_image), once.")
            got = np.asarray(images[0].get_array(), dtype=np.float64)
            want = X0[0].reshape(8, 8)
            if got.shape != (8, 8):
                hint = ("reshape the row of 64 grey levels into the 8 x 8 picture: "
                        "X[0].reshape(8, 8).") if got.size == 64 else None
                run.fail(case, "a picture of shape (8, 8)", f"a picture of shape {got.shape}",
                         hint)
            if not np.allclose(got, want):
                if np.allclose(got, want.T):
                    hint = ("the picture is transposed: X[0].reshape(8, 8) lays the 64 values "
                            "out row after row, as the image was scanned.")
                elif any(np.allclose(got, X0[i].reshape(8, 8)) for i in range(1, len(X0))):
                    hint = "that is another image: the first one is X[0]."
                else:
                    hint = None
                run.fail(case, "X[0].reshape(8, 8), the first image", "another picture", hint)
            run.ok()
            title = out.get_title()
            label = str(int(y0[0]))
            if not re.search(rf"(?<!\d){label}(?!\d)", title):
                others = [str(int(v)) for v in y0[1:]]
                hint = ("that is another image's label: the first image's is y[0]."
                        if any(re.search(rf"(?<!\d){o}(?!\d)", title) for o in others)
                        else "name the label in the title: ax.set_title(f\"label {y[0]}\").")
                run.fail(case, f"a title that names the label {label}", repr(title), hint)
            run.ok()
        finally:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)


@_checker_docstring("plot_sweep")
def check_plot_sweep(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``plot_sweep(values, accuracies, param) -> Axes``, the plot of Steps 6 to 8.

    Inputs: learning rates from 1e-4 to 1e-1 (numbers spread over decades), hidden sizes
    from 8 to 64, and optimizer names. Reads the plot back from the returned Axes: for
    numbers, one line through ``(value, accuracy)`` on a logarithmic x axis; for names,
    one bar per name, each as long as its accuracy, the names on the ticks; and axis
    labels that say which is the parameter and which the validation accuracy. Names the
    usual mistakes: no Axes returned, the axes swapped, another list plotted, a linear
    axis for values spread over decades, labels missing. Closes the figures it made.
    Reference: :func:`labcode.study_plots.plot_sweep`.
    """
    return _run("plot_sweep", func, _plot_sweep_body, verbose=verbose)


def _plot_sweep_body(run: _Run, func: Callable) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    cases = [
        ("lr", [1e-4, 1e-3, 1e-2, 1e-1], [0.21, 0.93, 0.96, 0.90]),
        ("hidden_size", [8, 16, 32, 64], [0.91, 0.94, 0.96, 0.97]),
        ("optimizer", ["sgd", "adam", "rmsprop"], [0.55, 0.96, 0.95]),
    ]
    for param, values, accuracies in cases:
        case = f"param = {param!r}, values = {values}, accuracies = {accuracies}"
        v0, a0 = list(values), list(accuracies)
        before = set(plt.get_fignums())
        try:
            ax = run.call(func, values, accuracies, param, case=case,
                          expr="plot_sweep(values, accuracies, param)")
            if values != v0 or accuracies != a0:
                run.fail(case, "values and accuracies left as they were",
                         f"values = {values}, accuracies = {accuracies}",
                         "plot the lists; do not sort or change them.")
            if not isinstance(ax, Axes):
                run.fail(case, "the Axes the plot is drawn on", _describe(ax),
                         "return the Axes: fig, ax = plt.subplots(); ...; return ax.")
            _sweep_plot_shows(run, case, ax, v0, a0)
            run.ok()
        finally:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)


def _sweep_plot_shows(run: _Run, case: str, ax: object, v0: list, a0: list,
                      others: dict[str, list] | None = None) -> None:
    """Fail unless the Axes ``ax`` shows the sweep ``(v0, a0)`` as plot_sweep draws it:
    bars for names, otherwise one line on a logarithmic x axis where the values span
    decades, and both axes labelled. ``others`` names other lists of values the plot
    may show by mistake (another step's sweep)."""
    from matplotlib.axes import Axes
    from matplotlib.patches import Rectangle

    if not isinstance(ax, Axes):
        run.fail(case, "the Axes the plot is drawn on", _describe(ax),
                 "return the Axes: fig, ax = plt.subplots(); ...; return ax.")
    if isinstance(v0[0], str):
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        want = sorted(round(a, 9) for a in a0)
        widths = sorted(round(p.get_width(), 9) for p in bars)  # ax.barh
        heights = sorted(round(p.get_height(), 9) for p in bars)  # ax.bar
        lengths = widths if widths == want else heights
        if lengths != want:
            run.fail(case, f"one bar per optimizer, as long as its accuracy {a0}",
                     f"{len(bars)} bars of lengths {lengths}",
                     "names are categories: one bar per name, ax.barh(values, "
                     "accuracies) (or ax.bar).")
        ticks = [t.get_text() for t in (*ax.get_yticklabels(), *ax.get_xticklabels())]
        if not all(name in ticks for name in v0):
            run.fail(case, f"the names {v0} on the ticks", f"ticks {ticks}",
                     "pass the names as the bars' positions: ax.barh(values, accuracies).")
    else:
        lines = [line for line in ax.get_lines() if len(line.get_xdata()) == len(v0)]
        for name, values in (others or {}).items():
            for line in ax.get_lines():
                x = np.asarray(line.get_xdata(), dtype=float)
                if len(values) == len(x) and np.allclose(x, values):
                    run.fail(case, f"the values {v0} along x", f"the values {values}",
                             f"the plot shows {name}: plot this step's values and "
                             "accuracies.")
        if not lines:
            run.fail(case, f"a line through the {len(v0)} points (value, accuracy)",
                     f"{len(ax.get_lines())} lines, none of {len(v0)} points",
                     "draw one line: ax.plot(values, accuracies, marker='o').")
        x = np.asarray(lines[0].get_xdata(), dtype=float)
        y = np.asarray(lines[0].get_ydata(), dtype=float)
        if np.allclose(x, a0) and np.allclose(y, v0):
            run.fail(case, "the values along x, the accuracies along y",
                     "the accuracies along x", "the axes are swapped: "
                     "ax.plot(values, accuracies): x first, then y.")
        if not (np.allclose(x, v0) and np.allclose(y, a0)):
            run.fail(case, f"the points {list(zip(v0, a0))}",
                     f"the points {list(zip(x.tolist(), y.tolist()))}",
                     "plot the values against their accuracies, in the same order.")
        spread = max(v0) / min(v0)
        if spread >= 100 and ax.get_xscale() != "log":
            run.fail(case, "a logarithmic x axis: the values span "
                     f"{spread:.0f} times", f"a {ax.get_xscale()} x axis",
                     "on a linear axis the small values crowd at 0: "
                     "ax.set_xscale('log') (or ax.semilogx).")
    run.ok()
    labels = [ax.get_xlabel(), ax.get_ylabel()]
    if not any("accuracy" in label.lower() for label in labels) or not all(labels):
        run.fail(case, "both axes labelled, one of them the accuracy (for example "
                 "'validation accuracy')", f"labels {labels[0]!r} and {labels[1]!r}",
                 "label the axes: ax.set(xlabel=param, ylabel='validation accuracy').")


# --- Steps 6 to 8: the sweeps of the handout, run and drawn ----------------------------------

_SWEEP_STEPS = {"lr": ("Step 6", "learning rates"), "hidden_size": ("Step 7", "hidden sizes"),
                "optimizer": ("Step 8", "optimizers")}


def _sweep_body(param: str) -> Callable[[_Run, tuple], None]:
    def body(run: _Run, sweep: tuple) -> None:
        from ..experiment import HANDOUT_SWEEPS

        step, plural = _SWEEP_STEPS[param]
        want = list(HANDOUT_SWEEPS[param])
        values, accuracies, ax = sweep
        case = f"the values, accuracies and Axes of your {step} cell"
        # the step runs on the student's compare_values and plot_sweep: until both passed
        # their checks, it ran on labcode's, and this check says so
        earlier = {piece: _RESULTS[piece].status for piece in ("compare_values", "plot_sweep")
                   if piece in _RESULTS}
        if "not implemented" in earlier.values():
            raise _NotImplemented()
        behind = [piece for piece, status in earlier.items() if status != "passed"]
        if behind:
            pieces = " and ".join(behind)
            run.fail(case, f"{step} run with your own " + " and ".join(earlier),
                     f"{step} run with labcode's {pieces}",
                     f"correct your {pieces} until {'they pass their checks' if len(behind) > 1 else 'it passes its check'}"
                     ", then run this step again.")
        if not isinstance(values, (list, tuple)):
            run.fail(case, f"values, the list of the handout's {plural} {want}",
                     _describe(values), f"keep the {plural} in a list.")
        values = list(values)
        others = {f"the {words} of {other_step}": list(HANDOUT_SWEEPS[key])
                  for key, (other_step, words) in _SWEEP_STEPS.items() if key != param}
        for name, other in others.items():
            if values == other:
                run.fail(case, f"the {plural} of {step}, {want}", f"{name}, {values}",
                         f"{step} sweeps the {plural}: values = {want}.")
        missing = [v for v in want if v not in values]
        extra = [v for v in values if v not in want]
        if missing or extra or len(values) != len(want):
            run.fail(case, f"the handout's {plural}, {want}", f"{values}",
                     "; ".join(filter(None, [
                         f"missing {missing}" if missing else "",
                         f"not in the handout {extra}" if extra else "",
                         "a value twice" if not (missing or extra) else ""])) + ".")
        run.ok()
        if not isinstance(accuracies, (list, tuple, np.ndarray)) or len(accuracies) != len(values):
            run.fail(case, f"accuracies, one per value ({len(values)})", _describe(accuracies),
                     "accuracies = compare_values(split, param, values): one per value.")
        try:
            acc = np.asarray(accuracies, dtype=np.float64)
        except (TypeError, ValueError):
            run.fail(case, "accuracies, numbers", _describe(accuracies),
                     "accuracies = compare_values(split, param, values).")
        if not np.isfinite(acc).all() or acc.min() < 0 or acc.max() > 1:
            hint = ("a share in [0, 1], not a percentage." if acc.max() <= 100 and acc.min() >= 0
                    else None)
            run.fail(case, "validation accuracies in [0, 1]", f"{acc.tolist()}", hint)
        run.ok()
        _sweep_plot_shows(run, f"{case}, the plot", ax, values, acc.tolist(),
                          others={k: v for k, v in others.items() if not isinstance(v[0], str)})
        run.ok()

    return body


@_checker_docstring("lr_sweep")
def check_lr_sweep(values: object, accuracies: object, ax: object, *,
                   verbose: bool = True) -> Verdict:
    """Check Step 6 as run: the handout's learning rates, one validation accuracy each
    (``compare_values``), and the plot of them (``plot_sweep``) on the Axes ``ax``.

    Names another step's list, a rate missing or added, accuracies that do not match the
    rates or are percentages, and a plot that shows other numbers (reading it back as
    :func:`check_plot_sweep` does). Reference: :data:`labcode.experiment.HANDOUT_SWEEPS`.
    """
    return _run("lr_sweep", (values, accuracies, ax), _sweep_body("lr"),
                verbose=verbose, kind="result")


@_checker_docstring("hidden_size_sweep")
def check_hidden_size_sweep(values: object, accuracies: object, ax: object, *,
                            verbose: bool = True) -> Verdict:
    """Check Step 7 as run: the handout's hidden sizes, one validation accuracy each
    (``compare_values``), and the plot of them (``plot_sweep``) on the Axes ``ax``.

    Names another step's list (Step 6's rates copied), a size missing or added,
    accuracies that do not match the sizes or are percentages, and a plot that shows
    other numbers. Reference: :data:`labcode.experiment.HANDOUT_SWEEPS`.
    """
    return _run("hidden_size_sweep", (values, accuracies, ax),
                _sweep_body("hidden_size"), verbose=verbose, kind="result")


@_checker_docstring("optimizer_sweep")
def check_optimizer_sweep(values: object, accuracies: object, ax: object, *,
                          verbose: bool = True) -> Verdict:
    """Check Step 8 as run: every optimizer of the notebook, one validation accuracy
    each (``compare_values``), and the bars of them (``plot_sweep``) on the Axes ``ax``.

    Names another step's list, an optimizer missing or added, accuracies that do not
    match the optimizers or are percentages, and bars that show other numbers.
    Reference: :data:`labcode.experiment.HANDOUT_SWEEPS`.
    """
    return _run("optimizer_sweep", (values, accuracies, ax), _sweep_body("optimizer"),
                verbose=verbose, kind="result")
