"""The student edition: each chapter as a Jupyter notebook without the solutions.

Every chapter with code cells becomes ``<out>/<chapter>.ipynb`` (``make student`` writes
them to ``_build/student``). The notebook holds the chapter's cells in order, except:

* code cells tagged ``solution`` (the ones that put labcode's reference in place) are
  dropped;
* ``{solution}`` directive blocks (``:::{solution}``, ``::::{solution}`` or
  ```` ```{solution} ````, up to their closing fence) are cut out of the markdown cells,
  and a markdown cell left empty is dropped;
* each ``{dropdown}`` block (the answers to the questions) becomes a collapsed HTML
  ``<details>`` element, which Jupyter, JupyterLab and Colab render;
* a first markdown cell says which chapter the notebook comes from and how to work
  through it;
* the notebook's metadata lists the checks it holds (``metadata.labcode.checks``), so
  that ``python -m labcode grade`` can tell a deleted check from one never reached.

The ``starter`` cells and the checker cells stay. Until a student fills in a starter
cell, its checker reports "not implemented yet" and hands the rest of the notebook
labcode's reference (see :mod:`labcode.checks`), so the notebook runs from top to
bottom either way.

The handout names two notebooks, ``neural_network.ipynb`` for Exercise 1 and ``MLP.ipynb``
for Exercise 2: ``make student`` writes them too, each the chapters of its exercise one
after the other (:data:`HANDOUT_NOTEBOOKS`), with a ``README.md`` saying which notebook
holds which step.

Run as a script::

    python book/_ext/student_edition.py [--out _build/student] [chapter ...]

With no chapter named, every chapter of ``_toc.yml`` that has code cells is written, and
the handout's two notebooks with their README. A
chapter is named by its path (``book/data.md``) or by its name (``data``). Errors in the
chapters' markup (a ``solution`` cell with no ``starter`` cell before it, a
``{solution}`` directive that is never closed, a missing chapter file) stop the script
with a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import importlib.util
import re
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat
import yaml

_md_spec = importlib.util.spec_from_file_location(
    "notebook_markdown", Path(__file__).resolve().parent / "notebook_markdown.py")
notebook_markdown = importlib.util.module_from_spec(_md_spec)
sys.modules.setdefault("notebook_markdown", notebook_markdown)  # dataclasses look it up
_md_spec.loader.exec_module(notebook_markdown)
Refs = notebook_markdown.Refs

ROOT = Path(__file__).resolve().parents[2]
"""The repository: ``_toc.yml`` and ``_config.yml`` live here, the chapters in ``book/``."""
DEFAULT_OUT = ROOT / "_build" / "student"
DEFAULT_BUILD = ROOT / "_build"
"""The build whose resolved references and glued values the notebooks' Markdown shows."""
SOLUTION_TAG = "solution"
STARTER_TAG = "starter"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class HandoutNotebook(NamedTuple):
    """A notebook the handout names: the chapters of one exercise, one after the other."""

    name: str  # the file's stem, as the handout writes it
    exercise: str
    steps: str
    chapters: tuple[str, ...]  # chapter names, in order, each with the steps it holds
    chapter_steps: tuple[str, ...]


HANDOUT_NOTEBOOKS = (
    HandoutNotebook("neural_network", "Exercise 1", "Steps 1 to 5",
                    ("data", "numpy_network"),
                    ("Step 1: the data, the bias column and one-hot labels",
                     "Steps 2 to 5: the network by hand in NumPy")),
    HandoutNotebook("MLP", "Exercise 2", "Steps 1 to 10",
                    ("pytorch_mlp", "studies", "regularization", "complex_mlp"),
                    ("Steps 1 to 5: the MLP in PyTorch",
                     "Steps 6 to 8: learning rate, hidden size and optimizer",
                     "Step 9: L1 and L2 regularization",
                     "Step 10: ComplexMLP with BatchNorm and Dropout")),
)
"""The student edition's notebooks named as the handout names them (``make student``)."""
_DEFAULT_EXTENSIONS = ("amsmath", "dollarmath", "colon_fence", "deflist", "substitution")
_SOLUTION_INFO = re.compile(r"^\{solution\}(\s|$)")
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
__all__ = [
    "StudentEditionError",
    "toc_chapters",
    "student_notebook",
    "write_student_edition",
    "HANDOUT_NOTEBOOKS",
    "handout_notebook",
    "write_handout_notebooks",
    "main",
]


