"""`make bench`: derivation cost for a doubling series, and trainer step times as ratios.

Every figure is measured in this process on the same data; the table is printed
and written to bench/results.md. Trainers are rendered by derive.render.trainer.render
(the code `backprop-derive build --style ...` writes to trainer.py) and imported
from a file with importlib.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from digits import digits_rows
from styles import minibatch_rows
from timing import load, load_trainer, median, ratio, rounds, threads

from derive import derive, make_spec, verify
from derive.render import formulas
from derive.render.trainer import render

SERIES = ["8-16-8", "16-32-16", "32-64-32", "64-128-64", "128-256-128", "256-512-256", "784-128-64-10"]
WIDTHS = ["16-16-128", "16-16-256", "16-16-512", "16-16-1024"]
OUT = Path(__file__).with_name("results.md")


def _derive_and_emit(arch: str) -> tuple[int, float]:
    """Parameters and seconds for derive + prove + formulas.json + vector trainer of one net."""
    t = time.perf_counter()
    d = verify(derive(make_spec(arch)))
    formulas.render(d)
    render.render(d, "vector")
    return d.spec.n_parameters, time.perf_counter() - t


#: `make derive` for nets of up to 50 parameters, the PDF included (target: 5 s warm)
BUILDS = [
    ["2-3-2"],
    ["2-2-1", "--no-bias"],
    ["2-3-3-2", "--act", "tanh,tanh,softmax", "--loss", "ce"],
    ["3-4-3", "--act", "relu,softmax", "--loss", "ce"],
    ["4-5-5"],
]


def build_rows(tmp: Path) -> list[str]:
    """Wall seconds of `backprop-derive build` in a fresh process (best of two: the second is warm)."""
    rows = ["| build | parameters | wall s (PDF included) |", "|---|---:|---:|"]
    for n, args in enumerate(BUILDS):
        spec = make_spec(args[0], *_flag(args, "--act", "sigmoid", "--loss", "sse"), bias="--no-bias" not in args)
        times = []
        for k in range(2):
            out = tmp / f"build{n}-{k}"
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "derive", "build", "--arch", *args, "--out", str(out)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - t)
        rows.append(f"| {' '.join(args)} | {spec.n_parameters} | {min(times):.1f} |")
    return rows


def _flag(args: list[str], *pairs: str) -> list[str]:
    """The values of --act and --loss in ``args`` (defaults from ``pairs``: flag, default, flag, default)."""
    return [args[args.index(f) + 1] if f in args else default for f, default in zip(pairs[::2], pairs[1::2])]


def derivation_rows(series: list[str]) -> list[str]:
    rows = ["| arch | parameters | derive+prove+json+trainer s | µs per parameter |", "|---|---:|---:|---:|"]
    for arch in series:
        n, dt = _derive_and_emit(arch)
        rows.append(f"| {arch} | {n:,} | {dt:.2f} | {1e6 * dt / n:.1f} |")
    return rows


def numpy_step(p, X, T, lr):
    """Hand-written reference: sigmoid layers, sse, summed over the batch."""
    Z = 1 / (1 + np.exp(-(X @ p["W1"].T + p["b1"])))
    Y = 1 / (1 + np.exp(-(Z @ p["W2"].T + p["b2"])))
    d2 = (Y - T) * Y * (1 - Y)
    d1 = (d2 @ p["W2"]) * Z * (1 - Z)
    return {
        "W1": p["W1"] - lr * d1.T @ X,
        "b1": p["b1"] - lr * d1.sum(0),
        "W2": p["W2"] - lr * d2.T @ Z,
        "b2": p["b2"] - lr * d2.sum(0),
    }


def torch_step(torch, p, X, T, lr):
    ps = {k: v.requires_grad_(True) for k, v in p.items()}
    Z = torch.sigmoid(X @ ps["W1"].T + ps["b1"])
    Y = torch.sigmoid(Z @ ps["W2"].T + ps["b2"])
    E = 0.5 * ((T - Y) ** 2).sum()
    grads = torch.autograd.grad(E, list(ps.values()))
    with torch.no_grad():
        return {k: (v - lr * g).detach() for (k, v), g in zip(ps.items(), grads)}


def _gemms(Xb, W1, W2, Z, D2):
    """The five matrix products of one step of a one-hidden-layer net, alone."""
    Xb @ W1.T
    Z @ W2.T
    D2 @ W2
    D2.T @ Z
    Z.T @ Xb


#: the thread counts of the matrix cases: every CPU (what a user gets), and one
THREADS = (os.cpu_count() or 1, 1)


#: samples of the per-sample ``train`` call timed beside the single steps
TRAIN_SAMPLES = 200


def _same_step(trainer_new: dict, torch_new: dict, dtype) -> None:
    """Refuse to time two steps that do not compute the same thing."""
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for key, value in trainer_new.items():
        if not np.allclose(value, torch_new[key].numpy(), rtol=tol, atol=tol):
            raise AssertionError(f"the trainer's and PyTorch's steps differ in {key}")


def _step_case(torch, trainers, arch: str, batch: int, dtype, n_threads: int) -> str:
    """One table row: every time measured here, on the same parameters and data, in interleaved rounds."""
    sizes = [int(n) for n in arch.split("-")]
    rng = np.random.default_rng(0)
    p = trainers["vector"].init_params(0, dtype=dtype)
    X = rng.uniform(0, 1, (batch, sizes[0])).astype(dtype)
    T = rng.uniform(0, 1, (batch, sizes[-1])).astype(dtype)
    x, t = (X[0], T[0]) if batch == 1 else (X, T)
    tp = {k: torch.from_numpy(v.copy()) for k, v in p.items()}
    tX, tT = torch.from_numpy(X.copy()), torch.from_numpy(T.copy())
    Z = np.ones((batch, sizes[1]), dtype=dtype)
    D2 = np.ones((batch, sizes[2]), dtype=dtype)
    _same_step(trainers["vector"].sgd_step(p, x, t, 0.1), torch_step(torch, dict(tp), tX, tT, 0.1), dtype)
    fns = {
        "vector": partial(trainers["vector"].sgd_step, p, x, t, 0.1),
        "numpy": partial(numpy_step, p, X, T, 0.1),
        "torch": lambda: torch_step(torch, dict(tp), tX, tT, 0.1),
        "gemm": partial(_gemms, X, p["W1"], p["W2"], Z, D2),
    }
    default = trainers.get("default")  # small nets: one sample runs the unit-by-unit float functions
    if default:
        _same_step(default.sgd_step(p, x, t, 0.1), torch_step(torch, dict(tp), tX, tT, 0.1), dtype)
        Xs = rng.uniform(0, 1, (TRAIN_SAMPLES, sizes[0])).astype(dtype)
        Ts = rng.uniform(0, 1, (TRAIN_SAMPLES, sizes[-1])).astype(dtype)
        fns["default"] = partial(default.sgd_step, p, x, t, 0.1)
        fns["train"] = partial(default.train, p, Xs, Ts, 1, 0.1, batch_size=1, shuffle=False, eval_every=0)
    times = rounds(fns, n_rounds=25 if batch == 1 else 15)
    if default:  # train: per sample
        times["train"] = [sec / TRAIN_SAMPLES for sec in times["train"]]
    us = lambda key: f"{1e6 * median(times[key]):.1f}" if key in times else "n/a"  # noqa: E731
    over = lambda key: f"{ratio(times, 'torch', key):.2f}" if key in times else "n/a"  # noqa: E731
    name = f"{arch} batch {batch}" if batch > 1 else f"{arch} per sample"
    cells = [us(k) for k in ("default", "train", "vector", "numpy", "torch")]
    cells += [over(k) for k in ("default", "train", "vector")]
    gemm = ratio(times, "gemm", "vector")
    return f"| {name} | {np.dtype(dtype).name} | {n_threads} | {' | '.join(cells)} | {gemm:.0%} | {load(1)} |"


def step_rows(tmp: Path) -> list[str]:
    import torch

    rows = [
        "| case | dtype | threads | default sgd_step µs | default train µs/sample | vector sgd_step µs | numpy µs | "
        "torch µs | torch / default step | torch / default train | torch / vector | vector GEMM share | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cases = [("2-3-2", 1), ("784-128-10", 32), ("784-128-10", 256)]
    for arch, batch in cases:
        # the scalar style of 784-128-10 is ~100k lines of generated code: rendering it
        # reads every lazy parameter record and takes minutes, so it is timed for 2-3-2 only
        styles = ("default", "vector") if batch == 1 else ("vector",)
        trainers = {s: load_trainer(arch, s, tmp) for s in styles}
        for n_threads in THREADS if batch > 1 else THREADS[:1]:
            for dtype in (np.float64, np.float32):
                with threads(n_threads):
                    rows.append(_step_case(torch, trainers, arch, batch, dtype, n_threads))
    return rows


#: λ of the weight-decay rows: PyTorch's SGD adds λθ to the gradient as the trainer does
DECAY = 1e-4


def torch_decay_step(torch, p, v, X, T, lr, alpha, decay):
    """The trainer's update in PyTorch: g = dE/dθ (+ λθ for weights), v = α v - lr g, θ = θ + v.

    ``v`` None: plain gradient descent, θ = θ - lr g. Biases are not decayed, as in the trainer.
    """
    ps = {k: t.requires_grad_(True) for k, t in p.items()}
    Z = torch.sigmoid(X @ ps["W1"].T + ps["b1"])
    Y = torch.sigmoid(Z @ ps["W2"].T + ps["b2"])
    E = 0.5 * ((T - Y) ** 2).sum()
    grads = dict(zip(ps, torch.autograd.grad(E, list(ps.values()))))
    with torch.no_grad():
        for k in ("W1", "W2"):
            grads[k] += decay * ps[k]
        if v is None:
            return {k: (t - lr * grads[k]).detach() for k, t in ps.items()}, None
        nv = {k: alpha * v[k] - lr * g for k, g in grads.items()}
        return {k: (t + nv[k]).detach() for k, t in ps.items()}, nv


def _timed_rows(update: str, dtype, mine, theirs) -> list[str]:
    """One row per thread count of a 784-128-10 batch-256 step: the trainer's and PyTorch's times, and their ratio."""
    rows = []
    for n_threads in THREADS:
        with threads(n_threads):
            times = rounds({"trainer": mine, "torch": theirs}, n_rounds=15)
        rows.append(
            f"| 784-128-10 batch 256 | {update} | {np.dtype(dtype).name} | {n_threads} | "
            f"{1e6 * median(times['trainer']):.1f} | {1e6 * median(times['torch']):.1f} | "
            f"{ratio(times, 'torch', 'trainer'):.2f} | {load(1)} |"
        )
    return rows


def update_rows(tmp: Path) -> list[str]:
    """784-128-10 at batch 256 with weight decay: a plain and a momentum step of the trainer against PyTorch."""
    import torch

    rows = [
        "| case | update | dtype | threads | trainer µs | torch µs | torch / trainer | load |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    sgd = load_trainer("784-128-10", "default", tmp, weight_decay=True)
    mom = load_trainer("784-128-10", "default", tmp, optimizer="momentum", weight_decay=True)
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        p = mom.init_params(0, dtype=dtype)
        v = {k: (0.01 * rng.standard_normal(a.shape)).astype(dtype) for k, a in p.items()}
        X = rng.uniform(0, 1, (256, 784)).astype(dtype)
        T = rng.uniform(0, 1, (256, 10)).astype(dtype)
        tp = {k: torch.from_numpy(a.copy()) for k, a in p.items()}
        tv = {k: torch.from_numpy(a.copy()) for k, a in v.items()}
        tX, tT = torch.from_numpy(X), torch.from_numpy(T)
        cases = {
            "SGD + weight decay": (
                partial(sgd.sgd_step, p, X, T, 0.1, weight_decay=DECAY),
                partial(torch_decay_step, torch, tp, None, tX, tT, 0.1, 0.9, DECAY),
            ),
            "momentum + weight decay": (
                partial(mom.momentum_step, p, v, X, T, 0.1, 0.9, weight_decay=DECAY),
                partial(torch_decay_step, torch, tp, tv, tX, tT, 0.1, 0.9, DECAY),
            ),
        }
        for update, (mine, theirs) in cases.items():
            got, want = mine(), theirs()
            _same_step(got[0] if isinstance(got, tuple) else got, want[0], dtype)
            rows += _timed_rows(update, dtype, mine, theirs)
    return rows


#: Adam's rates of the Adam rows (not the defaults, so that a swapped one would show in the check)
ADAM = {"lr": 0.001, "beta1": 0.85, "beta2": 0.99, "eps": 1e-7}


def torch_adam_step(torch, p, state, X, T, lr, beta1, beta2, eps):
    """The trainer's ``adam_step`` in PyTorch: g = dE/dθ by autograd, then Kingma and Ba's Algorithm 1
    under no_grad, returning new parameters and a new state as the trainer does."""
    ps = {k: t.requires_grad_(True) for k, t in p.items()}
    Z = torch.sigmoid(X @ ps["W1"].T + ps["b1"])
    Y = torch.sigmoid(Z @ ps["W2"].T + ps["b2"])
    E = 0.5 * ((T - Y) ** 2).sum()
    grads = dict(zip(ps, torch.autograd.grad(E, list(ps.values()))))
    t = state["t"] + 1
    new, m, v = {}, {}, {}
    with torch.no_grad():
        for k, g in grads.items():
            m[k] = beta1 * state["m"][k] + (1 - beta1) * g
            v[k] = beta2 * state["v"][k] + (1 - beta2) * g * g
            m_hat = m[k] / (1 - beta1**t)
            v_hat = v[k] / (1 - beta2**t)
            new[k] = (ps[k] - lr * m_hat / (v_hat.sqrt() + eps)).detach()
    return new, {"m": m, "v": v, "t": t}


def adam_rows(tmp: Path) -> list[str]:
    """784-128-10 at batch 256: one ``adam_step`` of the trainer against the same step in PyTorch, from a
    state at t = 3 (moments of random values), both checked to give the same parameters and moments first."""
    import torch

    rows = [
        "| case | update | dtype | threads | trainer µs | torch µs | torch / trainer | load |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    adam = load_trainer("784-128-10", "default", tmp, optimizer="adam")
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        p = adam.init_params(0, dtype=dtype)
        state = {
            "m": {k: (0.01 * rng.standard_normal(a.shape)).astype(dtype) for k, a in p.items()},
            "v": {k: (1e-4 * rng.uniform(0, 1, a.shape)).astype(dtype) for k, a in p.items()},
            "t": 3,
        }
        X = rng.uniform(0, 1, (256, 784)).astype(dtype)
        T = rng.uniform(0, 1, (256, 10)).astype(dtype)
        tp = {k: torch.from_numpy(a.copy()) for k, a in p.items()}
        tstate = {part: {k: torch.from_numpy(a.copy()) for k, a in state[part].items()} for part in ("m", "v")}
        tstate["t"] = 3
        tX, tT = torch.from_numpy(X), torch.from_numpy(T)
        mine = partial(adam.adam_step, p, state, X, T, **ADAM)
        theirs = partial(torch_adam_step, torch, tp, tstate, tX, tT, **ADAM)
        (got, got_state), (want, want_state) = mine(), theirs()
        _same_step(got, want, dtype)
        for part in ("m", "v"):
            _same_step(got_state[part], want_state[part], dtype)
        rows += _timed_rows("Adam", dtype, mine, theirs)
    return rows


def environment() -> list[str]:
    lines = [f"- python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs"]
    try:
        import torch

        lines.append(f"- torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        lines.append("- torch not installed")
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            lines.append(
                f"- {info.get('user_api')}: {info.get('internal_api')} {info.get('version')}, "
                f"kernel {info.get('architecture')}, {info.get('num_threads')} threads ({info.get('prefix')})"
            )
    except ImportError:
        lines.append("- threadpoolctl not installed")
    core = os.environ.get("OPENBLAS_CORETYPE")
    lines.append(f"- OPENBLAS_CORETYPE: {'set to ' + core if core else 'not set'}")
    lines.append(f"- load average at the start (1, 5, 15 min): {load()}")
    return lines


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        parts = ["# make bench", "", *environment(), "", "## Build time of small nets (PDF included)", ""]
        parts += build_rows(Path(tmp))
        parts += ["", "## Derivation cost (doubling series)", ""]
        parts += derivation_rows(SERIES)
        parts += ["", "## Derivation cost by output width (linear: one pattern per output unit)", ""]
        parts += derivation_rows(WIDTHS)
        parts += ["", "## SGD step time (same process, same data)", ""]
        parts += step_rows(Path(tmp))
        parts += ["", "## Weight decay and momentum (same process, same data)", ""]
        parts += update_rows(Path(tmp))
        parts += ["", "## Adam (same process, same data)", ""]
        parts += adam_rows(Path(tmp))
        parts += ["", "## Digits: the README's example against scikit-learn (same process, same data)", ""]
        parts += digits_rows(Path(tmp))
        parts += ["", "## Mini-batch training by style (same process, same data)", ""]
        parts += minibatch_rows(Path(tmp))
    parts += ["", f"Load average at the end (1, 5, 15 min): {load()}; {os.cpu_count()} CPUs."]
    parts += [
        "",
        "Method: the functions of one row run in the same process on the same data, in 25 alternating rounds (15",
        "for the large nets) of about 20 ms each, with the garbage collector off during a round. A time is the",
        "median over the rounds; a ratio is the median over the rounds of the two times measured in the same",
        "round, so load from other work that comes and goes slows both sides of it. load: the 1-minute load",
        "average after the row. Before timing, each trainer step is checked against PyTorch's result on the same",
        "data. threads: numpy's BLAS and PyTorch both limited to that many threads (threadpoolctl,",
        "torch.set_num_threads).",
        "",
        "default: the trainer a build writes without --style (nets of up to 125 parameters per layer: vector",
        "lines plus the one-sample float functions; larger nets: vector lines). default sgd_step: one call,",
        "parameter arrays in and out. default train: `train(batch_size=1, eval_every=0)` over 200 samples, per",
        "sample: per-sample SGD with the parameters kept as Python floats inside the call. torch: autograd step",
        "on CPU, the update written out as the trainer's (weight decay λθ on the weights only, λ = 1e-4;",
        "momentum α = 0.9; Adam: Algorithm 1 of Kingma and Ba under no_grad, new parameters and moments as the",
        "trainer's adam_step returns them). vector GEMM share: the step's five matrix products alone in numpy",
        "over the generated vector step. default / faster style: the default's time over the faster of the",
        "scalar and vector styles in the same round (1.00: as fast).",
    ]
    text = "\n".join(parts) + "\n"
    print(text)
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
