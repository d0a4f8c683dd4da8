"""The checkers of the PyTorch pieces: the dataset, the two models and the penalties.

Importing this module does not import PyTorch: each checker imports it when it runs,
and runs on one thread with torch's random generator forked and seeded, so that it
leaves the caller's random state as it was. Results are compared with labcode's own
(:mod:`labcode.torch_data`, :mod:`labcode.models`, :mod:`labcode.training`) to
``TORCH_RTOL`` and ``TORCH_ATOL``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .framework import Verdict, _checker_docstring, _describe, _pair, _Run, _run, _unchanged

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "check_dataset",
    "check_make_loader",
    "check_simple_mlp",
    "check_l1_penalty",
    "check_l2_penalty",
    "check_complex_mlp",
]

TORCH_RTOL, TORCH_ATOL = 1e-5, 1e-6
"""Tolerances for float32 results of the PyTorch pieces (another order of summation)."""


# --- Exercise 2: PyTorch ----------------------------------------------------------------------


@_checker_docstring("DigitsDataset")
def check_dataset(cls: type, *, verbose: bool = True) -> Verdict:
    """Check ``class DigitsDataset(Dataset)``: ``(X, y)`` in, ``(float32 x, int64 label)`` out.

    Builds ``cls(X, y)`` from a float64 (6, 4) matrix and int64 labels including 0 and
    9; checks that it subclasses :class:`torch.utils.data.Dataset`, ``len``, the first
    and the last sample (a float32 tensor of shape (4,) with ``X``'s values, and an
    int64 label), one batch of a ``DataLoader`` (``(4, 4)`` float32, ``(4,)`` int64),
    and that ``X`` and ``y`` are left unchanged. Reference:
    :class:`labcode.torch_data.DigitsDataset`.
    """
    return _run("DigitsDataset", cls, _dataset_body, verbose=verbose, kind="class",
                torch_rng=True)


def _dataset_body(run: _Run, cls: type) -> None:
    import torch
    from torch.utils.data import DataLoader, Dataset

    case = "X of shape (6, 4), float64, and y = [0, 3, 9, 1, 5, 9], int64"
    if not issubclass(cls, Dataset):
        run.fail(case, "a subclass of torch.utils.data.Dataset", f"a class with bases "
                 f"{[b.__name__ for b in cls.__bases__]}",
                 "declare it as class DigitsDataset(Dataset), with "
                 "from torch.utils.data import Dataset.")
    run.ok()
    rng = np.random.default_rng(6)
    X = rng.uniform(size=(6, 4))
    y = np.array([0, 3, 9, 1, 5, 9], dtype=np.int64)
    X0, y0 = X.copy(), y.copy()
    ds = run.call(cls, X, y, case=case, expr="DigitsDataset(X, y)")
    n = run.call(len, ds, case=case, expr="len(dataset)")
    if n != 6:
        run.fail(case, "len(dataset) = 6, the number of samples", f"{n!r}",
                 "__len__ returns the number of samples, len(self.y).")
    run.ok()
    for i in (0, 5):
        item = run.call(lambda i=i: ds[i], case=case, expr=f"dataset[{i}]")
        x, label = _pair(run, item, ("features", "label"), f"{case}; dataset[{i}]",
                         "__getitem__ returns one sample as a pair: return self.X[i], self.y[i].")
        where = f"{case}; dataset[{i}]"
        if not isinstance(x, torch.Tensor):
            run.fail(where, "features as a torch tensor", _describe(x),
                     "convert the features to a tensor once, in __init__: "
                     "torch.as_tensor(X, dtype=torch.float32).")
        if x.dtype != torch.float32:
            hint = ("float64 instead of float32: nn.Linear's weights are float32; store "
                    "torch.as_tensor(X, dtype=torch.float32)." if x.dtype == torch.float64 else
                    "store the features as torch.as_tensor(X, dtype=torch.float32).")
            run.fail(where, "features of dtype torch.float32", f"dtype {x.dtype}", hint)
        if tuple(x.shape) != (4,):
            run.fail(where, "features of shape (4,), one row of X", f"shape {tuple(x.shape)}",
                     "dataset[i] returns row i of X.")
        if not torch.equal(x.cpu(), torch.as_tensor(X0[i], dtype=torch.float32)):
            run.fail(where, f"row {i} of X", f"{x.tolist()}", "dataset[i] returns row i of X.")
        run.ok()
        if isinstance(label, torch.Tensor):
            if label.dtype != torch.int64:
                run.fail(where, "a label of dtype torch.int64", f"dtype {label.dtype}",
                         "cross_entropy needs int64 class indices: "
                         "torch.as_tensor(y, dtype=torch.int64).")
            if label.ndim != 0:
                run.fail(where, "a single label (a tensor of shape ())",
                         f"a tensor of shape {tuple(label.shape)}",
                         "store y as a 1-D tensor, so that self.y[i] is one label.")
            value = int(label)
        elif isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
            value = int(label)
        else:
            run.fail(where, "an int64 label", _describe(label),
                     "store y as torch.as_tensor(y, dtype=torch.int64).")
        if value != y0[i]:
            run.fail(where, f"label {y0[i]}", f"label {value}", "dataset[i] returns y[i].")
        run.ok()
    # a list of indices gives a whole batch at once, as the chapter uses it
    where = f"{case}; dataset[[1, 4]]"
    item = run.call(lambda: ds[[1, 4]], case=case, expr="dataset[[1, 4]]")
    xs, labels = _pair(run, item, ("features", "labels"), where,
                       "index the tensors with the index as it comes: return self.X[i], self.y[i].")
    hint = ("keep X and y as tensors and index them with what __getitem__ receives, so that "
            "a list of indices gives rows [1, 4] at once.")
    if not isinstance(xs, torch.Tensor) or tuple(xs.shape) != (2, 4) or not torch.equal(
            xs.cpu(), torch.as_tensor(X0[[1, 4]], dtype=torch.float32)):
        run.fail(where, "features of shape (2, 4): rows 1 and 4 of X", _describe(xs), hint)
    if not isinstance(labels, torch.Tensor) or labels.tolist() != y0[[1, 4]].tolist():
        run.fail(where, f"labels {y0[[1, 4]].tolist()}", _describe(labels), hint)
    run.ok()
    loader = DataLoader(ds, batch_size=4)
    batch = run.call(lambda: next(iter(loader)), case=case,
                     expr="next(iter(DataLoader(dataset, batch_size=4)))")
    xb, yb = _pair(run, batch, ("X batch", "y batch"), case, None)
    if tuple(xb.shape) != (4, 4) or xb.dtype != torch.float32:
        run.fail(case, "a DataLoader batch of features of shape (4, 4), float32",
                 _describe(xb), None)
    if tuple(yb.shape) != (4,) or yb.dtype != torch.int64:
        run.fail(case, "a DataLoader batch of labels of shape (4,), int64", _describe(yb),
                 "each label must be a single int64 value, so that a batch of them has "
                 "shape (batch_size,).")
    run.ok()
    _unchanged(run, case, X=(X, X0), y=(y, y0))


def _linears(model: nn.Module) -> list:
    from torch import nn

    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _module_check(run: _Run, cls: type, case: str) -> None:
    from torch import nn

    if not issubclass(cls, nn.Module):
        run.fail(case, "a subclass of torch.nn.Module",
                 f"a class with bases {[b.__name__ for b in cls.__bases__]}",
                 f"declare it as class {cls.__name__}(nn.Module) and call super().__init__() "
                 "first in __init__.")
    run.ok()


def _exact_parameters(run: _Run, model: nn.Module, layers: list, case: str) -> None:
    """Biases present, BatchNorm's scale and shift present, and no parameter besides the
    layers' own (a spare tensor can make a parameter count come out right)."""
    from torch import nn

    for layer in layers:
        if isinstance(layer, nn.Linear) and layer.bias is None:
            run.fail(case, "every nn.Linear with its bias", f"{layer} without a bias",
                     "leave bias=True (the default): each output unit has its own bias, and "
                     "without biases the model has fewer parameters than the task's.")
        if isinstance(layer, nn.BatchNorm1d) and not layer.affine:
            run.fail(case, "BatchNorm1d with its learnable scale and shift",
                     f"{layer} with affine=False",
                     "leave affine=True (the default): BatchNorm then learns a scale and a shift.")
    own = {id(q) for layer in layers for q in layer.parameters()}
    spare = [name for name, q in model.named_parameters() if id(q) not in own]
    if spare:
        run.fail(case, "no parameters besides those of the layers", f"extra parameters {spare}",
                 "the model holds only its layers; remove other nn.Parameter attributes.")
    run.ok()


