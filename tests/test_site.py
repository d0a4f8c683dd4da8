"""The built site as a reader gets it: offline assets, notebooks, provenance, execution report.

What a browser shows is checked in tests/test_browser.py; these tests read the built
files, run the downloadable notebooks, and test book/_ext/labcode_book.py's parts.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import unicodedata
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from conftest import MINI_FRONT_MATTER, REPO, STRICT, build_book, make_mini_book
from labcode.engine.studies import RUN_CACHE_ENV
from sphinx.errors import ExtensionError
from test_browser import toc_pages

pytestmark = pytest.mark.book

_spec = importlib.util.spec_from_file_location(
    "labcode_book", REPO / "book" / "_ext" / "labcode_book.py"
)
labcode_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(labcode_book)

# tags that load something into a page, with an address outside the site
_OUTSIDE_ASSET = re.compile(
    r"<(?:script|img|iframe|source|video|audio)\b[^>]*\bsrc=[\"'](?:https?:)?//[^\"']+"
    r"|<link\b[^>]*\brel=[\"'](?:stylesheet|preload|modulepreload|icon|prefetch)[\"'][^>]*"
    r"\bhref=[\"'](?:https?:)?//[^\"']+"
    r"|<link\b[^>]*\bhref=[\"'](?:https?:)?//[^\"']+[\"'][^>]*\brel=[\"']"
    r"(?:stylesheet|preload|modulepreload|icon|prefetch)[\"']",
    re.IGNORECASE,
)
_CSS_OUTSIDE = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])(?:https?:)?//", re.IGNORECASE)


def _code_pages() -> list[str]:
    """The pages of the table of contents that are executed chapters."""
    return [
        page for page in toc_pages()
        if labcode_book.has_code_cells((REPO / f"{page}.md").read_text(encoding="utf8"))
    ]


@pytest.fixture(scope="module")
def html(built_book) -> Path:
    assert built_book.returncode == 0, built_book.output[-5000:]
    return built_book.html


# --- offline --------------------------------------------------------------------------


def test_no_page_loads_anything_from_outside_the_site(html):
    pages = sorted(html.rglob("*.html"))
    assert len(pages) >= len(toc_pages())
    for page in pages:
        found = _OUTSIDE_ASSET.findall(page.read_text(encoding="utf8"))
        assert found == [], f"{page.relative_to(html)} loads {found}"
    for css in (html / "_static").rglob("*.css"):
        text = css.read_text(encoding="utf8", errors="replace")
        assert not _CSS_OUTSIDE.search(text), f"{css.relative_to(html)} loads from outside"


def test_the_outside_asset_pattern_finds_cdn_scripts_and_styles():
    # the pattern above must be able to fail
    assert _OUTSIDE_ASSET.search('<script defer src="https://cdn.example.org/m.js"></script>')
    assert _OUTSIDE_ASSET.search('<link rel="stylesheet" href="//fonts.example.org/a.css">')
    assert _OUTSIDE_ASSET.search('<link href="https://x.example.org/a.css" rel="stylesheet">')
    assert not _OUTSIDE_ASSET.search('<a href="https://github.com/x/y">repository</a>')
    assert not _OUTSIDE_ASSET.search('<script src="../_static/mathjax/tex-mml-chtml.js">')
    assert _CSS_OUTSIDE.search("@font-face { src: url('https://fonts.example.org/f.woff2') }")


def test_mathjax_is_served_from_the_site(html):
    with_math = 0
    for page in toc_pages():
        source = (html / f"{page}.html").read_text(encoding="utf8")
        scripts = re.findall(r'<script[^>]*src="([^"]*tex-mml-chtml\.js)"', source)
        if 'class="math notranslate nohighlight"' not in source:
            continue
        with_math += 1
        assert scripts == ["../_static/mathjax/tex-mml-chtml.js"], (page, scripts)
    assert with_math >= 1  # book/data has math
    mathjax = html / "_static" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").is_file()
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (mathjax / "input" / "tex" / "extensions" / "ams.js").is_file()


def test_install_mathjax_copies_the_component_and_what_it_loads(tmp_path):
    script = labcode_book.install_mathjax("mathjax/tex-mml-chtml.js", tmp_path)
    assert script == tmp_path / "mathjax" / "tex-mml-chtml.js"
    source = labcode_book.mathjax_source() / "tex-mml-chtml.js"
    assert script.read_bytes() == source.read_bytes()
    assert 'VERSION="3.' in script.read_text(encoding="utf8")  # MathJax 3
    assert list((tmp_path / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").iterdir())
    assert not (tmp_path / "mathjax" / "output" / "svg").exists()
    assert labcode_book.install_mathjax("https://cdn.example.org/tex-mml-chtml.js", tmp_path) is None


@pytest.mark.parametrize("bad", ["mathjax/no-such-component.js", "../outside/tex-mml-chtml.js"])
def test_install_mathjax_rejects_a_path_that_is_not_a_component(tmp_path, bad):
    with pytest.raises(ExtensionError, match="mathjax_path must be a path under _static/"):
        labcode_book.install_mathjax(bad, tmp_path / "_static")


def test_a_mathjax_path_on_a_cdn_fails_the_strict_build(tmp_path):
    chapter = MINI_FRONT_MATTER + "# Math\n\nThe sum $a + b$.\n"
    root = make_mini_book(tmp_path / "b", {"math": chapter})
    config = (root / "_config.yml").read_text()
    assert config.count("mathjax_path: mathjax/tex-mml-chtml.js") == 1
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
    (root / "_config.yml").write_text(config.replace("mathjax/tex-mml-chtml.js", cdn))
    result = build_book(root, *STRICT)
    assert result.returncode != 0
    assert "loads MathJax from the network" in result.output


# --- reader features --------------------------------------------------------------------


def test_each_chapter_offers_its_executed_notebook(html):
    pages = _code_pages()
    assert pages, "no executed chapter in the table of contents"
    for page in pages:
        source = (html / f"{page}.html").read_text(encoding="utf8")
        name = Path(page).name
        assert f'href="../_sources/{page}.ipynb"' in source, page
        notebook = nbformat.read(html / "_sources" / f"{page}.ipynb", as_version=4)
        nbformat.validate(notebook)
        assert any(cell.get("outputs") for cell in notebook.cells), f"{name} has no outputs"
        # it says plainly what it is: the site's run, its checks on labcode's reference
        assert notebook.cells[0].source == labcode_book.DOWNLOAD_NOTE, name
        assert sum(labcode_book.DOWNLOAD_NOTE_TAG in c.metadata.get("tags", [])
                   for c in notebook.cells) == 1, name


_LAUNCH_LINK = re.compile(
    r'href="(https://mybinder\.org/v2/gh/(?P<b_repo>[^/"]+/[^/"]+)/(?P<b_ref>[^?"]+)'
    r'\?urlpath=tree/(?P<b_path>[^"]+)'
    r'|https://colab\.research\.google\.com/github/(?P<c_repo>[^/"]+/[^/"]+)/blob/'
    r'(?P<c_ref>[^/"]+)/(?P<c_path>[^"]+))"'
)


def _launch_links(html: Path) -> dict[str, list[tuple[str, str, str, str]]]:
    """Each page's launch links: (provider, owner/repo, ref, path in the repository)."""
    links = {}
    for page in sorted(html.rglob("*.html")):
        found = []
        for match in _LAUNCH_LINK.finditer(page.read_text(encoding="utf8")):
            kind = "binder" if match["b_repo"] else "colab"
            key = kind[0]
            found.append((kind, match[f"{key}_repo"], match[f"{key}_ref"], match[f"{key}_path"]))
        if found:
            links[page.relative_to(html).with_suffix("").as_posix()] = found
    return links


