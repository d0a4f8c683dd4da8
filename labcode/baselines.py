"""Library baselines for Exercise 1: scikit-learn on the same split.

The network of Exercise 1 is written by hand, so it is worth knowing what a library
gets on the same data. Two kinds of baseline:

* :func:`logistic_regression`, the library's usual linear classifier (a softmax over
  ``X @ W + b``, cross-entropy loss, L2 penalty, fitted by L-BFGS): the same kind of
  model as the lab's network without hidden layer, fitted the way one would in practice;
* :func:`full_batch_mlp`, scikit-learn's ``MLPClassifier`` set up to run the same
  algorithm as :meth:`labcode.numpy_net.NumpyNetwork.fit` (full-batch gradient
  descent, constant rate, no momentum, no penalty, no early stopping, sigmoid hidden
  units, a fixed number of iterations). It differs in the output: a softmax with
  cross-entropy instead of sigmoids with squared error.

:func:`fit_and_score` fits one of them and reports its accuracy on every part of a split.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from . import _validate
from .data import DigitsSplit

__all__ = ["SKLEARN_GD_LR", "logistic_regression", "full_batch_mlp", "fit_and_score"]

SKLEARN_GD_LR = 3.0
"""Learning rate of :func:`full_batch_mlp`.

The value of 0.1, 0.3, 1, 3 and 10 with the best validation accuracy after 500
iterations without hidden layer. It is smaller than the NumPy network's rate because
the cross-entropy's gradient is averaged over samples only (not over the 10 outputs as
well) and is not damped by the sigmoid's slope at the output.
"""


def logistic_regression(*, seed: int) -> LogisticRegression:
    """scikit-learn's logistic regression with its default penalty (``C=1``).

    Parameters
    ----------
    seed : int
        Passed as ``random_state`` (L-BFGS itself is deterministic).

    Returns
    -------
    LogisticRegression
        Unfitted, with ``max_iter=2000`` so that L-BFGS converges on the digits.
    """
    seed = _validate.seed(seed, "seed")
    return LogisticRegression(max_iter=2000, random_state=seed)


def full_batch_mlp(
    hidden_layer_sizes: Sequence[int],
    *,
    n_train: int,
    epochs: int,
    seed: int,
    lr: float = SKLEARN_GD_LR,
) -> MLPClassifier:
    """``MLPClassifier`` configured as full-batch gradient descent.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int
        Hidden units per layer; ``()`` for no hidden layer.
    n_train : int
        Number of training samples: the batch size, so that each iteration uses
        all of them, as :meth:`labcode.numpy_net.NumpyNetwork.fit` does.
    epochs : int
        Number of iterations; training always runs all of them.
    seed : int
        Seed of scikit-learn's weight initialization.
    lr : float, default SKLEARN_GD_LR
        Constant learning rate.

    Returns
    -------
    MLPClassifier
        Unfitted; sigmoid ("logistic") hidden units, softmax output, cross-entropy.
    """
    hidden = tuple(
        _validate.integer(n, f"hidden_layer_sizes[{i}]") for i, n in enumerate(hidden_layer_sizes)
    )
    return MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="logistic",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=_validate.positive(lr, "lr"),
        momentum=0.0,
        nesterovs_momentum=False,
        batch_size=_validate.integer(n_train, "n_train"),
        max_iter=_validate.integer(epochs, "epochs"),
        n_iter_no_change=_validate.integer(epochs, "epochs"),
        tol=0.0,
        alpha=0.0,
        shuffle=False,
        random_state=_validate.seed(seed, "seed"),
    )


def fit_and_score(estimator: LogisticRegression | MLPClassifier, split: DigitsSplit) -> dict[str, float]:
    """Fit on the training part; return the accuracy on each part and the fit time.

    A full-batch ``MLPClassifier`` stops at its iteration budget on purpose, so the
    ``ConvergenceWarning`` scikit-learn emits then is silenced; nothing else is.

    Parameters
    ----------
    estimator : LogisticRegression or MLPClassifier
        An unfitted classifier, for example from :func:`full_batch_mlp`; it is fitted
        in place.
    split : DigitsSplit
        The data, for example ``load_digits_split(seed=0)``.

    Returns
    -------
    dict of str to float
        ``"train"``, ``"val"``, ``"test"``: accuracies; ``"fit_seconds"``: the
        wall-clock time of ``fit``.
    """
    _validate.instance(split, DigitsSplit, "split")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(split.train.X, split.train.y)
    seconds = time.perf_counter() - start
    scores = {name: float(estimator.score(part.X, part.y)) for name, part in split.parts().items()}
    return {**scores, "fit_seconds": seconds}
