"""Stage 3 for large networks: every δ form checked at random points, in linear time.

Differentiating the fully expanded error once per parameter costs time
quadratic in the number of parameters. This module checks the same identity,
∂E/∂θ = (δ form of θ), numerically, for all parameters of a layer at once
(method ``directional``):

1. Draw a random point: inputs, targets, weights and biases.
2. Draw a random direction v over the layer's parameters, v_θ = k_θ / N with
   k_θ uniform in {-N, ..., N}, N = 2**40.
3. The raw side: the derivative of E(θ + εv) at ε = 0, by forward-mode
   differentiation of the network's definition, a_j = Σ_i w_ji z_i + b_j,
   z_j = f(a_j), E = Σ_k term(y_k, t_k), with f' and ∂term/∂y obtained by
   ``sympy.diff`` of the activation and loss definitions
   (:mod:`derive.core.activations`). No δ, no Jacobian rewrite, no backward pass.
4. The δ side: the Derivation's δ forms (the per-layer rules of a large net,
   the per-unit forms of a small one) evaluated top-down, then each parameter's
   gradient form, combined as G = Σ_θ v_θ · (δ form of θ).
5. Pass if |J - G| <= T = TOLERANCE · Σ_θ |δ form of θ|, all in ``np.longdouble``.

Why a pass means something: if the δ forms are off by e_θ at the point, then
J - G = -Σ_θ v_θ e_θ + (rounding). Fix every k but one, k_θ with |e_θ| = η:
the pass region is an interval of length at most 4TN/η in k_θ, so the chance
of passing is at most 2T/η + 1/(2N + 1). The points are independent, so a
form that is wrong at every point escapes with at most the product of these.
With weight decay the identity is ∂(E + Ω)/∂θ = δ form + ∂Ω/∂θ: the raw side adds
the derivative of Ω = (λ/2) Σ θ² along v (``sympy.diff`` of (λ/2) θ², on the parameter
values), the δ side each decayed layer's penalty rule as the core derived it.

What no finite test bounds: a wrong form that happens to agree with the raw
derivative at every point drawn (a non-zero analytic difference vanishes only
on a set of measure zero, but the points are finite-precision draws).

A layer that fails is bisected (fresh directions on halves of its parameters)
to name a parameter whose form is wrong.
"""

from __future__ import annotations

import zlib

import numpy as np
import sympy as sp

from derive.core import activations, calculus, decay, naming
from derive.core.evaluate import delta_values, gradient_values
from derive.core.indexed import evaluate
from derive.core.model import Derivation, ParameterGroup, Proof
from derive.progress import Progress

DTYPE = np.longdouble
N_POINTS = 2
N = 2**40
#: Relative tolerance: 10^5 units in the last place of DTYPE (observed differences are ~1 unit).
TOLERANCE = float(1e5 * np.finfo(DTYPE).eps)
METHOD = "directional"


class CheckFailed(AssertionError):
    """A δ form differs from the raw derivative (the message names the parameter)."""


def random_point(d: Derivation, seed: int) -> dict:
    """Inputs, targets and parameters drawn so that no unit saturates (values keyed by family name)."""
    rng = np.random.default_rng(seed)
    spec = d.spec
    vals = {"x": rng.uniform(-1, 1, spec.sizes[0])}
    for layer in d.layers:
        s = np.sqrt(3.0 / layer.n_in)
        vals[naming.family("w", layer.index)] = rng.uniform(-s, s, (layer.n_out, layer.n_in))
        if layer.biases:
            vals[naming.family("b", layer.index)] = rng.uniform(-0.5, 0.5, layer.n_out)
    K = spec.sizes[-1]
    if spec.loss == "ce":  # a probability vector: the stated assumption Σ t = 1
        t = rng.uniform(0.05, 1, K)
        vals["t"] = t / t.sum()
    elif spec.loss == "bce":
        vals["t"] = rng.uniform(0.05, 0.95, K)
    else:
        vals["t"] = rng.uniform(-1, 1, K)
    return {k: np.asarray(v, dtype=DTYPE) for k, v in vals.items()}


