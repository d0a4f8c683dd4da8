"""Tests of labcode._validate: the one set of input checks every public function uses."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from labcode import _validate


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: _validate.integer(0, "epochs"), ValueError, r"epochs must be an int >= 1, got 0"),
        (lambda: _validate.integer(True, "epochs"), TypeError, r"epochs must be an int >= 1, got bool True"),
        (lambda: _validate.integer(2.0, "n"), TypeError, r"n must be an int >= 1, got float 2.0"),
        (lambda: _validate.seed(-1), ValueError, r"seed must be an int >= 0, got -1"),
        (lambda: _validate.seed(2**32), ValueError, r"seed must be below 2\*\*32 = 4294967296, got 4294967296"),
        (lambda: _validate.seeds([0, 2**40]), ValueError, r"seeds must be ints >= 0 and below 2\*\*32"),
        (lambda: _validate.labels([1e20], 10), ValueError, r"but y\[0\] = 1e\+20"),
        (lambda: _validate.labels(np.array([2**63], dtype=np.uint64), 10), ValueError,
         r"but y\[0\] = 9223372036854775808"),
        (lambda: _validate.sizes("64", "layer_sizes", at_least=2, what="two entries"), TypeError,
         r"layer_sizes must be a sequence of ints >= 1, got str '64'"),
        (lambda: _validate.seeds([]), ValueError, r"seeds must name at least one seed"),
        (lambda: _validate.seeds([0, 0]), ValueError, r"seeds must not repeat"),
        (lambda: _validate.seeds(3), TypeError, r"seeds must be a sequence of ints >= 0, got int 3"),
        (lambda: _validate.positive(0.0, "lr"), ValueError, r"lr must be a finite number above 0, got 0.0"),
        (lambda: _validate.positive(math.inf, "lr"), ValueError, r"got inf"),
        (lambda: _validate.positive("0.1", "lr"), TypeError, r"lr must be a finite number above 0, got str '0.1'"),
        (lambda: _validate.non_negative(-1e-9, "l2"), ValueError, r"l2 must be a finite number >= 0"),
        (lambda: _validate.real(1.0, "p", low=0.0, high=1.0, high_open=True), ValueError,
         re.escape("p must be a finite number in [0, 1), got 1.0")),
        (lambda: _validate.one_of("adam2", "optimizer", ["adam", "sgd"]), ValueError,
         re.escape("optimizer must be one of ['adam', 'sgd'], got 'adam2'")),
        (lambda: _validate.features([[1.0, np.nan]]), ValueError, r"X must be finite, but X\[0, 1\] = nan"),
        (lambda: _validate.features([1.0, 2.0]), ValueError, r"X must be 2-D"),
        (lambda: _validate.features([["a"]]), TypeError, r"X must be a numeric array"),
        (lambda: _validate.labels([0, 10], 10), ValueError, r"y must hold labels in 0..9 \(num_classes=10\), but y\[1\] = 10"),
        (lambda: _validate.labels([0.5], 10), ValueError, r"y must hold integer class labels, but y\[0\] = 0.5"),
        (lambda: _validate.features_labels([[0.0]], [0, 1], 10), ValueError, r"X and y must have the same number of samples"),
        (lambda: _validate.float_matrices(Z=np.zeros((2, 2), dtype=np.float32)), TypeError,
         r"Z must be a float64 NumPy array, got array of shape \(2, 2\) and dtype float32"),
        (lambda: _validate.float_matrices(Z=np.zeros(3)), ValueError, r"Z must be 2-D, got shape \(3,\)"),
        (lambda: _validate.shape(np.zeros((2, 3)), (3, 2), "dA", "A"), ValueError,
         r"dA of shape \(2, 3\) does not match A of shape \(3, 2\)"),
    ],
)
def test_each_check_names_the_argument_the_value_and_what_was_expected(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_checks_return_the_value_in_the_form_the_caller_works_with():
    assert _validate.integer(np.int64(3), "n") == 3 and type(_validate.integer(np.int64(3), "n")) is int
    assert _validate.positive(1, "lr") == 1.0 and isinstance(_validate.positive(1, "lr"), float)
    assert _validate.seeds(range(3)) == (0, 1, 2)
    X = _validate.features([[1, 2]])
    assert X.dtype == np.float64 and X.shape == (1, 2)
    assert _validate.labels([3.0, 1], 10).tolist() == [3, 1]


def test_float_matrices_never_reads_the_values():
    # the NumPy blocks call it inside training loops: a NaN is the loop's business
    _validate.float_matrices(Z=np.full((3, 3), np.nan))


def test_every_module_uses_these_checks_instead_of_its_own():
    # one definition of each check: no module writes a positive-int or seed check again
    package = Path(_validate.__file__).parent
    patterns = [r"isinstance\([^)]*, Integral\)", r"isinstance\([^)]*, Real\)", r"def _?check_positive_int",
                r"def _?check_seed", r"def _?check_lr\b", r"def _describe\b.*\n.*\n.*ndarray"]
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "_validate.py":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(package)}: {p}" for p in patterns if re.search(p, text)]
    assert offenders == []


def test_features_and_labels_take_tensors_and_refuse_ragged_lists():
    torch = pytest.importorskip("torch")
    X = torch.ones(2, 3, requires_grad=True)  # a tensor that autograd tracks
    np.testing.assert_array_equal(_validate.features(X), np.ones((2, 3)))
    assert _validate.labels(torch.tensor([1, 2]), 10).tolist() == [1, 2]
    with pytest.raises(TypeError, match=r"X must be a numeric array, got list \[\[1, 2\], \[3\]\]"):
        _validate.features([[1, 2], [3]])
