"""Render derivation.html from a verified Derivation (Jinja templates in templates/html/).

One self-contained file: the maths as presentation MathML, the picture as inline
SVG, the style sheet inline; no scripts and no address outside the page, so it
reads offline and its bytes depend only on the Derivation and the notation.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2
from markupsafe import Markup

from derive.core.model import Derivation
from derive.render import code, templates
from derive.render import example as example_mod
from derive.render.html.context import context

TEMPLATES = templates.directory("html")

#: The page's sections in the PDF's order: anchor, title, template (the notes on notation share the last);
#: ``{cost}`` in a title is the notation's word for the error function, ``{rules}`` the general section's title.
SECTIONS = [
    {"id": f"sec-{key}", "title": title, "template": f"{name}.html.j2"}
    for key, title, name in (
        ("network", "The network", "network"),
        ("forward", "The forward pass", "forward"),
        ("error", "The {cost} function", "error"),
        ("output", "Output-layer weights", "output"),
        ("hidden", "Hidden layers", "hidden"),
        ("biases", "Biases", "biases"),
        ("matrix", "Matrix form", "matrix"),
        ("general", "{rules}", "general"),
        ("why", "Why it works, and why it is cheap", "why"),
        ("algorithm", "The algorithm", "algorithm"),
        ("code", "The code beside the maths", "code"),
        ("gradients", "Every gradient", "gradients"),
        ("example", "A worked example", "example"),
        ("proofs", "How each formula was checked", "appendix"),
        ("notation", "Notation", "notation"),
    )
]


def inner(maths: str) -> Markup:
    """The content of an inline ``<math>`` element, to go inside another formula."""
    return Markup(str(maths).removeprefix("<math>").removesuffix("</math>"))


@functools.cache  # one per process; compiled templates are cached between runs too
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=templates.bytecode_cache(),
        autoescape=True,  # text goes in escaped; the MathML arrives as Markup from the printer
        trim_blocks=False,  # a newline after a tag is a space between words in HTML
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["inner"] = inner
    return env


def render(
    d: Derivation, notation: str = "bishop", example_path: Path | None = None, trainer: str | None = None
) -> str:
    """derivation.html for a verified Derivation.

    Args:
        d: the verified Derivation.
        notation: the symbol preset (:data:`derive.render.notations.NOTATIONS`).
        example_path: a worked-example JSON file (validated by :func:`derive.render.example.load`),
            or None for the seeded one (the same example as the PDF's).
        trainer: the text of the trainer.py built with the page, whose lines the section on the
            code shows beside the equations; None leaves that section out.
    Returns:
        The page, deterministic for the same inputs.
    """
    ex = example_mod.load(example_path, d.spec) if example_path else None
    values = context(d, notation, ex)
    values["code"] = code.section(d, trainer) if trainer is not None else None
    values["sections"] = [
        {**s, "title": s["title"].format(cost=values["cost"], rules=values["g"]["title"])}
        for s in SECTIONS
        if values["code"] or s["id"] != "sec-code"
    ]
    values["secno"] = {s["id"]: n for n, s in enumerate(values["sections"], 1)}
    return environment().get_template("page.html.j2").render(**values)
