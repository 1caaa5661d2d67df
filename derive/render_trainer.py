"""Render the standalone numpy trainer from a verified Derivation.

The template (``templates/trainer.py.j2``) supplies the module's structure; every
line that computes something is an expression of the Derivation printed by
:mod:`derive.codegen`. Two styles from the same Derivation:

``scalar``
    one line per unit, per δ and per parameter gradient, named as in the
    document (``delta_2_1 = ...``); each name holds a batch vector. The unit
    forms come from ``Layer.pre``, ``Layer.act``, ``Layer.delta_forms`` and
    ``Parameter.gradient``. The same lines are printed a second time for one
    sample in Python floats (:class:`derive.codegen.FloatPrinter`), which is
    what per-sample SGD runs: a numpy call costs about a microsecond even on
    one value. ``_step_one`` prints them once more with θ - lr·dE/dθ per
    parameter, so ``train(batch_size=1)`` keeps the parameters as floats for
    a whole call and converts to arrays only once per epoch.
``vector``
    one line per layer in matrix form (BP1-BP4), printed from the generic
    per-layer equations (``Indexed`` families) in ``Derivation.equations``.

No calculus happens here: expressions are only rewritten into numerically
stable equivalents (:func:`derive.codegen.stabilize`) and printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import sympy as sp

from derive import naming
from derive.codegen import FloatPrinter, TrainerPrinter, batch_outer, batch_sum, cse_lines, float_sum, stabilize
from derive.model import Derivation, Equation
from derive.pysource import Line, emit, is_primary, literal, prune, tuple_text

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

#: Nets up to this many parameters get the scalar style unless a style is asked for.
SCALAR_MAX_PARAMETERS = 40


def choose_style(d: Derivation, style: str | None) -> str:
    """The asked-for style, else scalar for small nets and vector for the rest."""
    if style is not None:
        return style
    return "scalar" if d.spec.n_parameters <= SCALAR_MAX_PARAMETERS else "vector"


def cite(d: Derivation, *eq_ids: str) -> str:
    """``eq. (n)`` for the first of ``eq_ids`` that the document numbers."""
    for eq_id in eq_ids:
        try:
            return f"eq. ({d.equation(eq_id).number})"
        except KeyError:
            continue
    raise KeyError(eq_ids)


def _log_args_in(expr: sp.Expr, repl: dict) -> sp.Expr:
    """Write the output inside every log in pre-activations, so the log can be taken stably."""
    return expr.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(e.args[0].xreplace(repl)))


def _reduce(rhs: str, d: Derivation) -> str:
    """Divide by the batch size n when the error is the mean over the samples."""
    if d.reduction != "mean":
        return rhs
    return f"{rhs} / n" if is_primary(rhs) else f"({rhs}) / n"


def _unpack(d: Derivation, one: bool = False) -> list[Line]:
    lines = []
    to_floats = ".tolist()" if one else ""
    for layer in d.layers:
        lines.append(Line(f"W{layer.index}", f'params["W{layer.index}"]{to_floats}'))
        if layer.biases:
            lines.append(Line(f"b{layer.index}", f'params["b{layer.index}"]{to_floats}'))
    return lines


def scalar_blocks(d: Derivation, one: bool = False) -> dict[str, list[Line] | str]:
    """The scalar style: one line per unit, δ and parameter.

    With ``one`` the same lines for a single sample held in Python floats
    (weights as nested lists, ``math`` functions), for per-sample SGD.
    """
    names: dict[sp.Symbol, str] = {}
    for layer in d.layers:
        for j, row in enumerate(layer.weights):
            for i, w in enumerate(row):
                names[w] = f"W{layer.index}[{j}][{i}]" if one else f"W{layer.index}[{j}, {i}]"
        for j, b in enumerate(layer.biases or []):
            names[b] = f"b{layer.index}[{j}]"
    pr = FloatPrinter(names) if one else TrainerPrinter(names)
    total = float_sum if one else batch_sum
    reduce = (lambda rhs, d: rhs) if one else _reduce  # the mean of one sample is the sample
    inputs = [Line(x.name, f"x[{i}]" if one else f"X[:, {i}]") for i, x in enumerate(d.inputs)]
    targets = [Line(t.name, f"t[{k}]" if one else f"T[:, {k}]") for k, t in enumerate(d.targets)]
    fwd: list[Line] = []
    for layer in d.layers:
        l = layer.index
        fwd += [Line(a.name, pr.doprint(pre), cite(d, f"forward-a-{l}")) for a, pre in zip(layer.a, layer.pre)]
        temps, outs = cse_lines([stabilize(e) for e in layer.act], f"s{l}_")
        fwd += [Line(s.name, pr.doprint(e)) for s, e in temps]
        fwd += [Line(z.name, pr.doprint(e), cite(d, f"forward-z-{l}")) for z, e in zip(layer.out, outs)]
    out = d.layers[-1]
    error = stabilize(_log_args_in(d.loss, dict(zip(out.out, out.act))))
    temps, (error,) = cse_lines([error], "e")
    loss = [Line(s.name, pr.doprint(e)) for s, e in temps]
    loss.append(Line("E", reduce(total(error, pr), d), cite(d, "error")))
    deltas = []
    for layer in reversed(d.layers):
        ref = cite(d, f"delta-{layer.index}", "dE-dy", "error")
        deltas += [Line(s.name, pr.doprint(stabilize(f)), ref) for s, f in zip(layer.delta, layer.delta_forms)]
    grads = [
        Line(f"dE_d{p.key}", f'np.empty_like(params["{p.key}"])') for p in d.parameters if p.index in ((0,), (0, 0))
    ]
    updates = []
    for p in d.parameters:
        ref = cite(d, f"grad-{'w' if p.kind == 'weight' else 'b'}-{p.layer}")
        idx = ", ".join(str(k) for k in p.index)
        rhs = reduce(total(p.gradient, pr), d)
        grads.append(Line(f"dE_d{p.key}[{idx}]", rhs, ref))
        if one:  # θ - lr·dE/dθ, in the order numpy's params - lr * grads rounds it
            grad = rhs if is_primary(rhs) else f"({rhs})"
            updates.append(Line(_new_name(p.key, p.index), f"{names[p.symbol]} - lr*{grad}", ref))
    outputs = tuple_text([y.name for y in out.out])
    return {
        "inputs": inputs,
        "targets": targets,
        "forward": fwd,
        "output": f"np.stack({outputs}, axis=1)",
        "loss": loss,
        "deltas": deltas,
        "grads": grads,
        "updates": updates,
    }


def _new_name(key: str, index: tuple[int, ...]) -> str:
    return "_".join([f"{key}_new", *map(str, index)])


def _new_param_lines(d: Derivation) -> list[Line]:
    """The updated parameters of the one-sample step, one nested tuple per key (rows of a W as tuples)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for p in d.parameters:
        shapes[p.key] = tuple(max(n, k + 1) for n, k in zip(shapes.get(p.key, (0,) * len(p.index)), p.index))
    lines = []
    for key, shape in shapes.items():
        if len(shape) == 1:
            value = tuple_text([_new_name(key, (j,)) for j in range(shape[0])])
        else:
            value = tuple_text([tuple_text([_new_name(key, (j, i)) for i in range(shape[1])]) for j in range(shape[0])])
        lines.append(Line(f"{key}_new", value))
    return lines


