"""Exercise 2, Step 3: the PyTorch models, and the table that builds them by name.

:class:`SimpleMLP` is the handout's ``simpleMLP``: one hidden layer with a ReLU,
returning logits (the softmax lives in the loss, see
:func:`labcode.training.logsumexp_cross_entropy`).

:class:`ComplexMLP` is the handout's Step 10 model: two hidden blocks of Linear,
BatchNorm1d, ReLU and Dropout.

Models are looked up by name in :data:`MODELS`, so that
:class:`labcode.experiment.TrainConfig` can say ``model="simple"`` and
:func:`labcode.experiment.run_experiment` builds the module from that table. Every
entry is called as ``MODELS[name](in_features=..., hidden_size=..., num_classes=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from . import _validate


__all__ = [
    "SimpleMLP",
    "ComplexMLP",
    "COMPLEX_WIDTH_FACTORS",
    "complex_from_table",
    "complex_without",
    "MODELS",
    "BATCHNORM_MODELS",
    "build_model",
    "count_parameters",
]


def _check_simple(in_features: object, hidden_size: object, num_classes: object) -> dict:
    return {name: _validate.width(value, name) for name, value in
            (("in_features", in_features), ("hidden_size", hidden_size), ("num_classes", num_classes))}


def _check_complex(in_features: object, hidden_sizes: object, num_classes: object,
                   dropout: object) -> dict:
    return {
        "in_features": _validate.width(in_features, "in_features"),
        "hidden_sizes": _validate.sizes(hidden_sizes, "hidden_sizes", at_least=1,
                                        what="one hidden layer"),
        "num_classes": _validate.width(num_classes, "num_classes"),
        "dropout": _validate.real(dropout, "dropout", low=0.0, high=1.0, high_open=True),
    }


def _explain_batch(self: nn.Module, x: object) -> None:
    """When a model's forward pass failed: the clear error if the batch ``x`` is why."""
    _validate.model_batch(self, x)


