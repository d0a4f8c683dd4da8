"""Tolerances derived from the floating-point format and the size of the computation.

Two computations that are not the same code on the same data (a stacked model and
separate runs, a batch and a loop, a BLAS product and a written-out sum, two libraries,
or one library on two CPUs whose kernels order a sum differently) agree only up to
round-off. The tests state how much, from two numbers:

- ``u``, the unit round-off of the dtype the values were computed in: ``2**-24`` for
  float32, ``2**-53`` for float64. A float32 result kept in a Python float still has
  float32's precision.
- ``n``, the number of roundings on the longest chain behind one compared value: a dot
  product of length ``k`` is ``k`` roundings, a forward and backward pass the sum of the
  lengths of its reductions, ``T`` training steps ``T`` times that.

With rounding errors that are independent and of mean zero, a result of ``n`` roundings
is within ``lam * sqrt(n) * u`` of the exact one, relative to the size of its terms, with
probability at least ``1 - 2 exp(-lam**2 / 2)`` per value (Higham and Mary, "A new
approach to probabilistic rounding error analysis", SIAM J. Sci. Comput. 41(5), 2019).
Two computations each within that bound differ by at most twice it. ``LAM = 5`` makes a
value fall outside less than once in 100,000; the first-order worst case ``n * u`` would
let through differences that only a bug makes.

The bound is relative to the magnitude of the terms, not of the result: a value that is
a sum cancelling to near zero needs an absolute tolerance, ``rtol`` times the scale of
its terms (for a weight, the scale its layer is initialised at).
"""

from __future__ import annotations

import math

import numpy as np
import torch

LAM = 5.0

UNIT_ROUNDOFF = {torch.float32: 2.0**-24, torch.float64: 2.0**-53}


def unit_roundoff(dtype) -> float:
    """``u`` of a torch or NumPy floating dtype (float32 or float64)."""
    if not isinstance(dtype, torch.dtype):
        dtype = {np.dtype(np.float32): torch.float32,
                 np.dtype(np.float64): torch.float64}[np.dtype(dtype)]
    return UNIT_ROUNDOFF[dtype]


def rtol(dtype, n: int) -> float:
    """How far apart, relatively, two orderings of ``n`` roundings in ``dtype`` may land:
    ``2 * LAM * sqrt(n) * u``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return 2.0 * LAM * math.sqrt(n) * unit_roundoff(dtype)


# The Step 3 network (SimpleMLP) on the digits: 64 features, 32 hidden units, 10 classes;
# Step 10's ComplexMLP: 64, 128, 64, 10, with BatchNorm after each of its two hidden layers.
FEATURES, HIDDEN, CLASSES = 64, 32, 10
SIMPLE = {"widths": (FEATURES, HIDDEN, CLASSES), "batchnorm_layers": 0}
COMPLEX = {"widths": (FEATURES, 128, 64, CLASSES), "batchnorm_layers": 2}
MODELS = {"simple": SIMPLE, "complex": COMPLEX}  # by labcode.models.MODELS' names


def mlp_pass(batch: int, widths: tuple[int, ...] = SIMPLE["widths"],
             batchnorm_layers: int = 0) -> int:
    """Roundings on the longest chain of one forward and backward pass of an MLP whose
    layers have ``widths`` units: a dot product over each layer's inputs, the softmax's
    sum over the classes, the gradient's sum over the ``batch``, and each BatchNorm's
    mean and variance over the batch (forward, then backward)."""
    return sum(widths) + batch + 4 * batch * batchnorm_layers


def training(steps: int, batch: int, **model: object) -> int:
    """Roundings behind a weight (or a loss) after ``steps`` updates of batches of ``batch``:
    each step adds the round-off of one pass (``model``: ``SIMPLE`` or ``COMPLEX``)."""
    return steps * mlp_pass(batch, **model)


def init_scale(fan_in: int) -> float:
    """The scale torch initialises a Linear layer's weights at: ``1 / sqrt(fan_in)``."""
    return 1.0 / math.sqrt(fan_in)


def close(dtype, n: int, scale: float = 1.0) -> dict[str, float]:
    """``rtol`` and ``atol`` for ``assert_close``: :func:`rtol` of ``n`` roundings, and that
    times ``scale``, the size of the terms behind a value that may cancel to near zero."""
    r = rtol(dtype, n)
    return {"rtol": r, "atol": r * scale}


def central_difference_atol(f_scale: float, n: int, h: float = 1e-5,
                            third: float = 0.0) -> float:
    """How far a central difference ``(f(x + h) - f(x - h)) / 2h`` in float64 may land from
    the true derivative: the round-off of the two evaluations of ``f`` (``n`` roundings
    each, on terms of size ``f_scale``) divided by ``2h``, plus the truncation error
    ``h**2 / 6 * |f'''|`` (``third`` bounds the third derivative)."""
    return rtol(torch.float64, n) * f_scale / (2 * h) + h**2 / 6 * third


def sigmoid_mlp_chain(layer_sizes: tuple[int, ...], batch: int) -> int:
    """Roundings on the longest chain of a forward and backward pass of the NumPy network
    of Exercise 1 (a bias column, ``X @ W`` and a sigmoid per layer, the squared error):
    each layer's dot product over its inputs and the bias (``fan_in + 1``) and a few
    element-wise operations (the sigmoid's ``exp``, add and divide; its derivative),
    both ways, and the gradient's sum over the ``batch``."""
    per_pass = sum(fan_in + 1 + 4 for fan_in in layer_sizes[:-1])
    return 2 * per_pass + batch
