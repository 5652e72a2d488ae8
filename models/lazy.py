"""Package exports that import their module on first use (PEP 562 ``__getattr__``).

A package's ``__init__`` names its public surface in ``__all__``, but importing one light
module of it (``models.regime.state``, ``models.labels``) must not drag in the
heavy ones (scipy, torch) that other names need: the live service imports the light ones.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting ``name -> submodule`` lazily.

    The first access imports ``<package>.<submodule>`` and caches the name on the package,
    so later accesses are plain attribute reads.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
