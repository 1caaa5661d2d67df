"""The generated trainer, imported from its file and checked against independent references.

References: central finite differences of the trainer's own ``loss`` (tests/gradcheck.py)
and the HIPS ``autograd`` package applied to a forward pass written here from the
definitions (sharing no code with derive/). Every trainer is rendered once per
module and imported with importlib from a real file.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import itertools
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from gradcheck import assert_close, central_difference
from trainer_build import ruff_check

from derive import SpecError, make_spec
from derive.core.symbolic import derive
from derive.render.trainer.render import render

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear", "softmax"]
LOSSES = ["sse", "mse", "ce", "bce"]
STYLES = ["scalar", "vector"]


@dataclass(frozen=True)
class Config:
    arch: str
    act: str
    loss: str
    bias: bool
    mean: bool

    @property
    def id(self) -> str:
        return f"{self.arch}-{self.act.replace(',', '+')}-{self.loss}-{'bias' if self.bias else 'nobias'}" + (
            "-mean" if self.mean else ""
        )

    @property
    def spec(self):
        return make_spec(self.arch, self.act, self.loss, bias=self.bias, mean=self.mean)


#: Other depths and widths (one input or output, a one-unit hidden layer, mixed activations).
OTHER_ARCHS = [
    Config("1-1", "sigmoid", "bce", True, False),
    Config("1-1", "linear", "sse", False, True),
    Config("2-2-2", "tanh", "mse", True, True),
    Config("2-2-2", "softplus,sigmoid", "bce", False, False),
    Config("2-3-1", "sigmoid", "sse", True, False),
    Config("3-1-2", "tanh", "mse", False, False),
    Config("3-1-2", "tanh,softmax", "ce", True, True),
    Config("3-4-4-2", "tanh,tanh,softmax", "ce", True, False),
    Config("3-4-4-2", "relu,softplus,sigmoid", "bce", True, True),
    Config("3-4-4-2", "leaky_relu", "sse", False, False),
    Config("4-8-3", "sigmoid", "sse", False, True),
    Config("4-8-3", "relu,softmax", "ce", True, False),
]


def _configs() -> list[Config]:
    """A covering set: every activation with every loss it allows on 2-3-2, with and without biases,
    each pair under both reductions (sum, mean); then the other shapes of OTHER_ARCHS."""
    found = []
    for act, loss in itertools.product(ACTS, LOSSES):
        acts = "tanh,softmax" if act == "softmax" else act
        try:
            make_spec("2-3-2", acts, loss)
        except SpecError:
            continue
        pair = len(found) // 2
        found += [Config("2-3-2", acts, loss, bias, mean=bias == (pair % 2 == 1)) for bias in (True, False)]
    return found + OTHER_ARCHS


CONFIGS = _configs()


@functools.cache
def derivation(cfg: Config):
    return derive(cfg.spec)


def load(path: Path):
    """Import a generated trainer from its file, as a user would."""
    spec = importlib.util.spec_from_file_location(f"trainer_{path.stem.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(cfg, style) -> path of the rendered trainer; each is rendered once per module."""
    root = tmp_path_factory.mktemp("trainers")
    paths: dict[tuple[Config, str], Path] = {}

    def get(cfg: Config, style: str) -> Path:
        if (cfg, style) not in paths:
            path = root / f"{cfg.id}-{style}.py"
            path.write_text(render(derivation(cfg), style))
            paths[(cfg, style)] = path
        return paths[(cfg, style)]

    return get


@pytest.fixture(scope="module")
def trainer(rendered):
    modules = {}

    def get(cfg: Config, style: str):
        if (cfg, style) not in modules:
            modules[(cfg, style)] = load(rendered(cfg, style))
        return modules[(cfg, style)]

    return get


# ---------------------------------------------------------------- independent reference


def _softmax(a):
    shifted = a - anp.max(a, axis=1, keepdims=True)
    e = anp.exp(shifted)
    return e / anp.sum(e, axis=1, keepdims=True)


