"""The student edition (book/_ext/student_edition.py): chapters as notebooks without solutions."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

import labcode.checks

from conftest import MINI_FRONT_MATTER, REPO

SCRIPT = REPO / "book" / "_ext" / "student_edition.py"

_spec = importlib.util.spec_from_file_location("student_edition", SCRIPT)
student_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_edition)

FENCE = "```"
SOLUTION_BLOCK = re.compile(r"^\s*(:{3,}|`{3,}|~{3,})\s*\{solution\}", re.MULTILINE)
# a call of one of labcode.checks' checkers (not check_all, and not other check_* helpers
# the chapters call, such as labcode.engine.findings.check_claims)
CHECKER_CALL = re.compile(
    r"\b(%s)\s*\("
    % "|".join(n for n in labcode.checks.__all__ if n.startswith("check_") and n != "check_all")
)

# a figure handed to the page (``{glue:figure}``); the page hides the cell's own output
FIGURE_GLUE = re.compile(r'glue\(\s*"fig[^"]*",')

STARTER = f"""{FENCE}{{code-cell}} ipython3
:tags: [starter]
def double(x):
    \"\"\"Return 2 * x.\"\"\"
    # TODO: double x
    raise NotImplementedError
{FENCE}
"""

SOLUTION_CELL = f"""{FENCE}{{code-cell}} ipython3
:tags: [solution, remove-cell]
from mathlib import double  # the reference solution
{FENCE}
"""

SOLUTION_DROPDOWN = f""":::::{{solution}} ex-double
:class: dropdown

The reference, which the rest of this chapter uses:

{FENCE}{{literalinclude}} ../mathlib.py
:pyobject: double
{FENCE}
:::::
"""

CHAPTER = f"""{MINI_FRONT_MATTER}
# Doubling

Some theory first.

:::{{exercise}}
:label: ex-double

Write `double(x)`. Fill in the starter cell below, run it, then run the check.
:::

{STARTER}
{SOLUTION_CELL}
{SOLUTION_DROPDOWN}
Text after the solution, in the same cell.

{FENCE}{{code-cell}} ipython3
double = check_double(double).use()
{FENCE}

## A plain step

