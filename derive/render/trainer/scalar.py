"""The scalar style of the trainer: one line per unit, per δ and per parameter, named as in the document.

Each name (``a_1_2``, ``delta_2_1``) holds a batch vector; the unit forms come
from ``Layer.pre``, ``Layer.act``, ``Layer.delta_forms`` and
``Parameter.gradient``. The same lines are printed a second time for one
sample in Python floats (:class:`derive.render.trainer.printer.FloatPrinter`), which is what
per-sample SGD runs: a numpy call costs about a microsecond even on one value.
There every parameter is a local float named like its symbol (``w_2_1_3``),
unpacked from one flat sequence in the order of ``KEYS``, and the step returns
the new parameters in the same flat order, so ``train(batch_size=1)`` keeps
them as floats for a whole call and converts to arrays once per epoch.
"""

from __future__ import annotations

import sympy as sp

from derive.core import decay, rules
from derive.core.model import Derivation, Parameter
from derive.render.trainer.common import cite, cite_all, keys, log_args_in, reduce_batch
from derive.render.trainer.printer import FloatPrinter, TrainerPrinter, batch_sum, cse_lines, float_sum
from derive.render.trainer.source import Line, literal, tuple_text
from derive.render.trainer.stable import stabilize


def scalar_blocks(d: Derivation, one: bool = False) -> dict[str, list[Line] | str]:
    """The scalar style's lines; with ``one`` the same lines for a single sample in Python floats."""
    names: dict[sp.Symbol, str] = {}
    if not one:
        for layer in d.layers:
            for j, row in enumerate(layer.weights):
                names.update({w: f"W{layer.index}[{j}, {i}]" for i, w in enumerate(row)})
            names.update({b: f"b{layer.index}[{j}]" for j, b in enumerate(layer.biases or [])})
    pr = FloatPrinter() if one else TrainerPrinter(names)
    total = float_sum if one else batch_sum
    reduce = (lambda rhs, d: rhs) if one else reduce_batch  # the mean of one sample is the sample
    if one:
        inputs = [Line(_targets([x.name for x in d.inputs]), "x")]
        targets = [Line(_targets([t.name for t in d.targets]), "t")]
    else:
        inputs = [Line(x.name, f"X[:, {i}]") for i, x in enumerate(d.inputs)]
        targets = [Line(t.name, f"T[:, {k}]") for k, t in enumerate(d.targets)]
    fwd: list[Line] = []
    for layer in d.layers:
        l = layer.index
        fwd += [Line(a.name, pr.doprint(pre), cite(d, f"forward-a-{l}")) for a, pre in zip(layer.a, layer.pre)]
        temps, outs = cse_lines([stabilize(e) for e in layer.act], f"s{l}_")
        fwd += [Line(s.name, pr.doprint(e)) for s, e in temps]
        fwd += [Line(z.name, pr.doprint(e), cite(d, f"forward-z-{l}")) for z, e in zip(layer.out, outs)]
    out = d.layers[-1]
    error = stabilize(log_args_in(d.loss, dict(zip(out.out, out.act))))
    temps, (error,) = cse_lines([error], "e")
    loss = [Line(s.name, pr.doprint(e)) for s, e in temps]
    loss.append(Line("E", reduce(total(error, pr), d), cite(d, "error")))
    deltas = []
    for layer in reversed(d.layers):
        ref = cite(d, f"delta-{layer.index}", "dE-dy", "error")
        deltas += [Line(s.name, pr.doprint(stabilize(f)), ref) for s, f in zip(layer.delta, layer.delta_forms)]
    sgd = d.spec.optimizer == "sgd"
    grads = [] if one else [Line(f"dE_d{key}", f'np.empty_like(params["{key}"])') for key in keys(d)]
    updates = []
    for p in flat_order(d):
        kind = "w" if p.kind == "weight" else "b"
        ref = cite(d, f"grad-{kind}-{p.layer}")
        rhs = reduce(total(p.gradient, pr), d)
        if one:  # θ - lr·dE/dθ, in the order numpy's params - lr * grads rounds it
            grads.append(Line(f"dE_d{p.symbol.name}", rhs, ref))
            penalty = rules.penalty_gradient(d, p.symbol).xreplace({decay.LAMBDA: sp.Symbol("weight_decay")})
            if penalty != 0:  # weight decay: θ - lr·(dE/dθ + ∂Ω/∂θ), as numpy adds the penalty to grads first
                grad = f"({rhs} + {pr.doprint(penalty)})"
            else:
                grad = rhs if rhs.isidentifier() else f"({rhs})"
            # the plain gradient step is the update of plain gradient descent, not of momentum
            step = cite_all(d, f"grad-{kind}-{p.layer}", f"update-{kind}-{p.layer}") if sgd else ref
            updates.append(Line(f"{p.symbol.name}_new", f"{p.symbol.name} - lr*{grad}", step))
        else:
            grads.append(Line(f"dE_d{p.key}[{', '.join(map(str, p.index))}]", rhs, ref))
    return {
        "inputs": inputs,
        "targets": targets,
        "forward": fwd,
        "output": f"np.stack({tuple_text([y.name for y in out.out])}, axis=1)",
        "loss": loss,
        "deltas": deltas,
        "grads": grads,
        "updates": updates,
    }


