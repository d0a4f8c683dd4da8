"""Tests of labcode.numpy_net: every block's backward, the whole network, training, failure.

Three references for the gradients: central finite differences (labcode.gradcheck),
torch.autograd on identical weights, and gradient-descent steps worked out by hand.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from labcode.data import add_bias, load_digits_split, one_hot
from labcode.gradcheck import TOLERANCE, numerical_gradient, relative_error
from labcode.numpy_net import (
    NumpyNetwork,
    CHANCE_MARGIN,
    SATURATED_SLOPE,
    TrainingDiverged,
    TrainingSaturated,
    fc_backward,
    fc_forward,
    gradient_step,
    mse_loss,
    sigmoid_backward,
    sigmoid_forward,
)
from labcode.engine.setups import (
    HIDDEN_SETUP,
    LAB_SETUP,
    LEARNING_RATES,
    TrainingSetup,
    best_learning_rate,
    compare_learning_rates,
)

import numerics

TOL = TOLERANCE  # 1e-7: relative error of every analytic gradient against finite differences


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Run this module's small matrix products on one thread.

    They are far too small to gain from threads, and on a busy machine a second BLAS
    thread makes the learning-rate comparisons several times slower. Results do not
    depend on it beyond rounding.
    """
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def split():
    return load_digits_split(seed=0)


@pytest.fixture(scope="module")
def batch(split):
    """A small batch of real digits: 16 images and their one-hot labels."""
    return split.train.X[:16], one_hot(split.train.y[:16])


# --- the blocks ----------------------------------------------------------------------


def test_fc_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = add_bias(rng.normal(size=(7, 5)))
    W = rng.normal(size=(6, 3))
    G = rng.normal(size=(7, 3))  # an upstream gradient dL/dZ, with L = sum(G * Z)
    dX, dW = fc_backward(G, fc_forward(X, W)[1])
    loss = lambda _: float(np.sum(G * fc_forward(X, W)[0]))  # noqa: E731
    assert relative_error(dW, numerical_gradient(loss, W)) < TOL
    assert relative_error(dX, numerical_gradient(loss, X)) < TOL
    assert dX.shape == X.shape and dW.shape == W.shape


def test_sigmoid_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    Z = rng.normal(scale=3.0, size=(6, 4))
    G = rng.normal(size=(6, 4))
    dZ = sigmoid_backward(G, sigmoid_forward(Z)[1])
    num = numerical_gradient(lambda _: float(np.sum(G * sigmoid_forward(Z)[0])), Z)
    assert relative_error(dZ, num) < TOL


def test_mse_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    A = rng.random((5, 4))
    Y = one_hot(rng.integers(0, 4, size=5), num_classes=4)
    loss, dA = mse_loss(A, Y)
    assert relative_error(dA, numerical_gradient(lambda _: mse_loss(A, Y)[0], A)) < TOL
    # float64, positive terms: a difference and a square each, a mean of 20
    assert loss == pytest.approx(np.mean((A - Y) ** 2), rel=numerics.rtol(np.float64, A.size + 2))


def test_sigmoid_values_and_stability():
    Z = np.array([[-1e4, -1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0, 1e4]])
    A, cache = sigmoid_forward(Z)  # warnings are errors in this test suite
    assert np.all(np.isfinite(A))
    assert A[0, 4] == 0.5
    # float64, each way an exp, an addition and a division (numpy's exp differs by CPU)
    rel = numerics.rtol(np.float64, 3)
    np.testing.assert_allclose(A[0, [3, 5]], [1 / (1 + np.e), 1 / (1 + 1 / np.e)], rtol=rel)
    assert A[0, 0] == 0.0 and A[0, -1] == 1.0
    # the far tail keeps its relative precision: sigmoid(-40) = exp(-40) / (1 + exp(-40))
    assert A[0, 2] == pytest.approx(np.exp(-40.0), rel=rel)
    np.testing.assert_allclose(A + A[:, ::-1], 1.0, rtol=rel)  # sigmoid(-z) = 1 - sigmoid(z)
    assert cache is A
    dZ = sigmoid_backward(np.ones_like(Z), cache)
    assert np.all(np.isfinite(dZ)) and dZ[0, 4] == 0.25 and dZ[0, 0] == 0.0