class StudentEditionError(ValueError):
    """A chapter cannot be turned into a student notebook (the message says why)."""


def _myst_extensions(root: Path = ROOT) -> list[str]:
    """The MyST extensions the book enables (``parse.myst_enable_extensions``)."""
    config = root / "_config.yml"
    if config.is_file():
        data = yaml.safe_load(config.read_text(encoding="utf8")) or {}
        extensions = (data.get("parse") or {}).get("myst_enable_extensions")
        if extensions:
            return list(extensions)
    return list(_DEFAULT_EXTENSIONS)


def _md_config(root: Path = ROOT):
    """A MyST parser configuration with the book's extensions (colon fences included)."""
    from myst_parser.config.main import MdParserConfig

    extensions = set(_myst_extensions(root)) | {"colon_fence"}
    return MdParserConfig(enable_extensions=extensions)


def _block_parser(root: Path = ROOT):
    """A markdown-it parser that stops at the block level, as myst-nb's reader does."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.parsers.mdit import create_md_parser

    config = _md_config(root)
    config = dc.replace(config, disable_syntax=[*config.disable_syntax, "inline"])
    return create_md_parser(config, RendererHTML)


def _toc_files(entries: list | None) -> list[str]:
    files = []
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        if "file" in entry:
            files.append(str(entry["file"]))
        for key in ("chapters", "sections", "parts"):
            files.extend(_toc_files(entry.get(key)))
    return files


def toc_chapters(root: str | Path = ROOT) -> list[Path]:
    """The chapter files of a book's ``_toc.yml``, root first, in the order of the toc.

    Parameters
    ----------
    root : path, default the repository
        The folder holding ``_toc.yml``.

    Returns
    -------
    list of Path
        ``<root>/<entry>.md`` for every ``file`` entry (the entries have no suffix).

    Raises
    ------
    StudentEditionError
        When ``_toc.yml`` is missing or names no files.
    """
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.is_file():
        raise StudentEditionError(f"no table of contents: {toc_path} does not exist")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf8")) or {}
    files = [str(toc["root"])] if "root" in toc else []
    files += _toc_files(toc.get("chapters")) + _toc_files(toc.get("parts"))
    if not files:
        raise StudentEditionError(f"{toc_path} names no chapter files")
    return [Path(root) / (name if name.endswith(".md") else f"{name}.md") for name in files]


def _display(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it, else as given."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _line_of(text_lines: list[str], first_line: str, start: int) -> int:
    """The 1-based line number of ``first_line`` at or after the 0-based ``start``."""
    for index in range(max(start, 0), len(text_lines)):
        if text_lines[index].strip() == first_line.strip():
            return index + 1
    return start + 1


def _is_closing_fence(line: str, marker: str) -> bool:
    """Whether ``line`` closes a fence opened with ``marker`` (same character, as long)."""
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) < 4
        and len(stripped) >= len(marker)
        and set(stripped) == {marker[0]}
    )


def _opens_fence_as_long(line: str, marker: str) -> bool:
    """Whether ``line`` opens a fence (with an info string) at least as long as ``marker``."""
    if len(line) - len(line.lstrip(" ")) >= 4:
        return False
    stripped = line.strip()
    run = len(stripped) - len(stripped.lstrip(marker[0]))
    return run >= len(marker) and stripped[run:].strip() != ""


def _solution_blocks(source: str, parser) -> list[tuple[int, int, str, bool]]:
    """The ``{solution}`` directive blocks of a markdown cell.

    A block counts as closed when it ends with its closing fence and no line inside
    it opens another fence of the same character at least as long: such a line (for
    example a ```` ```{code-cell} ```` after a ```` ```{solution} ```` that was never
    closed) means the fence that ends the block belongs to that inner block.

    Returns
    -------
    list of (start, end, fence, closed)
        0-based line ranges ``[start, end)`` of the cell's source, the opening fence
        (``::::`` or ```` ``` ````) and whether the block is properly closed.
    """
    lines = source.splitlines()
    blocks = []
    for token in parser.parse(source + "\n"):
        if token.type not in ("fence", "colon_fence") or token.map is None:
            continue
        if not _SOLUTION_INFO.match(token.info.strip()):
            continue
        start, end = token.map
        fence = token.markup
        inner = lines[start + 1 : end - 1]
        closed = (
            end - 1 > start
            and _is_closing_fence(lines[end - 1], fence)
            and not any(_opens_fence_as_long(line, fence) for line in inner)
        )
        blocks.append((start, end, fence, closed))
    return blocks


def _collapse_blank_lines(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", text).strip("\n")


def _chapter_title(cells: list) -> str | None:
    for cell in cells:
        if cell.cell_type == "markdown":
            match = _HEADING.search(cell.source)
            if match:
                return match.group(1)
    return None


def _uses_run_cache(text: str) -> bool:
    """Whether a chapter's source reads or trains the studies' runs (its intro says how long)."""
    return "run_cache_dir(" in text or "LABCODE_RUN_CACHE" in text


def write_notebooks(notebooks: list[tuple[str, nbformat.NotebookNode]],
                    out: str | Path) -> list[Path]:
    """Write each ``(stem, notebook)`` to ``<out>/<stem>.ipynb``, creating ``out``; the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, notebook in notebooks:
        target = out / f"{stem}.ipynb"
        nbformat.write(notebook, target)
        written.append(target)
    return written


def _how_to_use(uses_run_cache: bool) -> list[str]:
    """The intro's lines on working through a student notebook (and on its run cache)."""
    text = [
        "How to use it:",
        "",
        "1. Open it in Jupyter with labcode installed and run the cells from the top. "
        "From the repository, `make lab` installs JupyterLab and opens the student "
        "edition in `work/`, a copy that later builds never overwrite.",
        "2. Each exercise has a *starter* cell (tagged `starter`) whose body raises "
        "`NotImplementedError`. Replace that body with your own code and run the cell. "
        "Write everything your answer needs inside that cell: the grader takes only the "
        "starter cells from your notebook and runs every other cell as handed out.",
        "3. Run the check cell below it. It says `passed`, or which input went wrong, what "
        "was expected and a hint.",
        "4. A piece you have not done yet is reported as `not implemented yet` and replaced "
        "by labcode's reference, so the rest of the notebook still runs.",
        "5. A cell that starts *Your answer* is for your own answer to the question above "
        "it (\"What do you observe?\", a question to think about): write it there before "
        "you read the book's answer. It is not graded; your instructor reads it.",
    ]
    if uses_run_cache:
        text += [
            "",
            "**How long it takes.** Your own sweeps train one run per value each time you "
            "run them, a few seconds each. The book's studies keep their finished runs in "
            "a cache folder, `.labcode_runs` beside this notebook: from an empty cache, "
            "this notebook trains them, which takes about half a minute for the studies "
            "of Steps 6 to 8 on a machine with two cores, and seconds for the others. "
            "To read the runs that `make "
            "book` trained instead, set the environment variable `LABCODE_RUN_CACHE` to "
            "the repository's `_build/.labcode_runs` before starting Jupyter, for "
            "example `LABCODE_RUN_CACHE=$PWD/_build/.labcode_runs jupyter lab` from the "
            "repository.",
        ]
    return text