def _tracked(path: Path) -> bool:
    """Whether git tracks ``path`` (True outside a git work tree: nothing to ask)."""
    inside = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--is-inside-work-tree"],
                            capture_output=True, text=True, check=False)
    if inside.returncode != 0:
        return True
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "--error-unmatch", str(path)],
                            capture_output=True, check=False)
    return listed.returncode == 0


def test_launch_and_repository_buttons_point_at_the_repository(html):
    config = (REPO / "_config.yml").read_text()
    repo_url = re.search(r"^repository:\n  url: (\S+)", config, re.M).group(1)
    branch = re.search(r"^repository:\n(?:  .*\n)*?  branch: (\S+)", config, re.M).group(1)
    owner_repo = repo_url.removeprefix("https://github.com/")
    for page in toc_pages():
        text = (html / f"{page}.html").read_text(encoding="utf8")
        assert f'href="{repo_url}"' in text
        # the issue and edit buttons: a reader reports a mistake or suggests a fix
        assert f'href="{repo_url}/issues/new?title=Issue%20on%20page%20' in text, page
        assert f'href="{repo_url}/edit/{branch}/{page}.md"' in text, page
    links = _launch_links(html)
    assert set(links) == set(_code_pages())  # every executed chapter, and only those
    for page, found in links.items():
        assert sorted(kind for kind, *_ in found) == ["binder", "colab"], (page, found)
        for kind, repo, ref, path in found:
            assert (repo, ref) == (owner_repo, branch), (page, kind)
            # the notebook beside the chapter (make notebooks), never the .md Colab cannot open
            assert path == f"{page}.ipynb", (page, kind, path)
            assert (REPO / path).is_file(), f"{kind} link of {page}: {path} does not exist"
            assert _tracked(REPO / path), f"{kind} link of {page}: {path} is not committed"


