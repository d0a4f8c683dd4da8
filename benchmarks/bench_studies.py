"""Time the book's studies: the default process pool against one run after the other.

Every study of :data:`labcode.studies.STUDIES` (Steps 6 to 8, and any study added there
later) runs twice, without a run cache, so that every run is trained:

(a) with :func:`labcode.sweep.sweep`'s default executor, a process pool with one worker
    per core, each training with one torch thread (what the book build does);
(b) with :class:`labcode.sweep.SerialExecutor`, every run in this process, one after the
    other (also with one torch thread per run).

The two alternate study by study, so that both see the same load on the machine. The
script prints the wall-clock time of each study both ways and their ratio (serial time
over pool time: the speed-up of the pool), then the totals. Without a cache, the Step 3
configuration is trained once per study that contains it; the book trains it once and
reads it from the cache in the other studies.

Usage::

    .venv/bin/python benchmarks/bench_studies.py [--seeds 3] [--epochs 50] [--study NAME ...]

Timings depend on the machine and on whatever else runs on it; no test depends on them.
"""

from __future__ import annotations

import argparse
import os
import time

from labcode.studies import SEEDS, STUDIES, run_study
from labcode.sweep import SerialExecutor
from labcode.training import TrainConfig


def timed(name: str, base: TrainConfig, seeds: tuple[int, ...], executor) -> tuple[float, int]:
    """Wall-clock seconds of one study, and its number of runs."""
    start = time.perf_counter()
    result = run_study(name, base=base, seeds=seeds, executor=executor, progress=False)
    seconds = time.perf_counter() - start
    if result.runs["cached"].any():
        raise RuntimeError("a run came from a cache; the benchmark must train every run")
    return seconds, len(result.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds per value (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs,
                        help="epochs per run (default: %(default)s, the book's)")
    parser.add_argument("--study", action="append", choices=sorted(STUDIES), dest="studies",
                        help="a study to time (repeatable; default: all of them)")
    args = parser.parse_args()
    names = args.studies or list(STUDIES)
    base = TrainConfig(epochs=args.epochs)
    seeds = tuple(range(args.seeds))

    print(f"{os.cpu_count()} CPU cores; {args.seeds} seeds, {args.epochs} epochs per run, no cache")
    print(f"{'study':<16}{'runs':>6}{'pool (s)':>11}{'serial (s)':>12}{'speed-up':>10}{'s per run':>11}")
    total_pool = total_serial = 0.0
    total_runs = 0
    for name in names:
        pool, n = timed(name, base, seeds, None)
        serial, _ = timed(name, base, seeds, SerialExecutor())
        total_pool += pool
        total_serial += serial
        total_runs += n
        print(f"{name:<16}{n:>6}{pool:>11.1f}{serial:>12.1f}{serial / pool:>10.2f}{serial / n:>11.2f}")
    print(f"{'all':<16}{total_runs:>6}{total_pool:>11.1f}{total_serial:>12.1f}"
          f"{total_serial / total_pool:>10.2f}{total_serial / total_runs:>11.2f}")


if __name__ == "__main__":
    main()
