"""Tests of labcode.checks: every checker passes labcode's reference and a plain student
answer, and fails typical wrong answers with the right status and hint."""

import inspect
import linecache
import subprocess
import sys

import numpy as np
from sklearn.model_selection import train_test_split
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from labcode import (checks, data, experiment, models, numpy_net, plots, study_plots,
                     torch_data, training)
from labcode.checks import (
    Verdict,
    check_accuracy,
    check_backward_pass,
    check_forward_pass,
    check_train_network,
    check_plot_first_image,
    check_plot_sweep,
    check_add_bias,
    check_all,
    check_compare_values,
    check_complex_mlp,
    check_dataset,
    check_make_loader,
    check_evaluate,
    check_fc_backward,
    check_fc_forward,
    check_hidden_size_sweep,
    check_lr_sweep,
    check_optimizer_sweep,
    check_gradient_step,
    check_l1_penalty,
    check_l2_penalty,
    check_mse_loss,
    check_one_hot,
    check_predict,
    check_sigmoid_backward,
    check_sigmoid_forward,
    check_simple_mlp,
    check_split_data,
    check_train_epoch,
)
from test_loop_checks import (  # loops written differently from labcode's, right and wrong
    _compare,
    _compare_written_differently,
    _evaluate,
    _predict,
    _with,
    _epoch_written_differently,
    _evaluate_written_differently,
    _predict_written_differently,
)

# --- plain, correct answers, as a student would write them ------------------------------


def add_bias(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])


def one_hot(y, num_classes=10):
    return np.eye(num_classes)[y]


def split_data(X, y, val_size, test_size, seed):
    n = len(y)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=int(np.ceil(test_size * n)), stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_size / (1 - test_size), stratify=y_rest, random_state=seed)
    return {"train": (X_train, y_train), "val": (X_val, y_val), "test": (X_test, y_test)}


def split_data_by_class(X, y, val_size, test_size, seed):
    """Another correct answer: each class shuffled and cut on its own."""
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test, n_val = round(test_size * len(idx)), round(val_size * len(idx))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    return {k: (X[np.concatenate(v)], y[np.concatenate(v)]) for k, v in parts.items()}


def _split_variant(*, stratify=True, relative_val=False, from_all=False, seed=None,
                   shuffle_y=False, in_order=False):
    def split(X, y, val_size, test_size, s):
        s = s if seed is None else seed
        n = len(y)
        if in_order:
            n_test, n_val = int(np.ceil(test_size * n)), int(np.ceil(val_size * n))
            return {"train": (X[:n - n_test - n_val], y[:n - n_test - n_val]),
                    "val": (X[n - n_test - n_val:n - n_test], y[n - n_test - n_val:n - n_test]),
                    "test": (X[n - n_test:], y[n - n_test:])}
        X_rest, X_test, y_rest, y_test = train_test_split(
            X, y, test_size=int(np.ceil(test_size * n)), stratify=y if stratify else None,
            random_state=s)
        source = (X, y) if from_all else (X_rest, y_rest)
        val = val_size if relative_val else int(np.ceil(val_size * n))
        X_train, X_val, y_train, y_val = train_test_split(
            *source, test_size=val, stratify=source[1] if stratify else None, random_state=s)
        if shuffle_y:
            y_train = np.random.default_rng(0).permutation(y_train)
        return {"train": (X_train, y_train), "val": (X_val, y_val), "test": (X_test, y_test)}

    return split


def fc_forward(X, W):
    return X @ W, (X, W)


def fc_backward(dZ, cache):
    X, W = cache
    return dZ @ W.T, X.T @ dZ


def sigmoid_forward(Z):
    E = np.exp(-np.abs(Z))  # never above 1: no overflow, however large |z|
    A = np.where(Z >= 0, 1 / (1 + E), E / (1 + E))
    return A, A


def naive_sigmoid_forward(Z):
    A = 1 / (1 + np.exp(-Z))  # overflows (with a warning) for z = -1000, though the value is right
    return A, A


def sigmoid_backward(dA, cache):
    A = cache
    return dA * A * (1 - A)


def plot_sweep(values, accuracies, param):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    if isinstance(values[0], str):
        ax.bar(values, accuracies)
        ax.set(xlabel=param, ylabel="Validation accuracy")
    else:
        ax.semilogx(values, accuracies, "o-")
        ax.set(xlabel=param, ylabel="Validation accuracy")
    return ax


def _sweep_drawn(draw_numbers, draw_names=None, labels=True):
    """A plot_sweep that draws numbers with draw_numbers(ax, values, accuracies)."""
    import matplotlib.pyplot as plt

    def sweep(values, accuracies, param):
        fig, ax = plt.subplots()
        if isinstance(values[0], str):
            (draw_names or (lambda ax, v, a: ax.barh(v, a)))(ax, values, accuracies)
        else:
            draw_numbers(ax, values, accuracies)
        if labels:
            ax.set(xlabel=param, ylabel="validation accuracy")
        return ax

    return sweep


def _textbook_loader(**fixed):
    """make_loader as the textbook writes it, a DataLoader; ``fixed`` overrides arguments
    as a student's slip would (for example shuffle=True always)."""
    def make_loader(dataset, batch_size, shuffle, generator=None):
        from torch.utils.data import DataLoader

        kwargs = {"batch_size": batch_size, "shuffle": shuffle, "generator": generator}
        kwargs.update(fixed)
        return DataLoader(dataset, **{k: v for k, v in kwargs.items() if v is not _DROP})

    return make_loader


_DROP = object()  # an argument the slip leaves out


def plot_first_image(X, y):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.imshow(np.asarray(X)[0].reshape(8, 8), cmap="gray")
    ax.set_title(f"Label: {y[0]}")
    return ax


def _first_image_drawn(picture, title):
    """A plot_first_image that draws picture(X) titled title(y), as a student might."""
    import matplotlib.pyplot as plt

    def draw(X, y):
        fig, ax = plt.subplots()
        ax.imshow(picture(np.asarray(X)))
        ax.set_title(title(y))
        return ax

    return draw


def accuracy(A, y):
    right = sum(int(np.argmax(row) == label) for row, label in zip(A, y))
    return right / len(y)


def mse_loss(A, Y):
    diff = A - Y
    return np.mean(diff**2), 2 * diff / A.size


def gradient_step(params, grads, lr):
    return {key: params[key] - lr * grads[key] for key in params}


# --- Exercise 1, Steps 2 to 4: the passes and the loop, written as a student would -------------


