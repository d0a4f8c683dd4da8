"""python -m labcode grade: one row per submission and check, whatever the submissions do."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from labcode.grade import STATUSES, expected_checks, grade_notebooks

REPO = Path(__file__).resolve().parents[1]

IMPORTS = "from labcode.checks import check_fc_forward, check_fc_backward"
RIGHT_FORWARD = "def fc_forward(X, W):\n    return X @ W, (X, W)"
STARTER_BACKWARD = "def fc_backward(dZ, cache):\n    raise NotImplementedError"
WRONG_BACKWARD = "def fc_backward(dZ, cache):\n    X, W = cache\n    return dZ @ W, X.T @ dZ"
CHECK_FORWARD = "fc_forward = check_fc_forward(fc_forward).use()"
CHECK_BACKWARD = "fc_backward = check_fc_backward(fc_backward).use()"


def _notebook(path: Path, *sources: str, checks=("fc_forward", "fc_backward")) -> Path:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(s) for s in sources],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"},
                  "labcode": {"chapter": "numpy_network", "checks": list(checks)}})
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    _notebook(folder / "a_good.ipynb", IMPORTS, RIGHT_FORWARD, CHECK_FORWARD, STARTER_BACKWARD,
              CHECK_BACKWARD)
    _notebook(folder / "b_wrong_backward.ipynb", IMPORTS, RIGHT_FORWARD, CHECK_FORWARD,
              WRONG_BACKWARD, CHECK_BACKWARD)
    _notebook(folder / "c_syntax_error.ipynb", IMPORTS, RIGHT_FORWARD, CHECK_FORWARD,
              "def fc_backward(dZ, cache)\n    return 1", CHECK_BACKWARD)
    _notebook(folder / "d_loops_forever.ipynb", IMPORTS, "while True:\n    pass", RIGHT_FORWARD,
              CHECK_FORWARD)
    _notebook(folder / "e_deleted_check.ipynb", IMPORTS, RIGHT_FORWARD, CHECK_FORWARD)
    (folder / "f_not_a_notebook.ipynb").write_text("this is not a notebook")
    rows = grade_notebooks([folder], cell_timeout=5, notebook_timeout=120, workers=2)
    return folder, {(Path(r.submission).stem, r.check): r for r in rows}, rows


def test_each_submission_gets_the_right_rows(graded):
    _, by, rows = graded
    status = {key: r.status for key, r in by.items()}
    assert status == {
        ("a_good", "fc_forward"): "passed",
        ("a_good", "fc_backward"): "not implemented",
        ("b_wrong_backward", "fc_forward"): "passed",
        ("b_wrong_backward", "fc_backward"): "failed",
        ("c_syntax_error", "fc_forward"): "passed",
        ("c_syntax_error", "fc_backward"): "not reached",
        ("d_loops_forever", "fc_forward"): "not reached",
        ("d_loops_forever", "fc_backward"): "not reached",
        ("e_deleted_check", "fc_forward"): "passed",
        ("e_deleted_check", "fc_backward"): "missing",
        ("f_not_a_notebook", ""): "unreadable",
    }
    assert {r.status for r in rows} <= set(STATUSES)


def test_the_rows_say_why(graded):
    _, by, _ = graded
    assert "Hint:" in by[("b_wrong_backward", "fc_backward")].detail
    assert "SyntaxError" in by[("c_syntax_error", "fc_backward")].detail
    assert "cell 4" in by[("c_syntax_error", "fc_backward")].detail
    assert "ran past the 5 s a cell may take" in by[("d_loops_forever", "fc_forward")].detail
    assert "deleted" in by[("e_deleted_check", "fc_backward")].detail
    assert "not a notebook" in by[("f_not_a_notebook", "")].detail


def test_without_metadata_the_checks_called_are_expected():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CHECK_FORWARD),
                                         nbformat.v4.new_code_cell("check_all()"),
                                         nbformat.v4.new_code_cell("check_claims(x)"),
                                         nbformat.v4.new_code_cell("check_dataset(D)")])
    assert expected_checks(nb) == ["fc_forward", "DigitsDataset"]


def test_the_cli_writes_csv_and_json_and_exits_0(graded, tmp_path):
    folder, by, _ = graded
    good = folder / "a_good.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "labcode", "grade", str(good), str(folder / "f_not_a_notebook.ipynb"),
         "--out", str(tmp_path / "g.csv"), "--json", str(tmp_path / "g.json"),
         "--observations", str(tmp_path / "o.md"), "--gradebook", str(tmp_path / "book.csv"),
         "--summary", str(tmp_path / "checks.csv"), "--sandbox", "process"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "book.csv", newline="") as fh:
        book = list(csv.DictReader(fh))
    assert [(Path(r["submission"]).stem, r["total"], r["out of"]) for r in book] == [
        ("a_good", "1.0", "2.0"), ("f_not_a_notebook", "0.0", "2.0")]
    assert (tmp_path / "o.md").read_text().startswith("# What the students observed")
    with open(tmp_path / "g.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [(Path(r["submission"]).stem, r["check"], r["status"]) for r in table] == [
        ("a_good", "fc_forward", "passed"), ("a_good", "fc_backward", "not implemented"),
        ("f_not_a_notebook", "", "unreadable")]
    assert json.loads((tmp_path / "g.json").read_text())[1]["status"] == "not implemented"


def test_the_cli_refuses_a_missing_path(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "labcode", "grade", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr


def test_the_students_written_answers_are_collected_question_by_question(tmp_path):
    """Answers are read, not run, from the cells tagged observation; a prompt left as it
    was is "not answered"; a cell without the tag, or a file that is no notebook, adds
    nothing."""
    import nbformat

    from labcode.grade import OBSERVATION_PROMPT, collect_observations, write_observations

    def answer(text, question):
        return nbformat.v4.new_markdown_cell(text, metadata={
            "tags": ["observation"], "labcode": {"observation": question}})

    for name, first in (("ann", "The largest rate jumps.\n\n# not a heading of mine"),
                        ("bob", OBSERVATION_PROMPT)):
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("What do you observe?"),
            answer(first, "studies-1"), answer("Smaller is slower.", "studies-2"),
            nbformat.v4.new_markdown_cell("An untagged cell")])
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    (tmp_path / "junk.ipynb").write_text("not a notebook")
    found = collect_observations([tmp_path])
    assert [(Path(o["submission"]).stem, o["question"]) for o in found] == [
        ("ann", "studies-1"), ("ann", "studies-2"), ("bob", "studies-1"), ("bob", "studies-2")]
    assert found[2]["answer"] == ""
    write_observations(found, tmp_path / "o.md")
    text = (tmp_path / "o.md").read_text()
    assert text.index("## studies-1") < text.index("ann.ipynb") < text.index("## studies-2")
    assert "> The largest rate jumps.\n>\n> # not a heading of mine" in text
    assert "(not answered)" in text and text.count("## studies-") == 2


# --- with the instructor's copy: the grader decides, each submission in its own box ----------

from labcode.grade import SANDBOXES, _sandbox, read_table, write_table  # noqa: E402

STARTER_FORWARD = "def fc_forward(X, W):\n    raise NotImplementedError"


def _edition_notebook(path: Path, answers: dict[str, str] | None = None, *, drop=(),
                      replace: dict[int, str] | None = None, checks=("fc_forward", "fc_backward"),
                      ) -> Path:
    """The instructor's notebook (answers None) or a submission of it: answer cells by id."""
    answers = answers or {}
    cells = [("given-1", IMPORTS, []), ("answer-1", answers.get("fc_forward", STARTER_FORWARD), ["starter"]),
             ("check-1", CHECK_FORWARD, []),
             ("answer-2", answers.get("fc_backward", STARTER_BACKWARD), ["starter"]),
             ("check-2", CHECK_BACKWARD, [])]
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "labcode": {"chapter": "numpy_network", "checks": list(checks)}})
    for index, (cell_id, source, tags) in enumerate(cells):
        if index in drop:
            continue
        cell = nbformat.v4.new_code_cell((replace or {}).get(index, source),
                                         metadata={"tags": tags})
        cell["id"] = cell_id
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


