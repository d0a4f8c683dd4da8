"""Checkers for the pieces a student writes: is my ``fc_backward`` right?

Each exercise of the book asks for one piece (a function or a class) and has a
checker of the same name with ``check_`` in front. A checker runs the student's piece
on inputs it picks itself (small seeded random arrays and edge cases: one sample, a
label of 0 and of ``num_classes - 1``, large ``|z|`` for the sigmoid, ...), compares
the results with labcode's own implementation (and, for gradients, with finite
differences, :mod:`labcode.gradcheck`), prints a short verdict and returns it as a
:class:`Verdict`.

In a notebook, after filling in a starter cell::

    fc_forward = check_fc_forward(fc_forward).use()

prints ``✓ fc_forward: passed (12 checks)`` and keeps the student's function, or says
what went wrong (the input, what was expected, what came back, and a hint for the
usual mistake) and hands back labcode's reference instead, so that the rest of the
notebook runs either way. A starter that still raises ``NotImplementedError`` gives
the status ``"not implemented"``; any other exception in the student's code gives
``"error"``, with the student's own line. :func:`check_all` lists every checker run
so far and its status.

==========================  ============================================================
checker                     the piece it checks (labcode's reference)
==========================  ============================================================
check_add_bias              ``add_bias(X)`` (:func:`labcode.data.add_bias`)
check_one_hot               ``one_hot(y, num_classes=10)`` (:func:`labcode.data.one_hot`)
check_fc_forward            ``fc_forward(X, W) -> (Z, cache)``
check_fc_backward           ``fc_backward(dZ, cache) -> (dX, dW)``
check_sigmoid_forward       ``sigmoid_forward(Z) -> (A, cache)``
check_sigmoid_backward      ``sigmoid_backward(dA, cache) -> dZ``
check_mse_loss              ``mse_loss(A, Y) -> (loss, dA)``
check_gradient_step         ``gradient_step(params, grads, lr) -> new params``
check_dataset               ``class DigitsDataset(Dataset)``
check_simple_mlp            ``class SimpleMLP(nn.Module)``
check_l1_penalty            ``l1_penalty(model)``, :func:`labcode.training.l1_penalty`
check_l2_penalty            ``l2_penalty(model)``, :func:`labcode.training.l2_penalty`
check_complex_mlp           ``class ComplexMLP(nn.Module)``
==========================  ============================================================

The NumPy pieces' references are in :mod:`labcode.numpy_net` and :mod:`labcode.data`;
the PyTorch ones in :mod:`labcode.torch_data`, :mod:`labcode.models` and
:mod:`labcode.training`. Importing this module does not import PyTorch: a PyTorch
checker imports it when it runs. PyTorch checkers fork torch's random generator, so
running one leaves the notebook's random state as it was.
"""

from __future__ import annotations

import importlib
import linecache
import math
import site
import sys
import sysconfig
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from .data import add_bias, one_hot
from .gradcheck import TOLERANCE, numerical_gradient, relative_error
from .numpy_net import fc_forward as _fc_forward
from .numpy_net import mse_loss as _mse_loss
from .numpy_net import sigmoid_forward as _sigmoid_forward

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "STATUSES",
    "Verdict",
    "Summary",
    "check_all",
    "check_add_bias",
    "check_one_hot",
    "check_fc_forward",
    "check_fc_backward",
    "check_sigmoid_forward",
    "check_sigmoid_backward",
    "check_mse_loss",
    "check_gradient_step",
    "check_dataset",
    "check_simple_mlp",
    "check_l1_penalty",
    "check_l2_penalty",
    "check_complex_mlp",
]

STATUSES = ("passed", "failed", "not implemented", "error")
"""The possible values of ``Verdict.status``."""

REFERENCE_TOLERANCE = 1e-10
"""Relative error (:func:`labcode.gradcheck.relative_error`) allowed between a student's
float64 array and labcode's: rounding differences only."""

TORCH_RTOL, TORCH_ATOL = 1e-5, 1e-6
"""Tolerances for float32 results of the PyTorch pieces (another order of summation)."""

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
    "DigitsDataset": _Reference(
        "labcode.torch_data", "DigitsDataset", "labcode.torch_data.DigitsDataset"
    ),
    "SimpleMLP": _Reference("labcode.models", "SimpleMLP", "labcode.models.SimpleMLP"),
    "l1_penalty": _Reference(
        "labcode.training", "l1_penalty", "labcode.training.weight_penalty(model, l1=1.0)"
    ),
    "l2_penalty": _Reference(
        "labcode.training", "l2_penalty", "labcode.training.weight_penalty(model, l2=1.0)"
    ),
    "ComplexMLP": _Reference("labcode.models", "ComplexMLP", "labcode.models.ComplexMLP"),
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


class _StudentError(Exception):
    """The student's code raised another exception."""

    def __init__(self, error: BaseException, case: str, expr: str):
        super().__init__(str(error))
        self.error, self.case, self.expr = error, case, expr


class _Run:
    """One checker run: calls the student's code and counts the checks that passed."""

    def __init__(self, name: str):
        self.name = name
        self.checks = 0
        self.warnings: list[str] = []

    def call(self, func: Callable, *args: object, case: str, expr: str, **kwargs: object):
        """``func(*args, **kwargs)``, its exceptions turned into a verdict, its warnings kept."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return func(*args, **kwargs)
            except NotImplementedError as exc:
                raise _NotImplemented() from exc
            except Exception as exc:  # the student's code failed: reported, not raised
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
    fallback = f"The rest of the notebook uses labcode's reference, {reference.text}, instead."
    try:
        with _forked_torch_rng() if torch_rng else _nothing():
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
            f"{type(err.error).__name__}: {err.error}\n{_where(err.error)}\n"
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
    else:
        status = "passed"
        message = f"{_MARKS[status]} {name}: passed ({run.checks} checks)"
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

_LABCODE_DIR = Path(__file__).resolve().parent


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
    frames = traceback.extract_tb(error.__traceback__)
    frames = [f for f in frames if Path(f.filename).resolve() != Path(__file__).resolve()]
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


# --- Describing and comparing values -------------------------------------------------------


def _describe(x: object) -> str:
    """A short description of any value: type, and shape and dtype for arrays."""
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
    text = repr(x)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(x).__name__} {text}"


def _close(a: np.ndarray, b: np.ndarray, tol: float = REFERENCE_TOLERANCE) -> bool:
    """Whether two arrays have one shape, are finite and agree to relative error ``tol``."""
    return (
        a.shape == b.shape and bool(np.isfinite(a).all() and np.isfinite(b).all())
        and relative_error(a, b) <= tol
    )


def _factor(got: np.ndarray, want: np.ndarray) -> float | None:
    """``c`` if ``got`` is ``c * want`` for a constant ``c != 1`` (to rounding), else None."""
    if got.shape != want.shape:
        return None
    denom = float(np.vdot(want, want))
    if denom == 0.0:
        return None
    c = float(np.vdot(got, want)) / denom
    if c == 0.0 or math.isclose(c, 1.0, rel_tol=1e-9) or not _close(got, c * want, 1e-9):
        return None
    return c


def _factor_hint(what: str, c: float, known: Mapping[float, str] | None = None) -> str:
    for value, text in (known or {}).items():
        if math.isclose(c, value, rel_tol=1e-6):
            return text
    if math.isclose(c, -1.0, rel_tol=1e-6):
        return f"wrong sign: {what} has the opposite sign of the correct result."
    return f"{what} is off by a constant factor of {c:.4g}."


def _float_array(
    run: _Run, value: object, *, what: str, shape: tuple[int, ...], case: str,
    shape_hint: Callable[[tuple[int, ...]], str | None] = lambda s: None,
    finite_hint: str | None = None, float64: bool = True,
) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape``, or a failure naming ``what``.

    With ``float64`` (the default) the array must be float64 already, as everything in
    the NumPy network is: float32 would lose the precision the gradient checks need.
    """
    if not isinstance(value, np.ndarray):
        run.fail(case, f"{what}, a NumPy array of shape {shape}", _describe(value),
                 f"return {what} as a NumPy array.")
    if value.dtype == object or not (
        np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_
    ) or np.iscomplexobj(value):
        run.fail(case, f"{what}, a real array of shape {shape}", _describe(value))
    if value.shape != shape:
        hint = shape_hint(value.shape)
        if hint is None and value.shape == shape[::-1] and len(shape) == 2:
            hint = f"{what} looks transposed: it has shape {value.shape}, not {shape}."
        run.fail(case, f"{what} of shape {shape}", f"{what} of shape {value.shape}", hint)
    if float64 and value.dtype != np.float64:
        run.fail(case, f"{what} of dtype float64", f"dtype {value.dtype}",
                 "compute in float64, the dtype of the inputs; do not convert to float32 "
                 "or to integers.")
    arr = value.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        run.fail(
            case, f"{what} of shape {shape} with finite entries",
            f"{what} with {int(bad.sum())} non-finite entries (NaN or infinity), "
            f"the first at {list(where)}", finite_hint,
        )
    run.ok()
    return arr


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


