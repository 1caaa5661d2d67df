"""The in-place emitter (derive/render/trainer/inplace.py) and the Adam trainer lines it writes.

Each emitted run of ``out=`` calls is executed on random arrays and compared with numpy evaluating
the same SymPy expression directly (``lambdify``); tracemalloc counts the array memory the run
allocates. The generated ``adam_step`` must leave its inputs alone and hand back arrays of its own;
``train``, which updates its own copies in place, must give what a loop of ``adam_step`` gives.
"""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest
import sympy as sp
from test_trainer import Config, sample_point
from trainer_build import build

from derive import make_spec
from derive.core import update
from derive.core.symbolic import derive
from derive.render.trainer import render
from derive.render.trainer.inplace import Scalars, emit, program

a, b, c = sp.symbols("a b c")
p, q, r = sp.symbols("p q r")
ARRAYS = {a, b, c}
N = 50_000  # elements of each array: 400 kB in float64, far above any bookkeeping of the calls

EXPRESSIONS = [
    a * b + c,
    p * a + q * b + r * c,
    (a - b) ** 2,
    a / b,
    1 / sp.sqrt(a),
    a**3 - p * b,
    sp.exp(a) * b / (1 + c),
    sp.sqrt(a * b) + p,
    b / a**2,
    p / (a + q),
    sp.tanh(a) - sp.log(b),
    a**p,
    sp.Abs(a - b) * (b + c) / (a + c),
    -a,
    1 - a,
    (1 - p**r) * a / (q + sp.sqrt(b)),
    p**a * b,
    a ** sp.Rational(3, 2) - b,
    a - b + p * sp.exp(c),
    -a - b,
]


def _values(rng: np.random.Generator) -> dict[str, object]:
    """Positive arrays (so that logs, roots and quotients are defined) and scalars as Python floats."""
    env: dict[str, object] = {s.name: rng.uniform(0.5, 2.0, N) for s in ARRAYS}
    env |= {"p": 0.7, "q": 1.3, "r": 3.0}
    return env


def _direct(expr: sp.Expr, env: dict) -> np.ndarray:
    """numpy evaluating the expression as written (lambdify), the reference."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return sp.lambdify(symbols, expr, "numpy")(*(env[s.name] for s in symbols))


def _run(lines: list[str], scalars: Scalars, env: dict) -> dict:
    """Execute the scalar lines, then the array lines, in ``env`` (numpy as np)."""
    ns = {"np": np, **env}
    for name, value, _ in scalars.lines():
        exec(f"{name} = {value}", ns)  # noqa: S102 - generated test code
    for line in lines:
        exec(line, ns)  # noqa: S102
    return ns


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=[str(e) for e in EXPRESSIONS])
@pytest.mark.parametrize("into", [None, "out"])
def test_the_emitted_calls_compute_the_expression(expr, into):
    env = _values(np.random.default_rng(1))
    env["out"] = np.empty(N)
    env |= {"s1": np.empty(N), "s2": np.empty(N)}
    scalars = Scalars()
    lines = emit(expr, "result", ARRAYS, scalars, into=into, scratch=("s1", "s2"))
    got = _run(lines, scalars, env)["result"]
    np.testing.assert_allclose(got, _direct(expr, env), rtol=1e-12, atol=0)
    if into:
        assert got is env["out"]
    allocating = lines[:1] if into is None else []  # only the first call may make the result's array
    for line in lines:
        assert line in allocating or "out=" in line or re.fullmatch(r"\w+ [-+*/]= \w+", line), line


@pytest.mark.parametrize("expr", [p * a + q * b, (1 - p) * b + a * q, -p * a / (q + sp.sqrt(b))])
def test_the_result_may_go_into_an_array_it_reads_once(expr):
    env = _values(np.random.default_rng(2))
    want = _direct(expr, env)
    env["s1"] = np.empty(N)
    scalars = Scalars()
    lines = emit(expr, "result", ARRAYS, scalars, into="a", scratch=("s1",))
    ns = _run(lines, scalars, dict(env))
    assert ns["result"] is env["a"]
    np.testing.assert_allclose(ns["result"], want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("expr", [a - b + p * sp.exp(c), 1 - a, p - a * b, -a - b + q, a * b / c, sp.sqrt(a) + b])
def test_sums_and_products_of_arrays_need_no_scratch(expr):
    """An expression with one compound operand at most is built in its result's array alone."""
    env = _values(np.random.default_rng(8))
    scalars = Scalars()
    lines = emit(expr, "result", ARRAYS, scalars)
    got = _run(lines, scalars, env)["result"]
    np.testing.assert_allclose(got, _direct(expr, env), rtol=1e-12, atol=1e-14)  # -a - b + q may cancel