def _intro_cell(
    chapter: str, source_name: str, title: str | None, uses_run_cache: bool,
    made_by: str = "make student",
):
    text = [
        f"**Student edition.** This notebook is the student edition of the chapter "
        f"`{chapter}`" + (f" (*{title}*)" if title else "") + f", generated from "
        f"`{source_name}` by `{made_by}`. It holds the chapter's text and code without "
        "the solutions.",
        "",
        *_how_to_use(uses_run_cache),
        "",
        f"`{made_by}` writes this file again from the chapter: work on a copy.",
    ]
    return nbformat.v4.new_markdown_cell("\n".join(text))


OBSERVATION_TAG = "observation"
_OBSERVE_HEADING = re.compile(r"^#+\s*What do you observe\?\s*$", re.MULTILINE)
_ANSWER = re.compile(r"^<details>\n<summary>An answer</summary>", re.MULTILINE)


def observation_cell_metadata(chapter: str, number: int) -> dict:
    """The metadata of a student's answer cell: its tag, and an id the grader groups by."""
    return {"tags": [OBSERVATION_TAG], "labcode": {"observation": f"{chapter}-{number}"}}


def with_observations(text: str, chapter: str, counter: list[int]) -> list[tuple[str, dict | None]]:
    """A rendered Markdown cell cut where the student writes an answer of their own.

    After each "What do you observe?" heading (the handout's question of Steps 6 to 9),
    and before each collapsed "An answer" (the questions to think about), comes a cell
    tagged ``observation`` for the student's own answer, which ``python -m labcode grade``
    collects for the instructor. Returns ``(text, metadata)`` pairs; ``None`` keeps the
    cell's own metadata. ``counter[0]`` counts the chapter's observation cells.
    """
    from labcode.grade import OBSERVATION_PROMPT

    cuts = sorted({m.end() for m in _OBSERVE_HEADING.finditer(text)}
                  | {m.start() for m in _ANSWER.finditer(text)})
    pieces: list[tuple[str, dict | None]] = []
    start = 0
    for cut in cuts:
        before = text[start:cut].strip("\n")
        if before.strip():
            pieces.append((before, None))
        counter[0] += 1
        pieces.append((OBSERVATION_PROMPT, observation_cell_metadata(chapter, counter[0])))
        start = cut
    rest = text[start:].strip("\n")
    if rest.strip():
        pieces.append((rest, None))
    return pieces


