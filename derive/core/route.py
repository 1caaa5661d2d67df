"""Which route derives and proves a network: unit by unit and symbolically, or per layer and at random points.

The unit-by-unit derivation and its symbolic proof are the most direct
evidence, and a small network gets them. Their cost grows with the size of the
written-out error, so large networks, and small ones whose proof would be
slow, are derived per layer (:mod:`derive.core.perlayer`) and proved by the
random-directional test (:mod:`derive.prove.directional`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from derive.spec import NetworkSpec

#: Nets with more parameters are derived per layer and built lazily (and proved by
#: directional derivatives, see derive.prove.directional); smaller ones unit by unit and proved symbolically.
LAZY_ABOVE = 64
#: ... and so are nets whose :func:`proof_cost` is above this. The symbolic proof differentiates an
#: error that nests one activation per layer; measured on 2 cores: cost 45 (2-2-2-2-1) 1 s,
#: 178 (3-4-4-2) 5 s, 266 (2-3-3-3-2) 11 s, 806 (2-3-3-3-3-2) 62 s.
PROOF_COST_ABOVE = 200
#: ... and so are nets with more weight layers than this, however narrow: the written-out error nests
#: one activation per layer, and for a chain of single units (1-1-...-1, which the path count above
#: calls cheap) the symbolic proof and the printed expansions grow with the depth: measured on 2 cores,
#: 12 layers 7 s, 16 layers 18 s, 32 layers about a minute; per layer, 16 layers take 2 s.
DEPTH_ABOVE = 8
#: Width of the proxy's input and hidden layers (its output layer keeps its size:
#: the loss's scale factor and the softmax sum depend on it).
PROXY_WIDTH = 2


def per_layer(spec: NetworkSpec) -> bool:
    """Whether ``spec`` is derived per layer and proved at random points rather than unit by unit and symbolically."""
    return spec.n_parameters > LAZY_ABOVE or proof_cost(spec) > PROOF_COST_ABOVE or spec.n_layers > DEPTH_ABOVE


def proof_cost(spec: NetworkSpec) -> int:
    """How much work the symbolic proof is: each layer's parameters times the paths from the layer to the error.

    The derivative by a weight of layer l is a sum over every path through the
    layers above, so a layer costs its parameter count times the product of
    the widths above it. A softmax output couples all outputs, which
    multiplies every path by the number of outputs.

    >>> from derive.spec import make_spec
    >>> proof_cost(make_spec("2-3-2")), proof_cost(make_spec("2-3-3-3-3-2"))
    (26, 806)
    """
    sizes, bias = spec.sizes, int(spec.bias)
    cost = sum(sizes[l] * (sizes[l - 1] + bias) * math.prod(sizes[l + 1 :]) for l in range(1, len(sizes)))
    coupled = spec.activations[-1] == "softmax"  # every output depends on every output pre-activation
    return cost * sizes[-1] if coupled else cost


def work(spec: NetworkSpec, per_layer: bool) -> int:
    """The units of work :func:`derive` reports, counted in units (neurons).

    Unit by unit: every unit's activation and Jacobian are built, each output
    unit's δ is simplified once and generalized twice (dE/dy and δ), and each
    unit's parameters are differentiated. Per layer: the same except the
    parameters, plus all of it for the proxy net.
    """
    n_out, units = spec.sizes[-1], sum(spec.sizes[1:])
    if not per_layer:
        return 3 * n_out + 2 * units
    return 3 * n_out + units + work(replace(spec, sizes=proxy_sizes(spec.sizes)), False)


def proxy_sizes(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Narrow input and hidden layers, the same output layer.

    >>> proxy_sizes((784, 128, 64, 10))
    (2, 2, 2, 10)
    """
    return tuple(min(n, PROXY_WIDTH) for n in sizes[:-1]) + (sizes[-1],)
