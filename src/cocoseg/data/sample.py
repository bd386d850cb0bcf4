"""A training sample in flight through the augmentations: image plus instances as polygon parts."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from cocoseg.data.polygon_parts import transform_points
from cocoseg.masks.polygons import instance_box


@dataclass
class Sample:
    """Image (H, W, 3) uint8 BGR and its instances: labels (N,), crowd (N,) bool, parts per instance."""

    image: np.ndarray
    labels: np.ndarray
    crowd: np.ndarray
    polygons: list[list[np.ndarray]]
    image_id: int = -1
    orig_hw: tuple[int, int] = (0, 0)
    # letterbox bookkeeping: input pixel = original pixel * ratio + pad, per axis (x, y)
    ratio: tuple[float, float] = (1.0, 1.0)
    pad: tuple[float, float] = (0.0, 0.0)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def hw(self) -> tuple[int, int]:
        return int(self.image.shape[0]), int(self.image.shape[1])

    def __len__(self) -> int:
        return len(self.labels)

    def boxes_xyxy(self) -> np.ndarray:
        """(N, 4) float32 tight boxes of the polygons."""
        if not self.polygons:
            return np.zeros((0, 4), np.float32)
        return np.stack([instance_box(p) for p in self.polygons]).astype(np.float32)

    def select(self, keep: np.ndarray) -> Sample:
        """The sample with only the instances where `keep` (bool (N,)) is True."""
        idx = np.flatnonzero(keep)
        return replace(self, labels=self.labels[idx], crowd=self.crowd[idx],
                       polygons=[self.polygons[i] for i in idx.tolist()])


def map_polygons(polygons: list[list[np.ndarray]], matrix: np.ndarray) -> list[list[np.ndarray]]:
    """All parts through a 3x3 matrix, in one vectorised call."""
    parts = [p for inst in polygons for p in inst]
    if not parts:
        return [[] for _ in polygons]
    lengths = np.cumsum([len(p) for p in parts])[:-1]
    moved = np.split(transform_points(np.concatenate(parts), matrix), lengths)
    out, k = [], 0
    for inst in polygons:
        out.append(moved[k:k + len(inst)])
        k += len(inst)
    return out


def concat_samples(image: np.ndarray, samples: list[Sample]) -> Sample:
    """One sample on `image` holding the instances of all `samples` (first sample's metadata)."""
    first = samples[0]
    return replace(
        first, image=image,
        labels=np.concatenate([s.labels for s in samples]).astype(np.int64),
        crowd=np.concatenate([s.crowd for s in samples]).astype(bool),
        polygons=[p for s in samples for p in s.polygons],
    )


class Transform(Protocol):
    """An augmentation: `get_params(rng, sample)` draws, `apply(sample, params)` is deterministic."""

    def get_params(self, rng: np.random.Generator, sample: Sample) -> Any: ...

    def apply(self, sample: Sample, params: Any) -> Sample: ...


def run(transforms: list[Transform], sample: Sample, rng: np.random.Generator) -> Sample:
    """Apply transforms in order, each drawing its parameters from `rng`."""
    for t in transforms:
        sample = t.apply(sample, t.get_params(rng, sample))
    return sample
