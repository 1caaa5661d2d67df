"""The generated trainer as a library: predict, save/load, validation, callbacks, divergence, two nets at once."""

from __future__ import annotations

import numpy as np
import pytest
from trainer_build import build, source

from derive import load_trainer


@pytest.fixture(scope="module")
def blobs():
    """Three Gaussian blobs in 4-D: (X, labels)."""
    rng = np.random.default_rng(3)
    labels = np.arange(90) % 3
    centres = rng.normal(0.0, 2.0, size=(3, 4))
    return centres[labels] + 0.5 * rng.standard_normal((90, 4)), labels


@pytest.fixture(scope="module", params=["scalar", "vector"])
def ce(request, tmp_path_factory):
    return build(tmp_path_factory.mktemp("ce"), "4-5-3", "tanh,softmax", "ce", request.param)


def test_predict_gives_the_class_for_softmax_and_the_outputs_otherwise(ce, tmp_path, blobs):
    X, labels = blobs
    params, _ = ce.train(ce.init_params(0), X, labels, epochs=20, lr=0.02, batch_size=8)
    got = ce.predict(params, X)
    assert got.shape == (90,) and got.dtype.kind == "i"
    np.testing.assert_array_equal(got, np.argmax(ce.forward(params, X), axis=1))
    assert np.mean(got == labels) > 0.95
    assert ce.predict(params, X[0]).shape == (1,)
    sse = build(tmp_path, "2-3-2", "tanh,sigmoid", "sse", "vector")
    p = sse.init_params(0)
    np.testing.assert_array_equal(sse.predict(p, np.ones((3, 2))), sse.forward(p, np.ones((3, 2))))


def test_save_and_load_round_trip(ce, tmp_path):
    for dtype in (np.float64, np.float32):
        params = ce.init_params(seed=4, dtype=dtype)
        ce.save_params(params, tmp_path / "net.npz")
        back = ce.load_params(tmp_path / "net.npz")
        assert list(back) == list(ce.KEYS)
        for key in params:
            assert back[key].dtype == dtype
            np.testing.assert_array_equal(back[key], params[key])


def test_load_refuses_parameters_of_another_network(ce, tmp_path):
    other = build(tmp_path, "4-6-3", "tanh,softmax", "ce", "vector")
    other.save_params(other.init_params(0), tmp_path / "other.npz")
    with pytest.raises(ValueError, match=r"parameters of the 4-6-3 network \(tanh, softmax\), not of this 4-5-3"):
        ce.load_params(tmp_path / "other.npz")
    relu = build(tmp_path, "4-5-3", "relu,softmax", "ce", "vector")
    relu.save_params(relu.init_params(0), tmp_path / "relu.npz")
    with pytest.raises(ValueError, match=r"\(relu, softmax\), not of this 4-5-3 network \(tanh, softmax\)"):
        ce.load_params(tmp_path / "relu.npz")
    nobias = build(tmp_path, "4-5-3", "tanh,softmax", "ce", "vector", bias=False)
    nobias.save_params(nobias.init_params(0), tmp_path / "nobias.npz")
    with pytest.raises(ValueError, match="params do not fit the 4-5-3 network"):
        ce.load_params(tmp_path / "nobias.npz")
    np.savez(tmp_path / "plain.npz", **ce.init_params(0))
    with pytest.raises(ValueError, match="was not written by save_params"):
        ce.load_params(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="params do not fit"):
        ce.save_params({"W1": np.ones((5, 4))}, tmp_path / "part.npz")


def test_validation_loss_and_eval_every_are_recorded(ce, blobs):
    X, labels = blobs
    params = ce.init_params(0)
    _, history = ce.train(
        params, X[:60], labels[:60], epochs=7, lr=0.02, batch_size=6, validation=(X[60:], labels[60:])
    )
    assert history.epochs == [1, 2, 3, 4, 5, 6, 7] and len(history) == len(history.validation) == 7
    final, sparse = ce.train(
        params, X[:60], labels[:60], epochs=7, lr=0.02, batch_size=6, validation=(X[60:], labels[60:]), eval_every=3
    )
    assert sparse.epochs == [3, 6, 7]
    assert sparse == [history[2], history[5], history[6]]  # evaluating less often does not change the training
    assert sparse.validation == [history.validation[i] for i in (2, 5, 6)]
    assert sparse.validation[-1] == ce.loss(final, X[60:], labels[60:])
    assert sparse[-1] == ce.loss(final, X[:60], labels[:60])
    quiet_params, quiet = ce.train(params, X[:60], labels[:60], epochs=7, lr=0.02, batch_size=6, eval_every=0)
    assert quiet == [] and quiet.validation == []
    for key in params:
        np.testing.assert_array_equal(quiet_params[key], final[key])