def test_the_launch_link_pattern_reads_both_providers():
    page = ('<a href="https://mybinder.org/v2/gh/o/r/main?urlpath=tree/book/data.ipynb">'
            '<a href="https://colab.research.google.com/github/o/r/blob/main/book/data.md">')
    found = [(m["b_path"], m["c_path"]) for m in _LAUNCH_LINK.finditer(page)]
    assert found == [("book/data.ipynb", None), (None, "book/data.md")]


def test_launch_notebooks_run_top_to_bottom(html, launch_runs):
    """Every notebook a launch link opens runs in a fresh kernel, in an empty folder.

    labcode is importable here, so the install cell installs nothing. The notebooks are
    run once per session (``launch_runs``); the student-edition tests read the same runs.
    """
    import labcode

    paths = sorted({path for found in _launch_links(html).values() for *_, path in found})
    assert paths
    assert set(paths) <= set(launch_runs), "a launch link opens a notebook that was not run"
    for path in paths:
        notebook = launch_runs[path]
        install = notebook.cells[0]
        printed = "".join(out.get("text", "") for out in install.outputs)
        assert printed == f"labcode {labcode.__version__}\n", (path, printed)  # no pip run
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            raised = any(out.output_type == "error" for out in cell.outputs)
            assert raised == ("raises-exception" in cell.metadata.get("tags", [])), (
                path, cell.source[:80])


def test_the_build_runs_each_chapter_in_an_empty_folder(built_book):
    """myst-nb executes every chapter in a fresh temporary folder, as a downloaded
    notebook runs on a reader's machine: a chapter needing a file beside it fails the build."""
    config = (REPO / "_config.yml").read_text(encoding="utf8")
    assert re.search(r"^execute:\n(?:  .*\n|\s*\n)*?  run_in_temp: true$", config, re.M)
    for page in _code_pages():
        assert re.search(rf"{re.escape(page)}\.md: Executing notebook using temporary CWD",
                         built_book.output), page
    assert "using local CWD" not in built_book.output
    # the build's kernels find the studies' runs through the variable labcode reads
    assert labcode_book.RUN_CACHE_ENV == RUN_CACHE_ENV


