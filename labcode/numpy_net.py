"""Exercise 1, Steps 2 to 5: a neural network by hand in NumPy.

The network is built from three blocks, each a forward/backward pair that sit side by
side:

* the fully connected layer, :func:`fc_forward` / :func:`fc_backward`, ``Z = X @ W``
  (the bias is the last row of ``W``, multiplied by a column of ones in ``X``);
* the sigmoid, :func:`sigmoid_forward` / :func:`sigmoid_backward`;
* the mean squared error, :func:`mse_loss`, which returns the loss and its gradient.

:func:`forward_pass` stacks the blocks into the network (Step 2), :func:`backward_pass`
runs them back in reverse order (Step 3), :func:`gradient_step` is one update of batch
gradient descent, ``W - lr * dW`` for every weight matrix, and :func:`train_network`
repeats forward, loss, backward and update (Step 4); :func:`accuracy` scores the
outputs against the labels (Step 5).

Each forward returns its output and a *cache*, the values its backward needs; each
backward takes the gradient of the loss with respect to the block's output and returns
the gradients with respect to its inputs. :class:`NumpyNetwork` keeps the weights and
trains with the same passes, watching for divergence and saturation. Everything is
float64, so that the gradients can be checked against finite differences
(:mod:`labcode.gradcheck`) to a relative error below 1e-7.

The configurations the book trains (:data:`labcode.engine.setups.LAB_SETUP`, ...) are
the book's choices, not part of the lab, and live in :mod:`labcode.engine.setups`.
"""

from __future__ import annotations

from collections.abc import Sequence
import warnings
from dataclasses import dataclass

import numpy as np

from . import _validate

__all__ = [
    "fc_forward",
    "fc_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "mse_loss",
    "gradient_step",
    "accuracy",
    "forward_pass",
    "backward_pass",
    "train_network",
    "NumpyNetwork",
    "TrainingDiverged",
    "TrainingSaturated",
    "FitHistory",
    "SATURATED_SLOPE",
    "CHANCE_MARGIN",
]


def _check_fc(X: object, W: object) -> None:
    _validate.float_matrices(X=X, W=W)
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X of shape {X.shape} and W of shape {W.shape} do not fit: "
            f"X.shape[1] = {X.shape[1]} must equal W.shape[0] = {W.shape[0]}"
        )


def _check_cache(cache: object, parts: tuple[str, ...], forward: str) -> None:
    """``cache`` is what ``forward`` returned as its cache: float64 matrices ``parts``."""
    if len(parts) == 1:
        if not isinstance(cache, np.ndarray):
            raise TypeError(f"cache must be the cache {forward} returned, the matrix {parts[0]}, "
                            f"got {_validate.describe(cache)}")
        _validate.float_matrices(cache=cache)
        return
    if not isinstance(cache, tuple) or len(cache) != len(parts):
        raise TypeError(f"cache must be the cache {forward} returned, the tuple "
                        f"({', '.join(parts)}), got {_validate.describe(cache)}")
    _validate.float_matrices(**{f"cache[{i}] ({part})": M
                                for i, (part, M) in enumerate(zip(parts, cache))})


def _check_fc_backward(dZ: object, cache: object) -> None:
    _check_cache(cache, ("X", "W"), "fc_forward")
    X, W = cache
    _check_fc(X, W)
    _validate.float_matrices(dZ=dZ)
    _validate.shape(dZ, (X.shape[0], W.shape[1]), "dZ", "Z = X @ W")


def _check_sigmoid_forward(Z: object) -> None:
    _validate.float_matrices(Z=Z)


def _check_sigmoid_backward(dA: object, cache: object) -> None:
    _check_cache(cache, ("A",), "sigmoid_forward")
    _validate.float_matrices(dA=dA)
    _validate.shape(dA, cache.shape, "dA", "A")


def _check_mse(A: object, Y: object) -> None:
    _validate.float_matrices(A=A, Y=Y)
    _validate.shape(Y, A.shape, "Y", "A")


