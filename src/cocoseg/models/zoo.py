"""Model registry: a dict of tiny builder functions, one per published scale."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Callable, Optional, Union

from cocoseg.errors import CocosegError
from cocoseg.models.config import ModelConfig
from cocoseg.models.yolov8_seg import SegmentationModel

Names = Optional[Union[Mapping[int, str], Sequence[str]]]
Builder = Callable[[int, Names], SegmentationModel]

_REGISTRY: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator adding a builder under `name`; a duplicate name is an error."""

    def wrap(fn: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return wrap


def list_models() -> list[str]:
    """Registered model names, e.g. ['yolov8n-seg', ..., 'yolov8x-seg']."""
    return list(_REGISTRY)


def normalize_name(name: str) -> str:
    """'yolov8n-seg', 'yolov8n_seg', 'YOLOv8n-seg.yaml' -> 'yolov8n-seg'."""
    key = name.strip().lower().replace("_", "-")
    for suffix in (".yaml", ".yml"):
        key = key.removesuffix(suffix)
    return key


def build_model(name: str, num_classes: int = 80, names: Names = None) -> SegmentationModel:
    """A freshly initialised model from the registry, e.g. build_model('yolov8n-seg', num_classes=3)."""
    key = normalize_name(name)
    if key not in _REGISTRY:
        raise CocosegError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _REGISTRY[key](num_classes, names)


def _scale_builder(scale: str) -> Builder:
    def build(num_classes: int = 80, names: Names = None) -> SegmentationModel:
        return SegmentationModel(ModelConfig.for_scale(scale, num_classes), names)

    build.__doc__ = f"YOLOv8{scale}-seg."
    return build


for _scale in "nsmlx":
    register_model(f"yolov8{_scale}-seg")(_scale_builder(_scale))