def test_blocks_match_torch():
    rng = np.random.default_rng(4)
    X = add_bias(rng.normal(size=(8, 5)))
    W = rng.normal(size=(6, 3))
    Y = one_hot(rng.integers(0, 3, size=8), num_classes=3)
    Z, fc_cache = fc_forward(X, W)
    A, sig_cache = sigmoid_forward(Z)
    loss, dA = mse_loss(A, Y)
    dW = fc_backward(sigmoid_backward(dA, sig_cache), fc_cache)[1]

    Wt = torch.tensor(W, requires_grad=True)
    At = torch.sigmoid(torch.tensor(X) @ Wt)
    lt = F.mse_loss(At, torch.tensor(Y), reduction="mean")
    lt.backward()
    # float64, NumPy's BLAS against torch's: a dot product of 6 terms and the sigmoid, on
    # terms of the size of |X| @ |W| (the sigmoid's slope is at most 1/4); the loss, a
    # mean of 24 squares of such outputs; dW, a sum over the 8 rows on |X|.T @ |dZ|
    r = numerics.rtol(np.float64, numerics.sigmoid_mlp_chain((5, 3), batch=8))
    a_tol = r * (np.abs(X) @ np.abs(W)).max() / 4
    np.testing.assert_allclose(A, At.detach().numpy(), rtol=r, atol=a_tol)
    assert loss == pytest.approx(lt.item(), rel=r, abs=2 * a_tol)
    dZ = sigmoid_backward(dA, sig_cache)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=r,
                               atol=r * (np.abs(X).T @ np.abs(dZ)).max())


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: fc_forward(np.zeros((4, 3)), np.zeros((5, 2))),
         r"X of shape \(4, 3\) and W of shape \(5, 2\) do not fit: X.shape\[1\] = 3 must equal W.shape\[0\] = 5"),
        (lambda: fc_forward(np.zeros(3), np.zeros((3, 2))), r"X must be 2-D, got shape \(3,\)"),
        (lambda: fc_backward(np.zeros((4, 3)), (np.zeros((4, 5)), np.zeros((5, 2)))),
         r"dZ of shape \(4, 3\) does not match Z = X @ W of shape \(4, 2\)"),
        (lambda: sigmoid_backward(np.zeros((2, 3)), np.zeros((3, 2))),
         r"dA of shape \(2, 3\) does not match A of shape \(3, 2\)"),
        (lambda: mse_loss(np.zeros((4, 10)), np.zeros((4, 9))),
         r"Y of shape \(4, 9\) does not match A of shape \(4, 10\)"),
    ],
)
def test_blocks_name_both_shapes_on_mismatch(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_blocks_reject_other_dtypes():
    with pytest.raises(TypeError, match=r"W must be a float64 NumPy array, got array of shape \(3, 2\) and dtype float32"):
        fc_forward(np.zeros((4, 3)), np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(TypeError, match=r"Z must be a float64 NumPy array, got list"):
        sigmoid_forward([[0.0]])


# --- the whole network ------------------------------------------------------------------


@pytest.mark.parametrize("layer_sizes", [(64, 10), (64, 16, 10), (64, 12, 8, 10)])
def test_network_gradients_match_finite_differences(batch, layer_sizes):
    X, Y = batch
    net = NumpyNetwork(layer_sizes, seed=3)
    loss, grads = net.loss_and_grads(X, Y)
    assert list(grads) == list(net.params)
    for key, W in net.params.items():
        num = numerical_gradient(lambda _: net.loss_and_grads(X, Y)[0], W)
        assert grads[key].shape == W.shape
        assert relative_error(grads[key], num) < TOL, key


@pytest.mark.parametrize("layer_sizes", [(64, 10), (64, 16, 10), (64, 12, 8, 10)])
def test_network_matches_torch_autograd(split, layer_sizes):
    X, Y = split.train.X[:100], one_hot(split.train.y[:100])
    net = NumpyNetwork(layer_sizes, seed=5)
    loss, grads = net.loss_and_grads(X, Y)

    weights = {k: torch.tensor(W, requires_grad=True) for k, W in net.params.items()}
    h = torch.tensor(X)
    for k in weights:
        h = torch.sigmoid(torch.cat([h, torch.ones(h.shape[0], 1, dtype=h.dtype)], dim=1) @ weights[k])
    lt = F.mse_loss(h, torch.tensor(Y), reduction="mean")
    lt.backward()
    # float64, NumPy's BLAS against torch's, on 100 images: the longest chain of the
    # forward and backward pass (tests/numerics.py); outputs and loss on their own scale,
    # each gradient on the scale of its largest entry (a sum over the batch may cancel)
    r = numerics.rtol(np.float64, numerics.sigmoid_mlp_chain(layer_sizes, batch=len(X)))
    assert loss == pytest.approx(lt.item(), rel=r)
    np.testing.assert_allclose(net.forward(X), h.detach().numpy(), rtol=r, atol=r)
    for k, W in weights.items():
        expected = W.grad.numpy()
        np.testing.assert_allclose(grads[k], expected, rtol=r, atol=r * np.abs(expected).max(),
                                   err_msg=k)


def test_one_gradient_step_worked_by_hand():
    # One input, two outputs. Z = 2 * 0.5 - 1 = 0 and 2 * 0 + 0 = 0, so A = [0.5, 0.5].
    # loss = ((0.5 - 1)^2 + (0.5 - 0)^2) / 2 = 0.25
    # dA = 2 (A - Y) / 2 = [-0.5, 0.5];  dZ = dA * 0.5 * 0.5 = [-0.125, 0.125]
    # dW = [x, 1]^T dZ = [[-0.25, 0.25], [-0.125, 0.125]]
    # W - 0.4 dW = [[0.5 + 0.1, 0 - 0.1], [-1 + 0.05, 0 - 0.05]]
    net = NumpyNetwork((1, 2), seed=0)
    net.params["W1"][...] = [[0.5, 0.0], [-1.0, 0.0]]
    X, Y = np.array([[2.0]]), np.array([[1.0, 0.0]])
    loss, grads = net.loss_and_grads(X, Y)
    assert loss == 0.25
    np.testing.assert_array_equal(grads["W1"], [[-0.25, 0.25], [-0.125, 0.125]])
    history = net.fit(X, Y, lr=0.4, epochs=1)
    np.testing.assert_array_equal(history.loss, [0.25])
    assert not history.saturated and history.saturated_at is None
    np.testing.assert_allclose(net.params["W1"], [[0.6, -0.1], [-0.95, -0.05]], rtol=1e-15)


def test_one_gradient_step_through_a_hidden_layer_worked_by_hand():
    # (1, 1, 1): Z1 = 2 * 0.5 - 1 = 0, A1 = 0.5;  Z2 = 0.5 * 2 - 1 = 0, A2 = 0.5
    # loss = (0.5 - 1)^2 = 0.25;  dA2 = 2 (0.5 - 1) = -1;  dZ2 = -1 * 0.25 = -0.25
    # dW2 = [A1, 1]^T dZ2 = [[-0.125], [-0.25]]
    # dA1 = dZ2 * W2[0] = -0.5;  dZ1 = -0.5 * 0.25 = -0.125;  dW1 = [2, 1]^T dZ1 = [[-0.25], [-0.125]]
    # with lr = 0.4: W1 = [[0.6], [-0.95]], W2 = [[2.05], [-0.9]]
    net = NumpyNetwork((1, 1, 1), seed=0)
    net.params["W1"][...] = [[0.5], [-1.0]]
    net.params["W2"][...] = [[2.0], [-1.0]]
    X, Y = np.array([[2.0]]), np.array([[1.0]])
    loss, grads = net.loss_and_grads(X, Y)
    assert loss == 0.25
    np.testing.assert_array_equal(grads["W2"], [[-0.125], [-0.25]])
    np.testing.assert_array_equal(grads["W1"], [[-0.25], [-0.125]])
    net.fit(X, Y, lr=0.4, epochs=1)
    np.testing.assert_allclose(net.params["W1"], [[0.6], [-0.95]], rtol=1e-15)
    np.testing.assert_allclose(net.params["W2"], [[2.05], [-0.9]], rtol=1e-15)


def test_initialization_is_seeded_and_scaled():
    a, b, c = (NumpyNetwork((64, 32, 10), seed=s) for s in (7, 7, 8))
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
        assert not np.array_equal(a.params[key], c.params[key])
    big = NumpyNetwork((400, 300), seed=0).params["W1"]
    assert big.shape == (401, 300)
    np.testing.assert_array_equal(big[-1], 0.0)  # biases start at zero
    assert big[:-1].std() == pytest.approx(1 / np.sqrt(400), rel=0.02)
    assert {k: v.shape for k, v in a.params.items()} == {"W1": (65, 32), "W2": (33, 10)}
    assert a.n_layers == 2 and a.layer_sizes == (64, 32, 10)


def test_fit_updates_params_in_place_and_returns_the_history(batch):
    X, Y = batch
    net = NumpyNetwork((64, 10), seed=0)
    W1 = net.params["W1"]
    before = W1.copy()
    first_loss, grads = net.loss_and_grads(X, Y)
    history = net.fit(X, Y, lr=2.0, epochs=5).loss
    assert net.params["W1"] is W1  # same array, updated in place
    assert history.shape == (5,) and history[0] == first_loss
    # batch gradient descent: the first update is exactly W - lr * dW
    net2 = NumpyNetwork((64, 10), seed=0)
    net2.fit(X, Y, lr=2.0, epochs=1)
    np.testing.assert_allclose(net2.params["W1"], before - 2.0 * grads["W1"], rtol=1e-14)
    assert np.all(np.diff(history) < 0)  # a small rate on 16 images: the loss falls every step


def test_gradient_step_returns_new_weights_and_leaves_its_inputs_alone():
    params = {"W1": np.array([[1.0, 2.0], [3.0, 4.0]]), "W2": np.array([[0.5], [-0.5]])}
    grads = {"W2": np.array([[2.0], [1.0]]), "W1": np.array([[0.5, -1.0], [0.0, 4.0]])}
    before = {k: v.copy() for k, v in params.items()}
    grads_before = {k: v.copy() for k, v in grads.items()}
    new = gradient_step(params, grads, 0.25)
    assert list(new) == ["W1", "W2"]  # keyed and ordered like params
    np.testing.assert_array_equal(new["W1"], [[0.875, 2.25], [3.0, 3.0]])
    np.testing.assert_array_equal(new["W2"], [[0.0], [-0.75]])
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        np.testing.assert_array_equal(grads[k], grads_before[k])
        assert not np.shares_memory(new[k], params[k])


def test_fit_steps_exactly_as_gradient_step(batch):
    X, Y = batch
    net = NumpyNetwork((64, 8, 10), seed=3)
    _, grads = net.loss_and_grads(X, Y)
    expected = gradient_step(net.params, grads, 1.5)
    net.fit(X, Y, lr=1.5, epochs=1)
    for k in expected:
        np.testing.assert_array_equal(net.params[k], expected[k])


@pytest.mark.parametrize(
    ("params", "grads", "lr", "exc", "match"),
    [
        ({"W1": np.zeros((2, 2))}, {"W2": np.zeros((2, 2))}, 0.1, ValueError,
         r"grads must have the keys of params, \['W1'\]; missing \['W1'\], unexpected \['W2'\]"),
        ({"W1": np.zeros((2, 2))}, {"W1": np.zeros((2, 3))}, 0.1, ValueError,
         r"grads\['W1'\] of shape \(2, 3\) does not match params\['W1'\] of shape \(2, 2\)"),
        ({"W1": np.zeros((2, 2))}, {"W1": np.zeros((2, 2))}, 0.0, ValueError,
         r"lr must be a finite number above 0, got 0.0"),
        ({"W1": np.zeros((2, 2))}, {"W1": np.zeros((2, 2))}, float("nan"), ValueError,
         r"lr must be a finite number above 0, got nan"),
        ({"W1": np.zeros((2, 2))}, {"W1": np.zeros((2, 2))}, "0.1", TypeError,
         r"lr must be a finite number above 0, got str '0.1'"),
        ([np.zeros((2, 2))], {"W1": np.zeros((2, 2))}, 0.1, TypeError,
         r"params must be a dict of NumPy arrays, got list"),
        ({"W1": np.zeros((2, 2))}, {"W1": [[0.0, 0.0], [0.0, 0.0]]}, 0.1, TypeError,
         r"grads\['W1'\] must be a NumPy array, got list"),
        ({"W1": np.zeros((2, 2))}, {"W1": np.ones((2, 2)) * 1j}, 0.1, TypeError,
         r"grads\['W1'\] must hold real numbers, got array of shape \(2, 2\) and dtype complex128"),
        ({"W1": np.zeros((2, 2), dtype=bool)}, {"W1": np.zeros((2, 2))}, 0.1, TypeError,
         r"params\['W1'\] must hold real numbers"),
    ],
)
def test_gradient_step_rejects_bad_inputs(params, grads, lr, exc, match):
    with pytest.raises(exc, match=match):
        gradient_step(params, grads, lr)


def test_predict_and_accuracy(batch):
    X, Y = batch
    net = NumpyNetwork((64, 10), seed=0)
    pred = net.predict(X)
    assert pred.dtype == np.int64 and pred.shape == (16,)
    np.testing.assert_array_equal(pred, net.forward(X).argmax(axis=1))
    y = Y.argmax(axis=1)
    assert net.accuracy(X, y) == np.mean(pred == y)


# --- the configurations the book trains and the claims the chapter makes ---------------------


@pytest.fixture(scope="module")
def lab_trials(split):
    return compare_learning_rates(LAB_SETUP, LEARNING_RATES, split.train.X, split.train.y, split.val.X, split.val.y)


@pytest.fixture(scope="module")
def hidden_trials(split):
    return compare_learning_rates(
        HIDDEN_SETUP, LEARNING_RATES, split.train.X, split.train.y, split.val.X, split.val.y
    )


def test_the_learning_rates_were_chosen_on_validation(lab_trials, hidden_trials):
    assert best_learning_rate(lab_trials) == LAB_SETUP.lr
    assert best_learning_rate(hidden_trials) == HIDDEN_SETUP.lr


def test_the_untrained_network_answers_about_one_half(split):
    # the chapter, Step 2: outputs near 1/2, loss near 1/4, accuracy at the level of guessing
    net = LAB_SETUP.build()
    A = net.forward(split.train.X)
    loss, _ = net.loss_and_grads(split.train.X, one_hot(split.train.y))
    assert 0.4 < A.mean() < 0.6
    assert 0.2 < loss < 0.35
    assert net.accuracy(split.train.X, split.train.y) < 0.2


def test_too_small_and_too_large_learning_rates(split, lab_trials):
    by_lr = {t.lr: t for t in lab_trials}
    smallest, largest = by_lr[min(LEARNING_RATES)], by_lr[max(LEARNING_RATES)]
    chosen = by_lr[LAB_SETUP.lr]
    # too small: still far from the chosen rate's loss after the same number of steps
    assert smallest.history[-1] > 2 * chosen.history[-1]
    assert smallest.val_accuracy < chosen.val_accuracy - 0.03
    # too large: the first step pushes every output to about 0; the loss stalls at the
    # loss of all-zero outputs, 1/10, and the network is no better than guessing
    assert not largest.diverged and largest.saturated
    assert largest.history[-1] == pytest.approx(0.1, abs=1e-4)
    assert largest.val_accuracy < 0.2
    net = LAB_SETUP.build()
    with pytest.warns(TrainingSaturated):
        net.fit(split.train.X, one_hot(split.train.y), lr=largest.lr, epochs=LAB_SETUP.epochs)
    assert net.forward(split.train.X).max() < 0.01
    assert not any(t.saturated for t in lab_trials if t.lr != largest.lr)
    # the chosen rate is the one just below the rate that breaks
    rates = sorted(LEARNING_RATES)
    assert rates.index(LAB_SETUP.lr) == len(rates) - 2 and rates[-1] == largest.lr
    for t in lab_trials:
        assert t.history.shape == (LAB_SETUP.epochs,) and np.all(np.isfinite(t.history))


@pytest.fixture(scope="module")
def lab_net(split):
    net = LAB_SETUP.build()
    history = net.fit(split.train.X, one_hot(split.train.y), lr=LAB_SETUP.lr, epochs=LAB_SETUP.epochs)
    assert not history.saturated
    return net, history.loss


@pytest.fixture(scope="module")
def hidden_net(split):
    net = HIDDEN_SETUP.build()
    history = net.fit(split.train.X, one_hot(split.train.y), lr=HIDDEN_SETUP.lr, epochs=HIDDEN_SETUP.epochs)
    assert not history.saturated
    return net, history.loss


def test_lab_network_reaches_the_target_accuracy(split, lab_net, lab_trials):
    net, history = lab_net
    assert LAB_SETUP.layer_sizes == (64, 10)
    assert net.accuracy(split.test.X, split.test.y) >= 0.93
    # the same run as the learning-rate comparison's, so the chapter's two views agree
    chosen = next(t for t in lab_trials if t.lr == LAB_SETUP.lr)
    np.testing.assert_array_equal(history, chosen.history)
    assert history[-1] < history[0] / 10


def test_hidden_layer_network_reaches_the_target_accuracy(split, lab_net, hidden_net):
    net, history = hidden_net
    assert len(HIDDEN_SETUP.layer_sizes) == 3
    acc = net.accuracy(split.test.X, split.test.y)
    assert acc >= 0.95
    # the chapter says the hidden layer helps: on the test part and on the training loss
    assert acc > lab_net[0].accuracy(split.test.X, split.test.y)
    assert history[-1] < lab_net[1][-1]
    # why it gets more iterations: its loss is still falling clearly after the lab's budget
    assert HIDDEN_SETUP.epochs > LAB_SETUP.epochs
    assert history[-1] < 0.75 * history[LAB_SETUP.epochs - 1]


def test_setups_are_what_the_book_describes():
    assert LAB_SETUP.seed == HIDDEN_SETUP.seed == 0
    assert LAB_SETUP.lr in LEARNING_RATES and HIDDEN_SETUP.lr in LEARNING_RATES
    assert isinstance(LAB_SETUP.build(), NumpyNetwork)
    with pytest.raises(AttributeError):
        LAB_SETUP.lr = 1.0  # frozen


def test_best_learning_rate_prefers_the_smaller_on_a_tie_and_skips_diverged_runs():
    from labcode.engine.setups import LearningRateTrial

    t = lambda lr, acc, div=False: LearningRateTrial(lr, np.zeros(1), acc, acc, div)  # noqa: E731
    assert best_learning_rate([t(3.0, 0.9), t(1.0, 0.9), t(10.0, 0.8)]) == 1.0
    assert best_learning_rate([t(3.0, 0.5), t(10.0, np.nan, True)]) == 3.0
    with pytest.raises(ValueError, match="every learning rate diverged"):
        best_learning_rate([t(10.0, np.nan, True)])


# --- bad input and failure -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"lr": 0.0}, ValueError, r"lr must be a finite number above 0, got 0.0"),
        ({"lr": -1.0}, ValueError, r"lr must be a finite number above 0, got -1.0"),
        ({"lr": float("nan")}, ValueError, r"lr must be a finite number above 0, got nan"),
        ({"lr": float("inf")}, ValueError, r"got inf"),
        ({"lr": "0.1"}, TypeError, r"lr must be a finite number above 0, got str '0.1'"),
        ({"epochs": 0}, ValueError, r"epochs must be an int >= 1, got 0"),
        ({"epochs": 2.5}, TypeError, r"epochs must be an int >= 1, got float 2.5"),
    ],
)
def test_fit_rejects_bad_hyperparameters(batch, kwargs, exc, match):
    X, Y = batch
    net = NumpyNetwork((64, 10), seed=0)
    before = net.params["W1"].copy()
    with pytest.raises(exc, match=match):
        net.fit(X, Y, **{"lr": 1.0, "epochs": 3, **kwargs})
    np.testing.assert_array_equal(net.params["W1"], before)