class _Definitions:
    """The network's definition, evaluated: forward values and forward-mode tangents."""

    def __init__(self, d: Derivation):
        self.d = d
        A, Y, T = calculus.A, calculus.Y, sp.Symbol("T", real=True)
        self.A, self.Y, self.T = A, Y, T
        self.f = {}
        for layer in d.layers:
            if layer.activation == "softmax":
                f = activations.softmax_numerators([A])[0]
            else:
                f = activations.ELEMENTWISE[layer.activation](A)
            self.f[layer.index] = (f, sp.diff(f, A))
        term = activations.loss_term(d.spec.loss, Y, T)
        self.dterm = sp.diff(term, Y)
        self.scale = activations.loss_scale(d.spec.loss, d.layers[-1].n_out)
        #: dΩ/dθ for one parameter θ, by sympy.diff of its share (λ/2) θ² of the penalty
        self.dpenalty = sp.diff(decay.LAMBDA / 2 * A**2, A)

    def act(self, layer, a: np.ndarray, a_dot: np.ndarray | None = None):
        f, fp = self.f[layer.index]
        z = evaluate(f, {self.A: a}, dtype=DTYPE)[0]
        if a_dot is None:
            return (z / z.sum() if layer.activation == "softmax" else z), None
        z_dot = evaluate(fp, {self.A: a}, dtype=DTYPE)[0] * a_dot
        if layer.activation == "softmax":  # y = n / S: quotient rule with S = Σ n
            S, S_dot = z.sum(), z_dot.sum()
            return z / S, z_dot / S - z * S_dot / S**2
        return z, z_dot

    def forward(self, vals: dict) -> None:
        z = vals["x"]
        for layer in self.d.layers:
            l = layer.index
            a = vals[naming.family("w", l)] @ z + (vals[naming.family("b", l)] if layer.biases else 0)
            z = self.act(layer, a)[0]
            vals[naming.family("a", l)] = a
            vals[naming.family("y" if layer.is_output else "z", l)] = z

    def jvp(self, vals: dict, l: int, V: np.ndarray, c: np.ndarray | None) -> DTYPE:
        """d/dε E at ε = 0 when layer l's weights move by εV and its biases by εc."""
        z_dot = None
        for layer in self.d.layers[l - 1 :]:
            m = layer.index
            z_in = vals["x"] if m == 1 else vals[naming.family("z", m - 1)]
            if m == l:
                a_dot = V @ z_in + (c if c is not None else 0)
            else:
                a_dot = vals[naming.family("w", m)] @ z_dot
            z_dot = self.act(layer, vals[naming.family("a", m)], a_dot)[1]
        dterm = evaluate(self.dterm, {self.Y: vals["y"], self.T: vals["t"]}, dtype=DTYPE)[0]
        J = DTYPE(int(self.scale.p)) / DTYPE(int(self.scale.q)) * np.sum(dterm * z_dot)
        for kind, role, direction in (("weight", "w", V), ("bias", "b", c)):
            if decay.decays(self.d.spec, kind) and direction is not None:
                at = {self.A: vals[naming.family(role, l)], decay.LAMBDA: vals[decay.LAMBDA]}
                J += np.sum(evaluate(self.dpenalty, at, dtype=DTYPE)[0] * direction)
        return J


def _layer_groups(d: Derivation, l: int) -> tuple[ParameterGroup, ParameterGroup | None]:
    groups = {g.kind: g for g in d.parameter_groups if g.layer == l}
    return groups["weight"], groups.get("bias")


class _LayerCheck:
    """Directional checks of one layer's parameters at one point."""

    def __init__(self, defs: _Definitions, vals: dict, grads: dict, l: int, seed: int):
        self.defs, self.vals, self.l = defs, vals, l
        self.wg, self.bg = _layer_groups(defs.d, l)
        self.g = np.concatenate([grads[g.key].ravel() for g in (self.wg, self.bg) if g])
        self.scale = np.sum(np.abs(self.g))
        self.largest = float(np.max(np.abs(self.g)))
        self.T = DTYPE(TOLERANCE) * self.scale
        self.rng = np.random.default_rng(seed)

    def residual(self, lo: int, hi: int) -> DTYPE:
        """|J - G| for a random direction supported on parameters [lo, hi) of the layer."""
        v = np.zeros(self.g.size, dtype=DTYPE)
        v[lo:hi] = self.rng.integers(-N, N + 1, hi - lo).astype(DTYPE) / DTYPE(N)
        nw = self.wg.size
        V = v[:nw].reshape(self.wg.shape)
        c = v[nw:] if self.bg else None
        J = self.defs.jvp(self.vals, self.l, V, c)
        return abs(J - np.dot(v, self.g))

    def locate(self) -> int:
        """Bisect to one parameter whose form fails (its position in the layer)."""
        lo, hi = 0, self.g.size
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.residual(lo, mid) > self.T:
                hi = mid
            else:
                lo = mid
        return lo

    def name(self, pos: int) -> str:
        if pos < self.wg.size:
            j, i = divmod(pos, self.wg.shape[1])
            return self.wg.name.format(j=j + 1, i=i + 1)
        return self.bg.name.format(j=pos - self.wg.size + 1)


