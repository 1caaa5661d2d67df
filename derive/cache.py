"""A per-user cache folder for work that warm builds can reuse (compiled templates, TeX formats).

The cache only ever holds files this program wrote; outputs never depend on it:
a build with an empty, unwritable or disabled cache writes the same bytes, only
slower. ``BACKPROP_DERIVE_CACHE`` names the folder (an empty value turns the
cache off); otherwise ``$XDG_CACHE_HOME/backprop-derive`` or
``~/.cache/backprop-derive``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "BACKPROP_DERIVE_CACHE"


def folder(*parts: str) -> Path | None:
    """The cache folder ``parts`` (created), or None when the cache is off or cannot be made."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        if not chosen:
            return None
        root = Path(chosen)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = Path(base) / "backprop-derive"
    path = root.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None