{FENCE}{{code-cell}} ipython3
print(double(21))
{FENCE}
"""


def write_chapter(tmp_path: Path, text: str, name: str = "doubling") -> Path:
    path = tmp_path / "book" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf8")
    return path


# a made-up build for the small chapters of these tests: they glue and reference nothing
REFS = student_edition.Refs(base_url="https://example.org/site/")
_REFS_DIR = tempfile.TemporaryDirectory(prefix="refs-")
REFS.dump(Path(_REFS_DIR.name) / student_edition.notebook_markdown.REFS_FILE)


def run_script(*args: str) -> subprocess.CompletedProcess:
    """The script on ``args``; on the made-up build unless ``--build`` is among them."""
    build = [] if "--build" in args else ["--build", _REFS_DIR.name]
    return subprocess.run(
        [sys.executable, str(SCRIPT), *build, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


MASK = "\u2593"  # where a glued value stands, in notebooks compared up to the numbers


def same_up_to_glue(text: str, template: str) -> bool:
    """Whether ``text`` is ``template`` with each :data:`MASK` replaced by some value."""
    pattern = "[^\n]*?".join(re.escape(piece) for piece in template.split(MASK))
    return re.fullmatch(pattern, text, re.DOTALL) is not None


def launch_notebook(stem: str):
    """The committed launch notebook of a chapter (the student edition, install cell first)."""
    return nbformat.read(REPO / "book" / f"{stem}.ipynb", as_version=4)


def tagged(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def test_solution_cells_and_blocks_are_removed_and_the_rest_kept_in_order(tmp_path):
    nb = student_edition.student_notebook(write_chapter(tmp_path, CHAPTER), refs=REFS)

    sources = [cell.source for cell in nb.cells]
    text = "\n".join(sources)
    assert not any(tagged(cell, "solution") for cell in nb.cells)
    assert "the reference solution" not in text
    assert "{solution}" not in text
    assert "literalinclude" not in text
    assert "The reference, which the rest" not in text

    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds == ["markdown", "markdown", "code", "markdown", "code", "markdown", "code"]
    intro, theory, starter, after, checker, plain_md, plain = nb.cells
    assert theory.source.startswith("# Doubling\n\nSome theory first.")
    # the exercise as a block quote that Jupyter shows, its label gone
    assert "> **Exercise**\n>\n> Write `double(x)`." in theory.source
    assert ":::" not in theory.source and ":label:" not in theory.source
    assert tagged(starter, "starter") and "raise NotImplementedError" in starter.source
    assert after.source == "Text after the solution, in the same cell."
    assert checker.source == "double = check_double(double).use()"
    assert plain_md.source == "## A plain step"
    assert plain.source == "print(double(21))"


def test_notebook_is_valid_v4_with_python3_kernel_and_no_outputs(tmp_path):
    nb = student_edition.student_notebook(write_chapter(tmp_path, CHAPTER), refs=REFS)

    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.kernelspec.language == "python"
    assert "source_map" not in nb.metadata and "file_format" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_first_cell_explains_the_student_edition(tmp_path):
    nb = student_edition.student_notebook(write_chapter(tmp_path, CHAPTER), refs=REFS)

    intro = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown"
    assert "student edition" in intro
    assert "Doubling" in intro and "doubling.md" in intro
    assert "starter" in intro and "not implemented yet" in intro
    assert "labcode's reference" in intro


def test_backtick_solution_block_is_removed_and_empty_cell_dropped(tmp_path):
    text = CHAPTER.replace(
        SOLUTION_DROPDOWN,
        f"{FENCE}{{solution}} ex-double\n:class: dropdown\n\nUse `x + x`.\n{FENCE}\n",
    ).replace("Text after the solution, in the same cell.\n", "")
    nb = student_edition.student_notebook(write_chapter(tmp_path, text), refs=REFS)

    joined = "\n".join(cell.source for cell in nb.cells)
    assert "{solution}" not in joined and "x + x" not in joined
    assert all(cell.source.strip() for cell in nb.cells)
    # the starter cell is followed directly by the checker cell
    index = next(i for i, cell in enumerate(nb.cells) if tagged(cell, "starter"))
    assert nb.cells[index + 1].source == "double = check_double(double).use()"


def test_generation_is_deterministic_and_writes_one_notebook_per_chapter(tmp_path):
    chapter = write_chapter(tmp_path, CHAPTER)
    first = student_edition.write_student_edition([chapter], tmp_path / "a", REFS)
    second = student_edition.write_student_edition([chapter], tmp_path / "b", REFS)

    assert [path.name for path in first] == ["doubling.ipynb"]
    assert first[0].read_bytes() == second[0].read_bytes()
    nbformat.validate(nbformat.read(first[0], as_version=4))


def test_script_writes_the_notebook_into_out(tmp_path):
    chapter = write_chapter(tmp_path, CHAPTER)
    proc = run_script("--out", str(tmp_path / "student"), str(chapter))

    assert proc.returncode == 0, proc.stderr
    notebook = tmp_path / "student" / "doubling.ipynb"
    assert proc.stdout.strip() == str(notebook)
    nb = nbformat.read(notebook, as_version=4)
    assert not any(tagged(cell, "solution") for cell in nb.cells)


def test_two_exercises_each_with_a_starter_are_accepted(tmp_path):
    second = STARTER + "\n" + SOLUTION_CELL
    text = CHAPTER + "\n" + second
    nb = student_edition.student_notebook(write_chapter(tmp_path, text), refs=REFS)
    assert sum(tagged(cell, "starter") for cell in nb.cells) == 2


def test_toc_chapters_reads_root_and_chapters_in_order(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/a\n  - file: book/b\n"
    )
    assert student_edition.toc_chapters(tmp_path) == [
        tmp_path / "book" / "intro.md",
        tmp_path / "book" / "a.md",
        tmp_path / "book" / "b.md",
    ]


def assert_fails_with_one_line(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_chapter_exits_2(tmp_path):
    missing = tmp_path / "book" / "nowhere.md"
    proc = run_script("--out", str(tmp_path / "out"), str(missing))
    assert_fails_with_one_line(proc, "chapter file not found", "nowhere.md")
    assert not (tmp_path / "out").exists()


def test_solution_cell_without_starter_exits_2(tmp_path):
    text = CHAPTER.replace(STARTER, "")
    chapter = write_chapter(tmp_path, text)
    proc = run_script("--out", str(tmp_path / "out"), str(chapter))
    assert_fails_with_one_line(proc, "doubling.md:", "'solution'", "'starter'")
    assert not (tmp_path / "out").exists()


def test_second_solution_cell_needs_its_own_starter(tmp_path):
    text = CHAPTER + "\n" + SOLUTION_CELL
    chapter = write_chapter(tmp_path, text)
    proc = run_script("--out", str(tmp_path / "out"), str(chapter))
    assert_fails_with_one_line(proc, "has no 'starter' cell")
    line = int(re.search(r"doubling\.md:(\d+):", proc.stderr).group(1))
    assert text.splitlines()[line - 1].startswith(f"{FENCE}{{code-cell}}")
    assert line > CHAPTER.count("\n")


@pytest.mark.parametrize(
    "block",
    [
        ":::::{solution} ex-double\n:class: dropdown\n\nThe body, never closed.\n",
        # a shorter colon fence does not close a longer one
        "::::{solution} ex-double\n:class: dropdown\n\nThe body.\n:::\n",
        f"{FENCE}{{solution}} ex-double\nThe body, never closed.\n",
    ],
    ids=["colon", "colon-too-short", "backtick"],
)
def test_unclosed_solution_directive_exits_2(tmp_path, block):
    text = CHAPTER.replace(SOLUTION_DROPDOWN, block)
    chapter = write_chapter(tmp_path, text)
    proc = run_script("--out", str(tmp_path / "out"), str(chapter))
    assert_fails_with_one_line(proc, "{solution} directive is not closed")
    line = int(re.search(r"doubling\.md:(\d+):", proc.stderr).group(1))
    assert "{solution}" in text.splitlines()[line - 1]


def test_errors_are_student_edition_errors_for_callers(tmp_path):
    with pytest.raises(student_edition.StudentEditionError, match="chapter file not found"):
        student_edition.student_notebook(tmp_path / "nowhere.md", refs=REFS)
    assert issubclass(student_edition.StudentEditionError, ValueError)


def test_real_chapters_generate_without_solutions(tmp_path, book_build_dir):
    """Generation only (fast): every chapter with code cells, no solution left in it."""
    written = student_edition.write_student_edition(
        None, tmp_path, student_edition.load_refs(book_build_dir))
    expected = [
        path.stem
        for path in student_edition.toc_chapters()
        if re.search(r"^(```+|:::+)\{code-cell\}", path.read_text(encoding="utf8"), re.M)
    ]
    assert [path.stem for path in written] == expected
    for path in written:
        assert_no_solutions(nbformat.read(path, as_version=4), path.name)


def assert_no_solutions(nb, name: str) -> None:
    nbformat.validate(nb)
    for cell in nb.cells:
        assert not tagged(cell, "solution"), (name, cell.source)
        assert not SOLUTION_BLOCK.search(cell.source), (name, cell.source)
        assert "the reference solution" not in cell.source, (name, cell.source)


@pytest.mark.book
def test_integration_student_notebooks_run_with_reference_fallbacks(tmp_path, launch_runs,
                                                                   book_build_dir):
    """Every student notebook runs from top to bottom with no starter filled in.

    The launch notebooks are the student edition with the install cell first (checked
    here, cell by cell, but for the first cell that names the command that made it), so
    their one run per session (``launch_runs``: a fresh kernel, an empty folder, the
    studies read from the session build's run cache) is the student edition's run. The
    committed notebooks' text shows the numbers of the build that wrote them, which
    another machine's kernels may round differently: their Markdown is compared up to
    the glued values.
    """
    refs = student_edition.load_refs(book_build_dir)
    written = student_edition.write_student_edition(None, tmp_path / "student",
                                                    refs.masked(MASK))
    assert written
    for path in written:
        nb = nbformat.read(path, as_version=4)
        assert_no_solutions(nb, path.name)
        launch = f"book/{path.name}"
        assert launch in launch_runs, f"{path.name} has no launch notebook"
        ran = launch_runs[launch]
        assert ran.metadata["labcode"]["edition"] == "student"
        assert [(c.cell_type, c.metadata.get("tags")) for c in ran.cells[2:]] == [
            (c.cell_type, c.metadata.get("tags")) for c in nb.cells[1:]], path.name
        for mine, theirs in zip(nb.cells[1:], ran.cells[2:]):
            assert same_up_to_glue(theirs.source, mine.source), (path.name, theirs.source)
        assert ran.cells[1].source.startswith("**Student edition.**"), path.name
        nb.cells[1:] = ran.cells[2:]  # this notebook's cells, with the outputs of that run

        for cell in nb.cells:
            if cell.cell_type != "code" or tagged(cell, "raises-exception"):
                continue
            errors = [out for out in cell.outputs if out.output_type == "error"]
            assert errors == [], (path.name, cell.source)
            # a cell that makes a figure for the page shows it in the notebook too
            if FIGURE_GLUE.search(cell.source):
                assert any("image/png" in out.get("data", {}) for out in cell.outputs), (
                    path.name, cell.source[:120])
        checkers = [
            cell
            for cell in nb.cells
            if cell.cell_type == "code" and CHECKER_CALL.search(cell.source)
        ]
        if any(tagged(cell, "starter") for cell in nb.cells):
            assert checkers, f"{path.name} has starter cells but no checker cell"
        for cell in checkers:
            text = "".join(
                out.get("text", "") + "".join(out.get("data", {}).get("text/plain", ""))
                for out in cell.outputs
            )
            assert cell.outputs, (path.name, cell.source)
            assert "not implemented yet" in text, (path.name, cell.source, text)


def test_the_student_edition_asks_for_every_piece_the_handout_does():
    """The PyTorch chapter asks for the Dataset, the model, the loop and the evaluation;
    the studies chapter for the sweep; each starter is followed by its checker (read from
    the committed launch notebooks, which are the student edition: see above)."""
    written = {stem: launch_notebook(stem) for stem in
               ("pytorch_mlp", "studies", "regularization", "complex_mlp")}

    def asked(stem):
        names = []
        for index, cell in enumerate(written[stem].cells):
            if tagged(cell, "starter"):
                names += re.findall(r"^(?:def|class) (\w+)", cell.source, re.M)
                follower = written[stem].cells[index + 1]
                assert CHECKER_CALL.search(follower.source), (stem, follower.source)
        return names

    assert asked("pytorch_mlp") == ["plot_first_image", "DigitsDataset", "make_loader",
                                    "SimpleMLP", "train_epoch", "evaluate", "predict"]
    assert asked("studies") == ["compare_values", "plot_sweep"]
    assert asked("regularization") == ["l1_penalty", "l2_penalty"]
    assert asked("complex_mlp") == ["ComplexMLP"]



def _chapter_cells(chapter: Path) -> list:
    """The cells of a chapter's MyST source, as myst-nb reads them."""
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(chapter.read_text(encoding="utf8"),
                                       path=str(chapter)).cells


def _code_of(chapter: Path) -> str:
    """The code cells of a chapter, joined."""
    return "\n".join(cell.source for cell in _chapter_cells(chapter) if cell.cell_type == "code")


def test_the_run_cache_stays_in_the_notebooks_own_folder():
    """A chapter run as a notebook, outside the build (which names the cache through
    LABCODE_RUN_CACHE), keeps its runs beside the notebook, never in a parent folder."""
    defaults = {}
    for chapter in student_edition.toc_chapters():
        for default in re.findall(r"run_cache_dir\(\s*([^)]*)\)", _code_of(chapter)):
            defaults[chapter.stem] = default
            path = Path(ast.literal_eval(default))
            assert not path.is_absolute() and ".." not in path.parts, (chapter.name, default)
    assert {"studies", "regularization", "complex_mlp"} <= set(defaults)


def test_every_chapter_that_trains_uses_one_torch_thread():
    """A chapter that trains a model in its own kernel does it on one torch thread, as
    run_experiment trains (TrainConfig.num_threads): a second thread only adds waiting on a
    model this small, and a busy machine makes it many times slower."""
    training = [c for c in student_edition.toc_chapters()
                if re.search(r"train_epoch\(|optimizer\.step\(\)", _code_of(c))]
    assert {"pytorch_mlp", "regularization", "complex_mlp"} <= {c.stem for c in training}
    for chapter in training:
        assert re.search(r"^torch\.set_num_threads\(1\)", _code_of(chapter), re.M), chapter.name


# --- the notebooks the handout names -------------------------------------------------------


def _cells(nb) -> list[tuple]:
    return [(c.cell_type, c.source, c.metadata.get("tags")) for c in nb.cells]


# the checks of each handout step, as the student edition lists them (metadata.labcode.steps)
STEP_CHECKS = {
    "ex1-1": ["split_data", "add_bias", "one_hot"],
    "ex1-2": ["fc_forward", "sigmoid_forward", "mse_loss", "forward_pass"],
    "ex1-3": ["sigmoid_backward", "fc_backward", "backward_pass"],
    "ex1-4": ["gradient_step", "train_network"],
    "ex1-5": ["accuracy"],
    "ex2-1": [], "ex2-2": ["plot_first_image"],
    "ex2-3": ["DigitsDataset", "make_loader", "SimpleMLP", "train_epoch"],
    "ex2-4": ["evaluate", "predict"],
    "ex2-5": [],  # given by the handout itself
    "ex2-6": ["compare_values", "plot_sweep", "lr_sweep"],
    "ex2-7": ["hidden_size_sweep"], "ex2-8": ["optimizer_sweep"],
    "ex2-9": ["l1_penalty", "l2_penalty"],
    "ex2-10": ["ComplexMLP"],
}


def test_the_handout_notebooks_are_its_exercises_chapters_one_after_the_other(
        tmp_path, book_build_dir):
    refs = student_edition.load_refs(book_build_dir)
    written = student_edition.write_handout_notebooks(tmp_path, refs)
    assert [p.name for p in written] == ["neural_network.ipynb", "MLP.ipynb", "README.md"]
    specs = {spec.name: spec for spec in student_edition.HANDOUT_NOTEBOOKS}
    assert {name: spec.chapters for name, spec in specs.items()} == {
        "neural_network": ("data", "numpy_network"),
        "MLP": ("pytorch_mlp", "studies", "regularization", "complex_mlp")}
    for path in written[:2]:
        nb = nbformat.read(path, as_version=4)
        assert_no_solutions(nb, path.name)
        spec = specs[path.stem]
        chapters = [student_edition.student_notebook(REPO / "book" / f"{c}.md", refs=refs)
                    for c in spec.chapters]
        # every chapter's student edition but its own first cell, in the handout's order
        assert _cells(nb)[1:] == [cell for ch in chapters for cell in _cells(ch)[1:]]
        assert len({cell.id for cell in nb.cells}) == len(nb.cells)  # ids stay unique
        intro = nb.cells[0].source
        assert intro.startswith(f"**Student edition: {spec.exercise} of the lab handout")
        assert all(f"`{chapter}`" in intro for chapter in spec.chapters)
        # the grader's list: every chapter's checks, in order
        assert nb.metadata["labcode"]["checks"] == [
            check for ch in chapters for check in ch.metadata["labcode"]["checks"]]
        assert nb.metadata["labcode"]["chapters"] == list(spec.chapters)
        # a cell for the student's own answer after each "What do you observe?" and
        # before each collapsed answer to a question, each with its own id
        observed = [c for c in nb.cells if tagged(c, "observation")]
        text = _markdown(nb)
        assert len(observed) == text.count("<summary>An answer</summary>") + len(
            re.findall(r"^#+ What do you observe\?$", text, re.M)) >= (
            5 if path.stem == "neural_network" else 10), path.name
        ids = [c.metadata["labcode"]["observation"] for c in observed]
        assert len(set(ids)) == len(ids)
        for cell in observed:
            following = nb.cells[nb.cells.index(cell) + 1].source
            previous = nb.cells[nb.cells.index(cell) - 1].source
            assert (following.startswith("<details>\n<summary>An answer</summary>")
                    or previous.endswith("What do you observe?")), (following[:80], previous[-80:])
        if path.stem == "MLP":  # Step 9 trains with the student's own loop of Step 3
            sources = [c.source for c in nb.cells if c.cell_type == "code"]
            checked = next(i for i, src in enumerate(sources) if "check_train_epoch(" in src)
            step9 = next(i for i, src in enumerate(sources) if "lam * penalty(m)" in src)
            plain_import = re.compile(r"^\s*train_epoch,?\s*$|import [^\n]*\btrain_epoch\b(?! as)",
                                      re.M)
            assert not [src for src in sources[checked + 1:step9] if plain_import.search(src)]
        # the handout's steps, in order, each with the checks of its cells
        steps = nb.metadata["labcode"]["steps"]
        assert steps == {step: checks for step, checks in STEP_CHECKS.items()
                         if step.startswith("ex1" if path.stem == "neural_network" else "ex2")}
        # (JSON keeps the keys sorted: in the handout's order, ex2-10 comes after ex2-9)
        in_order = sorted(steps, key=lambda step: int(step.split("-")[1]))
        assert [c for step in in_order for c in steps[step]] == nb.metadata["labcode"]["checks"]
    readme = written[2].read_text(encoding="utf8")
    assert "`neural_network.ipynb` | Exercise 1 | Steps 1 to 5" in readme
    assert "`MLP.ipynb` | Exercise 2 | Steps 1 to 10" in readme


def test_the_handout_names_the_notebooks_make_student_writes():
    handout = (REPO.parent / "shared" / "HANDOUT.md")
    if not handout.is_file():
        pytest.skip("the handout lies beside the repository only in the course's checkout")
    text = handout.read_text(encoding="utf8").replace("\\_", "_")
    for spec in student_edition.HANDOUT_NOTEBOOKS:
        assert f"{spec.name}.ipynb" in text, spec.name


def test_the_script_writes_the_handout_notebooks_only_for_the_whole_edition(
        tmp_path, book_build_dir):
    whole = run_script("--build", str(book_build_dir), "--out", str(tmp_path / "all"))
    assert whole.returncode == 0, whole.stderr
    printed = [Path(line).name for line in whole.stdout.split()]
    assert printed[-3:] == ["neural_network.ipynb", "MLP.ipynb", "README.md"]
    assert (tmp_path / "all" / "README.md").is_file()
    one = run_script("--build", str(book_build_dir), "--out", str(tmp_path / "one"), "data")
    assert one.returncode == 0, one.stderr
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["data.ipynb"]


# --- answers collapsed ---------------------------------------------------------------------


def test_every_answer_of_the_student_edition_is_collapsed():
    opener = re.compile(r"^(:{3,}|`{3,})\{dropdown\}", re.M)
    for chapter in student_edition.toc_chapters():
        if not re.search(r"^(```+|:::+)\{code-cell\}", chapter.read_text(encoding="utf8"), re.M):
            continue
        nb = launch_notebook(chapter.stem)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert not opener.search(text), chapter.name
        expected = len(opener.findall(chapter.read_text(encoding="utf8")))
        assert text.count("<details>") == text.count("</details>") == expected, chapter.name
        for answer in re.findall(r"<summary>An answer</summary>\n\n(.+)", text):
            assert answer.strip() and not answer.startswith("</details>"), chapter.name


def test_every_figure_glued_for_the_page_is_also_shown_in_the_notebook():
    """A chapter hands a figure to its page with glue(..., display=True) in a cell whose
    own output the page removes (remove-output, or remove-cell): the notebook, which
    has no page, shows the figure under the cell."""
    found = 0
    for chapter in student_edition.toc_chapters():
        if not chapter.is_file():
            continue
        for cell in _chapter_cells(chapter):
            if cell.cell_type != "code" or not FIGURE_GLUE.search(cell.source):
                continue
            found += 1
            calls = re.findall(r'glue\(\s*"fig[^"]*",[^\n]*', cell.source)
            assert all("display=False" not in call for call in calls), (chapter.name, calls)
            tags = cell.metadata.get("tags", [])
            assert {"remove-output", "remove-cell"} & set(tags), (chapter.name, cell.source[:80])
    assert found >= 10


# --- the notebooks read as the pages do ----------------------------------------------------

_GLUE_TEXT = re.compile(r"\{glue:text\}`([^`]+)`")


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_every_notebook_shows_the_numbers_of_the_build_and_no_myst(tmp_path, book_build_dir):
    """The student edition, the launch notebooks and the site's downloads hold no MyST
    (no role, directive, label or glue placeholder), and every value a chapter's text glues appears in its
    student notebook as the build computed it (read here from the executed chapters'
    glued outputs, not from the file the notebooks are written from)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    md = student_edition.notebook_markdown
    written = student_edition.write_student_edition(
        None, tmp_path, student_edition.load_refs(book_build_dir))
    written += student_edition.write_handout_notebooks(tmp_path,
                                                       student_edition.load_refs(book_build_dir))
    launch = sorted((REPO / "book").glob("*.ipynb"))
    downloads = sorted((book_build_dir / "html" / "_sources" / "book").glob("*.ipynb"))
    chapters = [p for p in written if p.stem not in ("neural_network", "MLP")
                and p.suffix == ".ipynb"]
    assert len(launch) == len(chapters) == len(downloads)
    for path in [*written, *launch, *downloads]:
        if path.suffix != ".ipynb":
            continue
        nb = nbformat.read(path, as_version=4)
        left = md.myst_left(_markdown(nb))
        assert not left, (path.name, left[:5])
    parser = student_edition._block_parser()
    for path in written:
        if path.suffix != ".ipynb" or path.stem in ("neural_network", "MLP"):
            continue
        chapter = REPO / "book" / f"{path.stem}.md"
        glue_file = book_build_dir / "jupyter_execute" / "book" / f"{path.stem}.glue.json"
        glued = json.loads(glue_file.read_text(encoding="utf8")) if glue_file.is_file() else {}
        text = _markdown(nbformat.read(path, as_version=4))
        found = 0
        for cell in read_myst_markdown_notebook(chapter.read_text(encoding="utf8")).cells:
            if cell.cell_type != "markdown":
                continue
            lines = cell.source.splitlines()
            solutions = {i for start, end, _, _ in student_edition._solution_blocks(
                cell.source, parser) for i in range(start, end)}
            kept = "\n".join(line for i, line in enumerate(lines) if i not in solutions)
            for role in _GLUE_TEXT.findall(kept):
                key, fmt = role.rsplit(":", 1) if ":" in role else (role, "s")
                value = md.format_glued(glued[key]["data"]["text/plain"], fmt)
                assert value in text, (path.name, role, value)
                found += 1
        assert found or not _GLUE_TEXT.search(chapter.read_text(encoding="utf8")), path.name


# --- the student's notebooks, filled in, with other settings --------------------------------

OTHER_SETTINGS = {  # chapter: its settings line, and the same with other settings
    "pytorch_mlp": ("config = TrainConfig()", "config = TrainConfig(epochs=5, lr=1e-2)"),
    "regularization": ("STEP3 = TrainConfig()", "STEP3 = TrainConfig(epochs=5, lr=1e-2)"),
    "complex_mlp": ('CONFIG = TrainConfig(model="complex")',
                    'CONFIG = TrainConfig(model="complex", epochs=5, lr=1e-2)'),
}


def _run_filled_in(stem: str, home: Path, env: dict):
    """The launch notebook ``stem`` with its starters filled in with the chapter's reference
    answers and, where it has settings, other ones (:data:`OTHER_SETTINGS`), run top to
    bottom in ``home/run``; the run notebook and the text its cells printed."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    chapter = REPO / "book" / f"{stem}.md"
    answers = [c.source for c in read_myst_markdown_notebook(
        chapter.read_text(encoding="utf8")).cells if "solution" in c.metadata.get("tags", [])]
    nb = launch_notebook(stem)
    starters = [c for c in nb.cells if tagged(c, "starter")]
    assert len(starters) == len(answers), stem
    for cell, answer in zip(starters, answers):
        cell.source = answer
    if stem in OTHER_SETTINGS:
        line, other = OTHER_SETTINGS[stem]
        (cell,) = [c for c in nb.cells if c.cell_type == "code" and line in c.source]
        cell.source = cell.source.replace(line, other)
    folder = home / "run"
    folder.mkdir(parents=True)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute(env=env)
    printed = ""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if not tagged(cell, "raises-exception"):
            assert not [o for o in cell.outputs if o.output_type == "error"], (stem, cell.source)
        if FIGURE_GLUE.search(cell.source):
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), (
                stem, cell.source[:120])
        printed += "".join(o.get("text", "") for o in cell.outputs)
    for check in nb.metadata["labcode"]["checks"]:
        assert f"{check}: passed" in printed, (stem, check)
    assert "not implemented yet" not in printed, stem
    assert [p.name for p in home.iterdir()] == ["run"], stem  # nothing written beside it
    return nb, printed


