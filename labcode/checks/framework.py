"""The machinery every checker shares: verdicts, running the student's code, messages.

A checker (:mod:`labcode.checks.numpy_checks`, :mod:`labcode.checks.torch_checks`) is
a body, ``body(run, student)``, that calls the student's piece through ``run.call``,
counts each check that passes with ``run.ok()`` and reports a wrong answer with
``run.fail(case, expected, received, hint)``. ``_run`` turns what happened (a pass,
a failure, ``NotImplementedError``, another exception) into a :class:`Verdict`, prints
it and records it for :func:`check_all`. ``_checker_docstring`` gives every public
checker the docstring sections they all share, so that each one's own docstring says
only what it checks.
"""

from __future__ import annotations

import importlib
import inspect
import linecache
import site
import sys
import sysconfig
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np

__all__ = ["STATUSES", "Verdict", "Summary", "check_all"]

STATUSES = ("passed", "failed", "not implemented", "error")
"""The possible values of ``Verdict.status``."""

TIME_LIMIT = 10.0
"""Seconds one call of the student's code may take before the checker gives up on it
with an "error" verdict (an endless loop, usually). Set it, for example
``labcode.checks.framework.TIME_LIMIT = 30``, to allow more; it applies in the main
thread of a process (as in a notebook) on systems with ``SIGALRM``."""

MAX_MESSAGE = 2000
"""The longest piece of a verdict's message taken from the student's code (an exception's
text, a description of a value); longer ones are cut in the middle."""


_MARKS = {"passed": "✓", "failed": "✗", "not implemented": "○", "error": "✗"}


# --- Verdicts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    """Where labcode's version of a piece lives, and how the message names it."""

    module: str
    attribute: str
    text: str

    def load(self) -> object:
        return getattr(importlib.import_module(self.module), self.attribute)


