"""The book build: clean and strict, and failing loudly when a chapter is broken."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from conftest import MINI_FRONT_MATTER, REPO, STRICT, build_book, make_mini_book

pytestmark = pytest.mark.book


def _toc_pages() -> list[str]:
    names = re.findall(r"file:\s*(\S+)", (REPO / "_toc.yml").read_text())
    root = re.search(r"^root:\s*(\S+)", (REPO / "_toc.yml").read_text(), re.M).group(1)
    return [root, *names]


def test_clean_strict_build_has_no_warnings(built_book):
    assert built_book.returncode == 0, built_book.output[-5000:]
    # Sphinx's warnings read "WARNING: ..." (the kernel's own log lines use "WARNING |")
    assert re.findall(r"^.*WARNING: .*$", built_book.output, re.M) == []
    assert "build succeeded" in built_book.output
    for page in _toc_pages():
        assert (built_book.html / f"{page}.html").is_file(), page


def test_every_chapter_with_code_was_executed(built_book):
    assert built_book.returncode == 0, built_book.output[-5000:]
    for page in _toc_pages():
        source = (REPO / f"{page}.md").read_text()
        if "{code-cell}" not in source:
            continue
        html = (built_book.html / f"{page}.html").read_text(encoding="utf8")
        assert "cell_output" in html, f"{page} shows no cell output"
        assert "Executing notebook" in built_book.output


def test_data_chapter_quotes_glued_counts(built_book):
    html = built_book.page("data")
    # the counts come from load_digits_split(seed=0); see tests/test_data.py
    for text in ("1797", "1077", "360"):
        assert text in html
    assert "<img" in html


def test_numpy_network_chapter_quotes_the_accuracies_labcode_computes(built_book):
    from labcode.data import load_digits_split, one_hot
    from labcode.engine.setups import HIDDEN_SETUP, LAB_SETUP

    html = built_book.page("numpy_network")
    split = load_digits_split(seed=0)
    for setup in (LAB_SETUP, HIDDEN_SETUP):
        net = setup.build()
        net.fit(split.train.X, one_hot(split.train.y), lr=setup.lr, epochs=setup.epochs)
        # glued as {glue:text}`..._test_acc:.1%`; tests/test_numpy_net.py asserts the bands
        assert f"{net.accuracy(split.test.X, split.test.y):.1%}" in html
    assert html.count("<img") >= 5  # loss curves, confusion matrix, misclassified digits
    assert "Step 3: the backward pass" in html


def test_a_raising_cell_fails_the_build(tmp_path):
    chapter = MINI_FRONT_MATTER + "# Broken\n\n```{code-cell} ipython3\nraise RuntimeError('boom 42')\n```\n"
    root = make_mini_book(tmp_path / "b", {"broken": chapter})
    # even without -W: raise_on_error stops the build
    result = build_book(root)
    assert result.returncode != 0
    assert "boom 42" in result.output or "CellExecutionError" in result.output


def test_a_chapter_that_did_not_execute_fails_the_build(tmp_path):
    # only a kernelspec, no 'file_format: mystnb': myst-nb would render the code unexecuted
    front = "---\nkernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n"
    chapter = front + "# Silent\n\n```{code-cell} ipython3\nprint('never runs')\n```\n"
    root = make_mini_book(tmp_path / "b", {"silent": chapter})
    strict = build_book(root, *STRICT)
    assert strict.returncode != 0
    shutil.rmtree(root / "_build")
    # the guard in book/_ext fails it without -W as well, naming the chapter
    lenient = build_book(root)
    assert lenient.returncode != 0
    assert "chapter 'book/silent' has code cells that were not executed" in lenient.output


def test_a_change_to_labcode_re_executes_chapters_that_import_it(tmp_path):
    # A private copy of labcode, found first through PYTHONPATH by Sphinx and the kernel.
    src = tmp_path / "src"
    shutil.copytree(REPO / "labcode", src / "labcode", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(src)}
    uses = MINI_FRONT_MATTER + (
        "# Uses labcode\n\n```{code-cell} ipython3\nimport labcode.data\n"
        "print('marker', getattr(labcode.data, 'MARKER', 'none'))\n```\n"
    )
    plain = MINI_FRONT_MATTER + "# Plain\n\n```{code-cell} ipython3\nprint('plain', 6 * 7)\n```\n"
    root = make_mini_book(tmp_path / "b", {"uses": uses, "plain": plain})

    first = build_book(root, *STRICT, env=env)
    assert first.returncode == 0, first.output[-3000:]
    assert "marker none" in first.page("uses")
    assert first.output.count("Executing notebook") == 2

    unchanged = build_book(root, *STRICT, env=env)
    assert unchanged.returncode == 0, unchanged.output[-3000:]
    assert "Executing notebook" not in unchanged.output

    with open(src / "labcode" / "data.py", "a") as fh:
        fh.write("\nMARKER = 'new code'\n")
    changed = build_book(root, *STRICT, env=env)
    assert changed.returncode == 0, changed.output[-3000:]
    # only the chapter that imports labcode ran again, and it shows the new code's output
    assert changed.output.count("Executing notebook") == 1
    assert "marker new code" in changed.page("uses")
    assert "labcode source changed" in changed.output

    again = build_book(root, *STRICT, env=env)
    assert "Executing notebook" not in again.output


def test_the_book_tests_share_one_worker(request, run_cache):
    """Under make test (pytest-xdist, --dist loadgroup) every test that reads the session's
    build is in one group, so the book is built and executed once, not once per worker."""
    if not (os.environ.get("PYTEST_XDIST_WORKER") and request.config.getvalue("loadgroup")):
        pytest.skip("runs under make test: pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@book"), request.node.nodeid


def test_the_hand_written_loops_agree_exactly_with_labcode_fit(built_book):
    # the sentences of pytorch_mlp (Step 3) and complex_mlp (Step 10) glue "the two agree
    # exactly" only when the loop of train_epoch (and evaluate) gives fit's numbers bit for bit
    import re

    for page in ("pytorch_mlp", "complex_mlp"):
        text = re.sub(r"<[^>]+>", "", built_book.page(page))
        assert "the two agree exactly" in text, page
        assert "the largest difference between the two" not in text, page
