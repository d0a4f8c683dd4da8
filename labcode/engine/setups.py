"""The NumPy networks the book trains in Exercise 1, and how their learning rates were chosen.

These are the book's choices, made on the validation part, not part of what a student
writes: :data:`LAB_SETUP` (the lab's network, no hidden layer), :data:`HIDDEN_SETUP` (one
hidden layer of 32 sigmoid units) and the learning-rate grid :data:`LEARNING_RATES`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data import one_hot
from ..numpy_net import NumpyNetwork, TrainingDiverged, TrainingSaturated

__all__ = [
    "TrainingSetup",
    "LEARNING_RATES",
    "LAB_SETUP",
    "HIDDEN_SETUP",
    "LearningRateTrial",
    "compare_learning_rates",
    "best_learning_rate",
]


@dataclass(frozen=True)
class TrainingSetup:
    """One network and how to train it: architecture, learning rate, iterations, seed.

    Attributes
    ----------
    layer_sizes : tuple of int
        Passed to :class:`~labcode.numpy_net.NumpyNetwork`.
    lr : float
        Learning rate of :meth:`~labcode.numpy_net.NumpyNetwork.fit`.
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
        Whether :class:`~labcode.numpy_net.TrainingDiverged` stopped the run.
    saturated : bool
        Whether training stalled because every output unit saturated (see
        :class:`~labcode.numpy_net.FitHistory`); the comparison records it instead of
        warning.
    """

    lr: float
    history: np.ndarray
    train_accuracy: float
    val_accuracy: float
    diverged: bool
    saturated: bool = False


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
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TrainingSaturated)  # recorded below instead
                history = net.fit(X_train, Y_train, lr=lr, epochs=setup.epochs)
        except TrainingDiverged as err:
            trials.append(LearningRateTrial(float(lr), err.history, np.nan, np.nan, True))
            continue
        train_acc, val_acc = net.accuracy(X_train, y_train), net.accuracy(X_val, y_val)
        trials.append(
            LearningRateTrial(float(lr), history.loss, train_acc, val_acc, False, history.saturated)
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