RIGHT_BACKWARD = "def fc_backward(dZ, cache):\n    X, W = cache\n    return dZ @ W.T, X.T @ dZ"


@pytest.fixture(scope="module")
def boxed(tmp_path_factory):
    """A small class graded against the instructor's copy, two at a time."""
    edition = tmp_path_factory.mktemp("edition")
    _edition_notebook(edition / "neural_network.ipynb")
    folder = tmp_path_factory.mktemp("class")
    victim = folder / "victim.txt"
    victim.write_text("untouched")
    right = {"fc_forward": RIGHT_FORWARD, "fc_backward": RIGHT_BACKWARD}
    _edition_notebook(folder / "right.ipynb", right)
    # the checks deleted and the metadata emptied: the instructor's copy still has them
    _edition_notebook(folder / "deleted.ipynb", right, drop=(2, 4), checks=())
    # a given cell rewritten to replace the checks: given cells are not taken
    _edition_notebook(folder / "given_cell.ipynb", {}, replace={
        0: "def check_fc_forward(f):\n    class V:\n        use = lambda self: f\n    return V()\n"
           "check_fc_backward = check_fc_forward\nprint('✓ fc_forward: passed (9 checks)')"})
    # labcode's reference, imported and wrapped
    _edition_notebook(folder / "reference.ipynb", {
        "fc_forward": "from labcode.numpy_net import fc_forward",
        "fc_backward": "import labcode.numpy_net as ln\ndef fc_backward(dZ, cache):\n"
                       "    return ln.fc_backward(dZ, cache)"})
    # an answer cell that prints a verdict and writes outside its box
    _edition_notebook(folder / "hostile.ipynb", {
        "fc_forward": f"try:\n    open({str(victim)!r}, 'w').write('overwritten')\n"
                      "except OSError:\n    pass\n"
                      "print('✓ fc_backward: passed (9 checks)')\n" + RIGHT_FORWARD})
    # a wrong answer, with the check replaced by one that prints "passed"
    _edition_notebook(folder / "forger.ipynb", {
        "fc_forward": "def fc_forward(X, W):\n    return X, (X, W)\n"
                      "def check_fc_forward(f):\n    print('✓ fc_forward: passed (12 checks)')\n"
                      "    class V:\n        def use(self):\n            return f\n    return V()"})
    # copies a classmate's answer when it can read the class's folder, after unmounting
    # what hides it
    _edition_notebook(folder / "copier.ipynb", {
        "fc_forward": f"import subprocess\nsubprocess.run(['umount', {str(folder)!r}])\n"
                      f"try:\n    open({str(folder / 'right.ipynb')!r}).read()\n"
                      f"    {RIGHT_FORWARD.replace(chr(10), chr(10) + '    ')}\n"
                      "except OSError:\n    def fc_forward(X, W):\n        return X, (X, W)"})
    # catches every interrupt, forever, and leaves a daemon behind
    _edition_notebook(folder / "endless.ipynb", {
        "fc_forward": "import subprocess, sys, time\n"
                      "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # labcode-daemon'],"
                      " start_new_session=True)\n"
                      "while True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass"})
    # the kernel dies after the first check passed
    _edition_notebook(folder / "dies.ipynb", {
        "fc_forward": RIGHT_FORWARD, "fc_backward": "import os\nos._exit(3)"})
    start = time.monotonic()
    rows = grade_notebooks([folder], edition=edition, cell_timeout=15, notebook_timeout=20,
                           workers=2)
    seconds = time.monotonic() - start
    by = {(Path(r.submission).stem, r.check): r for r in rows}
    return folder, edition, rows, by, seconds


