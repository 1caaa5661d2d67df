"""Import a generated trainer from its file under a module name of your choice.

Every build writes a module called ``trainer.py``; a plain ``import trainer`` can
hold only one of them. :func:`load_trainer` imports each file under its own
name, so two networks live side by side in one process:

    from derive import load_trainer
    small = load_trainer("generated/2-3-2/trainer.py", "small")
    digits = load_trainer("generated/64-32-10-tanh-softmax-ce/trainer.py", "digits")
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType


def default_name(path: Path) -> str:
    """``trainer_`` and the name of the build directory, as an identifier.

    >>> default_name(Path("generated/2-3-2-tanh-softmax-ce/trainer.py"))
    'trainer_2_3_2_tanh_softmax_ce'
    """
    stem = path.parent.name if path.stem == "trainer" and path.parent.name else path.stem
    return "trainer_" + re.sub(r"\W", "_", stem)


def load_trainer(path: str | Path, name: str | None = None) -> ModuleType:
    """Import the trainer at ``path`` as module ``name`` and register it in ``sys.modules``.

    Args:
        path: a ``trainer.py`` written by ``backprop-derive build``.
        name: the module name (default: from the build directory, see :func:`default_name`).
    Returns:
        The module; loading the same file under the same name again returns a fresh import.
    Raises:
        ValueError: the file is missing, the name is not an identifier, or the name
            already belongs to another module.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no trainer at {path}")
    name = default_name(path.resolve()) if name is None else name
    if not name.isidentifier():
        raise ValueError(f"module name {name!r} is not a Python identifier")
    old = sys.modules.get(name)
    if old is not None and Path(getattr(old, "__file__", "") or "").resolve() != path.resolve():
        raise ValueError(f"module name {name!r} is taken by {getattr(old, '__file__', None) or 'a built-in module'}")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