def test_network_rejects_bad_data(batch):
    X, Y = batch
    net = NumpyNetwork((64, 10), seed=0)
    X_nan = X.copy()
    X_nan[2, 5] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite, but X\[2, 5\] = nan"):
        net.fit(X_nan, Y, lr=1.0, epochs=1)
    Y_inf = Y.copy()
    Y_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"Y must be finite, but Y\[0, 0\] = inf"):
        net.loss_and_grads(X, Y_inf)
    with pytest.raises(ValueError, match=r"X of shape \(16, 63\) does not fit the first layer: W1 of shape \(65, 10\) expects 64 features"):
        net.forward(X[:, :63])
    with pytest.raises(ValueError, match=r"X of shape \(16, 65\) does not fit"):
        net.predict(add_bias(X))  # the bias column is added inside, not by the caller
    with pytest.raises(ValueError, match=r"Y of shape \(16, 9\) does not match X of shape \(16, 64\) and the network's 10 outputs"):
        net.fit(X, Y[:, :9], lr=1.0, epochs=1)
    with pytest.raises(ValueError, match=r"Y of shape \(15, 10\) does not match X of shape \(16, 64\)"):
        net.loss_and_grads(X, Y[:15])


def test_accuracy_rejects_labels_that_do_not_match_the_outputs(batch):
    X, Y = batch
    y = Y.argmax(axis=1)
    net = NumpyNetwork((64, 3), seed=0)
    with pytest.raises(ValueError, match=r"labels in 0..2 \(num_classes=3\)"):
        net.accuracy(X, y)
    with pytest.raises(ValueError, match=r"X of shape \(16, 64\) and y of shape \(15,\) must have the same number of samples"):
        NumpyNetwork((64, 10), seed=0).accuracy(X, y[:15])


