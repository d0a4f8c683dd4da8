"""Exercise 2, Steps 3 to 5: training and evaluating a PyTorch model.

The pieces, from the inside out:

* the loss: cross-entropy on logits, written out twice (:func:`naive_cross_entropy`,
  which overflows, and :func:`logsumexp_cross_entropy`, which does not) to show what
  ``torch.nn.functional.cross_entropy`` computes;
* the optimizers, looked up by name in :data:`OPTIMIZERS` (:func:`make_optimizer`);
* the L1/L2 penalty, an explicit term added to the loss (:func:`weight_penalty`);
* the loop: :func:`fit` trains and returns a :class:`History`; :func:`evaluate` and
  :func:`predict` measure a trained model.

:mod:`labcode.experiment` puts them together: a
:class:`~labcode.experiment.TrainConfig` names every choice of a run, and
:func:`~labcode.experiment.run_experiment` turns it into an
:class:`~labcode.experiment.ExperimentResult`, the same numbers for the same config.

Nothing here prints: every function returns what it measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import _validate
from .data import (
    NUM_CLASSES,
    confusion_matrix,
)

__all__ = [
    "naive_cross_entropy",
    "logsumexp_cross_entropy",
    "OptimizerSpec",
    "OPTIMIZERS",
    "make_optimizer",
    "PENALIZE",
    "penalized_parameters",
    "weight_penalty",
    "l1_penalty",
    "l2_penalty",
    "History",
    "train_epoch",
    "fit",
    "evaluate",
    "predict",
    "confusion_matrix",
    "per_class_accuracy",
]


# --- The loss: cross-entropy on logits ----------------------------------------------


def _check_logits_targets(logits: object, targets: object) -> None:
    if not isinstance(logits, torch.Tensor) or not logits.dtype.is_floating_point:
        raise TypeError("logits must be a 2-D float tensor (n_samples, n_classes), got "
                        f"{_validate.describe(logits)}")
    if logits.ndim != 2:
        raise ValueError("logits must be a 2-D tensor (n_samples, n_classes), got shape "
                         f"{tuple(logits.shape)}")
    _validate.class_indices(targets, logits.shape[1], "targets")
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"targets must be a 1-D tensor of {logits.shape[0]} class indices, got "
                         f"shape {tuple(targets.shape)}")


@_validate.checked(_check_logits_targets)
def naive_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each sample, straight from the definition (overflows; for teaching).

    Computes the softmax ``p = exp(z) / sum(exp(z))`` and then ``-log p[y]``. For logits
    above about 88 (float32) ``exp`` overflows to infinity and the result is ``nan``;
    :func:`logsumexp_cross_entropy` computes the same quantity safely.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
        Unnormalised class scores ``z``.
    targets : Tensor of shape (n_samples,)
        The true class of each sample, int64.

    Returns
    -------
    Tensor of shape (n_samples,)
        ``-log softmax(z)[y]`` for each sample.
    """
    exp = torch.exp(logits)
    probs = exp / exp.sum(dim=1, keepdim=True)
    return -torch.log(probs.gather(1, targets[:, None]).squeeze(1))


