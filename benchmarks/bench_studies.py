"""Time the book's studies of Steps 6 to 10: the default process pool against one run after the other.

The script does what the three chapters do, in the same order and with the same calls,
twice, each time with a new, empty run cache (so every run is trained):

* ``studies.md``: :func:`labcode.engine.studies.prepare_studies` trains every run of Steps 6
  to 10 together (:data:`labcode.engine.studies.ALL_STUDIES`), then each study of Steps 6 to 8
  is read with :func:`labcode.engine.studies.run_study`;
* ``regularization.md`` (Step 9): :func:`labcode.engine.studies.run_regularization_study`, then
  the models of the weight histograms with :func:`labcode.engine.studies.train_models`;
* ``complex_mlp.md`` (Step 10): the ``ComplexMLP`` of seed 0 with ``train_models``, then
  :func:`labcode.engine.studies.run_model_study`.

(a) **pool**: the studies' default executor, this process's shared pool of one worker
    per core, each run on one torch thread (what the book build does). Its time includes
    starting the pool.
(b) **serial**: :class:`labcode.engine.pool.SerialExecutor`, every run in this process, one
    after the other, also on one torch thread.

It prints each step's time both ways, the number of runs trained, and the speed-up
(serial time over pool time). The book's chapters run in three kernels, so the build
starts a pool three times; this script starts one.

Usage::

    .venv/bin/python benchmarks/bench_studies.py [--order pool-first|serial-first]

Timings depend on the machine and on whatever else runs on it; no test depends on them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import Executor

from labcode.engine.studies import (
    REGULARIZERS,
    STUDIES,
    penalty_config,
    prepare_studies,
    run_model_study,
    run_regularization_study,
    run_study,
    train_models,
)
from labcode.engine.pool import SerialExecutor, default_workers
from labcode.experiment import TrainConfig

CHAPTERS = ("studies.md", "regularization.md", "complex_mlp.md")


def book_studies(cache_dir: str, executor: Executor | None) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds and runs trained per step, for the chapters' calls with ``executor``."""
    seconds: dict[str, float] = {}
    trained: dict[str, int] = {}
    common = dict(cache_dir=cache_dir, executor=executor, progress=False)

    start = time.perf_counter()
    trained["studies.md"] = len(prepare_studies(**common))
    for name in STUDIES:
        run_study(name, **common)
    seconds["studies.md"] = time.perf_counter() - start

    start = time.perf_counter()
    reg = run_regularization_study(**common)
    train_models([penalty_config(r) for r in REGULARIZERS], cache_dir=cache_dir)
    seconds["regularization.md"] = time.perf_counter() - start
    trained["regularization.md"] = int((~reg.runs["cached"]).sum())

    start = time.perf_counter()
    train_models([TrainConfig(model="complex")], cache_dir=cache_dir)
    model_study = run_model_study(**common)
    seconds["complex_mlp.md"] = time.perf_counter() - start
    trained["complex_mlp.md"] = int((~model_study.runs["cached"]).sum())
    return seconds, trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--order", choices=("pool-first", "serial-first"), default="pool-first",
                        help="which variant runs first (default: %(default)s)")
    args = parser.parse_args()
    variants = {"pool": None, "serial": SerialExecutor()}
    order = list(variants) if args.order == "pool-first" else list(variants)[::-1]

    results = {}
    for name in order:
        with tempfile.TemporaryDirectory(prefix=f"bench-studies-{name}-") as cache:
            results[name] = book_studies(cache, variants[name])

    print(f"{default_workers()} worker processes in the pool; every run trained (empty caches)")
    print(f"{'chapter':<19}{'trained':>8}{'pool (s)':>11}{'serial (s)':>12}{'speed-up':>10}")
    for step in CHAPTERS:  # the chapters, in the book's order
        pool, serial = results["pool"][0][step], results["serial"][0][step]
        runs = results["pool"][1][step]
        print(f"{step:<19}{runs:>8}{pool:>11.1f}{serial:>12.1f}{serial / pool:>10.2f}")
    pool_total = sum(results["pool"][0].values())
    serial_total = sum(results["serial"][0].values())
    runs_total = sum(results["pool"][1].values())
    print(f"{'Steps 6-10':<19}{runs_total:>8}{pool_total:>11.1f}{serial_total:>12.1f}"
          f"{serial_total / pool_total:>10.2f}")


if __name__ == "__main__":
    main()
