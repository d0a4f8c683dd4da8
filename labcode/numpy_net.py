"""Exercise 1, Steps 2 to 5: a neural network by hand in NumPy.

The network is built from three blocks, each a forward/backward pair that sit side by
side:

* the fully connected layer, :func:`fc_forward` / :func:`fc_backward`, ``Z = X @ W``
  (the bias is the last row of ``W``, multiplied by a column of ones in ``X``);
* the sigmoid, :func:`sigmoid_forward` / :func:`sigmoid_backward`;
* the mean squared error, :func:`mse_loss`, which returns the loss and its gradient.

:func:`gradient_step` is one update of batch gradient descent, ``W - lr * dW`` for
every weight matrix.

Each forward returns its output and a *cache*, the values its backward needs; each
backward takes the gradient of the loss with respect to the block's output and returns
the gradients with respect to its inputs. :class:`NumpyNetwork` chains the blocks
(fc, sigmoid, fc, sigmoid, ...) and trains by batch gradient descent. Everything is
float64, so that the gradients can be checked against finite differences
(:mod:`labcode.gradcheck`) to a relative error below 1e-7.

The configurations the book trains, chosen on the validation part, are defined once
here: :data:`LAB_SETUP`, :data:`HIDDEN_SETUP` and the learning-rate grid
:data:`LEARNING_RATES`.
"""

from __future__ import annotations

from collections.abc import Sequence
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from .data import _describe, check_features, check_labels, one_hot

__all__ = [
    "fc_forward",
    "fc_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "mse_loss",
    "gradient_step",
    "NumpyNetwork",
    "TrainingDiverged",
    "TrainingSaturated",
    "FitHistory",
    "STALL_WINDOW",
    "TrainingSetup",
    "LAB_SETUP",
    "HIDDEN_SETUP",
    "LEARNING_RATES",
    "LearningRateTrial",
    "compare_learning_rates",
    "best_learning_rate",
]


def _check_matrix(M: object, name: str) -> np.ndarray:
    """A 2-D float64 array, or TypeError/ValueError naming ``name``."""
    if not isinstance(M, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {_describe(M)}")
    if M.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {M.shape}")
    if M.dtype != np.float64:
        raise TypeError(f"{name} must be float64, got {_describe(M)}")
    return M


def _append_ones(A: np.ndarray) -> np.ndarray:
    """``A`` with a last column of ones, unchecked: :func:`labcode.data.add_bias` inside loops."""
    return np.hstack([A, np.ones((A.shape[0], 1))])


# --- Fully connected layer -------------------------------------------------------------


def fc_forward(X: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Forward pass of a fully connected layer: ``Z = X @ W``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_in + 1)
        Inputs whose last column is ones (see :func:`labcode.data.add_bias`), float64.
    W : ndarray of shape (n_in + 1, n_out)
        Weights; the last row is the bias, float64.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_out)
        The pre-activations.
    cache : tuple (X, W)
        The inputs, which :func:`fc_backward` needs.

    Raises
    ------
    TypeError
        If ``X`` or ``W`` is not a float64 NumPy array.
    ValueError
        If they are not 2-D or their shapes do not fit (``X.shape[1] != W.shape[0]``).

    Notes
    -----
    Values are not checked for NaN or infinity here: the blocks run inside the
    training loop, and :class:`NumpyNetwork` checks its inputs once, at the door.
    """
    X = _check_matrix(X, "X")
    W = _check_matrix(W, "W")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X of shape {X.shape} and W of shape {W.shape} do not fit: "
            f"X.shape[1] = {X.shape[1]} must equal W.shape[0] = {W.shape[0]}"
        )
    return X @ W, (X, W)


def fc_backward(
    dZ: np.ndarray, cache: tuple[np.ndarray, np.ndarray], *, input_grad: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """Backward pass of a fully connected layer.

    Parameters
    ----------
    dZ : ndarray of shape (n_samples, n_out)
        Gradient of the loss with respect to ``Z``.
    cache : tuple (X, W)
        From :func:`fc_forward`: ``X`` of shape (n_samples, n_in + 1), ``W`` of
        shape (n_in + 1, n_out).
    input_grad : bool, default True
        Whether to compute ``dX``. The first layer's input is data, whose gradient
        nobody needs; ``False`` skips that matrix product and returns ``None``.

    Returns
    -------
    dX : ndarray of shape (n_samples, n_in + 1), or None
        ``dZ @ W.T``, the gradient with respect to ``X`` (its last column belongs
        to the constant ones); ``None`` when ``input_grad`` is False.
    dW : ndarray of shape (n_in + 1, n_out)
        ``X.T @ dZ``, the gradient with respect to ``W``.

    Raises
    ------
    ValueError
        If ``dZ`` does not have the shape of ``Z``, ``(X.shape[0], W.shape[1])``.
    """
    X, W = cache
    dZ = _check_matrix(dZ, "dZ")
    expected = (X.shape[0], W.shape[1])
    if dZ.shape != expected:
        raise ValueError(
            f"dZ of shape {dZ.shape} does not match Z = X @ W of shape {expected} "
            f"(X of shape {X.shape}, W of shape {W.shape})"
        )
    dW = X.T @ dZ
    dX = dZ @ W.T if input_grad else None
    return dX, dW


# --- Sigmoid ---------------------------------------------------------------------------


def sigmoid_forward(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward pass of the sigmoid, ``A = 1 / (1 + exp(-Z))``, element by element.

    Computed as ``1 / (1 + e)`` where ``Z >= 0`` and ``e / (1 + e)`` where ``Z < 0``,
    with ``e = exp(-|Z|)``: the exponential never exceeds 1, so no entry overflows
    and the result is finite for any finite ``Z`` (even ``|Z| = 1e4``).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_units)
        Pre-activations, float64.

    Returns
    -------
    A : ndarray of shape (n_samples, n_units)
        Activations in [0, 1].
    cache : ndarray of shape (n_samples, n_units)
        ``A`` itself: the derivative is ``A * (1 - A)``.
    """
    Z = _check_matrix(Z, "Z")
    E = np.abs(Z)
    np.negative(E, out=E)
    np.exp(E, out=E)  # e = exp(-|Z|) in (0, 1]
    A = np.where(Z >= 0.0, 1.0, E)
    E += 1.0
    A /= E
    return A, A