@pytest.mark.parametrize(
    ("layer_sizes", "seed", "exc", "match"),
    [
        ((64,), 0, ValueError, r"layer_sizes must have at least two entries \(inputs, outputs\), got \(64,\)"),
        ((64, 0, 10), 0, ValueError, r"layer_sizes\[1\] must be an int >= 1, got 0"),
        ((64, 2.5), 0, TypeError, r"layer_sizes\[1\] must be an int >= 1, got float 2.5"),
        ("64", 0, TypeError, r"layer_sizes must be a sequence of ints >= 1, got str '64'"),
        ((64, 10), -1, ValueError, r"seed must be an int >= 0, got -1"),
        ((64, 10), None, TypeError, r"seed must be an int >= 0, got NoneType None"),
    ],
)
def test_network_rejects_bad_construction(layer_sizes, seed, exc, match):
    with pytest.raises(exc, match=match):
        NumpyNetwork(layer_sizes, seed=seed)


def test_network_rejects_tampered_params(batch):
    X, Y = batch
    net = NumpyNetwork((64, 10), seed=0)
    net.params["W1"] = np.zeros((64, 10))
    with pytest.raises(ValueError, match=r"params\['W1'\] must be a float64 array of shape \(65, 10\), got array of shape \(64, 10\)"):
        net.forward(X)
    net.params["W1"] = np.full((65, 10), np.nan)
    with pytest.raises(ValueError, match=r"params\['W1'\] must be finite"):
        net.fit(X, Y, lr=1.0, epochs=1)
    net.params = {"W2": np.zeros((65, 10))}
    with pytest.raises(ValueError, match=r"params must be a dict with keys \['W1'\], got \['W2'\]"):
        net.loss_and_grads(X, Y)


