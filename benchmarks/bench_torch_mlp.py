"""Time 50 epochs of the one-hidden-layer MLP: scikit-learn, labcode, and a textbook loop.

Every variant trains 32 hidden units with Adam (learning rate 0.001) for 50 epochs in
batches of 32 on the book's training split (1,077 images), and they run interleaved in
one process, so that they share the machine's state:

(a) scikit-learn's ``MLPClassifier(hidden_layer_sizes=(32,), solver="adam",
    learning_rate_init=1e-3, batch_size=32, max_iter=50)``, the reference;
(b) labcode: ``run_experiment(TrainConfig())``, the whole path the book uses (loaders,
    model, 50 epochs of ``fit`` with a validation pass after each, the final
    validation and test evaluation);
(c) a textbook loop: a ``Dataset`` whose ``__getitem__`` returns one row, the default
    ``DataLoader(batch_size=32, shuffle=True)`` collation and ``torch.optim.Adam`` with its
    default implementation, trained by the same ``labcode.training.fit`` on one thread.

With ``--ablations`` it also runs (b) with one change at a time, to show where the time
goes: torch's default thread count (slow on a busy machine: more than a minute per run
was seen on two shared cores), Adam's default (non-fused) implementation, the
per-sample dataset, and the bare step (no ``DataLoader``, no metrics), which shows the
floor set by PyTorch's per-operation overhead.

Usage::

    .venv/bin/python benchmarks/bench_torch_mlp.py [--repeats 5] [--ablations]

It prints the best (minimum) wall-clock time of each variant over the repeats, the best
CPU time of the process (less disturbed by other programs on a shared machine), and
their ratios to scikit-learn's; the test accuracies show that all variants learn.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from torch.utils.data import DataLoader, Dataset

from labcode.data import DigitsSplit, load_digits_split
from labcode.models import SimpleMLP
from labcode.torch_data import make_loaders
from labcode.experiment import TrainConfig, run_experiment, torch_threads
from labcode.training import evaluate, fit

EPOCHS, BATCH, HIDDEN, LR = 50, 32, 32, 1e-3


class PerSampleDataset(Dataset):
    """The textbook dataset: one row per ``__getitem__``, stacked by the default collation."""

    def __init__(self, X, y):
        self.X = torch.as_tensor(X, dtype=torch.float32)
        self.y = torch.as_tensor(y, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return self.X[i], self.y[i]


def run_sklearn(split: DigitsSplit) -> float:
    clf = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), solver="adam", learning_rate_init=LR,
        batch_size=BATCH, max_iter=EPOCHS, random_state=0,
    )
    with warnings.catch_warnings():
        # 50 epochs stop before sklearn's own convergence test is met; that is expected
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(split.train.X, split.train.y)
    return float(clf.score(split.test.X, split.test.y))


def run_labcode(split: DigitsSplit, **changes) -> float:
    return run_experiment(TrainConfig(**changes), split).test_accuracy


def run_manual(
    split: DigitsSplit, *, per_sample: bool, fused: bool | None, threads: int | None
) -> float:
    """The model and loop of (b), with the data path, optimizer and threads chosen here."""
    with torch_threads(threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        loaders = make_loaders(split, batch_size=BATCH, seed=0)
        if per_sample:
            train = DataLoader(
                PerSampleDataset(split.train.X, split.train.y), batch_size=BATCH,
                shuffle=True, generator=torch.Generator().manual_seed(0),
            )
        else:
            train = loaders.train
        model = SimpleMLP(hidden_size=HIDDEN)
        kwargs = {} if fused is None else {"fused": fused}
        optimizer = torch.optim.Adam(model.parameters(), lr=LR, **kwargs)
        fit(model, train, optimizer=optimizer, epochs=EPOCHS, val_loader=loaders.val)
        return evaluate(model, loaders.test)["accuracy"]


def run_bare_steps(split: DigitsSplit) -> float:
    """The floor: the same batches, model and fused Adam, no DataLoader, no metrics."""
    import torch.nn.functional as F

    with torch_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        train = make_loaders(split, batch_size=BATCH, seed=0).train
        ds = train.dataset
        model = SimpleMLP(hidden_size=HIDDEN)
        optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
        for _ in range(EPOCHS):
            for index in train.sampler:
                optimizer.zero_grad()
                xb, yb = ds[index]
                F.cross_entropy(model(xb), yb).backward()
                optimizer.step()
        return evaluate(model, make_loaders(split).test)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant (default 5)")
    parser.add_argument("--ablations", action="store_true", help="also time one change at a time")
    args = parser.parse_args()

    split = load_digits_split(seed=0)
    variants: dict[str, Callable[[], float]] = {
        "(a) scikit-learn MLPClassifier": lambda: run_sklearn(split),
        "(b) labcode run_experiment": lambda: run_labcode(split),
        "(c) per-sample Dataset, default collation and Adam":
            lambda: run_manual(split, per_sample=True, fused=None, threads=1),
    }
    if args.ablations:
        variants.update({
            "(b) with torch's default thread count":
                lambda: run_labcode(split, num_threads=None),
            "(b) with Adam's default implementation":
                lambda: run_manual(split, per_sample=False, fused=None, threads=1),
            "(b) with the per-sample Dataset":
                lambda: run_manual(split, per_sample=True, fused=True, threads=1),
            "bare steps: no DataLoader, no metrics":
                lambda: run_bare_steps(split),
        })

    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    accuracy: dict[str, float] = {}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads by default; "
          f"{args.repeats} interleaved repeats; {EPOCHS} epochs, batch {BATCH}, "
          f"{len(split.train)} training images")
    for repeat in range(args.repeats):
        for name, run in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            accuracy[name] = run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
        print(f"  repeat {repeat + 1}: " + ", ".join(f"{t[-1]:.2f}s" for t in times.values()))

    sk = "(a) scikit-learn MLPClassifier"
    ref_wall, ref_cpu = min(times[sk]), min(cpu[sk])
    width = max(map(len, variants))
    print(f"\n{'variant':<{width}}  {'wall s':>6}  {'median':>6}  {'ratio':>5}  "
          f"{'cpu s':>6}  {'ratio':>5}  test acc")
    for name in variants:
        wall, proc = min(times[name]), min(cpu[name])
        print(f"{name:<{width}}  {wall:6.2f}  {statistics.median(times[name]):6.2f}  "
              f"{wall / ref_wall:5.2f}  {proc:6.2f}  {proc / ref_cpu:5.2f}  {accuracy[name]:.3f}")
    print("\nwall s, cpu s: best of the repeats; ratio: divided by scikit-learn's best")


if __name__ == "__main__":
    main()
