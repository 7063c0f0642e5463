"""Modules loaded on first use, not when named (:class:`importlib.util.LazyLoader`).

The REST clients name the API's schema modules when they are imported, but only need them once
an answer has arrived: loading those pydantic models (and the ring modules they refer to) costs
a client command more than its whole request, and it need not wait for them before sending it.
A module imported already is returned as it is.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, executed when one of its attributes is first read."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec(name)  # imports the parent packages, not the module
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)  # as an ordinary import would
    return module
