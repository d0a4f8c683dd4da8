"""Grading a class: run each submitted notebook in a box of its own and collect the verdicts.

``python -m labcode grade SUBMISSIONS... --edition FOLDER`` (see :mod:`labcode.cli`) calls
:func:`grade_notebooks`. For each submission:

1. **The instructor decides what is checked.** The submission is matched to a notebook of
   the instructor's copy of the student edition (``--edition``, what ``make student``
   wrote): the one of the same file name, else the one that shares most answer-cell ids.
   The graded notebook is the instructor's, with only the student's *answer cells* (the
   cells tagged ``starter``, matched by cell id) taken from the submission: every given
   cell, every check cell and the list of checks (``metadata.labcode.checks``) come from
   the instructor's copy. Given cells the student changed or deleted are reported (status
   ``changed``); they do not run. Without ``--edition`` the submission is run as it is and
   its own metadata lists its checks, which only suits a trusted notebook.
2. **Each submission runs in its own box** (:data:`SANDBOXES`): a new temporary folder that
   holds only its notebook, a fresh ``HOME``, IPython profile and Jupyter folders, its own
   session (process group), a memory limit and a file-size limit. With ``bwrap``
   (bubblewrap) on the ``PATH`` the box is also a container: the whole file system is
   read-only but for the box, the folders of the submissions and of the other boxes are
   hidden, there is no network, and every process of the box dies with it. Run as root without ``bwrap``, the box runs as the user ``nobody``, who cannot write
   the submissions, the grade files or labcode's installation. Otherwise (``process``) it
   runs as the grader's user, and only its folder, session and limits separate it.
3. **Limits that hold.** A notebook that runs past ``notebook_timeout`` seconds has its
   whole box killed (``SIGKILL`` of its session, and of every process that carries the
   box's token in its environment), whatever its code catches or ignores. The box reports
   the verdicts after every cell, so those earned before a kernel dies are kept.
4. **Sealed checks** (``labcode._sealed.SEALED``, the pieces that take and return
   data): the grader runs the checker itself, in its own process, on a
   ``RemoteFunction`` of ``labcode._sealed``; each call runs the student's function in
   the box, and only data comes back. What the box's kernel printed for these pieces counts
   for nothing. Every other verdict is read from the output of an instructor's check
   cell. A check that passed on labcode's own reference (an answer cell that uses
   ``labcode``, or the reference itself) is ``reference used``. An answer cell that
   touches labcode's checks or code, IPython's hooks, the interpreter's builtins, code
   built at run time, other processes or files outside its box is ``flagged`` for the
   instructor: a row says what it touches, and every unsealed check of the submission that
   passed is ``flagged`` instead, since the answer cells could have written its verdict.

=================  ==========================================================================
status             meaning
=================  ==========================================================================
passed             the check ran on the student's code and every comparison held
failed             it ran and found a wrong answer; ``detail`` holds the check's message
not implemented    the starter was left as it was
error              the student's code raised inside the check; ``detail`` says where
reference used     it passed on labcode's reference, which the answer cell imported or wrapped
not reached        the notebook stopped before the check: ``detail`` names the cell and error
missing            the notebook ran to the end but the check was deleted from it
unreadable         the file is not a notebook (one row, ``check`` empty)
flagged            a check that passed in a submission whose answer cells touch what they
                   should not; and one row (``check`` empty) that says what they touch
changed            one row (``check`` empty): the given cells changed or deleted (not run)
=================  ==========================================================================

What the box does not protect: the unsealed checks run in the same kernel as the student's
code, so a submission can still write their verdicts there; ``flagged`` names the usual
ways of doing so. The process inside the box that reports to the grader is undumpable, so
a kernel of the same user cannot write into its report through ``/proc``; a kernel that
runs as root with its capabilities (the ``process`` box started by root) can, which
matters for the unsealed checks alone. In the ``process`` mode the box's code can still
read and write every file the grader's user can.

The student's written answers ("What do you observe?", the questions to think about)
are not graded: :func:`collect_observations` reads them, without running anything, from
the Markdown cells tagged ``observation``, and :func:`write_observations` puts them side by
side for the instructor, question by question.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from . import _validate
from ._sealed import KernelGone as _KernelGone

__all__ = ["STATUSES", "SANDBOXES", "GradeRow", "expected_checks", "grade_notebooks",
           "write_table", "read_table", "read_rubric", "gradebook", "check_summary",
           "write_gradebook", "OBSERVATION_PROMPT", "collect_observations", "book_answers",
           "write_observations"]

STATUSES = ("passed", "failed", "not implemented", "error", "reference used", "not reached",
            "missing", "unreadable", "flagged", "changed")
"""Every value of :attr:`GradeRow.status`."""

SANDBOXES = ("bwrap", "nobody", "process")
"""The kinds of box, strongest first; ``sandbox="auto"`` takes the first this machine has."""

OBSERVATION_PROMPT = ("*Your answer: double-click this cell, replace this line with what you "
                      "observe, and run the cell.*")
"""What a student's answer cell holds until the student writes in it (the student edition
writes it, book/_ext/student_edition.py)."""

STARTER_TAG = "starter"
"""The tag of an answer cell: the cells a student writes, taken from the submission."""

MEMORY_LIMIT = 4 * 2**30
"""Bytes of address space each process of a box may use (``RLIMIT_AS``)."""

FILE_LIMIT = 2**30
"""The largest file a box may write, in bytes (``RLIMIT_FSIZE``)."""

_CALL = re.compile(r"\bcheck_(\w+)\s*\(")
_DEFINES = re.compile(r"^(?:def|class)\s+(\w+)", re.M)
_TOUCHES = [
    (re.compile(r"\blabcode\.checks\b|\bcheck_all\b|\b_RESULTS\b|\bVerdict\b|\bframework\b"
                r"|\bfrom\s+labcode\s+import\s+checks\b|\bcheck_\w+\s*=|\b_Run\b|\b_run\b"
                r"|\b(?:def|class)\s+check_\w+"),
     "labcode's checks"),
    (re.compile(r"\blabcode(?:\.\w+)+\s*=(?!=)"), "labcode's own code"),
    (re.compile(r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|__import__|\bimportlib\b|\bsetattr\s*\("
                r"|\bglobals\s*\(\s*\)\s*\[|\bbase64\b|\bcodecs\b|\bmarshal\b|\bpickle\b"),
     "code built at run time"),
    (re.compile(r"\bget_ipython\b|\bIPython\b|\binput_transformers|\bevents\.register\b"
                r"|\b(?:post|pre)_run_cell\b"), "IPython's hooks"),
    (re.compile(r"\bbuiltins\b|__builtins__|\bsys\.modules\b|\bsys\.stdout\s*=|\bjson\.dumps\s*="
                r"|^\s*print\s*=|^\s*def\s+print\s*\("), "the interpreter's builtins or modules"),
    (re.compile(r"\bsubprocess\b|\bos\.(?:system|fork|kill|killpg|setsid|exec\w*|spawn\w*)\b"
                r"|\bctypes\b|\bmultiprocessing\b|\bsignal\.signal\b"), "other processes"),
    (re.compile(r"\bgrades\.(?:csv|json)\b|\bobservations\.md\b|\bshutil\.|\bos\.(?:remove|unlink"
                r"|rename|replace|chmod|symlink|makedirs|mkdir)\b|\bsite-packages\b|\.\./"
                r"|\bopen\s*\(\s*[rbfRBF]*['\"]/"),
     "files outside its cells"),
]


@dataclass(frozen=True)
class GradeRow:
    """One submission and one check."""

    submission: str
    """The notebook's path, as given (or found in the folder given)."""
    check: str
    """The piece checked, for example ``"fc_forward"``; empty for a row about the file."""
    status: str
    """One of :data:`STATUSES`."""
    detail: str
    """The check's message, or why there is none."""


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


