"""The stacked trainer: R seeds trained as one model are R separate runs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from labcode.data import DigitsSplit, Partition, load_digits_split
from labcode.engine.stacked import check_stackable, train_stacked
from labcode.experiment import ExperimentResult, TrainConfig, run_experiment, torch_threads
from labcode.models import ComplexMLP, build_model
from labcode.torch_data import make_loaders
from labcode.training import OPTIMIZERS, History, fit, make_optimizer

import numerics

SEEDS = (0, 1, 2)

# A stacked model and a separate run compute the same float32 numbers with sums ordered
# differently (batched matrix products against plain ones, and each CPU's kernels): after
# one epoch of 20 batches of 32 they agree to the round-off of 20 forward and backward
# passes (tests/numerics.py), relative to the scale of the weights, that of the first
# layer (1 / sqrt(64)). The recorded training loss is the mean of the 20 batches' losses,
# each seen after at most those 20 passes: the same bound, plus the 20 additions of the mean.
def _twenty_steps_roundings(model: str) -> int:
    return numerics.training(steps=20, batch=32, **numerics.MODELS[model])


def twenty_steps_tolerance(model: str = "simple") -> dict[str, float]:
    """``rtol`` and ``atol`` for a weight after one epoch of ``twenty_steps``."""
    rtol = numerics.rtol(torch.float32, _twenty_steps_roundings(model))
    return {"rtol": rtol, "atol": rtol * numerics.init_scale(numerics.FEATURES)}


def twenty_steps_loss_tolerance(model: str = "simple") -> dict[str, float]:
    """``rtol`` and ``atol`` for the training loss of one epoch of ``twenty_steps``."""
    return {"rtol": numerics.rtol(torch.float32, _twenty_steps_roundings(model) + 20),
            "atol": 0.0}


# optimizers that divide by a running scale of the gradient with a tiny epsilon: they
# turn round-off in a gradient that should be exactly zero into full-size steps
SCALE_INVARIANT = ("adam", "adamw", "nadam", "rmsprop", "adagrad")


@pytest.fixture(scope="module")
def split() -> DigitsSplit:
    return load_digits_split(seed=0)


@pytest.fixture(scope="module")
def twenty_steps(split) -> DigitsSplit:
    """The split with 640 training images: one epoch is 20 batches of 32."""
    train = Partition(split.train.X[:640], split.train.y[:640])
    return DigitsSplit(train, split.val, split.test, split.seed)


def _before_batchnorm(name: str) -> bool:
    """A Linear bias that BatchNorm follows, or the running mean it shifts."""
    return name.startswith("blocks.") and (
        name.endswith(".0.bias") or name.endswith(".running_mean"))


@pytest.mark.parametrize("model", ["simple", "complex"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_twenty_steps_match_separate_runs(twenty_steps, model, optimizer):
    configs = [TrainConfig(model=model, optimizer=optimizer, epochs=1, seed=s) for s in SEEDS]
    stacked = train_stacked(configs, twenty_steps)
    for config, result in zip(configs, stacked):
        separate = run_experiment(config, twenty_steps)
        expected, got = separate.model.state_dict(), result.model.state_dict()
        assert list(got) == list(expected)
        for name, value in expected.items():
            assert got[name].dtype == value.dtype and got[name].shape == value.shape
            if optimizer in SCALE_INVARIANT and _before_batchnorm(name):
                # BatchNorm subtracts the batch mean, so the true gradient of the bias
                # before it is zero; its computed gradient is round-off, which these
                # optimizers scale up to steps of about lr (at most ten times lr for
                # RMSprop's first step): the bias is not comparable to round-off
                assert (got[name] - value).abs().max() <= 20 * 10 * config.lr
            elif optimizer in SCALE_INVARIANT and model == "complex":
                # the same optimizers scale each entry by its own gradient history, so
                # the round-off of a nearly-cancelling gradient (BatchNorm makes some)
                # reaches the step as it is: equal to a small part of one step
                torch.testing.assert_close(got[name], value, rtol=1e-4, atol=0.05 * config.lr)
            else:
                torch.testing.assert_close(got[name], value, **twenty_steps_tolerance(model))
        torch.testing.assert_close(result.history.train_loss, separate.history.train_loss,
                                   **twenty_steps_loss_tolerance(model))
        if model == "simple" or optimizer not in SCALE_INVARIANT:
            assert result.history.val_accuracy == separate.history.val_accuracy
            assert result.test_accuracy == separate.test_accuracy


class _Float64:
    """A loader's batches with the features cast to float64."""

    def __init__(self, loader):
        self.loader = loader

    def __iter__(self):
        for xb, yb in self.loader:
            yield xb.double(), yb