REFERENCE_ACT = {
    "sigmoid": lambda a: 1.0 / (1.0 + anp.exp(-a)),
    "tanh": anp.tanh,
    "relu": lambda a: anp.maximum(a, 0.0),
    "leaky_relu": lambda a: anp.where(a > 0, a, 0.01 * a),
    "softplus": lambda a: anp.log(1.0 + anp.exp(a)),
    "linear": lambda a: a,
    "softmax": _softmax,
}

REFERENCE_LOSS = {  # error of each sample, summed over the outputs
    "sse": lambda y, t: 0.5 * anp.sum((t - y) ** 2, axis=1),
    "mse": lambda y, t: anp.mean((t - y) ** 2, axis=1),
    "ce": lambda y, t: -anp.sum(t * anp.log(y), axis=1),
    "bce": lambda y, t: -anp.sum(t * anp.log(y) + (1 - t) * anp.log(1 - y), axis=1),
}


def reference_forward(cfg: Config, params: dict, X):
    """Outputs and every pre-activation, written from the definitions."""
    acts = cfg.spec.activations
    z, pre = X, []
    for l, name in enumerate(acts, start=1):
        a = anp.dot(z, params[f"W{l}"].T)
        if cfg.bias:
            a = a + params[f"b{l}"]
        pre.append(a)
        z = REFERENCE_ACT[name](a)
    return z, pre


def reference_loss(cfg: Config, params: dict, X, T):
    y, _ = reference_forward(cfg, params, X)
    per_sample = REFERENCE_LOSS[cfg.loss](y, T)
    return anp.mean(per_sample) if cfg.mean else anp.sum(per_sample)


def sample_point(cfg: Config, seed: int = 0, batch: int = 3):
    """Parameters, inputs and targets in the loss's domain, away from relu kinks."""
    rng = np.random.default_rng(seed + sum(map(ord, cfg.id)))
    sizes = cfg.spec.sizes
    for _ in range(100):
        params = {}
        for l in range(1, len(sizes)):
            params[f"W{l}"] = rng.normal(0.0, 0.8, size=(sizes[l], sizes[l - 1]))
            if cfg.bias:
                params[f"b{l}"] = rng.normal(0.0, 0.5, size=sizes[l])
        X = rng.normal(0.0, 1.0, size=(batch, sizes[0]))
        if cfg.loss == "ce":
            T = rng.dirichlet(np.ones(sizes[-1]), size=batch)  # rows sum to one, as the derivation assumes
        elif cfg.loss == "bce":
            T = rng.uniform(0.0, 1.0, size=(batch, sizes[-1]))
        else:
            T = rng.normal(0.0, 1.0, size=(batch, sizes[-1]))
        _, pre = reference_forward(cfg, params, X)
        if min(np.min(np.abs(a)) for a in pre) > 1e-3:
            return params, X, T
    raise AssertionError(f"no point away from the kinks for {cfg.id}")


def flat(params: dict) -> np.ndarray:
    return np.concatenate([params[k].ravel() for k in sorted(params)])


def unflat(theta: np.ndarray, like: dict) -> dict:
    out, pos = {}, 0
    for k in sorted(like):
        n = like[k].size
        out[k] = theta[pos : pos + n].reshape(like[k].shape)
        pos += n
    return out


CASES = [pytest.param(cfg, style, id=f"{cfg.id}-{style}") for cfg in CONFIGS for style in STYLES]


# ---------------------------------------------------------------- numeric agreement


@pytest.mark.parametrize("cfg,style", CASES)
def test_gradients_match_central_differences(trainer, cfg, style):
    tr = trainer(cfg, style)
    for batch in (3, 1):  # one sample takes the Python-float path of the scalar style
        params, X, T = sample_point(cfg, batch=batch)
        got = tr.gradients(params, X, T)
        assert set(got) == set(params)
        want = central_difference(lambda th, p=params, X=X, T=T: tr.loss(unflat(th, p), X, T), flat(params))
        assert_close(flat(got), want, atol=1e-6, rtol=1e-5, what=f"{cfg.id} {style} batch {batch}")


