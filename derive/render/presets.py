"""The notation presets of the document, as data: each is the keyword arguments of a
:class:`derive.render.notations.Notation`.

Most presets write every role the same way: a letter, a layer superscript on
the roles that have a layer, the unit as subscript, and the vector as the
letter in a bold font. :func:`preset` fills those tables from a preset's
letters, so a preset states only its letters and what does not follow the rule.
A preset's ``term``, ``terms`` and ``a_term`` are what its prose calls δ.
"""

from __future__ import annotations

import re

#: The letter of every role (the keys are :data:`derive.core.naming.ROLES`, in that order).
LETTERS = {"x": "x", "a": "a", "z": "z", "y": "y", "t": "t", "w": "w", "b": "b", "delta": r"\delta"}
#: The roles that carry a layer superscript.
LAYERED = ("a", "z", "w", "b", "delta")
#: The layer superscript most presets write: a^{(l)}.
PAREN = "^{(%(l)s)}"

_GREEK = re.compile(r"\\[a-z]+")


def preset(
    key: str,
    title: str,
    letters: dict[str, str] | None = None,
    sup: str = PAREN,
    font: str = r"\mathbf",
    patterns: dict[str, str] | None = None,
    vectors: dict[str, str] | None = None,
    **options: object,
) -> dict[str, object]:
    r"""The fields of one notation, its tables filled from its letters.

    Role r is written ``letter + sup + _{j}`` (a weight ``_{ji}``), its vector
    ``font{letter} + sup``, with ``sup`` only on the roles in :data:`LAYERED`;
    the weight matrix takes the capital letter, and a Greek letter is bold in
    ``\boldsymbol`` (``\mathbf`` cannot bold it). ``patterns`` and ``vectors``
    replace the entries that do not follow this rule; ``options`` are the
    other fields of the notation, unchanged.
    """
    names = {**LETTERS, **(letters or {})}
    table, vecs = {}, {}
    for role, letter in names.items():
        s = sup if role in LAYERED else ""
        table[role] = letter + s + ("_{%(ji)s}" if role == "w" else "_{%(j)s}")
        v = letter.upper() if role == "w" else letter
        bold = r"\boldsymbol" if font == r"\mathbf" and _GREEK.fullmatch(v) else font
        vecs[role] = (f"{bold}{{{v}}}" if bold else v) + s
    return {
        "key": key,
        "title": title,
        "letters": names,
        "patterns": {**table, **(patterns or {})},
        "vectors": {**vecs, **(vectors or {})},
        **options,
    }


BISHOP = preset(
    "bishop",
    "Bishop, Pattern Recognition and Machine Learning, section 5.3",
    citation="C. M. Bishop (2006), section 5.3",
    short="Bishop",
)

NIELSEN = preset(
    "nielsen",
    "Nielsen, Neural Networks and Deep Learning, chapter 2",
    letters={"a": "z", "z": "a", "y": "a", "t": "y"},
    sup="^{%(l)s}",
    font="",
    patterns={"y": "a^{%(L)s}_{%(j)s}"},
    vectors={"y": "a^{%(L)s}", "w": "w^{%(l)s}"},
    error="C",
    activation=r"\sigma",
    index_letters="kjmnpqrs",
    generic_letters="kjk",
    # his input layer is layer 1, so his first weights are w^2; his w^l_{jk} runs from unit k of layer l-1 to unit j
    layer_offset=1,
    relative_indices=True,
    citation="M. Nielsen (2015), chapter 2",
    # his words: the error δ of a neuron, the weighted input z, the cost C, the quadratic cost
    term="error",
    terms="errors",
    a_term="an error",
    cost="cost",
    pre="weighted input",
    loss_names={
        "sse": "quadratic cost",
        "mse": "mean quadratic cost",
        "ce": "cross-entropy cost",
        "bce": "cross-entropy cost",
    },
    short="Nielsen",
    note=r"Nielsen's cost $C$ is averaged over a mini-batch of $m$ samples, so his update divides by $m$.",
)

