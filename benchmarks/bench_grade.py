"""Time ``grade_notebooks`` on a generated class, serially and with workers, side by side.

Run from the repository root:

    .venv/bin/python benchmarks/bench_grade.py [--students 40] [--workers 2]

The class answers a small edition of two exercises (``fc_forward`` and ``fc_backward``,
each a starter cell and a check cell, as the student edition writes them). Its
submissions are, in turn, right, wrong (a transposed weight), crashing (the kernel
exits in the second answer), endless (a loop that catches every interrupt) and forging
(wrong answers, and a hook that prints "passed" after every cell), ten right for every
wrong, crashing, endless and forging one. Each notebook may run 15 s. The class is
graded once with one box at a time and once with ``--workers`` boxes; the script prints
both times, the time per submission, their ratio, whether the two tables agree, the
count of each status, and the statuses of each kind of submission.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labcode.grade import _sandbox, grade_notebooks  # noqa: E402

IMPORTS = "from labcode.checks import check_fc_forward, check_fc_backward"
CHECKS = ("fc_forward = check_fc_forward(fc_forward).use()",
          "fc_backward = check_fc_backward(fc_backward).use()")
ANSWERS = {
    "right": ("def fc_forward(X, W):\n    return X @ W, (X, W)",
              "def fc_backward(dZ, cache):\n    X, W = cache\n    return dZ @ W.T, X.T @ dZ"),
    "wrong": ("def fc_forward(X, W):\n    return X @ W.T, (X, W)",
              "def fc_backward(dZ, cache):\n    X, W = cache\n    return dZ @ W, X.T @ dZ"),
    "crashing": ("def fc_forward(X, W):\n    return X @ W, (X, W)", "import os\nos._exit(1)"),
    "endless": ("import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                "    except BaseException:\n        pass", "pass"),
    # wrong answers whose kernel prints "passed" after every check cell
    "forging": ("def fc_forward(X, W):\n    return X @ W.T, (X, W)\n"
                "get_ipython().events.register('post_run_cell', lambda r: print("
                "'✓ fc_forward: passed (12 checks)\\n✓ fc_backward: passed (21 checks)'))",
                "def fc_backward(dZ, cache):\n    X, W = cache\n    return dZ @ W, X.T @ dZ"),
}


def notebook(answers: tuple[str, str] | None) -> nbformat.NotebookNode:
    starters = ("def fc_forward(X, W):\n    raise NotImplementedError",
                "def fc_backward(dZ, cache):\n    raise NotImplementedError")
    answers = answers or starters
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "labcode": {"checks": ["fc_forward", "fc_backward"]}})
    for cell_id, source, tags in [("given", IMPORTS, []), ("a1", answers[0], ["starter"]),
                                  ("c1", CHECKS[0], []), ("a2", answers[1], ["starter"]),
                                  ("c2", CHECKS[1], [])]:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags})
        cell["id"] = cell_id
        nb.cells.append(cell)
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    kinds = ["right"] * 10 + ["wrong", "crashing", "endless", "forging"]
    with tempfile.TemporaryDirectory() as tmp:
        edition, folder = Path(tmp, "edition"), Path(tmp, "class")
        edition.mkdir()
        folder.mkdir()
        nbformat.write(notebook(None), edition / "lab.ipynb")
        for i in range(args.students):
            kind = kinds[i % len(kinds)]
            nbformat.write(notebook(ANSWERS[kind]), folder / f"{i:03d}_{kind}.ipynb")
        print(f"{args.students} submissions, box: {_sandbox('auto')}, "
              f"{os.cpu_count()} cores, notebook limit 15 s")
        times, tables = {}, {}
        for workers in (1, args.workers):
            start = time.perf_counter()
            tables[workers] = grade_notebooks([folder], edition=edition, cell_timeout=15,
                                              notebook_timeout=15, workers=workers)
            times[workers] = time.perf_counter() - start
        print(f"{'workers':>8} {'total':>9} {'per submission':>15}")
        for workers, seconds in times.items():
            print(f"{workers:>8} {seconds:>8.1f}s {seconds / args.students:>14.2f}s")
        print(f"speed-up with {args.workers} workers: {times[1] / times[args.workers]:.2f}x; "
              f"tables equal: {tables[1] == tables[args.workers]}")
        print(dict(collections.Counter(r.status for r in tables[1] if r.check)))
        by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for r in tables[1]:
            kind = Path(r.submission).stem.split("_", 1)[1]
            by_kind[kind][f"{r.check or '(file)'}: {r.status}"] += 1
        for kind, counts in by_kind.items():
            print(f"  {kind:>9}: " + "; ".join(f"{k} x{n}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