def _array_value(
    run: _Run, got: np.ndarray, want: np.ndarray, *, what: str, formula: str, case: str,
    hint: Callable[[np.ndarray], str | None] = lambda g: None,
    factor_hints: Mapping[float, str] | None = None,
) -> None:
    """Fail unless ``got`` equals labcode's ``want`` to :data:`REFERENCE_TOLERANCE`."""
    if _close(got, want):
        run.ok()
        return
    text = hint(got)
    if text is None:
        c = _factor(got, want)
        if c is not None:
            text = _factor_hint(what, c, factor_hints)
        elif got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, want.T):
            text = f"{what} looks transposed."
    run.fail(
        case, f"{what} = {formula}", f"{what} with relative error "
        f"{relative_error(got, want):.2g} against {formula} (tolerance {REFERENCE_TOLERANCE:g})",
        text,
    )


def _gradient_value(
    run: _Run, got: np.ndarray, want: np.ndarray, numerical: np.ndarray, *, what: str,
    case: str, hint: Callable[[np.ndarray], str | None] = lambda g: None,
    factor_hints: Mapping[float, str] | None = None,
) -> None:
    """Fail unless ``got`` equals labcode's gradient and the finite-difference estimate.

    Where the true gradient is zero, a relative error means nothing (the estimate is
    rounding noise, and any noise is 100% off zero); there the estimate must agree to
    :data:`labcode.gradcheck.TOLERANCE` in absolute terms.
    """
    err_ref = relative_error(got, want)
    if np.any(want):
        err_num, kind = relative_error(got, numerical), "relative error"
    else:
        err_num, kind = float(np.max(np.abs(got - numerical), initial=0.0)), "absolute error"
    if err_ref <= REFERENCE_TOLERANCE and err_num <= TOLERANCE:
        run.ok(2)
        return
    text = hint(got)
    if text is None:
        c = _factor(got, want)
        if c is not None:
            text = _factor_hint(what, c, factor_hints)
        elif got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, want.T):
            text = f"{what} looks transposed."
    run.fail(
        case,
        f"{what} equal to labcode's gradient and to the finite-difference estimate",
        f"{what} with relative error {err_ref:.2g} against labcode's gradient and "
        f"{kind} {err_num:.2g} against finite differences (tolerance {TOLERANCE:g})",
        text,
    )


# --- Step 1: add_bias and one_hot ------------------------------------------------------------