def sigmoid_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of the sigmoid: ``dZ = dA * A * (1 - A)``.

    Parameters
    ----------
    dA : ndarray of shape (n_samples, n_units)
        Gradient of the loss with respect to the activations ``A``.
    cache : ndarray of shape (n_samples, n_units)
        ``A``, from :func:`sigmoid_forward`.

    Returns
    -------
    dZ : ndarray of shape (n_samples, n_units)
        Gradient of the loss with respect to the pre-activations ``Z``.

    Raises
    ------
    ValueError
        If ``dA`` and the cached ``A`` differ in shape.
    """
    A = cache
    dA = _check_matrix(dA, "dA")
    if dA.shape != A.shape:
        raise ValueError(f"dA of shape {dA.shape} does not match A of shape {A.shape}")
    dZ = 1.0 - A
    dZ *= A
    dZ *= dA
    return dZ


# --- Mean squared error ----------------------------------------------------------------


def mse_loss(A: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all entries and its gradient.

    ``loss = mean((A - Y) ** 2)``, the mean over the ``n_samples * n_outputs``
    entries, as ``torch.nn.functional.mse_loss(A, Y, reduction="mean")``.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_outputs)
        The network's outputs.
    Y : ndarray of shape (n_samples, n_outputs)
        The targets (one-hot labels for the digits).

    Returns
    -------
    loss : float
        The mean squared error.
    dA : ndarray of shape (n_samples, n_outputs)
        ``2 * (A - Y) / A.size``, the gradient of ``loss`` with respect to ``A``.

    Raises
    ------
    ValueError
        If ``A`` and ``Y`` differ in shape.
    """
    A = _check_matrix(A, "A")
    Y = _check_matrix(Y, "Y")
    if A.shape != Y.shape:
        raise ValueError(f"A of shape {A.shape} and Y of shape {Y.shape} must have the same shape")
    diff = A - Y
    flat = diff.reshape(-1)
    loss = float(flat @ flat) / diff.size
    diff *= 2.0 / diff.size
    return loss, diff


# --- One step of gradient descent -------------------------------------------------------