class SimpleMLP(nn.Module):
    """A multilayer perceptron with one hidden layer: Linear, ReLU, Linear.

    This is the handout's ``simpleMLP``. For an input batch ``x`` of shape
    (batch_size, in_features) it computes ``fc2(relu(fc1(x)))``, the logits: one
    unnormalised score per class. There is no softmax at the end;
    ``torch.nn.functional.cross_entropy`` applies it inside the loss, in a numerically
    stable way. ``in_features`` (64: 8 x 8 pixels), ``hidden_size`` (32) and
    ``num_classes`` (10) are ints from 1 to ``MAX_WIDTH``; a batch that does not fit
    (an array, the wrong width or dtype) gets a ``TypeError`` or ``ValueError`` that
    says so.

    >>> model = SimpleMLP()
    >>> count_parameters(model), model(torch.zeros(5, 64)).shape
    (2410, torch.Size([5, 10]))
    """

    @_validate.checked(_check_simple)
    def __init__(self, in_features=64, hidden_size=32, num_classes=10):
        super().__init__()
        self.in_features, self.hidden_size, self.num_classes = in_features, hidden_size, num_classes
        self.fc1 = nn.Linear(in_features, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    @_validate.checked(explain=_explain_batch)
    def forward(self, x):
        """The logits of a batch ``x`` of shape (batch_size, in_features)."""
        return self.fc2(self.relu(self.fc1(x)))

    def extra_repr(self):
        """The sizes, shown when the model is printed."""
        return f"hidden_size={self.hidden_size}, parameters={count_parameters(self)}"


class ComplexMLP(nn.Module):
    """A deeper MLP: hidden blocks of Linear, BatchNorm1d, ReLU and Dropout, then a Linear.

    The handout's Step 10 model. Hidden block ``k`` computes
    ``dropout(relu(batchnorm(linear(h))))`` with ``hidden_sizes[k]`` units (at least
    one block); the last Linear maps to one logit per class. ``dropout`` is in [0, 1).
    The arguments are kept as attributes of the same names.

    The two modes differ. In training mode (``model.train()``) Dropout zeroes each
    hidden unit with probability ``dropout`` and scales the rest by
    ``1 / (1 - dropout)``, and BatchNorm normalises with the current batch's mean and
    variance (so it needs at least two samples) and updates its running estimates. In
    evaluation mode (``model.eval()``) Dropout passes everything through and BatchNorm
    uses the running estimates: a sample's output no longer depends on its batch.

    >>> model = ComplexMLP()
    >>> count_parameters(model), model.eval()(torch.zeros(5, 64)).shape
    (17610, torch.Size([5, 10]))
    """

    @_validate.checked(_check_complex)
    def __init__(self, in_features=64, hidden_sizes=(128, 64), num_classes=10, dropout=0.2):
        super().__init__()
        self.in_features, self.hidden_sizes = in_features, tuple(hidden_sizes)
        self.num_classes, self.dropout = num_classes, dropout
        widths = (in_features, *hidden_sizes)
        self.blocks = nn.Sequential(*(
            nn.Sequential(nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(dropout))
            for a, b in zip(widths, widths[1:])
        ))
        self.out = nn.Linear(widths[-1], num_classes)

    @_validate.checked(explain=_explain_batch)
    def forward(self, x):
        """The logits of a batch ``x`` of shape (batch_size, in_features)."""
        return self.out(self.blocks(x))

    def extra_repr(self):
        """The sizes, shown when the model is printed."""
        return (f"hidden_sizes={self.hidden_sizes}, dropout={self.dropout}, "
                f"parameters={count_parameters(self)}")


COMPLEX_WIDTH_FACTORS = (4, 2)
"""How the ``"complex"`` entry of :data:`MODELS` turns ``hidden_size`` into
``hidden_sizes``: ``(4 * hidden_size, 2 * hidden_size)``."""


def complex_from_table(
    *, in_features: int = 64, hidden_size: int = 32, num_classes: int = 10
) -> ComplexMLP:
    """The ``"complex"`` entry of :data:`MODELS`: a :class:`ComplexMLP` scaled by ``hidden_size``.

    The table calls every model with one ``hidden_size``; the Step 10 model has two
    hidden layers. This entry makes them ``4 * hidden_size`` and ``2 * hidden_size``
    units wide (:data:`COMPLEX_WIDTH_FACTORS`), so the Step 3 value, 32, gives the
    book's ``hidden_sizes=(128, 64)``, and a study over ``hidden_size`` widens both
    layers together. Dropout is the book's 0.2 (the handout leaves the sizes and the
    dropout probability to its notebook).

    Parameters
    ----------
    in_features, hidden_size, num_classes : int
        As for :class:`SimpleMLP`.

    Returns
    -------
    ComplexMLP
    """
    hidden_size = _validate.width(hidden_size, "hidden_size")
    return ComplexMLP(
        in_features=in_features,
        hidden_sizes=tuple(f * hidden_size for f in COMPLEX_WIDTH_FACTORS),
        num_classes=num_classes,
        dropout=0.2,
    )


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of scalar parameters of a model.

    Parameters
    ----------
    model : torch.nn.Module
        Any module.
    trainable_only : bool, default True
        Count only parameters with ``requires_grad`` (the ones an optimizer changes).

    Returns
    -------
    int
        For :class:`SimpleMLP`,
        ``(in_features + 1) * hidden_size + (hidden_size + 1) * num_classes``: each
        Linear layer has a weight matrix and one bias per output.
    """
    _validate.torch_module(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def complex_without(layer: str, **sizes: int) -> ComplexMLP:
    """The ``"complex"`` model with one kind of layer taken out of every block (Step 10's ablation).

    Parameters
    ----------
    layer : {"batchnorm", "dropout"}
        The layer replaced by ``nn.Identity`` in each hidden block.
    **sizes : int
        ``in_features``, ``hidden_size``, ``num_classes``, as for :func:`complex_from_table`.

    Returns
    -------
    ComplexMLP
        With the same initial weights as ``complex_from_table(**sizes)`` under the same
        seed: BatchNorm and Dropout draw no random numbers when they are built.
    """
    position = {"batchnorm": 1, "dropout": 3}[_validate.one_of(layer, "layer", ("batchnorm", "dropout"))]
    model = complex_from_table(**sizes)
    for block in model.blocks:
        block[position] = nn.Identity()
    return model


MODELS: dict[str, Callable[..., nn.Module]] = {
    "simple": SimpleMLP,
    "complex": complex_from_table,
    "complex_no_batchnorm": partial(complex_without, "batchnorm"),
    "complex_no_dropout": partial(complex_without, "dropout"),
}
"""The models :class:`labcode.experiment.TrainConfig` can name, keyed by name.

Each value is called with the keyword arguments ``in_features``, ``hidden_size`` and
``num_classes`` and returns a fresh :class:`torch.nn.Module` that maps a batch of shape
(batch_size, in_features) to logits of shape (batch_size, num_classes).

``"simple"`` is :class:`SimpleMLP` with ``hidden_size`` hidden units. ``"complex"`` is
:class:`ComplexMLP` with two hidden blocks of ``4 * hidden_size`` and
``2 * hidden_size`` units and dropout 0.2 (:func:`complex_from_table`): the default
``hidden_size=32`` gives the book's ``(128, 64)``. ``"complex_no_batchnorm"`` and
``"complex_no_dropout"`` are that model without its BatchNorm or its Dropout layers
(:func:`complex_without`), for the Step 10 study of which part helps.
"""

BATCHNORM_MODELS: frozenset[str] = frozenset({"complex", "complex_no_dropout"})
"""The entries of :data:`MODELS` with BatchNorm, which need batches of at least two
samples in training mode (``tests/test_models.py`` checks the set against the models)."""


def build_model(
    name: str, *, in_features: int = 64, hidden_size: int = 32, num_classes: int = 10
) -> nn.Module:
    """Build a fresh model from :data:`MODELS` by name.

    The weights are drawn from torch's global random generator; seed it (or use
    :func:`labcode.experiment.run_experiment`, which does) for reproducible weights.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    in_features, hidden_size, num_classes : int
        Passed to the model's constructor.

    Returns
    -------
    torch.nn.Module
        The new model, in training mode, on the CPU.

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`MODELS` (the message lists the valid names).
    """
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names are {sorted(MODELS)}")
    return MODELS[name](in_features=in_features, hidden_size=hidden_size, num_classes=num_classes)