@pytest.mark.parametrize("cfg,style", CASES)
def test_loss_and_gradients_match_autograd(trainer, cfg, style):
    tr = trainer(cfg, style)
    for batch in (3, 1):
        params, X, T = sample_point(cfg, seed=1, batch=batch)
        want_loss = float(reference_loss(cfg, params, X, T))
        assert abs(tr.loss(params, X, T) - want_loss) <= 1e-12 * max(1.0, abs(want_loss))
        want_y = reference_forward(cfg, params, X)[0]
        assert_close(tr.forward(params, X), want_y, atol=1e-12, rtol=1e-12, what="forward")
        want = grad(lambda p, X=X, T=T: reference_loss(cfg, p, X, T))(params)
        got = tr.gradients(params, X, T)
        for key in params:
            assert got[key].shape == params[key].shape
            assert_close(got[key], want[key], atol=1e-10, rtol=1e-9, what=f"{cfg.id} {style} {key} batch {batch}")


@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.id) for c in CONFIGS])
def test_scalar_and_vector_styles_agree(trainer, cfg):
    scalar, vector = trainer(cfg, "scalar"), trainer(cfg, "vector")
    assert (scalar.STYLE, vector.STYLE) == ("scalar", "vector")
    params, X, T = sample_point(cfg, seed=2, batch=5)
    assert abs(scalar.loss(params, X, T) - vector.loss(params, X, T)) <= 1e-12
    assert_close(scalar.forward(params, X), vector.forward(params, X), atol=1e-12, rtol=0, what="forward")
    gs, gv = scalar.gradients(params, X, T), vector.gradients(params, X, T)
    for key in params:
        assert_close(gs[key], gv[key], atol=1e-12, rtol=0, what=f"{cfg.id} {key}")
    gs, gv = scalar.gradients(params, X[0], T[0]), vector.gradients(params, X[0], T[0])  # float path
    for key in params:
        assert_close(gs[key], gv[key], atol=1e-12, rtol=0, what=f"{cfg.id} {key} one sample")


@pytest.mark.parametrize("cfg,style", CASES)
def test_sgd_step_is_params_minus_lr_gradients(trainer, cfg, style):
    tr = trainer(cfg, style)
    params, X, T = sample_point(cfg, seed=3)
    before = {k: v.copy() for k, v in params.items()}
    grads = tr.gradients(params, X, T)
    new = tr.sgd_step(params, X, T, 0.25)
    assert set(new) == set(params)
    for key in params:
        np.testing.assert_array_equal(new[key], before[key] - 0.25 * grads[key])
        np.testing.assert_array_equal(params[key], before[key])  # the old parameters are not touched


@pytest.mark.parametrize("cfg,style", CASES)
def test_inputs_of_a_thousand_stay_finite(trainer, cfg, style):
    """Saturated sigmoids, softmax, softplus and logs: finite, and no RuntimeWarning (warnings are errors)."""
    tr = trainer(cfg, style)
    n_in, n_out = cfg.spec.sizes[0], cfg.spec.sizes[-1]
    X = np.array([[1000.0] * n_in, [-1000.0] * n_in, [1000.0 * (-1) ** i for i in range(n_in)]])
    T = np.tile(np.eye(n_out)[0], (3, 1)) if cfg.loss != "ce" else np.full((3, n_out), 1.0 / n_out)
    for seed in (0, 1):
        params = tr.init_params(seed)
        assert np.isfinite(tr.loss(params, X, T))
        assert np.all(np.isfinite(tr.forward(params, X)))
        assert all(np.all(np.isfinite(g)) for g in tr.gradients(params, X, T).values())
        for row in range(3):
            assert all(np.all(np.isfinite(g)) for g in tr.gradients(params, X[row], T[row]).values())