def check_add_bias(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``add_bias(X)``: ``X`` with a column of ones appended as its last column.

    Inputs: a (5, 3) random matrix, one sample of shape (1, 4) and a single
    feature of shape (6, 1). Checks the shape, the values, that the ones are the last
    column, and that ``X`` is left unchanged. Reference: :func:`labcode.data.add_bias`.

    Parameters
    ----------
    func : callable
        The student's ``add_bias``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("add_bias", func, _add_bias_body, verbose=verbose)


def _add_bias_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(0)
    cases = [
        ("X of shape (5, 3), random values", rng.normal(size=(5, 3))),
        ("one sample: X of shape (1, 4)", rng.normal(size=(1, 4))),
        ("a single feature: X of shape (6, 1)", rng.normal(size=(6, 1))),
    ]
    for case, X in cases:
        X0 = X.copy()
        out = run.call(func, X, case=case, expr="add_bias(X)")
        _unchanged(run, case, X=(X, X0))
        n, d = X0.shape
        want = add_bias(X0)

        def shape_hint(s: tuple[int, ...], n: int = n, d: int = d) -> str | None:
            if s == (n, d):
                return "no column was added: append a column of ones, np.hstack([X, ones])."
            if s == (n + 1, d):
                return "you appended a row; append a column instead (axis=1)."
            return None

        got = _float_array(run, out, what="add_bias(X)", shape=(n, d + 1), case=case,
                           shape_hint=shape_hint)
        if np.array_equal(got, want):
            run.ok()
            continue
        if np.all(got[:, 0] == 1.0) and np.array_equal(got[:, 1:], X0):
            hint = ("bias column first instead of last: the ones must be the last column, "
                    "np.hstack([X, ones]), because the last row of W holds the bias.")
        elif np.array_equal(got[:, :-1], X0):
            hint = "the appended column must hold ones, the constant input of the bias."
        else:
            hint = "the first columns must be X itself, unchanged, followed by a column of ones."
        run.fail(case, f"X followed by a column of ones, of shape {want.shape}",
                 f"an array whose values differ, first row {np.array2string(got[0], precision=3)}",
                 hint)


def check_one_hot(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``one_hot(y, num_classes=10)``: one row per label, a 1 in column ``y[i]``.

    Inputs: labels including 0 and 9 with the default ``num_classes``, labels that
    do not reach ``num_classes - 1`` (``num_classes=4``), and one sample. Checks shape,
    values, float dtype and that ``y`` is left unchanged. Reference:
    :func:`labcode.data.one_hot`.

    Parameters
    ----------
    func : callable
        The student's ``one_hot``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("one_hot", func, _one_hot_body, verbose=verbose)


def _one_hot_body(run: _Run, func: Callable) -> None:
    cases = [
        ("8 labels including 0 and 9, y = [3, 0, 9, 1, 9, 5, 0, 2], default num_classes (10)",
         np.array([3, 0, 9, 1, 9, 5, 0, 2]), None),
        ("labels that do not reach num_classes - 1 (a batch need not hold every class): "
         "y = [1, 0, 1] with num_classes=4", np.array([1, 0, 1]), 4),
        ("one sample, y = [9], default num_classes (10)", np.array([9]), None),
    ]
    for case, y, k in cases:
        y0 = y.copy()
        if k is None:
            out = run.call(func, y, case=case, expr="one_hot(y)")
            k = 10
        else:
            out = run.call(func, y, num_classes=k, case=case, expr=f"one_hot(y, num_classes={k})")
        _unchanged(run, case, y=(y, y0))
        n = y0.shape[0]
        want = one_hot(y0, num_classes=k)

        def shape_hint(
            s: tuple[int, ...], n: int = n, k: int = k, top: int = int(y0.max())
        ) -> str | None:
            if s == (k, n) and n != k:
                return "transposed: one row per sample, one column per class."
            if len(s) == 2 and s[0] == n and s[1] == top + 1 and top + 1 != k:
                return (f"the width must be num_classes = {k}, not y.max() + 1 = {top + 1}: "
                        "a batch need not contain every class.")
            if len(s) == 2 and s[0] == n and abs(s[1] - k) == 1:
                return (f"off-by-one in the width: classes 0..{k - 1} need num_classes = {k} "
                        "columns.")
            return None

        got = _float_array(run, out, what=f"one_hot(y, num_classes={k})", shape=(n, k),
                           case=case, shape_hint=shape_hint, float64=False)
        if not np.array_equal(got, want):
            if np.array_equal(got, np.roll(want, -1, axis=1)) or np.array_equal(
                got, np.roll(want, 1, axis=1)
            ):
                hint = ("off-by-one: the 1 of label c belongs in column c (columns are numbered "
                        "from 0), for example out[np.arange(n), y] = 1.")
            elif not np.array_equal(got.sum(axis=1), np.ones(n)):
                hint = "each row must hold exactly one 1, in column y[i], and zeros elsewhere."
            else:
                hint = "row i must have its 1 in column y[i]."
            first = int(np.flatnonzero((got != want).any(axis=1))[0])
            run.fail(case, f"row {first} (label {y0[first]}) = {want[first].astype(int).tolist()}",
                     f"row {first} = {np.array2string(got[first], precision=3)}", hint)
        run.ok()
        if out.dtype != np.float64:
            run.fail(case, "a float64 array (the targets of the mean squared error)",
                     f"dtype {out.dtype}",
                     "create the array with np.zeros((n, num_classes)), which is float64.")
        run.ok()


# --- Exercise 1: the blocks of the NumPy network ---------------------------------------------


def _fc_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(description, X, W, dZ): a square W first, so a transposed W still has its shape."""
    rng = np.random.default_rng(1)
    cases = []
    for n, n_in, n_out, note in [
        (4, 3, 4, "; W is square, so a transposed W would still fit"),
        (6, 4, 3, ""),
        (1, 4, 3, "; one sample"),
    ]:
        X = add_bias(rng.normal(size=(n, n_in)))
        W = rng.normal(size=(n_in + 1, n_out))
        dZ = rng.normal(size=(n, n_out))
        cases.append((f"X of shape {X.shape} (last column ones) and W of shape {W.shape}{note}",
                      X, W, dZ))
    return cases


def check_fc_forward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``fc_forward(X, W) -> (Z, cache)``: ``Z = X @ W`` and ``cache = (X, W)``.

    Inputs: a square ``W`` (so that ``X @ W.T`` still has the right shape), a general
    case and one sample; ``X`` has its column of ones. Checks the tuple, ``Z``'s shape
    and values, the cache, and that the inputs are left unchanged. Reference:
    :func:`labcode.numpy_net.fc_forward`.

    Parameters
    ----------
    func : callable
        The student's ``fc_forward``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("fc_forward", func, _fc_forward_body, verbose=verbose)


def _fc_forward_body(run: _Run, func: Callable) -> None:
    for case, X, W, _ in _fc_cases():
        X0, W0 = X.copy(), W.copy()
        out = run.call(func, X, W, case=case, expr="fc_forward(X, W)")
        _unchanged(run, case, X=(X, X0), W=(W, W0))
        Z, cache = _pair(run, out, ("Z", "cache"), case,
                         "return two things, the output and the cache: return Z, (X, W).")
        want = X0 @ W0

        def hint(got: np.ndarray, X0: np.ndarray = X0, W0: np.ndarray = W0) -> str | None:
            if _close(got, X0 @ W0.T):
                return "transposed weight: Z = X @ W, with W of shape (n_in + 1, n_out) as given."
            if _close(got, X0[:, :-1] @ W0[:-1]):
                return ("the bias is missing: use all of X and W; X's last column (ones) "
                        "picks W's last row.")
            return None

        got = _float_array(run, Z, what="Z", shape=want.shape, case=case)
        _array_value(run, got, want, what="Z", formula="X @ W", case=case, hint=hint)
        if not (
            isinstance(cache, (tuple, list)) and len(cache) == 2
            and all(isinstance(c, np.ndarray) for c in cache)
            and cache[0].shape == X0.shape and cache[1].shape == W0.shape
            and np.array_equal(cache[0], X0) and np.array_equal(cache[1], W0)
        ):
            run.fail(case, "cache = (X, W), the inputs fc_backward needs", _describe(cache),
                     "return the tuple (X, W) as the cache: the backward pass computes "
                     "X.T @ dZ and dZ @ W.T from it.")
        run.ok()


def check_fc_backward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``fc_backward(dZ, cache) -> (dX, dW)`` with ``cache = (X, W)``.

    Each gradient is compared with labcode's (:func:`labcode.numpy_net.fc_backward`)
    and with central finite differences of ``sum(dZ * (X @ W))``
    (:func:`labcode.gradcheck.numerical_gradient`, tolerance
    :data:`labcode.gradcheck.TOLERANCE`). Inputs: a square ``W``, a general case and one
    sample. Also checks that ``dZ`` and the cache are left unchanged.

    Parameters
    ----------
    func : callable
        The student's ``fc_backward``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("fc_backward", func, _fc_backward_body, verbose=verbose)


def _fc_backward_body(run: _Run, func: Callable) -> None:
    for case, X, W, dZ in _fc_cases():
        case = f"dZ of shape {dZ.shape} and cache = (X, W), with {case}"
        X0, W0, dZ0 = X.copy(), W.copy(), dZ.copy()
        out = run.call(func, dZ, (X, W), case=case, expr="fc_backward(dZ, cache)")
        _unchanged(run, case, dZ=(dZ, dZ0), X=(X, X0), W=(W, W0))
        dX, dW = _pair(run, out, ("dX", "dW"), case, "return both gradients: return dX, dW.")
        want_dX, want_dW = dZ0 @ W0.T, X0.T @ dZ0
        Xc, Wc = X0.copy(), W0.copy()

        def loss(_: np.ndarray) -> float:
            return float(np.sum(dZ0 * _fc_forward(Xc, Wc)[0]))

        num_dW, num_dX = numerical_gradient(loss, Wc), numerical_gradient(loss, Xc)
        square = X0.shape == W0.shape
        if (isinstance(dX, np.ndarray) and isinstance(dW, np.ndarray)
                and (dX.shape, dW.shape) == (W0.shape, X0.shape)
                and (not square or (_close(dX, want_dW) and _close(dW, want_dX)))):
            run.fail(case, f"(dX, dW): dX = dZ @ W.T of shape {X0.shape} and dW = X.T @ dZ "
                     f"of shape {W0.shape}", "(dW, dX): the two gradients in the other order",
                     "dX and dW are swapped: return dX, dW in this order.")

        def dW_hint(got: np.ndarray, X0: np.ndarray = X0, dZ0: np.ndarray = dZ0) -> str | None:
            if _close(got, dZ0.T @ X0) and not _close(got, X0.T @ dZ0):
                return "dW looks transposed: dW = X.T @ dZ has the shape of W."
            return None

        def dX_hint(got: np.ndarray, W0: np.ndarray = W0, dZ0: np.ndarray = dZ0) -> str | None:
            if square and _close(got, dZ0 @ W0):
                return "transposed weight: dX = dZ @ W.T, the transpose of W."
            return None

        n = X0.shape[0]
        factors = {1.0 / n: "divided by the number of samples: mse_loss already averages, "
                            "so the layer's backward must not divide again."} if n > 1 else {}
        got_dX = _float_array(run, dX, what="dX", shape=X0.shape, case=case)
        _gradient_value(run, got_dX, want_dX, num_dX, what="dX", case=case, hint=dX_hint,
                        factor_hints=factors)
        transposed = "dW looks transposed: dW = X.T @ dZ has the shape of W."
        got_dW = _float_array(run, dW, what="dW", shape=W0.shape, case=case,
                              shape_hint=lambda s: transposed if s == W0.shape[::-1] else None)
        _gradient_value(run, got_dW, want_dW, num_dW, what="dW", case=case, hint=dW_hint,
                        factor_hints=factors)


def _sigmoid(Z: np.ndarray) -> np.ndarray:
    return _sigmoid_forward(np.asarray(Z, dtype=np.float64))[0]


def check_sigmoid_forward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``sigmoid_forward(Z) -> (A, cache)``: ``A = 1 / (1 + exp(-Z))``, ``cache = A``.

    Inputs: a (4, 3) random matrix, and one sample with large ``|z|`` (±40, ±1000),
    where a careless formula overflows. Checks the tuple, ``A`` (finite, to rounding),
    the cache and that ``Z`` is left unchanged. Reference:
    :func:`labcode.numpy_net.sigmoid_forward`.

    Parameters
    ----------
    func : callable
        The student's ``sigmoid_forward``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("sigmoid_forward", func, _sigmoid_forward_body, verbose=verbose)


def _sigmoid_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(2)
    return [
        ("Z of shape (4, 3), random values in about [-6, 6]", 2.0 * rng.normal(size=(4, 3))),
        ("one sample with large |z|: Z = [[-1000, -40, -1, 0, 1, 40, 1000]]",
         np.array([[-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0]])),
    ]


_OVERFLOW_HINT = (
    "exp overflowed for large |z|: compute exp(-|z|), which never exceeds 1, "
    "as 1 / (1 + e) where z >= 0 and e / (1 + e) where z < 0."
)


def _sigmoid_forward_body(run: _Run, func: Callable) -> None:
    for case, Z in _sigmoid_cases():
        Z0 = Z.copy()
        out = run.call(func, Z, case=case, expr="sigmoid_forward(Z)")
        _unchanged(run, case, Z=(Z, Z0))
        A, cache = _pair(run, out, ("A", "cache"), case,
                         "return two things, the output and the cache: return A, A.")
        want = _sigmoid(Z0)
        got = _float_array(run, A, what="A", shape=Z0.shape, case=case, finite_hint=_OVERFLOW_HINT)
        if not np.allclose(got, want, rtol=1e-12, atol=1e-15):
            if np.allclose(got, 1.0 - want, rtol=1e-12, atol=1e-15):
                hint = "wrong sign in the exponent: sigmoid(z) = 1 / (1 + exp(-z))."
            elif np.any((got < 0) | (got > 1)):
                hint = "a sigmoid lies in [0, 1]: A = 1 / (1 + exp(-Z))."
            else:
                hint = None
            i = tuple(int(v) for v in np.argwhere(~np.isclose(got, want, rtol=1e-12, atol=1e-15))[0])
            run.fail(case, f"A = 1 / (1 + exp(-Z)); at {list(i)} (z = {Z0[i]:g}) {want[i]:.6g}",
                     f"{got[i]:.6g} there", hint)
        run.ok()
        if not (isinstance(cache, np.ndarray) and cache.shape == Z0.shape
                and np.allclose(cache, want, rtol=1e-12, atol=1e-15)):
            hint = ("the cache must be A, the sigmoid's output: the backward pass uses "
                    "A * (1 - A).")
            received = _describe(cache)
            if (isinstance(cache, np.ndarray) and cache.shape == Z0.shape
                    and np.array_equal(cache, Z0)):
                hint = "the cache holds Z; it must hold A: the backward pass uses A * (1 - A)."
                received = "cache = Z"
            run.fail(case, "cache = A", received, hint)
        run.ok()


def check_sigmoid_backward(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``sigmoid_backward(dA, cache) -> dZ`` with ``cache = A = sigmoid(Z)``.

    ``dZ`` is compared with labcode's (:func:`labcode.numpy_net.sigmoid_backward`) and
    with central finite differences of ``sum(dA * sigmoid(Z))`` with respect to ``Z``.
    Inputs: a random (4, 3) case and one saturated sample (``|z|`` up to 30). Also
    checks that ``dA`` and the cache are left unchanged.

    Parameters
    ----------
    func : callable
        The student's ``sigmoid_backward``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("sigmoid_backward", func, _sigmoid_backward_body, verbose=verbose)


def _sigmoid_backward_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(3)
    cases = [
        ("dA of shape (4, 3) and cache = A = sigmoid(Z) for random Z", 2.0 * rng.normal(size=(4, 3))),
        ("one sample, dA of shape (1, 5) and cache = A = sigmoid(Z) with "
         "Z = [[-30, -2, 0, 2, 30]] (saturated at both ends)",
         np.array([[-30.0, -2.0, 0.0, 2.0, 30.0]])),
    ]
    for case, Z in cases:
        A = _sigmoid(Z)
        dA = rng.normal(size=Z.shape)
        A0, dA0, Zc = A.copy(), dA.copy(), Z.copy()
        out = run.call(func, dA, A, case=case, expr="sigmoid_backward(dA, cache)")
        _unchanged(run, case, dA=(dA, dA0), cache=(A, A0))
        want = dA0 * A0 * (1.0 - A0)
        num = numerical_gradient(lambda _: float(np.sum(dA0 * _sigmoid(Zc))), Zc)

        def hint(got: np.ndarray, A0: np.ndarray = A0, dA0: np.ndarray = dA0) -> str | None:
            if _close(got, A0 * (1.0 - A0)):
                return "multiply by dA (the chain rule): dZ = dA * A * (1 - A)."
            if _close(got, -dA0 * A0 * (1.0 - A0)):
                return "wrong sign: dZ = dA * A * (1 - A)."
            S = _sigmoid(A0)
            if _close(got, dA0 * S * (1.0 - S)):
                return ("the cache already holds A = sigmoid(Z): do not apply the sigmoid again; "
                        "dZ = dA * A * (1 - A).")
            if _close(got, dA0 * A0):
                return "the sigmoid's derivative is A * (1 - A): dZ = dA * A * (1 - A)."
            return None

        got = _float_array(run, out, what="dZ", shape=Z.shape, case=case)
        _gradient_value(run, got, want, num, what="dZ", case=case, hint=hint)


def check_mse_loss(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``mse_loss(A, Y) -> (loss, dA)``: ``loss = mean((A - Y) ** 2)`` over all entries.

    ``loss`` is compared with labcode's (:func:`labcode.numpy_net.mse_loss`); ``dA``
    with labcode's and with central finite differences of the loss. Inputs: a random
    (5, 3) case with one-hot targets, one sample with 10 outputs, and ``A == Y`` (loss
    0). Also checks that ``A`` and ``Y`` are left unchanged.

    Parameters
    ----------
    func : callable
        The student's ``mse_loss``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("mse_loss", func, _mse_loss_body, verbose=verbose)


def _mse_loss_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(4)
    Y1 = one_hot(np.array([0, 2, 1, 2, 0]), num_classes=3)
    Y2 = one_hot(np.array([9]))
    cases = [
        ("A of shape (5, 3) in (0, 1) and one-hot targets Y of shape (5, 3)",
         _sigmoid(rng.normal(size=(5, 3))), Y1),
        ("one sample: A of shape (1, 10) and Y = one_hot([9]) of shape (1, 10)",
         _sigmoid(rng.normal(size=(1, 10))), Y2),
        ("A equal to Y, both of shape (5, 3): the loss is 0", Y1.copy(), Y1.copy()),
    ]
    for case, A, Y in cases:
        A0, Y0 = A.copy(), Y.copy()
        out = run.call(func, A, Y, case=case, expr="mse_loss(A, Y)")
        _unchanged(run, case, A=(A, A0), Y=(Y, Y0))
        loss, dA = _pair(run, out, ("loss", "dA"), case,
                         "return the loss and its gradient: return loss, dA.")
        want_loss, want_dA = _mse_loss(A0, Y0)
        n, k = A0.shape
        size = A0.size
        if (
            isinstance(loss, (bool, np.bool_))
            or not isinstance(loss, (int, float, np.number, np.ndarray))
            or np.ndim(loss) != 0
            or np.iscomplexobj(loss)
            or not np.issubdtype(np.asarray(loss).dtype, np.number)
        ):
            run.fail(case, "loss, one number", _describe(loss),
                     "the loss is one number, the mean over all n_samples * n_outputs entries.")
        got_loss = float(loss)
        if not math.isclose(got_loss, want_loss, rel_tol=1e-10, abs_tol=1e-15):
            hint = None
            if want_loss > 0:
                c = got_loss / want_loss
                known = {
                    float(size): "you summed the squared errors; the loss is their mean over all "
                                 "n_samples * n_outputs entries (A.size).",
                    float(k): "you divided by the number of samples only; the mean runs over "
                              "all n_samples * n_outputs entries (A.size).",
                    float(n): "you divided by the number of outputs only; the mean runs over "
                              "all n_samples * n_outputs entries (A.size).",
                    0.5: "there is no factor 1/2: loss = mean((A - Y) ** 2).",
                }
                hint = next((t for v, t in known.items() if math.isclose(c, v, rel_tol=1e-9)), None)
            run.fail(case, f"loss = {want_loss:.6g}", f"loss = {got_loss:.6g}", hint)
        run.ok()
        got_dA = _float_array(run, dA, what="dA", shape=A0.shape, case=case)
        Ac = A0.copy()
        num = numerical_gradient(lambda _: _mse_loss(Ac, Y0)[0], Ac)
        factors = {
            -1.0: "wrong sign: dA = 2 * (A - Y) / A.size, the derivative with respect to A.",
            0.5: "the factor 2 is missing: the derivative of (a - y) ** 2 is 2 * (a - y).",
            float(size): "divide by A.size, as the loss does: dA = 2 * (A - Y) / A.size.",
            0.5 * size: "dA = 2 * (A - Y) / A.size: the factor 2 and the division by A.size.",
        }
        if k > 1:
            factors[float(k)] = ("divide by A.size, the number of entries, not by the number "
                                 "of samples: dA = 2 * (A - Y) / A.size.")
        _gradient_value(run, got_dA, want_dA, num, what="dA", case=case, factor_hints=factors)


def check_gradient_step(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``gradient_step(params, grads, lr)``: a new dict of ``W - lr * dW``.

    Inputs: two weight matrices with ``lr = 0.5``, and one with ``lr = 0.1``. Checks
    that a dict with the keys of ``params`` comes back, its values, and that
    ``params`` and ``grads`` are left unchanged. Reference:
    :func:`labcode.numpy_net.gradient_step`.

    Parameters
    ----------
    func : callable
        The student's ``gradient_step``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("gradient_step", func, _gradient_step_body, verbose=verbose)


def _gradient_step_body(run: _Run, func: Callable) -> None:
    rng = np.random.default_rng(5)
    cases = [
        ("params {'W1': (4, 3), 'W2': (4, 2)}, grads of the same shapes, lr = 0.5",
         {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(4, 2))},
         {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(4, 2))}, 0.5),
        ("params {'W1': (3, 2)}, grads of the same shape, lr = 0.1",
         {"W1": rng.normal(size=(3, 2))}, {"W1": rng.normal(size=(3, 2))}, 0.1),
    ]
    for case, params, grads, lr in cases:
        p0 = {k: v.copy() for k, v in params.items()}
        g0 = {k: v.copy() for k, v in grads.items()}
        p_in, g_in = dict(params), dict(grads)
        out = run.call(func, p_in, g_in, lr, case=case, expr="gradient_step(params, grads, lr)")
        if set(p_in) != set(p0) or set(g_in) != set(g0):
            run.fail(case, "params and grads left as they were",
                     f"params with keys {list(p_in)} and grads with keys {list(g_in)}",
                     "do not add or remove keys of the inputs; build a new dict.")
        _unchanged(run, case, **{f"params[{k!r}]": (p_in[k], p0[k]) for k in p0},
                   **{f"grads[{k!r}]": (g_in[k], g0[k]) for k in g0})
        if not isinstance(out, Mapping):
            hint = ("return the new dict of weights."
                    if out is None else "return a dict keyed like params.")
            run.fail(case, f"a dict with keys {list(p0)}", _describe(out), hint)
        if set(out) != set(p0):
            run.fail(case, f"a dict with keys {list(p0)}", f"a dict with keys {list(out)}",
                     "return one updated array for every key of params.")
        run.ok()
        for key in p0:
            W, dW = p0[key], g0[key]
            got = _float_array(run, out[key], what=f"new {key}", shape=W.shape, case=case)

            def hint(got: np.ndarray, W: np.ndarray = W, dW: np.ndarray = dW) -> str | None:
                if _close(got, W + lr * dW):
                    return "wrong sign: step against the gradient, W - lr * dW."
                if _close(got, W - dW):
                    return "the learning rate is missing: W - lr * dW."
                if _close(got, -lr * dW) or _close(got, lr * dW):
                    return "the new weights are W - lr * dW: start from W."
                return None

            _array_value(run, got, W - lr * dW, what=f"new {key}",
                         formula=f"params[{key!r}] - lr * grads[{key!r}]", case=case, hint=hint)


# --- Exercise 2: PyTorch ----------------------------------------------------------------------


def check_dataset(cls: type, *, verbose: bool = True) -> Verdict:
    """Check ``class DigitsDataset(Dataset)``: ``(X, y)`` in, ``(float32 x, int64 label)`` out.

    Builds ``cls(X, y)`` from a float64 (6, 4) matrix and int64 labels including 0 and
    9; checks that it subclasses :class:`torch.utils.data.Dataset`, ``len``, the first
    and the last sample (a float32 tensor of shape (4,) with ``X``'s values, and an
    int64 label), one batch of a ``DataLoader`` (``(4, 4)`` float32, ``(4,)`` int64),
    and that ``X`` and ``y`` are left unchanged. Reference:
    :class:`labcode.torch_data.DigitsDataset`.

    Parameters
    ----------
    cls : type
        The student's dataset class.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``cls`` is not a class.
    """
    return _run("DigitsDataset", cls, _dataset_body, verbose=verbose, kind="class",
                torch_rng=True)


def _dataset_body(run: _Run, cls: type) -> None:
    import torch
    from torch.utils.data import DataLoader, Dataset

    case = "X of shape (6, 4), float64, and y = [0, 3, 9, 1, 5, 9], int64"
    if not issubclass(cls, Dataset):
        run.fail(case, "a subclass of torch.utils.data.Dataset", f"a class with bases "
                 f"{[b.__name__ for b in cls.__bases__]}",
                 "declare it as class DigitsDataset(Dataset), with "
                 "from torch.utils.data import Dataset.")
    run.ok()
    rng = np.random.default_rng(6)
    X = rng.uniform(size=(6, 4))
    y = np.array([0, 3, 9, 1, 5, 9], dtype=np.int64)
    X0, y0 = X.copy(), y.copy()
    ds = run.call(cls, X, y, case=case, expr="DigitsDataset(X, y)")
    n = run.call(len, ds, case=case, expr="len(dataset)")
    if n != 6:
        run.fail(case, "len(dataset) = 6, the number of samples", f"{n!r}",
                 "__len__ returns the number of samples, len(self.y).")
    run.ok()
    for i in (0, 5):
        item = run.call(lambda i=i: ds[i], case=case, expr=f"dataset[{i}]")
        x, label = _pair(run, item, ("features", "label"), f"{case}; dataset[{i}]",
                         "__getitem__ returns one sample as a pair: return self.X[i], self.y[i].")
        where = f"{case}; dataset[{i}]"
        if not isinstance(x, torch.Tensor):
            run.fail(where, "features as a torch tensor", _describe(x),
                     "convert the features to a tensor once, in __init__: "
                     "torch.as_tensor(X, dtype=torch.float32).")
        if x.dtype != torch.float32:
            hint = ("float64 instead of float32: nn.Linear's weights are float32; store "
                    "torch.as_tensor(X, dtype=torch.float32)." if x.dtype == torch.float64 else
                    "store the features as torch.as_tensor(X, dtype=torch.float32).")
            run.fail(where, "features of dtype torch.float32", f"dtype {x.dtype}", hint)
        if tuple(x.shape) != (4,):
            run.fail(where, "features of shape (4,), one row of X", f"shape {tuple(x.shape)}",
                     "dataset[i] returns row i of X.")
        if not torch.equal(x.cpu(), torch.as_tensor(X0[i], dtype=torch.float32)):
            run.fail(where, f"row {i} of X", f"{x.tolist()}", "dataset[i] returns row i of X.")
        run.ok()
        if isinstance(label, torch.Tensor):
            if label.dtype != torch.int64:
                run.fail(where, "a label of dtype torch.int64", f"dtype {label.dtype}",
                         "cross_entropy needs int64 class indices: "
                         "torch.as_tensor(y, dtype=torch.int64).")
            if label.ndim != 0:
                run.fail(where, "a single label (a tensor of shape ())",
                         f"a tensor of shape {tuple(label.shape)}",
                         "store y as a 1-D tensor, so that self.y[i] is one label.")
            value = int(label)
        elif isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
            value = int(label)
        else:
            run.fail(where, "an int64 label", _describe(label),
                     "store y as torch.as_tensor(y, dtype=torch.int64).")
        if value != y0[i]:
            run.fail(where, f"label {y0[i]}", f"label {value}", "dataset[i] returns y[i].")
        run.ok()
    # a list of indices gives a whole batch at once, as the chapter uses it
    where = f"{case}; dataset[[1, 4]]"
    item = run.call(lambda: ds[[1, 4]], case=case, expr="dataset[[1, 4]]")
    xs, labels = _pair(run, item, ("features", "labels"), where,
                       "index the tensors with the index as it comes: return self.X[i], self.y[i].")
    hint = ("keep X and y as tensors and index them with what __getitem__ receives, so that "
            "a list of indices gives rows [1, 4] at once.")
    if not isinstance(xs, torch.Tensor) or tuple(xs.shape) != (2, 4) or not torch.equal(
            xs.cpu(), torch.as_tensor(X0[[1, 4]], dtype=torch.float32)):
        run.fail(where, "features of shape (2, 4): rows 1 and 4 of X", _describe(xs), hint)
    if not isinstance(labels, torch.Tensor) or labels.tolist() != y0[[1, 4]].tolist():
        run.fail(where, f"labels {y0[[1, 4]].tolist()}", _describe(labels), hint)
    run.ok()
    loader = DataLoader(ds, batch_size=4)
    batch = run.call(lambda: next(iter(loader)), case=case,
                     expr="next(iter(DataLoader(dataset, batch_size=4)))")
    xb, yb = _pair(run, batch, ("X batch", "y batch"), case, None)
    if tuple(xb.shape) != (4, 4) or xb.dtype != torch.float32:
        run.fail(case, "a DataLoader batch of features of shape (4, 4), float32",
                 _describe(xb), None)
    if tuple(yb.shape) != (4,) or yb.dtype != torch.int64:
        run.fail(case, "a DataLoader batch of labels of shape (4,), int64", _describe(yb),
                 "each label must be a single int64 value, so that a batch of them has "
                 "shape (batch_size,).")
    run.ok()
    _unchanged(run, case, X=(X, X0), y=(y, y0))


def _linears(model: nn.Module) -> list:
    from torch import nn

    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _module_check(run: _Run, cls: type, case: str) -> None:
    from torch import nn

    if not issubclass(cls, nn.Module):
        run.fail(case, "a subclass of torch.nn.Module",
                 f"a class with bases {[b.__name__ for b in cls.__bases__]}",
                 f"declare it as class {cls.__name__}(nn.Module) and call super().__init__() "
                 "first in __init__.")
    run.ok()


def _layer_sizes(linears: list) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in linears]


def _in_order(modules: list, key: Callable[[object], object], wanted: list) -> list:
    """``modules`` reordered so that their keys follow ``wanted`` (registration order may
    differ from the order of computation); ``modules`` unchanged if that is impossible."""
    left = list(modules)
    ordered = []
    for w in wanted:
        match = next((m for m in left if key(m) == w), None)
        if match is None:
            return modules
        left.remove(match)
        ordered.append(match)
    return ordered if not left else modules


def _tensor_close(a: torch.Tensor, b: torch.Tensor) -> bool:
    import torch

    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=TORCH_RTOL, atol=TORCH_ATOL))


def _forward_output(run: _Run, model: nn.Module, x: torch.Tensor, shape: tuple[int, int],
                    case: str) -> torch.Tensor:
    import torch

    out = run.call(model, x, case=case, expr="model(x)")
    if not isinstance(out, torch.Tensor):
        run.fail(case, f"logits, a tensor of shape {shape}", _describe(out), None)
    if tuple(out.shape) != shape:
        run.fail(case, f"logits of shape {shape}", f"shape {tuple(out.shape)}",
                 "forward returns one row of num_classes logits per sample.")
    run.ok()
    return out.detach()


def check_simple_mlp(cls: type, *, verbose: bool = True) -> Verdict:
    """Check ``class SimpleMLP(nn.Module)``: Linear, ReLU, Linear, returning logits.

    Builds ``cls(in_features=5, hidden_size=7, num_classes=3)`` and the book's
    ``cls(in_features=64, hidden_size=32, num_classes=10)``; checks the two Linear
    layers, that they are the attributes ``fc1`` and ``fc2`` (the chapter reads them),
    the parameter count, and that the forward pass of a batch and of one sample equals
    ``fc2(relu(fc1(x)))`` computed with the model's own layers (so a missing ReLU or a
    softmax at the end shows).
    Reference: :class:`labcode.models.SimpleMLP`.

    Parameters
    ----------
    cls : type
        The student's model class.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``cls`` is not a class.
    """
    return _run("SimpleMLP", cls, _simple_mlp_body, verbose=verbose, kind="class",
                torch_rng=True)


def _simple_mlp_body(run: _Run, cls: type) -> None:
    import torch

    case = "SimpleMLP(5, 7, 3): in_features=5, hidden_size=7, num_classes=3"
    _module_check(run, cls, case)
    model = run.call(lambda: cls(in_features=5, hidden_size=7, num_classes=3), case=case,
                     expr="SimpleMLP(in_features=5, hidden_size=7, num_classes=3)")
    with torch.no_grad():
        run.probe(model, torch.randn(2, 5))  # a starter's forward: "not implemented" first
    linears = _in_order(_linears(model), lambda m: (m.in_features, m.out_features),
                        [(5, 7), (7, 3)])
    if _layer_sizes(linears) != [(5, 7), (7, 3)]:
        run.fail(case, "two nn.Linear layers, 5 -> 7 and 7 -> 3",
                 f"nn.Linear layers {_layer_sizes(linears)}" if linears else "no nn.Linear layer",
                 "fc1 = nn.Linear(in_features, hidden_size) and "
                 "fc2 = nn.Linear(hidden_size, num_classes).")
    run.ok()
    named = [getattr(model, name, None) for name in ("fc1", "fc2")]
    if [id(m) for m in named] != [id(m) for m in linears]:
        run.fail(case, "the layers as attributes fc1 (5 -> 7) and fc2 (7 -> 3)",
                 f"fc1 = {_describe(named[0])}, fc2 = {_describe(named[1])}",
                 "name the layers as the task does: self.fc1 = nn.Linear(...), "
                 "self.relu = nn.ReLU(), self.fc2 = nn.Linear(...); the chapter reads "
                 "model.fc1 and model.fc2.")
    run.ok()
    n_params = sum(p.numel() for p in model.parameters())
    if n_params != 6 * 7 + 8 * 3:
        run.fail(case, f"{6 * 7 + 8 * 3} parameters (two Linear layers with biases)",
                 f"{n_params} parameters", "the model holds only the two Linear layers.")
    run.ok()
    fc1, fc2 = linears
    model.eval()
    for what, x in [("a batch of 8 samples", torch.randn(8, 5)), ("one sample", torch.randn(1, 5))]:
        where = f"{case}; {what}, x of shape {tuple(x.shape)}"
        with torch.no_grad():
            out = _forward_output(run, model, x, (x.shape[0], 3), where)
            hidden = fc1(x)
            want = fc2(torch.relu(hidden))
            if not _tensor_close(out, want):
                if _tensor_close(out, fc2(hidden)):
                    hint = "missing ReLU between the two Linear layers: fc2(relu(fc1(x)))."
                elif _tensor_close(out, torch.softmax(want, dim=1)):
                    hint = ("return the logits, without a softmax: cross_entropy applies it "
                            "inside the loss.")
                elif _tensor_close(out, torch.relu(want)):
                    hint = "no ReLU after the last layer: logits may be negative."
                elif _tensor_close(out, fc2(torch.sigmoid(hidden))):
                    hint = "the hidden activation is a ReLU, not a sigmoid."
                else:
                    hint = "forward computes fc2(relu(fc1(x)))."
                run.fail(where, "fc2(relu(fc1(x))) with the model's own layers",
                         f"logits that differ by up to {float((out - want).abs().max()):.3g}", hint)
        run.ok()
    case = "SimpleMLP(64, 32, 10), the lab's sizes"
    big = run.call(lambda: cls(in_features=64, hidden_size=32, num_classes=10), case=case,
                   expr="SimpleMLP(in_features=64, hidden_size=32, num_classes=10)")
    n_params = sum(p.numel() for p in big.parameters())
    if n_params != 2410:
        run.fail(case, "2410 parameters (65 * 32 + 33 * 10)", f"{n_params} parameters",
                 "use the constructor's arguments for the layer sizes.")
    run.ok()


def _penalty_models() -> list[tuple[str, nn.Module]]:
    """Models with seeded, non-trivial parameters (biases and BatchNorm scales included)."""
    import torch

    from .models import ComplexMLP, SimpleMLP

    models = [
        ("SimpleMLP(4, 3, 2) with random weights and biases", SimpleMLP(4, 3, 2)),
        ("ComplexMLP(4, (3,), 2), whose BatchNorm has a scale and a shift, all random",
         ComplexMLP(4, (3,), 2)),
    ]
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _, model in models:
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
    return models


def _penalty_body(run: _Run, func: Callable, kind: str) -> None:
    import torch

    from .training import weight_penalty

    for case, model in _penalty_models():
        before = [p.detach().clone() for p in model.parameters()]
        out = run.call(func, model, case=case, expr=f"{kind}_penalty(model)")
        weights = [p for p in model.parameters() if p.ndim >= 2]
        named = [p for n, p in model.named_parameters() if n.endswith("weight")]
        others = [p for p in model.parameters()]

        def total(params: list, how: str) -> float:
            vals = [p.detach().double() for p in params]
            if how == "l1":
                return float(sum(v.abs().sum() for v in vals))
            if how == "l2":
                return float(sum(v.square().sum() for v in vals))
            if how == "sum":
                return float(sum(v.sum() for v in vals))
            if how == "norms":
                return float(sum(v.square().sum().sqrt() for v in vals))
            if how == "mean_abs":
                return float(sum(v.abs().mean() for v in vals))
            return float(sum(v.square().mean() for v in vals))

        want = total(weights, kind)
        if not isinstance(out, torch.Tensor):
            hint = (
                "return a tensor, not a Python number: .item() or float() cut the graph, "
                "so the penalty would not change the gradients."
                if isinstance(out, (float, int)) else "return a scalar tensor."
            )
            run.fail(case, "a scalar tensor", _describe(out), hint)
        if out.numel() != 1:
            run.fail(case, "a scalar tensor (one number)", _describe(out),
                     "add the sums of all weight matrices into one number.")
        run.ok()
        got = float(out.detach())
        if not math.isclose(got, want, rel_tol=TORCH_RTOL):
            alternatives = [
                (total(others, kind), "the biases were included: penalize the weight matrices "
                 "only (parameters with p.ndim >= 2); biases and BatchNorm's scale and shift are "
                 "left out."),
                (total(named, kind), "BatchNorm's weight is a vector of scales, not a weight "
                 "matrix: select the parameters with p.ndim >= 2, not by name."),
            ]
            if kind == "l1":
                alternatives += [
                    (total(weights, "sum"), "take the absolute value: sum of |w|, not of w."),
                    (total(weights, "l2"), "that is the L2 penalty (squares); L1 sums |w|."),
                    (total(weights, "mean_abs"), "sum over the entries, not the mean."),
                ]
            else:
                alternatives += [
                    (total(weights, "norms"), "the L2 penalty is the sum of squares, without the "
                     "square root that torch.norm takes."),
                    (math.sqrt(want), "the L2 penalty is the sum of squares, without a square root."),
                    (total(weights, "l1"),
                     "that is the L1 penalty (absolute values); L2 sums w ** 2."),
                    (0.5 * want, "no factor 1/2: the penalty is the plain sum of w ** 2."),
                    (total(weights, "mean_sq"), "sum over the entries, not the mean."),
                ]
            hint = next((t for v, t in alternatives if math.isclose(got, v, rel_tol=TORCH_RTOL)),
                        None)
            run.fail(case, f"{kind}_penalty(model) = {want:.6g}, "
                     f"labcode's weight_penalty(model, {kind}=1.0)", f"{got:.6g}", hint)
        run.ok()
        if not out.requires_grad:
            run.fail(case, "a penalty that gradients flow through (requires_grad=True)",
                     "a tensor without a gradient",
                     "compute it from the parameters themselves, without .detach(), .item() "
                     "or torch.no_grad().")
        model.zero_grad()
        run.call(lambda: out.sum().backward(), case=case, expr="penalty.backward()")
        ref = weight_penalty(model, **{kind: 1.0})
        ref_grads = torch.autograd.grad(ref, list(model.parameters()), allow_unused=True)
        for (name, p), g_ref in zip(model.named_parameters(), ref_grads):
            g_ref = torch.zeros_like(p) if g_ref is None else g_ref
            g = torch.zeros_like(p) if p.grad is None else p.grad
            if not _tensor_close(g, g_ref):
                run.fail(case, f"the gradient of the penalty with respect to {name} equal to "
                         "labcode's", f"a gradient that differs by up to "
                         f"{float((g - g_ref).abs().max()):.3g}", None)
        model.zero_grad()
        run.ok()
        for p, b in zip(model.parameters(), before):
            if not torch.equal(p.detach(), b):
                run.fail(case, "the model's parameters left as they were",
                         "parameters changed by your code",
                         "the penalty only reads the parameters; do not modify them.")
        run.ok()


def check_l1_penalty(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``l1_penalty(model)``: the sum of ``|w|`` over the weight matrices.

    Runs it on a :class:`labcode.models.SimpleMLP` and a
    :class:`labcode.models.ComplexMLP` whose parameters (biases and BatchNorm scales
    too) are random; compares the value and its gradient with
    ``labcode.training.weight_penalty(model, l1=1.0)``, which leaves biases and
    BatchNorm's parameters out, and checks that the model is left unchanged.

    Parameters
    ----------
    func : callable
        The student's ``l1_penalty``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("l1_penalty", func, lambda run, f: _penalty_body(run, f, "l1"),
                verbose=verbose, torch_rng=True)


def check_l2_penalty(func: Callable, *, verbose: bool = True) -> Verdict:
    """Check ``l2_penalty(model)``: the sum of ``w ** 2`` over the weight matrices.

    As :func:`check_l1_penalty`, against ``labcode.training.weight_penalty(model,
    l2=1.0)``.

    Parameters
    ----------
    func : callable
        The student's ``l2_penalty``.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``func`` is not callable.
    """
    return _run("l2_penalty", func, lambda run, f: _penalty_body(run, f, "l2"),
                verbose=verbose, torch_rng=True)


def check_complex_mlp(cls: type, *, verbose: bool = True) -> Verdict:
    """Check ``class ComplexMLP(nn.Module)``: hidden blocks of Linear, BatchNorm1d, ReLU, Dropout.

    Builds ``cls(in_features=6, hidden_sizes=(8, 5), num_classes=3, dropout=0.5)`` and
    ``cls(in_features=6, hidden_sizes=[4], num_classes=3, dropout=0.0)``. Checks the
    Linear and BatchNorm1d layers; in evaluation mode, with random BatchNorm statistics,
    that the output equals the blocks computed from the model's own layers in the order
    Linear, BatchNorm1d, ReLU (Dropout passes everything through) and a last Linear; in
    training mode that Dropout makes two passes differ (and, with ``dropout=0``, not);
    and that the model keeps its four arguments as attributes and has the reference's
    number of parameters (the chapter reads both).
    Reference: :class:`labcode.models.ComplexMLP`.

    Parameters
    ----------
    cls : type
        The student's model class.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict

    Raises
    ------
    TypeError
        If ``cls`` is not a class.
    """
    return _run("ComplexMLP", cls, _complex_mlp_body, verbose=verbose, kind="class",
                torch_rng=True)


def _complex_mlp_body(run: _Run, cls: type) -> None:
    import torch
    from torch import nn

    from .models import ComplexMLP

    _module_check(run, cls, "ComplexMLP(in_features=6, hidden_sizes=(8, 5), num_classes=3, dropout=0.5)")
    for hidden, p in [((8, 5), 0.5), ([4], 0.0)]:
        expr = f"ComplexMLP(in_features=6, hidden_sizes={hidden!r}, num_classes=3, dropout={p})"
        case = expr
        model = run.call(lambda: cls(in_features=6, hidden_sizes=hidden, num_classes=3, dropout=p),
                         case=case, expr=expr)
        with torch.no_grad():
            run.probe(model.eval(), torch.randn(4, 6))  # a starter: "not implemented" first
        sizes = [6, *hidden, 3]
        want_linears = list(zip(sizes[:-1], sizes[1:]))
        linears = _in_order(_linears(model), lambda m: (m.in_features, m.out_features),
                            want_linears)
        if _layer_sizes(linears) != want_linears:
            run.fail(case, f"nn.Linear layers {want_linears}, one per hidden block and one "
                     "for the output", f"nn.Linear layers {_layer_sizes(linears)}",
                     "build one block per entry of hidden_sizes, each starting with "
                     "nn.Linear(n_in, n_out), then nn.Linear(hidden_sizes[-1], num_classes).")
        run.ok()
        norms = _in_order([m for m in model.modules() if isinstance(m, nn.BatchNorm1d)],
                          lambda m: m.num_features, list(hidden))
        if [m.num_features for m in norms] != list(hidden):
            found = [m.num_features for m in norms]
            hint = ("Linear without BatchNorm: each hidden block needs nn.BatchNorm1d(n_out) "
                    "right after its Linear." if not norms else
                    "one nn.BatchNorm1d(n_out) per hidden block, sized like its Linear's output.")
            run.fail(case, f"nn.BatchNorm1d layers with {list(hidden)} features",
                     f"BatchNorm layers with {found} features" if norms else "no BatchNorm layer",
                     hint)
        run.ok()
        drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
        if any(not math.isclose(m.p, p) for m in drops):
            run.fail(case, f"Dropout with p = {p}", f"Dropout with p = {[m.p for m in drops]}",
                     "pass the constructor's dropout argument: nn.Dropout(dropout).")
        run.ok()
        # evaluation mode: random running statistics, so BatchNorm's place in the block shows
        with torch.no_grad():
            for m in norms:
                for name, values in [("running_mean", torch.randn(m.num_features)),
                                     ("running_var", torch.rand(m.num_features) + 0.5),
                                     ("weight", torch.randn(m.num_features)),
                                     ("bias", torch.randn(m.num_features))]:
                    if getattr(m, name, None) is not None:
                        getattr(m, name).copy_(values)
        x = torch.randn(7, 6)
        model.eval()
        where = f"{case}; evaluation mode, x of shape (7, 6)"
        with torch.no_grad():
            out = _forward_output(run, model, x, (7, 3), where)
            again = _forward_output(run, model, x, (7, 3), where)
            if not torch.equal(out, again):
                run.fail(where, "the same output twice in evaluation mode",
                         "two different outputs",
                         "use nn.Dropout (or F.dropout(h, p, training=self.training)), which "
                         "passes everything through after model.eval().")

            def blocks(order: str) -> torch.Tensor:
                h = x
                for lin, bn in zip(linears[:-1], norms):
                    h = lin(h)
                    if order == "right":
                        h = torch.relu(bn(h))
                    elif order == "relu_first":
                        h = bn(torch.relu(h))
                    elif order == "no_relu":
                        h = bn(h)
                return linears[-1](h)

            want = blocks("right")
            if not _tensor_close(out, want):
                if _tensor_close(out, blocks("relu_first")):
                    hint = "the order in each block is Linear, BatchNorm1d, ReLU, Dropout."
                elif _tensor_close(out, blocks("no_relu")):
                    hint = "missing ReLU: each hidden block is Linear, BatchNorm1d, ReLU, Dropout."
                elif _tensor_close(out, torch.relu(want)):
                    hint = "no ReLU after the output layer: logits may be negative."
                elif _tensor_close(out, torch.softmax(want, dim=1)):
                    hint = "return the logits, without a softmax: cross_entropy applies it."
                else:
                    hint = ("each hidden block is Linear, BatchNorm1d, ReLU, Dropout, and a last "
                            "Linear gives the logits.")
                run.fail(where, "the blocks Linear, BatchNorm1d, ReLU (Dropout is off) and a last "
                         "Linear, computed with the model's own layers",
                         f"logits that differ by up to {float((out - want).abs().max()):.3g}", hint)
            run.ok()
        model.train()
        where = f"{case}; training mode, x of shape (7, 6)"
        first = _forward_output(run, model, x, (7, 3), where)
        second = _forward_output(run, model, x, (7, 3), where)
        if p > 0 and torch.equal(first, second):
            run.fail(where, f"two different outputs (Dropout with p = {p} is on in training mode)",
                     "the same output twice",
                     "end each hidden block with nn.Dropout(dropout).")
        if p == 0 and not torch.equal(first, second):
            run.fail(where, "the same output twice (dropout = 0)", "two different outputs",
                     "with dropout = 0 nothing is random: use nn.Dropout(dropout).")
        run.ok()
    # what the chapter reads from the model: the arguments, and the parameter count
    hidden, p = (8, 5), 0.5
    case = f"ComplexMLP(in_features=6, hidden_sizes={hidden!r}, num_classes=3, dropout={p})"
    model = run.call(lambda: cls(in_features=6, hidden_sizes=hidden, num_classes=3, dropout=p),
                     case=case, expr=case)
    stored = {name: getattr(model, name, None)
              for name in ("in_features", "hidden_sizes", "num_classes", "dropout")}
    want_stored = {"in_features": 6, "hidden_sizes": tuple(hidden), "num_classes": 3,
                   "dropout": p}
    got = dict(stored, hidden_sizes=tuple(stored["hidden_sizes"])
               if isinstance(stored["hidden_sizes"], (list, tuple)) else stored["hidden_sizes"])
    if got != want_stored:
        run.fail(case, f"the arguments kept as attributes: {want_stored}", f"{got}",
                 "keep the lines of the starter that store in_features, "
                 "tuple(hidden_sizes), num_classes and dropout on self; the chapter reads them.")
    run.ok()
    n_params = sum(q.numel() for q in model.parameters())
    want_params = sum(q.numel() for q in ComplexMLP(
        in_features=6, hidden_sizes=tuple(hidden), num_classes=3, dropout=p).parameters())
    if n_params != want_params:
        run.fail(case, f"{want_params} parameters (Linear layers with biases, BatchNorm "
                 "with its scale and shift)", f"{n_params} parameters",
                 "keep the Linear layers' biases and BatchNorm1d's learnable scale and "
                 "shift (the defaults), and add no other layers.")
    run.ok()