def test_an_overflowing_update_stops_training_with_the_iteration():
    net = NumpyNetwork((1, 1), seed=0)
    net.params["W1"][...] = 0.0
    before = net.params["W1"].copy()
    # Z = 0, A = 0.5, dZ = 2 (0.5 - 1) * 0.25 = -0.25, dW = [100, 1] * dZ = [-25, -0.25]:
    # lr * 25 overflows for lr = 1e308
    with pytest.raises(TrainingDiverged, match=r"diverged at iteration 1: the update of W1 overflowed \(lr=1e\+308\)") as info:
        net.fit([[100.0]], [[1.0]], lr=1e308, epochs=10)
    assert info.value.iteration == 1 and info.value.lr == 1e308 and info.value.quantity == "weight"
    assert np.isfinite(info.value.loss) and info.value.history.shape == (0,)
    np.testing.assert_array_equal(net.params["W1"], before)  # never NaN: left as they were
    assert isinstance(info.value, RuntimeError)
    # it survives pickling, as it must to cross a process pool
    import pickle

    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.iteration == 1 and again.reason == info.value.reason
    assert again.quantity == "weight"


# How X @ W overflows depends on the BLAS kernel: with W = [1e308, -1e308, 0] and
# X = [4, 4, 1], one kernel computes inf - inf = NaN, another (fused multiply-add) +inf.
# These tests therefore only use overflows that come out the same on every kernel
# (same-sign terms: +inf everywhere), or accept either outcome of the mixed-sign case.


