"""What pip sees: the package's metadata and its source distribution."""

from __future__ import annotations

import os
import re
import tarfile
from pathlib import Path

from conftest import REPO


def test_the_sdist_holds_the_package_and_its_metadata_and_no_tests(tmp_path):
    from setuptools import build_meta

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        name = build_meta.build_sdist(str(tmp_path))
    finally:
        os.chdir(cwd)
    with tarfile.open(tmp_path / name) as archive:
        members = archive.getnames()
        info = archive.extractfile(next(m for m in members if m.endswith("/PKG-INFO"))).read().decode()
    top = {Path(m).parts[1] for m in members if len(Path(m).parts) > 1}
    # the tests need the whole repository (book, Makefile): an sdist without them, not broken ones
    assert "tests" not in top and "benchmarks" not in top, top
    assert "labcode" in top and any(m.endswith("labcode/_sealed.py") for m in members)
    assert re.search(r"^Author: The labcode authors$", info, re.M)
    assert re.search(r"^Project-URL: Source, https://github\.com/", info, re.M)
    assert re.search(r"^Classifier: Topic :: Education$", info, re.M)
    assert re.search(r"^Keywords: ", info, re.M)
    assert re.search(r"^Provides-Extra: grade$", info, re.M)
    assert re.search(r"^Requires-Dist: nbclient.*extra == \"grade\"", info, re.M)
