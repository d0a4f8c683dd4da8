"""Tests of labcode.baselines: scikit-learn on the book's split."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from labcode.baselines import SKLEARN_GD_LR, fit_and_score, full_batch_mlp, logistic_regression
from labcode.data import load_digits_split
from labcode.engine.setups import LAB_SETUP


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def split():
    return load_digits_split(seed=0)


def test_full_batch_mlp_runs_plain_gradient_descent():
    m = full_batch_mlp((32,), n_train=1077, epochs=500, seed=0)
    assert isinstance(m, MLPClassifier)
    p = m.get_params()
    assert p["hidden_layer_sizes"] == (32,) and p["activation"] == "logistic"
    assert p["solver"] == "sgd" and p["learning_rate"] == "constant" and p["momentum"] == 0.0
    assert p["batch_size"] == 1077 and p["max_iter"] == p["n_iter_no_change"] == 500
    assert p["alpha"] == 0.0 and p["shuffle"] is False and p["learning_rate_init"] == SKLEARN_GD_LR


def test_fit_and_score_runs_every_iteration_and_reports_each_part(split):
    m = full_batch_mlp((), n_train=len(split.train), epochs=20, seed=0)
    scores = fit_and_score(m, split)  # warnings are errors: the ConvergenceWarning is silenced
    assert set(scores) == {"train", "val", "test", "fit_seconds"}
    assert m.n_iter_ == 20
    assert all(0.0 <= scores[k] <= 1.0 for k in ("train", "val", "test"))
    assert scores["test"] == m.score(split.test.X, split.test.y)


def test_sklearn_learning_rate_was_chosen_on_validation(split):
    # SKLEARN_GD_LR's docstring: the best validation accuracy of this grid, 500
    # iterations, no hidden layer (the smaller rate on a tie)
    grid = (0.1, 0.3, 1.0, 3.0, 10.0)
    val = {}
    for lr in grid:
        m = full_batch_mlp((), n_train=len(split.train), epochs=500, seed=0, lr=lr)
        val[lr] = fit_and_score(m, split)["val"]
    assert min(grid, key=lambda lr: (-val[lr], lr)) == SKLEARN_GD_LR


def test_logistic_regression_is_a_strong_linear_baseline(split):
    m = logistic_regression(seed=0)
    assert isinstance(m, LogisticRegression) and m.get_params()["C"] == 1.0
    scores = fit_and_score(m, split)
    assert scores["test"] >= 0.93
    assert np.all(m.n_iter_ < 2000)  # L-BFGS converged


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: full_batch_mlp((0,), n_train=10, epochs=5, seed=0), ValueError, r"hidden_layer_sizes\[0\] must be an int >= 1"),
        (lambda: full_batch_mlp((), n_train=10, epochs=0, seed=0), ValueError, r"epochs must be an int >= 1, got 0"),
        (lambda: full_batch_mlp((), n_train=10, epochs=5, seed=0, lr=0.0), ValueError, r"lr must be a finite number above 0"),
        (lambda: logistic_regression(seed=-2), ValueError, r"seed must be an int >= 0, got -2"),
        (lambda: fit_and_score(logistic_regression(seed=0), "split"), TypeError, r"split must be a labcode.data.DigitsSplit, got str"),
    ],
)
def test_baselines_reject_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_same_iteration_budget_as_the_lab_network():
    # the benchmark and the chapter compare like with like
    m = full_batch_mlp((), n_train=1077, epochs=LAB_SETUP.epochs, seed=LAB_SETUP.seed)
    assert m.get_params()["max_iter"] == LAB_SETUP.epochs


def test_numpy_networks_are_in_the_same_league_as_scikit_learn(split):
    # the chapter's comparison: all five test accuracies within a few percentage points
    from labcode.data import one_hot
    from labcode.engine.setups import HIDDEN_SETUP

    accuracies = []
    for setup in (LAB_SETUP, HIDDEN_SETUP):
        net = setup.build()
        net.fit(split.train.X, one_hot(split.train.y), lr=setup.lr, epochs=setup.epochs)
        accuracies.append(net.accuracy(split.test.X, split.test.y))
    n = len(split.train)
    for estimator in (
        logistic_regression(seed=0),
        full_batch_mlp((), n_train=n, epochs=LAB_SETUP.epochs, seed=LAB_SETUP.seed),
        full_batch_mlp(HIDDEN_SETUP.layer_sizes[1:-1], n_train=n, epochs=HIDDEN_SETUP.epochs,
                       seed=HIDDEN_SETUP.seed),
    ):
        accuracies.append(fit_and_score(estimator, split)["test"])
    assert max(accuracies) - min(accuracies) < 0.03
