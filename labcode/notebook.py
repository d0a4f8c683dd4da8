"""Helpers for running the book's chapters as plain notebooks.

The chapters hand numbers to their prose with myst-nb's ``glue``. A chapter downloaded
from the site as an ``.ipynb`` should also run where only labcode is installed, so the
chapters import :func:`glue` from here: it is myst-nb's own when myst-nb is installed
(the book build), and otherwise a stand-in that keeps the value and shows nothing.
"""

from __future__ import annotations

import io
from typing import Any

from . import _validate

__all__ = ["glue", "sci", "points", "trained_text", "top_mistake_text", "figure_png",
           "smallest_text_pt"]

TEXT_SIZE_KEY = "Smallest text (pt)"
"""The PNG text field in which :func:`figure_png` records the figure's smallest text size;
with the PNG's resolution and the width it is shown at, a reader of the site can tell
how large that text appears (the browser tests require 9 CSS pixels on a phone)."""

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


def _drawn_texts(artist) -> list:
    """The non-empty text artists that drawing ``artist`` draws: invisible artists and
    the axis lines, ticks and labels of an Axes turned off (``ax.axis("off")``) skipped."""
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.spines import Spine
    from matplotlib.text import Text

    if not artist.get_visible():
        return []
    if isinstance(artist, Text):
        return [artist] if artist.get_text().strip() else []
    children = artist.get_children()
    if isinstance(artist, Axes) and not artist.axison:
        children = [c for c in children if not isinstance(c, (Axis, Spine))]
    return [text for child in children for text in _drawn_texts(child)]


def smallest_text_pt(fig) -> float | None:
    """The size in points of the smallest text ``fig`` draws (tick labels, legends,
    titles, annotations), or None for a figure without text.

    The figure is drawn first, since matplotlib makes tick labels when it draws.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    fig.canvas.draw()
    sizes = [text.get_fontsize() for text in _drawn_texts(fig)]
    return min(sizes) if sizes else None


def figure_png(fig) -> bytes:
    """``fig`` as Jupyter's inline backend shows it (a PNG at the figure's resolution,
    cropped to what is drawn), with its smallest text size in the PNG's
    ``TEXT_SIZE_KEY`` field."""
    smallest = smallest_text_pt(fig)
    metadata = {TEXT_SIZE_KEY: "none" if smallest is None else f"{smallest:g}"}
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight", metadata=metadata)
    return buffer.getvalue()


def _show_figures_with_their_text_size() -> None:
    """In a Jupyter kernel with the inline backend, show every matplotlib figure with
    :func:`figure_png`, so each figure of the book carries its smallest text size."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    import matplotlib

    if "inline" not in matplotlib.get_backend():
        return
    # the inline backend registers its own PNG formatter when its module is first
    # imported (pyplot does that at the first figure): importing it here first, ours is
    # registered after it, so ours is the one used
    import matplotlib_inline.backend_inline  # noqa: F401
    from matplotlib.figure import Figure

    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


_show_figures_with_their_text_size()


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


def top_mistake_text(counts: object) -> str:
    """The sentence a page writes about the largest off-diagonal count of a confusion
    matrix ``counts`` (rows the true class, columns the predicted one), true of ties.

    ``"The most frequent mistake is the true class 4 predicted as 9 (3 times)."`` when
    one cell holds the largest count; when several do, the sentence says so and names
    them all; ``"There is no mistake."`` for a diagonal matrix.
    """
    import numpy as np

    cm = np.asarray(counts)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 2:
        raise ValueError(f"counts must be a square matrix of at least 2 classes, got shape {cm.shape}")
    if not np.issubdtype(cm.dtype, np.integer) or (cm < 0).any():
        raise ValueError("counts must hold non-negative whole numbers")
    off = cm.copy()
    np.fill_diagonal(off, 0)
    top = int(off.max())
    if top == 0:
        return "There is no mistake."
    tied = [(int(t), int(p)) for t, p in zip(*np.nonzero(off == top))]
    times = "once" if top == 1 else f"{top} times"
    if len(tied) == 1:
        (t, p), = tied
        return f"The most frequent mistake is the true class {t} predicted as {p} ({times})."
    pairs = [f"{t} → {p}" for t, p in tied]
    return (f"No single mistake stands out: {len(tied)} confusions (true → predicted) occur "
            f"{times} each, the most of any: " + ", ".join(pairs[:-1]) + f" and {pairs[-1]}.")
