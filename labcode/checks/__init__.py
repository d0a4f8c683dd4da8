"""Checkers for the pieces a student writes: is my ``fc_backward`` right?

Each exercise of the book asks for one piece (a function or a class) and has a
checker of the same name with ``check_`` in front. A checker runs the student's piece
on inputs it picks itself (small seeded random arrays and edge cases: one sample, a
label of 0 and of ``num_classes - 1``, large ``|z|`` for the sigmoid, ...), compares
the results with labcode's own implementation (and, for gradients, with finite
differences, :mod:`labcode.gradcheck`), prints a short verdict and returns it as a
:class:`~labcode.checks.framework.Verdict`.

In a notebook, after filling in a starter cell::

    fc_forward = check_fc_forward(fc_forward).use()

prints ``✓ fc_forward: passed (12 checks)`` and keeps the student's function, or says
what went wrong (the input, what was expected, what came back, and a hint for the
usual mistake) and hands back labcode's reference instead, so that the rest of the
notebook runs either way. A starter that still raises ``NotImplementedError`` gives
the status ``"not implemented"``; any other exception in the student's code gives
``"error"``, with the student's own line. :func:`~labcode.checks.framework.check_all`
lists every checker run so far and its status.

==========================  ============================================================
checker                     the piece it checks (labcode's reference)
==========================  ============================================================
check_add_bias              ``add_bias(X)`` (:func:`labcode.data.add_bias`)
check_one_hot               ``one_hot(y, num_classes=10)`` (:func:`labcode.data.one_hot`)
check_split_data            ``split_data(X, y, val_size, test_size, seed)``, stratified
check_fc_forward            ``fc_forward(X, W) -> (Z, cache)``
check_fc_backward           ``fc_backward(dZ, cache) -> (dX, dW)``
check_sigmoid_forward       ``sigmoid_forward(Z) -> (A, cache)``
check_sigmoid_backward      ``sigmoid_backward(dA, cache) -> dZ``
check_mse_loss              ``mse_loss(A, Y) -> (loss, dA)``
check_gradient_step         ``gradient_step(params, grads, lr) -> new params``
check_forward_pass          ``forward_pass(X, params) -> (A, caches)``, the blocks stacked
check_backward_pass         ``backward_pass(dA, caches) -> grads``, last layer first
check_train_network         ``train_network(params, X, Y, lr, iterations) -> (params, losses)``
check_accuracy              ``accuracy(A, y) -> share of rows whose argmax is the label``
check_plot_first_image      ``plot_first_image(X, y) -> Axes`` of the 8 x 8 picture of ``X[0]``
check_plot_sweep            ``plot_sweep(values, accuracies, param) -> Axes`` (Steps 6 to 8)
check_lr_sweep              Step 6 as run: ``check_lr_sweep(values, accuracies, ax)``
check_hidden_size_sweep     Step 7 as run: the handout's hidden sizes, accuracies, plot
check_optimizer_sweep       Step 8 as run: the notebook's optimizers, accuracies, bars
check_dataset               ``class DigitsDataset(Dataset)``
check_make_loader           ``make_loader(dataset, batch_size, shuffle, generator) -> DataLoader``
check_simple_mlp            ``class SimpleMLP(nn.Module)``
check_l1_penalty            ``l1_penalty(model)``, :func:`labcode.training.l1_penalty`
check_l2_penalty            ``l2_penalty(model)``, :func:`labcode.training.l2_penalty`
check_complex_mlp           ``class ComplexMLP(nn.Module)``
check_train_epoch           ``train_epoch(model, loader, optimizer, penalty=None)``
check_evaluate              ``evaluate(model, loader) -> {"loss", "accuracy"}``
check_predict               ``predict(model, X) -> class indices``
check_compare_values        ``compare_values(split, param, values, base) -> accuracies``
==========================  ============================================================

The NumPy pieces' references are in :mod:`labcode.numpy_net` and :mod:`labcode.data`;
the PyTorch ones in :mod:`labcode.torch_data`, :mod:`labcode.models`,
:mod:`labcode.training` and :mod:`labcode.experiment`. Importing this module does not import PyTorch: a PyTorch
checker imports it when it runs. PyTorch checkers fork torch's random generator, so
running one leaves the notebook's random state as it was.

Every name above is imported from here; the code is in four modules:
:mod:`labcode.checks.framework` (:class:`~labcode.checks.framework.Verdict`,
:class:`~labcode.checks.framework.Summary`, :func:`~labcode.checks.framework.check_all`
and the machinery every checker shares), :mod:`labcode.checks.numpy_checks` (the NumPy
pieces), :mod:`labcode.checks.torch_checks` (the PyTorch pieces) and
:mod:`labcode.checks.loop_checks` (the loops: one epoch, evaluate, predict, a sweep).
"""

from __future__ import annotations

from .framework import STATUSES, Summary, Verdict, check_all
from .numpy_checks import (
    REFERENCE_TOLERANCE,
    check_add_bias,
    check_fc_backward,
    check_fc_forward,
    check_gradient_step,
    check_forward_pass,
    check_backward_pass,
    check_train_network,
    check_accuracy,
    check_plot_first_image,
    check_plot_sweep,
    check_lr_sweep,
    check_hidden_size_sweep,
    check_optimizer_sweep,
    check_mse_loss,
    check_one_hot,
    check_sigmoid_backward,
    check_split_data,
    check_sigmoid_forward,
)
from .torch_checks import (
    TORCH_ATOL,
    TORCH_RTOL,
    check_complex_mlp,
    check_dataset,
    check_make_loader,
    check_l1_penalty,
    check_l2_penalty,
    check_simple_mlp,
)
from .loop_checks import check_compare_values, check_evaluate, check_predict, check_train_epoch

__all__ = [
    "STATUSES",
    "Verdict",
    "Summary",
    "check_all",
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
    "check_dataset",
    "check_make_loader",
    "check_simple_mlp",
    "check_l1_penalty",
    "check_l2_penalty",
    "check_complex_mlp",
    "check_train_epoch",
    "check_evaluate",
    "check_predict",
    "check_compare_values",
]