def test_what_cannot_be_done_in_place_is_refused():
    with pytest.raises(ValueError, match="occurs more than once"):
        emit(a * b + a, "result", ARRAYS, Scalars(), into="a", scratch=("s1",))
    with pytest.raises(ValueError, match="needs 1 scratch arrays; 0 given"):
        emit(a * b + p * c, "result", ARRAYS, Scalars())
    with pytest.raises(ValueError, match="scratch arrays \\['b'\\] occur"):
        emit(a * b, "result", ARRAYS, Scalars(), scratch=("b",))
    with pytest.raises(ValueError, match="holds no array"):
        emit(p + q, "result", ARRAYS, Scalars())


def test_scalar_subexpressions_are_computed_once_before_the_arrays():
    scalars = Scalars()
    first = emit((1 - p**r) * a, "x", ARRAYS, scalars, numbers=(3,))
    second = emit(b / (1 - p**r) + (1 - p**r) * c, "y", ARRAYS, scalars, scratch=("s1",), numbers=(4,))
    assert scalars.lines() == [("c1", "1 - p**r", (3, 4))]  # one name, divided by where it is a denominator
    assert any(line.startswith("y = np.divide(b, c1") for line in second)
    assert not any("**" in line for line in first + second)  # no power of a scalar is taken per array