def test_callback_sees_every_epoch_and_can_stop(ce, blobs):
    X, labels = blobs
    seen = []

    def stop_at_three(epoch, params, history):
        seen.append((epoch, len(history), sorted(params)))
        return epoch == 3

    _, history = ce.train(ce.init_params(0), X, labels, epochs=10, lr=0.01, callback=stop_at_three)
    assert [s[:2] for s in seen] == [(1, 1), (2, 2), (3, 3)]
    assert seen[0][2] == sorted(ce.KEYS) and len(history) == 3


def test_progress_goes_to_stderr(ce, blobs, capsys):
    X, labels = blobs
    ce.train(ce.init_params(0), X, labels, epochs=3, lr=0.01, validation=(X[:9], labels[:9]), progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("epoch 3/3 ")
    assert "ms/epoch" in lines[-1] and " loss " in lines[-1] and " validation " in lines[-1]


def test_divergence_stops_training_and_names_the_epoch(ce, blobs):
    X, labels = blobs
    with pytest.raises(ce.DivergenceError, match=r"training diverged in epoch 1: the loss is .*lr / batch_size"):
        ce.train(ce.init_params(0), X, labels, epochs=5, lr=200.0, batch_size=30)
    with np.errstate(all="ignore"), pytest.raises(ce.DivergenceError, match=r"epoch 1: a parameter became NaN"):
        ce.train(ce.init_params(0), X, labels, epochs=5, lr=1e308, batch_size=30, eval_every=0)
    _, history = ce.train(ce.init_params(0), X, labels, epochs=3, lr=200.0, batch_size=30, diverge=None)
    assert len(history) == 3  # asked not to stop on growth: a finite loss may grow


def test_mean_build_takes_the_step_of_the_sum_build_at_lr_over_the_batch(tmp_path, blobs):
    """The batch scaling of the learning rate: sum with lr / B is mean with lr (B divides the data)."""
    X, labels = blobs
    summed = build(tmp_path, "4-5-3", "tanh,softmax", "ce", "vector")
    mean = build(tmp_path, "4-5-3", "tanh,softmax", "ce", "vector", mean=True)
    assert (summed.REDUCTION, mean.REDUCTION) == ("sum", "mean")
    for batch in (1, 10, 30):
        a, _ = summed.train(summed.init_params(0), X, labels, epochs=3, lr=0.3 / batch, batch_size=batch)
        b, _ = mean.train(mean.init_params(0), X, labels, epochs=3, lr=0.3, batch_size=batch)
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12)


def test_two_trainers_live_in_one_process_under_their_names(tmp_path):
    for name, arch in (("net_2_3_2", "2-3-2"), ("net_3_2_1", "3-2-1")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "trainer.py").write_text(source(arch))
    first = load_trainer(tmp_path / "net_2_3_2" / "trainer.py", "first_net")
    second = load_trainer(tmp_path / "net_3_2_1" / "trainer.py")
    assert (first.__name__, second.__name__) == ("first_net", "trainer_net_3_2_1")
    assert (first.ARCH, second.ARCH) == ("2-3-2", "3-2-1")
    assert first.forward(first.init_params(0), np.ones(2)).shape == (1, 2)
    assert second.forward(second.init_params(0), np.ones(3)).shape == (1, 1)
    with pytest.raises(ValueError, match="module name 'first_net' is taken by"):
        load_trainer(tmp_path / "net_3_2_1" / "trainer.py", "first_net")
    with pytest.raises(ValueError, match="module name 'numpy' is taken"):
        load_trainer(tmp_path / "net_3_2_1" / "trainer.py", "numpy")
    with pytest.raises(ValueError, match="not a Python identifier"):
        load_trainer(tmp_path / "net_3_2_1" / "trainer.py", "net-3")
    with pytest.raises(ValueError, match="no trainer at"):
        load_trainer(tmp_path / "missing.py")


def test_digits_as_in_the_readme(tmp_path):
    """64-32-10 tanh,softmax/ce with --mean on scikit-learn's digits: above 95 % test accuracy in 30 epochs."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = build(tmp_path, "64-32-10", "tanh,softmax", "ce", mean=True)
    assert digits.STYLE == "vector"
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    params, history = digits.train(
        digits.init_params(seed=0), X_train, y_train, epochs=30, lr=0.5, batch_size=32, validation=(X_test, y_test)
    )
    assert history[-1] < 0.1 * history[0] and history.validation[-1] < history.validation[0]
    assert np.mean(digits.predict(params, X_test) == y_test) > 0.95
    digits.save_params(params, tmp_path / "digits.npz")
    again = digits.load_params(tmp_path / "digits.npz")
    np.testing.assert_array_equal(digits.predict(again, X_test), digits.predict(params, X_test))