_STEP_LABEL = re.compile(r"^\((ex[12])-step-(\d+)\)=\s*$", re.MULTILINE)


def handout_steps(cells) -> dict[str, list[str]]:
    """The handout steps a chapter's cells cover, each with the checks of its cells.

    A step starts at its label, ``(ex1-step-2)=``, in a Markdown cell and runs to the next
    label; the keys are written ``"ex1-2"``, in the order of the chapter. A chapter that
    builds a piece before the section of its step (the penalties of Step 9, the model of
    Step 10) counts the checks before its first label in that first step.
    """
    from labcode.grade import expected_checks

    steps: dict[str, list[str]] = {}
    current, before = None, []
    for cell in cells:
        if cell.cell_type == "markdown":
            for exercise, number in _STEP_LABEL.findall(cell.source):
                current = f"{exercise}-{number}"
                steps.setdefault(current, [])
                if before:
                    steps[current] += [c for c in before if c not in steps[current]]
                    before = []
        elif cell.cell_type == "code" and SOLUTION_TAG not in _tags(cell):
            one = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell.source)])
            found = expected_checks(one)
            target = before if current is None else steps[current]
            target += [c for c in found if c not in target]
    return steps


def load_refs(build: str | Path = DEFAULT_BUILD) -> Refs:
    """What the build in ``build`` resolved (:class:`notebook_markdown.Refs`).

    Raises :class:`StudentEditionError` when that folder holds no build of the book.
    """
    try:
        return Refs.load(build)
    except notebook_markdown.RenderError as error:
        raise StudentEditionError(str(error)) from None


def docname_of(path: Path) -> str:
    """The chapter's Sphinx name (``book/data``); a file outside the book is ``book/<stem>``."""
    try:
        return path.resolve().relative_to(ROOT).with_suffix("").as_posix()
    except ValueError:
        return f"book/{path.stem}"


