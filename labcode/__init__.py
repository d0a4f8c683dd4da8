"""labcode: the code behind the course book *Neural networks from first principles*.

Every implementation the book runs lives here; the chapters import it and call it.

Modules
-------
data
    Step 1: the digits split, ``add_bias``, ``one_hot``.
plots
    Every figure the book shows (``ax=None`` in, axes out).
provenance
    Source fingerprint and library versions.
"""

from importlib import metadata as _metadata

from . import data, plots, provenance
from .data import DigitsSplit, Partition, add_bias, load_digits_split, one_hot

try:
    __version__ = _metadata.version("labcode")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "data",
    "plots",
    "provenance",
    "DigitsSplit",
    "Partition",
    "add_bias",
    "load_digits_split",
    "one_hot",
]
