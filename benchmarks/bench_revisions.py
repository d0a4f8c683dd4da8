"""Time labcode at two revisions side by side: this checkout against another git revision.

Each task runs in a fresh Python process per revision, the two revisions alternating, so
that both see the same machine state; the script prints the median time of each and the
ratio (this checkout's time over the other's; below 1 is faster now). The other revision
is exported with ``git archive`` into a temporary folder and put first on ``PYTHONPATH``.

Tasks:

* ``numpy-fit``: ``NumpyNetwork((64, 10)).fit`` on the book's training part, the lab's
  learning rate, 500 iterations of batch gradient descent (Exercise 1);
* ``one-run``: ``run_experiment(TrainConfig())``, the Step 3 run: SimpleMLP, Adam,
  50 epochs (Exercise 2);
* ``studies``: the runs of the Steps 6 to 8 studies, trained by
  ``labcode.engine.studies.prepare_studies`` on the default process pool into an empty
  run cache (what ``studies.md`` does first).

Usage::

    .venv/bin/python benchmarks/bench_revisions.py --before 02637c5 [--repeat 3] [--tasks numpy-fit one-run]

Timings depend on the machine and on whatever else runs on it; no test depends on them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TASKS = {
    "numpy-fit": """
from labcode.data import load_digits_split, one_hot
from labcode.numpy_net import NumpyNetwork
split = load_digits_split(seed=0)
Y = one_hot(split.train.y)
NumpyNetwork((64, 10), seed=0).fit(split.train.X, Y, lr=0.5, epochs=5)  # warm up
start = time.perf_counter()
NumpyNetwork((64, 10), seed=0).fit(split.train.X, Y, lr=0.5, epochs=500)
""",
    "one-run": """
import torch
from labcode.data import load_digits_split
from labcode.experiment import TrainConfig, run_experiment
split = load_digits_split(seed=0)
run_experiment(TrainConfig(epochs=1), split)  # warm up
start = time.perf_counter()
run_experiment(TrainConfig(), split)
""",
    "studies": """
import tempfile
from labcode.engine.studies import STUDIES, prepare_studies
start = time.perf_counter()
with tempfile.TemporaryDirectory() as cache:
    prepare_studies(STUDIES, cache_dir=cache, progress=False)
""",
}


def _time(task: str, pythonpath: str | None) -> float:
    code = "import time\n" + TASKS[task] + "\nprint(time.perf_counter() - start)\n"
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=pythonpath or REPO,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{task} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the git revision to compare with")
    parser.add_argument("--repeat", type=int, default=3, help="runs per task and revision")
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "before.tar"
        subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), args.before,
                        "labcode"], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        print(f"{'task':10s} {args.before:>12s} {'now':>12s}  now/before")
        for task in args.tasks:
            times: dict[str, list[float]] = {"before": [], "now": []}
            for _ in range(args.repeat):
                times["before"].append(_time(task, tmp))
                times["now"].append(_time(task, str(REPO)))
            before, now = statistics.median(times["before"]), statistics.median(times["now"])
            print(f"{task:10s} {before:11.3f}s {now:11.3f}s  {now / before:9.3f}", flush=True)


if __name__ == "__main__":
    main()