@_validate.checked(_check_logits_targets)
def logsumexp_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each sample, computed with the log-sum-exp trick.

    ``-log softmax(z)[y] = log sum_j exp(z_j) - z_y``, and with ``m = max_j z_j``,
    ``log sum_j exp(z_j) = m + log sum_j exp(z_j - m)``: every exponent is at most 0,
    so nothing overflows, and the largest term is exactly 1, so the sum is at least 1
    and its logarithm never sees 0. This is what
    ``torch.nn.functional.cross_entropy`` computes (with ``reduction="none"``).

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
        Unnormalised class scores ``z``.
    targets : Tensor of shape (n_samples,)
        The true class of each sample, int64.

    Returns
    -------
    Tensor of shape (n_samples,)
        ``log sum_j exp(z_j) - z_y`` for each sample, finite for any finite logits.
    """
    m = logits.max(dim=1, keepdim=True).values
    lse = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    return lse - logits.gather(1, targets[:, None]).squeeze(1)


# --- Optimizers ---------------------------------------------------------------------


class OptimizerSpec(NamedTuple):
    """How to build one optimizer of :data:`OPTIMIZERS`."""

    cls: type[torch.optim.Optimizer]
    """The ``torch.optim`` class."""
    hyperparameters: dict[str, Any]
    """Fixed keyword arguments that define this entry (``momentum=0.9`` for example);
    everything else keeps torch's default."""
    implementation: dict[str, Any]
    """Keyword arguments that choose the fastest implementation (``fused`` or ``foreach``);
    they change the speed, not the update rule."""


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(torch.optim.SGD, {}, {"fused": True}),
    "sgd_momentum": OptimizerSpec(torch.optim.SGD, {"momentum": 0.9}, {"fused": True}),
    "rmsprop": OptimizerSpec(torch.optim.RMSprop, {}, {"foreach": False}),
    "adagrad": OptimizerSpec(torch.optim.Adagrad, {}, {"fused": True}),
    "adadelta": OptimizerSpec(torch.optim.Adadelta, {}, {"foreach": True}),
    "adam": OptimizerSpec(torch.optim.Adam, {}, {"fused": True}),
    "adamw": OptimizerSpec(torch.optim.AdamW, {}, {"fused": True}),
    "nadam": OptimizerSpec(torch.optim.NAdam, {}, {"foreach": True}),
}
"""The optimizers a :class:`~labcode.experiment.TrainConfig` can name.

Every entry takes the learning rate from the caller and keeps torch's defaults for
everything else (``adamw`` therefore decays weights by ``weight_decay=0.01``), except
``sgd_momentum``, which is SGD with ``momentum=0.9``. The ``implementation`` flags pick
the fastest of torch's equivalent implementations for a small model on a CPU
(``fused`` where torch has one, otherwise the faster of ``foreach`` and the loop).
"""


def _check_optimizer(name: object, params: object, lr: object) -> dict:
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid names are {sorted(OPTIMIZERS)}")
    if isinstance(params, nn.Module):
        raise TypeError("params must be the model's parameters, model.parameters(), not the "
                        f"model itself ({type(params).__name__})")
    if isinstance(params, (str, bytes, torch.Tensor)) or not isinstance(params, Iterable):
        raise TypeError(f"params must be an iterable of parameters such as model.parameters(), "
                        f"got {_validate.describe(params)}")
    params = list(params)
    if not params:
        raise ValueError("params must hold at least one parameter, got none (a model without "
                         "parameters, or model.parameters() already used up by another optimizer)")
    for i, p in enumerate(params):
        if not isinstance(p, (torch.Tensor, dict)):
            raise TypeError(f"params[{i}] must be a parameter (a tensor), got {_validate.describe(p)}")
    return {"params": params, "lr": _validate.positive(lr, "lr")}


@_validate.checked(_check_optimizer)
def make_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    """Build the optimizer named ``name`` over ``params`` with learning rate ``lr``.

    Parameters
    ----------
    name : str
        A key of :data:`OPTIMIZERS`.
    params : iterable of Parameter
        For example ``model.parameters()``.
    lr : float
        Learning rate, positive and finite.

    Returns
    -------
    torch.optim.Optimizer

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the valid names) or ``lr`` is not a
        positive finite number.
    """
    spec = OPTIMIZERS[name]
    return spec.cls(params, lr=lr, **spec.hyperparameters, **spec.implementation)


PENALIZE = ("weights", "all")
"""Which parameters :func:`weight_penalty` includes.

``"weights"``: the weight matrices only (every parameter with two or more dimensions),
leaving out biases and BatchNorm's scale and shift. ``"all"``: every trainable
parameter, biases included (the handout's version).
"""


def _check_penalized(model: object, penalize: object) -> None:
    _validate.torch_module(model)
    _validate.one_of(penalize, "penalize", PENALIZE)


@_validate.checked(_check_penalized)
def penalized_parameters(model: nn.Module, penalize: str = "weights") -> list[nn.Parameter]:
    """The parameters :func:`weight_penalty` includes, in ``model.parameters()`` order."""
    params = [p for p in model.parameters() if p.requires_grad]
    if penalize == "weights":
        params = [p for p in params if p.ndim >= 2]
    return params


def _check_penalty(model: object, penalize: object) -> None:
    _check_penalized(model, penalize)
    if not penalized_parameters(model, penalize):
        raise ValueError(f"model has no parameters that penalize={penalize!r} includes "
                         f"({type(model).__name__} has no trainable weight matrix)")


