"""Where a result came from: the package's source fingerprint and library versions."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

__all__ = ["PACKAGE_DIR", "source_fingerprint", "library_versions"]

PACKAGE_DIR = Path(__file__).resolve().parent
"""The folder that holds labcode's source files."""


def source_fingerprint(package_dir: Path | str = PACKAGE_DIR) -> str:
    """Hash of every ``.py`` file in the package, names and contents.

    Any edit to labcode's source changes the fingerprint; the book build uses it
    to re-execute chapters whose cached outputs came from older code.

    Parameters
    ----------
    package_dir : path, default the installed labcode folder
        Folder to fingerprint, searched recursively.

    Returns
    -------
    str
        The first 16 hex digits of a SHA-256 over the sorted files.
    """
    root = Path(package_dir)
    if not root.is_dir():
        raise ValueError(f"package_dir must be an existing folder, got {str(root)!r}")
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Versions of labcode and of the libraries its results depend on.

    Returns
    -------
    dict of str to str
        Keys ``labcode``, ``numpy``, ``scikit-learn``, ``torch``, ``matplotlib``;
        ``"not installed"`` for a missing one.
    """
    out = {}
    for name in ("labcode", "numpy", "scikit-learn", "torch", "matplotlib"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