def test_saturated_cross_entropy_is_the_exact_value(trainer):
    """log-sum-exp and log-sigmoid give the exact error where the naive forms give inf."""
    cfg = Config("1-2", "softmax", "ce", True, False)
    tr = trainer(cfg, "vector")
    params = {"W1": np.array([[1.0], [-1.0]]), "b1": np.zeros(2)}
    X, T = np.array([[500.0]]), np.array([[0.0, 1.0]])
    assert tr.loss(params, X, T) == pytest.approx(1000.0, rel=1e-12)  # -log softmax = a_1 - a_2
    cfg = Config("1-1", "sigmoid", "bce", True, False)
    tr = trainer(cfg, "scalar")
    params = {"W1": np.array([[1.0]]), "b1": np.zeros(1)}
    assert tr.loss(params, np.array([[-800.0]]), np.array([[1.0]])) == pytest.approx(800.0, rel=1e-12)


# ---------------------------------------------------------------- API and semantics


def _load_default(tmp_path, arch, *opts, style=None):
    kwargs = dict(zip(("act", "loss"), opts))
    spec = make_spec(arch, **kwargs)
    path = tmp_path / f"t_{arch.replace('-', '_')}_{style}.py"
    path.write_text(render(derive(spec), style))
    return load(path)


def test_api_shapes_keys_and_sum_over_the_batch(trainer):
    cfg = Config("2-3-2", "sigmoid", "sse", True, False)
    tr = trainer(cfg, "scalar")
    assert tr.ARCH == "2-3-2"
    params = tr.init_params(seed=0)
    assert {k: v.shape for k, v in params.items()} == {"W1": (3, 2), "b1": (3,), "W2": (2, 3), "b2": (2,)}
    assert all(v.dtype == np.float64 for v in params.values())
    np.testing.assert_array_equal(tr.init_params(seed=0)["W1"], params["W1"])
    assert not np.array_equal(tr.init_params(seed=1)["W1"], params["W1"])
    X, T = np.random.default_rng(0).normal(size=(4, 2)), np.random.default_rng(1).random((4, 2))
    assert tr.forward(params, X).shape == (4, 2)
    assert tr.forward(params, X[0]).shape == (1, 2)
    per_sample = [tr.loss(params, X[i], T[i]) for i in range(4)]
    total = tr.loss(params, X, T)
    assert isinstance(total, float) and total == pytest.approx(sum(per_sample), rel=1e-14)
    nobias = trainer(Config("2-3-2", "sigmoid", "sse", False, False), "vector")
    assert set(nobias.init_params(0)) == {"W1", "W2"}


def test_mean_reduction_is_the_mean_of_the_sample_errors(trainer):
    summed = trainer(Config("2-3-2", "tanh", "sse", True, False), "vector")
    mean = trainer(Config("2-3-2", "tanh", "sse", True, True), "vector")
    assert (summed.REDUCTION, mean.REDUCTION) == ("sum", "mean")
    params, X, T = sample_point(Config("2-3-2", "tanh", "sse", True, False), batch=6)
    assert mean.loss(params, X, T) == pytest.approx(summed.loss(params, X, T) / 6, rel=1e-14)
    gs, gm = summed.gradients(params, X, T), mean.gradients(params, X, T)
    for key in params:
        assert_close(gm[key], gs[key] / 6, atol=1e-15, rtol=1e-13, what=key)