@_validate.checked(_check_penalty)
def l1_penalty(model: nn.Module, penalize: str = "weights") -> torch.Tensor:
    """The L1 penalty ``sum |w|`` over the entries of the penalized parameters.

    By default the weight matrices (see :data:`PENALIZE`); a differentiable scalar.
    """
    return torch.stack([w.abs().sum() for w in penalized_parameters(model, penalize)]).sum()


@_validate.checked(_check_penalty)
def l2_penalty(model: nn.Module, penalize: str = "weights") -> torch.Tensor:
    """The L2 penalty ``sum w**2`` over the entries of the penalized parameters.

    By default the weight matrices (see :data:`PENALIZE`); a differentiable scalar.
    """
    return torch.stack([w.square().sum() for w in penalized_parameters(model, penalize)]).sum()


def _check_weight_penalty(model: object, l1: object, l2: object, penalize: object) -> dict:
    _check_penalized(model, penalize)
    return {"l1": _validate.non_negative(l1, "l1"), "l2": _validate.non_negative(l2, "l2")}


@_validate.checked(_check_weight_penalty)
def weight_penalty(
    model: nn.Module, l1: float = 0.0, l2: float = 0.0, *, penalize: str = "weights"
) -> torch.Tensor:
    """The L1/L2 penalty ``l1 * sum|w| + l2 * sum w**2`` of a model's parameters.

    ``l1 * l1_penalty(model) + l2 * l2_penalty(model)``, a term left out when its
    strength is 0: the sums run over every entry of every penalized parameter (see
    :data:`PENALIZE`), neither is halved or divided by the number of samples or
    parameters. With plain SGD, the L2 term's gradient ``2 * l2 * w`` equals
    ``weight_decay=2 * l2``; with Adam the two differ (that difference is what AdamW is
    about). Returns a differentiable scalar on the model's device (0 when nothing is
    penalized); add it to the loss.

    Examples
    --------
    >>> lin = nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, -2.0]])), lin.bias.fill_(3.0)
    >>> round(weight_penalty(lin, l1=0.1, l2=0.01).item(), 6)  # 0.1 * 3 + 0.01 * 5
    0.35
    >>> round(weight_penalty(lin, l1=0.1, l2=0.01, penalize="all").item(), 6)  # + 0.3 + 0.09
    0.74
    """
    params = penalized_parameters(model, penalize)
    if not params:
        return torch.zeros(())
    total = torch.zeros((), device=params[0].device, dtype=params[0].dtype)
    if l1 > 0:
        total = total + l1 * l1_penalty(model, penalize)
    if l2 > 0:
        total = total + l2 * l2_penalty(model, penalize)
    return total