def forward_pass(X, params):
    A, caches = X, []
    for i in range(len(params)):
        W = params["W" + str(i + 1)]
        Z, fc_cache = fc_forward(np.hstack([A, np.ones((A.shape[0], 1))]), W)
        A, sig_cache = sigmoid_forward(Z)
        caches += [(fc_cache, sig_cache)]
    return A, caches


def forward_pass_by_keys(X, params):
    """Sorted keys and labcode's blocks: another correct answer."""
    caches = []
    A = X
    for key in sorted(params, key=lambda k: int(k[1:])):
        Z, fc_cache = numpy_net.fc_forward(data.add_bias(A), params[key])
        A, sig_cache = numpy_net.sigmoid_forward(Z)
        caches.append((fc_cache, sig_cache))
    return A, caches


def backward_pass(dA, caches):
    grads = {}
    for l in reversed(range(len(caches))):
        fc_cache, sig_cache = caches[l]
        dX, dW = fc_backward(sigmoid_backward(dA, sig_cache), fc_cache)
        grads[f"W{l + 1}"] = dW
        dA = dX[:, :-1]
    return grads


def backward_pass_stacked(dA, caches):
    """Another correct answer: the layers' gradients built from the back, then keyed."""
    dWs = []
    for fc_cache, sig_cache in caches[::-1]:
        dZ = dA * sig_cache * (1 - sig_cache)
        X, W = fc_cache
        dWs.insert(0, X.T @ dZ)
        dA = (dZ @ W.T)[:, :-1]
    return {f"W{i}": dW for i, dW in enumerate(dWs, start=1)}


def train_network_while(params, X, Y, lr, iterations):
    """Another correct answer: a while loop, a copy of the weights updated by hand."""
    params = {k: W.copy() for k, W in params.items()}
    losses, it = [], 0
    while it < iterations:
        A, caches = numpy_net.forward_pass(X, params)
        loss, dA = numpy_net.mse_loss(A, Y)
        grads = numpy_net.backward_pass(dA, caches)
        for k in params:
            params[k] = params[k] - lr * grads[k]
        losses.append(float(loss))
        it += 1
    return params, np.array(losses)


def train_network(params, X, Y, lr, iterations):
    losses = []
    for _ in range(iterations):
        A, caches = forward_pass(X, params)
        loss, dA = mse_loss(A, Y)
        losses.append(loss)
        params = gradient_step(params, backward_pass(dA, caches), lr)
    return params, losses


def _forward_variant(*, bias_on_output=False, last_sigmoid=True, hidden_sigmoid=True,
                     first_only=False, reverse=False, flat=False):
    def forward(X, params):
        A, caches = X, []
        keys = list(params)[:1] if first_only else list(params)
        for i, key in enumerate(keys):
            Z, fc_cache = numpy_net.fc_forward(data.add_bias(A), params[key])
            last = i == len(keys) - 1
            A, sig_cache = (numpy_net.sigmoid_forward(Z)
                            if (last_sigmoid if last else hidden_sigmoid) else (Z, Z))
            caches += [fc_cache, sig_cache] if flat else [(fc_cache, sig_cache)]
        if bias_on_output:
            A = data.add_bias(A)
        return A, caches[::-1] if reverse else caches

    return forward


def _backward_variant(*, hidden_sigmoid=True, drop_first=False, same_dA=False, last_only=False):
    def backward(dA, caches):
        grads, g = {}, dA
        for l in range(len(caches), 0, -1):
            fc_cache, sig_cache = caches[l - 1]
            dZ = numpy_net.sigmoid_backward(g, sig_cache) if (hidden_sigmoid or l == len(caches)) else g
            dX, grads[f"W{l}"] = numpy_net.fc_backward(dZ, fc_cache)
            if not same_dA:
                g = dX[:, 1:] if drop_first else dX[:, :-1]
            if last_only:
                break
        return grads

    return backward


def _train_variant(*, update=True, in_place=False, record="each", one_fewer=False,
                   lr_override=None, skip_first_layer=False):
    def train(params, X, Y, lr, iterations):
        losses = []
        for it in range(iterations - (1 if one_fewer else 0)):
            A, caches = numpy_net.forward_pass(X, params)
            loss, dA = numpy_net.mse_loss(A, Y)
            losses.append(loss)
            grads = numpy_net.backward_pass(dA, caches)
            if skip_first_layer and len(grads) > 1:  # right for one layer only
                grads["W1"] = 0 * grads["W1"]
            step = lr if lr_override is None else lr_override
            if in_place:
                for key in params:
                    params[key] -= step * grads[key]
            elif update:
                params = numpy_net.gradient_step(params, grads, step)
        if one_fewer:
            losses.append(losses[-1])
        return params, (losses[-1] if record == "last" else losses)

    return train


def train_network_on_the_notebooks_data(params, X, Y, lr, iterations):
    return numpy_net.train_network(params, X_train, Y_train, lr, iterations)  # noqa: F821


X_train = np.random.default_rng(0).uniform(size=(9, 3))
Y_train = np.eye(2)[[0, 1, 0, 1, 1, 0, 0, 1, 0]]


class StudentDataset(Dataset):
    def __init__(self, X, y):
        self.X = torch.tensor(X, dtype=torch.float32)
        self.y = torch.tensor(y, dtype=torch.int64)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


class StudentSimpleMLP(nn.Module):
    def __init__(self, in_features, hidden_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class SequentialSimpleMLP(nn.Module):
    """Right outputs, but without the fc1 / fc2 the chapter reads."""

    def __init__(self, in_features, hidden_size, num_classes):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden_size), nn.ReLU(), nn.Linear(hidden_size, num_classes)
        )

    def forward(self, x):
        return self.layers(x)


def l1_penalty(model):
    return sum(p.abs().sum() for p in model.parameters() if p.ndim >= 2)


def l2_penalty(model):
    return sum((p**2).sum() for p in model.parameters() if p.ndim >= 2)


class StudentComplexMLP(nn.Module):
    def __init__(self, in_features, hidden_sizes, num_classes, dropout, bias=True, keep=True):
        super().__init__()
        if keep:
            self.in_features, self.hidden_sizes = in_features, tuple(hidden_sizes)
            self.num_classes, self.dropout = num_classes, dropout
        self.out = nn.Linear(hidden_sizes[-1], num_classes)  # registered first on purpose
        blocks = []
        for n_in, n_out in zip([in_features, *hidden_sizes[:-1]], hidden_sizes):
            blocks += [nn.Linear(n_in, n_out, bias=bias), nn.BatchNorm1d(n_out), nn.ReLU(),
                       nn.Dropout(dropout)]
        self.hidden = nn.Sequential(*blocks)

    def forward(self, x):
        return self.out(self.hidden(x))