def _new_params(d: Derivation) -> str:
    return tuple_text([line.lhs for line in _new_param_lines(d)])


_INDEX_RE = re.compile(r"idx([0-9]+)p?")


def rule(d: Derivation, eq: Equation) -> sp.Expr:
    """An equation's right-hand side with the unit indices of one-unit layers resolved.

    Differentiating a sum over a single unit leaves ``KroneckerDelta(1, i)``
    with i ranging over {1}; that factor is 1 on the whole range.
    """
    repl = {}
    for kd in eq.rhs.atoms(sp.KroneckerDelta):
        for idx, other in (kd.args, kd.args[::-1]):
            m = _INDEX_RE.fullmatch(idx.name) if isinstance(idx, sp.Symbol) else None
            if m and other == 1 and d.spec.sizes[int(m.group(1))] == 1:
                repl[kd] = sp.Integer(1)
    return eq.rhs.xreplace(repl)


def _arrays(d: Derivation) -> dict[str, str]:
    arrays = {"x": "X", "t": "T", "y": "Y"}
    for layer in d.layers:
        l = layer.index
        arrays.update({f"a_{l}": f"A{l}", f"w_{l}": f"W{l}", f"b_{l}": f"b{l}", f"delta_{l}": f"delta_{l}"})
        if not layer.is_output:
            arrays[f"z_{l}"] = f"Z{l}"
    return arrays


