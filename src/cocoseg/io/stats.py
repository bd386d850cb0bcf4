"""Dataset statistics: counts, per-category instances, mask kinds, COCO size classes."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cocoseg.io.dataset import CocoDataset

SMALL_MAX, MEDIUM_MAX = 32**2, 96**2  # COCO's area ranges


@dataclass
class DatasetStats:
    """What `cocoseg stats` prints."""

    images: int
    annotations: int
    categories: int
    images_without_annotations: int
    crowd: int
    polygons: int
    multi_part_polygons: int
    rle: int
    boxes_only: int
    with_keypoints: int
    small: int
    medium: int
    large: int
    per_image_min: int
    per_image_mean: float
    per_image_max: int
    per_category: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    def format(self) -> str:
        """A human-readable report."""
        lines = [
            f"images       {self.images} ({self.images_without_annotations} without annotations)",
            f"annotations  {self.annotations} ({self.crowd} crowd; per image min {self.per_image_min}, "
            f"mean {self.per_image_mean:.2f}, max {self.per_image_max})",
            f"categories   {self.categories}",
            f"masks        {self.polygons} polygons ({self.multi_part_polygons} multi-part), {self.rle} RLE, "
            f"{self.boxes_only} box only",
            f"keypoints    {self.with_keypoints} annotations with labelled keypoints",
            f"sizes        small {self.small}, medium {self.medium}, large {self.large} (COCO area ranges)",
            "per category:",
        ]
        width = max((len(n) for n in self.per_category), default=4)
        lines += [f"  {name:<{width}}  {count}" for name, count in self.per_category.items()]
        return "\n".join(lines)


def dataset_stats(ds: CocoDataset) -> DatasetStats:
    """Statistics of a dataset (areas from each annotation's `area` field, as COCOeval uses them)."""
    anns = ds.annotations
    areas = np.array([a.get("area", 0.0) for a in anns], dtype=np.float64)
    segs = [a.get("segmentation") for a in anns]
    polys = [s for s in segs if isinstance(s, list) and s]
    per_image = Counter(a["image_id"] for a in anns)
    counts = np.array([per_image.get(i, 0) for i in ds.image_ids], dtype=np.int64)
    names = {c["id"]: c["name"] for c in ds.categories}
    per_cat = Counter(a["category_id"] for a in anns)
    return DatasetStats(
        images=len(ds.images),
        annotations=len(anns),
        categories=len(ds.categories),
        images_without_annotations=int((counts == 0).sum()),
        crowd=sum(1 for a in anns if a.get("iscrowd", 0)),
        polygons=len(polys),
        multi_part_polygons=sum(1 for p in polys if len(p) > 1),
        rle=sum(1 for s in segs if isinstance(s, dict)),
        boxes_only=sum(1 for s in segs if not s),
        with_keypoints=sum(1 for a in anns if isinstance(a.get("num_keypoints"), (int, float)) and a["num_keypoints"] > 0),
        small=int((areas < SMALL_MAX).sum()),
        medium=int(((areas >= SMALL_MAX) & (areas < MEDIUM_MAX)).sum()),
        large=int((areas >= MEDIUM_MAX).sum()),
        per_image_min=int(counts.min()) if len(counts) else 0,
        per_image_mean=float(counts.mean()) if len(counts) else 0.0,
        per_image_max=int(counts.max()) if len(counts) else 0,
        per_category={names[cid]: per_cat.get(cid, 0) for cid in sorted(names)},
    )
