"""Render the standalone numpy trainer from a verified Derivation.

The template (``templates/trainer.py.j2``) supplies the module's structure; every
line that computes something is an expression of the Derivation printed by
:mod:`derive.render.trainer.printer`. Two styles from the same Derivation:
:mod:`derive.render.trainer.scalar` (one line per unit, δ and parameter, named as in
the document, plus the same lines on Python floats for one sample) and
:mod:`derive.render.trainer.vector` (one matrix line per layer, BP1-BP4).

The forward pass is written once, in ``_forward_pass``, which returns every
pre-activation and output; ``forward``, ``loss`` and ``gradients`` unpack it.
No calculus happens here: expressions are only rewritten into numerically
stable equivalents (:func:`derive.render.trainer.stable.stabilize`) and printed.
"""

from __future__ import annotations

import functools

import jinja2
import sympy as sp

from derive.core import decay, update
from derive.core.model import Derivation
from derive.render import templates
from derive.render.trainer import inplace
from derive.render.trainer.common import cite, keys
from derive.render.trainer.printer import TrainerPrinter
from derive.render.trainer.scalar import float_blocks, scalar_blocks
from derive.render.trainer.source import Line, emit, literal, prune, tuple_text
from derive.render.trainer.vector import vector_blocks

TEMPLATES = templates.directory()

#: Nets of up to this many parameters per layer (counting at least two layers) get the one-sample
#: float functions unless a style is asked for. Floats cost about 0.15 µs per parameter and sample,
#: the matrix lines some 15 to 20 µs per layer and sample whatever its width, so the bound grows with
#: the depth. Per-sample ``train``, time in floats over time in matrix lines (median of same-round
#: ratios; tanh hidden layers, softmax/ce): 6-12-6 (162 parameters) 0.66, 8-14-8 (246) 0.97,
#: 8-16-8 (280) 0.95, 9-16-8 (296) 1.10, 10-16-8 (312) 1.23; 4-8-8-8-4 (220) 0.48, 4-12-12-4 (268)
#: 0.76, 6-16-12-6 (394) 1.10, 8-16-12-8 (452) 1.14; 8-12-12-12-4 (472) 0.94.
SCALAR_MAX_PARAMETERS_PER_LAYER = 125


def choose_style(d: Derivation, style: str | None) -> str:
    """The asked-for style, else vector: a batch runs fastest as one matrix product per layer."""
    return "vector" if style is None else style


def one_sample_floats(d: Derivation, style: str | None) -> bool:
    """Whether the trainer gets the unit-by-unit float functions that one-sample steps run on.

    The scalar style always has them; by default a small net has them too (a numpy call
    costs about a microsecond even on one value, so one sample is several times faster in
    Python floats), while its batches run the vector style's matrix lines.
    """
    limit = SCALAR_MAX_PARAMETERS_PER_LAYER * max(d.spec.n_layers, 2)
    return style == "scalar" or (style is None and d.spec.n_parameters <= limit)


def _body(lines: list[Line], returned: str) -> list[str]:
    return [s for line in prune(lines, returned) for s in emit(line)]


def _unpack_params(d: Derivation) -> list[Line]:
    return [Line(key, f'params["{key}"]') for key in keys(d)]


def _pass_names(forward: list[Line]) -> list[str]:
    """The quantities ``_forward_pass`` returns: every line that cites an equation (no temporaries)."""
    return [line.lhs for line in forward if line.comment]


def _span(d: Derivation, first: str, last: str) -> str:
    """``eqs. (1) to (4)``: the numbers of a run of equations (``eqs. (1) and (2)`` for two)."""
    low, high = d.equation(first).number, d.equation(last).number
    return f"eqs. ({low}) {'and' if high == low + 1 else 'to'} ({high})"