# --- The training loop --------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What :func:`fit` measured, one entry per completed epoch.

    Attributes
    ----------
    train_loss : tuple of float
        Mean cross-entropy over the epoch's training batches, measured on each batch
        just before its update, in training mode (the L1/L2 penalty is not included,
        so runs with and without one compare).
    train_accuracy : tuple of float
        Share of the epoch's training samples that their batch's forward pass
        classified correctly (training mode, before the update).
    val_loss, val_accuracy : tuple of float
        Cross-entropy and accuracy on the validation loader at the end of the epoch,
        in evaluation mode; ``nan`` when :func:`fit` got no ``val_loader``.
    epochs_requested : int
        The ``epochs`` :func:`fit` was asked for.
    diverged_at_epoch : int or None
        The epoch (counting from 1) in which the loss became non-finite (``nan`` or
        ``inf``) and training stopped; ``None`` when it did not. That epoch is not in the
        lists above.
    message : str
        One sentence on how training ended.
    weights_finite : bool
        Whether every parameter of the model was finite when :func:`fit` returned.
    """

    train_loss: tuple[float, ...]
    train_accuracy: tuple[float, ...]
    val_loss: tuple[float, ...]
    val_accuracy: tuple[float, ...]
    epochs_requested: int
    diverged_at_epoch: int | None = None
    message: str = ""
    weights_finite: bool = True

    COLUMNS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")

    @classmethod
    def of_run(cls, model: nn.Module, *, epochs_requested: int, diverged_at_epoch: int | None,
               message: str | None, **columns: list[float]) -> History:
        """The History of a run that has ended, from its per-epoch ``columns``.

        Whether the weights are all finite is read from ``model``; the message, by
        default "trained N epochs", says so when they are not and the run did not stop
        on a non-finite loss. :func:`fit` and the stacked trainer of the studies end their
        runs with it.
        """
        with torch.no_grad():
            finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
        message = message or f"trained {epochs_requested} epochs"
        if not finite and diverged_at_epoch is None:
            message += "; some weights are not finite"
        return cls(**{c: tuple(columns[c]) for c in cls.COLUMNS},
                   epochs_requested=epochs_requested, diverged_at_epoch=diverged_at_epoch,
                   message=message, weights_finite=finite)

    @property
    def diverged(self) -> bool:
        """Whether training stopped early on a non-finite loss."""
        return self.diverged_at_epoch is not None

    @property
    def epochs(self) -> tuple[int, ...]:
        """The completed epochs, counting from 1."""
        return tuple(range(1, len(self.train_loss) + 1))

    def __len__(self) -> int:
        return len(self.train_loss)

    def to_dict(self) -> dict[str, list]:
        """The per-epoch columns as lists, with an ``epoch`` column first."""
        return {"epoch": list(self.epochs), **{c: list(getattr(self, c)) for c in self.COLUMNS}}

    def to_frame(self):
        """The per-epoch columns as a :class:`pandas.DataFrame` indexed by epoch."""
        import pandas as pd

        return pd.DataFrame(self.to_dict()).set_index("epoch")


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


class _Diverged(Exception):
    """Raised inside :func:`train_epoch` by :func:`fit`'s watch: a batch's loss is not finite."""

    def __init__(self, batch: int, value: float):
        super().__init__(batch, value)
        self.batch, self.value = batch, value


class _EpochWatch:
    """What :func:`fit` needs from one epoch of :func:`train_epoch`, handed to it as its
    loader and its penalty.

    ``batches()`` yields the loader's batches on the model's device; ``record``, a forward
    hook, keeps each batch's logits. ``penalty(model)``, which ``train_epoch`` calls after
    the forward pass and before ``backward``, returns the L1/L2 term (a zero without one)
    and first checks the batch's loss: a loss that is not finite raises ``_Diverged``, so
    the update that it would cause never happens. ``accuracy()`` is the share of the
    epoch's samples that their batch's forward pass classified correctly.
    """

    def __init__(self, model: nn.Module, loader: Iterable, l1: float, l2: float, penalize: str):
        self.loader = loader
        self.l1, self.l2, self.penalize = l1, l2, penalize
        self.device = _model_device(model)
        self.zero = torch.zeros((), device=self.device)
        self.batch = 0
        self.outputs: list[tuple[torch.Tensor, torch.Tensor]] = []  # (logits, labels)
        self.logits = self.labels = None

    def batches(self):
        for xb, yb in self.loader:
            if xb.device != self.device:
                xb, yb = xb.to(self.device), yb.to(self.device)
            self.batch += 1
            self.labels = yb
            yield xb, yb

    def record(self, module: nn.Module, args: tuple, logits: torch.Tensor) -> None:
        self.logits = logits

    def penalty(self, model: nn.Module) -> torch.Tensor:
        term = self.zero
        if self.l1 > 0 or self.l2 > 0:
            term = weight_penalty(model, self.l1, self.l2, penalize=self.penalize)
        value = (F.cross_entropy(self.logits, self.labels) + term).item()
        if not math.isfinite(value):
            raise _Diverged(self.batch, value)
        self.outputs.append((self.logits.detach(), self.labels))
        return term

    def accuracy(self) -> float:
        logits = torch.cat([lg for lg, _ in self.outputs])
        labels = torch.cat([y for _, y in self.outputs])
        return int((logits.argmax(dim=1) == labels).sum().item()) / len(labels)


def _check_training(model: object, optimizer: object) -> None:
    _validate.torch_module(model)
    _validate.instance(optimizer, torch.optim.Optimizer, "optimizer")
    own = {id(p) for p in model.parameters()}
    if any(id(p) not in own for group in optimizer.param_groups for p in group["params"]):
        raise ValueError(
            "the optimizer must be built over the parameters of the model it trains "
            "(make_optimizer(name, model.parameters(), lr)); it holds other parameters, "
            "so training would change nothing in this model"
        )


def _check_loader(loader: object, name: str, *, epochs: bool = False) -> None:
    if isinstance(loader, (str, bytes)) or not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of (inputs, labels) batches such as a "
                        f"DataLoader, got {_validate.describe(loader)}")
    if epochs and isinstance(loader, Iterator):  # (iter() would draw a shuffle)
        raise TypeError(f"{name} is an iterator ({type(loader).__name__}), which the first "
                        "epoch would use up; pass a DataLoader or a list of batches")


def _check_train_epoch(model: object, loader: object, optimizer: object, penalty: object) -> None:
    _check_training(model, optimizer)
    _check_loader(loader, "loader")
    if penalty is not None and not callable(penalty):
        raise TypeError(f"penalty must be None or a function of the model, such as l1_penalty, "
                        f"got {_validate.describe(penalty)}")


@_validate.checked(_check_train_epoch,
                   explain=lambda model, loader: _validate.batches(model, loader, "loader"))
def train_epoch(
    model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer, penalty=None
) -> float:
    """One epoch of training; returns the mean cross-entropy per training sample.

    For each batch: clear the gradients, forward pass, loss (plus ``penalty(model)``
    when one is given, Step 9), backward pass, update. The returned mean leaves the
    penalty out, so that runs with and without one compare.
    """
    model.train()
    loss_sum, n = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        (loss if penalty is None else loss + penalty(model)).backward()
        optimizer.step()
        loss_sum += loss.item() * len(yb)
        n += len(yb)
    return loss_sum / n


def _check_fit(model: object, train_loader: object, optimizer: object, epochs: object,
               val_loader: object, l1: object, l2: object, penalize: object) -> dict:
    _check_training(model, optimizer)
    _check_loader(train_loader, "train_loader", epochs=True)
    if val_loader is not None:
        _check_loader(val_loader, "val_loader", epochs=True)
    _validate.one_of(penalize, "penalize", PENALIZE)
    return {"epochs": _validate.epochs(epochs),
            "l1": _validate.non_negative(l1, "l1"), "l2": _validate.non_negative(l2, "l2")}


def _explain_fit(model: nn.Module, train_loader: object, val_loader: object) -> None:
    _validate.batches(model, train_loader, "train_loader")
    if val_loader is not None:
        _validate.batches(model, val_loader, "val_loader")


@_validate.checked(_check_fit, explain=_explain_fit)
def fit(
    model: nn.Module,
    train_loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_loader: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
    penalize: str = "weights",
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Each epoch is :func:`train_epoch`, the loop of Step 3: per batch
    ``optimizer.zero_grad()``, forward pass, cross-entropy (plus :func:`weight_penalty`
    when ``l1`` or ``l2`` is positive), ``loss.backward()``, ``optimizer.step()``; it
    ends with :func:`evaluate` on ``val_loader`` (in evaluation mode).

    **Divergence.** When the loss of a batch is ``nan`` or infinite, training stops
    before that batch's update: ``history.diverged`` is true,
    ``history.diverged_at_epoch`` names the epoch, ``history.message`` says what
    happened, and the model keeps the weights that produced the bad loss
    (``history.weights_finite`` says whether those are finite). No exception is raised,
    so that a study over learning rates can record the run and go on.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of shape (batch, n_features) to logits of shape (batch, n_classes).
        Updated in place.
    train_loader : iterable of (Tensor, Tensor)
        Yields ``(X, y)`` batches, for example :func:`labcode.torch_data.make_loaders`'s
        ``train``; iterated once per epoch. Batches are moved to the model's device.
    optimizer : torch.optim.Optimizer
        Built over ``model.parameters()``, for example by :func:`make_optimizer`.
    epochs : int
        Number of passes over the training data, at least 1.
    val_loader : iterable of (Tensor, Tensor), optional
        Evaluated after every epoch.
    l1, l2 : float, default 0.0
        Strengths of the L1 and L2 penalty (see :func:`weight_penalty`).
    penalize : {"weights", "all"}, default "weights"
        Which parameters the penalty includes.

    Returns
    -------
    History
        Per-epoch training loss and accuracy, validation loss and accuracy, and how
        training ended. The model is left in the mode (train or eval) it came in.

    Raises
    ------
    TypeError, ValueError
        For a bad argument, before any update.
    """
    was_training = model.training
    train_loss: list[float] = []
    train_acc: list[float] = []
    val_loss: list[float] = []
    val_acc: list[float] = []
    diverged_at = message = None
    try:
        for epoch in range(1, epochs + 1):
            watch = _EpochWatch(model, train_loader, l1, l2, penalize)
            hook = model.register_forward_hook(watch.record)
            try:
                train_loss.append(train_epoch(model, watch.batches(), optimizer, watch.penalty))
            except _Diverged as stop:
                diverged_at = epoch
                message = (f"stopped in epoch {epoch}, batch {stop.batch}: the loss was "
                           f"{stop.value}; the model keeps the weights that produced it")
                break
            finally:
                hook.remove()
            train_acc.append(watch.accuracy())
            scores = evaluate(model, val_loader) if val_loader is not None else {}
            val_loss.append(scores.get("loss", math.nan))
            val_acc.append(scores.get("accuracy", math.nan))
    finally:
        model.train(was_training)
    return History.of_run(model, train_loss=train_loss, train_accuracy=train_acc,
                          val_loss=val_loss, val_accuracy=val_acc, epochs_requested=epochs,
                          diverged_at_epoch=diverged_at, message=message)