def _strip_unit_sum(expr: sp.Expr, k: sp.Symbol) -> sp.Expr:
    """Drop the sum over the output index; the loss line sums every entry anyway."""
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == k, lambda e: e.function)


def vector_blocks(d: Derivation) -> dict[str, list[Line] | str]:
    """The vector style: one matrix line per layer, from the generic equations."""
    arrays = _arrays(d)
    pr = TrainerPrinter(arrays=arrays)
    fwd: list[Line] = []
    for layer in d.layers:
        l = layer.index
        for kind, target in (("a", f"A{l}"), ("z", "Y" if layer.is_output else f"Z{l}")):
            eq = d.equation(f"forward-{kind}-{l}")
            fwd.append(Line(target, pr.doprint(stabilize(rule(d, eq))), cite(d, eq.id)))
    L = d.spec.n_layers
    y_generic = rule(d, d.equation(f"forward-z-{L}"))
    k = naming.index(L)
    error = _log_args_in(rule(d, d.equation("error")), {naming.indexed("y", L)[k]: y_generic})
    temps, (error,) = cse_lines([stabilize(_strip_unit_sum(error, k))], "e")
    loss = [Line(s.name, pr.doprint(e)) for s, e in temps]
    loss.append(Line("E", _reduce(f"np.sum({pr.doprint(error)})", d), cite(d, "error")))
    deltas = []
    for layer in reversed(d.layers):
        l = layer.index
        try:
            eq = d.equation(f"delta-{l}")
            deltas.append(Line(f"delta_{l}", pr.doprint(stabilize(rule(d, eq))), cite(d, eq.id)))
        except KeyError:
            deltas.append(_stacked_deltas(d, layer.index))
    grads = []
    for layer in d.layers:
        l = layer.index
        for kind, key in (("w", f"W{l}"), ("b", f"b{l}")):
            try:
                eq = d.equation(f"grad-{kind}-{l}")
            except KeyError:
                continue
            grads.append(Line(f"dE_d{key}", _reduce(batch_outer(rule(d, eq), pr), d), cite(d, eq.id)))
    return {
        "inputs": [],
        "targets": [],
        "forward": fwd,
        "output": "Y",
        "loss": loss,
        "deltas": deltas,
        "grads": grads,
    }


def _stacked_deltas(d: Derivation, l: int) -> Line:
    """A layer whose δ has no single generic form (softmax without ce): its unit forms as columns."""
    layer = d.layers[l - 1]
    names = {}
    for role_syms, arr in ((d.targets, "T"), (layer.out, "Y" if layer.is_output else f"Z{l}"), (layer.a, f"A{l}")):
        names.update({s: f"{arr}[:, {m}]" for m, s in enumerate(role_syms)})
    pr = TrainerPrinter(names)
    cols = tuple_text([pr.doprint(stabilize(f)) for f in layer.delta_forms])
    return Line(f"delta_{l}", f"np.stack({cols}, axis=1)", cite(d, f"delta-{l}", "dE-dy", "error"))


