"""Tests of labcode.provenance."""

import re

import pytest

import labcode
from labcode.provenance import PACKAGE_DIR, library_versions, source_fingerprint


def test_fingerprint_is_stable_and_follows_the_source(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    first = source_fingerprint(pkg)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert source_fingerprint(pkg) == first
    (pkg / "a.py").write_text("x = 2\n")
    assert source_fingerprint(pkg) != first
    (pkg / "a.py").write_text("x = 1\n")
    assert source_fingerprint(pkg) == first
    (pkg / "b.py").write_text("")
    assert source_fingerprint(pkg) != first


def test_fingerprint_of_installed_package():
    assert PACKAGE_DIR == __import__("pathlib").Path(labcode.__file__).resolve().parent
    assert source_fingerprint() == source_fingerprint(PACKAGE_DIR)


def test_fingerprint_rejects_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="package_dir must be an existing folder"):
        source_fingerprint(tmp_path / "nope")


def test_library_versions_names_the_stack():
    v = library_versions()
    assert set(v) == {"labcode", "numpy", "scikit-learn", "torch", "matplotlib"}
    assert v["labcode"] == labcode.__version__