_REFERENCES = {
    "add_bias": _Reference("labcode.data", "add_bias", "labcode.data.add_bias"),
    "one_hot": _Reference("labcode.data", "one_hot", "labcode.data.one_hot"),
    "split_data": _Reference("labcode.data", "split_data", "labcode.data.split_data"),
    "fc_forward": _Reference("labcode.numpy_net", "fc_forward", "labcode.numpy_net.fc_forward"),
    "fc_backward": _Reference("labcode.numpy_net", "fc_backward", "labcode.numpy_net.fc_backward"),
    "sigmoid_forward": _Reference(
        "labcode.numpy_net", "sigmoid_forward", "labcode.numpy_net.sigmoid_forward"
    ),
    "sigmoid_backward": _Reference(
        "labcode.numpy_net", "sigmoid_backward", "labcode.numpy_net.sigmoid_backward"
    ),
    "mse_loss": _Reference("labcode.numpy_net", "mse_loss", "labcode.numpy_net.mse_loss"),
    "gradient_step": _Reference(
        "labcode.numpy_net", "gradient_step", "labcode.numpy_net.gradient_step"
    ),
    "forward_pass": _Reference("labcode.numpy_net", "forward_pass",
                               "labcode.numpy_net.forward_pass"),
    "backward_pass": _Reference("labcode.numpy_net", "backward_pass",
                                "labcode.numpy_net.backward_pass"),
    "train_network": _Reference("labcode.numpy_net", "train_network",
                                "labcode.numpy_net.train_network"),
    "accuracy": _Reference("labcode.numpy_net", "accuracy", "labcode.numpy_net.accuracy"),
    "plot_first_image": _Reference("labcode.plots", "plot_first_image",
                                   "labcode.plots.plot_first_image"),
    "plot_sweep": _Reference("labcode.study_plots", "plot_sweep",
                             "labcode.study_plots.plot_sweep"),
    "DigitsDataset": _Reference(
        "labcode.torch_data", "DigitsDataset", "labcode.torch_data.DigitsDataset"
    ),
    "SimpleMLP": _Reference("labcode.models", "SimpleMLP", "labcode.models.SimpleMLP"),
    "make_loader": _Reference("labcode.torch_data", "make_loader",
                              "labcode.torch_data.make_loader"),
    "l1_penalty": _Reference(
        "labcode.training", "l1_penalty", "labcode.training.weight_penalty(model, l1=1.0)"
    ),
    "l2_penalty": _Reference(
        "labcode.training", "l2_penalty", "labcode.training.weight_penalty(model, l2=1.0)"
    ),
    "ComplexMLP": _Reference("labcode.models", "ComplexMLP", "labcode.models.ComplexMLP"),
    "train_epoch": _Reference("labcode.training", "train_epoch", "labcode.training.train_epoch"),
    "evaluate": _Reference("labcode.training", "evaluate", "labcode.training.evaluate"),
    "predict": _Reference("labcode.training", "predict", "labcode.training.predict"),
    "lr_sweep": _Reference("labcode.experiment", "HANDOUT_SWEEPS",
                           "labcode.experiment.HANDOUT_SWEEPS"),
    "hidden_size_sweep": _Reference("labcode.experiment", "HANDOUT_SWEEPS",
                                    "labcode.experiment.HANDOUT_SWEEPS"),
    "optimizer_sweep": _Reference("labcode.experiment", "HANDOUT_SWEEPS",
                                  "labcode.experiment.HANDOUT_SWEEPS"),
    "compare_values": _Reference(
        "labcode.experiment", "compare_values", "labcode.experiment.compare_values"
    ),
}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one checker.

    Attributes
    ----------
    name : str
        The piece that was checked, for example ``"fc_backward"``.
    status : {"passed", "failed", "not implemented", "error"}
        ``"not implemented"`` when the student's code raised ``NotImplementedError``,
        ``"error"`` when it raised another exception, ``"failed"`` when it ran but gave
        a wrong answer.
    message : str
        The text the checker printed: one line when passed; otherwise the input, what
        was expected and received (or the exception and the student's line), a hint,
        and a note that the notebook goes on with labcode's reference.
    checks : int
        Number of individual checks that passed before the verdict was reached.
    student : object
        The function or class that was checked.
    """

    name: str
    status: str
    message: str
    checks: int
    student: object = field(repr=False, compare=False)
    _reference: Any = field(repr=False, compare=False)  # a _Reference

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return self.status == "passed"

    @property
    def reference(self) -> object:
        """labcode's version of the piece (imported on first use)."""
        return self._reference.load()

    def use(self) -> object:
        """The object the rest of the notebook should use.

        Returns
        -------
        object
            The student's function or class when the check passed, otherwise labcode's
            reference (the message already said so).
        """
        return self.student if self.passed else self.reference

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"Verdict(name={self.name!r}, status={self.status!r}, checks={self.checks})"


_RESULTS: dict[str, Verdict] = {}


@dataclass(frozen=True)
class Summary:
    """The verdicts of every checker run so far, in the order they were first run.

    Attributes
    ----------
    verdicts : tuple of Verdict
        The latest verdict of each piece.
    """

    verdicts: tuple[Verdict, ...]

    @property
    def statuses(self) -> dict[str, str]:
        """The status of each piece, keyed by the piece's name."""
        return {v.name: v.status for v in self.verdicts}

    def __str__(self) -> str:
        if not self.verdicts:
            return "No checks have run yet."
        n_passed = sum(v.passed for v in self.verdicts)
        width = max(len(v.name) for v in self.verdicts)
        lines = [f"Checks run so far: {n_passed} of {len(self.verdicts)} passed."]
        for v in self.verdicts:
            lines.append(f"  {v.name:<{width}}  {_MARKS[v.status]} {v.status}")
        return "\n".join(lines)

    __repr__ = __str__


def check_all() -> Summary:
    """The status of every checker run so far in this Python process.

    Returns
    -------
    Summary
        Displays as a table (piece, status); ``.statuses`` gives it as a dict.
        A piece checked twice is listed once, with its latest status.
    """
    return Summary(tuple(_RESULTS.values()))


# --- Running a checker -------------------------------------------------------------------


class _Failed(Exception):
    """A wrong answer: which input, what was expected, what came back, and a hint."""

    def __init__(self, case: str, expected: str, received: str, hint: str | None):
        super().__init__(case)
        self.case, self.expected, self.received, self.hint = case, expected, received, hint


class _NotImplemented(Exception):
    """The student's code raised NotImplementedError."""


class _TimedOut(Exception):
    """The student's code ran past :data:`TIME_LIMIT`."""

    def __str__(self) -> str:
        return (f"did not finish within {TIME_LIMIT:g} s: an endless loop? (raise "
                "labcode.checks.framework.TIME_LIMIT if your code needs longer)")


@contextmanager
def _time_limit() -> Iterator[None]:
    """Raise :class:`_TimedOut` in the student's code after :data:`TIME_LIMIT` seconds."""
    import signal
    import threading

    if (not hasattr(signal, "setitimer") or threading.current_thread()
            is not threading.main_thread() or signal.getitimer(signal.ITIMER_REAL)[0] > 0):
        yield  # no alarm here, or someone else's alarm is running: no limit
        return

    def alarm(signum, frame):
        raise _TimedOut()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _text(x: object, how: Callable[[object], str] = str) -> str:
    """``str(x)`` (or ``how(x)``), even when that raises, cut to :data:`MAX_MESSAGE`."""
    try:
        text = how(x)
    except Exception as exc:  # noqa: BLE001 - a value that cannot be printed
        text = f"<{type(x).__name__} that cannot be printed: {type(exc).__name__}>"
    if len(text) > MAX_MESSAGE:
        cut = len(text) - MAX_MESSAGE
        text = f"{text[:MAX_MESSAGE // 2]} ... [{cut} characters left out] ... {text[-MAX_MESSAGE // 2:]}"
    return text


class _StudentError(Exception):
    """The student's code raised another exception."""

    def __init__(self, error: BaseException, case: str, expr: str):
        super().__init__(_text(error))
        self.error, self.case, self.expr = error, case, expr


class _Run:
    """One checker run: calls the student's code and counts the checks that passed."""

    def __init__(self, name: str):
        self.name = name
        self.checks = 0
        self.warnings: list[str] = []

    def call(self, func: Callable, *args: object, case: str, expr: str, **kwargs: object):
        """``func(*args, **kwargs)``, its exceptions turned into a verdict, its warnings kept.

        Every exception but ``KeyboardInterrupt`` becomes a verdict (``SystemExit`` too),
        and a call that runs longer than :data:`TIME_LIMIT` is stopped.
        """
        with warnings.catch_warnings(record=True) as caught, _time_limit():
            warnings.simplefilter("always")
            try:
                return func(*args, **kwargs)
            except NotImplementedError as exc:
                raise _NotImplemented() from exc
            except _TimedOut as exc:
                raise _StudentError(exc, case, expr) from None
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # the student's code failed: reported, not raised
                raise _StudentError(exc, case, expr) from exc
            finally:
                for w in caught:
                    text = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
                    if text not in self.warnings:
                        self.warnings.append(text)

    def probe(self, func: Callable, *args: object) -> None:
        """Call ``func`` only to find a ``NotImplementedError``; other exceptions are left
        for the checks that follow, which say more about them."""
        try:
            self.call(func, *args, case="", expr="")
        except _StudentError:
            pass

    def ok(self, n: int = 1) -> None:
        self.checks += n

    def fail(self, case: str, expected: str, received: str, hint: str | None = None) -> NoReturn:
        raise _Failed(case, expected, received, hint)


def _check_piece(student: object, checker: str, piece: str, kind: str) -> None:
    """TypeError unless ``student`` is a function (kind "function") or a class ("class")."""
    if kind == "result":  # a checker of results: what it reads is checked by its body
        return
    if kind == "class":
        if not isinstance(student, type):
            raise TypeError(
                f"{checker} expects your class {piece} itself (not an instance of it), "
                f"got {_describe(student)}"
            )
    elif not callable(student) or isinstance(student, type):
        raise TypeError(f"{checker} expects your function {piece}, got {_describe(student)}")


def _run(
    name: str,
    student: object,
    body: Callable[[_Run, object], None],
    *,
    verbose: bool,
    kind: str = "function",
    torch_rng: bool = False,
) -> Verdict:
    checker = f"check_{_CHECKER_NAMES.get(name, name)}"
    _check_piece(student, checker, name, kind)
    if not isinstance(verbose, bool):
        raise TypeError(f"verbose must be True or False, got {_describe(verbose)}")
    run = _Run(name)
    reference = _REFERENCES[name]
    fallback = (
        "Correct the cell above, run it, then run this check again." if kind == "result"
        else f"The rest of the notebook uses labcode's reference, {reference.text}, instead."
    )
    try:
        # numpy's default floating-point handling, whatever the notebook set with np.seterr
        with _forked_torch_rng() if torch_rng else _nothing(), np.errstate(
            divide="warn", over="warn", under="ignore", invalid="warn"
        ):
            body(run, student)
    except _NotImplemented:
        status = "not implemented"
        message = (
            f"{_MARKS[status]} {name}: not implemented yet. Fill in the starter cell, run it, "
            f"then run this check again.\n{fallback}"
        )
    except _StudentError as err:
        status = "error"
        message = (
            f"{_MARKS[status]} {name}: error. Your code raised "
            f"{type(err.error).__name__}: {_text(err.error)}\n{_where(err.error)}\n"
            f"  while running {err.expr}; input: {err.case}.\n{fallback}"
        )
    except _Failed as f:
        status = "failed"
        lines = [
            f"{_MARKS[status]} {name}: failed.",
            f"  Input: {f.case}.",
            f"  Expected: {f.expected}.",
            f"  Received: {f.received}.",
        ]
        if f.hint:
            lines.append(f"  Hint: {f.hint}")
        if run.warnings:
            lines.append(f"  Your code warned: {'; '.join(run.warnings)}.")
        lines.append(fallback)
        message = "\n".join(lines)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - what the student's code returned broke the check
        status = "error"
        message = (
            f"{_MARKS[status]} {name}: error. What your code returned could not be checked: "
            f"reading it raised {type(exc).__name__}: {_text(exc)}\n"
            f"  (a value of an unexpected kind, or one whose methods raise).\n{fallback}"
        )
    else:
        status = "passed"
        message = f"{_MARKS[status]} {name}: passed ({run.checks} checks)"
        if student is reference.load():
            message += (
                f" on labcode's reference solution,\n  {reference.text}, which a hidden cell "
                "put in place of the starter.\n  In the student edition this check runs on "
                "your code."
            )
    verdict = Verdict(name, status, message, run.checks, student, reference)
    _RESULTS[name] = verdict
    if verbose:
        print(message)
    return verdict


_CHECKER_NAMES = {"DigitsDataset": "dataset", "SimpleMLP": "simple_mlp", "ComplexMLP": "complex_mlp"}


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _forked_torch_rng() -> Iterator[None]:
    """Seed torch's generator for the checker, on one thread; restore the caller's settings.

    The checkers' tensors are tiny: a second thread only adds waiting (on a busy
    machine, a BatchNorm on 7 samples takes 50 ms with two threads, 0.03 ms with one).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            yield
    finally:
        torch.set_num_threads(threads)


# --- Where the student's code raised -------------------------------------------------------

_CHECKS_DIR = Path(__file__).resolve().parent
_LABCODE_DIR = _CHECKS_DIR.parent


def _library_dirs() -> list[Path]:
    paths = [sysconfig.get_paths().get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    paths += site.getsitepackages() + [site.getusersitepackages()]
    return sorted({Path(p).resolve() for p in paths if p})


_LIBRARY_DIRS = _library_dirs()


def _is_student_file(filename: str) -> bool:
    """Whether a traceback frame's file is the student's (not labcode's, not a library's)."""
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return True
    if path.is_relative_to(_LABCODE_DIR):
        return False
    if {"site-packages", "dist-packages"} & set(path.parts):
        return False
    return not any(path.is_relative_to(d) for d in _LIBRARY_DIRS)


def _where(error: BaseException) -> str:
    """The student's line: the innermost frame outside labcode and the libraries."""
    remote = getattr(error, "_labcode_where", None)
    if isinstance(remote, str) and remote:  # raised in the student's kernel (labcode._sealed)
        return remote
    frames = traceback.extract_tb(error.__traceback__)
    frames = [f for f in frames if Path(f.filename).resolve().parent != _CHECKS_DIR]
    if not frames:
        return "  (no line of your code was reached)"
    frame = next((f for f in reversed(frames) if _is_student_file(f.filename)), frames[-1])
    place = f'File "{frame.filename}", line {frame.lineno}'
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None:
        try:
            label = shell.compile.format_code_name(frame.filename)
        except Exception:  # an older or unusual shell: keep the file name
            label = None
        if label is not None:
            place = f"{label[0]} {label[1]}, line {frame.lineno}"
    line = frame.line or linecache.getline(frame.filename, frame.lineno or 0).strip()
    text = f"  {place}, in {frame.name}"
    if line:
        text += f":\n      {line}"
    return text


# --- Describing values and results --------------------------------------------------------


def _describe(x: object) -> str:
    """A short description of any value: type, and shape and dtype for arrays.

    Not ``labcode._validate.describe``: a student reads these in a verdict, so they
    say "an array of shape ...", "a tensor of shape ...", "None" and "the class ...".
    """
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if x is None:
        return "None"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of length {len(x)}"
    if isinstance(x, dict):
        return f"a dict with keys {list(x)}"
    if isinstance(x, type):
        return f"the class {x.__name__}"
    text = _text(x, repr)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(x).__name__} {text}"