def _update_context(d: Derivation) -> dict:
    """The update equations printed with the trainer's names: one line serves every parameter array."""
    eqs = update.changes([e for e in d.equations if e.id.startswith("update-")])
    if d.spec.optimizer == "adam":
        return _adam_context(d, eqs)
    penalties = _penalties(d)
    lines = set()
    for e in eqs:
        theta = update.parameter(e)
        names = {  # grad: the gradient of the step's objective, with the penalty's term when there is one
            update.objective_gradient(theta, penalties): sp.Symbol("grad"),
            update.Increment(theta, update.STEP - 1): sp.Symbol("velocity[key]"),
            update.ETA: sp.Symbol("lr"),
            update.ALPHA: sp.Symbol("momentum"),
        }
        lines.add(e.rhs.xreplace(names))
    if len(lines) != 1:
        raise ValueError(f"the update equations differ between parameters: {sorted(map(str, lines))}")
    rhs = lines.pop()
    return {
        "adam": False,
        "momentum": d.spec.optimizer == "momentum",
        "update_rhs": TrainerPrinter().doprint(rhs),
        "update_lines": _in_place(rhs),
        "update_eqs": _span(d, eqs[0].id, eqs[-1].id) if len(eqs) > 1 else cite(d, eqs[0].id),
    }


def _adam_context(d: Derivation, changes: list) -> dict:
    """Adam's five equations, each one expression that serves every parameter array and cites its equation
    for every parameter (``eqs. (5), (10)``), written as in-place numpy calls for ``adam_step`` and for
    ``train`` (:func:`_adam_in_place`), and the numbers of all of them."""
    penalties = _penalties(d)
    found: dict[str, tuple[set, list[int]]] = {}
    for e in d.equations:
        if not e.id.startswith("update-"):
            continue
        theta = update.parameter(e)
        t = update.STEP
        names = {
            update.objective_gradient(theta, penalties): sp.Symbol("grad"),
            update.FirstMoment(theta, t - 1): sp.Symbol("m[key]"),
            update.SecondMoment(theta, t - 1): sp.Symbol("v[key]"),
            update.FirstMoment(theta, t): sp.Symbol("m_new"),
            update.SecondMoment(theta, t): sp.Symbol("v_new"),
            update.FirstMomentHat(theta, t): sp.Symbol("m_hat"),
            update.SecondMomentHat(theta, t): sp.Symbol("v_hat"),
            update.ETA: sp.Symbol("lr"),
            update.BETA1: sp.Symbol("beta1"),
            update.BETA2: sp.Symbol("beta2"),
            update.EPSILON: sp.Symbol("eps"),
        }
        lhs = "change" if isinstance(e.lhs, update.Increment) else TrainerPrinter().doprint(e.lhs.xreplace(names))
        expr = e.rhs.xreplace(names)
        lines, numbers = found.setdefault(lhs, (set(), []))
        lines.add(expr)
        numbers.append(e.number)
    out = []
    for lhs, (lines, numbers) in found.items():
        if len(lines) != 1:
            raise ValueError(f"Adam's {lhs} differs between parameters: {sorted(map(str, lines))}")
        expr = lines.pop()
        out.append(
            {
                "lhs": lhs,
                "rhs": TrainerPrinter().doprint(expr),
                "expr": expr,
                "eqs": _cites(numbers),
                "numbers": tuple(numbers),
            }
        )
    everything = [e for e in d.equations if e.id.startswith("update-")]
    step, scalars = _adam_in_place(out, fresh=True)
    in_place, _ = _adam_in_place(out, fresh=False)
    return {
        "adam": True,
        "momentum": False,
        "adam_lines": out,
        "adam_step_blocks": step,
        "adam_update_blocks": in_place,
        "adam_scalars": scalars,
        "update_eqs": _span(d, everything[0].id, everything[-1].id),
        "change_eqs": out[-1]["eqs"],
    }