def test_downloaded_notebooks_ran_in_plain_jupyter(html):
    """The download is the notebook the build ran in an empty folder (above): its code
    cells are the chapter's, each with the outputs of that run, and only the cells
    tagged raises-exception raised. No second run needed: nothing about it differs."""
    from myst_nb.core.read import read_myst_markdown_notebook

    for page in _code_pages():
        notebook = nbformat.read(html / "_sources" / f"{page}.ipynb", as_version=4)
        source = (REPO / f"{page}.md").read_text(encoding="utf8")
        chapter = read_myst_markdown_notebook(source, path=str(REPO / f"{page}.md"))
        code = [c.source for c in notebook.cells if c.cell_type == "code"]
        assert code == [c.source for c in chapter.cells if c.cell_type == "code"], page
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            assert cell.get("execution_count") is not None, (page, cell.source[:80])
            raised = any(out.output_type == "error" for out in cell.outputs)
            expected = "raises-exception" in cell.metadata.get("tags", [])
            assert raised == expected, (page, cell.source[:80])


def test_the_execution_report_lists_every_executed_chapter(html):
    source = (html / "book" / "execution.html").read_text(encoding="utf8")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", source, re.S)
    listed = {}
    for row in rows:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        if cells:
            listed[cells[0]] = cells
    assert set(listed) == set(_code_pages())
    for document, modified, method, runtime, status in listed.values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", modified), document
        assert method == "cache"
        assert float(runtime) > 0
        assert status == "✅"


# --- provenance footer -------------------------------------------------------------------


def _footer(html: Path, page: str) -> str | None:
    source = (html / f"{page}.html").read_text(encoding="utf8")
    found = re.search(r'<div class="chapter-provenance[^"]*">\s*<p>(.*?)</p>', source, re.S)
    return None if found is None else re.sub(r"\s+", " ", found.group(1))


def test_every_executed_chapter_has_a_provenance_footer(html):
    versions = {name: metadata.version(name) for name in ("labcode", "torch", "numpy", "scikit-learn")}
    pattern = re.compile(
        rf"Built with labcode {re.escape(versions['labcode'])} at commit "
        r"(?P<commit>[0-9a-f]{7,}(?: \+ uncommitted changes)?|unknown); "
        rf"torch {re.escape(versions['torch'])}, numpy {re.escape(versions['numpy'])}, "
        rf"scikit-learn {re.escape(versions['scikit-learn'])}\. "
        r"Seeds: (?P<seeds>[0-9, ]+|none declared)\. "
        r"Code executed \d{4}-\d\d-\d\d \d\d:\d\d UTC in \d+\.\d s\."
    )
    for page in toc_pages():
        footer = _footer(html, page)
        if page not in _code_pages():
            assert footer is None, page
            continue
        assert footer is not None, f"{page} has no provenance footer"
        found = pattern.fullmatch(footer)
        assert found, footer
        commit = found["commit"].split()[0]
        if commit != "unknown":  # the build ran inside this repository's work tree
            subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--verify", f"{commit}^{{commit}}"],
                check=True, capture_output=True,
            )
    assert "Seeds: 0." in _footer(html, "book/data")


def test_git_commit_names_the_commit_and_uncommitted_changes(tmp_path):
    assert labcode_book.git_commit(tmp_path) == "unknown"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org",
             *args], check=True, capture_output=True, text=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "--short", "HEAD")
    assert labcode_book.git_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("two\n")
    assert labcode_book.git_commit(tmp_path) == f"{head} + uncommitted changes"
    git("commit", "-q", "-am", "second")
    (tmp_path / "new.txt").write_text("untracked\n")
    assert labcode_book.git_commit(tmp_path) == f"{git('rev-parse', '--short', 'HEAD')} + uncommitted changes"


@pytest.mark.parametrize(
    ("glued", "shown"),
    [("0", "0"), ("[0]", "0"), ("(0, 1, 2)", "0, 1, 2"), ("[np.int64(1), 2]", "1, 2")],
)
def test_format_seeds(glued, shown):
    assert labcode_book.format_seeds(glued) == shown