def _complex_variant(**options):
    """StudentComplexMLP with some of its options changed, as a class."""

    class Variant(StudentComplexMLP):
        def __init__(self, in_features, hidden_sizes, num_classes, dropout):
            super().__init__(in_features, hidden_sizes, num_classes, dropout, **options)

    return Variant


REFERENCES = [
    (check_add_bias, data.add_bias, add_bias),
    (check_one_hot, data.one_hot, one_hot),
    (check_split_data, data.split_data, split_data),
    (check_split_data, data.split_data, split_data_by_class),
    (check_fc_forward, numpy_net.fc_forward, fc_forward),
    (check_fc_backward, numpy_net.fc_backward, fc_backward),
    (check_sigmoid_forward, numpy_net.sigmoid_forward, sigmoid_forward),
    (check_sigmoid_backward, numpy_net.sigmoid_backward, sigmoid_backward),
    (check_mse_loss, numpy_net.mse_loss, mse_loss),
    (check_gradient_step, numpy_net.gradient_step, gradient_step),
    (check_forward_pass, numpy_net.forward_pass, forward_pass),
    (check_forward_pass, numpy_net.forward_pass, forward_pass_by_keys),
    (check_backward_pass, numpy_net.backward_pass, backward_pass),
    (check_backward_pass, numpy_net.backward_pass, backward_pass_stacked),
    (check_train_network, numpy_net.train_network, train_network),
    (check_train_network, numpy_net.train_network, train_network_while),
    (check_accuracy, numpy_net.accuracy, accuracy),
    (check_plot_first_image, plots.plot_first_image, plot_first_image),
    (check_plot_sweep, study_plots.plot_sweep, plot_sweep),
    (check_dataset, torch_data.DigitsDataset, StudentDataset),
    (check_make_loader, torch_data.make_loader, _textbook_loader()),
    (check_simple_mlp, models.SimpleMLP, StudentSimpleMLP),
    (check_l1_penalty, training.l1_penalty, l1_penalty),
    (check_l2_penalty, training.l2_penalty, l2_penalty),
    (check_complex_mlp, models.ComplexMLP, StudentComplexMLP),
    (check_train_epoch, training.train_epoch, _epoch_written_differently),
    (check_evaluate, training.evaluate, _evaluate_written_differently),
    (check_predict, training.predict, _predict_written_differently),
    (check_compare_values, experiment.compare_values, _compare_written_differently),
]
IDS = [c.__name__ for c, _, _ in REFERENCES]


@pytest.mark.parametrize(("checker", "reference", "student"), REFERENCES, ids=IDS)
def test_the_reference_and_a_plain_answer_pass(checker, reference, student):
    for answer in (reference, student):
        verdict = checker(answer, verbose=False)
        assert verdict.status == "passed", verdict.message
        assert verdict.passed and verdict.checks >= 5
        passed = f"✓ {verdict.name}: passed ({verdict.checks} checks)"
        if answer is reference:  # the page says whose code it judged
            assert verdict.message.startswith(passed + " on labcode's reference solution")
        else:
            assert verdict.message == passed
        assert verdict.use() is answer
    assert verdict.reference is reference


def test_the_torch_references_use_labcode_penalty():
    model = models.SimpleMLP(4, 3, 2)
    from labcode.training import weight_penalty

    assert training.l1_penalty(model).item() == weight_penalty(model, l1=1.0).item()
    assert training.l2_penalty(model).item() == weight_penalty(model, l2=1.0).item()


# --- wrong answers -----------------------------------------------------------------------


def _block_student(order):
    """A ComplexMLP whose hidden blocks are built by ``order(n_in, n_out, dropout)``."""

    class Model(nn.Module):
        def __init__(self, in_features, hidden_sizes, num_classes, dropout):
            super().__init__()
            layers, n_in = [], in_features
            for n_out in hidden_sizes:
                layers += order(n_in, n_out, dropout)
                n_in = n_out
            self.net = nn.Sequential(*layers, nn.Linear(n_in, num_classes))

        def forward(self, x):
            return self.net(x)

    return Model


class _PerRowDataset(Dataset):
    """Right sample by sample, but a list of indices gives a list of rows, not a batch."""

    def __init__(self, X, y):
        self.rows = [torch.tensor(x, dtype=torch.float32) for x in X]
        self.labels = [torch.tensor(v, dtype=torch.int64) for v in y]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        if isinstance(i, list):
            return [self.rows[k] for k in i], [self.labels[k] for k in i]
        return self.rows[i], self.labels[i]


def _dataset(features, labels, base=Dataset):
    """A dataset class that stores ``features(X)`` and ``labels(y)``."""

    class Data(base):
        def __init__(self, X, y):
            self.X, self.y = features(X), labels(y)

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return self.X[i], self.y[i]

    return Data


def _mlp(forward):
    class Model(nn.Module):
        def __init__(self, in_features, hidden_size, num_classes):
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_size)
            self.fc2 = nn.Linear(hidden_size, num_classes)

        def forward(self, x):
            return forward(self, x)

    return Model


class OneLayer(nn.Module):
    def __init__(self, in_features, hidden_size, num_classes):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(x)


def _one_hot_shifted(y, num_classes=10):
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y - 1] = 1
    return out


def _mse_in_place(A, Y):
    A -= Y
    return np.mean(A**2), 2 * A / A.size


def _sigmoid_in_place(Z):
    np.negative(Z, out=Z)
    np.exp(Z, out=Z)
    Z += 1
    np.reciprocal(Z, out=Z)
    return Z, Z


def _sigmoid_backward_in_place(dA, cache):
    dA *= cache * (1 - cache)
    return dA


def _step_in_place(params, grads, lr):
    for key in params:
        params[key] -= lr * grads[key]
    return params


def _step_no_return(params, grads, lr):
    for key in params:
        params[key] -= lr * grads[key]


