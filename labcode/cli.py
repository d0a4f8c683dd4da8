"""The command line: ``python -m labcode train``, ``sweep`` and ``grade``.

Examples
--------
Train the handout's Step 3 model and print its history and test accuracy::

    python -m labcode train
    python -m labcode train --model complex --optimizer sgd_momentum --lr 0.01

Study the learning rate over three seeds, writing the table and the figure::

    python -m labcode sweep lr 0.1 0.01 0.001 --seeds 3 --out lr.csv --plot lr.png

Grade a folder of students' notebooks into grades.csv and grades.json::

    python -m labcode grade submissions/
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = ["main", "build_parser"]


MAX_SEEDS, MAX_EPOCHS = 100, 10_000
"""The largest ``--seeds`` and ``--epochs`` accepted without ``--no-limits``: a typo such
as ``--seeds 100000000`` is refused at once instead of running for hours."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on standard error, exit code 2.

    Abbreviated options are refused (``--seed`` is not read as ``--seeds``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


# how to read a value of each TrainConfig field from the command line
_FIELD_TYPES: dict[str, Callable[[str], Any]] = {
    "model": str,
    "hidden_size": _int,
    "optimizer": str,
    "lr": _float,
    "epochs": _int,
    "batch_size": _int,
    "l1": _float,
    "l2": _float,
    "penalize": str,
    "seed": _int,
    "device": str,
}


def _add_config_options(parser: argparse.ArgumentParser, *, sweep: bool) -> None:
    from .models import MODELS
    from .experiment import TrainConfig
    from .training import OPTIMIZERS, PENALIZE

    d = TrainConfig()
    g = parser.add_argument_group(
        "training configuration" + (" (fixed for every run of the study)" if sweep else ""),
        "Defaults are the handout's Step 3 settings.",
    )
    g.add_argument("--model", type=str, default=d.model,
                   help=f"model: one of {', '.join(sorted(MODELS))} (default: %(default)s)")
    g.add_argument("--hidden-size", type=_int, default=d.hidden_size, metavar="N",
                   help="hidden units of the simple model (default: %(default)s)")
    g.add_argument("--optimizer", type=str, default=d.optimizer,
                   help=f"one of {', '.join(OPTIMIZERS)} (default: %(default)s)")
    g.add_argument("--lr", type=_float, default=d.lr, help="learning rate (default: %(default)s)")
    g.add_argument("--epochs", type=_int, default=d.epochs, metavar="N",
                   help="passes over the training data (default: %(default)s)")
    g.add_argument("--batch-size", type=_int, default=d.batch_size, metavar="N",
                   help="training batch size (default: %(default)s)")
    g.add_argument("--l1", type=_float, default=d.l1, metavar="LAMBDA",
                   help="L1 penalty strength (default: %(default)s)")
    g.add_argument("--l2", type=_float, default=d.l2, metavar="LAMBDA",
                   help="L2 penalty strength (default: %(default)s)")
    g.add_argument("--penalize", type=str, default=d.penalize,
                   help=f"parameters the penalty covers: {' or '.join(PENALIZE)} (default: %(default)s)")
    if not sweep:
        g.add_argument("--seed", type=_int, default=d.seed, help="random seed (default: %(default)s)")
    g.add_argument("--device", type=str, default=d.device,
                   help="cpu, cuda or cuda:<index> (default: %(default)s)")
    parser.add_argument("--no-limits", action="store_true",
                        help=f"allow more than {MAX_SEEDS} seeds and {MAX_EPOCHS} epochs")


def _check_limits(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    limits = [("epochs", MAX_EPOCHS)] + ([("seeds", MAX_SEEDS)] if hasattr(args, "seeds") else [])
    for name, most in limits:
        value = getattr(args, name)
        if value > most and not args.no_limits:
            parser.error(f"--{name} must be at most {most} (pass --no-limits to allow more), "
                         f"got {value}")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m labcode``."""
    from .engine.sweep import SWEEPABLE

    parser = _Parser(
        prog="python -m labcode",
        description="Train the book's PyTorch models on the digits, or run a study of one "
        "hyperparameter over several seeds.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,sweep,grade}")

    train = sub.add_parser(
        "train",
        help="train one model and print its history and test accuracy",
        description="Train one model on the book's split (1077 train / 360 validation / "
        "360 test digits) and print its per-epoch history and final accuracies.",
    )
    _add_config_options(train, sweep=False)
    train.set_defaults(subparser=train)
    train.add_argument("--every", type=_int, default=10, metavar="N",
                       help="print every N-th epoch of the history (default: %(default)s)")

    sweep = sub.add_parser(
        "sweep",
        help="train every value of one hyperparameter with several seeds",
        description="Train every VALUE of PARAM with seeds 0..N-1, all other settings fixed, "
        "in parallel over the CPU cores; print the summary and optionally write the "
        "per-epoch table (CSV) and a figure.",
    )
    sweep.add_argument("param", choices=SWEEPABLE, metavar="PARAM",
                       help=f"the hyperparameter to vary: {', '.join(SWEEPABLE)}")
    sweep.add_argument("values", nargs="+", metavar="VALUE", help="its values")
    sweep.add_argument("--seeds", type=_int, default=3, metavar="N",
                       help="train each value with seeds 0..N-1 (default: %(default)s)")
    sweep.add_argument("--out", metavar="CSV", help="write the per-epoch table to this CSV file")
    sweep.add_argument("--plot", metavar="PNG", help="write the study's figure to this file")
    sweep.add_argument("--cache", metavar="DIR",
                       help="keep finished runs in DIR; a rerun trains only what is missing")
    sweep.add_argument("--workers", type=_int, default=None, metavar="N",
                       help="worker processes (default: one per CPU core)")
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_config_options(sweep, sweep=True)
    sweep.set_defaults(subparser=sweep)

    grade = sub.add_parser(
        "grade",
        help="run students' notebooks and tabulate every check's verdict",
        description="Run each submitted notebook (a file, or every *.ipynb in a folder) in "
        "a box of its own and write one row per submission and check: passed, failed (with "
        "its hint), not implemented, error, reference used, not reached (the cell that "
        "stopped it), missing (a deleted check) or unreadable, and a row when the answer "
        "cells are flagged or given cells changed. With --edition, the instructor's copy of "
        "the student edition decides the cells that run and the checks expected; only the "
        "answer cells come from the submission. The table is rewritten after every "
        "submission. Exit status 0 when every submission was graded, whatever the "
        "students scored.",
    )
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help="a notebook, or a folder of notebooks")
    grade.add_argument("--out", metavar="CSV", default="grades.csv",
                       help="the table as CSV (default: %(default)s)")
    grade.add_argument("--json", metavar="JSON", default="grades.json",
                       help="the table as JSON, hints included (default: %(default)s)")
    grade.add_argument("--observations", metavar="MD", default="observations.md",
                       help="the students' written answers, question by question, not "
                       "graded (default: %(default)s)")
    grade.add_argument("--cell-timeout", type=_float, default=120.0, metavar="S",
                       help="seconds one cell may run (default: %(default)s)")
    grade.add_argument("--notebook-timeout", type=_float, default=900.0, metavar="S",
                       help="seconds one notebook may run (default: %(default)s)")
    grade.add_argument("--gradebook", metavar="CSV", default="gradebook.csv",
                       help="one row per submission: points per check and the total "
                       "(default: %(default)s)")
    grade.add_argument("--summary", metavar="CSV", default="checks.csv",
                       help="one row per check: pass rate, statuses and the most frequent "
                       "hint (default: %(default)s)")
    grade.add_argument("--rubric", metavar="JSON",
                       help='points per check, for example {"fc_forward": 2}; one point '
                       "each by default")
    grade.add_argument("--edition", metavar="DIR",
                       help="the instructor's copy of the student edition (make student "
                       "writes _build/student): its cells and checks are graded, with the "
                       "submission's answer cells")
    grade.add_argument("--workers", type=_int, default=None, metavar="N",
                       help="submissions graded at once (default: one per CPU core)")
    grade.add_argument("--resume", action="store_true",
                       help="keep the rows of the JSON table and grade only the submissions "
                       "it does not hold")
    grade.add_argument("--sandbox", choices=["auto", "bwrap", "nobody", "process"],
                       default="auto", help="the kind of box (default: the strongest this "
                       "machine has)")
    grade.set_defaults(subparser=grade)
    return parser


def _check_output(option: str, path: str, parser: argparse.ArgumentParser) -> None:
    """Exit 2 now, not after the work, when ``path`` cannot be written: its folder missing,
    or the path a folder."""
    where = os.path.dirname(path) or "."
    if not os.path.isdir(where):
        parser.error(f"{option} {path!r}: the folder {where!r} does not exist")
    if os.path.isdir(path):
        parser.error(f"{option} {path!r} is a folder; give a file name")


def _check_cache(path: str, parser: argparse.ArgumentParser) -> None:
    """Exit 2 now when the run cache ``path`` is a file or cannot be made."""
    if os.path.exists(path) and not os.path.isdir(path):
        parser.error(f"--cache {path!r} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        parser.error(f"--cache {path!r}: the folder cannot be made ({exc.strerror})")
    if not os.access(path, os.W_OK | os.X_OK):
        parser.error(f"--cache {path!r}: the folder cannot be written to")


def _run_grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .grade import (book_answers, collect_observations, grade_notebooks, read_rubric,
                        read_table, write_gradebook, write_observations, write_table)

    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        parser.error(f"--workers must be at least 1, got {workers}")
    rubric = None
    if args.rubric is not None:
        try:
            rubric = read_rubric(args.rubric)
        except ValueError as exc:
            parser.error(str(exc))
    for option, path in (("--out", args.out), ("--json", args.json),
                         ("--observations", args.observations), ("--gradebook", args.gradebook),
                         ("--summary", args.summary)):
        _check_output(option, path, parser)
        if os.path.islink(path):
            parser.error(f"{option} {path!r} is a symbolic link: the grader writes only plain files")
    done: list = []
    if args.resume and os.path.exists(args.json):
        try:
            done = read_table(args.json)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            parser.error(f"--resume: {args.json!r} is not a grade table ({exc})")
    rows = list(done)

    def graded(new_rows: list) -> None:
        rows.extend(new_rows)
        write_table(rows, args.out, args.json)
        for r in new_rows:
            print(f"{r.submission}  {r.check or '-'}  {r.status}", flush=True)

    try:
        graded_rows = grade_notebooks(
            args.submissions, edition=args.edition, cell_timeout=args.cell_timeout,
            notebook_timeout=args.notebook_timeout, workers=workers, sandbox=args.sandbox,
            skip={r.submission for r in done}, on_graded=graded)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    except ImportError as exc:
        parser.error(f"grading needs nbclient, nbformat and ipykernel ({exc}); install them "
                     "with pip install nbclient nbformat ipykernel")
    rows = list(done) + graded_rows  # in the order of the files
    write_table(rows, args.out, args.json)
    write_gradebook(rows, args.gradebook, args.summary, rubric)
    book = book_answers(args.edition) if args.edition else None
    write_observations(collect_observations(args.submissions), args.observations, book)
    print(f"graded {len({r.submission for r in rows})} submissions; wrote {args.out}, "
          f"{args.json}, {args.gradebook}, {args.summary} and {args.observations}")
    return 0


def _config_from(args: argparse.Namespace, parser: argparse.ArgumentParser):
    from .experiment import TrainConfig, resolve_device

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    kwargs = {k: v for k, v in vars(args).items() if k in fields}
    try:
        config = TrainConfig(**kwargs)
        resolve_device(config.device)  # a GPU that is not here: one line, before any training
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    return config


def _run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .experiment import run_experiment

    if args.every < 1:
        parser.error(f"--every must be at least 1, got {args.every}")
    _check_limits(args, parser)
    config = _config_from(args, parser)
    try:
        result = run_experiment(config)
    except ValueError as exc:  # e.g. a GPU that is not there
        parser.error(str(exc))
    frame = result.history.to_frame()
    shown = frame[(frame.index % args.every == 0) | (frame.index == frame.index.max())]
    print(f"{config}")
    print(shown.to_string(float_format=lambda v: f"{v:.4f}"))
    if result.diverged:
        print(f"training diverged: {result.history.message}")
    print(f"validation accuracy: {result.val_accuracy:.4f}")
    print(f"test accuracy: {result.test_accuracy:.4f}")
    return 1 if result.diverged else 0


def _run_sweep(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from .engine.pool import process_pool
    from .engine.sweep import sweep

    read = _FIELD_TYPES[args.param]
    values = []
    for text in args.values:
        try:
            values.append(read(text))
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument VALUE: {exc} for {args.param}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    _check_limits(args, parser)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    for option, path in (("--out", args.out), ("--plot", args.plot)):
        if path:
            _check_output(option, path, parser)
    if args.cache:
        _check_cache(args.cache, parser)
    base = _config_from(args, parser)
    executor = None
    if args.workers is not None:
        executor = process_pool(args.workers)
    try:
        result = sweep(
            base, args.param, values, seeds=range(args.seeds), executor=executor,
            cache_dir=args.cache, progress=False if args.no_progress else None,
        )
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    finally:
        if isinstance(executor, ProcessPoolExecutor):
            executor.shutdown()
    print(result.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    if args.out:
        result.table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from . import study_plots

        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
        study_plots.plot_sweep_curves(result.table, ax=left)
        study_plots.plot_sweep_final(result.runs, ax=right)
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return _run_train(args, args.subparser)
    if args.command == "grade":
        return _run_grade(args, args.subparser)
    return _run_sweep(args, args.subparser)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
