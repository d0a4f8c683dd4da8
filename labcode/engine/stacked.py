"""R seeds of one configuration trained as one stacked model: exactly R runs.

:func:`train_stacked` keeps the weights of R models that differ only in their seed in
tensors of shape ``(R, ...)`` and trains all R with one set of operations per step
(batched matrix products, one cross-entropy, one optimizer step), so that small models
pay PyTorch's fixed cost per operation once per stack instead of once per run. Each
model gets from its seed what :func:`labcode.experiment.run_experiment` gives a run with
that seed: its initial weights, its batches and, on the CPU, its Dropout masks. Its
numbers are that run's up to round-off, and depend in the last bits on the stack (its
size and the run's place in it). Why the stack is R separate runs, and what is identical
and what is not, is told in the book's appendix (:ref:`engine-design`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .. import _validate
from ..data import NUM_CLASSES, DigitsSplit, load_digits_split
from ..experiment import ExperimentResult, TrainConfig, resolve_device, torch_threads
from ..models import MODELS, ComplexMLP, SimpleMLP, build_model
from ..torch_data import BatchIndexSampler
from ..training import History, make_optimizer
from ._updates import Updates

__all__ = ["DTYPES", "is_stackable", "check_stackable", "train_stacked"]

DTYPES = (torch.float32, torch.float64)
"""The floating-point types :func:`train_stacked` trains in (float32 is
:func:`labcode.experiment.run_experiment`'s)."""


def is_stackable(model: str) -> bool:
    """Whether :func:`train_stacked` can stack the :data:`labcode.models.MODELS` entry ``model``.

    It can when the entry builds a :class:`~labcode.models.SimpleMLP` or
    :class:`~labcode.models.ComplexMLP` made of Linear, BatchNorm1d (with its affine
    parameters and running statistics), ReLU, Dropout and Identity layers: ``"simple"``,
    ``"complex"``, and variants of the latter with layers replaced by ``nn.Identity``.
    """
    return _unstackable_reason(model) is None


def _unstackable_reason(model: str) -> str | None:
    if not isinstance(model, str) or model not in MODELS:
        return f"it is not a key of labcode.models.MODELS ({sorted(MODELS)})"
    with torch.random.fork_rng(devices=[]):  # building draws initial weights
        built = build_model(model, hidden_size=1)
    try:
        _layers(built)
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None


def check_stackable(configs: Sequence[TrainConfig]) -> tuple[TrainConfig, ...]:
    """The configurations as a tuple, if one stack can train them; else a clear error.

    One stack trains runs that differ only in ``seed``: the same model, optimizer and
    every other field of :class:`~labcode.experiment.TrainConfig`, and no seed twice.

    Raises
    ------
    TypeError
        If ``configs`` is not a sequence of :class:`~labcode.experiment.TrainConfig`.
    ValueError
        If it is empty, if two configurations differ in a field other than ``seed``
        (the message names the field and both values), if a seed repeats, or if the
        model cannot be stacked (:func:`is_stackable`).
    """
    if isinstance(configs, (str, bytes, TrainConfig)) or not isinstance(configs, Sequence):
        raise TypeError(
            f"configs must be a sequence of labcode.experiment.TrainConfig, got "
            f"{type(configs).__name__}"
        )
    configs = tuple(configs)
    if not configs:
        raise ValueError("configs must hold at least one TrainConfig (R >= 1), got none")
    for k, config in enumerate(configs):
        _validate.instance(config, TrainConfig, f"configs[{k}]")
    first = configs[0]
    for k, config in enumerate(configs[1:], start=1):
        for field in fields(TrainConfig):
            if field.name == "seed":
                continue
            a, b = getattr(first, field.name), getattr(config, field.name)
            if a != b:
                raise ValueError(
                    f"configs[{k}].{field.name} is {b!r} but configs[0].{field.name} is "
                    f"{a!r}: one stack trains runs that differ only in their seed"
                )
    seen: set[int] = set()
    for k, config in enumerate(configs):
        if config.seed in seen:
            raise ValueError(f"configs[{k}].seed={config.seed} repeats an earlier seed; "
                             "each run of a stack needs its own seed")
        seen.add(config.seed)
    if not is_stackable(first.model):
        raise ValueError(f"the model {first.model!r} cannot be stacked: "
                         f"{_unstackable_reason(first.model)}")
    return configs


# --- The stacked model ----------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    """One leaf module of the model, as the stacked forward pass applies it."""

    kind: str  # "linear", "batchnorm", "relu" or "dropout"
    name: str  # its prefix in the state dict ("fc1", "blocks.0.1", ...)
    p: float = 0.0  # dropout probability
    eps: float = 0.0  # BatchNorm's epsilon
    momentum: float = 0.0  # BatchNorm's momentum of the running statistics


def _layers(model: nn.Module) -> tuple[_Layer, ...]:
    """The leaf modules of a SimpleMLP or ComplexMLP in the order its forward applies them."""
    if not isinstance(model, (SimpleMLP, ComplexMLP)):
        raise TypeError(f"only SimpleMLP and ComplexMLP can be stacked, got {type(model).__name__}")
    layers = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            layers.append(_Layer("linear", name))
        elif isinstance(module, nn.BatchNorm1d):
            if module.momentum is None or not module.track_running_stats or not module.affine:
                raise ValueError(f"{name}: only BatchNorm1d with affine=True, running statistics "
                                 "and a momentum can be stacked")
            layers.append(_Layer("batchnorm", name, eps=module.eps, momentum=module.momentum))
        elif isinstance(module, nn.ReLU):
            layers.append(_Layer("relu", name))
        elif isinstance(module, nn.Dropout):
            layers.append(_Layer("dropout", name, p=float(module.p)))
        elif isinstance(module, nn.Identity):
            continue
        elif len(list(module.children())) == 0:
            raise TypeError(f"{name}: a {type(module).__name__} cannot be stacked")
    return tuple(layers)


class _Stack:
    """The weights, buffers and Dropout generators of the models still training.

    ``params`` and ``buffers`` map a state-dict name to a tensor of shape ``(R, ...)``
    whose slice ``r`` is model ``runs[r]``'s entry; a Linear weight is kept transposed,
    ``(R, in, out)``, the layout the batched product takes without a copy. ``tracked``
    counts the training forward passes (BatchNorm's ``num_batches_tracked``), the same
    for every model.
    """

    def __init__(self, layers, params, buffers, runs, generators, tracked=0):
        self.layers = layers
        self.params: dict[str, nn.Parameter] = params
        self.buffers: dict[str, torch.Tensor] = buffers
        self.runs: list[int] = runs
        self.generators: list[torch.Generator] = generators
        self.tracked = tracked

    def __len__(self) -> int:
        return len(self.runs)

    def forward(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        """Logits of shape (R, batch, classes) of inputs of shape (R, batch, features)."""
        h = x
        R = len(self.runs)
        for layer in self.layers:
            if layer.kind == "linear":
                w, b = self.params[layer.name + ".weight"], self.params[layer.name + ".bias"]
                h = torch.baddbmm(b.unsqueeze(1), h, w)
            elif layer.kind == "relu":
                h = F.relu(h)
            elif layer.kind == "batchnorm":
                # channel (r, j) of a (batch, R * width) input is unit j of model r, so
                # torch's BatchNorm normalises each model's unit over its own batch
                n, width = h.shape[1], h.shape[2]
                flat = h.transpose(0, 1).reshape(n, R * width)
                flat = F.batch_norm(
                    flat,
                    self.buffers[layer.name + ".running_mean"].view(-1),
                    self.buffers[layer.name + ".running_var"].view(-1),
                    self.params[layer.name + ".weight"].reshape(-1),
                    self.params[layer.name + ".bias"].reshape(-1),
                    training=training, momentum=layer.momentum, eps=layer.eps,
                )  # fmt: skip
                h = flat.view(n, R, width).transpose(0, 1)
            elif layer.kind == "dropout" and training and layer.p > 0:
                h = h * self._dropout_mask(h, layer.p)
        if training and any(layer.kind == "batchnorm" for layer in self.layers):
            self.tracked += 1
        return h

    def _dropout_mask(self, h: torch.Tensor, p: float) -> torch.Tensor:
        # what torch's CPU dropout computes for each model: bernoulli(1 - p) / (1 - p)
        if p >= 1:
            return torch.zeros_like(h)
        mask = torch.empty(h.shape, dtype=h.dtype, device=h.device)
        for r, generator in enumerate(self.generators):
            mask[r].bernoulli_(1 - p, generator=generator)
        return mask.div_(1 - p)

    def skip_loader_draw(self) -> None:
        """Advance each model's Dropout stream past one DataLoader iteration.

        Each ``iter(DataLoader)`` draws one int64 from torch's global generator (the base
        seed of its worker processes), and that is the stream run_experiment's Dropout
        draws from on the CPU: once per epoch for the training loader, once for the
        validation pass. The stack draws the same numbers so the masks stay in step.
        """
        for generator in self.generators:
            if generator.device.type == "cpu":
                torch.empty((), dtype=torch.int64).random_(generator=generator)

    def state_of(self, r: int) -> dict[str, torch.Tensor]:
        """Model ``runs[r]``'s entries (copies, in the stack's layout), with num_batches_tracked."""
        state = {name: p.detach()[r].clone() for name, p in self.params.items()}
        state.update({name: b[r].clone() for name, b in self.buffers.items()})
        for layer in self.layers:
            if layer.kind == "batchnorm":
                state[layer.name + ".num_batches_tracked"] = torch.tensor(self.tracked)
        return state

    def keep(self, kept: list[int], optimizer: torch.optim.Optimizer, config: TrainConfig
             ) -> torch.optim.Optimizer:
        """Keep only the models at positions ``kept``; return their optimizer.

        Each parameter's slices, gradients and optimizer state (every state tensor of
        the parameter's shape) are cut to ``kept``; the rest of the state (the step
        count) is shared and copied.
        """
        index = torch.tensor(kept, device=next(iter(self.params.values())).device)
        new_params = {}
        for name, p in self.params.items():
            q = nn.Parameter(p.detach()[index].clone())
            if p.grad is not None:
                q.grad = p.grad[index].clone()
            new_params[name] = q
        new_optimizer = make_optimizer(config.optimizer, list(new_params.values()), config.lr)
        for name, p in self.params.items():
            q, old = new_params[name], optimizer.state.get(p)
            if not old:
                continue  # no step taken yet: the new optimizer starts its own state
            new_optimizer.state[q] = {
                k: (v[index].clone() if torch.is_tensor(v) and v.shape == p.shape
                    else v.clone() if torch.is_tensor(v) else v)
                for k, v in old.items()
            }  # fmt: skip
        self.params = new_params
        self.buffers = {name: b[index].clone() for name, b in self.buffers.items()}
        self.runs = [self.runs[i] for i in kept]
        self.generators = [self.generators[i] for i in kept]
        return new_optimizer


def _initial_models(configs, split, device, dtype):
    """Each run's freshly built model and its Dropout generator, seeded as run_experiment does."""
    models, generators = [], []
    for config in configs:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            model = build_model(config.model, in_features=split.n_features,
                                hidden_size=config.hidden_size, num_classes=NUM_CLASSES)
            if device.type == "cpu":
                # run_experiment's Dropout continues the global stream from here
                generator = torch.Generator()
                generator.set_state(torch.get_rng_state())
            else:
                generator = torch.Generator(device=device).manual_seed(config.seed)
        models.append(model.to(device=device, dtype=dtype))
        generators.append(generator)
    return models, generators


def _transposed(layers) -> set[str]:
    """The names of the Linear weights, which the stack keeps transposed."""
    return {layer.name + ".weight" for layer in layers if layer.kind == "linear"}


def _model_state(state: dict[str, torch.Tensor], layers) -> dict[str, torch.Tensor]:
    """One model's entries from the stack's layout to its state dict's."""
    flip = _transposed(layers)
    return {name: value.t().contiguous() if name in flip else value
            for name, value in state.items()}  # fmt: skip


def _stack_models(models, generators) -> _Stack:
    layers = _layers(models[0])
    flip = _transposed(layers)

    def entry(model: nn.Module, name: str) -> torch.Tensor:
        value = dict(model.named_parameters())[name].detach()
        return value.t() if name in flip else value

    params = {
        name: nn.Parameter(torch.stack([entry(m, name) for m in models]))
        for name, _ in models[0].named_parameters()
    }
    buffers = {
        name: torch.stack([dict(m.named_buffers())[name] for m in models])
        for name, b in models[0].named_buffers() if b.is_floating_point()
    }
    return _Stack(layers, params, buffers, list(range(len(models))), list(generators))


def _penalty(stack: _Stack, penalized: list[str], l1: float, l2: float) -> torch.Tensor:
    """Each model's :func:`~labcode.training.weight_penalty`, shape (R,)."""
    terms = []
    params = [stack.params[name] for name in penalized]
    if l1 > 0:
        terms.append(l1 * torch.stack([p.abs().flatten(1).sum(1) for p in params]).sum(0))
    if l2 > 0:
        terms.append(l2 * torch.stack([p.square().flatten(1).sum(1) for p in params]).sum(0))
    total = torch.zeros(len(stack), dtype=params[0].dtype, device=params[0].device)
    for term in terms:
        total = total + term
    return total


def _evaluate(stack: _Stack, X: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
    """Each model's mean cross-entropy and accuracy on ``(X, y)``, in evaluation mode."""
    R, n = len(stack), X.shape[0]
    with torch.no_grad():
        logits = stack.forward(X.expand(R, *X.shape), training=False)
        losses = F.cross_entropy(logits.reshape(R * n, -1), y.repeat(R), reduction="none")
        loss_sums = losses.view(R, n).sum(1)
        correct = (logits.argmax(dim=2) == y).sum(1)
        loss_list, correct_list = loss_sums.tolist(), correct.tolist()
    return [s / n for s in loss_list], [c / n for c in correct_list]


@dataclass
class _Record:
    """What one run measured, as :func:`labcode.training.fit` keeps it."""

    train_loss: list[float]
    train_accuracy: list[float]
    val_loss: list[float]
    val_accuracy: list[float]
    diverged_at: int | None = None
    message: str = ""
    final_state: dict[str, torch.Tensor] | None = None


def _train(stack: _Stack, optimizer, config: TrainConfig, data, seeds, records) -> None:
    """Every model's epochs: :func:`labcode.training.fit`'s loop, one step for all models.

    Per step, one number leaves the device: the sum of the R objectives. Only when it
    is not finite are the R values looked at, to stop the models whose loss is not.
    """
    (Xtr, ytr), (Xval, yval) = data["train"], data["val"]
    n = Xtr.shape[0]
    drop_last = n % config.batch_size == 1  # as make_loaders does
    samplers = [
        BatchIndexSampler(n, config.batch_size, shuffle=True, drop_last=drop_last,
                          generator=torch.Generator().manual_seed(seed))
        for seed in seeds
    ]  # fmt: skip
    n_batches = len(samplers[0])
    updates = Updates(optimizer)
    use_penalty = config.l1 > 0 or config.l2 > 0
    penalized = [name for name, p in stack.params.items()
                 if p.ndim - 1 >= 2 or config.penalize == "all"]  # fmt: skip
    for epoch in range(1, config.epochs + 1):
        # this epoch's samples of every model, in its own order (its own generator)
        orders = torch.stack([torch.cat(list(samplers[run])) for run in stack.runs])
        orders = orders.to(Xtr.device)
        stack.skip_loader_draw()  # the training loader's iteration
        X_epoch, y_epoch = Xtr[orders], ytr[orders]
        batches = zip(X_epoch.split(config.batch_size, dim=1)[:n_batches],
                      y_epoch.split(config.batch_size, dim=1)[:n_batches])
        rows = None  # which rows of this epoch's data are still training, once one stops
        losses_seen = []  # per-sample losses (R, m) of each batch
        outputs = []  # (logits, labels) of each batch, scored once per epoch
        for batch, (xb, yb) in enumerate(batches, start=1):
            if rows is not None:
                xb, yb = xb[rows], yb[rows]
            R, m = yb.shape
            updates.zero_grad()
            logits = stack.forward(xb, training=True)
            losses = F.cross_entropy(logits.reshape(R * m, -1), yb.reshape(-1), reduction="none")
            # the sum over models of each model's mean loss: model r's slice gets
            # exactly the gradient of its own mean
            objective = losses.sum() / m
            if use_penalty:
                penalties = _penalty(stack, penalized, config.l1, config.l2)
                objective = objective + penalties.sum()
            if not math.isfinite(objective.item()):
                values = losses.detach().view(R, m).sum(1) / m
                if use_penalty:
                    values = values + penalties.detach()
                values = values.tolist()
                bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
                if bad:  # those models stop before this update, the others take it
                    for i in bad:
                        record = records[stack.runs[i]]
                        record.diverged_at = epoch
                        record.message = (
                            f"stopped in epoch {epoch}, batch {batch}: the loss was "
                            f"{values[i]}; the model keeps the weights that produced it"
                        )
                        record.final_state = stack.state_of(i)
                    kept = [i for i in range(R) if i not in bad]
                    if not kept:
                        stack.runs, stack.generators = [], []
                        return
                    per_model = losses.view(R, m).sum(1) / m
                    if use_penalty:
                        per_model = per_model + penalties
                    objective = per_model[kept].sum()
                    objective.backward()
                    optimizer = stack.keep(kept, optimizer, config)
                    updates = Updates(optimizer)
                    rows = kept if rows is None else [rows[i] for i in kept]
                    losses_seen = [x[kept] for x in losses_seen]
                    outputs = [(lg[kept], y[kept]) for lg, y in outputs]
                    logits, yb, losses = logits[kept], yb[kept], losses.view(R, m)[kept]
                    updates.step()
                    losses_seen.append(losses.detach().reshape(len(kept), m))
                    outputs.append((logits.detach(), yb))
                    continue
            objective.backward()
            updates.step()
            losses_seen.append(losses.detach().view(R, m))
            outputs.append((logits.detach(), yb))
        n_seen = sum(x.shape[1] for x in losses_seen)
        loss_sums = torch.cat(losses_seen, 1).sum(1)
        correct = (torch.cat([lg for lg, _ in outputs], 1).argmax(dim=2)
                   == torch.cat([y for _, y in outputs], 1)).sum(1)  # fmt: skip
        loss_sums, correct = loss_sums.tolist(), correct.tolist()
        stack.skip_loader_draw()  # the validation loader's iteration
        val_loss, val_acc = _evaluate(stack, Xval, yval)
        for i, run in enumerate(stack.runs):
            record = records[run]
            record.train_loss.append(loss_sums[i] / n_seen)
            record.train_accuracy.append(correct[i] / n_seen)
            record.val_loss.append(val_loss[i])
            record.val_accuracy.append(val_acc[i])


def _tensors(split: DigitsSplit, device: torch.device, dtype: torch.dtype):
    # float32 first, as DigitsDataset stores the features, then the training type
    return {
        name: (torch.as_tensor(part.X, dtype=torch.float32).to(device=device, dtype=dtype),
               torch.as_tensor(part.y, dtype=torch.int64).to(device))
        for name, part in split.parts().items()
    }  # fmt: skip


def train_stacked(
    configs: Sequence[TrainConfig],
    split: DigitsSplit | None = None,
    *,
    dtype: torch.dtype = torch.float32,
) -> list[ExperimentResult]:
    """Train R runs that differ only in their seed as one stacked model.

    Each run is the run :func:`labcode.experiment.run_experiment` trains for its
    configuration: the same initial weights, batches and (on the CPU) Dropout masks, the
    same optimizer, the same per-epoch validation and the same stopping rule on a
    non-finite loss. What is identical and what is equal up to round-off is told in the
    book's appendix (:ref:`engine-design`).

    Parameters
    ----------
    configs : sequence of TrainConfig
        R >= 1 configurations that differ only in ``seed`` (see :func:`check_stackable`).
    split : DigitsSplit, optional
        The data; by default the book's split, ``load_digits_split(seed=0)``.
    dtype : torch.dtype, default torch.float32
        The type of the weights and of the computation, one of :data:`DTYPES`. The
        features are rounded to float32 first, as
        :class:`labcode.torch_data.DigitsDataset` stores them.

    Returns
    -------
    list of ExperimentResult
        One per configuration, in their order, each as ``run_experiment`` returns it:
        the history, the final validation and test scores, and the trained model (a
        :class:`~labcode.models.SimpleMLP` or :class:`~labcode.models.ComplexMLP` on
        the CPU, in evaluation mode, of type ``dtype``). ``train_seconds`` is the
        stack's training time divided by R.

    Raises
    ------
    TypeError, ValueError
        For configurations one stack cannot train (:func:`check_stackable`), a ``split``
        that is not a :class:`~labcode.data.DigitsSplit`, a ``dtype`` outside
        :data:`DTYPES`, or an unavailable device.
    """
    configs = check_stackable(configs)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    if split is None:
        split = load_digits_split(seed=0)
    else:
        _validate.instance(split, DigitsSplit, "split")
    config = configs[0]
    device = resolve_device(config.device)
    seeds = [c.seed for c in configs]
    records = [_Record([], [], [], []) for _ in configs]
    with torch_threads(config.num_threads):
        models, generators = _initial_models(configs, split, device, dtype)
        stack = _stack_models(models, generators)
        optimizer = make_optimizer(config.optimizer, list(stack.params.values()), config.lr)
        data = _tensors(split, device, dtype)
        start = time.perf_counter()
        _train(stack, optimizer, config, data, seeds, records)
        seconds = time.perf_counter() - start
        for i, run in enumerate(stack.runs):
            records[run].final_state = stack.state_of(i)
        final = _Stack(stack.layers, {
            name: torch.stack([r.final_state[name] for r in records])
            for name in stack.params
        }, {
            name: torch.stack([r.final_state[name] for r in records])
            for name in stack.buffers
        }, list(range(len(configs))), [])  # fmt: skip
        val = _evaluate(final, *data["val"])
        test = _evaluate(final, *data["test"])
    results = []
    for r, (config_r, record, model) in enumerate(zip(configs, records, models)):
        model.load_state_dict(_model_state(record.final_state, stack.layers))
        model = model.cpu().eval()
        history = History.of_run(
            model, train_loss=record.train_loss, train_accuracy=record.train_accuracy,
            val_loss=record.val_loss, val_accuracy=record.val_accuracy,
            epochs_requested=config.epochs, diverged_at_epoch=record.diverged_at,
            message=record.message,
        )
        results.append(ExperimentResult(
            config=config_r, history=history,
            val_accuracy=val[1][r], val_loss=val[0][r],
            test_accuracy=test[1][r], test_loss=test[0][r],
            model=model, train_seconds=seconds / len(configs),
        ))  # fmt: skip
    return results