@pytest.mark.parametrize("sizes", [(2, 1), (2, 1, 1)], ids=["output layer", "hidden layer"])
def test_a_pre_activation_of_plus_inf_stops_training(sizes):
    # 4 * 1e308 overflows to +inf in both terms, and inf + inf = inf on every kernel:
    # Z = +inf, which the sigmoid turns into a finite 1 and the loss would not see
    net = NumpyNetwork(sizes, seed=0)
    net.params["W1"][...] = [[1e308], [1e308], [0.0]]
    before = {k: W.copy() for k, W in net.params.items()}
    with np.errstate(over="ignore"):
        assert np.isposinf(np.array([[4.0, 4.0, 1.0]]) @ net.params["W1"]).all()
    with pytest.raises(
        TrainingDiverged, match=r"iteration 1: the pre-activation Z1 of layer 1 is not finite"
    ) as info:
        net.fit([[4.0, 4.0]], [[1.0]], lr=0.1, epochs=3)
    assert info.value.quantity == "pre-activation" and info.value.iteration == 1
    assert np.isnan(info.value.loss) and info.value.history.shape == (0,)
    for key, W in before.items():
        np.testing.assert_array_equal(net.params[key], W)


@pytest.mark.parametrize("sizes", [(2, 1), (2, 1, 1)], ids=["output layer", "hidden layer"])
def test_weights_whose_overflow_depends_on_the_kernel_stop_training_on_every_kernel(sizes):
    # Z is NaN on some kernels and +inf on others; either way training stops at Z1
    net = NumpyNetwork(sizes, seed=0)
    net.params["W1"][...] = [[1e308], [-1e308], [0.0]]
    with pytest.raises(TrainingDiverged, match=r"iteration 1: the pre-activation Z1") as info:
        net.fit([[4.0, 4.0]], [[1.0]], lr=0.1, epochs=3)
    assert info.value.quantity == "pre-activation"
    np.testing.assert_array_equal(net.params["W1"], [[1e308], [-1e308], [0.0]])