@pytest.mark.parametrize(
    "cfg",
    [
        Config("3-4-4-2", "tanh,tanh,softmax", "ce", True, False),
        Config("3-4-4-2", "relu,softplus,sigmoid", "bce", True, True),
    ],
    ids=lambda c: c.id,
)
def test_float32_parameters_give_a_float32_trainer(trainer, cfg):
    for style in STYLES:
        tr = trainer(cfg, style)
        p64 = tr.init_params(seed=0)
        p32 = tr.init_params(seed=0, dtype=np.float32)
        assert all(v.dtype == np.float32 for v in p32.values())
        X = np.random.default_rng(0).normal(size=(4, 3))
        T = np.eye(2)[[0, 1, 1, 0]]
        assert tr.forward(p32, X).dtype == np.float32
        g32, g64 = tr.gradients(p32, X, T), tr.gradients(p64, X, T)
        for key in p64:
            assert g32[key].dtype == np.float32
            assert_close(g32[key], g64[key], atol=1e-4, rtol=1e-3, what=key)
        assert all(v.dtype == np.float32 for v in tr.sgd_step(p32, X, T, 0.1).values())


@pytest.mark.parametrize("arch", ["2-2-1", "2-3-1"])
def test_xor_is_learned(tmp_path, arch):
    """Sigmoid/sse from init_params(seed=0), lr 2, one sample per step: E < 0.01 within 800 epochs."""
    tr = _load_default(tmp_path, arch)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    T = np.array([[0.0], [1.0], [1.0], [0.0]])
    assert tr.loss(tr.init_params(0), X, T) > 0.4
    params, history = tr.train(tr.init_params(seed=0), X, T, epochs=800, lr=2.0, batch_size=1, seed=0)
    assert len(history) == 800
    assert history[-1] < 0.01
    assert np.all(np.abs(tr.forward(params, X) - T) < 0.15)
    again = tr.train(tr.init_params(seed=0), X, T, epochs=800, lr=2.0, batch_size=1, seed=0)[1]
    assert again == history  # deterministic for a seed


def test_softmax_cross_entropy_separates_two_blobs(tmp_path):
    tr = _load_default(tmp_path, "2-3-2", "tanh,softmax", "ce")
    rng = np.random.default_rng(7)
    labels = np.arange(60) % 2
    X = np.array([[-2.0, 1.0], [2.0, -1.0]])[labels] + 0.6 * rng.standard_normal((60, 2))
    T = np.eye(2)[labels]
    params, history = tr.train(tr.init_params(seed=0), X, T, epochs=30, lr=0.1, batch_size=4, seed=0)
    assert history[-1] < history[0] < tr.loss(tr.init_params(seed=0), X, T) + 1e-9
    assert np.array_equal(np.argmax(tr.forward(params, X), axis=1), labels)
    X_new = np.array([[-2.0, 1.0], [2.0, -1.0]]) + 0.3 * rng.standard_normal((2, 2))
    assert list(np.argmax(tr.forward(params, X_new), axis=1)) == [0, 1]


def test_style_is_chosen_for_speed_and_can_be_forced(tmp_path):
    """By default batches run in matrix form, and small nets add the one-sample float functions."""
    small, large = _load_default(tmp_path, "2-3-2"), _load_default(tmp_path, "8-32-8")
    assert (small.STYLE, large.STYLE) == ("vector", "vector")
    assert hasattr(small, "_step_one") and not hasattr(large, "_step_one")
    vector, scalar = _load_default(tmp_path, "2-3-2", style="vector"), _load_default(tmp_path, "4-8-3", style="scalar")
    assert (vector.STYLE, scalar.STYLE) == ("vector", "scalar")
    assert not hasattr(vector, "_step_one") and hasattr(scalar, "_step_one")
    params, X, T = sample_point(Config("2-3-2", "sigmoid", "sse", True, False), batch=3)
    for x, t in ((X, T), (X[0], T[0])):  # the default agrees with the pure styles on batches and on one sample
        assert_close(flat(small.gradients(params, x, t)), flat(vector.gradients(params, x, t)), 1e-14, 1e-12)


