"""Engine: device choice, checkpoints, prediction, export, training and validation loops.

Import the submodules directly (`cocoseg.engine.predictor`, `cocoseg.engine.checkpoints`, ...):
this package imports nothing eagerly so that importing one piece does not load the others.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> submodule; resolved on first access so importing the package stays cheap
_LAZY = {
    "Trainer": "trainer", "TrainConfig": "config", "validate_model": "validator", "Predictor": "predictor",
    "predict": "predictor", "export_onnx": "export", "save_checkpoint": "checkpoints",
    "load_checkpoint": "checkpoints",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"cocoseg.engine.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'cocoseg.engine' has no attribute {name!r}")