WRONG = [
    # add_bias
    (check_add_bias, lambda X: np.hstack([np.ones((len(X), 1)), X]),
     ["bias column first instead of last", "Input: X of shape (5, 3)"]),
    (check_add_bias, lambda X: np.hstack([X, np.zeros((len(X), 1))]), ["must hold ones"]),
    (check_add_bias, lambda X: np.vstack([X, np.ones((1, X.shape[1]))]),
     ["you appended a row", "add_bias(X) of shape (5, 4)", "add_bias(X) of shape (6, 3)"]),
    (check_add_bias, lambda X: X, ["no column was added"]),
    # one_hot
    (check_one_hot, _one_hot_shifted, ["off-by-one", "column c", "row 0 (label 3)"]),
    (check_one_hot, lambda y, num_classes=10: np.eye(y.max() + 1)[y],
     ["not y.max() + 1 = 2", "num_classes=4"]),
    (check_one_hot, lambda y, num_classes=10: np.zeros((len(y), num_classes + 1)),
     ["off-by-one in the width", "of shape (8, 10)", "of shape (8, 11)"]),
    (check_one_hot, lambda y, num_classes=10: np.eye(num_classes, dtype=int)[y],
     ["float", "dtype int64"]),
    (check_one_hot, lambda y, num_classes=10: np.eye(num_classes)[y].T,
     ["transposed"]),
    # split_data
    (check_split_data, _split_variant(stratify=False), ["stratify=y"]),
    (check_split_data, _split_variant(relative_val=True), ["val_size is a share of all"]),
    (check_split_data, _split_variant(from_all=True), ["from what is left after the test part"]),
    (check_split_data, _split_variant(seed=42), ["random_state=seed, not a number of your own"]),
    (check_split_data, _split_variant(shuffle_y=True), ["shuffle X and y together"]),
    (check_split_data, _split_variant(in_order=True), ["shuffle before cutting"]),
    # fc_forward
    (check_fc_forward, lambda X, W: (X @ W.T, (X, W)),
     ["transposed weight", "W is square", "relative error"]),
    (check_fc_forward, lambda X, W: X @ W, ["a tuple (Z, cache)", "an array of shape (4, 4)"]),
    (check_fc_forward, lambda X, W: (X @ W, X), ["cache = (X, W)"]),
    (check_fc_forward, lambda X, W: (X @ W, (W, X)), ["cache = (W, X)", "other order"]),
    # forward_pass
    (check_forward_pass, _forward_variant(bias_on_output=True), ["no bias column"]),
    (check_forward_pass, _forward_variant(last_sigmoid=False), ["the last one too"]),
    (check_forward_pass, _forward_variant(hidden_sigmoid=False), ["the hidden ones too"]),
    (check_forward_pass, _forward_variant(first_only=True), ["only some of the layers ran"]),
    (check_forward_pass, _forward_variant(reverse=True), ["reverse order"]),
    (check_forward_pass, _forward_variant(flat=True), ["one entry per layer"]),
    # backward_pass
    (check_backward_pass, _backward_variant(hidden_sigmoid=False), ["in the hidden layers too"]),
    (check_backward_pass, _backward_variant(drop_first=True), ["dX[:, :-1]"]),
    (check_backward_pass, _backward_variant(same_dA=True), ["every layer got the network's dA"]),
    (check_backward_pass, _backward_variant(last_only=True), ["one gradient per layer"]),
    # train_network
    (check_train_network, _train_variant(update=False), ["the weights were not updated"]),
    (check_train_network, _train_variant(in_place=True), ["update a copy"]),
    (check_train_network, _train_variant(record="last"), ["losses.append(loss)"]),
    (check_train_network, _train_variant(one_fewer=True), ["Expected: the losses"]),
    (check_train_network, _train_variant(lr_override=0.1), ["with the lr given"]),
    (check_train_network, _train_variant(skip_first_layer=True), ["every weight matrix once", "a hidden layer"]),
    (check_train_network, train_network_on_the_notebooks_data, ["reads the notebook's X_train, Y_train"]),
    # accuracy
    (check_accuracy, lambda A, y: (A.argmax(1) == y).sum(), ["you counted the right predictions"]),
    (check_accuracy, lambda A, y: 100 * np.mean(A.argmax(1) == y), ["not a percentage"]),
    (check_accuracy, lambda A, y: np.mean(A.argmax(0) == y), ["argmax over the wrong axis"]),
    (check_accuracy, lambda A, y: np.mean(A.max(1) == y), ["not the largest output itself"]),
    (check_accuracy, lambda A, y: np.mean((A > 0.5) == np.eye(A.shape[1])[y]),
     ["not thresholded outputs with one-hot rows"]),
    (check_accuracy, lambda A, y: A.argmax(1) == y, ["one True/False per sample"]),
    # make_loader
    (check_make_loader, _textbook_loader(batch_size=_DROP), ["batches of one sample"]),
    (check_make_loader, _textbook_loader(shuffle=True), ["keep the data's order"]),
    (check_make_loader, _textbook_loader(shuffle=False, generator=None),
     ["the training loader shuffles"]),
    (check_make_loader, _textbook_loader(generator=None), ["pass the generator on"]),
    (check_make_loader, _textbook_loader(drop_last=True), ["the last, smaller batch is missing"]),
    # plot_sweep
    (check_plot_sweep, lambda v, a, p: None, ["return the Axes"]),
    (check_plot_sweep, _sweep_drawn(lambda ax, v, a: ax.semilogy(a, v)), ["axes are swapped"]),
    (check_plot_sweep, _sweep_drawn(lambda ax, v, a: ax.plot(v, a, "o-")),
     ["a logarithmic x axis", "crowd at 0"]),
    (check_plot_sweep, _sweep_drawn(lambda ax, v, a: ax.semilogx(v, sorted(a))),
     ["in the same order"]),
    (check_plot_sweep, _sweep_drawn(lambda ax, v, a: ax.semilogx(v, a), labels=False),
     ["label the axes"]),
    (check_plot_sweep, _sweep_drawn(lambda ax, v, a: ax.semilogx(v, a),
                                    draw_names=lambda ax, v, a: ax.plot(v, a)),
     ["names are categories"]),
    # plot_first_image
    (check_plot_first_image, lambda X, y: None, ["return the Axes"]),
    (check_plot_first_image, _first_image_drawn(lambda X: X[0][None, :], lambda y: f"{y[0]}"),
     ["shape (1, 64)", "X[0].reshape(8, 8)"]),
    (check_plot_first_image, _first_image_drawn(lambda X: X[1].reshape(8, 8), lambda y: f"{y[0]}"),
     ["another image: the first one is X[0]"]),
    (check_plot_first_image, _first_image_drawn(lambda X: X[0].reshape(8, 8).T,
                                                lambda y: f"{y[0]}"), ["transposed"]),
    (check_plot_first_image, _first_image_drawn(lambda X: X[0].reshape(8, 8),
                                                lambda y: "the first image"),
     ["name the label in the title"]),
    (check_plot_first_image, _first_image_drawn(lambda X: X[0].reshape(8, 8),
                                                lambda y: f"label {y[1]}"),
     ["another image's label"]),
    (check_fc_forward, lambda X, W: (X[:, :-1] @ W[:-1], (X, W)), ["the bias is missing"]),
    (check_fc_forward, lambda X, W: ((X @ W).astype(np.float32), (X, W)),
     ["Z of dtype float64", "dtype float32"]),
    # fc_backward
    (check_fc_backward, lambda dZ, c: (-(dZ @ c[1].T), -(c[0].T @ dZ)),
     ["wrong sign", "dX", "against finite differences"]),
    (check_fc_backward, lambda dZ, c: (dZ @ c[1].T, dZ.T @ c[0]), ["dW looks transposed"]),
    (check_fc_backward, lambda dZ, c: (dZ @ c[1], c[0].T @ dZ), ["transposed weight", "dZ @ W.T"]),
    (check_fc_backward, lambda dZ, c: (c[0].T @ dZ, dZ @ c[1].T), ["swapped"]),
    (check_fc_backward, lambda dZ, c: (dZ @ c[1].T / len(dZ), c[0].T @ dZ / len(dZ)),
     ["divided by the number of samples"]),
    (check_fc_backward, lambda dZ, c: c[0].T @ dZ, ["a tuple (dX, dW)"]),
    # sigmoid_forward
    (check_sigmoid_forward, lambda Z: (1 / (1 + np.exp(Z)),) * 2, ["wrong sign in the exponent"]),
    (check_sigmoid_forward, lambda Z: (np.exp(Z) / (1 + np.exp(Z)),) * 2,
     ["exp overflowed", "non-finite", "large |z|", "RuntimeWarning"]),
    (check_sigmoid_forward, lambda Z: (1 / (1 + np.exp(-Z)), Z), ["the cache holds Z"]),
    (check_sigmoid_forward, _sigmoid_in_place, ["modified the input Z in place"]),
    (check_sigmoid_forward, naive_sigmoid_forward,
     ["without overflow", "overflow encountered in exp", "compute exp(-|z|)"]),
    # sigmoid_backward
    (check_sigmoid_backward, lambda dA, A: dA * A * (A - 1), ["wrong sign"]),
    (check_sigmoid_backward, lambda dA, A: A * (1 - A), ["multiply by dA"]),
    (check_sigmoid_backward, lambda dA, A: dA * sigmoid_forward(A)[0] * (1 - sigmoid_forward(A)[0]),
     ["do not apply the sigmoid again"]),
    (check_sigmoid_backward, _sigmoid_backward_in_place, ["modified the input dA in place"]),
    (check_sigmoid_backward, lambda dA, A: dA, ["the sigmoid's derivative is missing"]),
    (check_sigmoid_backward, lambda dA, A: dA * (1 - A), ["derivative is A * (1 - A)"]),
    # mse_loss
    (check_mse_loss, lambda A, Y: (np.sum((A - Y) ** 2), 2 * (A - Y)),
     ["you summed the squared errors", "A of shape (5, 3)"]),
    (check_mse_loss, lambda A, Y: (np.sum((A - Y) ** 2) / len(A), 2 * (A - Y) / A.size),
     ["divided by the number of samples only"]),
    (check_mse_loss, lambda A, Y: (np.mean((A - Y) ** 2), 2 * (Y - A) / A.size), ["wrong sign"]),
    (check_mse_loss, lambda A, Y: (np.mean((A - Y) ** 2), (A - Y) / A.size),
     ["the factor 2 is missing"]),
    (check_mse_loss, lambda A, Y: (np.mean((A - Y) ** 2, axis=1), 2 * (A - Y) / A.size),
     ["loss, one number", "one number"]),
    (check_mse_loss, _mse_in_place, ["modified the input A in place"]),
    # gradient_step
    (check_gradient_step, _step_in_place, ["modified the input params['W1'] in place"]),
    (check_gradient_step, _step_no_return, ["in place"]),
    (check_gradient_step, lambda p, g, lr: {k: p[k] + lr * g[k] for k in p}, ["wrong sign"]),
    (check_gradient_step, lambda p, g, lr: {k: p[k] - g[k] for k in p},
     ["the learning rate is missing"]),
    (check_gradient_step, lambda p, g, lr: {"W1": p["W1"] - lr * g["W1"]},
     ["every key of params", "['W1', 'W2']"]),
    # DigitsDataset
    (check_dataset, _dataset(lambda X: torch.tensor(X), lambda y: torch.tensor(y)),
     ["float64 instead of float32", "dataset[0]"]),
    (check_dataset, _dataset(lambda X: X, lambda y: y), ["as a torch tensor"]),
    (check_dataset, _dataset(lambda X: torch.tensor(X, dtype=torch.float32),
                             lambda y: torch.tensor(y, dtype=torch.int32)), ["int64"]),
    (check_dataset, _dataset(lambda X: torch.tensor(X, dtype=torch.float32),
                             lambda y: torch.tensor(y).reshape(-1, 1)), ["a single label"]),
    (check_dataset, _dataset(lambda X: X, lambda y: y, base=object),
     ["subclass of torch.utils.data.Dataset"]),
    (check_dataset, _PerRowDataset, ["dataset[[1, 4]]", "rows 1 and 4 of X"]),
    # SimpleMLP
    (check_simple_mlp, _mlp(lambda self, x: self.fc2(self.fc1(x))), ["missing ReLU"]),
    (check_simple_mlp, _mlp(lambda self, x: F.softmax(self.fc2(F.relu(self.fc1(x))), dim=1)),
     ["without a softmax"]),
    (check_simple_mlp, _mlp(lambda self, x: self.fc2(torch.sigmoid(self.fc1(x)))),
     ["not a sigmoid"]),
    (check_simple_mlp, OneLayer, ["two nn.Linear layers, 5 -> 7 and 7 -> 3", "[(5, 3)]"]),
    # penalties
    (check_l1_penalty, lambda m: sum(p.abs().sum() for p in m.parameters()),
     ["the biases were included", "SimpleMLP(4, 3, 2)"]),
    (check_l1_penalty,
     lambda m: sum(p.abs().sum() for n, p in m.named_parameters() if n.endswith("weight")),
     ["BatchNorm's weight is a vector", "ComplexMLP"]),
    (check_l1_penalty, lambda m: float(l1_penalty(m)), ["not a Python number", "float"]),
    (check_l1_penalty, lambda m: sum(p.sum() for p in m.parameters() if p.ndim >= 2),
     ["absolute value"]),
    (check_l1_penalty, l2_penalty, ["that is the L2 penalty"]),
    (check_l2_penalty, lambda m: sum((p**2).sum() for p in m.parameters()),
     ["the biases were included"]),
    (check_l2_penalty, lambda m: sum(p.norm() for p in m.parameters() if p.ndim >= 2),
     ["square root"]),
    (check_l2_penalty, lambda m: sum((p.detach() ** 2).sum() for p in m.parameters() if p.ndim >= 2),
     ["requires_grad", ".detach()"]),
    (check_simple_mlp, SequentialSimpleMLP, ["fc1", "the chapter reads model.fc1"]),
    # ComplexMLP
    (check_complex_mlp, _complex_variant(keep=False), ["kept as attributes", "hidden_sizes"]),
    (check_complex_mlp, _complex_variant(bias=False), ["parameters", "biases"]),
    (check_complex_mlp,
     _block_student(lambda n_in, n_out, p: [nn.Linear(n_in, n_out), nn.ReLU(), nn.Dropout(p)]),
     ["Linear without BatchNorm", "no BatchNorm layer"]),
    (check_complex_mlp,
     _block_student(lambda n_in, n_out, p: [nn.Linear(n_in, n_out), nn.ReLU(), nn.BatchNorm1d(n_out),
                                           nn.Dropout(p)]),
     ["the order in each block is Linear, BatchNorm1d, ReLU, Dropout", "evaluation mode"]),
    (check_complex_mlp,
     _block_student(lambda n_in, n_out, p: [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.Dropout(p)]),
     ["missing ReLU"]),
    (check_complex_mlp,
     _block_student(lambda n_in, n_out, p: [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU()]),
     ["nn.Dropout(dropout)", "training mode"]),
    (check_complex_mlp,
     _block_student(lambda n_in, n_out, p: [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU(),
                                           nn.Dropout(0.2)]),
     ["dropout argument"]),
    # the loops (their mistakes one by one: tests/test_loop_checks.py)
    (check_train_epoch, _with(zero_grad=False), ["optimizer.zero_grad()"]),
    (check_train_epoch, _with(per_batch_mean=True), ["mean of the batch means"]),
    (check_evaluate, lambda m, loader: _evaluate(m, loader, eval_mode=False), ["model.eval()"]),
    (check_evaluate, lambda m, loader: _evaluate(m, loader, dim=0), ["argmax(dim=1)"]),
    (check_predict, lambda m, X: _predict(m, X, no_grad=False), ["torch.no_grad()"]),
    (check_predict, lambda m, X: _predict(m, X, dim=0), ["argmax(dim=1)"]),
    (check_compare_values, lambda *a: _compare(*a, pick=lambda r: r.test_accuracy), ["test accuracy"]),
    (check_compare_values, lambda *a: _compare(*a, set_value=False), ["same settings"]),
]


