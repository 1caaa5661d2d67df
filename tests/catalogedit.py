"""Wrong variants of a catalog algorithm, made by editing its own steps (shared by the diff test modules)."""

from __future__ import annotations

import re
from pathlib import Path


def edited_catalog(catalog_file: Path, tmp_path: Path, pattern: str, replacement: str, text: str | None = None) -> str:
    """The catalog file with its steps edited by one regular expression, as a user's forms file.

    ``text``: the file's text to edit instead of the catalog's own (an earlier edit of it).
    """
    text = text or catalog_file.read_text(encoding="utf-8")
    steps_at = text.index("steps = [")
    edited, count = re.subn(pattern, replacement, text[steps_at:])
    assert count >= 4, f"the edit {pattern!r} matched {count} steps"
    path = tmp_path / "variant.toml"
    path.write_text(text[:steps_at] + edited, encoding="utf-8")
    return str(path)


def only(records: list[dict]) -> dict:
    """The one record of a list that must hold exactly one."""
    assert len(records) == 1
    return records[0]
