"""Sphinx extension that keeps the book honest about its code.

Two guards, on top of myst-nb's ``raise_on_error``:

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

Run as a script, it drops one chapter's cached outputs so that the next build
re-executes it::

    python book/_ext/labcode_book.py rerun book/data.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FINGERPRINT_FILE = "labcode_fingerprint.txt"
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


def _on_doctree_read(app, doctree) -> None:
    from sphinx.errors import ExtensionError

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


def setup(app):
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("doctree-read", _on_doctree_read)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


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