def student_notebook(path: str | Path, *, made_by: str = "make student",
                     refs: Refs | None = None) -> nbformat.NotebookNode:
    """The student edition of one MyST chapter.

    Parameters
    ----------
    path : path
        The chapter, a MyST markdown notebook (``book/<name>.md``).
    made_by : str, default ``"make student"``
        The command the first cell names as the one that writes the notebook.
    refs : Refs, optional
        What a build of the book resolved (glued values, equation numbers, references),
        written into the Markdown cells; by default the build in ``_build``.

    Returns
    -------
    nbformat.NotebookNode
        An nbformat 4 notebook with the ``python3`` kernel, no outputs, no ``solution``
        cells and no ``{solution}`` blocks, no MyST left in its Markdown, opened by a
        cell that explains its use.

    Raises
    ------
    StudentEditionError
        When the file does not exist, when a ``solution`` cell has no ``starter`` cell
        before it (since the previous ``solution`` cell), or when a ``{solution}``
        directive is not closed, or when its Markdown holds MyST the build did not
        resolve (a glued key, a label, an unknown directive).
    """
    from myst_nb.core.read import read_myst_markdown_notebook

    path = Path(path)
    name = _display(path)
    if not path.is_file():
        raise StudentEditionError(f"chapter file not found: {name}")
    refs = load_refs() if refs is None else refs
    renderer = notebook_markdown.Renderer(refs, docname_of(path), path.parent)
    text = path.read_text(encoding="utf8")
    text_lines = text.splitlines()
    source = read_myst_markdown_notebook(
        text, config=_md_config(), add_source_map=True, path=str(path)
    )
    source_map = source.metadata.get("source_map", [])
    parser = _block_parser()

    cells = []
    observations = [0]  # how many observation cells so far: their ids count up
    starter_pending = False
    for index, cell in enumerate(source.cells):
        start = source_map[index] if index < len(source_map) else 0
        tags = _tags(cell)
        if cell.cell_type == "code":
            if SOLUTION_TAG in tags:
                if not starter_pending:
                    line = start  # myst-nb maps a code cell to its 1-based fence line
                    raise StudentEditionError(
                        f"{name}:{line}: a cell tagged '{SOLUTION_TAG}' has no "
                        f"'{STARTER_TAG}' cell before it in its exercise"
                    )
                starter_pending = False
                continue
            if STARTER_TAG in tags:
                starter_pending = True
            cell = nbformat.v4.new_code_cell(cell.source, metadata=dict(cell.metadata))
        elif cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            blocks = _solution_blocks(cell.source, parser)
            for block_start, _end, fence, closed in blocks:
                if not closed:
                    line = _line_of(text_lines, lines[block_start], start + block_start)
                    raise StudentEditionError(
                        f"{name}:{line}: the {{solution}} directive is not closed: end it "
                        f"with a line '{fence}', and make its fence longer than any "
                        "fence inside it"
                    )
            if blocks:
                removed = {i for first, end, _, _ in blocks for i in range(first, end)}
                kept = _collapse_blank_lines(
                    [line for i, line in enumerate(lines) if i not in removed]
                )
                if not kept.strip():
                    continue
            else:
                kept = cell.source
            try:
                rendered = renderer.render(kept)
            except notebook_markdown.RenderError as error:
                line = _line_of(text_lines, lines[0] if lines else "", start)
                raise StudentEditionError(f"{name}:{line}: {error}") from None
            if not rendered.strip():
                continue
            pieces = with_observations(rendered, path.stem, observations)
            cells += [nbformat.v4.new_markdown_cell(text, metadata=dict(
                cell.metadata if meta is None else meta)) for text, meta in pieces]
            continue
        else:
            cell = nbformat.v4.new_raw_cell(cell.source, metadata=dict(cell.metadata))
        cells.append(cell)

    chapter = path.stem
    intro = _intro_cell(chapter, name, _chapter_title(cells), _uses_run_cache(text), made_by)
    notebook = nbformat.v4.new_notebook(
        cells=[intro, *cells],
        metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
    )
    from labcode.grade import expected_checks

    # what `python -m labcode grade` expects to find checked in the student's copy
    notebook.metadata["labcode"] = {"chapter": chapter, "checks": expected_checks(notebook),
                                    "steps": handout_steps(source.cells)}
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", chapter)[:50]
    for number, cell in enumerate(notebook.cells):  # stable ids: the same chapter, the same file
        cell.id = f"{prefix}-{number:03d}"
    nbformat.validate(notebook)
    return notebook