def _adam_in_place(lines: list[dict], fresh: bool) -> tuple[list[dict], list[dict]]:
    """Adam's lines as numpy calls with ``out=`` (:mod:`derive.render.trainer.inplace`), for one parameter array.

    ``fresh``: the new parameters and moments are new arrays (``adam_step`` leaves its inputs alone), the
    parameters' one made first as ``work``, the scratch array until the last line; else (``train``'s own
    arrays) m, v and the parameters are updated in place and ``work`` is a scratch array ``train`` keeps.
    The fresh gradient ``grad`` serves as a second scratch array once the moments have read it.
    Returns the blocks (equation, citation, lines), the last one the parameters' update, and the scalars.
    """
    params, change = sp.Symbol("params[key]"), sp.Symbol("change")
    arrays = {sp.Symbol(n) for n in ("grad", "m[key]", "v[key]", "params[key]", *(line["lhs"] for line in lines))}
    if fresh:
        results = {"m_new": None, "v_new": None, "new_params[key]": "work"}
        last = "new_params[key]"
    else:
        results = {"m_new": "m[key]", "v_new": "v[key]", "params[key]": "params[key]"}
        last = "params[key]"
    steps = [(line["lhs"], line["expr"], line["numbers"]) for line in lines] + [
        (last, sp.Add(params, change, evaluate=False), ())
    ]
    scalars = inplace.Scalars()
    written = inplace.program(steps, arrays, scalars, results, buffers=("work",), spent=("grad",))
    blocks = [{**line, "lines": code} for line, code in zip(lines, written)]
    blocks.append({"lhs": last, "rhs": "params[key] + change", "lines": written[-1]})
    found = []
    for name, value, numbers in scalars.lines():
        found.append({"name": name, "value": value, "eqs": _cites(numbers)})
    return blocks, found


def _cites(numbers) -> str:
    """``eq. (5)`` or ``eqs. (5), (10)``: the citation of some equation numbers."""
    return f"eq. ({numbers[0]})" if len(numbers) == 1 else "eqs. " + ", ".join(f"({n})" for n in numbers)


def _penalties(d: Derivation) -> dict[sp.Expr, sp.Expr]:
    """∂Ω/∂θ of each decayed generic parameter θ, as the core derived it (empty without weight decay)."""
    return {e.lhs.variables[0]: e.rhs for e in d.equations if e.id.startswith("grad-penalty-")}


#: the trainer's default weight_decay (λ): a common small value; 0.0 turns the decay off
DECAY_DEFAULT = "1e-4"


def _decay_context(d: Derivation) -> dict:
    """The penalty's gradient as one trainer line for every decayed array, and which arrays those are."""
    if not d.spec.weight_decay:
        return {"decay": False, "wd_param": "", "wd_arg": ""}
    eqs = [e for e in d.equations if e.id.startswith("grad-penalty-")]
    names = {decay.LAMBDA: sp.Symbol("weight_decay")}
    lines = {e.rhs.xreplace({**names, e.lhs.variables[0]: sp.Symbol("params[key]")}) for e in eqs}
    if len(lines) != 1:
        raise ValueError(f"the penalty gradients differ between parameters: {sorted(map(str, lines))}")
    decayed = [f"{'W' if e.id[len('grad-penalty-')] == 'w' else 'b'}{e.id.rsplit('-', 1)[1]}" for e in eqs]
    return {
        "decay": True,
        "wd_param": f", weight_decay={DECAY_DEFAULT}",
        "wd_arg": ", weight_decay",
        "decay_default": DECAY_DEFAULT,
        "decay_rhs": TrainerPrinter().doprint(lines.pop()),
        "decayed": literal(tuple(k for k in keys(d) if k in decayed)),
        "decay_eqs": _span(d, eqs[0].id, eqs[-1].id) if len(eqs) > 1 else cite(d, eqs[0].id),
    }


def _in_place(rhs: sp.Expr) -> list[str]:
    """``change = rhs`` for arrays, term by term with one new array: the gradient term scales ``grad``
    in place (the gradients are fresh arrays) and becomes the change; the other term is one multiplication
    into ``new``, the array that then receives the new parameters."""
    grad = sp.Symbol("grad")
    pr = TrainerPrinter()
    lines, others = [], []
    for term in sp.Add.make_args(rhs):
        coeff, array = (term / grad, "grad") if term.has(grad) else (None, None)
        if array is None:
            (array,) = [f for f in sp.Mul.make_args(term) if f.name.startswith("velocity")]
            others.append(f"np.multiply({pr.doprint(array)}, {pr.doprint(term / array)}, dtype=grad.dtype)")
        else:
            lines.append(f"grad *= {pr.doprint(coeff)}")
    if len(lines) != 1 or len(others) > 1:
        raise NotImplementedError(f"no in-place form for the update {rhs}")
    if not others:  # plain gradient descent: the scaled gradient is the change
        return [*lines, "change, new = grad, None"]
    return [*lines, f"new = {others[0]}", "grad += new", "change = grad"]


