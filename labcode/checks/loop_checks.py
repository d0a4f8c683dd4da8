"""The checkers of the loops a student writes: one training epoch, evaluate, predict, a sweep.

Each runs the student's function and labcode's reference on identical, seeded inputs
(the same model weights, the same batches in the same order) and compares what they
leave behind. When the two differ, the checker replays the usual mistakes (no
``zero_grad``, ``step`` before ``backward``, no ``model.train()``, no shuffling, a mean
of batch means, an ``argmax`` over the wrong dimension, ...) and names the one that
reproduces the student's result. A correct loop written differently passes: only what
it computes is compared, never how.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from .framework import Verdict, _checker_docstring, _describe, _Run, _run
from .torch_checks import TORCH_ATOL, TORCH_RTOL

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["check_train_epoch", "check_evaluate", "check_predict", "check_compare_values"]


# --- What the checkers run on --------------------------------------------------------------


def _data(n: int = 10, seed: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples of 5 features and labels in 0 .. 2, every class present."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g), torch.arange(n) % 3


def _batchnorm_model() -> nn.Module:
    """A small model whose output depends on the mode: BatchNorm, with random running statistics.

    Deterministic in both modes (no Dropout), so a missing ``model.train()`` or
    ``model.eval()`` shows as a different result, not as noise.
    """
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        model[1].running_mean.copy_(torch.randn(6))
        model[1].running_var.copy_(torch.rand(6) + 0.5)
    return model


def _loader(X, y, batch_size: int, *, shuffle: bool, seed: int = 5):
    from torch.utils.data import DataLoader, TensorDataset

    import torch

    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle,
                      generator=generator)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    import torch

    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=TORCH_RTOL, atol=TORCH_ATOL))


def _same_parameters(a: nn.Module, b: nn.Module) -> bool:
    return all(_close(p.detach(), q.detach()) for p, q in zip(a.parameters(), b.parameters()))


def _largest_difference(a: nn.Module, b: nn.Module) -> float:
    return max(float((p.detach() - q.detach()).abs().max())
               for p, q in zip(a.parameters(), b.parameters()))


def _parameters_differ(run: _Run, where: str, when: str, student: nn.Module,
                       reference: nn.Module, hint: str | None) -> None:
    """Fail: the student's parameters are not those labcode's train_epoch leaves ``when``."""
    run.fail(where, f"the parameters labcode's train_epoch leaves {when}",
             f"parameters that differ by up to {_largest_difference(student, reference):.3g}",
             hint)


def _number(run: _Run, value: object, case: str, what: str, hint_graph: str) -> float:
    """A returned number: a float, an int, or a tensor of one value without a graph."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            run.fail(case, f"{what} as a Python number", "a tensor that still holds its graph "
                     "(requires_grad=True)", hint_graph)
        if value.numel() != 1:
            run.fail(case, f"{what} as one number", _describe(value), None)
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        run.fail(case, f"{what} as a Python number", _describe(value), None)
    return float(value)


def _near(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7)


# --- Step 3: one training epoch ------------------------------------------------------------


def _epoch_variant(model, loader, optimizer, mistake: str | None, penalty=None) -> list[tuple]:
    """One epoch as the reference runs it, or with one classic mistake; returns
    ``(batch mean loss, batch size)`` per batch."""
    import torch.nn.functional as F

    if mistake != "no_train":
        model.train()
    batches = []
    for xb, yb in loader:
        if mistake not in ("no_zero_grad",):
            optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        objective = loss if penalty is None else loss + penalty(model)
        if mistake == "step_first":
            optimizer.step()
            objective.backward()
        else:
            objective.backward()
            optimizer.step()
        batches.append((loss.item(), len(yb), objective.item()))
    return batches


_EPOCH_MISTAKES = {
    "no_zero_grad": (
        "the gradients were never cleared: call optimizer.zero_grad() at the start of every "
        "batch, otherwise loss.backward() adds each batch's gradient to those of all the "
        "batches before it."
    ),
    "step_first": (
        "optimizer.step() ran before loss.backward(): the update used the previous batch's "
        "gradients. The order is zero_grad, forward, loss, backward, step."
    ),
    "no_train": (
        "the model stayed in evaluation mode: call model.train() at the start of the epoch. "
        "After an evaluation the model is in eval mode, where Dropout is off and BatchNorm "
        "uses its running statistics instead of the batch's."
    ),
    "no_shuffle": (
        "the batches came in the dataset's order, not shuffled: iterate over the loader you are "
        "given (for xb, yb in loader), which draws a new order every epoch."
    ),
}