def _check_evaluate(model: object, loader: object) -> None:
    _validate.torch_module(model)
    _check_loader(loader, "loader")


@_validate.checked(_check_evaluate,
                   explain=lambda model, loader: _validate.batches(model, loader, "loader"))
def evaluate(model: nn.Module, loader: Iterable) -> dict[str, float]:
    """Mean cross-entropy and accuracy of ``model`` over every sample of ``loader``.

    Evaluation mode (Dropout off, BatchNorm on its running statistics) and no graph;
    the loss is summed over the samples and divided once, so the batch size does not
    matter. Returns ``{"loss": float, "accuracy": float, "n": int}``; the model is left
    in evaluation mode.
    """
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            logits = model(xb)
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(dim=1) == yb).sum().item()
            n += len(yb)
    return {"loss": loss_sum / n, "accuracy": correct / n, "n": n}


def _check_predict(model: object, X: object, num_classes: object) -> dict:
    X = _validate.model_inputs(model, X)
    outputs = _validate.out_features(model)
    if num_classes is None and outputs is None:
        raise ValueError(f"predict cannot tell how many classes {type(model).__name__} "
                         "scores (it has no Linear layer); pass num_classes")
    if num_classes is not None:
        num_classes = _validate.width(num_classes, "num_classes")
        if outputs is not None and outputs != num_classes:
            raise ValueError(f"model must give {num_classes} logits per row of X, one per "
                             f"class, but its last Linear layer has {outputs} outputs")
    return {"X": X}