def test_deeper_nets_keep_the_float_functions_up_to_a_bound_per_layer(tmp_path):
    """The bound on the one-sample float functions grows with the number of layers: 4-12-12-4 (268
    parameters, three layers) has them, 10-16-8 (312, two layers) and 8-16-16-8 (552, three) do not."""
    deep = _load_default(tmp_path, "4-12-12-4", "tanh,tanh,softmax", "ce")
    assert deep.STYLE == "vector" and hasattr(deep, "_step_one")
    for arch, act in (("10-16-8", "tanh,softmax"), ("8-16-16-8", "tanh,tanh,softmax")):
        assert not hasattr(_load_default(tmp_path, arch, act, "ce"), "_step_one"), arch
    params = deep.init_params(seed=1)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=4), np.eye(4)[2]
    one = deep.sgd_step(params, x, t, 0.1)  # the float lines
    grads = deep.gradients(params, np.stack([x, x]), np.stack([t, t]))  # the matrix lines, two equal samples
    for key, value in one.items():
        np.testing.assert_allclose(value, params[key] - 0.1 * grads[key] / 2, rtol=1e-12, atol=1e-14)


def test_demo_runs_and_prints_the_loss(rendered):
    cases = [
        (Config("2-2-1", "sigmoid", "sse", True, False), 600),  # XOR; the first epochs sit on a plateau
        (Config("3-4-4-2", "tanh,tanh,softmax", "ce", True, False), 20),  # blobs
    ]
    for cfg, epochs in cases:
        out = subprocess.run(
            [sys.executable, "-W", "error", str(rendered(cfg, "scalar")), "--demo", "--epochs", str(epochs)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        losses = [float(m) for m in re.findall(r"loss ([0-9.e+-]+)", out)]
        assert len(losses) == 11 and losses[-1] < 0.5 * losses[0], out


# ---------------------------------------------------------------- the source itself


def test_comments_cite_the_documents_equation_numbers(rendered):
    cfg = Config("3-4-4-2", "tanh,relu,softmax", "ce", True, False)
    d = derivation(cfg)
    for style in STYLES:
        text = rendered(cfg, style).read_text()
        cited = re.findall(r"^\s+(delta_[0-9_]+|dE_d[Wb][0-9]+)\b.*# eq\. \(([0-9]+)\)$", text, re.M)
        assert len(cited) >= 9
        for name, number in cited:
            if name.startswith("delta"):
                eq_id = f"delta-{name.split('_')[1]}"
            else:
                eq_id = f"grad-{name[4].lower()}-{name[5:]}"
            assert int(number) == d.equation(eq_id).number, (style, name)
    scalar = rendered(cfg, "scalar").read_text()
    for p in d.parameters:  # one line per parameter gradient, one per δ, named as in the document
        assert re.search(rf"dE_d{p.key}\[{', '.join(map(str, p.index))}\] = ", scalar), p.name
    for layer in d.layers:
        for delta in layer.delta:
            assert re.search(rf"^    {delta.name} = ", scalar, re.M), delta.name


def test_sources_parse_import_only_numpy_and_pass_ruff(rendered):
    paths = [rendered(cfg, style) for cfg in CONFIGS for style in STYLES]
    for path in paths:
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module.split(".")[0])
        assert imported <= {"__future__", "argparse", "math", "numpy", "sys", "time"}, (path.name, imported)
    result = ruff_check(paths)
    assert result.returncode == 0, result.stdout[-2000:]


def test_rendering_is_byte_identical():
    spec = make_spec("2-3-2", "tanh,softmax", "ce")
    assert render(derive(spec)) == render(derive(spec))
    assert render(derive(spec), "vector") == render(derive(spec), "vector")


def test_the_delta_lines_are_read_from_the_derivation(tmp_path):
    """Doubling the output δ in the Derivation doubles the output-layer gradients of both styles."""
    spec = make_spec("2-3-2", "tanh,sigmoid", "sse")
    params, X, T = sample_point(Config("2-3-2", "tanh,sigmoid", "sse", True, False))
    for style in STYLES:
        d = derive(spec)
        base = tmp_path / f"base_{style}.py"
        base.write_text(render(d, style))
        out = d.layers[-1]
        out.delta_forms = [2 * form for form in out.delta_forms]
        eq = d.equation("delta-2")
        d.equations = [
            e if e.id != "delta-2" else type(e)(e.id, e.number, e.title, e.lhs, 2 * e.rhs) for e in d.equations
        ]
        assert eq.number == d.equation("delta-2").number
        doubled = tmp_path / f"doubled_{style}.py"
        doubled.write_text(render(d, style))
        g, g2 = load(base).gradients(params, X, T), load(doubled).gradients(params, X, T)
        for key in ("W2", "b2", "W1", "b1"):
            assert_close(g2[key], 2 * g[key], atol=1e-14, rtol=1e-12, what=f"{style} {key}")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(
    "cfg",
    [
        Config("2-3-2", "sigmoid", "sse", True, False),
        Config("3-4-4-2", "tanh,tanh,softmax", "ce", False, True),
        Config("1-1", "sigmoid", "bce", False, False),
    ],
    ids=lambda c: c.id,
)
def test_per_sample_train_equals_repeated_sgd_steps(trainer, cfg, style):
    """train(batch_size=1) (Python floats in the scalar style) is the loop of sgd_step on the shuffled rows."""
    tr = trainer(cfg, style)
    params, X, T = sample_point(cfg, seed=4, batch=7)
    before = {k: v.copy() for k, v in params.items()}
    got, history = tr.train(params, X, T, epochs=3, lr=0.05, batch_size=1, seed=5)
    rng, want, want_history = np.random.default_rng(5), params, []
    for _ in range(3):
        for row in rng.permutation(len(X)):
            want = tr.sgd_step(want, X[row], T[row], 0.05)
        want_history.append(tr.loss(want, X, T))
    for key in params:
        assert got[key].dtype == np.float64 and got[key].shape == params[key].shape
        assert_close(got[key], want[key], atol=1e-12, rtol=0, what=key)
        np.testing.assert_array_equal(params[key], before[key])  # the caller's arrays are not touched
    assert_close(np.array(history), np.array(want_history), atol=1e-12, rtol=1e-12, what="history")


@pytest.mark.parametrize("cfg,style", CASES[:: max(1, len(CASES) // 12)])
def test_one_sample_sgd_step_is_params_minus_lr_gradients(trainer, cfg, style):
    """The one-sample step (Python floats in the scalar style) rounds exactly as params - lr * gradients."""
    tr = trainer(cfg, style)
    params, X, T = sample_point(cfg, seed=6, batch=1)
    before = {k: v.copy() for k, v in params.items()}
    grads = tr.gradients(params, X, T)
    for x, t in ((X, T), (X[0], T[0])):
        new = tr.sgd_step(params, x, t, 0.1)
        for key in params:
            assert new[key].dtype == params[key].dtype and new[key].shape == params[key].shape
            np.testing.assert_array_equal(new[key], before[key] - 0.1 * grads[key])
            np.testing.assert_array_equal(params[key], before[key])
            assert not np.shares_memory(new[key], params[key])


def test_sgd_step_keeps_float32_and_leaves_inputs_alone(trainer):
    cfg = Config("2-3-2", "sigmoid", "sse", True, False)
    for style in STYLES:
        tr = trainer(cfg, style)
        p32 = tr.init_params(seed=0, dtype=np.float32)
        before = {k: v.copy() for k, v in p32.items()}
        X, T = np.array([[0.5, -1.0]], dtype=np.float32), np.array([[1.0, 0.0]], dtype=np.float32)
        grads = tr.gradients(p32, X, T)
        new = tr.sgd_step(p32, X, T, 0.1)
        for key in p32:
            assert new[key].dtype == np.float32
            # one float32 sample is stepped in float64 and rounded once: within float32 rounding
            assert_close(new[key], before[key] - 0.1 * grads[key], atol=1e-7, rtol=1e-6, what=key)
            np.testing.assert_array_equal(p32[key], before[key])