def check(d: Derivation, progress: Progress | None = None) -> dict[int, list[tuple[float, float, float]]]:
    """Run the directional check on every layer at N_POINTS points.

    Returns, per layer and point, (|J - G| / Σ|g|, T, largest |g|). Raises CheckFailed.
    """
    defs = _Definitions(d)
    base = zlib.crc32(d.spec.name.encode())
    seen: dict[int, list[tuple[float, float, float]]] = {layer.index: [] for layer in d.layers}
    for n in range(N_POINTS):
        vals = random_point(d, base + n)
        defs.forward(vals)
        delta_values(d, vals, DTYPE)
        grads = gradient_values(d, vals, DTYPE)
        if d.spec.weight_decay:
            _add_penalty(d, vals, grads, n)
        for layer in reversed(d.layers):  # output first: a wrong δ is named where it starts
            lc = _LayerCheck(defs, vals, grads, layer.index, base + 1000 * n + layer.index)
            r = lc.residual(0, lc.g.size)
            if not r <= lc.T:
                where = lc.name(lc.locate())
                raise CheckFailed(
                    f"δ form of {where} differs from the raw derivative at random point {n + 1} "
                    f"(directional derivatives differ by {float(r):.3g}, tolerance {float(lc.T):.3g})"
                )
            seen[layer.index].append((float(r / lc.scale) if lc.scale else 0.0, float(lc.T), lc.largest))
            if progress:
                progress.update(layer.index, lc.g.size)
    return seen


def _add_penalty(d: Derivation, vals: dict, grads: dict, n: int) -> None:
    """Set λ for point ``n`` (0.25, 0.75, ...); add each decayed layer's derived penalty rule ∂Ω/∂θ to its δ forms."""
    vals[decay.LAMBDA] = DTYPE(0.25 + 0.5 * n)
    for g in d.parameter_groups:
        try:
            rule = d.equation(f"grad-penalty-{g.kind[0]}-{g.layer}").rhs
        except KeyError:
            continue
        labels = (naming.index(g.layer), naming.index(g.layer - 1))[: len(g.shape)]
        grads[g.key] = grads[g.key] + evaluate(rule, vals, labels=labels, dtype=DTYPE)[0]


def proofs(d: Derivation, seen: dict[int, list[tuple[float, float, float]]]) -> dict[int, Proof]:
    """The verification record of each layer (its weights and biases share it)."""
    digits = np.finfo(DTYPE).precision
    out = {}
    for layer in d.layers:
        worst = max(r for r, _, _ in seen[layer.index])
        T = max(t for _, t, _ in seen[layer.index])
        largest = min(g for _, _, g in seen[layer.index])
        eta = 2 * T / (1e-6 - 1 / (2 * N + 1))
        detail = (
            f"forward-mode derivative of the fully expanded error along a random direction over the "
            f"parameters of one layer (activation and loss definitions differentiated by "
            f"sympy.diff, no backward recursion) equals the sum of direction times backpropagated form at "
            f"{N_POINTS} random points "
            f"(seeds from crc32 of {d.spec.name!r}; x ~ U(-1, 1), w ~ U(±sqrt(3/n_in)), b ~ U(±1/2), targets "
            f"drawn in the loss's domain); direction entries k/2^40, k uniform in [-2^40, 2^40]; "
            f"{digits}-digit arithmetic; |difference| <= T = {TOLERANCE:.1e} * sum |backpropagated forms| "
            f"(largest difference seen {worst:.1e} * sum |backpropagated forms|)"
        )
        bound = (
            f"at each point a parameter whose backpropagated form is off by eta escapes with probability "
            f"<= 2T/eta + 2^-41 (T <= {T:.1e}): an error >= {eta:.1e} is caught with probability >= 1 - 1e-6 "
            f"(the largest |backpropagated form| of the layer is >= {largest:.1e} at every point); "
            f"not bounded: a wrong form that agrees with the raw derivative at every point drawn"
        )
        figures = (("worst", worst), ("T", T), ("eta", eta), ("largest", largest))
        out[layer.index] = Proof(METHOD, detail, tuple(d.assumptions), bound, figures)
    return out
