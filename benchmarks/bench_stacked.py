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

``--updates`` times something else: the stacks of the book's studies
(:func:`labcode.engine.studies.study_configs`, one ``train_stacked`` call per setting,
as a sweep makes them), trained twice, interleaved: with the stack's direct optimizer
update (``labcode.engine._updates.Updates``, torch's fused Adam kernels called without
``optimizer.step()``'s bookkeeping) and with plain ``optimizer.zero_grad()`` and
``optimizer.step()``. It prints, per study, each way's best wall-clock and CPU time,
their ratio, the share of the plain study's time the direct update saves, and whether
both ways gave the same numbers::

    .venv/bin/python benchmarks/bench_stacked.py --updates [--studies learning_rate ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_torch_mlp import run_bare_steps, run_sklearn  # noqa: E402

from labcode.data import load_digits_split  # noqa: E402
import labcode.engine.stacked as stacked_module  # noqa: E402
from labcode.engine.stacked import train_stacked  # noqa: E402
from labcode.engine.studies import ALL_STUDIES, study_configs  # noqa: E402
from labcode.experiment import TrainConfig, run_experiment  # noqa: E402


class PlainUpdates:
    """The stack's update through the optimizer's own ``zero_grad`` and ``step``."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()  # set_to_none, as the direct update does

    def step(self) -> None:
        self.optimizer.step()


def _stacks(name: str) -> list[list[TrainConfig]]:
    """The study's runs grouped as a sweep stacks them: one list per setting, by seed."""
    groups: dict[TrainConfig, list[TrainConfig]] = {}
    for config in study_configs(name):
        groups.setdefault(dataclasses.replace(config, seed=0), []).append(config)
    return list(groups.values())


def _train_study(stacks, split, updates) -> tuple[float, float, list]:
    """Wall-clock and CPU seconds of training every stack with ``updates``, and the numbers."""
    stacked_module.Updates = updates
    wall, cpu = time.perf_counter(), time.process_time()
    results = [train_stacked(configs, split) for configs in stacks]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    numbers = [(r.history, r.val_accuracy, r.test_accuracy, r.test_loss)
               for stack in results for r in stack]
    return wall, cpu, numbers


def compare_updates(studies: list[str], repeats: int) -> None:
    split = load_digits_split(seed=0)
    direct = stacked_module.Updates
    variants = {"direct": direct, "plain": PlainUpdates}
    print(f"torch {torch.__version__}, 1 thread; {repeats} interleaved repeats per study; "
          "times of all the stacks of a study, trained in this process")
    _train_study([[TrainConfig(epochs=1)]], split, direct)  # first-use imports, not timed
    header = (f"{'study':<15}{'stacks':>7}{'direct s':>10}{'plain s':>9}{'plain/direct':>14}"
              f"{'saved':>7}{'cpu ratio':>11}  same numbers")
    rows = []
    totals = {v: 0.0 for v in variants}
    for name in studies:
        stacks = _stacks(name)
        wall = {v: [] for v in variants}
        cpu = {v: [] for v in variants}
        numbers = {}
        for repeat in range(repeats):
            order = list(variants) if repeat % 2 == 0 else list(variants)[::-1]
            for variant in order:
                w, c, numbers[variant] = _train_study(stacks, split, variants[variant])
                wall[variant].append(w)
                cpu[variant].append(c)
            print(f"  {name}, repeat {repeat + 1}: "
                  + ", ".join(f"{v} {wall[v][-1]:.2f} s" for v in variants), flush=True)
        best = {v: min(wall[v]) for v in variants}
        best_cpu = {v: min(cpu[v]) for v in variants}
        for v in variants:
            totals[v] += best[v]
        rows.append(
            f"{name:<15}{len(stacks):>7}{best['direct']:>10.2f}{best['plain']:>9.2f}"
            f"{best['plain'] / best['direct']:>14.3f}"
            f"{1 - best['direct'] / best['plain']:>7.1%}"
            f"{best_cpu['plain'] / best_cpu['direct']:>11.3f}  "
            f"{'yes' if numbers['direct'] == numbers['plain'] else 'NO'}")
        medians = {v: statistics.median(wall[v]) for v in variants}
        rows[-1] += f"   (medians {medians['direct']:.2f} / {medians['plain']:.2f} s)"
    stacked_module.Updates = direct
    if len(studies) > 1:
        rows.append(f"{'all of them':<15}{'':>7}{totals['direct']:>10.2f}{totals['plain']:>9.2f}"
                    f"{totals['plain'] / totals['direct']:>14.3f}"
                    f"{1 - totals['direct'] / totals['plain']:>7.1%}")
    print("\n" + header)
    print("\n".join(rows))
    print("\ndirect s, plain s: best wall-clock time of the repeats; saved: the share of the "
          "plain study's time the direct update saves; cpu ratio: the same ratio of CPU times")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of every variant")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 5, 15],
                        help="numbers of stacked seeds (default 1 3 5 15)")
    parser.add_argument("--complex", action="store_true", help="also time the Step 10 model")
    parser.add_argument("--updates", action="store_true",
                        help="time the studies' stacks with the direct update and with "
                             "optimizer.step()")
    parser.add_argument("--studies", nargs="+", choices=ALL_STUDIES, default=list(ALL_STUDIES),
                        help="with --updates: the studies to time (default all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.updates:
        compare_updates(args.studies, args.repeats)
        return

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
