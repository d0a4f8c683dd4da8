"""No number typed by hand in the chapters' prose.

The intro promises that every number on a page comes from executed code. This test reads
each chapter's MyST source, keeps only its prose (no code cells, no math, no roles such as
``{glue:text}``, no inline code, no link targets, no directive options) and looks for
digits, and for number words in front of something the code counts or measures ("three
seeds", "ten epochs", "one percentage point", "a thousand rows"). A hit fails the test
unless it matches the reviewed allow-list below, where each entry says why that number is
not a result: a step of the handout, a fact of the data set or of the mathematics, a name.
An allow-list entry that matches nothing fails the test too, so the list stays short.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(p for p in BOOK.glob("*.md"))

# Fences whose body is code or math, not prose.
CODE_FENCES = {"code-cell", "code", "code-block", "python", "bash", "console", "text", "math", ""}

CARDINALS = (
    r"zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|hundred|thousand|million|dozen|twice|thrice|half"
)
# What the code counts or measures: a number word in front of one of these is a result
# or a setting, and must be glued.
COUNTED = (
    r"seeds?|epochs?|runs?|rates?|images?|rows?|points?|percent|percentage|units?|"
    r"batch(?:es)?|iterations?|samples?|parameters?|weights?|seconds?|minutes?|models?|"
    r"widths?|optimizers?|configurations?|times|studies|settings?|values?|layers?|blocks?"
)
NUMBER = re.compile(
    rf"\d+(?:[.,]\d+)*(?:e-?\d+)?%?"
    rf"|\b(?:a |an )?(?:{CARDINALS})\b(?:[- ](?:{CARDINALS}))?(?= (?:\w+ )?(?:{COUNTED})\b)",
    re.IGNORECASE,
)

# Names and references that contain digits but state no result.
NAMES = re.compile(
    r"\bSteps? \d+(?:(?: to |, | and )\d+)*"  # the handout's step numbers
    r"|\bExercises? [12]\b|\bPart [12]\b"
    r"|\bL[12]\b|\bfloat(?:16|32|64)\b|\bint64\b"
    r"|\bPython 3\.\d+\b"
    r"|https?://\S+|\b127\.0\.0\.1:\d+"
    r"|^\s*\d+\.\s"  # an ordered list's item numbers
)

# The reviewed allow-list: (chapter or "*" for every chapter, phrase as a regex, why the
# number is not a result).
ALLOWED: list[tuple[str, str, str]] = [
    ("*", r"(?:exactly|finite|toward|goes to|summing to|It is|from) [01]\b",
     "values a function takes (sigmoid, softmax, cross-entropy), mathematics"),
    ("data.md", r"from 0 to 16|divide by 16", "the data set's grey levels (its documentation)"),
    ("data.md", r"8 by 8", "the data set's image size"),
    ("complex_mlp.md", r"8 by 8", "the data set's image size"),
    ("data.md", r"about 10%", "chance accuracy of ten balanced classes, a definition"),
    ("data.md", r"always 1\b", "the bias column is ones by definition"),
    ("numpy_network.md", r"a constant 1\b", "the bias trick, mathematics"),
    ("numpy_network.md", r"near 0|at 0\b|about 0\b|are 0\b|exceeds 10\b", "properties of the sigmoid, mathematics"),
    ("numpy_network.md", r"factor 2\b", "the derivative of a square, mathematics"),
    ("pytorch_mlp.md", r"at most 0\b|at least 1\b", "log-sum-exp, mathematics"),
    ("regularization.md", r"smaller than 1\b|below 1\b", "squares of numbers below one, mathematics"),
    ("regularization.md", r"of the 64 pixels", "the data set's image size"),
]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The chapter's prose, line by line, with code, math, roles and markup blanked."""
    keep_lines = lambda m: "\n" * m.group(0).count("\n")  # noqa: E731
    text = re.sub(r"\$\$.*?\$\$|<!--.*?-->", keep_lines, text, flags=re.S)
    lines = text.splitlines()
    start = 0
    if lines and lines[0].strip() == "---":
        start = lines.index("---", 1) + 1
    kept, fence, directives = [""] * start, None, []
    for line in lines[start:]:
        if fence is not None:
            if line.strip() == fence:
                fence = None
            kept.append("")
            continue
        if directives and line.strip() == directives[-1]:
            directives.pop()  # the end of a directive whose body is prose
            kept.append("")
            continue
        opening = re.match(r"^\s*(`{3,}|~{3,})\s*(?:\{([\w:-]*)\}|(\w*))", line)
        if opening:
            name = opening.group(2) if opening.group(2) is not None else opening.group(3)
            if name in CODE_FENCES:
                fence = opening.group(1)
            else:
                directives.append(opening.group(1))
            kept.append("")
            continue
        if re.match(r"^\s*(:{3,}|:[\w-]+:|\(.*\)=\s*$)", line):
            kept.append("")  # a colon fence or a directive's option, a label
            continue
        kept.append(re.sub(r"^#+ ", "", line))
    # Inline markup may wrap onto the next line: blank it in the whole text, keeping the
    # line breaks so that line numbers stay right.
    prose = "\n".join(kept)
    blank = lambda m: " " + "\n" * m.group(0).count("\n")  # noqa: E731
    prose = re.sub(r"\{[\w:.-]+\}`[^`]*`", blank, prose)  # roles: glue, cite, eq, doc, ...
    prose = re.sub(r"`[^`]*`", blank, prose)  # inline code
    prose = re.sub(r"\$[^$]+\$", blank, prose)  # inline math
    prose = re.sub(r"\]\([^)]*\)", "]", prose)  # link targets
    return [(n, line) for n, line in enumerate(prose.split("\n"), 1) if line.strip()]


