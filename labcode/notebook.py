"""Helpers for running the book's chapters as plain notebooks.

The chapters hand numbers to their prose with myst-nb's ``glue``. A chapter downloaded
from the site as an ``.ipynb`` should also run where only labcode is installed, so the
chapters import :func:`glue` from here: it is myst-nb's own when myst-nb is installed
(the book build), and otherwise a stand-in that keeps the value and shows nothing.
"""

from __future__ import annotations

from typing import Any

from . import _validate

__all__ = ["glue", "sci", "points", "trained_text"]

try:  # the book build: myst-nb stores the value for {glue:text} roles
    from myst_nb import glue as _myst_glue
except ImportError:  # plain Jupyter without the book's tools
    _myst_glue = None


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Store ``variable`` under ``name`` for the chapter's prose.

    Parameters
    ----------
    name : str
        The key that ``{glue:text}`` roles in the chapter refer to.
    variable : object
        The value.
    display : bool, default True
        Also show the value in the cell's output.

    Notes
    -----
    Without myst-nb, nothing is stored (there is no prose to fill in), and the value
    is shown only when ``display`` is true.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    if _myst_glue is not None:
        _myst_glue(name, variable, display=display)
    elif display:
        from IPython.display import display as show

        show(variable)


def sci(value: float, digits: int = 0) -> str:
    """``value`` in scientific notation as the book writes it: ``sci(1e-5) == "1e-5"``.

    Python's ``f"{1e-5:.0e}"`` gives ``"1e-05"``; the book drops the padding zero of
    the exponent everywhere (prose, tables, labels), so that a number reads the same on
    every page. ``digits`` is the number of digits after the point of the mantissa.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value must be a real number, got {type(value).__name__}")
    _validate.integer(digits, "digits", minimum=0)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def points(a: float, b: float, digits: int = 1) -> float:
    """``a - b`` in percentage points, from ``a`` and ``b`` as the book prints them.

    The prose shows accuracies in percent with ``digits`` decimals (``96.8%``); a gap
    quoted beside them is the difference of those printed values, so that a reader who
    subtracts gets the same number (``points(0.9678, 0.9594) == 0.9``, not 0.84). Whether
    a gap is a tie is decided on the exact values
    (:func:`labcode.engine.findings.tied`).
    """
    for value, name in ((a, "a"), (b, "b")):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return round(round(100 * a, digits) - round(100 * b, digits), digits)


def trained_text(trained: int, total: int) -> str:
    """How many of ``total`` runs a build trained, as the pages say it.

    ``"all 5 were trained"``, ``"none was trained: all 5 were read from the run cache"``
    or ``"2 of the 5 were trained, the others read from the run cache"``.
    """
    _validate.integer(trained, "trained", minimum=0)
    _validate.integer(total, "total", minimum=0)
    if trained > total:
        raise ValueError(f"trained must be at most total, got {trained} of {total}")
    if trained == total:
        return f"all {total} were trained"
    if trained == 0:
        return f"none was trained: all {total} were read from the run cache"
    return f"{trained} of the {total} were trained, the others read from the run cache"