@pytest.mark.parametrize("stem", ["data", "numpy_network", "pytorch_mlp", "regularization",
                                  "complex_mlp", "building"])
def test_filled_in_with_other_settings_every_check_passes_in_the_notebooks_folder(
        tmp_path, stem):
    """Each student notebook (the committed launch notebooks, which are the student edition:
    see above), its starters filled in with the chapter's reference answers and the
    settings changed to 5 epochs at learning rate 1e-2, runs top to bottom in an empty
    folder: every check passes, every figure is drawn, and the run cache, with no
    LABCODE_RUN_CACHE set, lands inside that folder and nowhere else.

    The studies chapter is left out: it has no setting to change, and from an empty cache
    it trains the book's 95 runs again (50 s here). Its given cells run in the launch
    notebooks' run, and its checks pass labcode's references in tests/test_checks.py."""
    import os

    assert {p.stem for p in (REPO / "book").glob("*.ipynb")} == {
        "data", "numpy_network", "pytorch_mlp", "studies", "regularization", "complex_mlp",
        "building"}  # a new chapter joins the list above (or says why not)

    env = {key: value for key, value in os.environ.items() if key != "LABCODE_RUN_CACHE"}
    _run_filled_in(stem, tmp_path / stem, env)
    chapter = (REPO / "book" / f"{stem}.md").read_text(encoding="utf8")
    if student_edition._uses_run_cache(chapter):
        assert any((tmp_path / stem / "run" / ".labcode_runs").iterdir()), stem