@_validate.checked(_check_predict, explain=lambda model, X: _validate.model_batch(
    model, torch.as_tensor(X, dtype=torch.float32, device=_model_device(model)), "X"))
def predict(model: nn.Module, X: object, *, num_classes: int | None = None) -> np.ndarray:
    """Predicted class of each row of ``X`` (n_samples, n_features): the largest logit.

    Evaluation mode, no graph; returns an int64 array of shape (n_samples,) and leaves
    the model in evaluation mode. The model must give one logit per class, as many as
    the ``out_features`` of its last Linear layer (and ``num_classes``, when given).
    """
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(X, dtype=torch.float32, device=_model_device(model)))
    return logits.argmax(dim=1).cpu().numpy()


def per_class_accuracy(
    y_true: object, y_pred: object, *, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Share of each class's samples that were predicted correctly (the recall of each class).

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n_samples,)
        True and predicted labels in ``0 .. num_classes - 1``.
    num_classes : int, default 10
        Number of classes.

    Returns
    -------
    ndarray of shape (num_classes,)
        float64; ``nan`` for a class with no samples in ``y_true``.
    """
    counts = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    sizes = counts.sum(axis=1)
    return np.where(sizes > 0, np.diag(counts) / np.maximum(sizes, 1), np.nan)


# --- Devices and threads ------------------------------------------------------------


# --- Experiments --------------------------------------------------------------------


