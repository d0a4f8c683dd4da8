"""The launch notebooks (book/<chapter>.ipynb) and Binder's environment (binder/).

book/_ext/launch_notebooks.py writes them (``make notebooks``); these tests check that
the committed files are what it writes now, that the install cell names the right
repository, ref, index and pins, and that Binder pins what the book pins. That the
site's buttons point at these notebooks, and that they run, is checked on the built
site (tests/test_site.py).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import nbformat
import pytest
import yaml

from conftest import REPO

_spec = importlib.util.spec_from_file_location(
    "launch_notebooks", REPO / "book" / "_ext" / "launch_notebooks.py"
)
launch_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(launch_notebooks)

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf8"))
REPOSITORY = CONFIG["repository"]["url"]
BRANCH = CONFIG["repository"]["branch"]
PINS = launch_notebooks.read_pins(REPO / "constraints.txt")


def _chapters_with_code() -> list[str]:
    student_edition = launch_notebooks.student_edition
    return [path.stem for path in student_edition.toc_chapters()
            if student_edition._has_code_cells(path)]


# --- up to date -------------------------------------------------------------------------


MASK = "\u2593"  # where a glued value stands, in notebooks compared up to the numbers


def _same_up_to_glue(text: str, template: str) -> bool:
    pattern = "[^\n]*?".join(re.escape(piece) for piece in template.split(MASK))
    return re.fullmatch(pattern, text, re.DOTALL) is not None


def test_the_committed_notebooks_and_requirements_are_up_to_date(tmp_path, book_build_dir):
    """Fails when a chapter, the setting or the pins changed without `make notebooks`.

    The notebooks' text shows the numbers of the build that wrote them; another CPU's
    kernels may round a few of them differently, so a notebook that differs from this
    build's is still up to date when it differs only in the glued values."""
    refs = launch_notebooks.student_edition.load_refs(book_build_dir)
    written = launch_notebooks.write_launch_notebooks(None, tmp_path / "book",
                                                      tmp_path / "binder", refs)
    templates = launch_notebooks.write_launch_notebooks(None, tmp_path / "masked", None,
                                                        refs.masked(MASK))
    template_of = {path.name: path for path in templates}
    stale = []
    for path in written:
        committed = REPO / path.relative_to(tmp_path)
        if committed.is_file() and committed.read_bytes() == path.read_bytes():
            continue
        if (committed.is_file() and path.suffix == ".ipynb" and _same_up_to_glue(
                committed.read_text(encoding="utf8"),
                template_of[path.name].read_text(encoding="utf8"))):
            continue
        stale.append(str(committed.relative_to(REPO)))
    assert not stale, f"out of date with the chapters, run `make notebooks`: {stale}"
    expected = {f"{stem}.ipynb" for stem in _chapters_with_code()}
    assert {path.name for path in written if path.suffix == ".ipynb"} == expected
    # no notebook left behind by a chapter that was removed or renamed
    assert {path.name for path in (REPO / "book").glob("*.ipynb")} == expected