# Exercise 1 as a student writes it: the sealed checks' results come back from the box
WRITTEN = {
    "split_data": "import math\nfrom sklearn.model_selection import train_test_split\n"
                  "def split_data(X, y, val_size, test_size, seed):\n    n = len(y)\n"
                  "    X_rest, X_test, y_rest, y_test = train_test_split(\n"
                  "        X, y, test_size=math.ceil(test_size * n), stratify=y, random_state=seed)\n"
                  "    X_train, X_val, y_train, y_val = train_test_split(\n"
                  "        X_rest, y_rest, test_size=math.ceil(val_size * n), stratify=y_rest,\n"
                  "        random_state=seed)\n"
                  "    return {'train': (X_train, y_train), 'val': (X_val, y_val), "
                  "'test': (X_test, y_test)}",
    "add_bias": "def add_bias(X):\n    return np.hstack([X, np.ones((X.shape[0], 1))])",
    "one_hot": "def one_hot(y, num_classes=10):\n    Y = np.zeros((len(y), num_classes))\n"
               "    Y[np.arange(len(y)), y] = 1\n    return Y",
    "fc_forward": "def fc_forward(X, W):\n    return X @ W, (X, W)",
    "sigmoid_forward": "def sigmoid_forward(Z):\n    E = np.exp(-np.abs(Z))  # never overflows\n"
                       "    A = np.where(Z >= 0, 1, E) / (1 + E)\n    return A, A",
    "mse_loss": "def mse_loss(A, Y):\n    return float(np.mean((A - Y) ** 2)), 2 * (A - Y) / A.size",
    "forward_pass": "def forward_pass(X, params):\n    caches, A = [], X\n"
                    "    for l in range(1, len(params) + 1):\n"
                    "        Z, fc_cache = fc_forward(add_bias(A), params[f'W{l}'])\n"
                    "        A, s_cache = sigmoid_forward(Z)\n        caches.append((fc_cache, s_cache))\n"
                    "    return A, caches",
    "sigmoid_backward": "def sigmoid_backward(dA, cache):\n    return dA * cache * (1 - cache)",
    "fc_backward": "def fc_backward(dZ, cache):\n    X, W = cache\n    return dZ @ W.T, X.T @ dZ",
    "backward_pass": "def backward_pass(dA, caches):\n    grads = {}\n"
                     "    for l in range(len(caches), 0, -1):\n        fc_cache, s_cache = caches[l - 1]\n"
                     "        dX, grads[f'W{l}'] = fc_backward(sigmoid_backward(dA, s_cache), fc_cache)\n"
                     "        dA = dX[:, :-1]\n    return grads",
    "gradient_step": "def gradient_step(params, grads, lr):\n"
                     "    return {k: W - lr * grads[k] for k, W in params.items()}",
    "train_network": "def train_network(params, X, Y, lr, iterations):\n    losses = []\n"
                     "    for _ in range(iterations):\n        A, caches = forward_pass(X, params)\n"
                     "        loss, dA = mse_loss(A, Y)\n        losses.append(loss)\n"
                     "        params = gradient_step(params, backward_pass(dA, caches), lr)\n"
                     "    return params, losses",
    "accuracy": "def accuracy(A, y):\n    return float(np.mean(A.argmax(axis=1) == y))",
}