def _only_modules(run: _Run, model: nn.Module, allowed: tuple, case: str, hint: str) -> None:
    """Every submodule is of an allowed kind (an extra Dropout or BatchNorm is not)."""
    others = [f"{name}: {type(m).__name__}" for name, m in model.named_modules()
              if name and not isinstance(m, allowed)]
    if others:
        run.fail(case, f"only {', '.join(t.__name__ for t in allowed)} layers",
                 f"also {others}", hint)
    run.ok()


def _gradients_reach(run: _Run, model: nn.Module, x: torch.Tensor, case: str) -> None:
    """In training mode, a backward pass from the logits reaches every parameter."""
    model.train()
    model.zero_grad()
    out = run.call(model, x, case=case, expr="model(x)")
    run.call(lambda: out.square().sum().backward(), case=case, expr="logits.square().sum().backward()")
    dead = [name for name, q in model.named_parameters()
            if q.grad is None or not bool(q.grad.abs().sum() > 0)]
    if dead:
        run.fail(case, "gradients reaching every parameter in training mode",
                 f"no gradient for {dead}",
                 "do not cut the graph in forward (no .detach(), .item(), .data or "
                 "torch.no_grad()): backward must reach every layer.")
    model.zero_grad()
    run.ok()


def _layer_sizes(linears: list) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in linears]


