"""Grading a class: run each submitted notebook and collect every check's verdict.

``python -m labcode grade SUBMISSIONS...`` (see :mod:`labcode.cli`) calls
:func:`grade_notebooks`. Each notebook runs in a fresh Jupyter kernel, cell after cell,
with a time limit per cell and one for the whole notebook; the first cell that raises
or runs too long stops it. A last cell, added by the grader, reads the verdicts of
:func:`labcode.checks.framework.check_all` from the kernel. The result is one row per submission
and check:

=================  ==========================================================================
status             meaning
=================  ==========================================================================
passed             the check ran on the student's code and every comparison held
failed             it ran and found a wrong answer; ``detail`` holds the check's message
not implemented    the starter was left as it was
error              the student's code raised inside the check; ``detail`` says where
not reached        the notebook stopped before the check: ``detail`` names the cell and error
missing            the notebook ran to the end but the check was deleted from it
unreadable         the file is not a notebook (one row, ``check`` empty)
=================  ==========================================================================

The checks a notebook should contain are those the student edition wrote into its
metadata (``metadata.labcode.checks``); a notebook without that metadata is expected to
contain the checks it calls. Running the notebooks needs ``nbclient``, ``nbformat`` and
``ipykernel`` (the ``test`` extra installs them).

The student's written answers ("What do you observe?", the questions to think about)
are not graded: :func:`collect_observations` reads them, without running anything, from
the Markdown cells tagged ``observation``, and :func:`write_observations` puts them side by
side for the instructor, question by question.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import _validate

__all__ = ["STATUSES", "GradeRow", "expected_checks", "grade_notebooks", "write_table",
           "OBSERVATION_PROMPT", "collect_observations", "write_observations"]

STATUSES = ("passed", "failed", "not implemented", "error", "not reached", "missing",
            "unreadable")
"""Every value of :attr:`GradeRow.status`."""

OBSERVATION_PROMPT = ("*Your answer: double-click this cell, replace this line with what you "
                      "observe, and run the cell.*")
"""What a student's answer cell holds until the student writes in it (the student edition
writes it, book/_ext/student_edition.py)."""

_MARKER = "@@labcode-verdicts@@"
_COLLECT = f"""\
import json as _labcode_json
try:
    from labcode.checks import check_all as _labcode_check_all
    _labcode_rows = [{{"name": v.name, "status": v.status, "message": v.message}}
                     for v in _labcode_check_all().verdicts]
except Exception:  # labcode not importable, or the checks replaced: no verdicts
    _labcode_rows = []
print({_MARKER!r} + _labcode_json.dumps(_labcode_rows))
"""
_CALL = re.compile(r"\bcheck_(\w+)\s*\(")


@dataclass(frozen=True)
class GradeRow:
    """One submission and one check."""

    submission: str
    """The notebook's path, as given (or found in the folder given)."""
    check: str
    """The piece checked, for example ``"fc_backward"``; empty for an unreadable file."""
    status: str
    """One of :data:`STATUSES`."""
    detail: str
    """The check's message (with its hint), or why the check was not reached."""


def _piece(checker_suffix: str) -> str | None:
    """The piece a ``check_<suffix>(...)`` call checks, or None for a name that is not a checker."""
    from .checks import __all__ as checkers
    from .checks.framework import _CHECKER_NAMES

    if f"check_{checker_suffix}" not in checkers or checker_suffix == "all":
        return None
    by_suffix = {suffix: piece for piece, suffix in _CHECKER_NAMES.items()}
    return by_suffix.get(checker_suffix, checker_suffix)


def expected_checks(nb) -> list[str]:
    """The pieces a notebook should check: its metadata's list, else the checks it calls."""
    listed = nb.get("metadata", {}).get("labcode", {}).get("checks")
    if isinstance(listed, list) and all(isinstance(x, str) for x in listed):
        return list(listed)
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for suffix in _CALL.findall(cell.source):
                piece = _piece(suffix)
                if piece is not None and piece not in found:
                    found.append(piece)
    return found