def _has_code_cells(path: Path) -> bool:
    from myst_nb.core.read import read_myst_markdown_notebook

    notebook = read_myst_markdown_notebook(
        path.read_text(encoding="utf8"), config=_md_config(), path=str(path)
    )
    return any(cell.cell_type == "code" for cell in notebook.cells)


def _resolve_chapter(name: str | Path) -> Path:
    """A chapter named by path (``book/data.md``) or by name (``data``)."""
    text = str(name)
    if text.endswith(".md") or "/" in text or "\\" in text:
        path = Path(text)
        return path if path.is_absolute() or path.exists() else ROOT / path
    return ROOT / "book" / f"{text}.md"


def write_student_edition(
    chapters: list[str | Path] | None = None, out: str | Path = DEFAULT_OUT,
    refs: Refs | None = None,
) -> list[Path]:
    """Write the student notebooks of the given chapters into ``out``.

    Parameters
    ----------
    chapters : list of path or str, optional
        Chapter files (``book/data.md``) or names (``data``). ``None`` or an empty list
        means every chapter of ``_toc.yml`` that has code cells.
    out : path, default ``_build/student``
        The folder for the notebooks; created when missing.
    refs : Refs, optional
        What the book's build resolved; by default the build in ``_build``.

    Returns
    -------
    list of Path
        The notebooks written, ``<out>/<chapter>.ipynb``, in the order of ``chapters``.

    Raises
    ------
    StudentEditionError
        When a chapter is missing or its markup is wrong (see :func:`student_notebook`).
        Nothing is written in that case.
    """
    if chapters:
        paths = [_resolve_chapter(chapter) for chapter in chapters]
    else:
        paths = []
        for path in toc_chapters():
            if not path.is_file():
                raise StudentEditionError(
                    f"chapter file not found: {_display(path)} (listed in _toc.yml)"
                )
            if _has_code_cells(path):
                paths.append(path)
    refs = load_refs() if refs is None else refs
    return write_notebooks(
        [(path.stem, student_notebook(path, refs=refs)) for path in paths], out)


def handout_notebook(spec: HandoutNotebook, made_by: str = "make student",
                     refs: Refs | None = None):
    """The notebook the handout names for one exercise: the student edition of each of its
    chapters, one after the other, under one first cell that says which chapter holds
    which step. Cell ids keep their chapter's prefix, so they stay unique and stable."""
    paths = [_resolve_chapter(chapter) for chapter in spec.chapters]
    refs = load_refs() if refs is None else refs
    notebooks = [student_notebook(path, made_by=made_by, refs=refs) for path in paths]
    uses_run_cache = any(_uses_run_cache(path.read_text(encoding="utf8")) for path in paths)
    text = [
        f"**Student edition: {spec.exercise} of the lab handout ({spec.steps}), "
        f"`{spec.name}.ipynb`.** This notebook holds, one after the other, the chapters "
        f"of the book for {spec.exercise}, without their solutions, generated by "
        f"`{made_by}`:",
        "",
        *(f"- `{chapter}`: {steps}" for chapter, steps in zip(spec.chapters,
                                                                spec.chapter_steps)),
        "",
        "Each chapter starts with its own imports, so a chapter also runs on its own.",
        "",
        *_how_to_use(uses_run_cache),
        "",
        f"`{made_by}` writes this file again from the chapters: work on a copy.",
    ]
    intro = nbformat.v4.new_markdown_cell("\n".join(text))
    intro.id = f"{spec.name}-intro"
    cells = [intro] + [cell for notebook in notebooks for cell in notebook.cells[1:]]
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
    )
    from labcode.grade import expected_checks

    steps: dict[str, list[str]] = {}
    for chapter_notebook in notebooks:
        for step, checks in chapter_notebook.metadata["labcode"]["steps"].items():
            steps.setdefault(step, []).extend(c for c in checks if c not in steps[step])
    notebook.metadata["labcode"] = {"handout": spec.name, "chapters": list(spec.chapters),
                                    "checks": expected_checks(notebook), "steps": steps}
    nbformat.validate(notebook)
    return notebook