def _in_order(modules: list, key: Callable[[object], object], wanted: list) -> list:
    """``modules`` reordered so that their keys follow ``wanted`` (registration order may
    differ from the order of computation); ``modules`` unchanged if that is impossible."""
    left = list(modules)
    ordered = []
    for w in wanted:
        match = next((m for m in left if key(m) == w), None)
        if match is None:
            return modules
        left.remove(match)
        ordered.append(match)
    return ordered if not left else modules


def _tensor_close(a: torch.Tensor, b: torch.Tensor) -> bool:
    import torch

    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=TORCH_RTOL, atol=TORCH_ATOL))


def _forward_output(run: _Run, model: nn.Module, x: torch.Tensor, shape: tuple[int, int],
                    case: str) -> torch.Tensor:
    import torch

    out = run.call(model, x, case=case, expr="model(x)")
    if not isinstance(out, torch.Tensor):
        run.fail(case, f"logits, a tensor of shape {shape}", _describe(out), None)
    if tuple(out.shape) != shape:
        run.fail(case, f"logits of shape {shape}", f"shape {tuple(out.shape)}",
                 "forward returns one row of num_classes logits per sample.")
    run.ok()
    return out.detach()


@_checker_docstring("SimpleMLP")
def check_simple_mlp(cls: type, *, verbose: bool = True) -> Verdict:
    """Check ``class SimpleMLP(nn.Module)``: Linear, ReLU, Linear, returning logits.

    Builds ``cls(in_features=5, hidden_size=7, num_classes=3)`` and the book's
    ``cls(in_features=64, hidden_size=32, num_classes=10)``; checks the two Linear
    layers, that they are the attributes ``fc1`` and ``fc2`` (the chapter reads them),
    the parameter count, and that the forward pass of a batch and of one sample equals
    ``fc2(relu(fc1(x)))`` computed with the model's own layers (so a missing ReLU or a
    softmax at the end shows).
    Reference: :class:`labcode.models.SimpleMLP`.
    """
    return _run("SimpleMLP", cls, _simple_mlp_body, verbose=verbose, kind="class",
                torch_rng=True)