def _unchanged(run: _Run, case: str, **pairs: tuple[object, np.ndarray]) -> None:
    """Fail if an input array (as passed, then as copied beforehand) was changed."""
    for name, (now, before) in pairs.items():
        if not (
            isinstance(now, np.ndarray) and now.shape == before.shape
            and np.array_equal(now, before, equal_nan=True)
        ):
            run.fail(
                case, f"{name} left as it was", f"{name} changed by your code",
                f"your code modified the input {name} in place (for example with "
                "`-=`, `*=` or `out=`); compute a new array instead, since the caller "
                "still needs the original.",
            )
    run.ok()


def _pair(run: _Run, out: object, names: tuple[str, str], case: str, hint: str) -> tuple:
    """Unpack a result that must be a tuple of two."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        run.fail(case, f"a tuple ({names[0]}, {names[1]})", _describe(out), hint)
    return tuple(out)


# --- The checkers' docstrings ---------------------------------------------------------------

_ARGUMENTS = {
    # a checker's first parameter: its type, the kind of piece passed in it, and when it is refused
    "func": ("callable", "function", "``func`` is not a function"),
    "cls": ("type", "class", "``cls`` is not a class"),
}

_RETURNS = """Returns
-------
Verdict
    Also printed, unless ``verbose=False``; ``.use()`` gives the piece the rest of the
    notebook should use: the student's when it passed, otherwise labcode's reference."""

_Checker = TypeVar("_Checker", bound=Callable[..., Verdict])


def _shared_sections(argument: str, piece: str) -> str:
    """The Parameters, Returns and Raises sections, the same for every checker."""
    if argument == "values":  # a checker of a step's results
        return f"""Parameters
