"""The notebooks behind the Colab and Binder buttons, and Binder's environment.

sphinx-book-theme links a page's Colab and Binder buttons to ``book/<chapter>.ipynb``
when that file sits beside ``book/<chapter>.md`` (otherwise to the ``.md``, which Colab
cannot open). This script writes those notebooks, one per chapter of ``_toc.yml`` that
has code cells, and ``binder/requirements.txt``; both are committed, because Colab and
Binder read them from the repository. ``_config.yml`` keeps them out of the Sphinx build
(``exclude_patterns: book/**.ipynb``).

Each notebook is, by the setting ``launch_notebooks: edition:`` in ``_config.yml``:

* ``student`` (the default): the student edition of the chapter, as ``make student``
  writes it (book/_ext/student_edition.py): no solutions, the starter cells and their
  checks;
* ``full``: the chapter's cells as they are, solutions included.

In both, the first cell installs labcode when it is not importable (Colab): from the
repository and branch of ``_config.yml``'s ``repository:``, where the launch links point,
with torch from PyTorch's CPU wheel index and the versions of ``constraints.txt``. Where
labcode is importable (Binder, whose ``binder/postBuild`` installs it, or the book's
environment) the cell installs nothing. The notebooks hold no outputs, no timestamps and
stable cell ids, so writing them twice from the same chapters gives the same bytes.

``binder/requirements.txt`` pins, with the versions of ``constraints.txt``, labcode's
dependencies (``pyproject.toml``) and everything they depend on, as installed here.

Run as a script (``make notebooks``)::

    python book/_ext/launch_notebooks.py [--out book] [--binder binder] [chapter ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import nbformat
import yaml

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("student_edition", _HERE / "student_edition.py")
student_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_edition)

ROOT = student_edition.ROOT
EDITIONS = ("student", "full")
DEFAULT_EDITION = "student"
MADE_BY = "make notebooks"
INSTALL_TAG = "install-labcode"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REQUIREMENTS_HEADER = """\
# Binder's environment: the versions the book is built with (constraints.txt), for
# labcode's dependencies and theirs. Written by `make notebooks`
# (book/_ext/launch_notebooks.py) from constraints.txt: do not edit by hand.
# torch's CPU build: the book needs no GPU, and the CUDA build is several GB.
--extra-index-url {index}
"""

__all__ = [
    "LaunchSettings",
    "launch_settings",
    "install_cell_source",
    "launch_notebook",
    "binder_requirements",
    "write_launch_notebooks",
    "main",
]


class LaunchSettings:
    """What the launch notebooks are built from: ``_config.yml`` and the pins.

    Attributes
    ----------
    edition : str
        ``"student"`` or ``"full"`` (``launch_notebooks: edition:``).
    repository : str
        The repository's URL (``repository: url:``).
    ref : str
        The branch the launch links open and labcode is installed from
        (``repository: branch:``).
    version : str
        labcode's version (``pyproject.toml``), the book's version.
    pins : dict of str to str
        The exact versions of ``constraints.txt``, keyed by normalized package name.
    """

    def __init__(self, edition, repository, ref, version, pins):
        self.edition = edition
        self.repository = repository
        self.ref = ref
        self.version = version
        self.pins = pins

    @property
    def constraints_url(self) -> str:
        """``constraints.txt`` at ``ref``, as a file pip can read (GitHub's raw files)."""
        owner_repo = self.repository.removeprefix("https://github.com/").strip("/")
        return f"https://raw.githubusercontent.com/{owner_repo}/{self.ref}/constraints.txt"


def normalize(name: str) -> str:
    """A package name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: str | Path) -> dict[str, str]:
    """The ``name==version`` lines of a constraints file, keyed by normalized name."""
    pins = {}
    for line in Path(path).read_text(encoding="utf8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        found = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(\S+)", line)
        if found is None:
            raise ValueError(f"{path}: not an exact pin: {line!r}")
        pins[normalize(found[1])] = found[2]
    return pins


def launch_settings(root: str | Path = ROOT) -> LaunchSettings:
    """The settings of the book in ``root`` (``_config.yml``, ``pyproject.toml``, pins).

    Raises
    ------
    ValueError
        When ``launch_notebooks: edition:`` is neither ``student`` nor ``full``, or the
        repository is not on GitHub (Colab opens notebooks from GitHub only).
    """
    root = Path(root)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8")) or {}
    edition = (config.get("launch_notebooks") or {}).get("edition", DEFAULT_EDITION)
    if edition not in EDITIONS:
        raise ValueError(
            f"_config.yml: launch_notebooks: edition must be one of {EDITIONS}, got {edition!r}"
        )
    repository = str((config.get("repository") or {}).get("url", "")).rstrip("/")
    if not repository.startswith("https://github.com/"):
        raise ValueError(
            f"_config.yml: repository: url must be a https://github.com/ address, got {repository!r}"
        )
    ref = str((config.get("repository") or {}).get("branch") or "main")
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf8"))["project"]
    return LaunchSettings(edition, repository, ref, project["version"],
                          read_pins(root / "constraints.txt"))


def install_cell_source(settings: LaunchSettings) -> str:
    """The first cell of every launch notebook: install labcode unless it is importable."""
    torch = settings.pins["torch"]
    return f'''\
# Installs labcode {settings.version} where it is missing (Colab): from the book's
# repository, branch {settings.ref} (where this notebook comes from), with the versions
# the book is built with (constraints.txt) and torch's CPU build (no GPU needed).
# Where labcode is importable (Binder, the book's environment) it installs nothing.
try:
    import labcode
except ImportError:
    import importlib
    import subprocess
    import sys

    REPOSITORY = "{settings.repository}"
    REF = "{settings.ref}"
    CONSTRAINTS = "{settings.constraints_url}"
    TORCH_CPU_INDEX = "{TORCH_CPU_INDEX}"
    already_imported = [name for name in ("numpy", "torch", "pandas", "matplotlib", "sklearn")
                        if name in sys.modules]

    def pip_install(*args):
        command = [sys.executable, "-m", "pip", "install", "--quiet", *args]
        print("$", " ".join(command))
        subprocess.run(command, check=True)

    pip_install("torch=={torch}", "--index-url", TORCH_CPU_INDEX)
    pip_install("-c", CONSTRAINTS, f"labcode @ git+{{REPOSITORY}}@{{REF}}")
    importlib.invalidate_caches()
    import labcode

    if already_imported:
        print("Restart the runtime (Runtime > Restart session) and run the notebook again:",
              "pip may have replaced", ", ".join(already_imported), "after they were imported.")
print("labcode", labcode.__version__)'''


def full_notebook(path: str | Path, refs=None) -> nbformat.NotebookNode:
    """The chapter's cells (solutions included), without outputs, the Markdown rendered
    with what the build resolved (``refs``, by default the build in ``_build``)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    path = Path(path)
    if not path.is_file():
        raise student_edition.StudentEditionError(f"chapter file not found: {path}")
    source = read_myst_markdown_notebook(
        path.read_text(encoding="utf8"), config=student_edition._md_config(), path=str(path)
    )
    refs = student_edition.load_refs() if refs is None else refs
    renderer = student_edition.notebook_markdown.Renderer(
        refs, student_edition.docname_of(path), path.parent)

    def markdown(text, metadata):
        try:
            return nbformat.v4.new_markdown_cell(renderer.render(text), metadata=metadata)
        except student_edition.notebook_markdown.RenderError as error:
            raise student_edition.StudentEditionError(f"{path.name}: {error}") from None

    makers = {"code": nbformat.v4.new_code_cell, "markdown": markdown,
              "raw": nbformat.v4.new_raw_cell}
    cells = [makers[cell.cell_type](cell.source, metadata=dict(cell.get("metadata", {})))
             for cell in source.cells]
    intro = nbformat.v4.new_markdown_cell(
        f"This notebook is the chapter `{path.stem}` of the book, generated from "
        f"`book/{path.name}` by `{MADE_BY}`, solutions included. Run the cells from the "
        "top: the first one installs labcode where it is missing."
    )
    from labcode.grade import expected_checks

    notebook = nbformat.v4.new_notebook(
        cells=[intro, *cells],
        metadata={"kernelspec": dict(student_edition.KERNELSPEC),
                  "language_info": {"name": "python"}},
    )
    notebook.metadata["labcode"] = {"chapter": path.stem, "checks": expected_checks(notebook)}
    return notebook


def launch_notebook(path: str | Path, settings: LaunchSettings | None = None, refs=None):
    """The launch notebook of one chapter: the install cell, then the chosen edition.
    ``refs``: what the book's build resolved, by default the build in ``_build``."""
    settings = settings or launch_settings()
    if settings.edition == "student":
        notebook = student_edition.student_notebook(path, made_by=MADE_BY, refs=refs)
    else:
        notebook = full_notebook(path, refs)
    install = nbformat.v4.new_code_cell(
        install_cell_source(settings), metadata={"tags": [INSTALL_TAG]}
    )
    notebook.cells.insert(0, install)
    notebook.metadata["labcode"]["edition"] = settings.edition
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", Path(path).stem)[:50]
    for number, cell in enumerate(notebook.cells):  # stable ids: same chapter, same file
        cell.id = f"{prefix}-{number:03d}"
    nbformat.validate(notebook)
    return notebook


def _requirement_name(requirement: str) -> str | None:
    """The name of a ``Requires-Dist`` entry that applies here without extras, else None."""
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    if parsed.marker is not None and not parsed.marker.evaluate({"extra": ""}):
        return None
    return normalize(parsed.name)


def runtime_packages(root: str | Path = ROOT) -> list[str]:
    """labcode's dependencies (``pyproject.toml``) and theirs, as installed here, sorted."""
    project = tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf8"))
    todo = [name for entry in project["project"]["dependencies"]
            if (name := _requirement_name(entry))]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [found for entry in requires if (found := _requirement_name(entry))]
    return sorted(seen)


def binder_requirements(settings: LaunchSettings | None = None, root: str | Path = ROOT) -> str:
    """``binder/requirements.txt``: the pins of ``constraints.txt`` for labcode's runtime.

    Packages that ``constraints.txt`` does not pin (none at present) are left out.
    """
    settings = settings or launch_settings(root)
    lines = [REQUIREMENTS_HEADER.format(index=TORCH_CPU_INDEX)]
    for name in runtime_packages(root):
        if name in settings.pins:
            version = settings.pins[name]
            if name == "torch":
                version += "+cpu"
            lines.append(f"{name}=={version}\n")
    return "".join(lines)


def _chapters(chapters) -> list[Path]:
    if chapters:
        return [student_edition._resolve_chapter(chapter) for chapter in chapters]
    paths = []
    for path in student_edition.toc_chapters():
        if not path.is_file():
            raise student_edition.StudentEditionError(
                f"chapter file not found: {student_edition._display(path)} (listed in _toc.yml)"
            )
        if student_edition._has_code_cells(path):
            paths.append(path)
    return paths


def write_launch_notebooks(
    chapters: list[str | Path] | None = None,
    out: str | Path = ROOT / "book",
    binder: str | Path | None = ROOT / "binder",
    refs=None,
) -> list[Path]:
    """Write ``<out>/<chapter>.ipynb`` for the chapters, and ``<binder>/requirements.txt``.

    Parameters
    ----------
    chapters : list of path or str, optional
        Chapter files or names; ``None`` means every chapter of ``_toc.yml`` with code cells.
    out : path, default ``book/``
        The folder for the notebooks (the theme looks for them beside the chapters).
    binder : path or None, default ``binder/``
        The folder for ``requirements.txt``; ``None`` writes none.
    refs : notebook_markdown.Refs, optional
        What the book's build resolved; by default the build in ``_build``.

    Returns
    -------
    list of Path
        The files written. Nothing is written when a chapter cannot be converted.
    """
    settings = launch_settings()
    refs = student_edition.load_refs() if refs is None else refs
    notebooks = [(path.stem, launch_notebook(path, settings, refs))
                 for path in _chapters(chapters)]
    written = student_edition.write_notebooks(notebooks, out)
    if binder is not None:
        target = Path(binder) / "requirements.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(binder_requirements(settings), encoding="utf8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write the launch notebooks; exit 2 with a message on an error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "book"),
                        help="folder for the notebooks (default: book/)")
    parser.add_argument("--binder", default=str(ROOT / "binder"),
                        help="folder for Binder's requirements.txt (default: binder/)")
    parser.add_argument("--build", default=str(student_edition.DEFAULT_BUILD),
                        help="the book's build whose numbers and references the text "
                        "shows (default: _build, written by make book)")
    parser.add_argument("chapters", nargs="*",
                        help="chapter files or names (default: every chapter with code cells)")
    args = parser.parse_args(argv)
    return student_edition.list_written(  # ValueError: StudentEditionError included
        lambda: write_launch_notebooks(args.chapters, args.out, args.binder,
                                       student_edition.load_refs(args.build)),
        "launch notebooks", ValueError)


if __name__ == "__main__":
    sys.exit(main())