# --- the instructor's copy ------------------------------------------------------------------


def _tags(cell) -> list:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def _answer_ids(nb) -> set[str]:
    return {c.get("id") for c in nb.cells if STARTER_TAG in _tags(c) and c.get("id")}


def _edition_for(path: Path, nb, edition: list[tuple[Path, object]]):
    """The instructor's notebook a submission answers: same name, else most answer ids."""
    for candidate, inb in edition:
        if candidate.name == path.name:
            return inb
    ids = {c.get("id") for c in nb.get("cells", [])}
    best = max(edition, key=lambda e: len(_answer_ids(e[1]) & ids), default=None)
    if best is None or not _answer_ids(best[1]) & ids:
        return None
    return best[1]


def _merge(instructor, submission) -> tuple[object, list[str], dict[str, str]]:
    """The instructor's notebook with the submission's answer cells, the given cells the
    submission changed or deleted, and the source of each answer cell by the pieces it
    defines."""
    import copy

    graded = copy.deepcopy(instructor)
    theirs = {c.get("id"): c for c in submission.get("cells", []) if c.get("id")}
    changed, answers = [], {}
    for index, cell in enumerate(graded.cells):
        mine = theirs.get(cell.get("id"))
        if STARTER_TAG in _tags(cell):
            pieces = _DEFINES.findall(cell.source)
            if mine is not None and mine.get("cell_type") == "code":
                cell.source = str(mine.get("source", ""))
            for piece in pieces:
                answers[piece] = cell.source
        elif cell.cell_type == "code":
            if _CALL.search(cell.source):
                cell.metadata.setdefault("labcode", {})["grader"] = "check"
            if mine is None:
                changed.append(f"cell {index + 1} deleted")
            elif str(mine.get("source", "")) != cell.source:
                changed.append(f"cell {index + 1} changed")
    return graded, changed, answers