def _body(lines: list[Line], returned: str) -> list[str]:
    return [s for line in prune(lines, returned) for s in emit(line)]


def _one_sample_lines(d: Derivation) -> list[Line]:
    b = scalar_blocks(d, one=True)
    return _unpack(d, one=True) + b["inputs"] + b["targets"] + b["forward"] + b["deltas"] + b["grads"]


def _targets(names: list[str]) -> str:
    """Assignment targets that unpack a sequence: ``a, b`` and ``(a,)`` for one name."""
    return ", ".join(names) if len(names) > 1 else f"({names[0]},)"


def _step_one_lines(d: Derivation) -> list[Line]:
    """One SGD step of a single sample on Python floats: the parameters come and go as nested lists."""
    b = scalar_blocks(d, one=True)
    keys = [f"{kind}{layer.index}" for layer in d.layers for kind in ("W", "b")[: 1 + d.spec.bias]]
    unpack = [Line(_targets(keys), "P")]
    return unpack + b["inputs"] + b["targets"] + b["forward"] + b["deltas"] + b["updates"] + _new_param_lines(d)


def context(d: Derivation, style: str) -> dict:
    """Everything the template reads."""
    spec = d.spec
    b = scalar_blocks(d) if style == "scalar" else vector_blocks(d)
    keys = [f"{kind}{layer.index}" for layer in d.layers for kind in ("W", "b")[: 1 + spec.bias]]
    size = [Line("n", "X.shape[0]")] if d.reduction == "mean" else []
    head = _unpack(d) + b["inputs"]
    grads_dict = "{" + ", ".join(f'"{key}": dE_d{key}' for key in keys) + "}"
    xor = spec.sizes[0] == 2 and spec.sizes[-1] == 1 and spec.n_layers >= 2
    return {
        "forward_body": _body(head + b["forward"], b["output"]),
        "output": b["output"],
        "loss_body": _body(size + head + b["targets"] + b["forward"] + b["loss"], "E"),
        "grads_body": _body(size + head + b["targets"] + b["forward"] + b["deltas"] + b["grads"], grads_dict),
        "one_body": _body(_one_sample_lines(d), grads_dict) if style == "scalar" else [],
        "step_body": _body(_step_one_lines(d), _new_params(d)) if style == "scalar" else [],
        "new_params": _new_params(d) if style == "scalar" else "",
        "keys": literal(tuple(keys)),
        "unpack_keys": _targets(keys),
        "arrays_body": emit(Line("params", "{" + ", ".join(f'"{key}": np.array({key})' for key in keys) + "}")),
        "lists_body": emit(Line("P", tuple_text([f'params["{key}"].tolist()' for key in keys]))),
        "arch": literal(spec.arch),
        "name": spec.name,
        "sizes": literal(tuple(spec.sizes)),
        "activations": literal(tuple(spec.activations)),
        "loss_name": literal(spec.loss),
        "bias": repr(spec.bias),
        "reduction": literal(d.reduction),
        "mean": d.reduction == "mean",
        "style": literal(style),
        "grads_dict": grads_dict,
        "xor": xor,
        "scalar": style == "scalar",
        "demo_lr": repr(2.0 if xor else 0.03),
        "demo_epochs": repr(1000 if xor else 200),
        "error_eq": cite(d, "error"),
        "assumptions": "; ".join(d.assumptions),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(d: Derivation, style: str | None = None) -> str:
    """trainer.py text for a verified Derivation.

    Args:
        d: the Derivation.
        style: ``"scalar"``, ``"vector"`` or None (by size, see :func:`choose_style`).
    Returns:
        The module source; the same Derivation always gives the same bytes.
    """
    chosen = choose_style(d, style)
    return _environment().get_template("trainer.py.j2").render(**context(d, chosen))