@pytest.mark.parametrize(
    ("checker", "answer", "words"), WRONG,
    ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(WRONG)],
)
def test_wrong_answers_fail_with_a_hint(checker, answer, words):
    verdict = checker(answer, verbose=False)
    assert verdict.status == "failed", verdict.message
    assert not verdict.passed
    message = verdict.message
    assert message.startswith(f"✗ {verdict.name}: failed.")
    for part in ("Input:", "Expected:", "Received:", "Hint:"):
        assert part in message, message
    for word in words:
        assert word in message, (word, message)
    assert message.count("labcode's reference") == 1
    assert verdict.use() is verdict.reference is not answer


def test_every_checker_has_at_least_two_wrong_answers():
    counts = {c: 0 for c, _, _ in REFERENCES}
    for checker, _, _ in WRONG:
        counts[checker] += 1
    assert min(counts.values()) >= 2, counts


def test_a_wrong_answer_is_reported_the_same_way_every_time():
    wrong = lambda dZ, c: (dZ @ c[1].T, dZ.T @ c[0])  # noqa: E731
    first, second = (check_fc_backward(wrong, verbose=False) for _ in range(2))
    assert first.message == second.message


# --- not implemented, errors, and the student's line ------------------------------------


def starter_fc_forward(X, W):
    # TODO: compute Z and return it with the cache
    raise NotImplementedError


