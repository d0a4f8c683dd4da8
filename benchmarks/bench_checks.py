"""Time every exercise checker, on labcode's reference and on a plain student answer.

Run from the repository root:

    .venv/bin/python benchmarks/bench_checks.py [--repeats 5]

A student runs a checker after each exercise and waits for its verdict, so each one
should answer in well under a second. For every checker this prints, side by side, the
time of one verdict on labcode's reference solution and on a correct answer written as a
student would (the answers ``tests/test_checks.py`` checks), their ratio, and the share
of a one-second budget the slower of the two takes. The first call of each checker (its
imports and set-up) is left out; the fastest of ``--repeats`` calls is reported, the one
least disturbed by other work on the machine. Nothing asserts a time: a slow checker is
read here, not failed in ``make test``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402
from test_checks import REFERENCES  # noqa: E402  (checker, reference, plain answer)

BUDGET_SECONDS = 1.0


def fastest(checker, answer, repeats: int) -> float:
    checker(answer, verbose=False)  # imports and first-call set-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        verdict = checker(answer, verbose=False)
        times.append(time.perf_counter() - start)
        if verdict.status != "passed":
            raise SystemExit(f"{checker.__name__} did not pass {answer!r}: {verdict.message}")
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()}, torch {torch.__version__} "
          f"({torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads); "
          f"fastest of {args.repeats}")
    print(f"{'checker':<24}{'reference':>12}{'student':>12}{'student/ref':>13}"
          f"{'of 1 s':>9}")
    worst = 0.0
    for checker, reference, student in REFERENCES:
        ref = fastest(checker, reference, args.repeats)
        plain = fastest(checker, student, args.repeats)
        share = max(ref, plain) / BUDGET_SECONDS
        worst = max(worst, share)
        print(f"{checker.__name__:<24}{ref * 1e3:>10.1f}ms{plain * 1e3:>10.1f}ms"
              f"{plain / ref:>12.2f}x{share:>9.0%}")
    print(f"slowest verdict: {worst:.0%} of the {BUDGET_SECONDS:g} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