def _epoch_inputs():
    import torch

    X, y = _data()
    model = _batchnorm_model()
    return X, y, model, lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)


@_checker_docstring("train_epoch")
def check_train_epoch(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``train_epoch(model, loader, optimizer, penalty=None)``: one epoch, its mean loss.

    Runs two epochs of it on a small model with BatchNorm (put in evaluation mode before
    each, as after an evaluation), over 10 shuffled samples in batches of 4, 4 and 2,
    with SGD and momentum; then one epoch with a penalty. Compares the parameters and the
    returned mean cross-entropy per sample with
    :func:`labcode.training.train_epoch` on identical batches, and names the mistake that
    reproduces a wrong result: no ``zero_grad``, ``step`` before ``backward``, no
    ``model.train()``, no shuffling, a mean of batch means, a loss kept as a tensor with
    its graph, a penalty left out of the loss or counted in the returned mean.
    """
    return _run("train_epoch", func, _train_epoch_body, verbose=verbose, torch_rng=True)


def _train_epoch_body(run: _Run, func: Callable) -> None:
    import torch

    from ..training import train_epoch

    X, y, model, make_opt = _epoch_inputs()
    case = ("a model with BatchNorm put in eval mode, 10 shuffled samples in batches of 4, 4 "
            "and 2, SGD with momentum (lr=0.1)")
    graph_hint = ("add loss.item() (a Python number) to the running sum, not the loss tensor: "
                  "a tensor keeps the graph of every batch alive.")
    student, reference = copy.deepcopy(model), copy.deepcopy(model)
    opt_s, opt_r = make_opt(student), make_opt(reference)
    loader_s, loader_r = _loader(X, y, 4, shuffle=True), _loader(X, y, 4, shuffle=True)
    for epoch in (1, 2):
        where = f"{case}; epoch {epoch}"
        student.eval()
        reference.eval()
        out = run.call(func, student, loader_s, opt_s, case=where,
                       expr="train_epoch(model, loader, optimizer)")
        want = train_epoch(reference, loader_r, opt_r)
        if not _same_parameters(student, reference):
            _parameters_differ(run, where, "after this epoch", student, reference,
                               _epoch_diagnosis(model, X, y, make_opt, epoch, student))
        run.ok()
        got = _number(run, out, where, "the epoch's mean loss", graph_hint)
        if not _near(got, want):
            run.fail(where, f"the mean cross-entropy per sample, {want:.6g}", f"{got:.6g}",
                     _mean_diagnosis(got, model, X, y, make_opt, epoch))
        run.ok()
    # Step 9: a penalty joins the loss that is minimised, not the loss that is reported
    where = f"{case}; with penalty=lambda m: 0.5 * (m[0].weight ** 2).sum()"

    def penalty(m):
        return 0.5 * (m[0].weight ** 2).sum()

    student, reference = copy.deepcopy(model), copy.deepcopy(model)
    opt_s, opt_r = make_opt(student), make_opt(reference)
    out = run.call(func, student, _loader(X, y, 4, shuffle=True), opt_s, penalty, case=where,
                   expr="train_epoch(model, loader, optimizer, penalty)")
    want = train_epoch(reference, _loader(X, y, 4, shuffle=True), opt_r, penalty)
    if not _same_parameters(student, reference):
        plain = copy.deepcopy(model)
        train_epoch(plain, _loader(X, y, 4, shuffle=True), make_opt(plain))
        hint = ("the penalty was left out: add penalty(model) to each batch's loss before "
                "backward(), when a penalty is given." if _same_parameters(student, plain)
                else "backward() runs on the batch's loss plus penalty(model).")
        _parameters_differ(run, where, "with the penalty", student, reference, hint)
    run.ok()
    got = _number(run, out, where, "the epoch's mean loss", graph_hint)
    if not _near(got, want):
        m = copy.deepcopy(model)
        with_penalty = _epoch_variant(m, _loader(X, y, 4, shuffle=True), make_opt(m), None, penalty)
        hint = None
        if _near(got, sum(o * n for _, n, o in with_penalty) / len(y)):
            hint = ("return the mean cross-entropy without the penalty, so that runs with and "
                    "without one compare: add loss.item(), not (loss + penalty).item().")
        run.fail(where, f"the mean cross-entropy per sample, without the penalty, {want:.6g}",
                 f"{got:.6g}", hint)
    run.ok()
    if not torch.equal(X, _data()[0]):
        run.fail(case, "the data left as they were", "data changed by your code", None)


def _replay(model, X, y, make_opt, epochs: int, mistake: str | None) -> tuple:
    """The model and the batches after ``epochs`` epochs of a variant, from the same start."""
    m = copy.deepcopy(model)
    opt = make_opt(m)
    loader = _loader(X, y, 4, shuffle=mistake != "no_shuffle")
    batches = []
    for _ in range(epochs):
        m.eval()
        batches = _epoch_variant(m, loader, opt, mistake)
    return m, batches


def _epoch_diagnosis(model, X, y, make_opt, epochs: int, student) -> str:
    for mistake, hint in _EPOCH_MISTAKES.items():
        if _same_parameters(student, _replay(model, X, y, make_opt, epochs, mistake)[0]):
            return hint
    return ("for each batch of the loader: optimizer.zero_grad(), logits = model(xb), "
            "loss = F.cross_entropy(logits, yb), loss.backward(), optimizer.step(); "
            "model.train() once, before the first batch.")


def _mean_diagnosis(got: float, model, X, y, make_opt, epochs: int) -> str | None:
    batches = _replay(model, X, y, make_opt, epochs, None)[1]
    losses = [loss for loss, _, _ in batches]
    if _near(got, sum(losses) / len(losses)):
        return ("that is the mean of the batch means, which weighs the last, smaller batch as "
                "much as the full ones: add loss.item() * len(yb) per batch and divide once by "
                "the number of samples.")
    if _near(got, sum(loss * n for loss, n, _ in batches)) or _near(got, sum(losses)):
        return "divide the sum by the number of samples seen in the epoch."
    if _near(got, losses[-1]):
        return "that is the last batch's loss: return the mean over the whole epoch."
    return None


# --- Step 4: evaluate and predict -----------------------------------------------------------


class _Probe:
    """Records, at every forward pass of a model, its mode and whether autograd is on."""

    def __init__(self, model: nn.Module):
        import torch

        self.calls: list[tuple[bool, bool]] = []
        model.register_forward_pre_hook(
            lambda m, args: self.calls.append((m.training, torch.is_grad_enabled())))


_MODE_HINT = ("call model.eval() first: in training mode BatchNorm normalises with each batch's "
              "own statistics (and Dropout is on), so the score depends on the batch.")
_GRAD_HINT = ("wrap the loop in with torch.no_grad(): evaluating needs no gradients, and without "
              "it every batch builds a graph for nothing.")


def _probed(run: _Run, probe: _Probe, case: str) -> None:
    if not probe.calls:
        run.fail(case, "at least one forward pass of the model", "no forward pass",
                 "call model(xb) on the batches.")
    if any(training for training, _ in probe.calls):
        run.fail(case, "every forward pass in evaluation mode", "a forward pass in training mode",
                 _MODE_HINT)
    run.ok()
    if any(grad for _, grad in probe.calls):
        run.fail(case, "every forward pass under torch.no_grad()",
                 "a forward pass with gradients enabled", _GRAD_HINT)
    run.ok()


def _scores_by_hand(model, loader) -> dict[str, float]:
    """Per-sample means, means of batch means, and the accuracy with argmax over dim 0."""
    import torch
    import torch.nn.functional as F

    model.eval()
    rows = []
    with torch.no_grad():
        for xb, yb in loader:
            logits = model(xb)
            rows.append((F.cross_entropy(logits, yb, reduction="sum").item(),
                         (logits.argmax(dim=1) == yb).sum().item(),
                         (logits.argmax(dim=0) == yb).sum().item(), len(yb)))
    n = sum(r[3] for r in rows)
    return {
        "loss": sum(r[0] for r in rows) / n,
        "accuracy": sum(r[1] for r in rows) / n,
        "loss_of_means": sum(r[0] / r[3] for r in rows) / len(rows),
        "accuracy_of_means": sum(r[1] / r[3] for r in rows) / len(rows),
        "accuracy_dim0": sum(r[2] for r in rows) / n,
    }


@_checker_docstring("evaluate")
def check_evaluate(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``evaluate(model, loader)``: mean cross-entropy and accuracy per sample.

    Runs it on a small model with BatchNorm left in training mode, over 10 samples in
    batches of 3, 3, 3 and 1, and over one batch of 3; records at each forward pass the
    model's mode and whether autograd was on. Compares ``"loss"`` and ``"accuracy"`` of
    the returned dict with :func:`labcode.training.evaluate`, and names the mistake that
    reproduces a wrong result: no ``model.eval()``, no ``torch.no_grad()``, a mean of
    batch means, an ``argmax`` over the wrong dimension.
    """
    return _run("evaluate", func, _evaluate_body, verbose=verbose, torch_rng=True)


def _evaluate_body(run: _Run, func: Callable) -> None:
    X, y = _data()
    for n, case in [(3, "one batch of 3 samples"),
                    (10, "10 samples in batches of 3, 3, 3 and 1")]:
        case = f"a model with BatchNorm, left in training mode; {case}"
        model = _batchnorm_model()
        reference = copy.deepcopy(model)
        probe = _Probe(model)
        model.train()
        out = run.call(func, model, _loader(X[:n], y[:n], 3, shuffle=False), case=case,
                       expr="evaluate(model, loader)")
        _probed(run, probe, case)
        want = _scores_by_hand(reference, _loader(X[:n], y[:n], 3, shuffle=False))
        if not isinstance(out, dict) or not {"loss", "accuracy"} <= set(out):
            run.fail(case, 'a dict with the keys "loss" and "accuracy"', _describe(out),
                     'return {"loss": loss_sum / n, "accuracy": correct / n}.')
        run.ok()
        loss = _number(run, out["loss"], case, "the loss", _GRAD_HINT)
        accuracy = _number(run, out["accuracy"], case, "the accuracy", _GRAD_HINT)
        if not _near(accuracy, want["accuracy"]):
            if _near(accuracy, want["accuracy_of_means"]):  # never the case for one batch
                hint = ("that is the mean of the batch accuracies, which weighs the last batch of "
                        "1 as much as the full ones: count the correct predictions over all "
                        "batches and divide once by the number of samples.")
            elif _near(accuracy, want["accuracy_dim0"]):
                hint = ("take the argmax over the classes, logits.argmax(dim=1): each row of the "
                        "logits is one sample, each column one class.")
            else:
                hint = "count (logits.argmax(dim=1) == yb).sum() over the batches, divide by n."
            run.fail(case, f"accuracy {want['accuracy']:.6g}", f"{accuracy:.6g}", hint)
        run.ok()
        if not _near(loss, want["loss"]):
            hint = None
            if _near(loss, want["loss_of_means"]):
                hint = ("that is the mean of the batch means, which weighs the last batch of 1 as "
                        "much as the full ones: add F.cross_entropy(logits, yb, reduction='sum') "
                        "over the batches and divide once by the number of samples.")
            run.fail(case, f"loss {want['loss']:.6g}, the mean cross-entropy per sample",
                     f"{loss:.6g}", hint)
        run.ok()


@_checker_docstring("predict")
def check_predict(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``predict(model, X)``: the class with the largest logit, for each row of ``X``.

    Runs it on a small model with BatchNorm left in training mode, with float64 NumPy
    features of 7 rows and of 3 rows (as many as classes); records at each forward pass
    the model's mode and whether autograd was on. Expects an integer NumPy array equal to
    :func:`labcode.training.predict`'s, and names the mistake behind a wrong one: no
    ``model.eval()``, no ``torch.no_grad()``, an ``argmax`` over the wrong dimension, a
    tensor instead of an array.
    """
    return _run("predict", func, _predict_body, verbose=verbose, torch_rng=True)


def _predict_body(run: _Run, func: Callable) -> None:
    import numpy as np
    import torch

    X, _ = _data()
    for n in (7, 3):
        case = (f"a model with BatchNorm, left in training mode; X, a float64 NumPy array of "
                f"shape ({n}, 5)")
        features = X[:n].double().numpy()
        model = _batchnorm_model()
        reference = copy.deepcopy(model).eval()
        probe = _Probe(model)
        model.train()
        out = run.call(func, model, features.copy(), case=case, expr="predict(model, X)")
        _probed(run, probe, case)
        with torch.no_grad():
            logits = reference(torch.as_tensor(features, dtype=torch.float32))
        want = logits.argmax(dim=1).numpy()
        if isinstance(out, torch.Tensor):
            run.fail(case, "a NumPy array of class indices", _describe(out),
                     "return logits.argmax(dim=1).numpy(): the rest of the chapter works with "
                     "NumPy arrays.")
        if not isinstance(out, np.ndarray) or not np.issubdtype(out.dtype, np.integer):
            run.fail(case, f"an integer NumPy array of shape ({n},)", _describe(out), None)
        if out.shape != want.shape or not np.array_equal(out, want):
            dim0 = logits.argmax(dim=0).numpy()
            hint = ("take the argmax over the classes, logits.argmax(dim=1): each row of the "
                    "logits is one sample." if out.shape == dim0.shape and np.array_equal(out, dim0)
                    else "the prediction of each row is the index of its largest logit.")
            run.fail(case, f"the classes {want.tolist()}", f"{out.tolist()}", hint)
        run.ok()


# --- Steps 6 to 8: the student's sweep -------------------------------------------------------


@_checker_docstring("compare_values")
def check_compare_values(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``compare_values(split, param, values, base)``: one run per value, its final validation accuracy.

    Runs it on the digits split with ``base = TrainConfig(epochs=2)``, for the learning
    rates ``[1e-1, 1e-3]`` and for the hidden sizes ``[8, 16, 4]``, and compares the list
    with :func:`labcode.experiment.compare_values`. A wrong list is matched against the
    usual mistakes: test or training accuracy instead of validation accuracy, the best
    epoch instead of the last, the value never set, ``base`` ignored.
    """
    return _run("compare_values", func, _compare_values_body, verbose=verbose, torch_rng=True)


def _compare_values_body(run: _Run, func: Callable) -> None:
    import numpy as np

    from ..data import load_digits_split
    from ..experiment import TrainConfig, run_experiment

    split = load_digits_split(seed=0)
    base = TrainConfig(epochs=2)
    for param, values in [("lr", [1e-1, 1e-3]), ("hidden_size", [8, 16, 4])]:
        case = f"param={param!r}, values={values}, base=TrainConfig(epochs=2)"
        out = run.call(func, split, param, list(values), base, case=case,
                       expr=f"compare_values(split, {param!r}, {values}, base)")
        if isinstance(out, dict) or not isinstance(out, (list, tuple, np.ndarray)):
            run.fail(case, f"a list of {len(values)} accuracies, in the order of the values",
                     _describe(out), "append one number per value to a list and return it.")
        run.ok()
        if len(out) != len(values):
            run.fail(case, f"{len(values)} accuracies, one per value", f"{len(out)}", None)
        got = [_number(run, v, case, "each accuracy", None) for v in out]
        run.ok()
        results = [run_experiment(base.replace(**{param: v}), split) for v in values]
        want = [r.val_accuracy for r in results]
        if not np.allclose(got, want, rtol=0, atol=1e-9):
            options = [
                ([r.test_accuracy for r in results], "that is the test accuracy: compare settings "
                 "on the validation set, and keep the test set for the one configuration chosen "
                 "at the end."),
                ([r.history.train_accuracy[-1] for r in results], "that is the training accuracy: "
                 "compare the validation accuracy, which measures images the model did not "
                 "train on."),
                ([max(r.history.val_accuracy) for r in results], "that is the best epoch's "
                 "accuracy: keep the accuracy after the last epoch, result.val_accuracy; picking "
                 "the best epoch afterwards looks at the validation set once per epoch."),
                ([run_experiment(base, split).val_accuracy] * len(values), "every run used the "
                 "same settings: set the value in each run's config, base.replace(**{param: "
                 "value})."),
            ]
            hint = next((h for v, h in options if np.allclose(got, v, rtol=0, atol=1e-9)), None)
            fresh = [run_experiment(TrainConfig(**{param: v}), split).val_accuracy for v in values]
            if hint is None and np.allclose(got, fresh, rtol=0, atol=1e-9):
                hint = ("start every config from base (base.replace(...)), not from a new "
                        "TrainConfig(): base holds the other settings.")
            run.fail(case, f"the final validation accuracies {[round(w, 4) for w in want]}",
                     f"{[round(g, 4) for g in got]}", hint)
        run.ok()