GOODFELLOW = preset(
    "goodfellow",
    "Goodfellow, Bengio and Courville, Deep Learning, algorithms 6.3 and 6.4",
    letters={"z": "h", "y": r"\hat{y}", "t": "y", "w": "W", "delta": "g"},
    font=r"\boldsymbol",
    vectors={"y": r"\hat{\boldsymbol{y}}"},
    error="L",
    rate=r"\epsilon",
    activation="f",
    citation="I. Goodfellow, Y. Bengio, A. Courville (2016), section 6.5",
    signal="in Goodfellow et al., the gradient on the unit's pre-activation",
    # the book has no name for g but "the gradient" (on the pre-nonlinearity activation, algorithm 6.4)
    term="pre-activation gradient",
    terms="pre-activation gradients",
    a_term="a pre-activation gradient",
    cost="loss",
    loss_names={"sse": "sum-of-squares loss", "ce": "cross-entropy loss", "bce": "binary cross-entropy loss"},
    short="Goodfellow et al.",
    # Adam as the book writes it (algorithm 8.7): moments s and r, decay rates ρ1 and ρ2, constant δ
    adam={"m": "s", "v": "r", "beta1": r"\rho_{1}", "beta2": r"\rho_{2}", "epsilon": r"\delta"},
    note=r"Goodfellow's $\boldsymbol{a}$ is the pre-activation (Nielsen's $a$ is the activation); "
    r"$g^{(k)}_j$ here is $\partial L/\partial a^{(k)}_j$, the running gradient $\boldsymbol{g}$ of algorithm 6.4 "
    r"just after it has been multiplied by $f'(\boldsymbol{a}^{(k)})$.",
)

SEED000 = preset(
    "seed000",
    "seed 000, Derivation of Backpropagation (net, a, w_kj, w_ji)",
    source="the lecture notes “Derivation of Backpropagation”",
    short="the notes",
    letters={"a": r"\mathrm{net}", "z": "a", "y": "a"},
    patterns={"y": "a^{(%(L)s)}_{%(j)s}"},
    vectors={"a": r"\mathbf{net}^{(%(l)s)}", "y": r"\mathbf{a}^{(%(L)s)}"},
    rate=r"\varepsilon",
    activation="f",
    note=r"These notes write their output error as $(t - a)$, so their $\delta$ is $-\partial E/\partial \mathrm{net}$ "
    r"and their update $\Delta w = \varepsilon\,\delta\,a$ adds; here $\delta = +\partial E/\partial \mathrm{net}$ "
    r"and the update subtracts. The notes tell layers apart by the index letter alone; here a layer superscript does.",
)

SEED003 = preset(
    "seed003",
    "seed 003, Van Veen's slides (x, h, d-hat, w, v)",
    source="the lecture slides “The Backpropagation Algorithm for Training Neural Networks”",
    short="the slides",
    # the seed names no pre-activation: s hidden, r output
    letters={"a": "s", "z": "h", "y": r"\hat{d}", "t": "d", "delta": r"\gamma"},
    sup="%(sup)s",
    patterns={"w": "w%(sup)s_{%(j)s,%(i)s}"},
    vectors={"y": r"\hat{\mathbf{d}}"},
    top={
        "a": "r_{%(j)s}",
        "w": "v_{%(j)s,%(i)s}",
        "b": "c_{%(j)s}",
        "delta": r"\delta_{%(j)s}",
        "vec:w": r"\mathbf{V}",
        "vec:b": r"\mathbf{c}",
        "vec:delta": r"\boldsymbol{\delta}",
        "vec:a": r"\mathbf{r}",
    },
    error="f",
    rate=r"\alpha",
    activation=r"\sigma",
    index_letters="jmkpqrsu",
    # v is a weight here, m and u unit indices: Adam's moments take Greek letters
    adam={"m": r"\mu", "v": r"\nu"},
    note=r"The slides have no symbol for a pre-activation ($s$ and $r$ here) and no biases ($b$, $c$ here); "
    r"their hidden $\gamma$ is written with the already-updated weights $v^{t+1}$, which is wrong (section on the "
    r"algorithm), and their $\sigma'(z) = 1/(1+e^{-z})^2$ is wrong: $\sigma'(z) = e^{-z}/(1+e^{-z})^2$.",
)

SEED004 = preset(
    "seed004",
    "seed 004, A Peek into the Mathematics of Optimization (row vectors, w_ij, u_ij)",
    source="the lecture slides “Backpropagation: A Peek into the Mathematics of Optimization”",
    short="the slides",
    letters={"z": "h"},
    # the hidden activations and weights carry a superscript only when there are several hidden layers
    patterns={"z": "h%(sup)s_{%(j)s}", "w": "w%(sup)s_{%(ji)s}"},
    vectors={"z": r"\mathbf{h}%(sup)s", "w": r"\mathbf{W}%(sup)s"},
    top={"w": "u_{%(ji)s}", "vec:w": r"\mathbf{U}"},
    error="L",
    activation=r"\sigma",
    weight_order="ij",
    note=r"The slides index a weight from its source: $w_{ij}$ runs from unit $i$ to unit $j$, and write "
    r"layers as row vectors, $a^{(1)} = x w + b^{(1)}$. Their matrix is the transpose of the one used here.",
)

#: Every preset, in the order the document lists them.
PRESETS = (BISHOP, NIELSEN, GOODFELLOW, SEED000, SEED003, SEED004)