def _check_weights(params: object, name: str = "params") -> None:
    """A dict of real NumPy arrays."""
    if not isinstance(params, dict):
        raise TypeError(f"{name} must be a dict of NumPy arrays, got {_validate.describe(params)}")
    for key, W in params.items():
        if not isinstance(W, np.ndarray):
            raise TypeError(f"{name}[{key!r}] must be a NumPy array, got {_validate.describe(W)}")
        if not (np.issubdtype(W.dtype, np.floating) or np.issubdtype(W.dtype, np.integer)):
            raise TypeError(f"{name}[{key!r}] must hold real numbers, got {_validate.describe(W)}")


def _check_step(params: object, grads: object, lr: object) -> dict:
    _check_weights(params, "params")
    _check_weights(grads, "grads")
    if params.keys() != grads.keys():
        missing, extra = sorted(params.keys() - grads.keys()), sorted(grads.keys() - params.keys())
        raise ValueError(
            f"grads must have the keys of params, {list(params)}; missing {missing}, unexpected {extra}"
        )
    for key, W in params.items():
        _validate.shape(grads[key], W.shape, f"grads[{key!r}]", f"params[{key!r}]")
    return {"lr": _validate.positive(lr, "lr")}


def _check_accuracy(A: object, y: object) -> dict:
    A = _validate.features(A, "A")
    y = _validate.labels(y, A.shape[1])
    if y.shape[0] != A.shape[0]:
        raise ValueError(f"A of shape {A.shape} and y of shape {y.shape} must have the "
                         "same number of samples")
    return {"A": A, "y": y}


def _check_layers(params: object) -> None:
    """``params`` of :func:`forward_pass`: ``W1``, ``W2``, ... float64 matrices that chain."""
    _check_weights(params)
    expected = [f"W{l}" for l in range(1, len(params) + 1)]
    if not params or set(params) != set(expected):
        raise ValueError(f"params must hold the weight matrices {expected or ['W1']}, "
                         f"got keys {list(params)}")
    _validate.float_matrices(**{f"params[{k!r}]": W for k, W in params.items()})
    for l in range(2, len(params) + 1):
        W, before = params[f"W{l}"], params[f"W{l - 1}"]
        if W.shape[0] != before.shape[1] + 1:
            raise ValueError(f"params['W{l}'] of shape {W.shape} does not follow params['W{l - 1}'] "
                             f"of shape {before.shape}: it needs {before.shape[1] + 1} rows "
                             "(one per unit before it, and the bias)")


def _check_forward_pass(X: object, params: object) -> None:
    _check_layers(params)
    _validate.float_matrices(X=X)
    W1 = params["W1"]
    if X.shape[1] + 1 != W1.shape[0]:
        raise ValueError(f"X of shape {X.shape} does not fit params['W1'] of shape {W1.shape}: "
                         f"X needs {W1.shape[0] - 1} columns (the bias column is added inside)")


def _check_backward_pass(dA: object, caches: object) -> None:
    if not isinstance(caches, list) or not caches:
        raise TypeError(f"caches must be the list forward_pass returned, got {_validate.describe(caches)}")
    for l, layer in enumerate(caches, start=1):
        if not isinstance(layer, tuple) or len(layer) != 2:
            raise TypeError(f"caches[{l - 1}] must be a pair (fc_cache, sigmoid_cache), got "
                            f"{_validate.describe(layer)}")
        _check_cache(layer[0], ("X", "W"), "fc_forward")
        _check_cache(layer[1], ("A",), "sigmoid_forward")
    _validate.float_matrices(dA=dA)
    _validate.shape(dA, caches[-1][1].shape, "dA", "the network's output A")


def _check_train_network(params: object, X: object, Y: object, lr: object, iterations: object) -> dict:
    _check_forward_pass(X, params)
    _validate.float_matrices(Y=Y)
    out = params[f"W{len(params)}"].shape[1]
    _validate.shape(Y, (X.shape[0], out), "Y", "the network's output A")
    return {"lr": _validate.positive(lr, "lr"),
            "iterations": _validate.epochs(iterations, "iterations")}


# --- Fully connected layer -------------------------------------------------------------