def gradient_step(
    params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float
) -> dict[str, np.ndarray]:
    """One update of batch gradient descent: ``W - lr * dW`` for every weight matrix.

    Parameters
    ----------
    params : dict of str to ndarray
        The weights, for example ``{"W1": ..., "W2": ...}``; left unchanged.
    grads : dict of str to ndarray
        The gradient of the loss with respect to each weight, with the same keys as
        ``params`` and each array of the shape of its weights; left unchanged.
    lr : float
        The learning rate, finite and above 0.

    Returns
    -------
    dict of str to ndarray
        New arrays ``params[key] - lr * grads[key]``, keyed and ordered like ``params``.

    Raises
    ------
    TypeError
        If ``params`` or ``grads`` is not a dict of NumPy arrays, or ``lr`` is not a
        real number.
    ValueError
        If the keys or the shapes of ``params`` and ``grads`` differ, or ``lr`` is not
        a finite number above 0.

    Notes
    -----
    Values are not checked for NaN or infinity: :meth:`NumpyNetwork.fit` checks the
    new weights itself and stops with :class:`TrainingDiverged` if an update overflowed.

    Examples
    --------
    >>> params = {"W1": np.array([[1.0, 2.0]])}
    >>> grads = {"W1": np.array([[0.5, -1.0]])}
    >>> gradient_step(params, grads, lr=0.1)
    {'W1': array([[0.95, 2.1 ]])}
    """
    for name, value in (("params", params), ("grads", grads)):
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict of NumPy arrays, got {_describe(value)}")
    if params.keys() != grads.keys():
        missing = sorted(params.keys() - grads.keys())
        extra = sorted(grads.keys() - params.keys())
        raise ValueError(
            f"grads must have the keys of params, {list(params)}; "
            f"missing {missing}, unexpected {extra}"
        )
    lr = _check_lr(lr)
    for key, W in params.items():
        dW = grads[key]
        for name, value in (("params", W), ("grads", dW)):
            if not isinstance(value, np.ndarray):
                raise TypeError(f"{name}[{key!r}] must be a NumPy array, got {_describe(value)}")
        if W.shape != dW.shape:
            raise ValueError(
                f"grads[{key!r}] of shape {dW.shape} does not match params[{key!r}] "
                f"of shape {W.shape}"
            )
    return {key: W - lr * grads[key] for key, W in params.items()}


# --- The network -----------------------------------------------------------------------


class TrainingDiverged(RuntimeError):
    """Raised by :meth:`NumpyNetwork.fit` when training produces NaN or infinity.

    Every iteration checks, in this order, each layer's pre-activation ``Z``, the
    loss, the gradients and the updated weights, and stops at the first that is not
    finite. ``Z`` is checked itself, not only the loss: how ``X @ W`` overflows
    depends on the BLAS kernel (``inf - inf`` gives NaN on one machine, and a fused
    multiply-add gives ``+inf`` on another), and the sigmoid turns ``+inf`` into a
    finite 1, so a loss check alone would miss it. The network keeps its last finite
    weights, which are never overwritten with NaN or infinity.

    Attributes
    ----------
    iteration : int
        The iteration (counted from 1) at which training stopped.
    quantity : str
        What was not finite: ``"pre-activation"``, ``"loss"``, ``"gradient"`` or
        ``"weight"``.
    loss : float
        That iteration's loss (NaN when the forward pass already failed).
    history : ndarray of shape (iteration - 1,)
        The finite losses of the iterations before.
    lr : float
        The learning rate of the run.
    reason : str
        What went wrong, in words.
    """

    def __init__(
        self, iteration: int, quantity: str, loss: float, history: np.ndarray, lr: float, reason: str
    ):
        self.iteration = iteration
        self.quantity = quantity
        self.loss = loss
        self.history = history
        self.lr = lr
        self.reason = reason
        super().__init__(
            f"training diverged at iteration {iteration}: {reason} (lr={lr:g}); the weights "
            "were left at their last finite values. Check for a learning rate that is far "
            "too large, or weights so large that X @ W overflows."
        )

    def __reduce__(self):
        # rebuild from the attributes, so the exception survives pickling (process pools)
        args = (self.iteration, self.quantity, self.loss, self.history, self.lr, self.reason)
        return type(self), args


class TrainingSaturated(RuntimeWarning):
    """Warned by :meth:`NumpyNetwork.fit`, once per call, when training stalled.

    The sigmoid's derivative ``A * (1 - A)`` is exactly 0 once ``|Z|`` is above about
    37 (``A`` rounds to 0 or 1), so a network whose units all saturated gets a zero
    gradient and never moves again, while its loss stays finite. The same
    ``message`` is in the :class:`FitHistory` that :meth:`NumpyNetwork.fit` returns.
    """


