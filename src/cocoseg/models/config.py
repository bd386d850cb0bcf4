"""The YOLOv8-seg scales as data: (depth multiple, width multiple, channel cap) and the widths they give."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from cocoseg.errors import CocosegError

# scale -> (depth multiple, width multiple, channel cap), from the reference's yolov8-seg.yaml
SCALES: dict[str, tuple[float, float, int]] = {
    "n": (0.33, 0.25, 1024),
    "s": (0.33, 0.50, 1024),
    "m": (0.67, 0.75, 768),
    "l": (1.00, 1.00, 512),
    "x": (1.00, 1.25, 512),
}


def scale_width(channels: int, width: float, max_channels: int) -> int:
    """A nominal width scaled like the reference: min(c, cap) * width, rounded up to a multiple of 8."""
    return int(math.ceil(min(channels, max_channels) * width / 8) * 8)


def scale_depth(repeats: int, depth: float) -> int:
    """A nominal repeat count scaled like the reference: max(round(n * depth), 1) when n > 1."""
    return max(round(repeats * depth), 1) if repeats > 1 else repeats


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a YOLOv8-seg network (weights aside).

    `scale` names a row of SCALES; depth/width/max_channels are stored too so a checkpoint stays
    self-describing. `num_protos` is the nominal prototype width (256), scaled like other widths.
    """

    scale: str
    num_classes: int = 80
    depth: float = 0.33
    width: float = 0.25
    max_channels: int = 1024
    reg_max: int = 16
    num_masks: int = 32
    num_protos: int = 256
    strides: tuple[int, int, int] = field(default=(8, 16, 32))

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise CocosegError(f"model config: num_classes must be >= 1, got {self.num_classes}")

    @property
    def name(self) -> str:
        """The registry name, e.g. 'yolov8n-seg'."""
        return f"yolov8{self.scale}-seg"

    def ch(self, nominal: int) -> int:
        """Scaled width of a layer whose nominal width is `nominal`."""
        return scale_width(nominal, self.width, self.max_channels)

    def n(self, nominal: int) -> int:
        """Scaled repeat count of a block whose nominal repeat count is `nominal`."""
        return scale_depth(nominal, self.depth)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (numbers, strings, lists) for checkpoints and JSON."""
        out = asdict(self)
        out["strides"] = list(self.strides)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys are an error naming the key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise CocosegError(f"model config: unknown keys {unknown} (known: {sorted(known)})")
        values = dict(data)
        if "strides" in values:
            values["strides"] = tuple(int(s) for s in values["strides"])
        return cls(**values)

    @classmethod
    def for_scale(cls, scale: str, num_classes: int = 80) -> ModelConfig:
        """The config of one of the five published scales."""
        if scale not in SCALES:
            raise CocosegError(f"unknown YOLOv8-seg scale {scale!r}; expected one of {sorted(SCALES)}")
        depth, width, cap = SCALES[scale]
        return cls(scale=scale, num_classes=num_classes, depth=depth, width=width, max_channels=cap)
