"""The inside of a grading box: run one notebook and report what its checks printed.

``python -m labcode._gradebox NOTEBOOK RESULT_FD CELL_TIMEOUT [COMMAND_FD]`` is what
:func:`labcode.grade.grade_notebooks` starts for each submission, in the submission's own
folder and session (:mod:`labcode.grade` says which sandbox wraps it). It executes the
notebook's code cells in order in a fresh kernel, stops at the first cell that raises or
runs past ``CELL_TIMEOUT`` seconds, and writes one JSON object to the file descriptor
``RESULT_FD`` after every code cell: the verdicts seen so far and, once it stopped, why.
The grader keeps the last complete object it read, so verdicts earned before a kernel
dies or the box is killed are kept.

With ``COMMAND_FD``, before each of the instructor's check cells it writes ``{"at":
index}`` and carries out the grader's commands until ``{"go": true}``: each ``{"call":
...}`` runs one call of the student's function in the kernel (:func:`labcode._sealed.serve`)
and answers ``{"reply": base64}``. That is how the grader runs the sealed checks itself.
This process makes itself undumpable, so the kernel it starts (same user) cannot open its
file descriptors through ``/proc`` and write a report in its name.

Each verdict is read from the output of the cell that ran the check (the line the
checker prints, ``✓ name: passed ...`` or ``✗ name: failed.`` ...), in the order the
cells ran; where the grader marked the instructor's check cells
(``metadata.labcode.grader == "check"``), from those cells only, and the last line of a
cell for a name wins (the checker prints after the student's code ran).
"""

from __future__ import annotations

import base64
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


def _undumpable() -> None:
    """PR_SET_DUMPABLE 0: processes of the same user may no longer open our /proc files."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the box's other walls remain
        pass


_MAX_READ = 256 * 2**20


def _read_reply(path: str) -> bytes | None:
    """The reply file, never through a link and never more than the grader reads."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a pipe or a device: no reply
            return None
        return fh.read(_MAX_READ + 1)


def main(argv: list[str]) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path, fd, cell_timeout = argv[0], int(argv[1]), float(argv[2])
    _undumpable()
    out = os.fdopen(fd, "w", encoding="utf8")
    commands = os.fdopen(int(argv[3]), "r", encoding="utf8") if len(argv) > 3 else None
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

    cells = list(nb.cells)
    scratch = nbformat.v4.new_code_cell("")  # where the grader's calls run; never saved
    nb.cells.append(scratch)
    folder = os.path.dirname(os.path.abspath(path))
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            interrupt_on_timeout=False, allow_errors=True,
                            resources={"metadata": {"path": os.path.dirname(path) or "."}})

    def send(message: dict) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    def call(command: dict) -> str | None:
        """Run one call of the student's function; the reply, base64, or None."""
        request, reply = os.path.join(folder, ".call.pkl"), os.path.join(folder, ".reply.npz")
        for stale in (request, reply):
            if os.path.lexists(stale):
                os.unlink(stale)
        with open(request, "wb") as fh:
            fh.write(base64.b64decode(command["request"]))
        scratch.source = (f"__import__('labcode._sealed', fromlist=['serve']).serve("
                          f"lambda: ({command['expr']}), {command['piece']!r}, {request!r}, "
                          f"{reply!r})")
        scratch.outputs = []
        client.allow_errors = True  # the call's own errors are in the reply
        client.execute_cell(scratch, len(nb.cells) - 1, store_history=False)
        data = _read_reply(reply)
        return None if data is None else base64.b64encode(data).decode()

    def serve_grader(index: int) -> None:
        """Carry out the grader's calls before check cell ``index``."""
        if commands is None:
            return
        send({"at": index})
        for line in commands:
            command = json.loads(line)
            if command.get("go"):
                return
            send({"reply": call(command["call"])})
        raise EOFError("the grader closed its commands")

    try:
        with client.setup_kernel():
            for index, cell in enumerate(cells):
                if cell.cell_type != "code":
                    continue
                first_line = (cell.source.strip().splitlines() or ["(empty)"])[0][:60]
                where = f"cell {index + 1} ({first_line})"
                try:
                    if cell.get("metadata", {}).get("labcode", {}).get("grader") == "check":
                        serve_grader(index)
                    client.allow_errors = False
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