def handout_readme(made_by: str = "make student") -> str:
    """The ``README.md`` of the student edition's folder: which notebook is which step."""
    lines = [
        "# The lab's notebooks (student edition)",
        "",
        "Work in the two notebooks the handout names; each holds the chapters of its",
        "exercise, without their solutions, and runs from top to bottom:",
        "",
        "| notebook | exercise | steps | chapters |",
        "|---|---|---|---|",
    ]
    for spec in HANDOUT_NOTEBOOKS:
        lines.append(f"| `{spec.name}.ipynb` | {spec.exercise} | {spec.steps} | "
                     + ", ".join(f"`{c}.ipynb`" for c in spec.chapters) + " |")
    lines += [
        "",
        "In each: fill in a *starter* cell (its body raises `NotImplementedError`), then",
        "run the check cell below it, which says `passed` or names the mistake. Write",
        "everything an answer needs inside its starter cell: the grader takes only the",
        "starter cells from a submission and runs every other cell as handed out.",
        "",
        "The other notebooks of this folder are the same chapters one by one (the ones the",
        "book's Colab and Binder buttons open), for a student who prefers shorter files.",
        "",
        f"`{made_by}` writes this folder again: work on a copy.",
        "",
    ]
    return "\n".join(lines)


def write_handout_notebooks(out: str | Path = DEFAULT_OUT,
                            refs: Refs | None = None) -> list[Path]:
    """Write ``neural_network.ipynb``, ``MLP.ipynb`` and ``README.md`` into ``out``.

    Returns the paths written. Raises :class:`StudentEditionError` (nothing written) when
    a chapter of :data:`HANDOUT_NOTEBOOKS` is missing or its markup is wrong.
    """
    refs = load_refs() if refs is None else refs
    written = write_notebooks(
        [(spec.name, handout_notebook(spec, refs=refs)) for spec in HANDOUT_NOTEBOOKS], out)
    readme = Path(out) / "README.md"
    readme.write_text(handout_readme(), encoding="utf8")
    return [*written, readme]


def main(argv: list[str] | None = None) -> int:
    """Command line: write the student edition; exit 2 with a message on a chapter error."""
    parser = argparse.ArgumentParser(
        description="Write the student edition of the book's chapters as notebooks."
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="folder for the notebooks (default: _build/student)",
    )
    parser.add_argument(
        "--build",
        default=str(DEFAULT_BUILD),
        help="the book's build whose numbers and references the text shows "
        "(default: _build, written by make book)",
    )
    parser.add_argument(
        "chapters",
        nargs="*",
        help="chapter files or names (default: every chapter of _toc.yml with code cells, "
        "and the handout's neural_network.ipynb and MLP.ipynb with a README.md)",
    )
    args = parser.parse_args(argv)

    def write():
        refs = load_refs(args.build)
        written = write_student_edition(args.chapters, args.out, refs)
        if not args.chapters:  # the whole edition: the handout's notebooks too
            written += write_handout_notebooks(args.out, refs)
        return written

    return list_written(write, "student edition", StudentEditionError)


def list_written(write, what: str, errors: type[Exception]) -> int:
    """Run ``write()`` and print the paths it returns, one a line: exit status 0.

    An error of the type ``errors`` is printed as ``"<what>: error: ..."`` on stderr
    instead, with exit status 2 (the command lines of the student edition and of the
    launch notebooks).
    """
    try:
        written = write()
    except errors as error:
        print(f"{what}: error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