class StarterSimpleMLP(nn.Module):
    def __init__(self, in_features, hidden_size, num_classes):
        super().__init__()
        # TODO: create the layers

    def forward(self, x):
        # TODO: compute the logits
        raise NotImplementedError


class StarterComplexMLP(nn.Module):
    def __init__(self, in_features, hidden_sizes, num_classes, dropout):
        super().__init__()
        raise NotImplementedError


class StarterDataset(Dataset):
    def __init__(self, X, y):
        pass

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, i):
        raise NotImplementedError


def starter_l2_penalty(model):
    raise NotImplementedError


def helper_that_is_not_written_yet(Z):
    raise NotImplementedError


def sigmoid_forward_using_a_starter(Z):
    return helper_that_is_not_written_yet(Z)


@pytest.mark.parametrize(
    ("checker", "starter", "name"),
    [
        (check_fc_forward, starter_fc_forward, "fc_forward"),
        (check_simple_mlp, StarterSimpleMLP, "SimpleMLP"),
        (check_sigmoid_forward, sigmoid_forward_using_a_starter, "sigmoid_forward"),
        (check_complex_mlp, StarterComplexMLP, "ComplexMLP"),
        (check_dataset, StarterDataset, "DigitsDataset"),
        (check_l2_penalty, starter_l2_penalty, "l2_penalty"),
    ],
)
def test_a_starter_is_not_implemented_and_the_reference_takes_over(checker, starter, name):
    verdict = checker(starter, verbose=False)
    assert verdict.status == "not implemented"
    assert f"{name}: not implemented yet" in verdict.message
    assert verdict.message.count("labcode's reference") == 1
    assert verdict.use() is verdict.reference


def fc_forward_that_divides_by_zero(X, W):
    n_extra = X.shape[1] - W.shape[0]
    scale = 1 / n_extra
    return scale * (X @ W), (X, W)


def fc_forward_calling_into_numpy(X, W):
    inverse = np.linalg.inv(np.zeros((2, 2)))
    return X @ W, inverse


