"""Sphinx extension that keeps the book honest about its code.

Two guards, on top of myst-nb's ``raise_on_error``, and two parts of the site:

* **Stale-cache guard.** myst-nb's cache keys on the text of a chapter's code
  cells only, so an edit to ``labcode`` would otherwise leave every chapter showing
  outputs of the old code. At the start of each build this extension hashes
  labcode's source (:func:`labcode.provenance.source_fingerprint`) and compares it
  with the hash stored beside the cache. When they differ, the cached outputs of
  every chapter that imports labcode are dropped and those chapters are re-read,
  so they execute again.
* **Execution guard.** A chapter with code cells that myst-nb did not execute
  (for example one whose front matter lacks ``file_format: mystnb``) stops the
  build with an error naming the chapter, instead of rendering code without
  outputs.
* **Offline MathJax.** ``mathjax_path`` in ``_config.yml`` names a file under the
  site's ``_static/``; at the end of each HTML build this extension copies MathJax
  there from the ``django-static-mathjax`` package (a dependency of the ``book``
  extra), so equations render with no network access. The files are copied into
  the built site only, never into a source ``_static/`` folder (Jupyter Book would
  add every script found there to every page).
* **Chapters run in an empty folder.** ``_config.yml`` has myst-nb execute each
  chapter in a fresh temporary folder (``run_in_temp: true``), as a downloaded
  notebook runs on a reader's machine: a chapter that needs a file beside it fails
  the build. The studies' run cache, which a chapter run from ``book/`` finds at
  ``../_build/.labcode_runs``, is handed to the kernels as ``LABCODE_RUN_CACHE``
  (the repository's ``_build/.labcode_runs``) unless that is set already.
* **Downloads that say what they are.** The download button of an executed chapter
  gives the notebook the site ran, with its hidden reference solutions; a first cell
  (:data:`DOWNLOAD_NOTE`) says so and points to the student edition, and its Markdown is
  written as Jupyter shows it (numbers, equation numbers and references resolved).
* **What the notebooks need to read as the pages do.** When an HTML build finishes,
  ``_build/notebook_refs.json`` (beside the site's folder) records what Sphinx resolved:
  every page's title, every label, equation number, citation and API object, and every
  value the chapters glued. ``book/_ext/notebook_markdown.py`` writes the notebooks'
  Markdown from it (``make student``, ``make notebooks``).
* **Provenance footer.** Every executed chapter ends with a small footer: the
  labcode version, the git commit the book was built from (short hash, followed by
  "+ uncommitted changes" when the work tree differs from it, or "unknown" outside
  git), the torch, numpy and scikit-learn versions, the chapter's seeds, and when
  and for how long its code ran (myst-nb's execution data; for a chapter taken
  from the execution cache, the run that filled the cache). When the commit or a
  library version changes, every executed chapter's page is written again.

Seeds convention
----------------
A chapter declares the seeds its results depend on by gluing them, under the name
``seeds``, as an int or a list of ints, taken from the objects that used them
rather than typed twice::

    split = load_digits_split(seed=0)
    glue("seeds", [split.seed], display=False)

The footer prints them ("Seeds: 0"). An executed chapter that glues no ``seeds``
shows "Seeds: none declared".

Run as a script, it drops one chapter's cached outputs so that the next build
re-executes it::

    python book/_ext/labcode_book.py rerun book/data.md
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

FINGERPRINT_FILE = "labcode_fingerprint.txt"
MATHJAX_DISTRIBUTION = "django-static-mathjax"
"""The package whose MathJax files the site serves (pinned in constraints.txt)."""
_MATHJAX_ES5 = "mathjax/static/mathjax/es5"
# what a combined component loads on demand: TeX extensions, the CommonHTML fonts, the
# menu, the accessibility and speech files; other components and the SVG output are left out
_MATHJAX_PARTS = ("input", "output/chtml", "ui", "a11y", "sre")
RUN_CACHE_ENV = "LABCODE_RUN_CACHE"
"""labcode.engine.studies.RUN_CACHE_ENV, written out: importing the engine loads torch,
which the Sphinx process does not need (tests/test_site.py checks that the two agree)."""
FOOTER_CLASS = "chapter-provenance"
_FOOTER_CSS = """\
.chapter-provenance {
  margin-top: 3em;
  padding-top: 0.5em;
  border-top: 1px solid var(--pst-color-border, #ccc);
  font-size: 0.8em;
  color: var(--pst-color-text-muted, #666);
}
.chapter-provenance p { margin: 0; }
"""
_IMPORTS_LABCODE = re.compile(r"^\s*(import\s+labcode|from\s+labcode[\s.])", re.MULTILINE)
_CODE_CELL = re.compile(r"^\s*(```+|:::+)\s*\{code-cell\}", re.MULTILINE)


def imports_labcode(source: str) -> bool:
    """Whether a chapter's source imports labcode."""
    return bool(_IMPORTS_LABCODE.search(source))


def has_code_cells(source: str) -> bool:
    """Whether a MyST chapter's source holds ``{code-cell}`` blocks."""
    return bool(_CODE_CELL.search(source))


def drop_cached_outputs(cache_path: str | Path, paths: list[Path]) -> list[str]:
    """Remove the cache records of the given notebook files; return their URIs."""
    cache_path = Path(cache_path)
    if not cache_path.exists():
        return []
    from jupyter_cache import get_cache

    wanted = {str(p.resolve()) for p in paths}
    cache = get_cache(str(cache_path))
    dropped = []
    for record in cache.list_cache_records():
        if str(Path(record.uri).resolve()) in wanted:
            cache.remove_cache(record.pk)
            dropped.append(record.uri)
    return dropped


def _on_env_get_outdated(app, env, added, changed, removed):
    """Drop cached outputs and re-read the chapters that import labcode when it changed.

    Runs before any chapter is read, once ``env.found_docs`` is known.
    """
    import labcode.provenance

    cache_path = Path(env.mystnb_config.execution_cache_path)
    current = labcode.provenance.source_fingerprint()
    stamp = cache_path / FINGERPRINT_FILE
    previous = stamp.read_text().strip() if stamp.exists() else None
    if previous == current:
        return []
    stale = {}
    for docname in sorted(env.found_docs - removed):
        path = Path(env.doc2path(docname))
        if path.exists() and imports_labcode(path.read_text(encoding="utf8")):
            stale[docname] = path
    dropped = drop_cached_outputs(cache_path, list(stale.values()))
    if previous is not None:
        from sphinx.util import logging

        logging.getLogger(__name__).info(
            "labcode source changed (%s -> %s): re-executing %d chapter(s), "
            "dropped %d cached output(s)",
            previous,
            current,
            len(stale),
            len(dropped),
        )
    # the stamp is written once the build succeeds (see _on_build_finished), so a
    # build that stops half way re-reads these chapters next time as well
    app.labcode_pending_stamp = (stamp, current)
    return sorted(set(stale) - added - changed)


def _on_build_finished(app, exception) -> None:
    pending = getattr(app, "labcode_pending_stamp", None)
    if exception is None and pending is not None:
        stamp, current = pending
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(current + "\n")


_STEP_TITLE = re.compile(r"Step (\d+)\b")


def step_index_entries(doctree) -> list[str]:
    """Give each section whose title starts "Step N" a main index entry "Step N".

    Sphinx's search matches a query against section titles only when it is at least half
    the title's length, so "Step 7" finds no "Step 7: the hidden size" section and lists
    nine pages that mention the words instead; an index entry that equals the query comes
    first in the results and leads to the section. Returns the entries added.
    """
    from docutils import nodes
    from sphinx import addnodes

    added = []
    for section in doctree.findall(nodes.section):
        match = _STEP_TITLE.match(section[0].astext()) if section.children else None
        if not match or not section["ids"]:
            continue
        entry = f"Step {match.group(1)}"
        index = addnodes.index(entries=[("single", entry, section["ids"][0], "main", None)])
        section.insert(1, index)
        added.append(entry)
    return added


def _on_doctree_read(app, doctree) -> None:
    from sphinx.errors import ExtensionError

    step_index_entries(doctree)
    env = app.env
    docname = env.docname
    path = Path(env.doc2path(docname))
    if path.suffix != ".md" or not path.exists():
        return
    if not has_code_cells(path.read_text(encoding="utf8")):
        return
    exec_data = getattr(env, "nb_metadata", {}).get(docname, {}).get("exec_data")
    if not exec_data or not exec_data.get("succeeded"):
        raise ExtensionError(
            f"chapter {docname!r} has code cells that were not executed; a MyST chapter "
            "needs front matter with 'file_format: mystnb' and a kernelspec"
        )


# --- offline MathJax -------------------------------------------------------------


def mathjax_source() -> Path:
    """The folder of MathJax's browser components in the installed package."""
    from importlib import metadata

    from sphinx.errors import ExtensionError

    try:
        dist = metadata.distribution(MATHJAX_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ExtensionError(
            f"the book serves MathJax from the {MATHJAX_DISTRIBUTION!r} package, which is "
            "not installed: pip install -c constraints.txt -e '.[book]'"
        ) from None
    return Path(dist.locate_file(_MATHJAX_ES5))


def _is_url(path: str) -> bool:
    return "://" in path or path.startswith("//")


def mathjax_entry(mathjax_path: str) -> Path | None:
    """The installed MathJax component that ``mathjax_path`` names; None for a URL.

    Raises ``ExtensionError`` when the path leaves ``_static/`` or its file name is
    not a MathJax component.
    """
    from sphinx.errors import ExtensionError

    if _is_url(mathjax_path):
        return None
    source = mathjax_source()
    relative = Path(mathjax_path)
    entry = source / relative.name
    if relative.is_absolute() or ".." in relative.parts or not entry.is_file():
        names = sorted(p.name for p in source.glob("*.js"))
        raise ExtensionError(
            f"mathjax_path must be a path under _static/ ending in a MathJax component "
            f"({', '.join(names)}), got {mathjax_path!r}"
        )
    return entry


def install_mathjax(mathjax_path: str, static_dir: str | Path) -> Path | None:
    """Copy MathJax into the built site, where ``mathjax_path`` points.

    Parameters
    ----------
    mathjax_path : str
        Sphinx's ``mathjax_path``: a path relative to the site's ``_static/``
        folder whose file name is a MathJax component such as ``tex-mml-chtml.js``,
        or a URL (then nothing is copied).
    static_dir : path
        The built site's ``_static`` folder.

    Returns
    -------
    Path or None
        The component's script in the site, or None for a URL.
    """
    entry = mathjax_entry(mathjax_path)
    if entry is None:
        return None
    target = Path(static_dir) / Path(mathjax_path).parent
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(entry, target / entry.name)
    for part in _MATHJAX_PARTS:
        shutil.copytree(entry.parent / part, target / part, dirs_exist_ok=True)
    return target / entry.name


SOLUTIONS_ENV = "LABCODE_SOLUTIONS"
"""Set to ``hidden`` for the term-time edition: every ``{solution}`` block is left out
(sphinx-exercise's ``hide_solutions``); the solution cells are hidden in both editions."""


def _on_config_inited(app, config) -> None:
    """Check ``mathjax_path`` before anything is built; apply the term-time switch; name
    the studies' run cache for the kernels, which run in temporary folders."""
    if not os.environ.get(RUN_CACHE_ENV):
        os.environ[RUN_CACHE_ENV] = str(Path(app.srcdir) / "_build" / ".labcode_runs")
    choice = os.environ.get(SOLUTIONS_ENV, "shown")
    if choice not in ("shown", "hidden"):
        raise ValueError(f"{SOLUTIONS_ENV} must be 'shown' or 'hidden', got {choice!r}")
    if choice == "hidden":
        config.hide_solutions = True
    # the theme's colour mode starts as "", which its script reports as an error on the
    # console of every page ("Got invalid theme mode") before it falls back to "auto"
    config.html_context.setdefault("default_mode", "auto")
    if mathjax_entry(config.mathjax_path) is None:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "mathjax_path %r loads MathJax from the network: equations will not render "
            "offline; point it at a file under _static/ (see _config.yml)",
            config.mathjax_path,
        )


def _on_build_finished_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    install_mathjax(app.config.mathjax_path, static)
    static.mkdir(parents=True, exist_ok=True)
    (static / "labcode_book.css").write_text(_FOOTER_CSS, encoding="utf8")


# --- provenance footer ---------------------------------------------------------------


def git_commit(folder: str | Path) -> str:
    """The commit a work tree is at: short hash, and whether it has changes.

    Parameters
    ----------
    folder : path
        A folder inside the work tree.

    Returns
    -------
    str
        ``"1a2b3c4"``, ``"1a2b3c4 + uncommitted changes"`` when tracked files differ
        from the commit or untracked files exist (ignored files do not count), or
        ``"unknown"`` outside a git work tree or without git.
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} + uncommitted changes" if dirty else head


def format_seeds(text_plain: str) -> str:
    """The seeds a chapter glued, from the glued value's ``text/plain`` form.

    Parameters
    ----------
    text_plain : str
        The repr of an int or of a list or tuple of ints, such as ``"[0, 1]"``;
        NumPy integers (``np.int64(1)``) count as ints.

    Returns
    -------
    str
        The seeds separated by commas, such as ``"0, 1"``.
    """
    plain = re.sub(r"\bnp\.u?int\d*\((-?\d+)\)", r"\1", text_plain.strip())
    try:
        value = ast.literal_eval(plain)
    except (ValueError, SyntaxError):
        value = None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(
            f"the glued 'seeds' must be an int or a non-empty list of ints, got {text_plain!r}"
        )
    return ", ".join(str(v) for v in value)


def chapter_seeds(env, docname: str) -> str | None:
    """The seeds an executed chapter glued under ``seeds``, formatted; None if none."""
    if "seeds" not in env.nb_metadata.get(docname, {}).get("glue", []):
        return None
    glue_file = Path(env.mystnb_config.output_folder, *f"{docname}.glue.json".split("/"))
    if not glue_file.is_file():
        raise ValueError(f"the glued values are missing ({glue_file}); rebuild with --all")
    data = json.loads(glue_file.read_text(encoding="utf8"))
    return format_seeds(data["seeds"]["data"]["text/plain"])


def build_provenance(srcdir: str | Path) -> dict[str, str]:
    """What the whole build shares: labcode and library versions and the commit."""
    import labcode.provenance

    versions = labcode.provenance.library_versions()
    return {
        "labcode": versions["labcode"],
        "commit": git_commit(srcdir),
        "torch": versions["torch"],
        "numpy": versions["numpy"],
        "scikit-learn": versions["scikit-learn"],
    }


def footer_text(build: dict[str, str], seeds: str | None, exec_data: dict) -> str:
    """The provenance footer of one executed chapter, as one line of text."""
    ran = datetime.fromtimestamp(exec_data["mtime"], tz=timezone.utc)
    return (
        f"Built with labcode {build['labcode']} at commit {build['commit']}; "
        f"torch {build['torch']}, numpy {build['numpy']}, "
        f"scikit-learn {build['scikit-learn']}. "
        f"Seeds: {seeds if seeds is not None else 'none declared'}. "
        f"Code executed {ran:%Y-%m-%d %H:%M} UTC in {exec_data['runtime']:.1f} s."
    )


def _executed_docnames(env) -> list[str]:
    return sorted(
        name for name, data in getattr(env, "nb_metadata", {}).items() if data.get("exec_data")
    )


DOWNLOAD_NOTE_TAG = "labcode-download-note"
DOWNLOAD_NOTE = (
    "**This notebook is the chapter as the book's site ran it, solutions included.** "
    "Hidden cells put labcode's reference solution in place of each exercise before its "
    "check, so a check here tests labcode's code, not yours, even after you fill in a "
    "starter. To do the lab, work in the student edition instead: the Colab or Binder "
    "button of the chapter's page opens it, and `make student` writes it, as the "
    "handout's `neural_network.ipynb` (Exercise 1) and `MLP.ipynb` (Exercise 2)."
)


# --- what the notebooks' Markdown needs (book/_ext/notebook_markdown.py) -------------

NOTEBOOK_REFS_FILE = "notebook_refs.json"
"""notebook_markdown.REFS_FILE, written out (tests/test_notebook_markdown.py checks they
agree)."""


def _notebook_markdown():
    """``book/_ext/notebook_markdown.py``, the writer of the notebooks' Markdown."""
    import importlib.util

    if "notebook_markdown" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "notebook_markdown", Path(__file__).resolve().parent / "notebook_markdown.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["notebook_markdown"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["notebook_markdown"]


def notebook_refs(app) -> dict:
    """What the build resolved, for the notebooks: titles, labels, equations, citations,
    API objects and glued values (the fields of ``notebook_markdown.Refs``)."""
    env = app.env
    base_url = app.config.html_baseurl or ""
    std = env.domaindata.get("std", {})
    labels = {name: [doc, anchor, str(title)]
              for name, (doc, anchor, title) in std.get("labels", {}).items() if doc}
    equations = {label: [doc, number] for label, (doc, number)
                 in env.domaindata.get("math", {}).get("objects", {}).items()}
    py = {name: [entry[0], entry[1]]
          for name, entry in env.domaindata.get("py", {}).get("objects", {}).items()}
    citations = {}
    try:
        cite = env.get_domain("cite")
    except Exception:  # sphinxcontrib-bibtex not loaded
        cite = None
    if cite is not None:
        for citation in cite.citations:
            citations[citation.key] = [
                citation.bibliography_key.docname, citation.citation_id, citation.formatted_entry.label,
                citation.formatted_entry.text.render_as("text")]
    glue = {}
    output_folder = Path(env.mystnb_config.output_folder)
    for docname in sorted(env.found_docs):
        path = output_folder.joinpath(*f"{docname}.glue.json".split("/"))
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf8"))
            glue[docname] = {key: value.get("data", {}).get("text/plain", "")
                             for key, value in data.items()}
    titles = {docname: title.astext() for docname, title in env.titles.items()}
    return {"base_url": base_url, "titles": titles, "labels": labels,
            "equations": equations, "citations": citations, "py": py, "glue": glue}


def _on_build_finished_refs(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    path = Path(app.outdir).parent / NOTEBOOK_REFS_FILE
    path.write_text(json.dumps(notebook_refs(app), indent=1, sort_keys=True,
                               ensure_ascii=False) + "\n", encoding="utf8")


def label_download(path: str | Path, render=None) -> bool:
    """Open the downloadable notebook at ``path`` with :data:`DOWNLOAD_NOTE`, once, and
    write its Markdown cells as Jupyter shows them (``render``: a function from a MyST
    Markdown cell to plain Markdown, see ``notebook_markdown.Renderer.render``).

    The site's download button of an executed chapter gives this notebook; the note says
    plainly what it is. Returns whether the file was changed (False when already labelled).
    """
    import nbformat

    notebook = nbformat.read(str(path), as_version=4)
    first = notebook.cells[0] if notebook.cells else None
    if first is not None and DOWNLOAD_NOTE_TAG in first.get("metadata", {}).get("tags", []):
        return False
    if render is not None:
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = render(cell.source)
    note = nbformat.v4.new_markdown_cell(DOWNLOAD_NOTE, metadata={"tags": [DOWNLOAD_NOTE_TAG]})
    note.id = DOWNLOAD_NOTE_TAG
    notebook.cells.insert(0, note)
    nbformat.write(notebook, str(path))
    return True


def _on_build_finished_downloads(app, exception) -> None:
    """Label every executed chapter's downloadable notebook (``_sources/<doc>.ipynb``) and
    write its Markdown from what this build resolved (the refs of ``notebook_refs.json``)."""
    if exception is None and app.builder.format == "html":
        notebook_markdown = _notebook_markdown()
        refs = notebook_markdown.Refs(**notebook_refs(app))
        for docname in _executed_docnames(app.env):
            path = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
            if path.is_file():
                source = Path(app.env.doc2path(docname))
                renderer = notebook_markdown.Renderer(refs, docname, source.parent)
                label_download(path, renderer.render)


def _on_builder_inited(app) -> None:
    app.labcode_build_provenance = build_provenance(app.srcdir)


def _on_env_get_updated(app, env) -> list[str]:
    """Rewrite every executed chapter when the commit or a library version changed."""
    current = app.labcode_build_provenance
    if getattr(env, "labcode_build_provenance", None) == current:
        return []
    env.labcode_build_provenance = current
    return _executed_docnames(env)


_PATH_LIKE = re.compile(r"(^|/)[^/\s]+\.(png|jpe?g|svg|gif|webp)$|_images/", re.I)


def alt_from_caption(caption: str, limit: int = 250) -> str:
    """A figure's alt text: the first sentence of its caption, whitespace made single."""
    text = " ".join(caption.split())
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text, maxsplit=1)[0]
    if len(first) > limit:
        first = first[: limit - 1].rsplit(" ", 1)[0] + "…"
    return first


def figure_alt_texts(doctree) -> int:
    """Give every image of a captioned figure an alt text from its caption, where it has
    none (Sphinx then writes the file's path, which a screen reader reads out); the count."""
    from docutils import nodes

    given = 0
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions or not captions[0].astext().strip():
            continue
        for image in figure.findall(nodes.image):
            alt = image.get("alt", "")
            if not alt.strip() or _PATH_LIKE.search(alt):
                image["alt"] = alt_from_caption(captions[0].astext())
                given += 1
    return given


def unique_ids(doctree) -> list[str]:
    """Give each repeat of an id in the document an id of its own (``name-2``, ``name-3``,
    ...), so that a link or a screen reader finds one element per id; the ids given.

    sphinx-exercise names the body of every exercise ``exercise-content`` and of every
    solution ``solution-content``, where docutils would have made each id unique.
    """
    from docutils import nodes

    elements = list(doctree.findall(nodes.Element))
    taken = {name for node in elements for name in node.get("ids", [])}
    seen, given = set(), []
    for node in elements:
        ids = node.get("ids", [])
        for k, name in enumerate(ids):
            if name in seen:
                n = 2
                while f"{name}-{n}" in taken:
                    n += 1
                ids[k] = f"{name}-{n}"
                taken.add(ids[k])
                given.append(ids[k])
            seen.add(ids[k])
    return given


def _on_doctree_resolved(app, doctree, docname: str) -> None:
    from docutils import nodes
    from sphinx.util import logging

    if app.builder.format == "html":
        figure_alt_texts(doctree)
        unique_ids(doctree)

    exec_data = getattr(app.env, "nb_metadata", {}).get(docname, {}).get("exec_data")
    if app.builder.format != "html" or not exec_data:
        return
    try:
        seeds = chapter_seeds(app.env, docname)
    except ValueError as err:
        logging.getLogger(__name__).warning("%s: %s", docname, err, location=docname)
        seeds = "invalid"
    text = footer_text(app.labcode_build_provenance, seeds, exec_data)
    doctree += nodes.container(
        "", nodes.paragraph(text=text), classes=[FOOTER_CLASS]
    )


def _on_env_before_read_docs(app, env, docnames: list[str]) -> None:
    """Read (and so execute) the chapters in table-of-contents order, not alphabetically.

    Later chapters read the study runs that earlier ones trained from the run cache;
    in toc order each chapter trains its own runs and reports its own time.
    """
    site_map = getattr(app.config, "external_site_map", None)
    if site_map is None:
        return
    position = {name: i for i, name in enumerate(site_map)}
    docnames.sort(key=lambda name: (position.get(name, len(position)), name))


def unique_scripts(scripts: list) -> list:
    """The page's scripts, each once: sphinx-thebe writes its inline configuration twice,
    and the second copy throws "Identifier 'THEBE_JS_URL' has already been declared"."""
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # the same file or inline body, whatever priority each copy was added with
        key = (str(getattr(script, "filename", script) or ""),  # an inline one: None or ""
               tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


_BODY_FIXES = (
    # docutils writes the bibliography as role="list" holding role="doc-biblioentry"
    # items, a role ARIA 1.2 deprecates: a list must hold list items
    ('role="doc-biblioentry"', 'role="listitem"'),
    # myst-nb names each "Show code cell source" toggle "Toggle hidden content": a name
    # that leaves out the visible text (WCAG 2.5.3); without it the text is the name
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
    # the empty corner cell of a pandas table is a header naming nothing
    ("<th></th>", "<td></td>"),
)


def accessible_body(body: str) -> str:
    """The page's HTML with the few markup faults of docutils, myst-nb and pandas that a
    screen reader trips on mended (``_BODY_FIXES``)."""
    for old, new in _BODY_FIXES:
        body = body.replace(old, new)
    return body


def _on_html_page_context(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        # in place: later handlers (MathJax on pages with math) add to this very list
        scripts[:] = unique_scripts(scripts)
    if isinstance(context.get("body"), str):
        context["body"] = accessible_body(context["body"])


def _teaching_literalinclude():
    """``literalinclude`` that shows a labcode object as a student reads it.

    With ``:pyobject:`` and no option that picks lines, the included code is
    ``notebook_markdown.teaching_source``: the object without its decorators (the door
    checks) and docstrings, the same code the notebooks show.
    """
    from docutils import nodes
    from sphinx.directives.code import LiteralInclude

    picking = {"lines", "start-after", "end-before", "start-at", "end-at", "dedent",
               "lineno-match", "diff", "prepend", "append"}

    class TeachingLiteralInclude(LiteralInclude):
        def run(self):
            result = super().run()
            name = self.options.get("pyobject")
            if not name or picking & set(self.options) or not self.arguments[0].endswith(".py"):
                return result
            _, filename = self.env.relfn2path(self.arguments[0])
            code = _notebook_markdown().teaching_source(Path(filename), name)
            for node in result:
                for block in node.findall(nodes.literal_block):
                    block.children = [nodes.Text(code)]
                    block.rawsource = code
            return result

    return TeachingLiteralInclude


def setup(app):
    app.add_directive("literalinclude", _teaching_literalinclude(), override=True)
    # early: html-page-context stops at the first handler that returns a template
    app.connect("html-page-context", _on_html_page_context, priority=100)
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("doctree-read", _on_doctree_read)
    app.connect("build-finished", _on_build_finished)
    app.connect("config-inited", _on_config_inited)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-get-updated", _on_env_get_updated)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("build-finished", _on_build_finished_assets)
    app.connect("build-finished", _on_build_finished_downloads)
    app.connect("build-finished", _on_build_finished_refs)
    app.add_css_file("labcode_book.css")
    return {"version": "1.1", "parallel_read_safe": True, "parallel_write_safe": True}


def _main(argv: list[str]) -> int:
    usage = "usage: python book/_ext/labcode_book.py rerun CHAPTER.md [CACHE_DIR]"
    if len(argv) not in (2, 3) or argv[0] != "rerun":
        print(usage, file=sys.stderr)
        return 2
    chapter = Path(argv[1])
    if not chapter.is_file():
        print(f"error: no chapter file {str(chapter)!r}", file=sys.stderr)
        return 2
    cache = Path(argv[2]) if len(argv) == 3 else Path("_build/.jupyter_cache")
    dropped = drop_cached_outputs(cache, [chapter])
    print(f"dropped {len(dropped)} cached execution(s) of {chapter}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
