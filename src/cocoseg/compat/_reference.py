"""The real pycocotools modules, kept before `init_as_pycocotools` puts cocoseg's in their place."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

_saved: dict[str, ModuleType] = {}


def keep(name: str) -> None:
    """Import and remember the real module `name` (before it is replaced in sys.modules)."""
    if name not in _saved:
        module = importlib.import_module(name)
        if not getattr(module, "_cocoseg_compat", False):
            _saved[name] = module


def real(name: str) -> ModuleType:
    """The real pycocotools module `name`."""
    return _saved[name] if name in _saved else importlib.import_module(name)


def coco_class() -> Any:
    """pycocotools.coco.COCO itself (for the drawing and download helpers)."""
    return real("pycocotools.coco").COCO