def test_the_instructors_copy_decides_what_runs_and_what_is_expected(boxed):
    _, _, rows, by, _ = boxed
    status = {key: r.status for key, r in by.items()}
    assert status[("right", "fc_forward")] == status[("right", "fc_backward")] == "passed"
    assert status[("deleted", "fc_forward")] == status[("deleted", "fc_backward")] == "passed"
    assert "cell 3 deleted" in by[("deleted", "")].detail and by[("deleted", "")].status == "changed"
    assert status[("given_cell", "fc_forward")] == "not implemented"
    assert status[("given_cell", "fc_backward")] == "not implemented"
    assert by[("given_cell", "")].status == "changed"
    assert {r.status for r in rows} <= set(STATUSES)


def test_labcodes_reference_is_reference_used_not_passed(boxed):
    by = boxed[3]
    assert by[("reference", "fc_forward")].status == "reference used"
    assert by[("reference", "fc_backward")].status == "reference used"


def test_a_verdict_printed_by_an_answer_cell_counts_for_nothing(boxed):
    by = boxed[3]
    # its fc_forward is right, and the grader checked it itself: passed; the row about the
    # file tells the instructor it tried to write outside its cells
    assert by[("hostile", "fc_forward")].status == "passed"
    assert by[("hostile", "fc_backward")].status == "not implemented"
    assert by[("hostile", "")].status == "flagged"
    assert "files outside its cells" in by[("hostile", "")].detail


