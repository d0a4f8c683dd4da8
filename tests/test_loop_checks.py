"""Tests of the loop checkers: each passes the reference and a differently written correct
answer, and fails each classic mistake with its own hint."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labcode.checks import check_compare_values, check_evaluate, check_predict, check_train_epoch
from labcode.experiment import compare_values, run_experiment
from labcode.training import evaluate, predict, train_epoch


def _epoch(model, loader, optimizer, penalty=None, *, zero_grad=True, step_first=False,
           train=True, shuffle=True, per_batch_mean=False, keep_graph=False,
           use_penalty=True, report_penalty=False):
    """One epoch, correct by default, with one mistake switched on by a keyword."""
    if train:
        model.train()
    if not shuffle:
        loader = torch.utils.data.DataLoader(loader.dataset, batch_size=loader.batch_size)
    total, n, means = 0.0, 0, []
    for xb, yb in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        objective = loss + penalty(model) if (penalty is not None and use_penalty) else loss
        if step_first:
            optimizer.step()
            objective.backward()
        else:
            objective.backward()
            optimizer.step()
        reported = objective if report_penalty else loss
        total = total + (reported if keep_graph else reported.item()) * len(yb)
        n += len(yb)
        means.append(reported.item())
    return sum(means) / len(means) if per_batch_mean else total / n


def _with(**mistake):
    return lambda model, loader, optimizer, penalty=None: _epoch(
        model, loader, optimizer, penalty, **mistake)


def _epoch_written_differently(model, loader, optimizer, penalty=None):
    model.train(mode=True)
    total, count = torch.zeros(()), 0
    for batch in loader:
        xb, yb = batch
        model.zero_grad(set_to_none=False)
        ce = F.cross_entropy(model(xb), yb, reduction="sum") / yb.numel()
        (ce + (penalty(model) if penalty else 0)).backward()
        optimizer.step()
        total += ce.detach() * yb.numel()
        count += yb.numel()
    return (total / count).item()


@pytest.mark.parametrize("func", [train_epoch, _epoch_written_differently, _with()])
def test_train_epoch_checker_passes_correct_loops(func):
    assert check_train_epoch(func, verbose=False).passed


@pytest.mark.parametrize("mistake, words", [
    ({"zero_grad": False}, "optimizer.zero_grad() at the start of every batch"),
    ({"step_first": True}, "optimizer.step() ran before loss.backward()"),
    ({"train": False}, "call model.train() at the start of the epoch"),
    ({"shuffle": False}, "not shuffled: iterate over the loader you are given"),
    ({"per_batch_mean": True}, "the mean of the batch means"),
    ({"keep_graph": True}, "a tensor keeps the graph of every batch alive"),
    ({"use_penalty": False}, "the penalty was left out"),
    ({"report_penalty": True}, "the mean cross-entropy without the penalty"),
])
def test_train_epoch_checker_names_each_mistake(mistake, words):
    verdict = check_train_epoch(_with(**mistake), verbose=False)
    assert verdict.status == "failed"
    assert words in verdict.message
    assert verdict.use() is train_epoch


def _evaluate(model, loader, *, eval_mode=True, no_grad=True, per_batch_mean=False, dim=1):
    if eval_mode:
        model.eval()
    losses, accs, loss_sum, correct, n = [], [], 0.0, 0, 0
    with torch.no_grad() if no_grad else torch.enable_grad():
        for xb, yb in loader:
            logits = model(xb)
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
            hits = (logits.argmax(dim=dim) == yb).sum().item()
            correct += hits
            n += len(yb)
            losses.append(F.cross_entropy(logits, yb).item())
            accs.append(hits / len(yb))
    if per_batch_mean:
        return {"loss": sum(losses) / len(losses), "accuracy": sum(accs) / len(accs)}
    return {"loss": loss_sum / n, "accuracy": correct / n}


def _evaluate_written_differently(model, loader):
    model.train(False)
    logits, labels = [], []
    with torch.inference_mode():
        for xb, yb in loader:
            logits.append(model(xb))
            labels.append(yb)
    logits, labels = torch.cat(logits), torch.cat(labels)
    return {"accuracy": (logits.argmax(1) == labels).double().mean(),
            "loss": F.cross_entropy(logits, labels)}


@pytest.mark.parametrize("func", [evaluate, _evaluate, _evaluate_written_differently])
def test_evaluate_checker_passes_correct_answers(func):
    assert check_evaluate(func, verbose=False).passed


@pytest.mark.parametrize("mistake, words", [
    ({"eval_mode": False}, "call model.eval() first"),
    ({"no_grad": False}, "wrap the loop in with torch.no_grad()"),
    ({"per_batch_mean": True}, "mean of the batch"),
    ({"dim": 0}, "logits.argmax(dim=1)"),
])
def test_evaluate_checker_names_each_mistake(mistake, words):
    verdict = check_evaluate(lambda model, loader: _evaluate(model, loader, **mistake),
                             verbose=False)
    assert verdict.status == "failed"
    assert words in verdict.message


def _predict(model, X, *, eval_mode=True, no_grad=True, dim=1, numpy=True):
    if eval_mode:
        model.eval()
    with torch.no_grad() if no_grad else torch.enable_grad():
        out = model(torch.tensor(X, dtype=torch.float32)).argmax(dim=dim)
    return out.numpy() if numpy else out


def _predict_written_differently(model, X):
    model.eval()
    with torch.inference_mode():
        scores = model(torch.from_numpy(np.asarray(X)).float())
    return np.array([int(row.argmax()) for row in scores])


@pytest.mark.parametrize("func", [predict, _predict, _predict_written_differently])
def test_predict_checker_passes_correct_answers(func):
    assert check_predict(func, verbose=False).passed


@pytest.mark.parametrize("mistake, words", [
    ({"eval_mode": False}, "call model.eval() first"),
    ({"no_grad": False}, "wrap the loop in with torch.no_grad()"),
    ({"dim": 0}, "logits.argmax(dim=1)"),
    ({"numpy": False}, "return logits.argmax(dim=1).numpy()"),
])
def test_predict_checker_names_each_mistake(mistake, words):
    verdict = check_predict(lambda model, X: _predict(model, X, **mistake), verbose=False)
    assert verdict.status == "failed"
    assert words in verdict.message


def _compare(split, param, values, base, *, pick=lambda r: r.val_accuracy, fresh=False,
             set_value=True):
    from labcode.experiment import TrainConfig

    out = []
    for value in values:
        if fresh:
            config = TrainConfig(**{param: value})
        else:
            config = base.replace(**{param: value}) if set_value else base
        out.append(pick(run_experiment(config, split)))
    return out


def _compare_written_differently(split, param, values, base):
    return np.array([run_experiment(base.replace(**{param: v}), split).history.val_accuracy[-1]
                     for v in values])


@pytest.mark.parametrize("func", [compare_values, _compare, _compare_written_differently])
def test_compare_values_checker_passes_correct_answers(func):
    assert check_compare_values(func, verbose=False).passed


@pytest.mark.parametrize("mistake, words", [
    ({"pick": lambda r: r.test_accuracy}, "that is the test accuracy"),
    ({"pick": lambda r: r.history.train_accuracy[-1]}, "that is the training accuracy"),
    ({"pick": lambda r: max(r.history.val_accuracy)}, "the best epoch's accuracy"),
    ({"set_value": False}, "every run used the same settings"),
    ({"fresh": True}, "start every config from base"),
])
def test_compare_values_checker_names_each_mistake(mistake, words):
    verdict = check_compare_values(
        lambda split, param, values, base: _compare(split, param, values, base, **mistake),
        verbose=False)
    assert verdict.status == "failed"
    assert words in verdict.message


def test_a_passing_reference_says_whose_code_was_checked():
    message = check_evaluate(evaluate, verbose=False).message
    assert "on labcode's reference solution,\n  labcode.training.evaluate," in message
    assert "In the student edition this check runs on your code." in message
    assert "reference" not in check_evaluate(_evaluate, verbose=False).message


def test_starters_are_not_implemented():
    def starter(*args, **kwargs):
        raise NotImplementedError

    for checker in (check_train_epoch, check_evaluate, check_predict, check_compare_values):
        assert checker(starter, verbose=False).status == "not implemented"