def _line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_an_exception_in_the_students_code_names_the_students_line():
    verdict = check_fc_forward(fc_forward_that_divides_by_zero, verbose=False)
    assert verdict.status == "error"
    message = verdict.message
    assert message.startswith("✗ fc_forward: error. Your code raised ZeroDivisionError: division by zero")
    assert f'test_checks.py", line {_line_of(fc_forward_that_divides_by_zero, "1 / n_extra")}' in message
    assert "in fc_forward_that_divides_by_zero" in message
    assert "scale = 1 / n_extra" in message
    assert "while running fc_forward(X, W); input: X of shape (4, 4)" in message
    assert verdict.use() is numpy_net.fc_forward


def test_an_exception_inside_a_library_names_the_students_line_that_called_it():
    verdict = check_fc_forward(fc_forward_calling_into_numpy, verbose=False)
    assert verdict.status == "error"
    assert "LinAlgError: Singular matrix" in verdict.message
    line = _line_of(fc_forward_calling_into_numpy, "np.linalg.inv")
    assert f'test_checks.py", line {line}' in verdict.message
    assert "inverse = np.linalg.inv(np.zeros((2, 2)))" in verdict.message
    assert "site-packages" not in verdict.message  # not numpy's own line


def test_an_exception_in_a_notebook_cell_shows_the_cell_line():
    # a notebook cell: code compiled under a made-up file name whose source linecache knows
    filename = "<student cell 7>"
    source = "def one_hot(y, num_classes=10):\n    width = num_classes // 0\n    return width\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    try:
        verdict = check_one_hot(namespace["one_hot"], verbose=False)
    finally:
        del linecache.cache[filename]
    assert verdict.status == "error"
    assert 'File "<student cell 7>", line 2, in one_hot' in verdict.message
    assert "width = num_classes // 0" in verdict.message
    assert "ZeroDivisionError: integer division or modulo by zero" in verdict.message


def test_an_error_in_a_class_is_reported_too():
    class Broken(StudentDataset):
        def __len__(self):
            return len(self.y) // 0

    verdict = check_dataset(Broken, verbose=False)
    assert verdict.status == "error"
    assert "ZeroDivisionError" in verdict.message and "return len(self.y) // 0" in verdict.message
    assert verdict.use() is torch_data.DigitsDataset


# --- the checker's own interface ----------------------------------------------------------


@pytest.mark.parametrize(
    ("checker", "argument", "match"),
    [
        (check_fc_forward, "fc_forward", r"check_fc_forward expects your function fc_forward, got str 'fc_forward'"),
        (check_one_hot, None, r"expects your function one_hot, got None"),
        (check_mse_loss, StudentDataset, r"expects your function mse_loss, got the class StudentDataset"),
        (check_simple_mlp, StudentSimpleMLP(2, 3, 4),
         r"check_simple_mlp expects your class SimpleMLP itself \(not an instance of it\)"),
        (check_dataset, lambda X, y: None, r"check_dataset expects your class DigitsDataset itself"),
    ],
)
def test_a_wrong_kind_of_argument_is_a_type_error(checker, argument, match):
    with pytest.raises(TypeError, match=match):
        checker(argument)


def test_verbose_must_be_a_bool():
    with pytest.raises(TypeError, match=r"verbose must be True or False, got str 'yes'"):
        check_add_bias(add_bias, verbose="yes")


def test_the_checker_prints_its_verdict_unless_told_not_to(capsys):
    verdict = check_add_bias(add_bias)
    assert capsys.readouterr().out == verdict.message + "\n"
    check_add_bias(add_bias, verbose=False)
    assert capsys.readouterr().out == ""


def test_a_verdict_is_a_small_frozen_record():
    verdict = check_gradient_step(gradient_step, verbose=False)
    assert isinstance(verdict, Verdict)
    assert str(verdict) == verdict.message
    assert repr(verdict) == f"Verdict(name='gradient_step', status='passed', checks={verdict.checks})"
    with pytest.raises(AttributeError):
        verdict.status = "failed"
    assert set(checks.STATUSES) == {"passed", "failed", "not implemented", "error"}


