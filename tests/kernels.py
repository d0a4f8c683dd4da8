"""The kernel matrix: the numerical tests again under every kernel this CPU can run.

numpy's OpenBLAS and torch's ATen choose their kernels by CPU (AVX-512, AVX2, or neither),
and the kernels order their sums differently. A tolerance that holds only on the
developer's kernel fails on the next machine. This script reruns the numerical test
modules with each kernel forced, in a fresh process each:

- torch's modules under one other ATen CPU capability (``ATEN_CPU_CAPABILITY``) this CPU
  supports: the first of ``avx2``, ``avx512``, ``default`` that is not the one the main
  suite runs (the one torch picks by itself, unless the environment sets another);
- numpy's modules under one other OpenBLAS core type (``OPENBLAS_CORETYPE``) this CPU can
  run, the first of ``OPENBLAS_CORETYPES`` that is not the one the main suite runs.

The project runs on CPUs with AVX-512 and on CPUs with AVX2: on the one, the main suite
runs the AVX-512 kernels and the matrix the AVX2 ones; on the other, the main suite runs
AVX2 and the matrix the next kernel down (``default``; OpenBLAS ``Nehalem``), since that
CPU cannot run AVX-512. Every further kernel would add half a minute to ``make test`` for
CPUs the project does not run on.

Every run uses one thread (``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``): the main
suite runs with the machine's threads, so the matrix also covers the other split of a sum.
Each setting is confirmed before it is used: torch's ``get_cpu_capability()`` and
threadpoolctl's ``architecture`` must name the kernel asked for; a kernel this CPU
cannot run is reported as such, never counted as run.

Usage: ``python tests/kernels.py [--report FILE]``. It prints what it ran under and exits
1 if any run failed (or no other ATen capability or OpenBLAS core type could be forced),
else 0.
On a CPU without AVX-512 it says that ``avx512`` was not run, and why.
``tests/test_kernels.py`` runs it inside ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# the modules whose numbers come from torch's kernels, and from numpy's BLAS
TORCH_MODULES = ("test_training.py", "test_stacked.py", "test_models.py", "test_checks.py",
                 "test_loop_checks.py")
NUMPY_MODULES = ("test_numpy_net.py", "test_gradcheck.py", "test_checks.py",
                 "test_baselines.py")

# ATen capabilities in the order the matrix tries them: AVX2, AVX-512, then no SIMD kernel
ATEN_CAPABILITIES = {"avx2": "AVX2", "avx512": "AVX512", "default": "DEFAULT"}
OTHER_CAPABILITIES = 1
# OpenBLAS core types for x86-64 in the order the matrix tries them: AVX2 with FMA, SSE
# only, AVX without FMA, AVX-512, the oldest SSE3; it forces the first this CPU runs
OPENBLAS_CORETYPES = ("Haswell", "Nehalem", "Sandybridge", "SkylakeX", "Prescott")
OTHER_CORETYPES = 1

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

PROBE = """
import json, threadpoolctl, numpy, torch
numpy.ones((2, 2)) @ numpy.ones((2, 2))
blas = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"]
print(json.dumps({"aten": torch.backends.cpu.get_cpu_capability(),
                  "openblas": blas[0].get("architecture") if blas else None}))
"""


def _environ(**extra: str) -> dict[str, str]:
    """This process's environment (with the kernels the main suite runs under, whether
    chosen by the libraries or set by the caller), one thread, and ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return {**env, **ONE_THREAD, **extra}


def probe(**extra: str) -> dict:
    """The ATen capability and OpenBLAS core type a fresh process runs with ``extra``."""
    out = subprocess.run([sys.executable, "-c", PROBE], env=_environ(**extra), cwd=REPO,
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def settings() -> tuple[list[tuple[str, dict, tuple, dict]], list[str], dict, int]:
    """The runs to make, ``(label, environment, modules, what the probe saw)``; the lines
    saying what was left out and why; what the main suite runs; how many other ATen
    capabilities and OpenBLAS core types run."""
    native = probe()
    runs, skipped = [], []
    capabilities = 0
    for value, name in ATEN_CAPABILITIES.items():
        if name == native["aten"]:
            skipped.append(f"ATEN_CPU_CAPABILITY={value}: the kernel the main suite runs "
                           "under here")
            continue
        if capabilities == OTHER_CAPABILITIES:
            skipped.append(f"ATEN_CPU_CAPABILITY={value}: {OTHER_CAPABILITIES} other "
                           "capability is enough (see tests/kernels.py)")
            continue
        seen = probe(ATEN_CPU_CAPABILITY=value)
        if seen["aten"] == name:
            runs.append((f"ATEN_CPU_CAPABILITY={value}", {"ATEN_CPU_CAPABILITY": value},
                         TORCH_MODULES, seen))
            capabilities += 1
        else:
            skipped.append(f"ATEN_CPU_CAPABILITY={value}: not supported by this CPU "
                           f"(torch runs {seen['aten']} instead); not run")
    others = 0
    for coretype in OPENBLAS_CORETYPES:
        if others == OTHER_CORETYPES:
            break
        if coretype.lower() == str(native["openblas"]).lower():
            skipped.append(f"OPENBLAS_CORETYPE={coretype}: the core type the main suite "
                           "runs under here")
            continue
        seen = probe(OPENBLAS_CORETYPE=coretype)
        if str(seen["openblas"]).lower() == coretype.lower():
            runs.append((f"OPENBLAS_CORETYPE={coretype}", {"OPENBLAS_CORETYPE": coretype},
                         NUMPY_MODULES, seen))
            others += 1
        else:
            skipped.append(f"OPENBLAS_CORETYPE={coretype}: not runnable here "
                           f"(OpenBLAS runs {seen['openblas']} instead); not run")
    return runs, skipped, native, (capabilities, others)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)

    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    runs, skipped, native, others = settings()
    say(f"kernel matrix: the main suite runs ATen {native['aten']} and OpenBLAS "
        f"{native['openblas']} on this CPU; every run below uses one thread")
    failed = []
    for label, extra, modules, seen in runs:
        env = _environ(**extra)
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
             *(str(TESTS / m) for m in modules)],
            env=env, cwd=REPO, capture_output=True, text=True, check=False)
        summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        status = "passed" if proc.returncode == 0 else "FAILED"
        say(f"  {status}: {label} (torch {seen['aten']}, OpenBLAS {seen['openblas']}): "
            f"{', '.join(m.removesuffix('.py') for m in modules)}: {summary} "
            f"[{time.monotonic() - start:.0f} s]")
        if proc.returncode != 0:
            failed.append(label)
            say(proc.stdout[-6000:] + proc.stderr[-2000:])
    for line in skipped:
        say(f"  skipped: {line}")
    capabilities, others = others
    if capabilities < OTHER_CAPABILITIES:
        say(f"kernel matrix: no ATen capability other than {native['aten']} could be forced")
        failed.append("ATen capabilities")
    if others < OTHER_CORETYPES:
        say(f"kernel matrix: only {others} OpenBLAS core types other than "
            f"{native['openblas']} could be forced; {OTHER_CORETYPES} are needed")
        failed.append("OpenBLAS core types")
    say(f"kernel matrix: {len(runs) - len([f for f in failed if '=' in f])} of {len(runs)} "
        f"runs passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text("\n".join(lines) + "\n", encoding="utf8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