def context(d: Derivation, style: str, floats: bool | None = None) -> dict:
    """Everything the template reads (``floats``: with the one-sample float functions; default: scalar style)."""
    spec = d.spec
    scalar = style == "scalar"
    momentum = spec.optimizer == "momentum"
    b = scalar_blocks(d) if scalar else vector_blocks(d)
    names = _pass_names(b["forward"])
    values = ", ".join(names)
    unpack = [Line(values if len(names) > 1 else f"({values},)", "_forward_pass(params, X)")]
    size = [Line("n", "X.shape[0]")] if d.reduction == "mean" else []
    grads_dict = "{" + ", ".join(f'"{key}": dE_d{key}' for key in keys(d)) + "}"
    floats = scalar if floats is None else floats
    fl = float_blocks(d) if floats else {}
    xor = spec.sizes[0] == 2 and spec.sizes[-1] == 1 and spec.n_layers >= 2
    labels = spec.loss == "ce"
    return {
        "pass_body": _body(
            [*_unpack_params(d), *b["inputs"], *b["forward"], Line("values", tuple_text(names))], "values"
        ),
        "forward_body": _body(unpack, b["output"]),
        "output": b["output"],
        "loss_body": _body(size + b["targets"] + unpack + b["loss"], "E"),
        "grads_body": _body(
            size + _unpack_params(d) + b["inputs"] + b["targets"] + unpack + b["deltas"] + b["grads"], grads_dict
        ),
        "one_body": _body(fl["one_lines"], fl["one_return"]) if floats else [],
        "step_body": _body(fl["step_lines"], "new") if floats else [],
        "lists_body": _body(fl["lists_lines"], "P") if floats else [],
        "arrays_body": _body(fl["arrays_lines"], "params") if floats else [],
        "keys": literal(tuple(keys(d))),
        "n_in": spec.sizes[0],
        "n_out": spec.sizes[-1],
        "labels": labels,
        "labels_hint": " (or {n} integer class labels)" if labels else "",
        "unit_targets": spec.loss == "bce",
        "one_sample_extra": {"ce": ", a probability vector", "bce": ", targets in [0, 1]"}.get(spec.loss, ""),
        "classes": spec.activations[-1] == "softmax",
        "logistic": "_logistic" in b.get("helpers", ()),
        **_update_context(d),
        **_decay_context(d),
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
        "scalar": scalar,
        "floats": floats,
        # with momentum α = 0.9 a step is about 1 / (1 - α) = 10 gradient steps long
        # Adam's steps are roughly bounded by lr, whatever the scale of the gradient
        "demo_lr": repr(0.05 if spec.optimizer == "adam" else (2.0 if xor else 0.03) / (10 if momentum else 1)),
        "demo_epochs": repr(1000 if xor else 200),
        "error_eq": cite(d, "error"),
        "forward_eqs": _span(d, "forward-a-1", f"forward-z-{spec.n_layers}"),
        "assumptions": "; ".join(d.assumptions),
    }


@functools.cache  # one per process; compiled templates are cached between runs too
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=templates.bytecode_cache(),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(d: Derivation, style: str | None = None) -> str:
    """trainer.py text for a verified Derivation.

    Args:
        d: the Derivation.
        style: ``"scalar"``, ``"vector"`` or None (vector, with the one-sample float functions
            for small nets: see :func:`one_sample_floats`).
    Returns:
        The module source; the same Derivation always gives the same bytes.
    """
    chosen = choose_style(d, style)
    return _environment().get_template("trainer.py.j2").render(**context(d, chosen, one_sample_floats(d, style)))