def test_generation_is_deterministic(tmp_path, book_build_dir):
    refs = launch_notebooks.student_edition.load_refs(book_build_dir)
    first = launch_notebooks.write_launch_notebooks(["data"], tmp_path / "a", None, refs)
    second = launch_notebooks.write_launch_notebooks(["data"], tmp_path / "b", None, refs)
    assert first[0].read_bytes() == second[0].read_bytes()
    notebook = nbformat.read(first[0], as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_a_stale_notebook_is_reported(tmp_path, book_build_dir):
    # the comparison above can fail: a changed chapter gives a different notebook
    chapter = (REPO / "book" / "data.md").read_text(encoding="utf8")
    changed = tmp_path / "data.md"
    changed.write_text(chapter.replace("```{code-cell} ipython3\n", "```{code-cell} ipython3\n# x\n", 1))
    refs = launch_notebooks.student_edition.load_refs(book_build_dir)
    out = launch_notebooks.write_launch_notebooks([changed], tmp_path / "book", None, refs)
    masked = launch_notebooks.write_launch_notebooks([changed], tmp_path / "m", None,
                                                     refs.masked(MASK))
    assert not _same_up_to_glue((REPO / "book" / "data.ipynb").read_text(encoding="utf8"),
                                masked[0].read_text(encoding="utf8"))
    assert out[0].read_bytes() != (REPO / "book" / "data.ipynb").read_bytes()


def test_the_notebooks_are_left_out_of_the_sphinx_build():
    assert "book/**.ipynb" in CONFIG["exclude_patterns"]


# --- the edition setting ----------------------------------------------------------------


def test_the_default_edition_is_the_student_edition():
    assert launch_notebooks.DEFAULT_EDITION == "student"
    assert CONFIG["launch_notebooks"]["edition"] == "student"
    assert launch_notebooks.launch_settings().edition == "student"
    for stem in _chapters_with_code():
        notebook = nbformat.read(REPO / "book" / f"{stem}.ipynb", as_version=4)
        assert notebook.metadata.labcode.edition == "student", stem
        assert not any("solution" in cell.metadata.get("tags", []) for cell in notebook.cells)
        assert "Student edition" in notebook.cells[1].source
        assert "`make notebooks`" in notebook.cells[1].source


def test_the_full_edition_keeps_the_solutions(book_build_dir):
    settings = launch_notebooks.launch_settings()
    settings.edition = "full"
    refs = launch_notebooks.student_edition.load_refs(book_build_dir)
    notebook = launch_notebooks.launch_notebook(REPO / "book" / "pytorch_mlp.md", settings,
                                                refs)
    student = nbformat.read(REPO / "book" / "pytorch_mlp.ipynb", as_version=4)
    assert notebook.metadata.labcode.edition == "full"
    assert notebook.metadata.labcode.checks == student.metadata.labcode.checks
    solutions = [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) == len([c for c in notebook.cells if "starter" in c.metadata.get("tags", [])])
    # each solution a collapsed <details>, its literalinclude the code itself
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert markdown.count("<summary>Solution</summary>") == len(solutions)
    assert "```python\nclass SimpleMLP(nn.Module):" in markdown
    assert not launch_notebooks.student_edition.notebook_markdown.myst_left(markdown)
    assert launch_notebooks.INSTALL_TAG in notebook.cells[0].metadata.tags


@pytest.mark.parametrize("edition", ["teacher", ""])
def test_an_unknown_edition_is_refused(tmp_path, edition):
    for name in ("pyproject.toml", "constraints.txt"):
        (tmp_path / name).write_bytes((REPO / name).read_bytes())
    config = (REPO / "_config.yml").read_text(encoding="utf8")
    assert config.count("  edition: student\n") == 1
    (tmp_path / "_config.yml").write_text(config.replace("  edition: student\n",
                                                         f"  edition: '{edition}'\n"))
    with pytest.raises(ValueError, match="launch_notebooks: edition must be one of"):
        launch_notebooks.launch_settings(tmp_path)


# --- the install cell -------------------------------------------------------------------


def test_every_notebook_starts_with_the_install_cell():
    source = launch_notebooks.install_cell_source(launch_notebooks.launch_settings())
    for stem in _chapters_with_code():
        first = nbformat.read(REPO / "book" / f"{stem}.ipynb", as_version=4).cells[0]
        assert first.cell_type == "code", stem
        assert first.metadata.tags == [launch_notebooks.INSTALL_TAG], stem
        assert first.source == source, stem


def test_the_install_cell_names_the_repository_ref_cpu_index_and_pins():
    source = launch_notebooks.install_cell_source(launch_notebooks.launch_settings())
    code = [line for line in source.splitlines() if not line.lstrip().startswith("#")]
    assert code[:4] == ["try:", "    import labcode", "except ImportError:", "    import importlib"]
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    assert f'REPOSITORY = "{REPOSITORY}"' in source
    assert f'REF = "{BRANCH}"' in source
    assert (f'CONSTRAINTS = "https://raw.githubusercontent.com/{owner_repo}/{BRANCH}'
            '/constraints.txt"') in source
    assert 'TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"' in source
    assert f'pip_install("torch=={PINS["torch"]}", "--index-url", TORCH_CPU_INDEX)' in source
    assert 'pip_install("-c", CONSTRAINTS, f"labcode @ git+{REPOSITORY}@{REF}")' in source
    version = re.search(r'^version = "(.+)"', (REPO / "pyproject.toml").read_text(), re.M)[1]
    assert f"labcode {version}" in source
    compile(source, "install-cell", "exec")


def test_the_install_cell_runs_pip_only_where_labcode_is_missing(monkeypatch, capsys):
    import labcode

    source = launch_notebooks.install_cell_source(launch_notebooks.launch_settings())
    calls = []

    def fake_run(command, check):
        assert check is True
        calls.append(command)
        if len(calls) == 2:  # labcode is "installed": importable again
            sys.modules["labcode"] = labcode

    monkeypatch.setattr(subprocess, "run", fake_run)
    exec(source, {})  # labcode is importable here: nothing to install
    assert calls == []
    assert capsys.readouterr().out.startswith("labcode ")

    monkeypatch.setitem(sys.modules, "labcode", None)  # `import labcode` raises ImportError
    exec(source, {})
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    assert calls == [
        [*pip, f"torch=={PINS['torch']}", "--index-url", "https://download.pytorch.org/whl/cpu"],
        [*pip, "-c", launch_notebooks.launch_settings().constraints_url,
         f"labcode @ git+{REPOSITORY}@{BRANCH}"],
    ]
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("labcode ")
    assert "Restart the runtime" in out  # numpy and torch were imported before pip ran


# --- Binder -----------------------------------------------------------------------------


def _binder_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "binder" / "requirements.txt").read_text(encoding="utf8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("--"):
            name, version = line.split("==")
            pins[launch_notebooks.normalize(name)] = version
    return pins


def test_binder_pins_exactly_what_the_book_pins():
    binder = _binder_pins()
    assert {"numpy", "torch", "scikit-learn", "matplotlib", "pandas", "tqdm"} <= set(binder)
    for name, version in binder.items():
        assert name in PINS, f"binder/requirements.txt pins {name}, constraints.txt does not"
        expected = PINS[name] + ("+cpu" if name == "torch" else "")
        assert version == expected, (name, version, PINS[name])
    # everything labcode needs at run time is pinned, in both files
    assert set(launch_notebooks.runtime_packages()) == set(binder)
    requirements = (REPO / "binder" / "requirements.txt").read_text(encoding="utf8")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu\n" in requirements


def test_binder_installs_labcode_and_the_books_python():
    post_build = REPO / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    assert "python -m pip install --no-deps -e ." in post_build.read_text(encoding="utf8")
    runtime = (REPO / "binder" / "runtime.txt").read_text(encoding="utf8").strip()
    requires = re.search(r'^requires-python = ">=(\d+\.\d+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert runtime == f"python-{requires[1]}"
    assert "Python 3.11" in (REPO / "constraints.txt").read_text(encoding="utf8")


def test_the_script_writes_notebooks_and_exits_2_on_a_bad_chapter(tmp_path, book_build_dir):
    script = REPO / "book" / "_ext" / "launch_notebooks.py"
    ok = subprocess.run(
        [sys.executable, str(script), "--build", str(book_build_dir), "--out",
         str(tmp_path / "nb"), "--binder", str(tmp_path / "binder"), "data"],
        capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    refs = launch_notebooks.student_edition.load_refs(book_build_dir)
    (expected,) = launch_notebooks.write_launch_notebooks(["data"], tmp_path / "e", None, refs)
    assert (tmp_path / "nb" / "data.ipynb").read_bytes() == expected.read_bytes()
    bad = subprocess.run(
        [sys.executable, str(script), "--build", str(book_build_dir), "--out",
         str(tmp_path / "nb2"), str(tmp_path / "none.md")],
        capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("launch notebooks: error: chapter file not found")
    assert not (tmp_path / "nb2").exists()
