"""backprop-derive: derive, prove and emit backpropagation for a named network.

Public API::

    from derive import make_spec, derive, verify
    d = verify(derive(make_spec("2-3-2")))
"""

from derive.core.model import Derivation, Equation, Layer, Parameter, Proof
from derive.core.symbolic import derive
from derive.prove.symbolic import VerificationError, verify
from derive.spec import NetworkSpec, SpecError, make_spec, parse_arch

__all__ = [
    "Derivation",
    "Equation",
    "Layer",
    "NetworkSpec",
    "Parameter",
    "Proof",
    "SpecError",
    "VerificationError",
    "derive",
    "make_spec",
    "parse_arch",
    "verify",
]