----------
values : list
    The values the step swept, in the order they were run.
accuracies : sequence of float
    Their validation accuracies, one per value (what ``compare_values`` returned).
ax : matplotlib.axes.Axes
    The plot of them (what ``plot_sweep`` returned).
verbose : bool, default True
    Print the verdict.

Returns
-------
Verdict
    Also printed, unless ``verbose=False``; named ``{piece}`` in ``check_all()``.

Raises
------
TypeError
    If ``verbose`` is not a bool."""
    kind, what, refused = _ARGUMENTS[argument]
    return f"""Parameters
----------
{argument} : {kind}
    The student's {what} ``{piece}``.
verbose : bool, default True
    Print the verdict.

{_RETURNS}

Raises
------
TypeError
    If {refused}, or ``verbose`` is not a bool."""


def _checker_docstring(piece: str) -> Callable[[_Checker], _Checker]:
    """Decorator: complete a checker's docstring with the sections every checker shares.

    The checker's own docstring is what is particular to it: a summary line (the piece,
    and what it must compute) and a paragraph on the inputs it runs and what it checks.
    The Parameters, Returns and Raises sections are appended, in numpydoc style; they
    name the checker's first parameter (``func`` for a function, ``cls`` for a class,
    read from its signature) and ``piece``, the name of what the student writes.
    """

    def decorate(checker: _Checker) -> _Checker:
        if checker.__doc__ is None:  # python -OO: no docstrings to complete
            return checker
        own = inspect.cleandoc(checker.__doc__)
        if "\n---" in own:
            raise ValueError(f"{checker.__name__}'s docstring must hold no sections of its own")
        argument = next(iter(inspect.signature(checker).parameters))
        checker.__doc__ = f"{own}\n\n{_shared_sections(argument, piece)}\n"
        return checker

    return decorate