def _simple_mlp_body(run: _Run, cls: type) -> None:
    import torch
    from torch import nn

    case = "SimpleMLP(5, 7, 3): in_features=5, hidden_size=7, num_classes=3"
    _module_check(run, cls, case)
    model = run.call(lambda: cls(in_features=5, hidden_size=7, num_classes=3), case=case,
                     expr="SimpleMLP(in_features=5, hidden_size=7, num_classes=3)")
    with torch.no_grad():
        run.probe(model, torch.randn(2, 5))  # a starter's forward: "not implemented" first
    linears = _in_order(_linears(model), lambda m: (m.in_features, m.out_features),
                        [(5, 7), (7, 3)])
    if _layer_sizes(linears) != [(5, 7), (7, 3)]:
        run.fail(case, "two nn.Linear layers, 5 -> 7 and 7 -> 3",
                 f"nn.Linear layers {_layer_sizes(linears)}" if linears else "no nn.Linear layer",
                 "fc1 = nn.Linear(in_features, hidden_size) and "
                 "fc2 = nn.Linear(hidden_size, num_classes).")
    run.ok()
    named = [getattr(model, name, None) for name in ("fc1", "fc2")]
    if [id(m) for m in named] != [id(m) for m in linears]:
        run.fail(case, "the layers as attributes fc1 (5 -> 7) and fc2 (7 -> 3)",
                 f"fc1 = {_describe(named[0])}, fc2 = {_describe(named[1])}",
                 "name the layers as the task does: self.fc1 = nn.Linear(...), "
                 "self.relu = nn.ReLU(), self.fc2 = nn.Linear(...); the chapter reads "
                 "model.fc1 and model.fc2.")
    run.ok()
    n_params = sum(p.numel() for p in model.parameters())
    if n_params != 6 * 7 + 8 * 3:
        run.fail(case, f"{6 * 7 + 8 * 3} parameters (two Linear layers with biases)",
                 f"{n_params} parameters", "the model holds only the two Linear layers.")
    run.ok()
    fc1, fc2 = linears
    _exact_parameters(run, model, linears, case)
    _only_modules(run, model, (nn.Linear, nn.ReLU), case,
                  "SimpleMLP is Linear, ReLU, Linear and nothing else (no Dropout, no "
                  "BatchNorm: those come in Step 10).")
    model.eval()
    for what, x in [("a batch of 8 samples", torch.randn(8, 5)), ("one sample", torch.randn(1, 5))]:
        where = f"{case}; {what}, x of shape {tuple(x.shape)}"
        with torch.no_grad():
            out = _forward_output(run, model, x, (x.shape[0], 3), where)
            hidden = fc1(x)
            want = fc2(torch.relu(hidden))
            if not _tensor_close(out, want):
                if _tensor_close(out, fc2(hidden)):
                    hint = "missing ReLU between the two Linear layers: fc2(relu(fc1(x)))."
                elif _tensor_close(out, torch.softmax(want, dim=1)):
                    hint = ("return the logits, without a softmax: cross_entropy applies it "
                            "inside the loss.")
                elif _tensor_close(out, torch.relu(want)):
                    hint = "no ReLU after the last layer: logits may be negative."
                elif _tensor_close(out, fc2(torch.sigmoid(hidden))):
                    hint = "the hidden activation is a ReLU, not a sigmoid."
                else:
                    hint = "forward computes fc2(relu(fc1(x)))."
                run.fail(where, "fc2(relu(fc1(x))) with the model's own layers",
                         f"logits that differ by up to {float((out - want).abs().max()):.3g}", hint)
        run.ok()
    x = torch.randn(8, 5)  # after the eval-mode checks, whose hints say more
    _gradients_reach(run, model, x, f"{case}; training mode, x of shape (8, 5)")
    with torch.no_grad():
        train_out = _forward_output(run, model.train(), x, (8, 3), f"{case}; training mode")
        if not _tensor_close(train_out, fc2(torch.relu(fc1(x)))):
            run.fail(f"{case}; training mode, x of shape (8, 5)",
                     "fc2(relu(fc1(x))) in training mode too",
                     "logits that differ from it",
                     "the model behaves the same in both modes: no Dropout or BatchNorm.")
    run.ok()
    case = "SimpleMLP(64, 32, 10), the lab's sizes"
    big = run.call(lambda: cls(in_features=64, hidden_size=32, num_classes=10), case=case,
                   expr="SimpleMLP(in_features=64, hidden_size=32, num_classes=10)")
    n_params = sum(p.numel() for p in big.parameters())
    if n_params != 2410:
        run.fail(case, "2410 parameters (65 * 32 + 33 * 10)", f"{n_params} parameters",
                 "use the constructor's arguments for the layer sizes.")
    run.ok()


def _penalty_models() -> list[tuple[str, nn.Module]]:
    """Models with seeded, non-trivial parameters (biases and BatchNorm scales included)."""
    import torch

    from ..models import ComplexMLP, SimpleMLP

    models = [
        ("SimpleMLP(4, 3, 2) with random weights and biases", SimpleMLP(4, 3, 2)),
        ("ComplexMLP(4, (3,), 2), whose BatchNorm has a scale and a shift, all random",
         ComplexMLP(4, (3,), 2)),
    ]
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _, model in models:
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
    return models