@_validate.checked(_check_fc)
def fc_forward(X: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Fully connected layer, ``Z = X @ W``, and the cache ``(X, W)``.

    ``X`` (n_samples, n_in + 1) ends with a column of ones
    (:func:`labcode.data.add_bias`); ``W`` (n_in + 1, n_out) has the bias
    as its last row; ``Z`` is (n_samples, n_out).
    """
    Z = X @ W
    return Z, (X, W)


@_validate.checked(_check_fc_backward)
def fc_backward(dZ: np.ndarray, cache: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Backward of :func:`fc_forward`: ``dX = dZ @ W.T``, ``dW = X.T @ dZ``.

    ``dZ`` (n_samples, n_out) is the gradient of the loss with respect to
    ``Z``; ``dX`` has the shape of ``X``, ``dW`` that of ``W``.
    """
    X, W = cache
    dX = dZ @ W.T
    dW = X.T @ dZ
    return dX, dW


# --- Sigmoid ---------------------------------------------------------------------------


@_validate.checked(_check_sigmoid_forward)
def sigmoid_forward(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid, ``A = 1 / (1 + exp(-Z))`` entry by entry; the cache is ``A``.

    Computed from ``E = exp(-|Z|)``, which never exceeds 1: ``1 / (1 + E)``
    where ``Z >= 0``, and ``E / (1 + E)`` (the same value times ``E / E``)
    where ``Z < 0``. Nothing overflows, not even for ``|Z| = 1e4``.
    """
    E = np.exp(-np.abs(Z))
    A = np.where(Z >= 0, 1, E) / (1 + E)
    return A, A


@_validate.checked(_check_sigmoid_backward)
def sigmoid_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward of :func:`sigmoid_forward`: ``dZ = dA * A * (1 - A)``.

    ``A`` is the cache; ``dA`` is the gradient of the loss with respect to it.
    """
    A = cache
    dZ = dA * A * (1 - A)
    return dZ


# --- Mean squared error ----------------------------------------------------------------


@_validate.checked(_check_mse)
def mse_loss(A: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all entries of ``A``, and its gradient.

    ``loss = mean((A - Y) ** 2)``, as ``torch.nn.functional.mse_loss``;
    ``dA = 2 * (A - Y) / A.size`` has the shape of ``A``.
    """
    diff = A - Y
    loss = np.mean(diff**2)
    dA = 2 * diff / diff.size
    return float(loss), dA


# --- One step of gradient descent -------------------------------------------------------


@_validate.checked(_check_step)
def gradient_step(
    params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float
) -> dict[str, np.ndarray]:
    """One step of batch gradient descent: a new ``W - lr * dW`` for each W.

    ``grads`` has the keys of ``params`` and each gradient the shape of its
    weights; both dicts are left unchanged.

    Examples
    --------
    >>> params = {"W1": np.array([[1.0, 2.0]])}
    >>> gradient_step(params, {"W1": np.array([[0.5, -1.0]])}, lr=0.1)
    {'W1': array([[0.95, 2.1 ]])}
    """
    return {key: W - lr * grads[key] for key, W in params.items()}


# --- Accuracy ---------------------------------------------------------------------------


@_validate.checked(_check_accuracy)
def accuracy(A: np.ndarray, y: np.ndarray) -> float:
    """Share of rows of ``A`` whose largest entry is at the column of the row's label.

    ``A`` holds one row of outputs per sample (shape ``(n_samples, n_classes)``), ``y``
    the integer labels (shape ``(n_samples,)``, not one-hot rows). Returns a float in
    [0, 1].

    Examples
    --------
    >>> accuracy(np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]), np.array([0, 1, 1]))
    0.6666666666666666
    """
    return float(np.mean(A.argmax(axis=1) == y))


# --- The network's passes and its training loop -------------------------------------------


@_validate.checked(_check_forward_pass)
def forward_pass(X: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, list[tuple]]:
    """The network's forward pass: for each layer, the bias column, fc, then sigmoid.

    ``X`` (n_samples, n_in) has no bias column; ``params`` holds ``"W1"``,
    ``"W2"``, ... Returns the last sigmoid's output ``A`` and ``caches``, one
    ``(fc_cache, sigmoid_cache)`` per layer, first layer first.
    """
    caches = []
    A = X
    for l in range(1, len(params) + 1):
        A_tilde = np.hstack([A, np.ones((A.shape[0], 1))])  # the bias column
        Z, fc_cache = fc_forward(A_tilde, params[f"W{l}"])
        A, sigmoid_cache = sigmoid_forward(Z)
        caches.append((fc_cache, sigmoid_cache))
    return A, caches


@_validate.checked(_check_backward_pass)
def backward_pass(dA: np.ndarray, caches: list[tuple]) -> dict[str, np.ndarray]:
    """Backpropagation through the layers of :func:`forward_pass`, last layer first.

    ``dA`` is the gradient of the loss with respect to the network's output. Returns
    the gradient of every weight matrix, keyed ``"W1"``, ``"W2"``, ... like ``params``.
    """
    grads = {}
    for l in range(len(caches), 0, -1):
        fc_cache, sigmoid_cache = caches[l - 1]
        dZ = sigmoid_backward(dA, sigmoid_cache)
        dX, grads[f"W{l}"] = fc_backward(dZ, fc_cache)
        dA = dX[:, :-1]  # the bias column is constant: its gradient goes nowhere
    return {f"W{l}": grads[f"W{l}"] for l in range(1, len(caches) + 1)}


@_validate.checked(_check_train_network)
def train_network(
    params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, lr: float, iterations: int
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Batch gradient descent: each iteration a forward pass over all of ``X``, the
    loss, a backward pass and one update of every weight matrix.

    Returns the trained weights (``params`` itself is left unchanged) and the loss
    of every iteration, measured before its update.
    """
    losses = []
    for _ in range(iterations):
        A, caches = forward_pass(X, params)
        loss, dA = mse_loss(A, Y)
        losses.append(loss)
        grads = backward_pass(dA, caches)
        params = gradient_step(params, grads, lr)
    return params, losses


def _overflowed(row_sum: float, fc_cache: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether ``Z = X @ W`` of a layer's cache holds an entry that is not finite, where
    ``row_sum`` bounds the sum of ``|X|`` along any row.

    ``|Z|`` is at most ``row_sum`` times the largest ``|W|``; only when that bound comes
    near the largest float is ``Z`` computed again.
    """
    X, W = fc_cache
    if row_sum * np.abs(W).max() < 1e300:
        return False
    return not np.isfinite(X @ W).all()


# --- The network -----------------------------------------------------------------------


class TrainingDiverged(RuntimeError):
    """Raised by :meth:`NumpyNetwork.fit` when training produces NaN or infinity.

    Every iteration checks, in this order, each layer's pre-activation ``Z``, the loss,
    the gradients and the updated weights, and stops at the first that is not finite
    (why ``Z`` itself is checked: the appendix, section "How fit watches a run"). The
    network keeps its last finite weights.

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

    A sigmoid unit saturates when its outputs sit near 0 or 1, where its slope
    ``A * (1 - A)`` is nearly 0: every update through it is tiny. The slope is exactly 0
    where ``A`` rounds to exactly 1 (``Z`` above about 37) or to exactly 0 (``Z`` below
    about -745, where ``exp(Z)`` underflows); a network whose outputs all did that gets
    a zero gradient and never moves again, while its loss stays finite. Training counts
    as stalled when every output unit stayed saturated to the end and the training
    accuracy is at chance (see :class:`FitHistory`); the same ``message`` is in the
    :class:`FitHistory` that :meth:`NumpyNetwork.fit` returns.
    """


SATURATED_SLOPE = 1e-3
"""An output unit counts as saturated where its slope ``A * (1 - A)`` is below this
(the slope is at most 1/4, at ``A = 1/2``; below 1e-3 the unit's ``|z|`` exceeds 6.9)."""

CHANCE_MARGIN = 0.05
"""Training accuracy at most this far above guessing (the larger of ``1 / n_classes`` and
the most frequent class's share) counts as "at chance"."""


@dataclass(frozen=True)
class FitHistory:
    """What :meth:`NumpyNetwork.fit` returns: the loss per iteration and how training ended.

    Attributes
    ----------
    loss : ndarray of shape (epochs,)
        The training loss at each iteration, computed before its update.
    saturated_at : int or None
        When training stalled: every output unit saturated (its slope ``A * (1 - A)``
        below :data:`SATURATED_SLOPE` on every training sample) from this iteration
        (counted from 1) to the last, and the training accuracy ended at chance (within
        :data:`CHANCE_MARGIN`). ``None`` when training did not stall, also when it
        stopped moving because it fit the targets.
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
        sizes = _validate.sizes(
            layer_sizes, "layer_sizes", at_least=2, what="two entries (inputs, outputs)"
        )
        seed = _validate.seed(seed)
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

    def _check_X(self, X: object) -> dict:
        _check_network(self)
        X = _validate.features(X)
        if X.shape[1] != self.layer_sizes[0]:
            W1 = self.params["W1"]
            raise ValueError(
                f"X of shape {X.shape} does not fit the first layer: W1 of shape {W1.shape} "
                f"expects {self.layer_sizes[0]} features (plus the bias column added inside)"
            )
        return {"X": X}

    def _check_XY(self, X: object, Y: object) -> dict:
        X = self._check_X(X)["X"]
        Y = _validate.features(Y, "Y")
        n_out = self.layer_sizes[-1]
        if Y.shape != (X.shape[0], n_out):
            raise ValueError(
                f"Y of shape {Y.shape} does not match X of shape {X.shape} and the network's "
                f"{n_out} outputs: expected Y of shape {(X.shape[0], n_out)}"
            )
        return {"X": X, "Y": Y}

    @_validate.checked(_check_X)
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
        A, _ = forward_pass(X, self.params)
        return A

    @_validate.checked(_check_XY)
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
        A, caches = forward_pass(X, self.params)
        loss, dA = mse_loss(A, Y)
        return loss, backward_pass(dA, caches)

    def _check_fit(self, X: object, Y: object, lr: object, epochs: object) -> dict:
        return {**self._check_XY(X, Y), "lr": _validate.positive(lr, "lr"),
                "epochs": _validate.epochs(epochs)}

    @_validate.checked(_check_fit)
    def fit(self, X: object, Y: object, *, lr: float, epochs: int) -> FitHistory:
        """Train by batch gradient descent, updating ``params`` in place.

        Each iteration is one forward pass over all of ``X``, one loss, one
        backward pass and one update of every weight matrix, ``W - lr * dW``
        (:func:`gradient_step`), written into ``params`` in place. Beside the loop, a
        ``FitWatch`` looks at each iteration for divergence and saturation.

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
        watch = FitWatch(self.layer_sizes, X, lr, epochs)
        with np.errstate(over="ignore", invalid="ignore"):  # the watch reports them
            for it in range(epochs):
                A, caches = forward_pass(X, self.params)
                loss, dA = mse_loss(A, Y)
                grads = backward_pass(dA, caches)
                new_params = gradient_step(self.params, grads, lr)
                watch.iteration(it, caches, loss, grads, A, new_params)
                for key, new_W in new_params.items():
                    self.params[key][...] = new_W
        return watch.ended(A, Y, grads)

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

    def _check_Xy(self, X: object, y: object) -> dict:
        X = self._check_X(X)["X"]
        y = _validate.labels(y, self.layer_sizes[-1])
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X of shape {X.shape} and y of shape {y.shape} must have the same number of samples"
            )
        return {"X": X, "y": y}

    @_validate.checked(_check_Xy)
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
        A, _ = forward_pass(X, self.params)
        return float(np.mean(A.argmax(axis=1) == y))


# --- What the network checks of its weights -----------------------------------------


def _check_network(net: NumpyNetwork) -> None:
    expected = [f"W{l}" for l in range(1, net.n_layers + 1)]
    if not isinstance(net.params, dict) or sorted(net.params) != sorted(expected):
        got = sorted(net.params) if isinstance(net.params, dict) else _validate.describe(net.params)
        raise ValueError(f"params must be a dict with keys {expected}, got {got}")
    for l, key in enumerate(expected, start=1):
        W = net.params[key]
        shape = (net.layer_sizes[l - 1] + 1, net.layer_sizes[l])
        if not isinstance(W, np.ndarray) or W.dtype != np.float64 or W.shape != shape:
            raise ValueError(
                f"params[{key!r}] must be a float64 array of shape {shape}, got {_validate.describe(W)}"
            )
        if not np.isfinite(W).all():
            raise ValueError(f"params[{key!r}] must be finite, but it holds NaN or infinity")


# --- What fit watches: divergence and saturation ---------------------------------------


class FitWatch:
    """The diagnostics of :meth:`NumpyNetwork.fit`, beside its loop.

    :meth:`iteration` looks at one finished iteration and raises
    :class:`TrainingDiverged` at the first pre-activation, loss, gradient or updated
    weight that is not finite (before the update is written); it also follows whether
    every output unit is saturated. :meth:`ended` says how the run ended, as a
    :class:`FitHistory`, and warns :class:`TrainingSaturated` when it stalled.
    """

    def __init__(self, layer_sizes: tuple[int, ...], X: np.ndarray, lr: float, epochs: int):
        self.lr = lr
        self.loss = np.empty(epochs)
        # |Z| of a layer is at most the row sum of |its input| times max |W|: the input of
        # a hidden layer is sigmoids in [0, 1] and the bias column of ones
        self.row_sums = [float(np.abs(X).sum(axis=1).max()) + 1.0]
        self.row_sums += [n + 1.0 for n in layer_sizes[1:-1]]
        self.saturated_since: int | None = None  # first iteration of the last saturated run

    def _diverged(self, it: int, quantity: str, loss: float, reason: str) -> TrainingDiverged:
        return TrainingDiverged(it + 1, quantity, loss, self.loss[:it].copy(), self.lr, reason)

    def iteration(self, it: int, caches: list, loss: float, grads: dict, A: np.ndarray,
                  new_params: dict) -> None:
        for l, (fc_cache, _) in enumerate(caches, start=1):
            if _overflowed(self.row_sums[l - 1], fc_cache):
                raise self._diverged(it, "pre-activation", float("nan"),
                                     f"the pre-activation Z{l} of layer {l} is not finite")
        if not np.isfinite(loss):
            raise self._diverged(it, "loss", loss, f"the loss became {loss}")
        self.loss[it] = loss
        for key, dW in grads.items():
            if not np.isfinite(dW).all():
                raise self._diverged(it, "gradient", loss, f"the gradient d{key} is not finite")
        if (A * (1 - A)).max() < SATURATED_SLOPE:
            self.saturated_since = it + 1 if self.saturated_since is None else self.saturated_since
        else:
            self.saturated_since = None
        for key, new_W in new_params.items():
            if not np.isfinite(new_W).all():
                raise self._diverged(it, "weight", loss, f"the update of {key} overflowed")

    def ended(self, A: np.ndarray, Y: np.ndarray, grads: dict) -> FitHistory:
        """How the run ended; ``A`` and ``grads`` are those of the last iteration."""
        result = self._how_it_ended(A, Y, zero_grad=not any(dW.any() for dW in grads.values()))
        if result.saturated:
            warnings.warn(result.message, TrainingSaturated, stacklevel=4)  # fit's caller
        return result

    def _how_it_ended(self, A: np.ndarray, Y: np.ndarray, zero_grad: bool) -> FitHistory:
        history, lr, saturated_since = self.loss, self.lr, self.saturated_since
        accuracy = float(np.mean(A.argmax(axis=1) == Y.argmax(axis=1)))
        chance = max(1 / Y.shape[1], float(Y.mean(axis=0).max()))
        if saturated_since is None or accuracy > chance + CHANCE_MARGIN:
            return FitHistory(history, None, f"trained {len(history)} iterations at lr={lr:g}")
        if zero_grad:
            why = ("every output rounded to exactly 0 or 1, where the slope A * (1 - A) is 0, "
                   "so the gradient is exactly zero and no update can move the network again")
        else:
            why = (f"every output is so close to 0 or 1 that its slope A * (1 - A) is below "
                   f"{SATURATED_SLOPE:g}, so every update is tiny")
        message = (
            f"training stalled at lr={lr:g}: from iteration {saturated_since} on, every output "
            f"unit saturated ({why}); the loss is {history[-1]:.4g} and the training accuracy "
            f"{accuracy:.1%}, at chance ({chance:.1%}). Use a smaller learning rate."
        )
        return FitHistory(history, saturated_since, message)