STALL_WINDOW = 50
"""Iterations over which an unchanged loss at chance accuracy counts as a stall."""


@dataclass(frozen=True)
class FitHistory:
    """What :meth:`NumpyNetwork.fit` returns: the loss per iteration and how training ended.

    Attributes
    ----------
    loss : ndarray of shape (epochs,)
        The training loss at each iteration, computed before its update.
    saturated_at : int or None
        The first iteration (counted from 1) whose gradient was exactly zero in every
        entry, or, when that never happened, the first of the last
        :data:`STALL_WINDOW` iterations if the loss did not change over them while the
        training accuracy stayed at chance; ``None`` when training did not stall.
    message : str
        One sentence on how training ended.
    """

    loss: np.ndarray
    saturated_at: int | None
    message: str

    @property
    def saturated(self) -> bool:
        """Whether training stalled (see ``saturated_at``)."""
        return self.saturated_at is not None


def _check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_lr(lr: object) -> float:
    if isinstance(lr, bool) or not isinstance(lr, Real):
        raise TypeError(f"lr must be a positive float, got {_describe(lr)}")
    lr = float(lr)
    if not np.isfinite(lr) or lr <= 0.0:
        raise ValueError(f"lr must be a finite number above 0, got {lr}")
    return lr


class NumpyNetwork:
    """A fully connected network with sigmoid units, trained by batch gradient descent.

    ``layer_sizes=(64, 10)`` is the lab's network: 64 inputs, one fully connected
    layer, a sigmoid, 10 outputs. Each further entry adds a hidden sigmoid layer,
    for example ``(64, 32, 10)``. Before every fully connected layer the network
    appends a column of ones to its input (:func:`labcode.data.add_bias`), so layer
    ``l`` has one weight matrix ``params[f"W{l}"]`` of shape
    ``(layer_sizes[l - 1] + 1, layer_sizes[l])`` whose last row is the bias.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first, output last; at least two entries, all >= 1.
    seed : int
        Seed of the weight initialization: each weight is drawn from a normal
        distribution with mean 0 and standard deviation ``1 / sqrt(n_in)``, where
        ``n_in`` is the layer's number of inputs, and each bias starts at 0.

    Attributes
    ----------
    layer_sizes : tuple of int
        As given.
    params : dict of str to ndarray
        ``"W1"``, ``"W2"``, ...: the weight matrices, float64, updated in place by
        :meth:`fit`.

    Examples
    --------
    >>> net = NumpyNetwork((64, 10), seed=0)
    >>> {name: W.shape for name, W in net.params.items()}
    {'W1': (65, 10)}
    """

    def __init__(self, layer_sizes: Sequence[int], *, seed: int):
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
            raise TypeError(f"layer_sizes must be a sequence of ints, got {_describe(layer_sizes)}")
        if len(layer_sizes) < 2:
            raise ValueError(
                f"layer_sizes must have at least two entries (inputs, outputs), got {tuple(layer_sizes)}"
            )
        sizes = tuple(_check_positive_int(n, f"layer_sizes[{i}]") for i, n in enumerate(layer_sizes))
        seed = _check_positive_int(seed, "seed", minimum=0)
        rng = np.random.default_rng(seed)
        self.layer_sizes: tuple[int, ...] = sizes
        self.params: dict[str, np.ndarray] = {}
        for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            W = np.zeros((n_in + 1, n_out))
            W[:-1] = rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_in, n_out))
            self.params[f"W{layer}"] = W

    def __repr__(self) -> str:
        return f"NumpyNetwork(layer_sizes={self.layer_sizes})"

    @property
    def n_layers(self) -> int:
        """Number of fully connected layers (``len(layer_sizes) - 1``)."""
        return len(self.layer_sizes) - 1

    # -- checks at the door ---------------------------------------------------------

    def _check_params(self) -> None:
        expected = [f"W{l}" for l in range(1, self.n_layers + 1)]
        if not isinstance(self.params, dict) or sorted(self.params) != sorted(expected):
            got = sorted(self.params) if isinstance(self.params, dict) else _describe(self.params)
            raise ValueError(f"params must be a dict with keys {expected}, got {got}")
        for l, key in enumerate(expected, start=1):
            W = self.params[key]
            shape = (self.layer_sizes[l - 1] + 1, self.layer_sizes[l])
            if not isinstance(W, np.ndarray) or W.dtype != np.float64 or W.shape != shape:
                raise ValueError(
                    f"params[{key!r}] must be a float64 array of shape {shape}, got {_describe(W)}"
                )
            if not np.isfinite(W).all():
                raise ValueError(f"params[{key!r}] must be finite, but it holds NaN or infinity")

    def _check_X(self, X: object) -> np.ndarray:
        X = check_features(X)
        if X.shape[1] != self.layer_sizes[0]:
            W1 = self.params["W1"]
            raise ValueError(
                f"X of shape {X.shape} does not fit the first layer: W1 of shape {W1.shape} "
                f"expects {self.layer_sizes[0]} features (plus the bias column added inside)"
            )
        return X

    def _check_XY(self, X: object, Y: object) -> tuple[np.ndarray, np.ndarray]:
        X = self._check_X(X)
        Y = check_features(Y, name="Y")
        n_out = self.layer_sizes[-1]
        if Y.shape != (X.shape[0], n_out):
            raise ValueError(
                f"Y of shape {Y.shape} does not match X of shape {X.shape} and the network's "
                f"{n_out} outputs: expected Y of shape {(X.shape[0], n_out)}"
            )
        return X, Y

    # -- forward and backward -------------------------------------------------------

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
        """Forward pass without input checks; returns the output and every layer's
        ``(fc_cache, sigmoid_cache, Z)``."""
        caches = []
        A = X
        for l in range(1, self.n_layers + 1):
            Z, fc_cache = fc_forward(_append_ones(A), self.params[f"W{l}"])
            A, sig_cache = sigmoid_forward(Z)
            caches.append((fc_cache, sig_cache, Z))
        return A, caches

    def _backward(self, dA: np.ndarray, caches: list[tuple]) -> dict[str, np.ndarray]:
        """Backpropagation: from dLoss/dOutput to the gradient of every weight matrix."""
        grads = {}
        for l in range(self.n_layers, 0, -1):
            fc_cache, sig_cache, _ = caches[l - 1]
            dZ = sigmoid_backward(dA, sig_cache)
            dX, grads[f"W{l}"] = fc_backward(dZ, fc_cache, input_grad=l > 1)
            if l > 1:
                dA = dX[:, :-1]  # the bias column is constant: its gradient goes nowhere
        return {f"W{l}": grads[f"W{l}"] for l in range(1, self.n_layers + 1)}

    def forward(self, X: object) -> np.ndarray:
        """The network's outputs.

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[0])
            Features without the bias column.

        Returns
        -------
        ndarray of shape (n_samples, layer_sizes[-1])
            The last sigmoid's activations, in [0, 1].
        """
        self._check_params()
        A, _ = self._forward(self._check_X(X))
        return A

    def loss_and_grads(self, X: object, Y: object) -> tuple[float, dict[str, np.ndarray]]:
        """Mean squared error on ``(X, Y)`` and its gradient with respect to every weight.

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[0])
            Features without the bias column.
        Y : array_like of shape (n_samples, layer_sizes[-1])
            Targets, for example ``one_hot(y)``.

        Returns
        -------
        loss : float
            ``mean((forward(X) - Y) ** 2)``.
        grads : dict of str to ndarray
            Keyed like ``params``, each gradient of the shape of its weights.
        """
        self._check_params()
        X, Y = self._check_XY(X, Y)
        A, caches = self._forward(X)
        loss, dA = mse_loss(A, Y)
        return loss, self._backward(dA, caches)

    def fit(self, X: object, Y: object, *, lr: float, epochs: int) -> FitHistory:
        """Train by batch gradient descent, updating ``params`` in place.

        Each iteration is one forward pass over all of ``X``, one loss, one
        backward pass and one update of every weight matrix, ``W - lr * dW``
        (:func:`gradient_step`), written into ``params`` in place.

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[0])
            Training features without the bias column.
        Y : array_like of shape (n_samples, layer_sizes[-1])
            Training targets, for example ``one_hot(y)``.
        lr : float
            Learning rate, finite and above 0.
        epochs : int
            Number of iterations (each sees the whole training set once), >= 1.

        Returns
        -------
        FitHistory
            The loss per iteration (``history.loss``) and whether training stalled
            because every unit saturated (``history.saturated_at``, ``history.message``).

        Raises
        ------
        TypeError, ValueError
            For bad inputs: shapes that do not fit the network, NaN or infinity in
            ``X``, ``Y`` or the weights, ``lr <= 0``, ``epochs < 1``.
        TrainingDiverged
            As soon as a pre-activation, the loss, a gradient or an updated weight is
            not finite; the weights keep their last finite values.

        Warns
        -----
        TrainingSaturated
            Once, when training stalled (see :class:`FitHistory`).
        """
        self._check_params()
        X, Y = self._check_XY(X, Y)
        lr = _check_lr(lr)
        epochs = _check_positive_int(epochs, "epochs")
        history = np.empty(epochs)
        zero_grad_at = None

        def diverged(it: int, quantity: str, loss: float, reason: str) -> TrainingDiverged:
            return TrainingDiverged(it + 1, quantity, loss, history[:it].copy(), lr, reason)

        # Overflow and NaN are detected below and reported as TrainingDiverged,
        # so NumPy's own floating-point warnings would only repeat them.
        with np.errstate(over="ignore", invalid="ignore"):
            for it in range(epochs):
                A, caches = self._forward(X)
                for l, (_, _, Z) in enumerate(caches, start=1):
                    if not np.isfinite(Z).all():
                        raise diverged(it, "pre-activation", float("nan"),
                                       f"the pre-activation Z{l} of layer {l} is not finite")
                loss, dA = mse_loss(A, Y)
                if not np.isfinite(loss):
                    raise diverged(it, "loss", loss, f"the loss became {loss}")
                history[it] = loss
                grads = self._backward(dA, caches)
                for key, dW in grads.items():
                    if not np.isfinite(dW).all():
                        raise diverged(it, "gradient", loss, f"the gradient d{key} is not finite")
                if zero_grad_at is None and not any(dW.any() for dW in grads.values()):
                    zero_grad_at = it + 1
                new_params = gradient_step(self.params, grads, lr)
                for key, new_W in new_params.items():
                    if not np.isfinite(new_W).all():
                        raise diverged(it, "weight", loss, f"the update of {key} overflowed")
                for key, new_W in new_params.items():
                    self.params[key][...] = new_W
        result = self._how_it_ended(history, zero_grad_at, A, Y, lr)
        if result.saturated:
            warnings.warn(result.message, TrainingSaturated, stacklevel=2)
        return result

    def _how_it_ended(
        self, history: np.ndarray, zero_grad_at: int | None, A: np.ndarray, Y: np.ndarray, lr: float
    ) -> FitHistory:
        """The :class:`FitHistory` of a finished run; ``A`` is the last forward pass."""
        n_classes = Y.shape[1]
        accuracy = float(np.mean(A.argmax(axis=1) == Y.argmax(axis=1)))
        window = history[-STALL_WINDOW:]
        stalled = (
            len(history) >= STALL_WINDOW
            and np.ptp(window) <= 1e-12 * np.abs(window).max()
            and accuracy <= 1.5 / n_classes
        )
        if zero_grad_at is not None:
            at = zero_grad_at
            why = f"from iteration {at} on, the gradient was exactly zero in every entry"
        elif stalled:
            at = len(history) - STALL_WINDOW + 1
            why = (f"the loss did not change over the last {STALL_WINDOW} iterations "
                   f"while the training accuracy stayed at chance")
        else:
            return FitHistory(history, None, f"trained {len(history)} iterations at lr={lr:g}")
        message = (
            f"training stalled at lr={lr:g}: {why} (loss {history[-1]:.4g}, training "
            f"accuracy {accuracy:.3f}, chance is {1 / n_classes:.3f}). Every sigmoid unit "
            "saturated: its output rounded to 0 or 1, where its derivative A * (1 - A) is 0, "
            "so no update can move it back. Use a smaller learning rate."
        )
        return FitHistory(history, at, message)

    def predict(self, X: object) -> np.ndarray:
        """Predicted classes: the index of the largest output of each row.

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[0])
            Features without the bias column.

        Returns
        -------
        ndarray of shape (n_samples,)
            int64 labels in ``0 .. layer_sizes[-1] - 1``.
        """
        return self.forward(X).argmax(axis=1).astype(np.int64)

    def accuracy(self, X: object, y: object) -> float:
        """Share of samples whose predicted class equals the label.

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[0])
            Features without the bias column.
        y : array_like of shape (n_samples,)
            Integer labels in ``0 .. layer_sizes[-1] - 1``.

        Returns
        -------
        float
            In [0, 1].
        """
        X = self._check_X(X)
        y = check_labels(y, num_classes=self.layer_sizes[-1])
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X of shape {X.shape} and y of shape {y.shape} must have the same number of samples"
            )
        return float(np.mean(self.predict(X) == y))