def test_a_box_cannot_write_outside_its_folder(boxed):
    folder = boxed[0]
    if _sandbox("auto") == "process":
        pytest.skip("the process box runs as the grader's user: it can write the user's files")
    assert (folder / "victim.txt").read_text() == "untouched"


def test_a_box_cannot_read_the_other_submissions(boxed):
    by = boxed[3]
    if _sandbox("auto") != "bwrap":
        pytest.skip("only the bwrap box hides the class's folder")
    assert by[("copier", "fc_forward")].status == "failed"


def test_an_endless_notebook_is_stopped_and_leaves_no_process(boxed):
    _, _, _, by, seconds = boxed
    assert by[("endless", "fc_forward")].status == "not reached"
    assert "ran past" in by[("endless", "fc_forward")].detail
    assert by[("endless", "")].status == "flagged"
    assert seconds < 20 * 2 + 60  # two at a time: the endless one ends at its limit
    leftovers = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"labcode-daemon" in (entry / "cmdline").read_bytes():
                leftovers.append(entry.name)
        except OSError:
            pass
    assert not leftovers


def test_the_verdicts_before_a_kernel_dies_are_kept(boxed):
    by = boxed[3]
    assert by[("dies", "fc_forward")].status == "passed"
    assert by[("dies", "fc_backward")].status == "not reached"
    assert "died" in by[("dies", "fc_backward")].detail


def test_serial_and_parallel_grading_give_the_same_table(boxed, tmp_path):
    folder, edition, rows, _, _ = boxed
    some = [folder / "right.ipynb", folder / "given_cell.ipynb"]
    serial = grade_notebooks(some, edition=edition, cell_timeout=15, notebook_timeout=20,
                             workers=1)
    def key(r):
        return r.submission, r.check

    assert sorted(serial, key=key) == sorted((r for r in rows if Path(r.submission) in some),
                                             key=key)


def test_the_grade_files_are_never_written_through_a_link(tmp_path):
    target = tmp_path / "instructor.txt"
    target.write_text("mine")
    (tmp_path / "grades.csv").symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        write_table([], tmp_path / "grades.csv")
    assert target.read_text() == "mine"
    write_table([], json_path=tmp_path / "g.json")
    assert read_table(tmp_path / "g.json") == []