@pytest.mark.parametrize("glued", ["'zero'", "[]", "[0, 'a']", "True", "[1.5]", "seed"])
def test_format_seeds_rejects_anything_but_ints(glued):
    with pytest.raises(ValueError, match="the glued 'seeds' must be an int or a non-empty list"):
        labcode_book.format_seeds(glued)


# --- the engine out of the reader's path ------------------------------------------------

# the run cache, not the forward pass's `cache` of saved values that Exercise 1 teaches
_ENGINE_WORDS = re.compile(
    r"cache_dir|CACHE|run_cache|cached|[Ee]xecutor|\b[Pp]ool|[Ww]orker|[Tt]hread"
    r"|perf_counter|[Tt]iming|check_claims|show_source|getsource"
)


def _shown_code_cells(page: Path) -> list[str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf8"), "html.parser")
    return [cell.get_text() for cell in soup.select("div.cell div.cell_input")]


def test_no_main_flow_code_cell_is_about_the_engine(html):
    """Caches, pools, thread limits, timings and claim checks run in hidden cells only."""
    offenders = []
    for page in _code_pages():
        cells = _shown_code_cells(html / f"{page}.html")
        assert cells, page  # the selector finds the page's code cells
        offenders += [(page, match.group(0), code[:200]) for code in cells
                      if (match := _ENGINE_WORDS.search(code))]
    assert not offenders, offenders


def test_the_engine_word_finder_finds_each_kind_of_cell():
    for code in ["trained = prepare_studies(cache_dir=CACHE)", "start = time.perf_counter()",
                 "threadpool_limits(limits=1)", "check_claims(lr, 'learning-rate')",
                 "with ProcessPoolExecutor() as executor:", "timings['x'] = 1"]:
        assert _ENGINE_WORDS.search(code), code
    assert not _ENGINE_WORDS.search("losses = [train_epoch(model, loaders.train, opt)]")
    assert not _ENGINE_WORDS.search("Z, fc_cache = fc_forward(X, W)")  # Exercise 1's cache


def test_the_appendix_on_the_engine_is_linked_from_each_studies_chapter(html):
    assert "book/building" in toc_pages()
    for page in ("book/studies", "book/regularization", "book/complex_mlp"):
        assert 'href="building.html' in (html / f"{page}.html").read_text(encoding="utf8"), page


def test_no_page_shows_a_traceback_or_a_path_of_the_build_machine(html):
    """Error demonstrations show the exception and its message; nothing leaks where the
    site was built."""
    offenders = []
    for page in sorted(html.rglob("*.html")):
        text = page.read_text(encoding="utf8")
        for needle in ("Traceback (most recent call last)", str(REPO), str(Path.home())):
            if needle in text and needle not in ("/", ""):
                offenders.append((str(page.relative_to(html)), needle))
    assert not offenders, offenders


# --- the term-time edition ----------------------------------------------------------------

_EXERCISE_CHAPTER = MINI_FRONT_MATTER + """
# Doubling

:::{exercise} Write `double`
:label: ex-double
:nonumber:

Write `double(x)`.
:::

```{code-cell} ipython3
:tags: [starter]
def double(x):
    raise NotImplementedError
```

```{code-cell} ipython3
:tags: [solution, remove-cell]
def double(x):
    return 2 * x  # THE-REFERENCE-SOLUTION
```

::::{solution} ex-double
:class: dropdown

The reference: `return 2 * x`, SOLUTION-DROPDOWN-TEXT.
::::

```{code-cell} ipython3
double(21)
```
"""


def test_the_term_time_build_leaves_every_solution_out(tmp_path):
    from bs4 import BeautifulSoup

    root = make_mini_book(tmp_path / "book", {"doubling": _EXERCISE_CHAPTER})
    normal = build_book(root, *STRICT, out=tmp_path / "normal")
    term = build_book(root, *STRICT, out=tmp_path / "term", env={"LABCODE_SOLUTIONS": "hidden"})
    assert normal.returncode == 0, normal.output[-3000:]
    assert term.returncode == 0, term.output[-3000:]
    shown, hidden = normal.page("doubling"), term.page("doubling")
    assert "SOLUTION-DROPDOWN-TEXT" in shown and "Solution to" in shown
    assert "SOLUTION-DROPDOWN-TEXT" not in hidden and "Solution to" not in hidden
    for page in (shown, hidden):
        assert "THE-REFERENCE-SOLUTION" not in page  # solution cells are hidden in both
        assert "Write <code" in page or "Write" in page  # the exercise itself stays
        outputs = [c.get_text() for c in BeautifulSoup(page, "html.parser").select("div.cell_output")]
        assert any("42" in text for text in outputs)  # it ran, with the reference in place


def test_a_bad_solutions_setting_stops_the_build(tmp_path):
    root = make_mini_book(tmp_path / "book", {"doubling": _EXERCISE_CHAPTER})
    build = build_book(root, *STRICT, out=tmp_path / "bad", env={"LABCODE_SOLUTIONS": "maybe"})
    assert build.returncode != 0 and "LABCODE_SOLUTIONS must be 'shown' or 'hidden'" in build.output


def test_every_image_has_an_alt_text_that_is_not_its_path(html):
    images = 0
    for page in sorted((html / "book").glob("*.html")):
        for tag in re.findall(r"<img\b[^>]*>", page.read_text(encoding="utf8")):
            images += 1
            alt = re.search(r'\balt="([^"]*)"', tag)
            assert alt and alt.group(1).strip(), (page.name, tag)
            assert not re.search(r"\.(png|jpe?g|svg)\b|_images/", alt.group(1)), (page.name, tag)
    assert images >= 31


def test_a_figures_alt_text_is_the_first_sentence_of_its_caption():
    from docutils import nodes

    figure = nodes.figure("", nodes.image(uri="_images/a.png"),
                          nodes.caption(text="Loss per epoch.  It falls\nfast. Then flat."))
    bare = nodes.figure("", nodes.image(uri="_images/b.png", alt="A digit"))
    doc = nodes.document(None, None)
    doc += [figure, bare]
    assert labcode_book.figure_alt_texts(doc) == 1
    assert figure.children[0]["alt"] == "Loss per epoch."
    assert bare.children[0]["alt"] == "A digit"
    assert labcode_book.alt_from_caption("x" * 300 + " y.", limit=20).endswith("…")


def test_a_repeated_id_gets_a_number_of_its_own():
    from docutils import nodes

    doc = nodes.document(None, None)
    sections = [nodes.section(ids=["exercise-content"]) for _ in range(3)]
    doc += [*sections, nodes.section(ids=["exercise-content-2"])]
    assert labcode_book.unique_ids(doc) == ["exercise-content-3", "exercise-content-4"]
    assert [s["ids"] for s in doc.children] == [
        ["exercise-content"], ["exercise-content-3"], ["exercise-content-4"], ["exercise-content-2"]]


def test_make_pdf_prints_the_whole_book_with_its_answers(html):
    """The PDF beside the site (the build fixture writes it as make book does, and the
    intro links to it) holds every page of the table of contents in order, each a
    bookmark whose first sheet carries its title, and the text of a closed "An answer"
    dropdown."""
    from pypdf import PdfReader

    intro = (html / "book" / "intro.html").read_text(encoding="utf8")
    assert 'href="../book.pdf"' in intro
    reader = PdfReader(html / "book.pdf")
    assert len(reader.pages) > 150
    starts = [(o.title, reader.get_destination_page_number(o)) for o in reader.outline]
    assert len(starts) == len(toc_pages())
    assert [n for _, n in starts] == sorted(n for _, n in starts)

    def words(text: str) -> str:  # ligatures (ﬁ, ﬀ) as letters, whitespace made single
        return " ".join(unicodedata.normalize("NFKC", text).split())

    for title, first in starts:
        assert words(title)[:25] in words(reader.pages[first].extract_text()), title
    chapter = next(i for i, (t, _) in enumerate(starts) if "by hand in NumPy" in t)
    sheets = range(starts[chapter][1], starts[chapter + 1][1])
    text = words(" ".join(reader.pages[i].extract_text() for i in sheets))
    # an answer that the page shows only when its dropdown is opened
    assert "The central difference cancels the second-order term" in text


def test_each_api_entry_has_one_parameters_section(html):
    text = (html / "book" / "api.html").read_text(encoding="utf8")
    entries = re.split(r'<dt class="sig sig-object py"', text)[1:]
    counts = [len(re.findall(r">Parameters<", e)) for e in entries]
    assert len(entries) > 100 and sum(counts) > 50
    twice = [re.sub(r"<[^>]+>", "", e[:200]) for e, n in zip(entries, counts) if n > 1]
    assert twice == [], twice[:3]


def test_each_script_is_written_once_whatever_its_priority():
    from sphinx.builders.html._assets import _JavaScript

    config = [_JavaScript(None, body="const THEBE_JS_URL = 1"),
              _JavaScript("", priority=501, body="const THEBE_JS_URL = 1"),
              _JavaScript("a.js"), _JavaScript("a.js", priority=200), _JavaScript("b.js")]
    assert labcode_book.unique_scripts(config) == [config[0], config[2], config[4]]


def test_the_intro_lists_every_step_with_a_link_to_its_section(html):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((html / "book" / "intro.html").read_text(encoding="utf8"), "html.parser")
    lists = [[a["href"] for a in ol.select("li a.reference")] for ol in soup.select("ol")][:2]
    expected = [[f"ex1-step-{i}" for i in range(1, 6)], [f"ex2-step-{i}" for i in range(1, 11)]]
    assert [[href.split("#")[1] for href in hrefs] for hrefs in lists] == expected
    for href in lists[0] + lists[1]:
        page, anchor = href.split("#")
        assert f'id="{anchor}"' in (html / "book" / page).read_text(encoding="utf8"), href


def test_label_download_adds_the_note_once(tmp_path):
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), path)
    assert labcode_book.label_download(path) is True
    assert labcode_book.label_download(path) is False  # a rebuild leaves it as it is
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code"]
    assert "student edition" in notebook.cells[0].source
    assert "solutions included" in notebook.cells[0].source