# --- The configurations the book trains --------------------------------------------------


@dataclass(frozen=True)
class TrainingSetup:
    """One network and how to train it: architecture, learning rate, iterations, seed.

    Attributes
    ----------
    layer_sizes : tuple of int
        Passed to :class:`NumpyNetwork`.
    lr : float
        Learning rate of :meth:`NumpyNetwork.fit`.
    epochs : int
        Number of full-batch iterations.
    seed : int
        Seed of the weight initialization.
    """

    layer_sizes: tuple[int, ...]
    lr: float
    epochs: int
    seed: int = 0

    def build(self) -> NumpyNetwork:
        """A freshly initialized network of this setup."""
        return NumpyNetwork(self.layer_sizes, seed=self.seed)


LEARNING_RATES: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
"""The learning rates compared on the validation part, about a factor 3 apart."""

LAB_SETUP = TrainingSetup(layer_sizes=(64, 10), lr=30.0, epochs=500, seed=0)
"""The lab's network (no hidden layer), with the learning rate from :data:`LEARNING_RATES`
that has the best validation accuracy after 500 iterations."""

HIDDEN_SETUP = TrainingSetup(layer_sizes=(64, 32, 10), lr=30.0, epochs=1000, seed=0)
"""One hidden layer of 32 sigmoid units, its learning rate chosen the same way."""


