"""Exercise 1, Step 3: checking analytic gradients against finite differences.

A backward pass is easy to get almost right. :func:`numerical_gradient` estimates a
gradient without any calculus, by nudging one entry at a time; :func:`relative_error`
says how far an analytic gradient is from that estimate. In float64 with ``h = 1e-5``
a correct gradient typically agrees to a relative error around 1e-9 or below, while a
wrong one (a missing factor, a transposed matrix) is off by 1e-2 or more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _validate


__all__ = ["TOLERANCE", "numerical_gradient", "relative_error"]

TOLERANCE = 1e-7
"""The relative error below which the book counts an analytic gradient as correct.

It holds for every gradient of :mod:`labcode.numpy_net` checked with ``h = 1e-5`` in
float64 (the tests assert it); a wrong gradient is typically off by 1e-2 or more.
"""


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Estimate the gradient of a scalar function by central differences.

    For each entry ``x[i]``, computes ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``,
    where ``e_i`` is the unit vector of that entry. ``x`` is changed in place while
    ``f`` is evaluated (so ``f`` may read it through a closure, as a network reads
    its own weights) and each entry is restored to its exact original value before
    the next one is nudged, also when ``f`` raises.

    Parameters
    ----------
    f : callable
        Called as ``f(x)``; returns a finite real number.
    x : ndarray of any shape
        The point at which to differentiate, float64 and writable.
    h : float, default 1e-5
        The step, above 0. The error of the estimate is about ``h**2`` times the
        third derivative plus rounding of order ``1e-16 * |f| / h``.

    Returns
    -------
    ndarray of the shape of ``x``
        The estimated gradient, float64.

    Raises
    ------
    TypeError
        If ``x`` is not a float64 NumPy array or ``f`` is not callable.
    ValueError
        If ``x`` is read-only, ``h`` is not a finite number above 0, or ``f``
        returns something that is not a finite scalar.

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> np.round(numerical_gradient(lambda v: float(np.sum(v ** 2)), x), 6)
    array([2., 4.])
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {_validate.describe(f)}")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 NumPy array, got {_validate.describe(x)}")
    if not x.flags.writeable:
        raise ValueError("x must be writable: its entries are nudged in place and restored")
    h = _validate.positive(h, "h")
    if np.any(x + h == x):
        i = tuple(int(k) for k in np.argwhere(x + h == x)[0])
        raise ValueError(
            f"h={h:g} is below the resolution of x at x[{', '.join(map(str, i))}] = {x[i]}: "
            "x + h == x there, so the difference would be 0; use a larger h"
        )
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        try:
            x[i] = old + h
            f_plus = _scalar(f(x))
            x[i] = old - h
            f_minus = _scalar(f(x))
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def _scalar(value: object) -> float:
    arr = np.asarray(value)
    if arr.shape != () or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"f must return a real scalar, got {_validate.describe(value)}")
    out = float(arr)
    if not np.isfinite(out):
        raise ValueError(f"f must return a finite value, got {out}")
    return out


def relative_error(a: object, b: object) -> float:
    """Relative distance between two arrays: ``||a - b|| / (||a|| + ||b||)``.

    Norms are Euclidean over all entries. The result lies in [0, 1]: 0 when the
    arrays are equal (including both zero), 1 when exactly one of them is zero.
    Unlike an entry-by-entry ratio, it is not thrown off by entries whose true
    value is close to zero.

    Parameters
    ----------
    a, b : array_like of the same shape
        For example an analytic and a numerical gradient.

    Returns
    -------
    float
        The relative error.

    Raises
    ------
    ValueError
        If the shapes differ or an entry is NaN or infinite.

    Examples
    --------
    >>> relative_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> round(relative_error([1.0, 0.0], [1.1, 0.0]), 4)
    0.0476
    """
    a_arr, b_arr = _validate.real_array(a, "a"), _validate.real_array(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"a of shape {a_arr.shape} and b of shape {b_arr.shape} must have the same shape")
    if not (np.isfinite(a_arr).all() and np.isfinite(b_arr).all()):
        raise ValueError("a and b must be finite, but one of them holds NaN or infinity")
    # scaled by the largest entry, so that the norms neither underflow (1e-200) nor
    # overflow (1e160); the ratio does not change
    scale = max(np.abs(a_arr).max(initial=0.0), np.abs(b_arr).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    a_arr, b_arr = a_arr / scale, b_arr / scale
    return float(np.linalg.norm(a_arr - b_arr) / (np.linalg.norm(a_arr) + np.linalg.norm(b_arr)))
