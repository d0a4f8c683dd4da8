"""The inside of a grading box: run one notebook and report what its checks printed.

``python -m labcode._gradebox NOTEBOOK RESULT_FD CELL_TIMEOUT`` is what
:func:`labcode.grade.grade_notebooks` starts for each submission, in the submission's own
folder and session (:mod:`labcode.grade` says which sandbox wraps it). It executes the
notebook's code cells in order in a fresh kernel, stops at the first cell that raises or
runs past ``CELL_TIMEOUT`` seconds, and writes one JSON object to the file descriptor
``RESULT_FD`` after every code cell: the verdicts seen so far and, once it stopped, why.
The grader keeps the last complete object it read, so verdicts earned before a kernel
dies or the box is killed are kept.

Each verdict is read from the output of the cell that ran the check (the line the
checker prints, ``✓ name: passed ...`` or ``✗ name: failed.`` ...), in the order the
cells ran; where the grader marked the instructor's check cells
(``metadata.labcode.grader == "check"``), from those cells only, and the last line of a
cell for a name wins (the checker prints after the student's code ran).
"""

from __future__ import annotations

import json
import os
import re
import sys

_VERDICT = re.compile(r"^([✓✗○]) (\w+): (passed|failed\.|error\.|not implemented yet\.)", re.M)
_STATUS = {"passed": "passed", "failed.": "failed", "error.": "error",
           "not implemented yet.": "not implemented"}


def _verdicts(outputs: list, verdicts: dict[str, dict]) -> None:
    """Add the verdicts printed in a cell's outputs, each with its message."""
    text = "".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")
    starts = list(_VERDICT.finditer(text))
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        verdicts[match.group(2)] = {"name": match.group(2), "status": _STATUS[match.group(3)],
                                    "message": text[match.start():end].rstrip()}


def main(argv: list[str]) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path, fd, cell_timeout = argv[0], int(argv[1]), float(argv[2])
    out = os.fdopen(fd, "w", encoding="utf8")
    nb = nbformat.read(path, as_version=4)
    verdicts: dict[str, dict] = {}
    stopped = None
    # with the instructor's copy, only the check cells it marked may report verdicts
    marked = any(c.get("metadata", {}).get("labcode", {}).get("grader") == "check"
                 for c in nb.cells)

    def report(done: bool) -> None:
        out.write(json.dumps({"verdicts": list(verdicts.values()), "stopped": stopped,
                              "done": done}) + "\n")
        out.flush()

    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            interrupt_on_timeout=False, allow_errors=False,
                            resources={"metadata": {"path": os.path.dirname(path) or "."}})
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                first_line = (cell.source.strip().splitlines() or ["(empty)"])[0][:60]
                where = f"cell {index + 1} ({first_line})"
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    stopped = f"{where}: ran past the {cell_timeout:g} s a cell may take"
                except CellExecutionError as exc:
                    stopped = f"{where}: {exc.ename}: {exc.evalue}"
                except DeadKernelError:
                    stopped = f"{where}: the kernel died"
                finally:
                    if not marked or cell.get("metadata", {}).get("labcode", {}).get(
                            "grader") == "check":
                        _verdicts(cell.get("outputs", []), verdicts)
                report(False)
                if stopped is not None:
                    break
    except Exception as exc:  # noqa: BLE001 - the kernel did not start or answer
        stopped = stopped or f"the notebook could not be run: {type(exc).__name__}: {exc}"
    report(True)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