def _flags(answers: dict[str, str]) -> list[str]:
    found = []
    for source in dict.fromkeys(answers.values()):
        for pattern, what in _TOUCHES:
            if pattern.search(source) and what not in found:
                found.append(what)
    return found


# --- the box ----------------------------------------------------------------------------------


def _sandbox(requested: str) -> str:
    """The kind of box to use: ``requested``, or the strongest that works here."""
    if requested not in ("auto", *SANDBOXES):
        raise ValueError(f"sandbox must be 'auto' or one of {list(SANDBOXES)}, got {requested!r}")
    if requested != "auto":
        if requested != "process" and not _works(requested):
            raise ValueError(f"the {requested!r} box does not work on this machine: "
                             + ("bwrap is not installed or may not make namespaces"
                                if requested == "bwrap" else
                                "it needs root, and the user nobody must be able to read "
                                "Python and labcode"))
        return requested
    for mode in SANDBOXES[:-1]:
        if _works(mode):
            return mode
    return "process"


_PROBES: dict[str, bool] = {}


def _boxes_root() -> Path:
    """The folder every box of this machine is made in: traversable, not listable, so a
    box cannot find the others (their names are random)."""
    root = Path(tempfile.gettempdir()) / f"labcode-boxes-{os.getuid() if hasattr(os, 'getuid') else 0}"
    root.mkdir(mode=0o711, exist_ok=True)
    if root.is_symlink() or not root.is_dir():
        raise ValueError(f"{str(root)!r} must be a folder of the grader's own")
    os.chmod(root, 0o711)
    return root


def _bwrap(box: Path, hidden: tuple[str, ...] = ()) -> list[str]:
    """bubblewrap's arguments for a box: everything read-only, the folders of the boxes
    and of the submissions (``hidden``) replaced by empty ones, the box itself writable,
    no network, a pid namespace that dies with the grader, no capabilities."""
    args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for folder in (str(_boxes_root()), *hidden):
        args += ["--tmpfs", folder]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # started by root, bwrap keeps every capability: the box could unmount what hides
        # the other submissions, or open the /proc files of the process that reports for it
        args += ["--cap-drop", "ALL"]
    return args + ["--bind", str(box), str(box), "--unshare-all", "--die-with-parent",
                   "--chdir", str(box), "--"]


def _hidden(paths: list[Path]) -> tuple[str, ...]:
    """The folders of the submissions a box must not see: each one that holds neither
    Python, nor labcode, nor the boxes."""
    import labcode

    keep = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(labcode.__file__).resolve().parent, _boxes_root().resolve()]
    found = []
    for folder in dict.fromkeys(p.resolve().parent for p in paths):
        if not any(k == folder or folder in k.parents for k in keep):
            found.append(str(folder))
    return tuple(found)


