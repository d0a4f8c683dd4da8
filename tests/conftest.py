"""Shared fixtures: building the book (the real one, or a small one made for a test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
STRICT = ("-W", "-n", "--keep-going")

MINI_FRONT_MATTER = """---
file_format: mystnb
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


@dataclass
class Build:
    """The result of one ``jupyter-book build``."""

    returncode: int
    output: str
    html: Path

    def page(self, name: str) -> str:
        return (self.html / "book" / f"{name}.html").read_text(encoding="utf8")


def build_book(root: Path, *args: str, out: Path | None = None, env: dict | None = None) -> Build:
    """Run ``jupyter-book build root`` and return its exit code, output and html folder."""
    cmd = [str(JUPYTER_BOOK), "build", str(root), *args]
    if out is not None:
        cmd += ["--path-output", str(out)]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=full_env, timeout=1800, check=False
    )
    html = (out if out is not None else root) / "_build" / "html"
    return Build(proc.returncode, proc.stdout + proc.stderr, html)


def make_mini_book(root: Path, chapters: dict[str, str]) -> Path:
    """Write a small book with the project's configuration and the given chapters.

    ``chapters`` maps a chapter name to its MyST source; ``book/intro.md`` is added.
    """
    (root / "book").mkdir(parents=True)
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    shutil.copytree(REPO / "book" / "_ext", root / "book" / "_ext",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "book" / "references.bib", root / "book" / "references.bib")
    (root / "book" / "intro.md").write_text("# A small book\n\nFor a test.\n")
    toc = "format: jb-book\nroot: book/intro\nchapters:\n"
    for name, source in chapters.items():
        (root / "book" / f"{name}.md").write_text(source)
        toc += f"  - file: book/{name}\n"
    (root / "_toc.yml").write_text(toc)
    return root


@pytest.fixture(scope="session")
def run_cache(tmp_path_factory) -> Path:
    """The studies' run cache of the session's book build (``LABCODE_RUN_CACHE``).

    The clean build trains every study's runs and leaves them here; tests that check
    a chapter's claims call :func:`labcode.engine.studies.run_study` with this cache and so
    read exactly the results the chapter shows.
    """
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, run_cache) -> Build:
    """A clean, strict build of the whole book, from empty caches, done once per session."""
    out = tmp_path_factory.mktemp("book")
    return build_book(REPO, *STRICT, out=out, env={"LABCODE_RUN_CACHE": str(run_cache)})