def test_resume_grades_only_what_the_table_lacks(boxed, tmp_path):
    # the table of an interrupted run holds right.ipynb's rows: --resume grades the rest
    folder, edition, rows, _, _ = boxed
    table = tmp_path / "g.json"
    write_table([r for r in rows if Path(r.submission).name == "right.ipynb"], json_path=table)
    args = [sys.executable, "-m", "labcode", "grade", str(folder / "right.ipynb"),
            str(folder / "reference.ipynb"), "--edition", str(edition), "--out",
            str(tmp_path / "g.csv"), "--json", str(table), "--observations",
            str(tmp_path / "o.md"), "--workers", "2", "--gradebook", str(tmp_path / "b.csv"),
            "--summary", str(tmp_path / "s.csv"), "--sandbox", "process", "--resume"]
    again = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert again.returncode == 0, again.stderr
    assert "right.ipynb" not in again.stdout and "reference.ipynb" in again.stdout
    assert [Path(r.submission).stem for r in read_table(table)] == ["right"] * 2 + ["reference"] * 2


def test_the_cli_refuses_an_unknown_sandbox_and_a_missing_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "labcode", "grade", str(tmp_path),
                           "--sandbox", "docker"], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert proc.returncode == 2 and "invalid choice: 'docker'" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "labcode", "grade", str(tmp_path),
                           "--out", str(tmp_path / "nope" / "g.csv")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert set(SANDBOXES) == {"bwrap", "nobody", "process"}


def test_the_gradebook_scores_the_rubrics_points_and_the_summary_names_the_top_hint(tmp_path):
    from labcode.grade import GradeRow, check_summary, gradebook, read_rubric

    rows = [GradeRow("a", "fc_forward", "passed", "✓"), GradeRow("a", "fc_backward", "failed",
                                                                 "✗\n  Hint: transposed."),
            GradeRow("a", "", "flagged", "answer cells touch IPython's hooks"),
            GradeRow("b", "fc_forward", "reference used", "✓"),
            GradeRow("b", "fc_backward", "failed", "✗\n  Hint: transposed."),
            GradeRow("c", "fc_forward", "passed", "✓"), GradeRow("c", "fc_backward", "failed",
                                                                 "✗\n  Hint: the sign.")]
    (tmp_path / "rubric.json").write_text('{"fc_forward": 2.5}')
    book = gradebook(rows, read_rubric(tmp_path / "rubric.json"))
    assert [(b["submission"], b["fc_forward"], b["fc_backward"], b["total"], b["out of"])
            for b in book] == [("a", 2.5, 0.0, 2.5, 3.5), ("b", 0.0, 0.0, 0.0, 3.5),
                               ("c", 2.5, 0.0, 2.5, 3.5)]
    summary = {s["check"]: s for s in check_summary(rows)}
    assert summary["fc_forward"]["pass rate"] == 2 / 3
    assert summary["fc_forward"]["statuses"] == "passed 2; reference used 1"
    assert (summary["fc_backward"]["most frequent hint"], summary["fc_backward"]["times"]) == (
        "transposed.", 2)
    (tmp_path / "bad.json").write_text('{"fc_forward": -1}')
    with pytest.raises(ValueError, match="points >= 0"):
        read_rubric(tmp_path / "bad.json")


def test_the_observations_show_the_books_answer_above_the_students(tmp_path):
    from labcode.grade import OBSERVATION_PROMPT, book_answers, collect_observations, write_observations

    def notebook(answer):
        cells = [nbformat.v4.new_markdown_cell("What do you observe?"),
                 nbformat.v4.new_markdown_cell(answer, metadata={
                     "tags": ["observation"], "labcode": {"observation": "studies-1"}}),
                 nbformat.v4.new_markdown_cell("<details>\n<summary>An answer</summary>\n\n"
                                               "Larger rates diverge.\n\n</details>")]
        starter = nbformat.v4.new_code_cell("def f():\n    raise NotImplementedError",
                                            metadata={"tags": ["starter"]})
        starter["id"] = "a1"
        return nbformat.v4.new_notebook(cells=cells + [starter])

    (tmp_path / "edition").mkdir()
    nbformat.write(notebook(OBSERVATION_PROMPT), tmp_path / "edition" / "lab.ipynb")
    nbformat.write(notebook("It jumps."), tmp_path / "ann.ipynb")
    book = book_answers(tmp_path / "edition")
    assert book == {"studies-1": "Larger rates diverge."}
    write_observations(collect_observations([tmp_path / "ann.ipynb"]), tmp_path / "o.md", book)
    text = (tmp_path / "o.md").read_text()
    assert text.index("**The book's answer**") < text.index("> Larger rates diverge.") < text.index(
        "ann.ipynb") < text.index("> It jumps.")


