"""Tests of the command line, ``python -m labcode``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labcode", *args],
        capture_output=True, text=True, timeout=600, cwd=cwd, check=False,
    )


def test_help_lists_commands_and_options():
    top = run_cli("--help")
    assert top.returncode == 0
    assert "train" in top.stdout and "sweep" in top.stdout
    sweep_help = run_cli("sweep", "--help")
    assert sweep_help.returncode == 0
    for option in ("--seeds", "--out", "--plot", "--cache", "--workers", "--lr", "--optimizer",
                   "--hidden-size", "--model", "--l1", "--l2", "--epochs", "--batch-size"):
        assert option in sweep_help.stdout, option
    train_help = run_cli("train", "--help")
    for option in ("--lr", "--optimizer", "--hidden-size", "--model", "--seed", "--every"):
        assert option in train_help.stdout, option


_ROOT = Path(__file__).resolve().parents[1]


def _no_cuda():
    import torch

    return pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sweep", "lr", "abc"), "argument VALUE: expected a number, got 'abc' for lr"),
        (("sweep", "lr", "0.1", "-1"), "the value -1.0 is invalid: TrainConfig.lr must be a finite number above 0"),
        (("sweep", "learning_rate", "0.1"), "argument PARAM: invalid choice: 'learning_rate'"),
        (("sweep", "hidden_size", "32", "2.5"), "expected a whole number, got '2.5'"),
        (("sweep", "lr", "0.1", "--seeds", "0"), "--seeds must be at least 1, got 0"),
        (("sweep", "optimizer", "adam", "lbfgs"), "unknown optimizer 'lbfgs'"),
        (("train", "--optimizer", "foo"), "unknown optimizer 'foo'; valid names are"),
        (("train", "--epochs", "0"), "TrainConfig.epochs"),
        (("train", "--lr", "x"), "argument --lr: expected a number, got 'x'"),
        (("train", "--model", "huge"), "unknown model 'huge'"),
        (("fly",), "invalid choice: 'fly'"),
        # paths that cannot be written fail before any training
        (("sweep", "lr", "0.1", "--cache", str(_ROOT / "README.md")), "is a file, not a folder"),
        (("sweep", "lr", "0.1", "--cache", "/proc/labcode/runs"), "the folder cannot be made"),
        (("sweep", "lr", "0.1", "--out", "/nonexistent/t.csv"), "the folder '/nonexistent' does not exist"),
        (("sweep", "lr", "0.1", "--plot", "/nonexistent/p.png"), "the folder '/nonexistent' does not exist"),
        (("sweep", "lr", "0.1", "--out", str(_ROOT / "tests")), "is a folder; give a file name"),
        # a GPU that is not here, before any run is trained
        pytest.param(("sweep", "lr", "0.1", "--device", "cuda"),
                     "device 'cuda' was asked for, but CUDA is not available here", marks=_no_cuda()),
        pytest.param(("train", "--device", "cuda:1"),
                     "device 'cuda:1' was asked for, but CUDA is not available here", marks=_no_cuda()),
    ],
)
def test_bad_values_are_one_line_errors_with_exit_code_2(args, message, capsys):
    from labcode.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert message in lines[0]


def test_a_bad_value_exits_2_without_traceback_in_a_real_process():
    result = run_cli("sweep", "lr", "0.1", "-1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "python -m labcode sweep: error: sweep over lr: the value -1.0 is invalid: "
        "TrainConfig.lr must be a finite number above 0, got -1.0"
    ]


def test_train_prints_history_and_test_accuracy():
    result = run_cli("train", "--epochs", "3", "--every", "1")
    assert result.returncode == 0, result.stderr
    assert "train_loss" in result.stdout and "val_accuracy" in result.stdout
    assert "test accuracy: 0." in result.stdout


def test_sweep_writes_table_and_plot(tmp_path):
    out, png = tmp_path / "lr.csv", tmp_path / "lr.png"
    result = run_cli("sweep", "lr", "0.01", "0.001", "--seeds", "2", "--epochs", "2",
                     "--out", str(out), "--plot", str(png), "--no-progress", "--workers", "1")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert len(table) == 2 * 2 * 2
    assert set(table["value"]) == {0.01, 0.001}
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "val_mean" in result.stdout
