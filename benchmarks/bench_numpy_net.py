"""Time the NumPy network of Exercise 1 against scikit-learn, side by side, on one core.

Run from the repository root:

    .venv/bin/python benchmarks/bench_numpy_net.py [--repeats 5]

Every model is trained on the training part of ``load_digits_split(seed=0)`` and scored
on its test part. Compared, with the number of iterations of the book's setups:

* the lab's network, ``NumpyNetwork(LAB_SETUP.layer_sizes)``, against scikit-learn's
  ``MLPClassifier`` running the same algorithm (full-batch gradient descent, no hidden
  layer, same number of iterations) and against ``LogisticRegression`` (L-BFGS), what
  one would use in practice;
* the network with one hidden layer, ``HIDDEN_SETUP``, against ``MLPClassifier`` with
  the same hidden layer and iterations.

The thread count of every BLAS and OpenMP library is set to 1 below, before NumPy is
imported, so that the comparison is of one core against one core. Each fit is repeated
and the fastest time is reported (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from labcode.baselines import fit_and_score, full_batch_mlp, logistic_regression  # noqa: E402
from labcode.data import DigitsSplit, load_digits_split, one_hot  # noqa: E402
from labcode.engine.setups import HIDDEN_SETUP, LAB_SETUP, TrainingSetup  # noqa: E402


def time_numpy(setup: TrainingSetup, split: DigitsSplit) -> tuple[float, float]:
    """Seconds to build and fit a network of ``setup``, and its test accuracy."""
    Y = one_hot(split.train.y)
    start = time.perf_counter()
    net = setup.build()
    net.fit(split.train.X, Y, lr=setup.lr, epochs=setup.epochs)
    seconds = time.perf_counter() - start
    return seconds, net.accuracy(split.test.X, split.test.y)


def time_sklearn(make: Callable[[], object], split: DigitsSplit) -> tuple[float, float]:
    """Seconds to fit a fresh estimator from ``make``, and its test accuracy."""
    scores = fit_and_score(make(), split)
    return scores["fit_seconds"], scores["test"]


def best_of(repeats: int, run: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """The fastest of ``repeats`` runs, with its accuracy (the same in every run)."""
    results = [run() for _ in range(repeats)]
    return min(r[0] for r in results), results[0][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fits per model (default 5)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")

    split = load_digits_split(seed=0)
    n_train = len(split.train)
    threads = sorted({(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info()})
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, scikit-learn {sklearn.__version__}")
    print(f"thread pools: {', '.join(f'{api}={n}' for api, n in threads)}")
    print(f"data: {n_train} training images, {len(split.test)} test images; best of {args.repeats} fits\n")

    groups = [
        (
            f"no hidden layer, {LAB_SETUP.epochs} iterations",
            LAB_SETUP,
            [
                ("sklearn MLPClassifier, full-batch GD",
                 lambda: full_batch_mlp((), n_train=n_train, epochs=LAB_SETUP.epochs, seed=LAB_SETUP.seed)),
                ("sklearn LogisticRegression (L-BFGS)", lambda: logistic_regression(seed=0)),
            ],
        ),
        (
            f"one hidden layer of {HIDDEN_SETUP.layer_sizes[1]}, {HIDDEN_SETUP.epochs} iterations",
            HIDDEN_SETUP,
            [
                ("sklearn MLPClassifier, full-batch GD",
                 lambda: full_batch_mlp(HIDDEN_SETUP.layer_sizes[1:-1], n_train=n_train,
                                        epochs=HIDDEN_SETUP.epochs, seed=HIDDEN_SETUP.seed)),
            ],
        ),
    ]
    header = f"{'model':<40} {'fit time':>10} {'vs NumPy':>9} {'test acc':>9}"
    for title, setup, rivals in groups:
        print(title)
        print(header)
        base, acc = best_of(args.repeats, lambda s=setup: time_numpy(s, split))
        print(f"{'NumPy ' + str(setup.layer_sizes) + ', MSE, full-batch GD':<40} {base:>9.3f}s {1.0:>8.2f}x {acc:>9.3f}")
        for name, make in rivals:
            seconds, acc = best_of(args.repeats, lambda m=make: time_sklearn(m, split))
            print(f"{name:<40} {seconds:>9.3f}s {seconds / base:>8.2f}x {acc:>9.3f}")
        print()
    print("'vs NumPy' is the model's time divided by the NumPy network's: above 1 means NumPy is faster.")


if __name__ == "__main__":
    main()
