"""Tests of labcode.gradcheck: the finite-difference gradient and the relative error."""

import numpy as np
import pytest

from labcode.gradcheck import numerical_gradient, relative_error

import numerics


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    A = rng.normal(size=(3, 4))
    # f(x) = sum(A * x) has gradient A; f(x) = sum(sin(x)) has gradient cos(x). Central
    # differences (h = 1e-5) are off by the round-off of f over 2h plus h^2/6 times the
    # third derivative (tests/numerics.py): linear, none; sin's is -cos, at most 1
    linear = numerics.central_difference_atol(np.abs(A * x).sum() + 1e-5 * np.abs(A).sum(),
                                              x.size + 1)
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(A * v)), x), A,
                               rtol=0, atol=linear)
    sine = numerics.central_difference_atol(x.size, x.size + 1, third=1.0)
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(np.sin(v))), x),
                               np.cos(x), rtol=0, atol=sine)
    # a 0-d array and the float a NumPy reduction returns: (2 +- h)^3, third derivative 6
    x0 = np.array(2.0)
    np.testing.assert_allclose(numerical_gradient(lambda v: v**3, x0), 12.0, rtol=0,
                               atol=numerics.central_difference_atol(8.0, 3, third=6.0))


def test_numerical_gradient_restores_every_entry_exactly():
    x = np.random.default_rng(1).normal(size=(5, 3)) * 1e3
    original = x.copy()
    seen = []

    def f(v):
        # exactly one entry differs from the original at every call, by +h or -h
        changed = np.flatnonzero(v != original)
        seen.append(changed.size)
        return float(np.sum(v**2))

    numerical_gradient(f, x, h=1e-3)
    assert seen == [1] * (2 * x.size)
    np.testing.assert_array_equal(x, original)  # bitwise: restored, not recomputed


def test_numerical_gradient_restores_the_entry_when_f_raises():
    x = np.zeros(3)
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, np.zeros(3))
    np.testing.assert_array_equal(calls[1], [-1e-5, 0.0, 0.0])


def test_numerical_gradient_reads_x_through_a_closure():
    # the way a network is checked: f ignores its argument and reads the weights it owns
    W = np.array([[1.0, -2.0]])
    grad = numerical_gradient(lambda _: float(np.sum(W**2)), W)
    # quadratic: no truncation error; the round-off of a sum of 2 squares of size 4
    np.testing.assert_allclose(grad, 2 * W, rtol=0,
                               atol=numerics.central_difference_atol(5.0, 2 + 2))


def test_gradient_check_detects_a_wrong_gradient():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(6, 4))
    w = rng.normal(size=4)

    def f(v):
        return float(np.sum((X @ v) ** 2))

    numeric = numerical_gradient(f, w)
    right = 2 * X.T @ (X @ w)
    # quadratic: no truncation; round-off of f, a sum of 6 squares of dot products of 4,
    # over 2h per entry, against the norms of the two gradients
    atol = numerics.central_difference_atol(np.sum((np.abs(X) @ (np.abs(w) + 1e-5)) ** 2),
                                            4 + 6 + 2)
    bound = atol * np.sqrt(w.size) / (np.linalg.norm(right) + np.linalg.norm(numeric))
    assert relative_error(right, numeric) < bound
    # the usual mistakes: a lost factor 2 (relative error 1/3), a flipped sign, one wrong entry
    assert relative_error(X.T @ (X @ w), numeric) > 0.3
    assert relative_error(-right, numeric) == pytest.approx(1.0)
    off_by_a_little = right.copy()
    off_by_a_little[0] *= 1.01
    assert relative_error(off_by_a_little, numeric) > 1e-4


def test_relative_error_values():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([0.0, 0.0], [1e-30, 0.0]) == 1.0
    assert relative_error([3.0, 4.0], [0.0, 0.0]) == 1.0
    # ||a - b|| = 0.1, ||a|| + ||b|| = 1 + 1.1
    assert relative_error([1.0, 0.0], [1.1, 0.0]) == pytest.approx(0.1 / 2.1)
    # symmetric, and independent of the scale
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 2.0])
    assert relative_error(a, b) == relative_error(b, a)
    # float64: the scaling by 1e-12 rounds each entry, then two norms of 3 and a division
    assert relative_error(1e-12 * a, 1e-12 * b) == pytest.approx(
        relative_error(a, b), rel=numerics.rtol(np.float64, 1 + 3 + 3 + 2))


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.zeros((2, 3)), np.zeros((3, 2)), r"a of shape \(2, 3\) and b of shape \(3, 2\) must have the same shape"),
        ([np.nan], [1.0], r"a and b must be finite"),
        ([1.0], [np.inf], r"a and b must be finite"),
    ],
)
def test_relative_error_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        relative_error(a, b)


@pytest.mark.parametrize(
    ("f", "x", "h", "exc", "match"),
    [
        (lambda v: 0.0, [1.0, 2.0], 1e-5, TypeError, r"x must be a float64 NumPy array, got list"),
        (lambda v: 0.0, np.array([1, 2]), 1e-5, TypeError, r"x must be a float64 NumPy array, got array of shape \(2,\) and dtype int64"),
        ("f", np.zeros(2), 1e-5, TypeError, r"f must be callable, got str 'f'"),
        (lambda v: 0.0, np.zeros(2), 0.0, ValueError, r"h must be a finite number above 0, got 0.0"),
        (lambda v: 0.0, np.zeros(2), float("nan"), ValueError, r"h must be a finite number above 0, got nan"),
        (lambda v: v, np.zeros(2), 1e-5, ValueError, r"f must return a real scalar, got array of shape \(2,\)"),
        (lambda v: float("nan"), np.zeros(2), 1e-5, ValueError, r"f must return a finite value, got nan"),
    ],
)
def test_numerical_gradient_rejects_bad_input(f, x, h, exc, match):
    with pytest.raises(exc, match=match):
        numerical_gradient(f, x, h=h)


def test_numerical_gradient_rejects_read_only_x():
    x = np.zeros(2)
    x.flags.writeable = False
    with pytest.raises(ValueError, match=r"x must be writable"):
        numerical_gradient(lambda v: 0.0, x)


def test_relative_error_holds_at_tiny_and_huge_magnitudes():
    # the norms are scaled first: squares of 1e-200 underflow, of 1e160 overflow
    assert relative_error([1e-200], [3e-200]) == pytest.approx(0.5)
    assert relative_error([1e-200], [0.0]) == 1.0
    assert relative_error([1e160], [0.0]) == 1.0


@pytest.mark.parametrize("bad", [["a"], [1j], {"a": 1}, [[1.0, 2.0], [3.0]]])
def test_relative_error_refuses_what_is_not_an_array_of_reals(bad):
    with pytest.raises(TypeError, match=r"a must be an array of real numbers"):
        relative_error(bad, [1.0])


def test_numerical_gradient_refuses_a_step_below_the_resolution_of_x():
    x = np.array([1.0, 1e20])
    with pytest.raises(ValueError, match=r"h=1e-05 is below the resolution of x at x\[1\] = 1e\+20"):
        numerical_gradient(lambda v: float(v.sum()), x)
    np.testing.assert_array_equal(x, [1.0, 1e20])