def test_check_all_lists_the_latest_status_of_every_checker_run():
    check_add_bias(lambda X: X, verbose=False)
    check_add_bias(add_bias, verbose=False)  # the latest status counts
    check_fc_forward(starter_fc_forward, verbose=False)
    check_mse_loss(lambda A, Y: (np.sum((A - Y) ** 2), 2 * (A - Y)), verbose=False)
    check_one_hot(lambda y, num_classes=10: 1 // 0, verbose=False)
    summary = check_all()
    statuses = summary.statuses
    assert statuses["add_bias"] == "passed"
    assert statuses["fc_forward"] == "not implemented"
    assert statuses["mse_loss"] == "failed"
    assert statuses["one_hot"] == "error"
    assert len([v for v in summary.verdicts if v.name == "add_bias"]) == 1
    table = str(summary)
    assert table.startswith("Checks run so far:")
    for line in ("add_bias", "✓ passed"), ("fc_forward", "○ not implemented"), ("mse_loss", "✗ failed"):
        assert any(line[0] in row and row.endswith(line[1]) for row in table.splitlines()), table
    assert repr(summary) == table


def test_torch_checkers_leave_the_random_state_and_threads_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    threads = torch.get_num_threads()
    check_complex_mlp(StudentComplexMLP, verbose=False)
    check_simple_mlp(StudentSimpleMLP, verbose=False)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads


def test_warnings_of_the_students_code_do_not_escape():
    # the naive sigmoid overflows for z = -1000; the test suite turns warnings into errors,
    # so the warning reaches the verdict and nothing else
    verdict = check_sigmoid_forward(naive_sigmoid_forward, verbose=False)
    assert verdict.status == "failed" and "overflow encountered in exp" in verdict.message


def test_importing_the_checks_does_not_import_torch():
    code = "import sys, labcode.checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the checkers' docstrings ------------------------------------------------------------

SHARED_RETURNS = """Returns
-------
Verdict
    Also printed, unless ``verbose=False``; ``.use()`` gives the piece the rest of the
    notebook should use: the student's when it passed, otherwise labcode's reference."""


def test_every_public_checker_is_in_the_table_of_references():
    public = {n for n in checks.__all__ if n.startswith("check_") and n != "check_all"}
    assert public == set(IDS) | {c.__name__ for c in SWEEP_CHECKERS.values()}


@pytest.mark.parametrize(("checker", "reference", "student"), REFERENCES, ids=IDS)
def test_a_checkers_docstring_is_its_own_summary_then_the_shared_sections(
    checker, reference, student
):
    doc = inspect.getdoc(checker)
    own, _, shared = doc.partition("\n\nParameters\n----------\n")
    # its own part: what this checker checks, naming the piece
    assert own.startswith("Check ``") and reference.__name__ in own.splitlines()[0], own
    assert "\n\n" in own, "a summary line, then a paragraph on the inputs and the checks"
    # the shared part, written once for every checker
    kind = "class" if isinstance(reference, type) else "function"
    argument = "cls" if kind == "class" else "func"
    assert shared.startswith(f"{argument} : ")
    assert f"The student's {kind} ``{reference.__name__}``." in shared
    assert doc.count(SHARED_RETURNS) == 1 and SHARED_RETURNS in shared
    assert shared.endswith(f"TypeError\n    If ``{argument}`` is not a {kind}, or ``verbose`` is not a bool.")
    assert doc.count("Parameters\n----------") == 1


def test_the_checkers_own_summaries_differ():
    checkers = dict.fromkeys(c for c, _, _ in REFERENCES)
    owns = [inspect.getdoc(c).partition("\n\nParameters\n")[0] for c in checkers]
    assert len(set(owns)) == len(owns)


@pytest.mark.parametrize(("checker", "reference", "student"), REFERENCES, ids=IDS)
def test_a_checkers_docstring_is_numpydoc_that_napoleon_renders(checker, reference, student):
    napoleon = pytest.importorskip("sphinx.ext.napoleon")
    from sphinx.ext.napoleon.docstring import NumpyDocstring

    # the settings of _config.yml
    config = napoleon.Config(napoleon_use_param=False, napoleon_use_rtype=False)
    rst = str(NumpyDocstring(inspect.getdoc(checker), config, what="function"))
    argument = "cls" if isinstance(reference, type) else "func"
    assert f":Parameters: * **{argument}** (*" in rst
    assert "* **verbose** (*bool, default True*) -- Print the verdict." in rst
    assert ":returns: *Verdict* -- Also printed" in rst
    assert ":raises TypeError: If" in rst
    assert "-------" not in rst  # every section header was recognized as one


# --- the checks of Steps 6 to 8 as run: the handout's values, their accuracies, the plot ------

SWEEP_CHECKERS = {"lr": check_lr_sweep, "hidden_size": check_hidden_size_sweep,
                  "optimizer": check_optimizer_sweep}


@pytest.fixture(autouse=False)
def fresh_verdicts():
    """No verdict of compare_values or plot_sweep yet, as in a notebook run from the top."""
    from labcode.checks.framework import _RESULTS

    saved = dict(_RESULTS)
    _RESULTS.clear()
    yield _RESULTS
    _RESULTS.clear()
    _RESULTS.update(saved)


def _sweep(param, values=None, accuracies=None, drawn=None):
    from labcode.experiment import HANDOUT_SWEEPS

    values = list(HANDOUT_SWEEPS[param]) if values is None else values
    if accuracies is None:
        accuracies = [0.5 + 0.04 * i for i in range(len(values))]
    ax = study_plots.plot_sweep(*(drawn or (values, accuracies)), param)
    return values, accuracies, ax


@pytest.mark.parametrize("param", list(SWEEP_CHECKERS))
def test_a_step_run_as_the_handout_asks_passes_its_sweep_check(param, fresh_verdicts):
    verdict = SWEEP_CHECKERS[param](*_sweep(param), verbose=False)
    assert verdict.status == "passed", verdict.message
    assert verdict.name == f"{param}_sweep" and verdict.checks >= 4


def _other(param):
    from labcode.experiment import HANDOUT_SWEEPS

    return list(HANDOUT_SWEEPS[param])


@pytest.mark.parametrize(("param", "run", "words"), [
    ("hidden_size", lambda: _sweep("hidden_size", values=_other("lr")),
     ["the learning rates of Step 6", "Step 7 sweeps the hidden sizes"]),
    ("hidden_size", lambda: _sweep("hidden_size", values=[16, 32, 64, 128, 256]),
     ["missing [512]"]),
    ("lr", lambda: _sweep("lr", values=[1e-1, 1e-2, 1e-3, 1e-4, 1e-6]),
     ["missing [1e-05]", "not in the handout [1e-06]"]),
    ("optimizer", lambda: _sweep("optimizer", values=_other("optimizer")[:-1]),
     ["missing ['nadam']"]),
    ("hidden_size", lambda: _sweep("hidden_size", accuracies=[90.0, 91, 92, 93, 94, 95],
                                   drawn=(_other("hidden_size"), [0.9] * 6)),
     ["not a percentage"]),
    ("hidden_size", lambda: (*_sweep("hidden_size")[:2],
                             _sweep("lr")[2]), ["the plot shows the learning rates of Step 6"]),
    ("lr", lambda: _sweep("lr", accuracies=[0.9, 0.95, 0.96, 0.5, 0.1],
                          drawn=(_other("lr"), [0.1, 0.5, 0.96, 0.95, 0.9])),
     ["plot the values against their accuracies"]),
    ("optimizer", lambda: _sweep("optimizer", accuracies=[0.9] * 7,
                                 drawn=(_other("optimizer"), [0.9] * 8)), ["one per value (8)"]),
])
def test_a_sweep_run_wrong_fails_with_a_hint(param, run, words, fresh_verdicts):
    verdict = SWEEP_CHECKERS[param](*run(), verbose=False)
    assert verdict.status == "failed", verdict.message
    for word in ("Expected:", "Received:", "Hint:", *words):
        assert word in verdict.message, (word, verdict.message)
    assert verdict.message.endswith("Correct the cell above, run it, then run this check again.")


def test_a_sweep_run_on_labcodes_pieces_is_not_the_students(fresh_verdicts):
    # compare_values left as its starter: the step ran on labcode's, so it is not yet done
    check_compare_values(_compare_starter, verbose=False)
    verdict = check_hidden_size_sweep(*_sweep("hidden_size"), verbose=False)
    assert verdict.status == "not implemented"
    check_compare_values(experiment.compare_values, verbose=False)
    check_plot_sweep(lambda values, accuracies, param: None, verbose=False)
    verdict = check_hidden_size_sweep(*_sweep("hidden_size"), verbose=False)
    assert verdict.status == "failed" and "run with labcode's plot_sweep" in verdict.message
    assert "until it passes its check" in verdict.message


def _compare_starter(split, param, values, base=None):
    raise NotImplementedError