def _separate_float64(config: TrainConfig, split: DigitsSplit):
    """run_experiment's run, in float64: same seeding, loaders, optimizer and fit."""
    with torch_threads(config.num_threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        loaders = make_loaders(split, batch_size=config.batch_size, seed=config.seed)
        model = build_model(config.model, hidden_size=config.hidden_size).double()
        optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
        history = fit(model, _Float64(loaders.train), optimizer=optimizer,
                      epochs=config.epochs, val_loader=_Float64(loaders.val))
    return model, history


def _test_predictions(model: torch.nn.Module, split: DigitsSplit) -> torch.Tensor:
    X = torch.as_tensor(split.test.X, dtype=torch.float32).double()
    model.eval()
    with torch.no_grad():
        return model(X).argmax(dim=1)


@pytest.mark.parametrize("model, seeds", [("simple", SEEDS), ("complex", (0, 1))])
def test_full_run_in_float64_gives_the_same_predictions(split, model, seeds):
    configs = [TrainConfig(model=model, seed=s) for s in seeds]  # Step 3: 50 epochs, Adam
    stacked = train_stacked(configs, split, dtype=torch.float64)
    for config, result in zip(configs, stacked):
        separate, history = _separate_float64(config, split)
        assert next(result.model.parameters()).dtype == torch.float64
        assert torch.equal(_test_predictions(result.model, split),
                           _test_predictions(separate, split))
        assert result.history.val_accuracy == history.val_accuracy
        # float64, 50 epochs of 34 steps (1077 images in batches of 32), stacked or alone
        steps = config.epochs * -(-len(split.train.y) // config.batch_size)
        n = numerics.training(steps=steps, batch=config.batch_size, **numerics.MODELS[model])
        torch.testing.assert_close(result.history.train_loss, history.train_loss,
                                   rtol=numerics.rtol(torch.float64, n), atol=0.0)


def test_results_are_shaped_like_run_experiments(twenty_steps):
    configs = [TrainConfig(model="complex", epochs=2, seed=s) for s in (3, 7)]
    stacked = train_stacked(configs, twenty_steps)
    assert len(stacked) == 2
    for config, result in zip(configs, stacked):
        separate = run_experiment(config, twenty_steps)
        assert isinstance(result, ExperimentResult) and result.config == config
        assert type(result.model) is type(separate.model) is ComplexMLP
        assert result.model.training == separate.model.training
        assert next(result.model.parameters()).device.type == "cpu"
        assert isinstance(result.history, History)
        for field in dataclasses.fields(History):
            a, b = getattr(result.history, field.name), getattr(separate.history, field.name)
            assert type(a) is type(b)
            if field.name not in History.COLUMNS:
                assert a == b, field.name
        assert len(result.history) == len(separate.history) == 2
        assert result.to_row().keys() == separate.to_row().keys()
        assert result.train_seconds > 0


def _assert_close_to_scale(got: torch.Tensor, value: torch.Tensor, name: str) -> None:
    """Equal up to float32 round-off of the tensor's largest finite entry (and same non-finites)."""
    if not value.is_floating_point():
        assert torch.equal(got, value), name
        return
    finite = torch.isfinite(value)
    assert torch.equal(finite, torch.isfinite(got)), name
    if finite.any():
        scale = value[finite].abs().max()
        assert (got[finite] - value[finite]).abs().max() <= 1e-5 * scale, name


def test_divergence_is_recorded_as_run_experiment_records_it(split):
    configs = [TrainConfig(optimizer="sgd", lr=1e20, epochs=3, seed=s) for s in SEEDS]
    stacked = train_stacked(configs, split)
    for config, result in zip(configs, stacked):
        separate = run_experiment(config, split)
        assert result.history == separate.history
        assert result.diverged and result.history.diverged_at_epoch == 1
        # one step of 1e20 times a gradient: round-off relative to the largest weight
        for name, value in separate.model.state_dict().items():
            _assert_close_to_scale(result.model.state_dict()[name], value, name)


def test_a_diverging_model_leaves_the_others_as_they_would_be(twenty_steps):
    # with this learning rate seeds 1 and 2 diverge in epoch 1 and the others train on
    configs = [TrainConfig(optimizer="sgd_momentum", lr=1e8, epochs=2, seed=s) for s in range(6)]
    stacked = train_stacked(configs, twenty_steps)
    separate = [run_experiment(config, twenty_steps) for config in configs]
    diverged = [r.diverged for r in separate]
    assert any(diverged) and not all(diverged), "pick a learning rate that splits the seeds"
    survivors = train_stacked([c for c, d in zip(configs, diverged) if not d], twenty_steps)
    for result, expected in zip(stacked, separate):
        assert result.history.diverged_at_epoch == expected.history.diverged_at_epoch
        assert result.history.message == expected.history.message
        assert len(result.history) == len(expected.history)
        # steps of 1e8 cancel in huge sums: round-off relative to the largest weight
        for name, value in expected.model.state_dict().items():
            _assert_close_to_scale(result.model.state_dict()[name], value, name)
    # and the survivors train exactly as a stack of the survivors alone
    for result, alone in zip([r for r, d in zip(stacked, diverged) if not d], survivors):
        assert result.history == alone.history
        for name, value in alone.model.state_dict().items():
            assert torch.equal(result.model.state_dict()[name], value), name


def test_penalties_match_separate_runs(twenty_steps):
    for l1, l2, penalize in ((1e-3, 0.0, "weights"), (0.0, 1e-2, "all")):
        configs = [TrainConfig(optimizer="sgd_momentum", lr=1e-2, epochs=1, l1=l1, l2=l2,
                               penalize=penalize, seed=s) for s in (0, 1)]
        for config, result in zip(configs, train_stacked(configs, twenty_steps)):
            separate = run_experiment(config, twenty_steps)
            for name, value in separate.model.state_dict().items():
                torch.testing.assert_close(result.model.state_dict()[name], value,
                                           **twenty_steps_tolerance())
            # float32 losses kept in Python floats: float32's tolerance, not float64's
            torch.testing.assert_close(result.history.train_loss, separate.history.train_loss,
                                       **twenty_steps_loss_tolerance())


def test_one_model_is_a_stack_of_one(twenty_steps):
    config = TrainConfig(epochs=1, seed=4)
    (result,) = train_stacked([config], twenty_steps)
    separate = run_experiment(config, twenty_steps)
    for name, value in separate.model.state_dict().items():
        torch.testing.assert_close(result.model.state_dict()[name], value, **twenty_steps_tolerance())


@pytest.mark.parametrize(
    "configs, error, words",
    [
        ([], ValueError, "at least one"),
        (TrainConfig(), TypeError, "sequence"),
        ([TrainConfig(), "adam"], TypeError, "configs[1]"),
        ([TrainConfig(seed=0), TrainConfig(seed=1, lr=1e-2)], ValueError, "configs[1].lr is 0.01"),
        ([TrainConfig(seed=0), TrainConfig(seed=1, model="complex")], ValueError,
         "configs[1].model is 'complex'"),
        ([TrainConfig(seed=2), TrainConfig(seed=2)], ValueError, "seed=2 repeats"),
    ],
)
def test_bad_configurations_are_refused(configs, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")
                       .replace(".", r"\.")):
        check_stackable(configs)
    with pytest.raises(error):
        train_stacked(configs)


def test_bad_split_and_dtype_are_refused():
    with pytest.raises(TypeError, match="split must be"):
        train_stacked([TrainConfig()], split="digits")
    with pytest.raises(ValueError, match="dtype must be"):
        train_stacked([TrainConfig()], dtype=torch.float16)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_same_code_trains_on_a_gpu(twenty_steps):
    configs = [TrainConfig(model=m, epochs=1, seed=s, device="cuda")
               for m in ("simple",) for s in SEEDS]
    for config, result in zip(configs, train_stacked(configs, twenty_steps)):
        separate = run_experiment(config, twenty_steps)
        for name, value in separate.model.state_dict().items():
            torch.testing.assert_close(result.model.state_dict()[name], value,
                                       rtol=1e-4, atol=1e-5)
    complex_runs = train_stacked(
        [TrainConfig(model="complex", epochs=1, seed=s, device="cuda") for s in SEEDS],
        twenty_steps)
    assert all(0.0 <= r.test_accuracy <= 1.0 for r in complex_runs)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd_momentum"])
def test_the_direct_update_is_the_optimizers_step_bit_for_bit(name):
    from labcode.engine._updates import Updates

    torch.manual_seed(0)
    start = [torch.randn(3, 5, 4), torch.randn(3, 4)]
    grads = [[torch.randn_like(p) for p in start] for _ in range(4)]
    a = [torch.nn.Parameter(p.clone()) for p in start]
    b = [torch.nn.Parameter(p.clone()) for p in start]
    reference, updates = make_optimizer(name, a, 1e-2), Updates(make_optimizer(name, b, 1e-2))
    assert updates.fast == (name != "sgd_momentum")
    for step in grads:
        reference.zero_grad()
        updates.zero_grad()
        for p, q, g in zip(a, b, step):
            p.grad, q.grad = g.clone(), g.clone()
        reference.step()
        updates.step()
    for p, q in zip(a, b):
        assert torch.equal(p, q)
    for p, q in zip(a, b):
        for key, value in reference.state[p].items():
            assert torch.equal(updates.optimizer.state[q][key], value), key


def test_models_that_diverge_in_the_first_step_leave_the_others_training(
        twenty_steps, monkeypatch):
    # a stack whose first step already stops one model: the other's Adam state starts fresh
    from labcode.engine import stacked as stacked_module

    configs = [TrainConfig(lr=1e-3, epochs=1, seed=s) for s in (0, 1)]
    clean = train_stacked(configs, twenty_steps)
    original, calls = stacked_module._Stack.forward, []

    def first_loss_infinite(self, x, training):
        logits = original(self, x, training)
        calls.append(training)
        if calls == [True]:  # the first training step: model 0's loss becomes inf
            logits = logits.clone()
            logits[0, 0, 0] = float("inf")
        return logits

    monkeypatch.setattr(stacked_module._Stack, "forward", first_loss_infinite)
    first, second = train_stacked(configs, twenty_steps)
    assert first.history.diverged_at_epoch == 1 and "batch 1:" in first.history.message
    assert len(first.history) == 0 and not second.diverged
    for name, value in clean[1].model.state_dict().items():
        torch.testing.assert_close(second.model.state_dict()[name], value, **twenty_steps_tolerance())


def _without(layer: int):
    """The "complex" model with one layer of every block replaced by nn.Identity."""
    from labcode.models import complex_from_table

    def build(**sizes):
        model = complex_from_table(**sizes)
        for block in model.blocks:
            block[layer] = torch.nn.Identity()
        return model

    return build


@pytest.mark.parametrize("layer, name", [(1, "test_no_batchnorm"), (3, "test_no_dropout")])
def test_a_model_with_identity_layers_stacks(twenty_steps, monkeypatch, layer, name):
    from labcode import models
    from labcode.engine.stacked import is_stackable

    monkeypatch.setitem(models.MODELS, name, _without(layer))
    assert is_stackable(name)
    configs = [TrainConfig(model=name, optimizer="sgd_momentum", epochs=1, seed=s) for s in (0, 1)]
    for config, result in zip(configs, train_stacked(configs, twenty_steps)):
        separate = run_experiment(config, twenty_steps)
        for key, value in separate.model.state_dict().items():
            torch.testing.assert_close(result.model.state_dict()[key], value,
                                       **twenty_steps_tolerance("complex"))


def test_a_model_with_other_layers_is_refused_and_the_sweep_trains_it_alone(
        twenty_steps, monkeypatch):
    from labcode import models
    from labcode.engine.pool import SerialExecutor
    from labcode.engine.stacked import is_stackable
    from labcode.engine.sweep import sweep

    def tanh_mlp(**sizes):
        model = models.SimpleMLP(**sizes)
        model.relu = torch.nn.Tanh()
        return model

    monkeypatch.setitem(models.MODELS, "test_tanh", tanh_mlp)
    assert not is_stackable("test_tanh") and is_stackable("simple") and is_stackable("complex")
    assert not is_stackable("no such model")
    config = TrainConfig(model="test_tanh", epochs=1)
    with pytest.raises(ValueError, match="the model 'test_tanh' cannot be stacked: relu: a Tanh"):
        check_stackable([config])

    class Counting(SerialExecutor):
        submitted = 0

        def submit(self, fn, /, *args, **kwargs):
            Counting.submitted += 1
            return super().submit(fn, *args, **kwargs)

    result = sweep(config, "epochs", [1], seeds=(0, 1), split=twenty_steps, executor=Counting())
    assert Counting.submitted == 2  # one task per run, each trained by run_experiment
    alone = run_experiment(config.replace(seed=1), twenty_steps)
    assert result.runs["test_accuracy"].iloc[1] == alone.test_accuracy
