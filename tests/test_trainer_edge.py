"""The generated trainer checks what enters it: one clear ValueError per kind of bad input.

Integer class labels are accepted for softmax/cross-entropy and give exactly the
gradients of the one-hot rows; they are never read as a one-hot row, not even
when the batch has as many samples as there are classes.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from trainer_build import build

STYLES = ["scalar", "vector"]


@pytest.fixture(scope="module", params=STYLES)
def ce(request, tmp_path_factory):
    """A 4-5-3 tanh,softmax/ce trainer in each style."""
    return build(tmp_path_factory.mktemp("ce"), "4-5-3", "tanh,softmax", "ce", request.param)


@pytest.fixture(scope="module", params=STYLES)
def sse(request, tmp_path_factory):
    return build(tmp_path_factory.mktemp("sse"), "2-3-1", "sigmoid", "sse", request.param)


@pytest.fixture(scope="module", params=STYLES)
def bce(request, tmp_path_factory):
    return build(tmp_path_factory.mktemp("bce"), "2-3-2", "tanh,sigmoid", "bce", request.param)


def _data(n: int, n_in: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.integers(0, 3, size=n)


def _every_entry(tr, params, X, T):
    """Each public function that reads X and T, called with them."""
    return [
        lambda: tr.loss(params, X, T),
        lambda: tr.gradients(params, X, T),
        lambda: tr.sgd_step(params, X, T, 0.1),
        lambda: tr.train(params, X, T, epochs=1, lr=0.1),
    ]


@pytest.mark.parametrize(
    "shape,message",
    [((5, 3), r"X must have shape \(batch, 4\)"), ((2, 5, 4), r"X must have shape"), ((0, 4), "no samples")],
    ids=["features", "3-D", "empty"],
)
def test_x_of_the_wrong_shape_is_refused(ce, shape, message):
    params = ce.init_params(0)
    X = np.ones(shape)
    T = np.zeros(shape[0], dtype=int) if len(shape) == 2 else np.zeros(2, dtype=int)
    for call in [lambda: ce.forward(params, X), lambda: ce.predict(params, X), *_every_entry(ce, params, X, T)]:
        with pytest.raises(ValueError, match=message):
            call()


def test_one_sample_may_be_a_vector(ce, sse):
    for tr, x, t in ((ce, np.ones(4), np.array([0.0, 1.0, 0.0])), (sse, np.ones(2), np.array([0.5]))):
        params = tr.init_params(0)
        X, T = x.reshape(1, -1), t.reshape(1, -1)
        assert tr.loss(params, x, t) == tr.loss(params, X, T)
        assert tr.forward(params, x).shape == (1, tr.SIZES[-1])
        new, again = tr.sgd_step(params, x, t, 0.1), tr.sgd_step(params, X, T, 0.1)
        for key in params:
            np.testing.assert_array_equal(new[key], again[key])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(ce, sse, bad):
    for tr, n_out in ((ce, 3), (sse, 1)):
        params = tr.init_params(0)
        n_in = tr.SIZES[0]
        X, T = np.ones((2, n_in)), np.full((2, n_out), 1.0 / n_out)
        Xb, Tb = X.copy(), T.copy()
        Xb[1, 0], Tb[0, 0] = bad, bad
        one_x = functools.partial(tr.sgd_step, params, Xb[1], T[1], 0.1)  # the one-sample float path
        for call in _every_entry(tr, params, Xb, T) + [one_x]:
            with pytest.raises(ValueError, match="X holds a NaN or an infinite value"):
                call()
        one_t = functools.partial(tr.sgd_step, params, X[0], Tb[0], 0.1)
        for call in _every_entry(tr, params, X, Tb) + [one_t]:
            with pytest.raises(ValueError, match="T holds a NaN or an infinite value"):
                call()


def test_targets_of_the_wrong_shape_are_refused(ce, sse):
    params = ce.init_params(0)
    X = np.ones((4, 4))
    for T in (np.full((3, 3), 1 / 3), np.full((4, 2), 0.5), np.full(3, 1 / 3)):
        for call in _every_entry(ce, params, X, T):
            with pytest.raises(ValueError, match=r"T must have shape \(4, 3\) for 4 samples of X \(or 4 integer"):
                call()
    p = sse.init_params(0)
    X = np.ones((4, 2))
    assert sse.loss(p, X, np.arange(4.0)) == sse.loss(p, X, np.arange(4.0).reshape(-1, 1))  # one output
    with pytest.raises(ValueError, match=r"T must have shape \(4, 1\)"):
        sse.loss(p, X, np.ones(3))


def test_cross_entropy_targets_must_be_probability_vectors(ce):
    params = ce.init_params(0)
    X = np.ones((2, 4))
    for T in (np.array([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]), np.array([[1.5, -0.5, 0.0], [1.0, 0.0, 0.0]])):
        for call in _every_entry(ce, params, X, T) + [lambda T=T: ce.sgd_step(params, X[0], T[0], 0.1)]:
            with pytest.raises(ValueError, match="cross-entropy targets must be probability vectors"):
                call()
    smooth = np.array([[0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])  # label smoothing is a probability vector too
    assert np.isfinite(ce.loss(params, X, smooth))


def test_binary_cross_entropy_targets_lie_in_the_unit_interval(bce):
    params = bce.init_params(0)
    X = np.ones((2, 2))
    for T in (np.array([[0.5, 1.5], [0.0, 1.0]]), np.array([[0.5, -0.1], [0.0, 1.0]])):
        for call in _every_entry(bce, params, X, T) + [lambda T=T: bce.sgd_step(params, X[0], T[0], 0.1)]:
            with pytest.raises(ValueError, match=r"binary cross-entropy targets must lie in \[0, 1\]"):
                call()


@pytest.mark.parametrize("n", [1, 3, 7])
def test_integer_labels_give_the_gradients_of_one_hot_rows(ce, n):
    params = ce.init_params(1)
    X, labels = _data(n, 4, seed=n)
    one_hot = np.eye(3)[labels]
    assert ce.loss(params, X, labels) == ce.loss(params, X, one_hot)
    got, want = ce.gradients(params, X, labels), ce.gradients(params, X, one_hot)
    for key in params:
        np.testing.assert_array_equal(got[key], want[key])
    new, again = ce.sgd_step(params, X, labels, 0.1), ce.sgd_step(params, X, one_hot, 0.1)
    for key in params:
        np.testing.assert_array_equal(new[key], again[key])
    assert list(labels.tolist()) == [int(k) for k in np.asarray(labels)]  # the caller's labels are not touched


def test_labels_are_never_read_as_a_one_hot_row(ce):
    """A batch as large as the number of classes: np.arange(3) are three labels, not one target row."""
    params = ce.init_params(0)
    X = _data(3, 4)[0]
    assert ce.loss(params, X, np.arange(3)) == ce.loss(params, X, np.eye(3))
    assert ce.loss(params, X[0], 2) == ce.loss(params, X[:1], np.eye(3)[[2]])  # one sample, one label
    for call in _every_entry(ce, params, X[:1], np.array([0, 1, 0])):  # an integer one-hot row is 3 labels
        with pytest.raises(ValueError, match="T holds 3 class labels for 1 samples"):
            call()
    with pytest.raises(ValueError, match="T holds 3 class labels for 1 samples"):
        ce.sgd_step(params, X[0], np.array([0, 1, 0]), 0.1)
    with pytest.raises(ValueError, match=r"class labels must lie in 0\.\.2; got 0\.\.3"):
        ce.loss(params, X, np.array([0, 3, 1]))
    with pytest.raises(ValueError, match="integer class labels"):  # float labels are not labels
        ce.loss(params, X, np.array([0.0, 2.0, 1.0]))


def test_integer_one_hot_rows_are_read_as_targets(ce):
    params = ce.init_params(0)
    X = _data(3, 4)[0]
    assert ce.loss(params, X, np.eye(3, dtype=int)) == ce.loss(params, X, np.eye(3))


def test_labels_are_only_for_cross_entropy(sse):
    """Other losses have no classes: an integer vector is one target row, checked like any other."""
    params = sse.init_params(0)
    with pytest.raises(ValueError, match=r"T must have shape \(2, 1\)"):
        sse.loss(params, np.ones((2, 2)), np.array([1, 0, 1]))
    assert sse.loss(params, np.ones((2, 2)), np.array([1, 0])) == sse.loss(params, np.ones((2, 2)), [[1.0], [0.0]])


def test_params_of_another_network_are_refused_by_train(ce):
    params = ce.init_params(0)
    params["W2"] = params["W2"][:, :4]
    with pytest.raises(ValueError, match="params do not fit the 4-5-3 network"):
        ce.train(params, np.ones((2, 4)), [0, 1], epochs=1, lr=0.1)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"epochs": -1}, "epochs must be a whole number >= 0"),
        ({"batch_size": 0}, "batch_size must be a whole number >= 1"),
        ({"batch_size": 2.5}, "batch_size must be a whole number >= 1"),
        ({"lr": float("nan")}, "lr must be a finite number > 0"),
        ({"lr": -0.1}, "lr must be a finite number > 0"),
    ],
)
def test_train_checks_its_settings(ce, kwargs, message):
    args = {"epochs": 1, "lr": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        ce.train(ce.init_params(0), np.ones((2, 4)), [0, 1], **args)


def test_parameters_as_views_of_the_callers_flat_vector(ce):
    """A flat parameter vector in another order (as for scipy.optimize) is read key by key, never as one block."""
    params = ce.init_params(2)
    order = sorted(params)  # W1, W2, b1, b2: not the order of KEYS
    theta = np.concatenate([params[key].ravel() for key in order])
    views, start = {}, 0
    for key in order:
        views[key] = theta[start : start + params[key].size].reshape(params[key].shape)
        start += params[key].size
    x, t = np.linspace(-1.0, 1.0, 4), np.array([0.2, 0.3, 0.5])
    want, got = ce.gradients(params, x, t), ce.gradients(views, x, t)
    new, again = ce.sgd_step(params, x, t, 0.1), ce.sgd_step(views, x, t, 0.1)
    for key in params:
        np.testing.assert_array_equal(got[key], want[key])
        np.testing.assert_array_equal(again[key], new[key])