def _penalty_body(run: _Run, func: Callable, kind: str) -> None:
    import torch

    from ..training import weight_penalty

    for case, model in _penalty_models():
        before = [p.detach().clone() for p in model.parameters()]
        out = run.call(func, model, case=case, expr=f"{kind}_penalty(model)")
        weights = [p for p in model.parameters() if p.ndim >= 2]
        named = [p for n, p in model.named_parameters() if n.endswith("weight")]
        others = [p for p in model.parameters()]

        def total(params: list, how: str) -> float:
            vals = [p.detach().double() for p in params]
            if how == "l1":
                return float(sum(v.abs().sum() for v in vals))
            if how == "l2":
                return float(sum(v.square().sum() for v in vals))
            if how == "sum":
                return float(sum(v.sum() for v in vals))
            if how == "norms":
                return float(sum(v.square().sum().sqrt() for v in vals))
            if how == "mean_abs":
                return float(sum(v.abs().mean() for v in vals))
            return float(sum(v.square().mean() for v in vals))

        want = total(weights, kind)
        if not isinstance(out, torch.Tensor):
            hint = (
                "return a tensor, not a Python number: .item() or float() cut the graph, "
                "so the penalty would not change the gradients."
                if isinstance(out, (float, int)) else "return a scalar tensor."
            )
            run.fail(case, "a scalar tensor", _describe(out), hint)
        if out.numel() != 1:
            run.fail(case, "a scalar tensor (one number)", _describe(out),
                     "add the sums of all weight matrices into one number.")
        run.ok()
        got = float(out.detach())
        if not math.isclose(got, want, rel_tol=TORCH_RTOL):
            alternatives = [
                (total(others, kind), "the biases were included: penalize the weight matrices "
                 "only (parameters with p.ndim >= 2); biases and BatchNorm's scale and shift are "
                 "left out."),
                (total(named, kind), "BatchNorm's weight is a vector of scales, not a weight "
                 "matrix: select the parameters with p.ndim >= 2, not by name."),
            ]
            if kind == "l1":
                alternatives += [
                    (total(weights, "sum"), "take the absolute value: sum of |w|, not of w."),
                    (total(weights, "l2"), "that is the L2 penalty (squares); L1 sums |w|."),
                    (total(weights, "mean_abs"), "sum over the entries, not the mean."),
                ]
            else:
                alternatives += [
                    (total(weights, "norms"), "the L2 penalty is the sum of squares, without the "
                     "square root that torch.norm takes."),
                    (math.sqrt(want), "the L2 penalty is the sum of squares, without a square root."),
                    (total(weights, "l1"),
                     "that is the L1 penalty (absolute values); L2 sums w ** 2."),
                    (0.5 * want, "no factor 1/2: the penalty is the plain sum of w ** 2."),
                    (total(weights, "mean_sq"), "sum over the entries, not the mean."),
                ]
            hint = next((t for v, t in alternatives if math.isclose(got, v, rel_tol=TORCH_RTOL)),
                        None)
            run.fail(case, f"{kind}_penalty(model) = {want:.6g}, "
                     f"labcode's weight_penalty(model, {kind}=1.0)", f"{got:.6g}", hint)
        run.ok()
        if not out.requires_grad:
            run.fail(case, "a penalty that gradients flow through (requires_grad=True)",
                     "a tensor without a gradient",
                     "compute it from the parameters themselves, without .detach(), .item() "
                     "or torch.no_grad().")
        model.zero_grad()
        run.call(lambda: out.sum().backward(), case=case, expr="penalty.backward()")
        ref = weight_penalty(model, **{kind: 1.0})
        ref_grads = torch.autograd.grad(ref, list(model.parameters()), allow_unused=True)
        for (name, p), g_ref in zip(model.named_parameters(), ref_grads):
            g_ref = torch.zeros_like(p) if g_ref is None else g_ref
            g = torch.zeros_like(p) if p.grad is None else p.grad
            if not _tensor_close(g, g_ref):
                run.fail(case, f"the gradient of the penalty with respect to {name} equal to "
                         "labcode's", f"a gradient that differs by up to "
                         f"{float((g - g_ref).abs().max()):.3g}", None)
        model.zero_grad()
        run.ok()
        for p, b in zip(model.parameters(), before):
            if not torch.equal(p.detach(), b):
                run.fail(case, "the model's parameters left as they were",
                         "parameters changed by your code",
                         "the penalty only reads the parameters; do not modify them.")
        run.ok()