@dataclass(frozen=True)
class LearningRateTrial:
    """The result of training one fresh network at one learning rate.

    Attributes
    ----------
    lr : float
        The learning rate.
    history : ndarray of shape (epochs,)
        Training loss per iteration (shorter if training diverged).
    train_accuracy, val_accuracy : float
        Accuracy after training; NaN if training diverged.
    diverged : bool
        Whether :class:`TrainingDiverged` stopped the run.
    """

    lr: float
    history: np.ndarray
    train_accuracy: float
    val_accuracy: float
    diverged: bool


def compare_learning_rates(
    setup: TrainingSetup,
    lrs: Sequence[float],
    X_train: object,
    y_train: object,
    X_val: object,
    y_val: object,
) -> list[LearningRateTrial]:
    """Train a fresh network of ``setup`` at each learning rate; score it on validation data.

    ``setup.lr`` is ignored; ``setup.layer_sizes``, ``setup.epochs`` and
    ``setup.seed`` are used for every run, so the runs differ only in the rate.

    Parameters
    ----------
    setup : TrainingSetup
        Architecture, number of iterations and seed.
    lrs : sequence of float
        Learning rates to try.
    X_train, X_val : array_like of shape (n_samples, setup.layer_sizes[0])
        Features without the bias column.
    y_train, y_val : array_like of shape (n_samples,)
        Integer labels; the training labels are one-hot encoded for the loss.

    Returns
    -------
    list of LearningRateTrial
        One per learning rate, in the order of ``lrs``.
    """
    if len(lrs) == 0:
        raise ValueError("lrs must hold at least one learning rate, got none")
    Y_train = one_hot(y_train, num_classes=setup.layer_sizes[-1])
    trials = []
    for lr in lrs:
        net = setup.build()
        try:
            history = net.fit(X_train, Y_train, lr=lr, epochs=setup.epochs).loss
        except TrainingDiverged as err:
            trials.append(LearningRateTrial(float(lr), err.history, np.nan, np.nan, True))
            continue
        trials.append(
            LearningRateTrial(
                float(lr), history, net.accuracy(X_train, y_train), net.accuracy(X_val, y_val), False
            )
        )
    return trials


def best_learning_rate(trials: Sequence[LearningRateTrial]) -> float:
    """The learning rate with the highest validation accuracy (the smaller one on a tie).

    Parameters
    ----------
    trials : sequence of LearningRateTrial
        From :func:`compare_learning_rates`.

    Returns
    -------
    float
        The chosen learning rate.
    """
    finished = [t for t in trials if not t.diverged]
    if not finished:
        raise ValueError("every learning rate diverged; there is nothing to choose from")
    return min(finished, key=lambda t: (-t.val_accuracy, t.lr)).lr
