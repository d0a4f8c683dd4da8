"""Time per run of the Step 3 model: scikit-learn, PyTorch one run at a time, and stacked.

Every variant trains the Step 3 configuration (32 hidden units, Adam with learning rate
0.001, 50 epochs, batches of 32, the book's 1,077 training images) on one thread, and
they run interleaved in one process:

* scikit-learn's ``MLPClassifier``, the reference (as in ``bench_torch_mlp.py``);
* the bare PyTorch loop: the same batches, model and fused Adam, no ``DataLoader``, no
  metrics, no validation (the floor of one run at a time);
* ``run_experiment(TrainConfig())``: the book's path for one run, with a validation
  pass after every epoch and the final validation and test evaluation;
* ``train_stacked`` with R = 1, 3, 5, 15 seeds: the same runs, R at a time, per-epoch
  validation included; its time is divided by R.

Usage::

    .venv/bin/python benchmarks/bench_stacked.py [--repeats 5] [--sizes 1 3 5 15] [--complex]

It prints the best (minimum) wall-clock time per run of each variant over the repeats
and its ratio to scikit-learn's best. ``--complex`` adds the Step 10 model (stacked and
through ``run_experiment``), which scikit-learn has no equivalent of.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_torch_mlp import run_bare_steps, run_sklearn  # noqa: E402

from labcode.data import load_digits_split  # noqa: E402
from labcode.engine.stacked import train_stacked  # noqa: E402
from labcode.experiment import TrainConfig, run_experiment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of every variant")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 5, 15],
                        help="numbers of stacked seeds (default 1 3 5 15)")
    parser.add_argument("--complex", action="store_true", help="also time the Step 10 model")
    args = parser.parse_args()
    torch.set_num_threads(1)

    split = load_digits_split(seed=0)
    variants = {
        "scikit-learn MLPClassifier": (1, lambda: [run_sklearn(split)]),
        "bare PyTorch loop (no validation)": (1, lambda: [run_bare_steps(split)]),
        "run_experiment": (1, lambda: [run_experiment(TrainConfig(), split).test_accuracy]),
    }
    models = ("simple", "complex") if args.complex else ("simple",)
    for model in models:
        if model == "complex":
            variants["run_experiment, complex"] = (
                1, lambda: [run_experiment(TrainConfig(model="complex"), split).test_accuracy])
        for R in args.sizes:
            configs = [TrainConfig(model=model, seed=s) for s in range(R)]
            name = f"train_stacked, R={R}" + (", complex" if model == "complex" else "")
            variants[name] = (
                R, lambda configs=configs: [r.test_accuracy for r in train_stacked(configs, split)])

    best = {name: float("inf") for name in variants}
    accuracy: dict[str, float] = {}
    print(f"torch {torch.__version__}, 1 thread; {args.repeats} interleaved repeats; "
          f"{len(split.train)} training images, 50 epochs, batch 32")
    for repeat in range(args.repeats):
        line = []
        for name, (runs, fn) in variants.items():
            start = time.perf_counter()
            scores = fn()
            per_run = (time.perf_counter() - start) / runs
            best[name] = min(best[name], per_run)
            accuracy[name] = sum(scores) / len(scores)
            line.append(f"{per_run:.3f}")
        print(f"  repeat {repeat + 1}: " + ", ".join(line))

    reference = best["scikit-learn MLPClassifier"]
    bare = best["bare PyTorch loop (no validation)"]
    width = max(map(len, variants))
    print(f"\n{'variant':<{width}}  {'s/run':>6}  {'/sklearn':>8}  {'/bare':>6}  test acc")
    for name in variants:
        print(f"{name:<{width}}  {best[name]:6.3f}  {best[name] / reference:8.2f}  "
              f"{best[name] / bare:6.2f}  {accuracy[name]:.3f}")
    print("\ns/run: best of the repeats, divided by the runs of the variant (R for a stack); "
          "test acc: mean over its runs")


if __name__ == "__main__":
    main()