CHEATS = {
    "check_all replaced": "from labcode import checks\nchecks.check_all = lambda: None",
    "verdict registry": "from labcode.checks.framework import _RESULTS\n_RESULTS.clear()",
    "checker redefined": "check_fc_backward = lambda f: None",
    "checker defined anew": "def check_fc_forward(f):\n    return f",
    "fail made a no-op": "from labcode.checks.framework import _Run\n_Run.fail = lambda *a: None",
    "reference swapped": "import labcode.numpy_net\nlabcode.numpy_net.fc_forward = lambda X, W: (0, 0)",
    "post_run_cell hook": "get_ipython().events.register('post_run_cell', print)",
    "input transformer": "ip = get_ipython()\nip.input_transformers_post.append(str.upper)",
    "json.dumps patched": "import json\njson.dumps = lambda *a, **k: '[]'",
    "print defined": "def print(*args):\n    pass",
    "print rebound": "print = lambda *a: None",
    "code built at run time": "exec('import labcode.checks')",
    "a module by name": "m = __import__('lab' + 'code')",
    "stdout replaced": "import sys\nsys.stdout = open('/dev/null', 'w')",
    "another process": "import subprocess\nsubprocess.run(['true'])",
    "a grade file": "open('grades.csv', 'w').write('all passed')",
}


@pytest.mark.parametrize("source", list(CHEATS.values()), ids=list(CHEATS))
def test_every_known_cheat_flags_its_submission(source):
    from labcode.grade import _flags

    assert _flags({"fc_forward": source + "\n" + RIGHT_FORWARD})


def test_plain_answers_are_not_flagged():
    from labcode.grade import _flags

    answers = {"fc_forward": RIGHT_FORWARD, "fc_backward": RIGHT_BACKWARD,
               "SimpleMLP": "class SimpleMLP(nn.Module):\n    def __init__(self, a, b, c):\n"
                            "        super().__init__()\n        self.fc1 = nn.Linear(a, b)\n"
                            "    def forward(self, x):\n        return self.fc1(x).relu()",
               "split_data": "from sklearn.model_selection import train_test_split\n"
                             "def split_data(X, y, v, t, seed):\n    return {}"}
    assert _flags(answers) == []


def test_a_forged_verdict_of_a_sealed_check_is_the_graders_own(boxed):
    by = boxed[3]
    assert by[("forger", "fc_forward")].status == "failed"
    assert "labcode's checks" in by[("forger", "")].detail


# --- cheats that write a verdict when the check runs in the student's kernel ----------------

