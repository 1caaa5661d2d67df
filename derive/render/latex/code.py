"""The document's section on the trainer's code: which lines compute each rule, ready for ``lstlisting``."""

from __future__ import annotations

from derive.core.model import Derivation
from derive.render import code

#: the one string that would end a listing early
_END = "\\end{lstlisting}"


def listing_safe(line: str) -> str:
    r"""A line as it may stand inside ``lstlisting``: printable ASCII that cannot end the listing.

    Inside a listing TeX reads no command except the one that ends it, so such a line prints as itself.

    >>> listing_safe('E = np.sum(T)  # eq. (5)')
    'E = np.sum(T)  # eq. (5)'
    >>> listing_safe("s = '\\end{lstlisting}'")
    Traceback (most recent call last):
    ...
    ValueError: a trainer line cannot be shown verbatim: "s = '\\end{lstlisting}'"
    """
    if _END in line or not all(" " <= ch <= "~" for ch in line):
        raise ValueError(f"a trainer line cannot be shown verbatim: {line!r}")
    return line


def section(d: Derivation, trainer: str) -> dict:
    """:func:`derive.render.code.section`, every shown line checked by :func:`listing_safe`."""
    values = code.section(d, trainer)
    for rule in values["rules"]:
        for entry in rule["entries"]:
            entry["blocks"] = [[listing_safe(line) for line in block] for block in entry["blocks"]]
    return values