def test_the_grader_grades_the_handouts_notebook_against_the_instructors_copy(
        tmp_path, book_build_dir):
    """neural_network.ipynb as a student hands it in, a third of the starters replaced by
    labcode's reference, a third written out (:data:`WRITTEN`), the rest left:
    against the instructor's copy every check is "reference used", "passed" (every sealed
    piece's result crosses from the box to the grader) or "not implemented", in the
    edition's order, and a given cell the student changed is reported and graded as handed
    out."""
    from labcode.checks.framework import _REFERENCES
    from labcode.grade import grade_notebooks

    refs = student_edition.load_refs(book_build_dir)
    edition = tmp_path / "edition"
    edition.mkdir()
    student_edition.write_handout_notebooks(edition, refs)
    nb = nbformat.read(edition / "neural_network.ipynb", as_version=4)
    used, written, left = [], [], []
    starters = [c for c in nb.cells if "starter" in c.metadata.get("tags", [])]
    for i, cell in enumerate(starters):
        pieces = re.findall(r"^(?:def|class)\s+(\w+)", cell.source, re.M)
        if i % 3 == 0:
            cell.source = "\n".join(
                f"from {_REFERENCES[p].module} import {_REFERENCES[p].attribute} as {p}"
                for p in pieces)
            used += pieces
        elif i % 3 == 1 and all(p in WRITTEN for p in pieces):
            cell.source = "\n".join(WRITTEN[p] for p in pieces)
            written += pieces
        else:
            left += pieces
    given = next(c for c in nb.cells if c.cell_type == "code" and "starter" not in
                 c.metadata.get("tags", []) and "load_digits" in c.source)
    given.source = "raise SystemExit('a given cell the student broke')"
    submissions = tmp_path / "class"
    submissions.mkdir()
    nbformat.write(nb, submissions / "alice_neural_network.ipynb")  # renamed: matched by ids
    rows = grade_notebooks([submissions], edition=edition, cell_timeout=120,
                           notebook_timeout=240)
    status = {r.check: r.status for r in rows if r.check}
    expected = nbformat.read(edition / "neural_network.ipynb", as_version=4).metadata[
        "labcode"]["checks"]
    assert list(status) == expected
    assert {p: status[p] for p in used} == {p: "reference used" for p in used}
    assert {p: status[p] for p in left} == {p: "not implemented" for p in left}
    assert {p: status[p] for p in written} == {p: "passed" for p in written}
    assert len(written) >= 4
    assert [r.status for r in rows if not r.check] == ["changed"]