WRONG_FORWARD = "def fc_forward(X, W):\n    return X @ W + 1, (X, W)\n"
PASSED = "'✓ fc_forward: passed (12 checks)'"
# each one sits in the answer cell of fc_forward beside a wrong answer; True: in the kernel it
# makes the check cell print "passed", which is all an unsealed check has to go by; the
# patched json.dumps breaks the kernel's own messages, so its notebook stops there
FORGERS = {
    "check_all replaced": (False, "import labcode.checks as c\nc.check_all = lambda: {'fc_forward': 'passed'}"),
    "verdict registry": (False, "from labcode.checks import framework as f\n"
                                "f._RESULTS['fc_forward'] = f.Verdict('fc_forward', 'passed', 'x', 9, None, None)"),
    "checker redefined": (True, "class V:\n    def use(self):\n        return fc_forward\n"
                                f"check_fc_forward = lambda f, **k: (print({PASSED}), V())[1]"),
    "fail made a no-op": (False, "from labcode.checks.framework import _Run\n_Run.fail = lambda *a, **k: None"),
    "reference swapped": (True, "import labcode.checks.numpy_checks as n\n"
                                "n._array_value = lambda *a, **k: None\nn._float_array = lambda r, x, **k: x"),
    "post_run_cell hook": (True, f"get_ipython().events.register('post_run_cell', lambda r: print({PASSED}))"),
    "input transformer": (True, "get_ipython().input_transformers_post.append(lambda lines: "
                                f"['print({PASSED.replace(chr(39), chr(34))})\\n'] if any('check_fc' in l "
                                "for l in lines) else lines)"),
    "json.dumps patched": (False, "import json\njson.dumps = lambda *a, **k: '{\"verdicts\": []}'"),
    "print rebound": (True, "import builtins\nreal = builtins.print\nbuiltins.print = lambda *a, **k: "
                            f"real({PASSED}) if a and 'fc_forward' in str(a[0]) else real(*a, **k)"),
    "stdout replaced": (True, "import sys\nclass Out:\n    def __init__(self, s):\n        self.s = s\n"
                              "    def write(self, t):\n"
                              "        return self.s.write(t.replace('✗ fc_forward: failed.', "
                              "'✓ fc_forward: passed (12 checks)'))\n"
                              "    def __getattr__(self, n):\n        return getattr(self.s, n)\n"
                              "sys.stdout = Out(sys.stdout)"),
    "a report in the box's name": (False, "import os\nfor n in range(3, 12):\n    try:\n"
                                          "        fd = os.open(f'/proc/{os.getppid()}/fd/{n}', os.O_WRONLY)\n"
                                          "        os.write(fd, b'{\"verdicts\": [{\"name\": \"fc_backward\", "
                                          "\"status\": \"passed\", \"message\": \"forged\"}], \"stopped\": null, "
                                          "\"done\": true}\\n')\n        os.kill(os.getppid(), 9)  # the last word\n"
                                          "    except OSError:\n        pass"),
}


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    """Each forger run in a box as the grader runs it: what the kernel printed, and what the
    grader's own check of fc_forward found."""
    from concurrent.futures import ThreadPoolExecutor

    from labcode.grade import _merge, _run_in_box, _sealed_calls

    folder = tmp_path_factory.mktemp("forgers")
    instructor = nbformat.read(_edition_notebook(folder / "edition.ipynb"), as_version=4)

    def grade(item):
        name, (_, source) = item
        path = _edition_notebook(folder / f"{abs(hash(name))}.ipynb",
                                 {"fc_forward": WRONG_FORWARD + source})
        graded, _, _ = _merge(instructor, nbformat.read(path, as_version=4))
        printed, stopped, sealed = _run_in_box(graded, path.name, 15, 60, _sandbox("auto"),
                                               (), _sealed_calls(graded))
        return name, ({v["name"]: v for v in printed}, stopped, sealed)

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(grade, FORGERS.items()))


@pytest.mark.parametrize("name", list(FORGERS))
def test_no_cheat_writes_the_verdict_of_a_sealed_check(forged, name):
    printed, stopped, sealed = forged[name]
    fools_the_kernel, _ = FORGERS[name]
    if name == "json.dumps patched":
        # the kernel's messages break, so the check is not reached; how they break first
        # depends on timing: a reply the client cannot read (KeyError), or two identical
        # messages, which the client refuses as a replay (Duplicate Signature)
        assert "fc_forward" not in sealed
        assert stopped is not None and ("KeyError" in stopped or "Duplicate Signature" in stopped)
        return
    assert stopped is None
    # the grader's own check, run outside the box, sees the wrong answer
    assert sealed["fc_forward"]["status"] == "failed", sealed["fc_forward"]["message"]
    if fools_the_kernel:  # the cheat works where it runs: the check cell of its kernel says passed
        assert printed["fc_forward"]["status"] == "passed"
    # the box reports for itself alone: its kernel cannot write into the box's report (but
    # for root's process box, where the kernel runs as root too)
    if not (_sandbox("auto") == "process" and os.geteuid() == 0):
        assert all(v["message"] != "forged" for v in printed.values())
