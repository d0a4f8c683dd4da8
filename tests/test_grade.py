"""python -m labcode grade: one row per submission and check, whatever the submissions do."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
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
    rows = grade_notebooks([folder], cell_timeout=5, notebook_timeout=120)
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
         "--observations", str(tmp_path / "o.md")],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
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
