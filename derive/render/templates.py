"""Where the Jinja templates live, in a source checkout and in an installed wheel, and their compiled cache.

The templates are kept at the top of the repository (``templates/``) and
shipped inside the wheel as ``derive/templates/`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import jinja2.bccache

from derive import cache

_PACKAGE = Path(__file__).resolve().parents[1]


def directory(*parts: str) -> Path:
    """The template folder ``parts`` below the templates root, installed or checked out."""
    for root in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if root.is_dir():
            return root.joinpath(*parts)
    raise FileNotFoundError(f"no templates/ folder beside or inside {_PACKAGE}")


#: The Environment settings that change the code a template compiles to.
_COMPILE_SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "autoescape",
    "optimized",
    "is_async",
)


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs; a cache that cannot be written is only a slower build.

    An entry is keyed by the template's file, its source (Jinja's checksum) and the settings of
    the Environment that compiled it, so a changed delimiter or whitespace option never reuses it.
    """

    def get_bucket(self, environment, name, filename, source):  # noqa: ANN001, ANN201 - Jinja's signature
        settings = [repr(getattr(environment, k, None)) for k in _COMPILE_SETTINGS]
        settings += sorted(environment.extensions)
        keyed = f"{filename}|{jinja2.__version__}|{'|'.join(settings)}"
        return super().get_bucket(environment, name, keyed, source)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's cache of compiled templates in :func:`derive.cache.folder` ``("jinja")``, or None when it is off.

    A cached template is used only while its source is unchanged (Jinja compares a checksum), so
    the rendered text never depends on the cache.
    """
    where = cache.folder("jinja")
    return _QuietBytecodeCache(str(where)) if where is not None else None
