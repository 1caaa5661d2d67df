"""Where the Jinja templates live, in a source checkout and in an installed wheel.

The templates are kept at the top of the repository (``templates/``) and
shipped inside the wheel as ``derive/templates/`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def directory(*parts: str) -> Path:
    """The template folder ``parts`` below the templates root, installed or checked out."""
    for root in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if root.is_dir():
            return root.joinpath(*parts)
    raise FileNotFoundError(f"no templates/ folder beside or inside {_PACKAGE}")