@pytest.mark.parametrize("expr", EXPRESSIONS[:13], ids=[str(e) for e in EXPRESSIONS[:13]])
def test_no_array_sized_temporaries(expr):
    """Into a given array: no allocation of an array's size at all (the direct evaluation, measured the
    same way, allocates at least its result, so the bound can fail); allocating: the result alone."""
    env = _values(np.random.default_rng(3))
    env |= {"out": np.empty(N), "s1": np.empty(N), "s2": np.empty(N)}
    size = env["a"].nbytes
    for into, bound in (("out", size // 4), (None, size + size // 4)):
        scalars = Scalars()
        lines = emit(expr, "result", ARRAYS, scalars, into=into, scratch=("s1", "s2"))
        ns = {"np": np, **env}
        for name, value, _ in scalars.lines():
            exec(f"{name} = {value}", ns)  # noqa: S102
        code = compile("\n".join(lines), "<emitted>", "exec")
        tracemalloc.start()
        try:
            exec(code, ns)  # noqa: S102
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            _direct(expr, env)
            _, direct = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < bound, (into, peak, lines)
        assert direct - base >= size  # the measurement sees an array being made


# -- Adam's lines in the trainer


def _adam_lines(weight_decay: bool = False) -> list[dict]:
    d = derive(make_spec("2-3-2", optimizer="adam", weight_decay=weight_decay))
    return render.context(d, "vector")["adam_lines"]


def _adam_env(rng: np.random.Generator, dtype=np.float64) -> dict:
    shape = (40, 30)
    return {
        "grad": rng.normal(0, 1, shape).astype(dtype),
        "m": {"W": rng.normal(0, 0.1, shape).astype(dtype)},
        "v": {"W": rng.uniform(0, 0.1, shape).astype(dtype)},
        "params": {"W": rng.normal(0, 1, shape).astype(dtype)},
        "key": "W",
        "work": np.empty(shape, dtype),
        "lr": 0.01,
        "beta1": 0.8,
        "beta2": 0.95,
        "eps": 1e-6,
        "t": 3,
    }


def _literal(lines: list[dict], env: dict) -> dict:
    """Adam's five lines as the trainer wrote them before: numpy evaluating each expression as printed."""
    ns = {"np": np, **{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in env.items()}}
    ns["m"], ns["v"] = {"W": env["m"]["W"].copy()}, {"W": env["v"]["W"].copy()}
    for line in lines:
        exec(f"{line['lhs']} = {line['rhs']}", ns)  # noqa: S102
    return ns


@pytest.mark.parametrize("fresh", [True, False])
def test_adams_in_place_lines_are_its_five_lines(fresh):
    """The emitted update of one array (both the adam_step and the train form) against the literal lines."""
    lines = _adam_lines()
    assert [line["lhs"] for line in lines] == ["m_new", "v_new", "m_hat", "v_hat", "change"]
    env = _adam_env(np.random.default_rng(4))
    want = _literal(lines, env)
    blocks, scalars = render._adam_in_place(lines, fresh=fresh)
    ns = {"np": np, **env}
    ns["m"], ns["v"], ns["params"] = ({"W": env[k]["W"].copy()} for k in ("m", "v", "params"))
    ns["grad"] = env["grad"].copy()
    ns["new_params"] = {}
    for s in scalars:
        exec(f"{s['name']} = {s['value']}", ns)  # noqa: S102
    for block in blocks:
        for line in block["lines"]:
            exec(line, ns)  # noqa: S102
    new = ns["new_params"]["W"] if fresh else ns["params"]["W"]
    np.testing.assert_allclose(new, env["params"]["W"] + want["change"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ns["m_new"], want["m_new"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ns["v_new"], want["v_new"], rtol=1e-12, atol=0)
    if not fresh:  # train's form: m, v and the parameters are the same arrays, updated
        assert ns["m_new"] is ns["m"]["W"] and ns["v_new"] is ns["v"]["W"]
    else:
        assert new is ns["work"] and not np.shares_memory(ns["m_new"], ns["m"]["W"])
        np.testing.assert_array_equal(ns["m"]["W"], env["m"]["W"])


def test_momentum_update_in_place_is_its_equation():
    """RHW's change α Δθ(t-1) - η ∂E/∂θ as derived, written into the fresh gradient's array."""
    d = derive(make_spec("2-3-2", optimizer="momentum"))
    e = d.equation("update-w-1")
    theta = update.parameter(e)
    g, velocity = sp.Symbol("grad"), sp.Symbol("velocity")
    expr = e.rhs.xreplace({update.objective_gradient(theta): g, update.Increment(theta, update.STEP - 1): velocity})
    assert expr.free_symbols == {g, velocity, update.ETA, update.ALPHA}
    rng = np.random.default_rng(5)
    env = {"grad": rng.normal(size=N), "velocity": rng.normal(size=N), "alpha": 0.9, "eta": 0.05, "s1": np.empty(N)}
    want = _direct(expr, env)
    np.testing.assert_allclose(want, 0.9 * env["velocity"] - 0.05 * env["grad"], rtol=1e-15)
    scalars = Scalars()
    lines = emit(expr, "change", {g, velocity}, scalars, into="grad", scratch=("s1",))
    ns = _run(lines, scalars, dict(env))
    assert ns["change"] is env["grad"]
    np.testing.assert_allclose(ns["change"], want, rtol=1e-12, atol=0)


def test_program_reuses_buffers_only_when_no_later_step_reads_them():
    x, y, z = sp.symbols("x y z")
    arrays = ARRAYS | {x, y, z}
    steps = [("x", p * a, (1,)), ("y", x + b, (2,)), ("z", sp.sqrt(y) * x, (3,))]
    written = program(steps, arrays, Scalars(), {"z": None}, buffers=("w1", "w2"))
    env = _values(np.random.default_rng(7))
    env |= {"w1": np.empty(N), "w2": np.empty(N)}
    ns = {"np": np, **env}
    for lines in written:
        exec("\n".join(lines), ns)  # noqa: S102
    np.testing.assert_allclose(ns["z"], np.sqrt(0.7 * env["a"] + env["b"]) * 0.7 * env["a"], rtol=1e-12)
    with pytest.raises(ValueError, match="too few buffers|no free array"):
        program(steps, arrays, Scalars(), {"z": None}, buffers=("w1",))


# -- the generated trainer


CFG = Config("3-5-2", "tanh,sigmoid", "sse", True, False)


@pytest.fixture(scope="module")
def adam(tmp_path_factory):
    return build(tmp_path_factory.mktemp("inplace"), CFG.arch, CFG.act, CFG.loss, "vector", optimizer="adam")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_step_leaves_its_inputs_alone_and_shares_no_memory(adam, dtype):
    params, X, T = sample_point(CFG, seed=3, batch=4)
    params = {k: v.astype(dtype) for k, v in params.items()}
    X, T = X.astype(dtype), T.astype(dtype)
    rng = np.random.default_rng(9)
    state = {
        "m": {k: rng.normal(0, 0.1, v.shape).astype(dtype) for k, v in params.items()},
        "v": {k: rng.uniform(0, 0.1, v.shape).astype(dtype) for k, v in params.items()},
        "t": 2,
    }
    saved = {"params": params, "m": state["m"], "v": state["v"]}
    saved = {name: {k: a.copy() for k, a in part.items()} for name, part in saved.items()}
    new, after = adam.adam_step(params, state, X, T, 0.01)
    for name, part in (("params", params), ("m", state["m"]), ("v", state["v"])):
        for key, value in part.items():
            np.testing.assert_array_equal(value, saved[name][key])
    given = [*params.values(), *state["m"].values(), *state["v"].values()]
    handed = [*new.values(), *after["m"].values(), *after["v"].values()]
    assert all(h.dtype == dtype for h in handed)
    for i, h in enumerate(handed):
        assert not any(np.shares_memory(h, g) for g in given)
        assert not any(np.shares_memory(h, other) for other in handed[i + 1 :])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_train_in_place_is_the_loop_of_adam_steps(adam, dtype):
    """train updates its own copies in place; the caller's arrays, the epochs' snapshots a callback keeps and
    the state handed back are what a loop of adam_step gives."""
    params, X, T = sample_point(CFG, seed=5, batch=8)
    params = {k: v.astype(dtype) for k, v in params.items()}
    X, T = X.astype(dtype), T.astype(dtype)
    state = adam.init_adam_state(params)
    state["t"] = 1
    saved = {k: v.copy() for k, v in params.items()}
    seen = []

    def keep(epoch, p, history):
        seen.append((p, history.state))

    got, history = adam.train(params, X, T, 3, 0.02, batch_size=3, seed=2, state=state, callback=keep)
    rng, want, s, per_epoch = np.random.default_rng(2), params, state, []
    for _ in range(3):
        order = rng.permutation(8)
        for start in range(0, 8, 3):
            rows = order[start : start + 3]
            want, s = adam.adam_step(want, s, X[rows], T[rows], 0.02)
        per_epoch.append((want, s))
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}
    for (p_seen, s_seen), (p_want, s_want) in zip(seen, per_epoch, strict=True):
        assert s_seen["t"] == s_want["t"]
        for key in params:
            np.testing.assert_allclose(p_seen[key], p_want[key], **tol)
            np.testing.assert_allclose(s_seen["m"][key], s_want["m"][key], **tol)
            np.testing.assert_allclose(s_seen["v"][key], s_want["v"][key], **tol)
    assert history.state["t"] == 1 + 9
    for key in params:
        np.testing.assert_allclose(got[key], want[key], **tol)
        np.testing.assert_allclose(history.state["v"][key], s["v"][key], **tol)
        np.testing.assert_array_equal(params[key], saved[key])  # the caller's arrays are untouched
        assert not state["m"][key].any() and got[key].dtype == dtype and history.state["m"][key].dtype == dtype
    assert state["t"] == 1


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A net whose first weight matrix outweighs everything else a small batch makes."""
    return build(tmp_path_factory.mktemp("wide"), "60-40-3", "sigmoid", "sse", "vector", optimizer="adam")


def _peak(fn) -> tuple[int, int]:
    """Bytes ``fn`` allocates at its peak and still holds at its end, as tracemalloc sees them (numpy arrays too)."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        fn()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, current - base


def test_steps_allocate_only_the_gradients_and_the_arrays_they_return(wide):
    """train's step allocates nothing of an array's size beyond the gradients; adam_step beyond them only the
    new parameters, m and v (the five lines as literal numpy made six or more temporaries of W1's size)."""
    params = wide.init_params(0)
    rng = np.random.default_rng(4)
    X, T = rng.uniform(0, 1, (2, 60)), rng.uniform(0, 1, (2, 3))
    state = wide._own_adam_state(params, wide.init_adam_state(params))
    spare = {key: np.empty_like(value) for key, value in params.items()}
    size = params["W1"].nbytes
    total = sum(value.nbytes for value in params.values())
    gradients, _ = _peak(lambda: wide._gradients(params, X, T))
    assert gradients >= total  # the gradients themselves are seen
    update, kept = _peak(lambda: wide._adam_update(params, state, spare, X, T, 0.01, 0.9, 0.999, 1e-8))
    assert update < gradients + size // 2 and kept < size // 2
    step, _ = _peak(lambda: wide._adam_step(params, state, X, T, 0.01, 0.9, 0.999, 1e-8))
    assert step < gradients + 3 * total + size // 2
