"""Shared fixtures: building the book (the real one, or a small one made for a test)."""

from __future__ import annotations

import functools
import importlib.util
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
    build = build_book(REPO, *STRICT, out=out, env={"LABCODE_RUN_CACHE": str(run_cache)})
    if build.returncode == 0:  # and its PDF, which the intro links to, as make book does
        book_pdf().book_pdf(build.html, build.html / "book.pdf")
    return build


@functools.cache
def book_pdf():
    """The module book/_ext/book_pdf.py, which prints the built site into one PDF."""
    spec = importlib.util.spec_from_file_location("book_pdf", REPO / "book" / "_ext" / "book_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- make test runs on two workers (pytest-xdist, --dist loadgroup) -------------------------
# Every test that reads the session's book build runs on one worker, so the book is built
# and executed once per session; the other tests, the kernel matrix among them, run on the
# other worker meanwhile. Tests sharing another costly fixture stay together too, so that
# it is made once, not once per worker.
BOOK_FIXTURES = frozenset({"built_book", "run_cache"})
SHARED_FIXTURES = {"graded": "graded", "lab_trials": "lab_trials"}


def pytest_itemcollected(item):
    # marked as each test is collected, before xdist names the groups from the markers
    names = set(getattr(item, "fixturenames", ()))
    if BOOK_FIXTURES & names:
        item.add_marker(pytest.mark.xdist_group("book"))
        item.add_marker(pytest.mark.book)  # make test-fast leaves them out
    else:
        for fixture, group in SHARED_FIXTURES.items():
            if fixture in names:
                item.add_marker(pytest.mark.xdist_group(group))
                break


# What a test hands to the end of the run (for example the kernel matrix's report), as a
# user property named "report": printed in the terminal summary, from any worker.
_REPORTS: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _REPORTS.extend((report.nodeid, text) for key, text in report.user_properties
                        if key == "report")


def pytest_terminal_summary(terminalreporter):
    for nodeid, text in _REPORTS:
        terminalreporter.section(nodeid.split("::")[-1])
        terminalreporter.write(text if text.endswith("\n") else text + "\n")


@pytest.fixture(scope="session")
def book_build_dir(built_book) -> Path:
    """The session build's ``_build`` folder: the site, the executed chapters, and
    ``notebook_refs.json``, from which the notebooks' Markdown is written."""
    assert built_book.returncode == 0, built_book.output[-5000:]
    return built_book.html.parent


@pytest.fixture(scope="session")
def launch_runs(built_book, run_cache, tmp_path_factory) -> dict:
    """Every committed launch notebook (``book/<chapter>.ipynb``, the student edition with
    the install cell first) run once, top to bottom, in a fresh kernel and an empty folder.

    Keyed by the notebook's path in the repository. The studies read the session build's
    runs (``LABCODE_RUN_CACHE``) instead of training them again. The launch-link tests and
    the student-edition tests read these runs; nothing executes the notebooks twice.
    """
    import nbformat
    from nbclient import NotebookClient

    assert built_book.returncode == 0, built_book.output[-5000:]
    kernel_env = {**os.environ, "LABCODE_RUN_CACHE": str(run_cache)}
    runs = {}
    for path in sorted((REPO / "book").glob("*.ipynb")):
        folder = tmp_path_factory.mktemp(path.stem)
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute(env=kernel_env)
        runs[path.relative_to(REPO).as_posix()] = notebook
    return runs