@_checker_docstring("l1_penalty")
def check_l1_penalty(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``l1_penalty(model)``: the sum of ``|w|`` over the weight matrices.

    Runs it on a :class:`labcode.models.SimpleMLP` and a
    :class:`labcode.models.ComplexMLP` whose parameters (biases and BatchNorm scales
    too) are random; compares the value and its gradient with
    ``labcode.training.weight_penalty(model, l1=1.0)``, which leaves biases and
    BatchNorm's parameters out, and checks that the model is left unchanged.
    """
    return _run("l1_penalty", func, lambda run, f: _penalty_body(run, f, "l1"),
                verbose=verbose, torch_rng=True)


@_checker_docstring("l2_penalty")
def check_l2_penalty(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``l2_penalty(model)``: the sum of ``w ** 2`` over the weight matrices.

    As :func:`check_l1_penalty`, against ``labcode.training.weight_penalty(model,
    l2=1.0)``.
    """
    return _run("l2_penalty", func, lambda run, f: _penalty_body(run, f, "l2"),
                verbose=verbose, torch_rng=True)


@_checker_docstring("ComplexMLP")
def check_complex_mlp(cls: type, *, verbose: bool = True) -> Verdict:
    """Check ``class ComplexMLP(nn.Module)``: hidden blocks of Linear, BatchNorm1d, ReLU, Dropout.

    Builds ``cls(in_features=6, hidden_sizes=(8, 5), num_classes=3, dropout=0.5)`` and
    ``cls(in_features=6, hidden_sizes=[4], num_classes=3, dropout=0.0)``. Checks the
    Linear and BatchNorm1d layers; in evaluation mode, with random BatchNorm statistics,
    that the output equals the blocks computed from the model's own layers in the order
    Linear, BatchNorm1d, ReLU (Dropout passes everything through) and a last Linear; in
    training mode that Dropout makes two passes differ (and, with ``dropout=0``, not);
    and that the model keeps its four arguments as attributes and has the reference's
    number of parameters (the chapter reads both).
    Reference: :class:`labcode.models.ComplexMLP`.
    """
    return _run("ComplexMLP", cls, _complex_mlp_body, verbose=verbose, kind="class",
                torch_rng=True)


def _complex_mlp_body(run: _Run, cls: type) -> None:
    import torch
    from torch import nn

    from ..models import ComplexMLP

    _module_check(run, cls, "ComplexMLP(in_features=6, hidden_sizes=(8, 5), num_classes=3, dropout=0.5)")
    for hidden, p in [((8, 5), 0.5), ([4], 0.0)]:
        expr = f"ComplexMLP(in_features=6, hidden_sizes={hidden!r}, num_classes=3, dropout={p})"
        case = expr
        model = run.call(lambda: cls(in_features=6, hidden_sizes=hidden, num_classes=3, dropout=p),
                         case=case, expr=expr)
        with torch.no_grad():
            run.probe(model.eval(), torch.randn(4, 6))  # a starter: "not implemented" first
        sizes = [6, *hidden, 3]
        want_linears = list(zip(sizes[:-1], sizes[1:]))
        linears = _in_order(_linears(model), lambda m: (m.in_features, m.out_features),
                            want_linears)
        if _layer_sizes(linears) != want_linears:
            run.fail(case, f"nn.Linear layers {want_linears}, one per hidden block and one "
                     "for the output", f"nn.Linear layers {_layer_sizes(linears)}",
                     "build one block per entry of hidden_sizes, each starting with "
                     "nn.Linear(n_in, n_out), then nn.Linear(hidden_sizes[-1], num_classes).")
        run.ok()
        norms = _in_order([m for m in model.modules() if isinstance(m, nn.BatchNorm1d)],
                          lambda m: m.num_features, list(hidden))
        if [m.num_features for m in norms] != list(hidden):
            found = [m.num_features for m in norms]
            hint = ("Linear without BatchNorm: each hidden block needs nn.BatchNorm1d(n_out) "
                    "right after its Linear." if not norms else
                    "one nn.BatchNorm1d(n_out) per hidden block, sized like its Linear's output.")
            run.fail(case, f"nn.BatchNorm1d layers with {list(hidden)} features",
                     f"BatchNorm layers with {found} features" if norms else "no BatchNorm layer",
                     hint)
        run.ok()
        drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
        if any(not math.isclose(m.p, p) for m in drops):
            run.fail(case, f"Dropout with p = {p}", f"Dropout with p = {[m.p for m in drops]}",
                     "pass the constructor's dropout argument: nn.Dropout(dropout).")
        run.ok()
        _exact_parameters(run, model, [*linears, *norms], case)
        _only_modules(run, model, (nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout,
                                   nn.Sequential, nn.ModuleList), case,
                      "each hidden block is Linear, BatchNorm1d, ReLU, Dropout; nothing else.")
        _gradients_reach(run, model, torch.randn(7, 6), f"{case}; training mode, x of shape (7, 6)")
        # evaluation mode: random running statistics, so BatchNorm's place in the block shows
        with torch.no_grad():
            for m in norms:
                for name, values in [("running_mean", torch.randn(m.num_features)),
                                     ("running_var", torch.rand(m.num_features) + 0.5),
                                     ("weight", torch.randn(m.num_features)),
                                     ("bias", torch.randn(m.num_features))]:
                    if getattr(m, name, None) is not None:
                        getattr(m, name).copy_(values)
        x = torch.randn(7, 6)
        model.eval()
        where = f"{case}; evaluation mode, x of shape (7, 6)"
        with torch.no_grad():
            out = _forward_output(run, model, x, (7, 3), where)
            again = _forward_output(run, model, x, (7, 3), where)
            if not torch.equal(out, again):
                run.fail(where, "the same output twice in evaluation mode",
                         "two different outputs",
                         "use nn.Dropout (or F.dropout(h, p, training=self.training)), which "
                         "passes everything through after model.eval().")

            def blocks(order: str) -> torch.Tensor:
                h = x
                for lin, bn in zip(linears[:-1], norms):
                    h = lin(h)
                    if order == "right":
                        h = torch.relu(bn(h))
                    elif order == "relu_first":
                        h = bn(torch.relu(h))
                    elif order == "no_relu":
                        h = bn(h)
                return linears[-1](h)

            want = blocks("right")
            if not _tensor_close(out, want):
                if _tensor_close(out, blocks("relu_first")):
                    hint = "the order in each block is Linear, BatchNorm1d, ReLU, Dropout."
                elif _tensor_close(out, blocks("no_relu")):
                    hint = "missing ReLU: each hidden block is Linear, BatchNorm1d, ReLU, Dropout."
                elif _tensor_close(out, torch.relu(want)):
                    hint = "no ReLU after the output layer: logits may be negative."
                elif _tensor_close(out, torch.softmax(want, dim=1)):
                    hint = "return the logits, without a softmax: cross_entropy applies it."
                else:
                    hint = ("each hidden block is Linear, BatchNorm1d, ReLU, Dropout, and a last "
                            "Linear gives the logits.")
                run.fail(where, "the blocks Linear, BatchNorm1d, ReLU (Dropout is off) and a last "
                         "Linear, computed with the model's own layers",
                         f"logits that differ by up to {float((out - want).abs().max()):.3g}", hint)
            run.ok()
        model.train()
        where = f"{case}; training mode, x of shape (7, 6)"
        first = _forward_output(run, model, x, (7, 3), where)
        second = _forward_output(run, model, x, (7, 3), where)
        if p > 0 and torch.equal(first, second):
            run.fail(where, f"two different outputs (Dropout with p = {p} is on in training mode)",
                     "the same output twice",
                     "end each hidden block with nn.Dropout(dropout).")
        if p == 0 and not torch.equal(first, second):
            run.fail(where, "the same output twice (dropout = 0)", "two different outputs",
                     "with dropout = 0 nothing is random: use nn.Dropout(dropout).")
        run.ok()
    # what the chapter reads from the model: the arguments, and the parameter count
    hidden, p = (8, 5), 0.5
    case = f"ComplexMLP(in_features=6, hidden_sizes={hidden!r}, num_classes=3, dropout={p})"
    model = run.call(lambda: cls(in_features=6, hidden_sizes=hidden, num_classes=3, dropout=p),
                     case=case, expr=case)
    stored = {name: getattr(model, name, None)
              for name in ("in_features", "hidden_sizes", "num_classes", "dropout")}
    want_stored = {"in_features": 6, "hidden_sizes": tuple(hidden), "num_classes": 3,
                   "dropout": p}
    got = dict(stored, hidden_sizes=tuple(stored["hidden_sizes"])
               if isinstance(stored["hidden_sizes"], (list, tuple)) else stored["hidden_sizes"])
    if got != want_stored:
        run.fail(case, f"the arguments kept as attributes: {want_stored}", f"{got}",
                 "keep the lines of the starter that store in_features, "
                 "tuple(hidden_sizes), num_classes and dropout on self; the chapter reads them.")
    run.ok()
    n_params = sum(q.numel() for q in model.parameters())
    want_params = sum(q.numel() for q in ComplexMLP(
        in_features=6, hidden_sizes=tuple(hidden), num_classes=3, dropout=p).parameters())
    if n_params != want_params:
        run.fail(case, f"{want_params} parameters (Linear layers with biases, BatchNorm "
                 "with its scale and shift)", f"{n_params} parameters",
                 "keep the Linear layers' biases and BatchNorm1d's learnable scale and "
                 "shift (the defaults), and add no other layers.")
    run.ok()


@_checker_docstring("make_loader")
def check_make_loader(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``make_loader(dataset, batch_size, shuffle, generator=None) -> DataLoader``.

    Builds loaders of a 10-sample dataset with batches of 4, and reads every epoch back:
    with ``shuffle=True``, batches of 4, 4 and 2 holding every sample once, in an order
    that is not the dataset's, new in every epoch, and the same for two loaders whose
    generators have the same seed; with ``shuffle=False``, the dataset's order. Names
    the usual mistakes: ``batch_size`` or ``shuffle`` not passed on, the generator
    ignored, the last batch dropped, one order for every epoch. Reference:
    :func:`labcode.torch_data.make_loader`.
    """
    return _run("make_loader", func, _make_loader_body, verbose=verbose, torch_rng=True)


def _make_loader_body(run: _Run, func: Callable) -> None:
    import torch

    from ..torch_data import DigitsDataset

    n, batch = 10, 4
    X = np.zeros((n, 3))
    X[:, 0] = np.arange(n)  # each sample's first feature is its index
    dataset = DigitsDataset(X, np.arange(n) % 10)

    def epoch(loader, case: str) -> list[list[int]]:
        batches = []
        for item in run.call(lambda: list(loader), case=case, expr="list(loader)"):
            xb, yb = _pair(run, item, ("features", "labels"), case,
                           "iterating over the DataLoader yields (features, labels) batches.")
            if not isinstance(xb, torch.Tensor) or xb.ndim != 2:
                run.fail(case, "a batch of features of shape (batch, 3)", _describe(xb),
                         "pass the dataset itself to DataLoader: it stacks its samples.")
            batches.append([int(v) for v in xb[:, 0].tolist()])
        return batches

    def build(shuffle: bool, seed: int | None, case: str):
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        return run.call(func, dataset, batch_size=batch, shuffle=shuffle, generator=generator,
                        case=case, expr=f"make_loader(dataset, batch_size={batch}, "
                        f"shuffle={shuffle}, generator=...)")

    case = (f"a dataset of {n} samples, batch_size={batch}, shuffle=True and a generator "
            "seeded with 0")
    loader = build(True, 0, case)
    first = epoch(loader, case)
    sizes = [len(b) for b in first]
    if sizes != [4, 4, 2]:
        if sizes and all(s == 1 for s in sizes):
            hint = "batches of one sample: pass batch_size on, DataLoader(..., batch_size=batch_size)."
        elif sizes == [4, 4]:
            hint = ("the last, smaller batch is missing: every sample is used once per epoch, "
                    "so keep it (drop_last=False, the default).")
        else:
            hint = f"cut the epoch into batches of batch_size={batch}; the last one holds the rest."
        run.fail(case, "batches of 4, 4 and 2 samples", f"batches of {sizes} samples", hint)
    run.ok()
    order = [i for b in first for i in b]
    if sorted(order) != list(range(n)):
        run.fail(case, "every sample once per epoch", f"the samples {order}",
                 "let the DataLoader draw the order: DataLoader(dataset, ..., shuffle=shuffle).")
    run.ok()
    if order == list(range(n)):
        run.fail(case, "a shuffled order", "the dataset's own order, 0 to 9",
                 "the training loader shuffles: pass shuffle on, DataLoader(..., shuffle=shuffle).")
    run.ok()
    second = [i for b in epoch(loader, case + ", second epoch") for i in b]
    if second == order:
        run.fail(case + ", second epoch", "a new order in every epoch", "the same order again",
                 "let the DataLoader shuffle at every epoch (shuffle=True) rather than "
                 "shuffling the samples once.")
    run.ok()
    again = [i for b in epoch(build(True, 0, case), case) for i in b]
    if again != order:
        run.fail(case + ", built twice", "the same order from two generators seeded alike",
                 "another order", "pass the generator on, DataLoader(..., generator=generator): "
                 "it makes the order reproducible.")
    run.ok()
    case = f"a dataset of {n} samples, batch_size={batch}, shuffle=False"
    plain = [i for b in epoch(build(False, None, case), case) for i in b]
    if plain != list(range(n)):
        hint = ("the validation and test loaders keep the data's order: shuffle only when "
                "shuffle=True." if sorted(plain) == list(range(n)) else None)
        run.fail(case, "the dataset's order, 0 to 9", f"{plain}", hint)
    run.ok()