def _works(mode: str) -> bool:
    """Whether a box of this kind can start Python with labcode and a kernel here (once)."""
    if mode not in _PROBES:
        cmd = [sys.executable, "-c", "import labcode.checks, nbclient, ipykernel"]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp",
               "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            if mode == "bwrap":
                if not shutil.which("bwrap"):
                    raise OSError("no bwrap")
                box = Path(tempfile.mkdtemp(dir=_boxes_root()))
                try:
                    probe = subprocess.run([*_bwrap(box), *cmd], capture_output=True,
                                           timeout=120, env=env)
                finally:
                    shutil.rmtree(box, ignore_errors=True)
            else:
                if not (hasattr(os, "geteuid") and os.geteuid() == 0):
                    raise OSError("not root")
                probe = subprocess.run(cmd, capture_output=True, timeout=120, env=env, cwd="/",
                                       preexec_fn=_limits(_NOBODY))
            _PROBES[mode] = probe.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _PROBES[mode] = False
    return _PROBES[mode]


_NOBODY = 65534
"""The uid and gid of the user ``nobody``, who owns nothing."""


def _limits(uid: int | None) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return apply


def _box_env(box: Path, token: str) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
            "ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE", "MPLBACKEND")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "HOME": str(box), "TMPDIR": str(box / "tmp"), "IPYTHONDIR": str(box / ".ipython"),
        "JUPYTER_CONFIG_DIR": str(box / ".jupyter"), "JUPYTER_DATA_DIR": str(box / ".jupyter/data"),
        "JUPYTER_RUNTIME_DIR": str(box / ".jupyter/runtime"), "MPLCONFIGDIR": str(box / ".mpl"),
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "LABCODE_BOX": token,
        "JUPYTER_PLATFORM_DIRS": "1",
    })
    return env


def _kill_box(proc: subprocess.Popen, token: str) -> None:
    """Kill the box's session, then every process that still carries its token."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    needle = f"LABCODE_BOX={token}".encode()
    for _ in range(3):
        found = False
        for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found = True
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if not found:
            break
        time.sleep(0.05)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _sealed_calls(nb) -> dict[int, list[tuple[str, str]]]:
    """For each of the instructor's check cells, its sealed checks: (piece, argument's source)."""
    import ast

    from ._sealed import SEALED

    found: dict[int, list[tuple[str, str]]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.get("metadata", {}).get("labcode", {}).get(
                "grader") != "check":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        calls = []
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.startswith("check_") and len(node.args) == 1):
                piece = _piece(node.func.id.removeprefix("check_"))
                expr = ast.get_source_segment(cell.source, node.args[0])
                if piece in SEALED and expr:
                    calls.append((node.lineno, node.col_offset, piece, expr))
        if calls:
            found[index] = [(piece, expr) for *_, piece, expr in sorted(calls)]
    return found


_SEALED_LOCK = threading.Lock()
"""One sealed check at a time in this process: the checkers record warnings through the
process-wide ``warnings`` filters."""


class _Channel:
    """The grader's end of a box: its reports, and the calls of the sealed checks."""

    def __init__(self, read_fd: int, command_fd: int, deadline: float):
        import queue

        self.messages: queue.Queue = queue.Queue()
        self.commands = os.fdopen(command_fd, "w", encoding="utf8")
        self.deadline = deadline
        self.report: dict | None = None
        self.ended = False
        self.timed_out = False
        self._reader = threading.Thread(target=self._read, args=(read_fd,), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "r", encoding="utf8", errors="replace") as fh:
            for line in fh:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    self.messages.put(message)
        self.messages.put(None)

    def next(self) -> dict | None:
        """The next message that is not a report (reports are kept); None once it ended."""
        import queue

        while not self.ended:
            try:
                message = self.messages.get(timeout=max(0.0, self.deadline - time.monotonic()))
            except queue.Empty:
                self.timed_out = self.ended = True
                break
            if message is None:
                self.ended = True
            elif "verdicts" in message:
                self.report = message
            else:
                return message
        return None

    def command(self, message: dict) -> None:
        from ._sealed import KernelGone

        try:
            self.commands.write(json.dumps(message) + "\n")
            self.commands.flush()
        except (OSError, ValueError):
            raise KernelGone("the box ended") from None

    def call(self, piece: str, expr: str) -> Callable[[bytes], bytes]:
        """``send`` for a :class:`labcode._sealed.RemoteFunction`."""
        import base64

        from ._sealed import KernelGone, ReplyError

        def send(request: bytes) -> bytes:
            self.command({"call": {"piece": piece, "expr": expr,
                                   "request": base64.b64encode(request).decode()}})
            message = self.next()
            if message is None:
                raise KernelGone("the box ended during the call")
            if not isinstance(message.get("reply"), str):
                raise ReplyError("your kernel gave no answer to the call (its code replaced "
                                 "or broke what answers it)")
            try:
                return base64.b64decode(message["reply"], validate=True)
            except ValueError:
                raise ReplyError("an unreadable answer") from None

        return send

    def close(self) -> None:
        try:
            self.commands.close()
        except OSError:
            pass