def test_an_overflow_in_a_later_layer_names_that_layer():
    # A1 = sigmoid(0) = 0.5 exactly; Z2 = 0.5 * 1e308 + 1.7e308 overflows to +inf
    net = NumpyNetwork((1, 1, 1), seed=0)
    net.params["W1"][...] = [[0.0], [0.0]]
    net.params["W2"][...] = [[1e308], [1.7e308]]
    with pytest.raises(TrainingDiverged, match=r"the pre-activation Z2 of layer 2 is not finite"):
        net.fit([[1.0]], [[1.0]], lr=0.1, epochs=2)


def test_a_loss_that_overflows_stops_training():
    # targets of 1e200 are finite, but (A - Y)^2 = 1e400 is not
    net = NumpyNetwork((1, 1), seed=0)
    with pytest.raises(TrainingDiverged, match=r"iteration 1: the loss became inf") as info:
        net.fit([[1.0]], [[1e200]], lr=0.1, epochs=2)
    assert info.value.quantity == "loss" and np.isposinf(info.value.loss)


def test_a_gradient_that_overflows_stops_training():
    # Z = 0, A = 0.5; loss = (0.5 - 1e154)^2 = 1e308 is finite; dA = 2 (A - Y) = -2e154,
    # dZ = dA / 4 = -5e153, dW = x * dZ = 1e160 * -5e153: the gradient overflows
    net = NumpyNetwork((1, 1), seed=0)
    net.params["W1"][...] = 0.0
    with pytest.raises(TrainingDiverged, match=r"iteration 1: the gradient dW1 is not finite") as info:
        net.fit([[1e160]], [[1e154]], lr=0.1, epochs=2)
    assert info.value.quantity == "gradient" and np.isfinite(info.value.loss)
    np.testing.assert_array_equal(net.params["W1"], 0.0)