def solution_code(html_dir: Path) -> dict[str, list[list[str]]]:
    """Per solution dropdown of the built site (``page#id``), the non-blank lines of each
    code block it shows."""
    import html as html_module

    found: dict[str, list[list[str]]] = {}
    for page in sorted((html_dir / "book").glob("*.html")):
        text = page.read_text(encoding="utf8")
        for sid, body in re.findall(
                r'<div class="solution dropdown admonition" id="([^"]+)">(.*?)</section>', text,
                flags=re.S):
            blocks = [html_module.unescape(re.sub(r"<[^>]+>", "", pre))
                      for pre in re.findall(r"<pre>(.*?)</pre>", body, flags=re.S)]
            found[f"{page.stem}#{sid}"] = [[ln for ln in b.splitlines() if ln.strip()]
                                           for b in blocks]
    return found


LONGER_ANSWERS = ("class SimpleMLP", "class ComplexMLP", "class DigitsDataset")
"""The reference answers that may run to about twenty lines: the classes."""


def test_each_reference_answer_is_the_teaching_body_in_a_glance(html):
    dropdowns = solution_code(html)
    assert len(dropdowns) >= 20, sorted(dropdowns)
    too_long, checks = [], []
    for where, blocks in dropdowns.items():
        lines = [ln for block in blocks for ln in block]
        assert lines, f"{where} shows no code"
        limit = 20 if any(lines[0].startswith(c) for c in LONGER_ANSWERS) else 15
        if len(lines) > limit:
            too_long.append(f"{where}: {len(lines)} lines (at most {limit})")
        checks += [f"{where}: {ln.strip()}" for ln in lines
                   if '"""' in ln or re.search(r"\b_check\w*\(|\b_validate\.|^\s*@", ln)]
    assert too_long == [], too_long
    assert checks == [], checks
