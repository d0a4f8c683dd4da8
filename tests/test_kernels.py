"""The numerical tests hold under every kernel this CPU runs (tests/kernels.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.kernels
def test_the_numerical_tests_pass_under_every_kernel(record_property):
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "kernels.py")], cwd=REPO,
                          capture_output=True, text=True, timeout=1800, check=False)
    record_property("report", proc.stdout + proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    assert "kernel matrix:" in proc.stdout and " runs passed" in proc.stdout