@pytest.mark.parametrize("lr", [1e6, 1e12])
@pytest.mark.parametrize("sizes", [(64, 10), (64, 32, 10)], ids=["lab", "hidden layer"])
def test_a_huge_learning_rate_on_the_digits_says_that_training_stalled(split, sizes, lr):
    # the first update pushes every output unit so far that A rounds to exactly 0 or 1:
    # the loss stays finite, the gradient is exactly zero, and fit says so
    net = NumpyNetwork(sizes, seed=0)
    with pytest.warns(TrainingSaturated, match=r"training stalled at lr=1e\+(06|12)") as record:
        history = net.fit(split.train.X, one_hot(split.train.y), lr=lr, epochs=60)
    assert len(record) == 1  # once per call, not once per iteration
    assert history.saturated and history.saturated_at == 2
    assert "the gradient is exactly zero" in history.message and "smaller learning rate" in history.message
    assert np.all(np.isfinite(history.loss)) and history.loss.shape == (60,)
    assert all(np.isfinite(W).all() for W in net.params.values())
    assert net.accuracy(split.val.X, split.val.y) < 0.2


def test_outputs_saturated_near_zero_are_a_stall_even_with_a_gradient_that_is_not_zero(split):
    # lr = 100 on the digits: every output ends near 0 (slope below 1e-3, but not 0), the
    # loss sits at about 0.1 and the accuracy at chance; the loss still changes a little
    net = NumpyNetwork((64, 10), seed=0)
    with pytest.warns(TrainingSaturated, match="so close to 0 or 1 that its slope") as record:
        history = net.fit(split.train.X, one_hot(split.train.y), lr=100.0, epochs=200)
    assert len(record) == 1 and history.saturated
    A = net.forward(split.train.X)
    assert (A * (1 - A)).max() < SATURATED_SLOPE and A.max() < 0.01
    assert history.saturated_at is not None and 1 < history.saturated_at < 10
    assert np.ptp(history.loss[-50:]) > 0  # not frozen: only saturated


def test_a_short_run_that_saturates_is_reported_too(split):
    net = NumpyNetwork((64, 10), seed=0)
    with pytest.warns(TrainingSaturated):
        assert net.fit(split.train.X, one_hot(split.train.y), lr=1e3, epochs=5).saturated


def test_a_zero_gradient_at_a_perfect_fit_is_not_a_stall():
    # all weights 0: every output is 1/2, the targets are 1/2, loss 0, gradient exactly 0
    net = NumpyNetwork((2, 3), seed=0)
    net.params["W1"][...] = 0.0
    X, Y = np.eye(2), np.full((2, 3), 0.5)
    history = net.fit(X, Y, lr=1.0, epochs=5)  # warnings are errors in this suite
    assert not history.saturated and history.loss[-1] == 0.0


def test_a_learning_rate_too_small_to_move_is_not_called_saturation(split):
    # the loss does not change, but the outputs are near 1/2, far from saturated
    history = NumpyNetwork((64, 10), seed=0).fit(split.train.X, one_hot(split.train.y), lr=1e-20, epochs=60)
    assert not history.saturated and np.ptp(history.loss) == 0.0


def test_saturated_outputs_with_accuracy_above_chance_are_not_a_stall():
    # two classes, separable: the network learns with outputs pushed close to 0 and 1
    X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
    Y = one_hot([0, 0, 1, 1], num_classes=2)
    net = NumpyNetwork((1, 2), seed=0)
    net.params["W1"][...] = [[-40.0, 40.0], [0.0, 0.0]]  # already right, and saturated
    history = net.fit(X, Y, lr=1.0, epochs=20)
    assert net.accuracy(X, [0, 0, 1, 1]) == 1.0 > 0.5 + CHANCE_MARGIN
    assert not history.saturated


def test_a_run_that_learns_is_not_called_a_stall(batch):
    X, Y = batch
    history = NumpyNetwork((64, 10), seed=0).fit(X, Y, lr=1.0, epochs=60)
    assert not history.saturated and history.saturated_at is None
    assert history.message == "trained 60 iterations at lr=1"


def test_training_setup_is_a_plain_record():
    s = TrainingSetup((64, 10), lr=1.0, epochs=3)
    assert s.seed == 0 and s.build().layer_sizes == (64, 10)