def flat_order(d: Derivation) -> list[Parameter]:
    """The parameters in the order of ``KEYS``, each array in row-major order: the flat layout of ``P``."""
    rank = {key: n for n, key in enumerate(keys(d))}
    return sorted(d.parameters, key=lambda p: (rank[p.key], p.index))


def _targets(names: list[str]) -> str:
    """Assignment targets that unpack a sequence: ``a, b`` and ``(a,)`` for one name."""
    return ", ".join(names) if len(names) > 1 else f"({names[0]},)"


def float_blocks(d: Derivation) -> dict[str, list[Line] | str]:
    """The one-sample float functions: gradients, the SGD step, and the flat parameter conversions."""
    b = scalar_blocks(d, one=True)
    order = flat_order(d)
    unpack = [Line(_targets([p.symbol.name for p in order]), "P")]
    shared = unpack + b["inputs"] + b["targets"] + b["forward"] + b["deltas"]
    grads = "{" + ", ".join(f'"{key}": dE_d{key}' for key in keys(d)) + "}"
    return {
        "one_lines": shared + b["grads"] + _gradient_arrays(d, order),
        "one_return": grads,
        "step_lines": shared + b["updates"] + [Line("new", tuple_text([f"{p.symbol.name}_new" for p in order]))],
        "lists_lines": _list_lines(d, order),
        "arrays_lines": [Line("flat", f"np.fromiter(P, dtype, {len(order)})"), Line("params", _views(d))],
    }


def _shapes(d: Derivation) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for layer in d.layers:
        shapes[f"W{layer.index}"] = (layer.n_out, layer.n_in)
        if layer.biases:
            shapes[f"b{layer.index}"] = (layer.n_out,)
    return shapes


def _list_lines(d: Derivation, order: list[Parameter]) -> list[Line]:
    """Each array to Python floats with one ``tolist``, unpacked into the parameters' names (a weight
    matrix row by row), then the flat tuple ``P`` in the order of ``KEYS``: cheaper than ravelling the
    matrices and joining their lists."""
    lines = []
    for key, shape in _shapes(d).items():
        names = [p.symbol.name for p in order if p.key == key]
        if len(shape) > 1:
            rows = [_targets(names[r * shape[1] : (r + 1) * shape[1]]) for r in range(shape[0])]
            rows = [f"({row})" if shape[1] > 1 else row for row in rows]
            target = ", ".join(rows) if len(rows) > 1 else f"({rows[0]},)"
        else:
            target = _targets(names)
        lines.append(Line(target, f'params["{key}"].tolist()'))
    return [*lines, Line("P", "[" + ", ".join(p.symbol.name for p in order) + "]")]


def _views(d: Derivation) -> str:
    """The parameter dict as views of one flat float64 array, in the order of ``KEYS``."""
    parts, start = [], 0
    for key, shape in _shapes(d).items():
        stop = start + int(sp.prod(shape))
        view = f"flat[{start}:{stop}]" + (f".reshape{literal(shape)}" if len(shape) > 1 else "")
        parts.append(f'"{key}": {view}')
        start = stop
    return "{" + ", ".join(parts) + "}"


def _gradient_arrays(d: Derivation, order: list[Parameter]) -> list[Line]:
    """The gradients, one float per parameter, into one new float64 array in the flat order of ``P``, and
    each key's gradient a view of it in the parameter's shape (one allocation, as ``_arrays``)."""
    names = tuple_text([f"dE_d{p.symbol.name}" for p in order])
    lines = [Line("flat", f"np.fromiter({names}, np.float64, {len(order)})")]
    start = 0
    for key, shape in _shapes(d).items():
        stop = start + int(sp.prod(shape))
        view = f"flat[{start}:{stop}]" + (f".reshape{literal(shape)}" if len(shape) > 1 else "")
        lines.append(Line(f"dE_d{key}", view))
        start = stop
    return lines