def _sealed_check(channel: _Channel, piece: str, expr: str) -> dict | None:
    """Run the checker of ``piece`` here, on the student's function in the box; None when the
    box ended or ran out of time during it."""
    from . import checks
    from ._sealed import KernelGone, RemoteFunction
    from .checks.framework import _CHECKER_NAMES

    checker = getattr(checks, f"check_{_CHECKER_NAMES.get(piece, piece)}")
    student = RemoteFunction(piece, channel.call(piece, expr))
    try:
        with _SEALED_LOCK:
            verdict = checker(student, verbose=False)
    except KernelGone:
        return None
    return {"name": piece, "status": verdict.status, "message": verdict.message,
            "reference": student.reference}


def _run_in_box(nb, name: str, cell_timeout: float, notebook_timeout: float,
                sandbox: str, hidden: tuple[str, ...] = (), sealed: dict | None = None,
                ) -> tuple[list[dict], str | None, dict[str, dict]]:
    """Run ``nb`` in a new box; return the verdicts it reported, why it stopped, and the
    verdicts of the sealed checks (``sealed``: :func:`_sealed_calls`), run here."""
    import nbformat

    box = Path(tempfile.mkdtemp(dir=_boxes_root()))
    try:
        for sub in ("tmp", ".ipython", ".jupyter/data", ".jupyter/runtime", ".mpl"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        path = box / name
        nbformat.write(nb, str(path))
        uid = None
        if sandbox == "nobody":
            uid = _NOBODY
            for p in [box, *box.rglob("*")]:
                os.chown(p, uid, uid)
        os.chmod(box, 0o700)
        token = secrets.token_hex(16)
        read_fd, write_fd = os.pipe()
        command_read, command_write = os.pipe()
        cmd = [sys.executable, "-m", "labcode._gradebox", str(path), str(write_fd),
               repr(float(cell_timeout)), str(command_read)]
        if sandbox == "bwrap":
            cmd = [*_bwrap(box, hidden), *cmd]
        deadline = time.monotonic() + notebook_timeout
        proc = subprocess.Popen(cmd, cwd=box, env=_box_env(box, token),
                                pass_fds=(write_fd, command_read),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_limits(uid))
        os.close(write_fd)
        os.close(command_read)
        channel = _Channel(read_fd, command_write, deadline)
        results: dict[str, dict] = {}
        try:
            while (message := channel.next()) is not None:
                if isinstance(message.get("at"), int):
                    for piece, expr in (sealed or {}).get(message["at"], []):
                        verdict = _sealed_check(channel, piece, expr)
                        if verdict is None:
                            break
                        results[piece] = verdict
                    channel.command({"go": True})
        except (Exception, _KernelGone):  # noqa: BLE001 - the box ended while we answered:
            pass  # its report says why
        finally:
            timed_out = channel.timed_out
            channel.close()
            _kill_box(proc, token)
        report = channel.report
        verdicts = report.get("verdicts", []) if isinstance(report, dict) else []
        stopped = report.get("stopped") if isinstance(report, dict) else None
        if timed_out:
            stopped = f"the notebook ran past its {notebook_timeout:g} s and was stopped"
        elif not isinstance(report, dict) or not report.get("done"):
            stopped = stopped or "the box ended without finishing the notebook (its kernel died)"
        return [v for v in verdicts if isinstance(v, dict)], stopped, results
    finally:
        shutil.rmtree(box, ignore_errors=True)


# --- grading ----------------------------------------------------------------------------------


def _grade_one(path: Path, edition: list | None, cell_timeout: float, notebook_timeout: float,
               sandbox: str, hidden: tuple[str, ...] = ()) -> list[GradeRow]:
    import nbformat

    name = str(path)
    try:
        if path.is_symlink():
            raise ValueError("a symbolic link, not a file")
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - not a notebook: one row says so
        return [GradeRow(name, "", "unreadable", f"not a notebook: {type(exc).__name__}: "
                                                 f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")]
    extra: list[GradeRow] = []
    answers: dict[str, str] = {}
    if edition is not None:
        instructor = _edition_for(path, nb, edition)
        if instructor is None:
            return [GradeRow(name, "", "unreadable", "no notebook of the edition has its "
                             "answer cells: it is not a submission of this lab")]
        expected = expected_checks(instructor)
        graded, changed, answers = _merge(instructor, nb)
        flags = _flags(answers)
        if flags:
            extra.append(GradeRow(name, "", "flagged", "answer cells touch " + ", ".join(flags)))
        if changed:
            extra.append(GradeRow(name, "", "changed", "given cells (graded as handed out): "
                                  + ", ".join(changed)))
    else:
        expected, graded = expected_checks(nb), nb
    sealed = _sealed_calls(graded) if edition is not None else {}
    verdicts, stopped, results = _run_in_box(
        graded, path.name if path.suffix == ".ipynb" else "submission.ipynb", cell_timeout,
        notebook_timeout, sandbox, hidden, sealed)
    # a sealed piece's verdict is the grader's own; what the box printed for it counts for nothing
    sealed_pieces = {piece for calls in sealed.values() for piece, _ in calls}
    seen = {v["name"]: v for v in verdicts
            if isinstance(v.get("name"), str) and v["name"] not in sealed_pieces}
    seen.update(results)
    pieces = expected + ([] if edition is not None else [p for p in seen if p not in expected])
    rows = []
    flagged = [r.detail for r in extra if r.status == "flagged"]
    for piece in pieces:
        if piece in seen:
            status, message = str(seen[piece].get("status")), str(seen[piece].get("message"))
            if status == "passed" and ("on labcode's reference solution" in message
                                       or seen[piece].get("reference") is True
                                       or re.search(r"\blabcode\b", answers.get(piece, ""))):
                status = "reference used"
                message += "\n(the answer cell uses labcode's own code)"
            if status in ("passed", "reference used") and flagged and piece not in results:
                # the answer cells could have written this verdict: the instructor decides
                message = (f"{status}, but the {flagged[0]}, which could have changed the "
                           f"verdict; the instructor decides.\n{message}")
                status = "flagged"
            rows.append(GradeRow(name, piece, status, message))
        elif stopped is not None:
            rows.append(GradeRow(name, piece, "not reached", stopped))
        else:
            rows.append(GradeRow(name, piece, "missing",
                                 "the notebook ran to its end without this check: its cell "
                                 "was deleted or changed"))
    if not rows:
        rows.append(GradeRow(name, "", "missing", "the notebook holds no checks"
                             + (f"; it stopped at {stopped}" if stopped else "")))
    return rows + extra


def _notebooks(paths: list[str | Path]) -> list[Path]:
    found = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.exists() or p.is_symlink():
            found.append(p)
        else:
            raise ValueError(f"no such file or folder: {str(p)!r}")
    return found


def _read_edition(folder: str | Path) -> list[tuple[Path, object]]:
    import nbformat

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"edition must be a folder of the student edition's notebooks "
                         f"(make student writes _build/student), got {str(folder)!r}")
    found = [(p, nbformat.read(p, as_version=4)) for p in sorted(folder.glob("*.ipynb"))]
    found = [(p, nb) for p, nb in found if _answer_ids(nb)]
    if not found:
        raise ValueError(f"no notebook in {str(folder)!r} has answer cells (cells tagged "
                         f"{STARTER_TAG!r}): is it the student edition?")
    return found


def grade_notebooks(paths: list[str | Path], *, edition: str | Path | None = None,
                    cell_timeout: float = 120.0, notebook_timeout: float = 900.0,
                    workers: int = 1, executor: Executor | None = None,
                    sandbox: str = "auto", skip: set[str] | frozenset = frozenset(),
                    on_graded: Callable[[list[GradeRow]], None] | None = None) -> list[GradeRow]:
    """Run every notebook of ``paths`` (files, or folders searched for ``*.ipynb``) and grade it.

    Parameters
    ----------
    paths : list of path
        Notebooks, or folders searched for them.
    edition : path, optional
        The instructor's copy of the student edition (a folder): it decides the cells that
        run and the checks expected (see the module's text). Without it each notebook runs
        as submitted.
    cell_timeout, notebook_timeout : float
        Seconds a cell, and the whole notebook, may run.
    workers : int, default 1
        Submissions graded at once (each in its own box), unless ``executor`` is given.
    executor : concurrent.futures.Executor, optional
        Where the submissions are graded, a Dask cluster's ``get_executor()`` for example;
        the function it runs is a plain module-level one, with picklable arguments.
    sandbox : {"auto", "bwrap", "nobody", "process"}
        The kind of box (:data:`SANDBOXES`); ``"auto"`` takes the strongest available.
    skip : set of str
        Submissions (as their rows name them) already graded: left out (``--resume``).
    on_graded : callable, optional
        Called with the rows of each submission as soon as it is graded, in the order
        they finish.

    Returns
    -------
    list of GradeRow
        The rows of every submission graded, in the order of the files. A file that is
        not a notebook, a notebook that raises or never ends, and one whose checks were
        deleted each get their rows; nothing here raises because of a submission.
    """
    cell_timeout = _validate.positive(cell_timeout, "cell_timeout")
    notebook_timeout = _validate.positive(notebook_timeout, "notebook_timeout")
    workers = _validate.integer(workers, "workers")
    mode = _sandbox(sandbox)
    instructor = None if edition is None else _read_edition(edition)
    todo = [p for p in _notebooks(list(paths)) if str(p) not in skip]
    own = executor is None
    pool = ThreadPoolExecutor(max_workers=workers) if own else executor
    try:
        hidden = _hidden(todo) if mode == "bwrap" else ()
        futures = [pool.submit(_grade_one, p, instructor, cell_timeout, notebook_timeout, mode,
                               hidden) for p in todo]
        for future in as_completed(futures):
            if on_graded is not None:
                on_graded(future.result())
        rows: list[GradeRow] = []
        for future in futures:
            rows += future.result()
        return rows
    finally:
        if own:
            pool.shutdown(wait=True)


def _safe_write(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, never through a symbolic link."""
    path = Path(path)
    if path.is_symlink():
        raise ValueError(f"{str(path)!r} is a symbolic link: the grader writes only plain files")
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(rows: list[GradeRow], csv_path: str | Path | None = None,
                json_path: str | Path | None = None) -> None:
    """Write the rows as CSV (submission, check, status, detail) and as JSON (a list of
    rows), each file replaced atomically; a path that is a symbolic link is refused."""
    import csv
    import io

    if csv_path is not None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["submission", "check", "status", "detail"])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
        _safe_write(csv_path, buffer.getvalue())
    if json_path is not None:
        _safe_write(json_path, json.dumps([asdict(r) for r in rows], indent=1))


def read_table(json_path: str | Path) -> list[GradeRow]:
    """The rows a previous run wrote to ``json_path`` (for ``--resume``)."""
    data = json.loads(Path(json_path).read_text(encoding="utf8"))
    if not isinstance(data, list):
        raise ValueError(f"{str(json_path)!r} is not a table of grade rows")
    return [GradeRow(**{k: str(row[k]) for k in ("submission", "check", "status", "detail")})
            for row in data]


# --- what an instructor hands to the gradebook ------------------------------------------------


def read_rubric(path: str | Path) -> dict[str, float]:
    """Points per check from a small JSON file, ``{"fc_forward": 2, "accuracy": 0.5}``;
    a check it does not name is worth one point."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"rubric {str(path)!r} must be a JSON object of check names to "
                         f"points: {exc}") from None
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            and v >= 0 for k, v in data.items()):
        raise ValueError(f"rubric {str(path)!r} must map check names to points >= 0, "
                         f"for example {{\"fc_forward\": 2}}, got {data!r:.200}")
    return {k: float(v) for k, v in data.items()}


def gradebook(rows: list[GradeRow], rubric: dict[str, float] | None = None) -> list[dict]:
    """One row per submission: the points of each check (a check scores when it
    ``passed``), the total and the most it could score, in the order of the rows."""
    rubric = rubric or {}
    checks = list(dict.fromkeys(r.check for r in rows if r.check))
    books: dict[str, dict] = {}
    for r in rows:
        book = books.setdefault(r.submission, {"submission": r.submission})
        if r.check:
            book[r.check] = rubric.get(r.check, 1.0) if r.status == "passed" else 0.0
    out = []
    for book in books.values():
        points = {c: book.get(c, 0.0) for c in checks}
        out.append({"submission": book["submission"], **points,
                    "total": sum(points.values()),
                    "out of": sum(rubric.get(c, 1.0) for c in checks)})
    return out


_HINT = re.compile(r"^\s*Hint: (.+)$", re.M)


def check_summary(rows: list[GradeRow]) -> list[dict]:
    """Per check: how many submissions it graded, the share that passed, the count of
    each status and the hint given most often."""
    out = []
    for check in dict.fromkeys(r.check for r in rows if r.check):
        mine = [r for r in rows if r.check == check]
        counts = {s: sum(r.status == s for r in mine) for s in STATUSES if any(
            r.status == s for r in mine)}
        hints = [m.group(1) for r in mine for m in _HINT.finditer(r.detail)]
        top = max(dict.fromkeys(hints), key=hints.count) if hints else ""
        out.append({"check": check, "submissions": len(mine),
                    "pass rate": counts.get("passed", 0) / len(mine),
                    "statuses": "; ".join(f"{s} {n}" for s, n in counts.items()),
                    "most frequent hint": top,
                    "times": hints.count(top) if top else 0})
    return out


def write_gradebook(rows: list[GradeRow], gradebook_path: str | Path | None = None,
                    summary_path: str | Path | None = None,
                    rubric: dict[str, float] | None = None) -> None:
    """Write :func:`gradebook` and :func:`check_summary` as CSV files (atomically)."""
    import csv
    import io

    for path, table in ((gradebook_path, gradebook(rows, rubric) if gradebook_path else None),
                        (summary_path, check_summary(rows) if summary_path else None)):
        if path is None:
            continue
        buffer = io.StringIO()
        fields = list(table[0]) if table else ["submission", "total", "out of"]
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(table)
        _safe_write(path, buffer.getvalue())


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


def book_answers(edition: str | Path) -> dict[str, str]:
    """The book's own answer to each question of the student edition, by question id:
    the text of the Markdown cell that follows the question's answer cell in the
    instructor's copy (the collapsed "An answer", or the discussion after "What do you
    observe?")."""
    found = {}
    for _, nb in _read_edition(edition):
        cells = nb.cells
        for i, cell in enumerate(cells):
            question = cell.get("metadata", {}).get("labcode", {}).get("observation")
            if cell.cell_type != "markdown" or not isinstance(question, str):
                continue
            after = next((c for c in cells[i + 1:] if c.cell_type == "markdown"), None)
            if after is not None:
                text = re.sub(r"</?details>|<summary>.*?</summary>", "", after.source).strip()
                found[question] = text
    return found


def write_observations(observations: list[dict[str, str]], path: str | Path,
                       book: dict[str, str] | None = None) -> None:
    """Write the answers as Markdown, grouped by question, each student's as a quote,
    under the book's own answer where ``book`` (:func:`book_answers`) has one."""
    lines = ["# What the students observed", ""]
    questions: dict[str, list[dict[str, str]]] = {}
    for item in observations:
        questions.setdefault(item["question"], []).append(item)
    for question, answers in questions.items():
        lines += [f"## {question}", ""]
        if book and question in book:
            lines += ["**The book's answer**", ""]
            lines += [f"> {line}" if line else ">" for line in book[question].splitlines()]
            lines.append("")
        for item in answers:
            lines.append(f"**{item['submission']}**")
            lines.append("")
            text = item["answer"] or "(not answered)"
            lines += [f"> {line}" if line else ">" for line in text.splitlines()]
            lines.append("")
    _safe_write(path, "\n".join(lines))