def typed_numbers(path: Path) -> tuple[list[str], set[int]]:
    """Numbers in the prose of ``path`` not explained by a name or the allow-list."""
    allowed = [(i, re.compile(p)) for i, (c, p, _) in enumerate(ALLOWED) if c in ("*", path.name)]
    used: set[int] = set()
    found = []
    for number, line in prose_lines(path.read_text()):
        spans = [m.span() for m in NAMES.finditer(line)]
        for i, pattern in allowed:
            for m in pattern.finditer(line):
                spans.append(m.span())
                used.add(i)
        for m in NUMBER.finditer(line):
            if not any(a <= m.start() and m.end() <= b for a, b in spans):
                found.append(f"{path.name}:{number}: {m.group(0)!r} in {line.strip()[:120]!r}")
    return found, used


def test_the_scanner_finds_typed_numbers_and_skips_code_math_and_glue(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Step 7: widths\n\n"
        "We ran three seeds and 50 epochs; {glue:text}`n_seeds` seeds in all, see Step 3.\n"
        "Within one percentage point, at most a thousand rows. One of them, $x_1 = 2$.\n\n"
        "```{code-cell} ipython3\nx = 12345\n```\n\n$$\ny = 42\n$$ (eq-y)\n\n"
        "Steps 6 to 8 use `lr=1e-3`, as does 1e-3 here.\n\n"
        "```{note}\nA note's prose counts: 7 cats.\n```\n\n"
        "```{glue:figure} fig\nA caption's too: 8 dogs.\n```\n\n"
        "After the directives, 9 birds; `code that\nwraps 99` and {glue:text}`a:.1%` ±\n"
        "{glue:text}`b:.1%` are not prose.\n"
    )
    found, _ = typed_numbers(page)
    words = [f.split(": ")[1].split(" in ")[0] for f in found]
    assert words == ["'three'", "'50'", "'one'", "'a thousand'", "'1e-3'", "'7'", "'8'", "'9'"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_no_number_is_typed_in_the_prose(chapter):
    found, _ = typed_numbers(chapter)
    assert not found, "numbers typed in the prose (glue them, or review them into ALLOWED):\n" + "\n".join(found)


def test_every_allow_list_entry_is_still_needed():
    used = {i for p in CHAPTERS for i in typed_numbers(p)[1]}
    stale = [entry for i, entry in enumerate(ALLOWED) if i not in used]
    assert not stale, f"allow-list entries that match nothing: {stale}"
