"""The trainer's fast paths give what the plain forms give, and refuse what they refuse.

- a large X with a NaN or an infinity anywhere raises the clear ValueError, and finite values whose
  sums overflow are accepted;
- σ on a large array is 1/(1 + e^(-a)) in place: equal to the logistic function computed here
  with mpmath, also where e^(-a) overflows, and without a warning;
- a momentum step that writes into the gradient's array and one new array still leaves the
  caller's arrays alone and keeps the parameters' dtype.
"""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from trainer_build import build

ARCH = "20-40-3"  # a batch of 256 gives X 5120 entries and the hidden layer 10240: both fast paths


@pytest.fixture(scope="module")
def tr(tmp_path_factory):
    return build(tmp_path_factory.mktemp("fast"), ARCH)


@pytest.fixture(scope="module")
def momentum(tmp_path_factory):
    return build(tmp_path_factory.mktemp("fast-momentum"), ARCH, optimizer="momentum")


def _batch(n: int = 256, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, 20)), rng.uniform(0, 1, (n, 3))


BAD = {
    "nan": lambda X: X.__setitem__((200, 7), np.nan),
    "inf": lambda X: X.__setitem__((3, 19), np.inf),
    "-inf": lambda X: X.__setitem__((0, 0), -np.inf),
    "inf and -inf in one column": lambda X: (X.__setitem__((5, 2), np.inf), X.__setitem__((9, 2), -np.inf)),
}


@pytest.mark.parametrize("bad", list(BAD))
def test_a_large_x_with_a_non_finite_value_is_refused(tr, bad):
    params = tr.init_params(0)
    X, T = _batch()
    BAD[bad](X)
    for call in (tr.sgd_step, lambda p, X, T, lr: tr.gradients(p, X, T), lambda p, X, T, lr: tr.loss(p, X, T)):
        with pytest.raises(ValueError, match="X holds a NaN or an infinite value"):
            call(params, X, T, 0.1)


def test_finite_values_whose_sums_overflow_are_accepted(tr):
    params = tr.init_params(0)
    X, T = _batch()
    X[:, 4] = 1e308  # every entry finite, the column's sum is not
    with np.errstate(over="ignore"):
        assert not np.isfinite(X.sum(axis=0)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the forward pass itself overflows
        tr.gradients(params, X, T)  # no ValueError


def _sigma(a: float) -> float:
    with mpmath.workdps(40):
        return float(1 / (1 + mpmath.exp(-mpmath.mpf(a))))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logistic_of_a_large_array_is_sigma(tr, dtype):
    a = np.concatenate([np.linspace(-40, 40, 1001), [-1000.0, -750.0, -100.0, 0.0, 100.0, 750.0, 1000.0]])
    A = a.astype(dtype).reshape(1, -1)
    assert A.size >= tr._LOGISTIC_EXP_MIN
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the expected overflow of e^(-a) is not reported
        got = tr._logistic(A)
    assert got.dtype == dtype and got.shape == A.shape
    want = np.array([_sigma(float(v)) for v in A.ravel()])
    tiny = np.finfo(dtype).tiny  # below the smallest normal number only the absolute error counts
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(got.ravel(), want, rtol=4 * eps, atol=tiny)


def test_small_and_large_batches_give_the_same_gradients(tr):
    """The same samples through the tanh form (a few rows) and the exponential form (many rows)."""
    params = tr.init_params(1)
    X, T = _batch(300, seed=3)
    whole = tr.gradients(params, X, T)
    parts = [tr.gradients(params, X[i : i + 2], T[i : i + 2]) for i in range(0, 300, 2)]
    for key in whole:
        np.testing.assert_allclose(whole[key], sum(p[key] for p in parts), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_momentum_step_leaves_its_inputs_and_keeps_the_dtype(momentum, dtype):
    params = momentum.init_params(0, dtype=dtype)
    rng = np.random.default_rng(0)
    velocity = {k: (0.01 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    X, T = _batch()
    before = {k: v.copy() for k, v in params.items()}
    v_before = {k: v.copy() for k, v in velocity.items()}
    new_p, new_v = momentum.momentum_step(params, velocity, X, T, 0.05, momentum=0.8)
    grads = momentum.gradients(params, X, T)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
        np.testing.assert_array_equal(velocity[key], v_before[key])
        assert new_p[key].dtype == dtype and new_v[key].dtype == dtype
        change = 0.8 * v_before[key].astype(np.float64) - 0.05 * grads[key].astype(np.float64)
        np.testing.assert_allclose(new_v[key], change, **tol)
        np.testing.assert_allclose(new_p[key], before[key] + change, **tol)
        assert not np.shares_memory(new_p[key], new_v[key])


def test_one_sample_with_big_endian_parameters_takes_the_checked_path(tmp_path):
    """A dtype that is not the native float64 object (here big-endian) is not the float path's: same numbers."""
    small = build(tmp_path, "2-3-2")
    params = small.init_params(0)
    swapped = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in params.items()}
    x, t = np.array([0.3, -0.7]), np.array([0.2, 0.9])
    want = small.sgd_step(params, x, t, 0.5)
    got = small.sgd_step(swapped, x, t, 0.5)
    for key in want:
        assert got[key].dtype == swapped[key].dtype
        np.testing.assert_allclose(got[key], want[key], rtol=1e-13, atol=1e-15)