def _run(nb, folder: Path, cell_timeout: float, notebook_timeout: float) -> tuple[list, str | None]:
    """Execute ``nb``; return the verdicts read from its kernel and why it stopped (or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    import nbformat

    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            interrupt_on_timeout=True, allow_errors=False,
                            resources={"metadata": {"path": str(folder)}})
    stopped = None
    verdicts: list = []
    deadline = time.monotonic() + notebook_timeout
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if time.monotonic() > deadline:
                stopped = f"cell {index + 1}: the notebook ran past its {notebook_timeout:g} s"
                break
            first_line = (cell.source.strip().splitlines() or ["(empty)"])[0][:60]
            where = f"cell {index + 1} ({first_line})"
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                stopped = f"{where}: ran past the {cell_timeout:g} s a cell may take"
                break
            except CellExecutionError as exc:
                if exc.ename == "KeyboardInterrupt":  # interrupted at the time limit
                    stopped = f"{where}: ran past the {cell_timeout:g} s a cell may take"
                else:
                    stopped = f"{where}: {exc.ename}: {exc.evalue}"
                break
            except DeadKernelError:
                stopped = f"{where}: the kernel died"
                break
        try:
            collector = nbformat.v4.new_code_cell(_COLLECT)
            nb.cells.append(collector)  # nbclient stores each executed cell in the notebook
            client.execute_cell(collector, len(nb.cells) - 1)
            for out in collector.outputs:
                for line in out.get("text", "").splitlines():
                    if line.startswith(_MARKER):
                        verdicts = json.loads(line[len(_MARKER):])
        except Exception:  # noqa: BLE001 - a kernel that cannot answer: no verdicts
            verdicts = []
    return verdicts, stopped


def _grade_one(path: Path, cell_timeout: float, notebook_timeout: float) -> list[GradeRow]:
    import nbformat

    name = str(path)
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - not a notebook: one row says so
        return [GradeRow(name, "", "unreadable", f"not a notebook: {type(exc).__name__}: "
                                                 f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")]
    expected = expected_checks(nb)
    try:
        verdicts, stopped = _run(nb, path.parent, cell_timeout, notebook_timeout)
    except Exception as exc:  # noqa: BLE001 - the kernel did not start, for example
        verdicts, stopped = [], f"the notebook could not be run: {type(exc).__name__}: {exc}"
    seen = {v["name"]: v for v in verdicts if isinstance(v, dict) and "name" in v}
    rows = []
    for piece in expected + [p for p in seen if p not in expected]:
        if piece in seen:
            rows.append(GradeRow(name, piece, seen[piece]["status"], seen[piece]["message"]))
        elif stopped is not None:
            rows.append(GradeRow(name, piece, "not reached", stopped))
        else:
            rows.append(GradeRow(name, piece, "missing",
                                 "the notebook ran to its end without this check: its cell "
                                 "was deleted or changed"))
    if not rows:
        rows.append(GradeRow(name, "", "missing", "the notebook holds no checks"
                             + (f"; it stopped at {stopped}" if stopped else "")))
    return rows


def _notebooks(paths: list[str | Path]) -> list[Path]:
    found = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.exists():
            found.append(p)
        else:
            raise ValueError(f"no such file or folder: {str(p)!r}")
    return found


def grade_notebooks(paths: list[str | Path], *, cell_timeout: float = 120.0,
                    notebook_timeout: float = 900.0) -> list[GradeRow]:
    """Run every notebook of ``paths`` (files, or folders searched for ``*.ipynb``) and grade it.

    Returns the rows of all submissions, in the order of the files. A file that is not
    a notebook, a notebook that raises or never ends, and one whose checks were deleted
    each get their rows; nothing here raises because of a submission.
    """
    cell_timeout = _validate.positive(cell_timeout, "cell_timeout")
    notebook_timeout = _validate.positive(notebook_timeout, "notebook_timeout")
    rows: list[GradeRow] = []
    for path in _notebooks(list(paths)):
        rows += _grade_one(path, cell_timeout, notebook_timeout)
    return rows


def write_table(rows: list[GradeRow], csv_path: str | Path | None = None,
                json_path: str | Path | None = None) -> None:
    """Write the rows as CSV (submission, check, status, detail) and as JSON (a list of rows)."""
    import csv

    if csv_path is not None:
        with open(csv_path, "w", newline="", encoding="utf8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["submission", "check", "status", "detail"])
            writer.writeheader()
            writer.writerows(asdict(r) for r in rows)
    if json_path is not None:
        Path(json_path).write_text(json.dumps([asdict(r) for r in rows], indent=1),
                                   encoding="utf8")


def collect_observations(paths: list[str | Path]) -> list[dict[str, str]]:
    """The answers students wrote in the cells tagged ``observation``, in file order.

    One dict per answer cell: ``submission`` (the file), ``question`` (the id the
    student edition gave the cell, for example ``"studies-1"``) and ``answer`` (the
    cell's text; ``""`` when the student left the prompt as it was). Nothing is run; a
    file that is not a notebook gives no answers.
    """
    import nbformat

    found = []
    for path in _notebooks(list(paths)):
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable file already has its grade row
            continue
        for cell in nb.get("cells", []):
            tags = cell.get("metadata", {}).get("tags", [])
            if cell.get("cell_type") != "markdown" or "observation" not in tags:
                continue
            question = cell.get("metadata", {}).get("labcode", {}).get("observation")
            text = str(cell.get("source", "")).strip()
            found.append({"submission": str(path),
                          "question": question if isinstance(question, str) else "?",
                          "answer": "" if text == OBSERVATION_PROMPT else text})
    return found


def write_observations(observations: list[dict[str, str]], path: str | Path) -> None:
    """Write the answers as Markdown, grouped by question, each student's as a quote."""
    lines = ["# What the students observed", ""]
    questions: dict[str, list[dict[str, str]]] = {}
    for item in observations:
        questions.setdefault(item["question"], []).append(item)
    for question, answers in questions.items():
        lines += [f"## {question}", ""]
        for item in answers:
            lines.append(f"**{item['submission']}**")
            lines.append("")
            text = item["answer"] or "(not answered)"
            lines += [f"> {line}" if line else ">" for line in text.splitlines()]
            lines.append("")
    Path(path).write_text("\n".join(lines), encoding="utf8")
