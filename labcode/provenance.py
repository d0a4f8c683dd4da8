"""Where a result came from: the package's source fingerprint and library versions."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

__all__ = ["PACKAGE_DIR", "source_fingerprint", "library_versions"]

# The folder that holds labcode's source files (not documented as data: its value is a
# path of the machine that built the site).
PACKAGE_DIR = Path(__file__).resolve().parent


def source_fingerprint(package_dir: Path | str | None = None) -> str:
    """Hash of every ``.py`` file in the package, names and contents.

    Any edit to labcode's source changes the fingerprint; the book build uses it
    to re-execute chapters whose cached outputs came from older code.

    Parameters
    ----------
    package_dir : path, optional
        Folder to fingerprint, searched recursively; by default ``PACKAGE_DIR``,
        the installed labcode folder.

    Returns
    -------
    str
        The first 16 hex digits of a SHA-256 over the sorted files.
    """
    package_dir = PACKAGE_DIR if package_dir is None else package_dir
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
