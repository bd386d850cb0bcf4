"""Prediction results in numpy: per-image boxes, scores, classes and box-local masks, with COCO export.

Masks are stored as crops inside their boxes (an image with 300 detections does not hold 300 full-size
bitmaps); full bitmaps, RLE and polygons are produced on request.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cocoseg.masks import bitmap_to_polygons, crop_to_rle
from cocoseg.predictions.coco_names import COCO80_NAMES, COCO80_TO_91


class InstanceMasks:
    """N instance masks of one (height x width) image, each a bool crop placed at (x0, y0)."""

    def __init__(self, height: int, width: int, crops: Sequence[tuple[int, int, np.ndarray]] = ()) -> None:
        self.height, self.width = int(height), int(width)
        self.crops = [(int(x0), int(y0), np.asarray(m, dtype=bool)) for x0, y0, m in crops]

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, i: int) -> np.ndarray:
        """The full-size bitmap (height, width) bool of instance `i`."""
        out = np.zeros((self.height, self.width), dtype=bool)
        x0, y0, m = self.crops[i]
        out[y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]] = m
        return out

    def bitmaps(self) -> np.ndarray:
        """All masks as one (N, height, width) bool array (N * H * W bytes)."""
        out = np.zeros((len(self), self.height, self.width), dtype=bool)
        for i, (x0, y0, m) in enumerate(self.crops):
            out[i, y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]] = m
        return out

    def areas(self) -> np.ndarray:
        """(N,) pixel counts."""
        return np.array([int(m.sum()) for _, _, m in self.crops], dtype=np.int64)

    def rle(self) -> list[dict]:
        """COCO compressed RLEs (str counts), identical to `cocoseg.masks.encode` of the full bitmaps."""
        return [crop_to_rle(x0, y0, m, self.height, self.width) for x0, y0, m in self.crops]

    def polygons(self) -> list[list[list[float]]]:
        """COCO polygons per instance (list of flat [x1, y1, ...] parts), in image pixel coordinates."""
        out = []
        for x0, y0, m in self.crops:
            parts = bitmap_to_polygons(m) if m.any() else []
            out.append([[v + (x0 if k % 2 == 0 else y0) for k, v in enumerate(p)] for p in parts])
        return out


def default_category_ids(names: Mapping[int, str]) -> dict[int, int]:
    """Label -> COCO category_id: the COCO ids for the 80 COCO names, else label + 1."""
    if len(names) == 80 and tuple(names[i] for i in range(80)) == COCO80_NAMES:
        return dict(enumerate(COCO80_TO_91))
    return {int(k): int(k) + 1 for k in names}


@dataclass
class Result:
    """One image's predictions. Boxes are xyxy in original-image pixels; classes are contiguous labels."""

    path: str
    image_shape: tuple[int, int]
    boxes_xyxy: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    names: Mapping[int, str]
    masks: InstanceMasks | None = None
    frame: int | None = None
    speed: dict[str, float] = field(default_factory=dict)
    image: np.ndarray | None = field(default=None, repr=False)  # the original BGR image, when kept

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def summary(self) -> str:
        """'2 person, 1 dog' (or 'no detections')."""
        counts = Counter(int(c) for c in self.classes)
        return ", ".join(f"{n} {self.names.get(c, c)}" for c, n in sorted(counts.items())) or "no detections"

    def to_coco(
        self, image_id: int, category_ids: Mapping[int, int] | Sequence[int] | None = None, mask_format: str = "rle"
    ) -> list[dict]:
        """COCO results records: image_id, category_id, bbox [x, y, w, h], score, segmentation.

        `category_ids` maps labels to COCO category ids (default: `default_category_ids(names)`);
        `mask_format` is 'rle' (compressed, str counts), 'polygon' or 'none'.
        """
        ids = default_category_ids(self.names) if category_ids is None else category_ids
        ids = dict(enumerate(ids)) if not isinstance(ids, Mapping) else ids
        segs = self._segmentations(mask_format)
        out = []
        for i, (box, score, label) in enumerate(zip(self.boxes_xyxy.tolist(), self.scores.tolist(), self.classes.tolist())):
            record = {
                "image_id": int(image_id), "category_id": int(ids[int(label)]),
                "bbox": [round(box[0], 3), round(box[1], 3), round(box[2] - box[0], 3), round(box[3] - box[1], 3)],
                "score": round(float(score), 5),
            }
            if segs is not None:
                record["segmentation"] = segs[i]
            out.append(record)
        return out

    def _segmentations(self, mask_format: str) -> list | None:
        if mask_format not in ("rle", "polygon", "none"):
            raise ValueError(f"mask_format must be 'rle', 'polygon' or 'none', got {mask_format!r}")
        if self.masks is None or mask_format == "none":
            return None
        return self.masks.rle() if mask_format == "rle" else self.masks.polygons()

    def draw(self, image: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """The original image (`image`, or the kept one) with masks, boxes and labels drawn (new array)."""
        from cocoseg.viz import draw_instances

        image = self.image if image is None else image
        if image is None:
            raise ValueError("no image: pass the original image or predict with keep_images=True")
        return draw_instances(image, self.boxes_xyxy, self.masks, self.classes, self.scores, self.names, **kwargs)


def coco_categories(names: Mapping[int, str], category_ids: Mapping[int, int]) -> list[dict]:
    """COCO category records for a model's labels."""
    return [{"id": int(category_ids[k]), "name": str(v), "supercategory": ""} for k, v in sorted(names.items())]


def coco_dataset(
    results: Sequence[Result],
    file_names: Sequence[str],
    image_ids: Sequence[int],
    category_ids: Mapping[int, int],
    mask_format: str = "polygon",
) -> dict:
    """A full COCO dataset (images, annotations with `score`, categories) of pre-labels for annotation tools."""
    if not results:
        names: Mapping[int, str] = {}
    else:
        names = results[0].names
    images, annotations = [], []
    for result, file_name, image_id in zip(results, file_names, image_ids):
        h, w = result.image_shape
        images.append({"id": int(image_id), "file_name": file_name, "width": int(w), "height": int(h)})
        areas = result.masks.areas() if result.masks is not None else None
        for k, record in enumerate(result.to_coco(image_id, category_ids, mask_format)):
            x, y, bw, bh = record["bbox"]
            record.update(id=len(annotations) + 1, iscrowd=0,
                          area=float(areas[k]) if areas is not None else round(bw * bh, 3))
            if not record.get("segmentation") or record["area"] == 0:  # no mask pixels: the box as the label
                record["segmentation"] = [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]]
                record["area"] = round(bw * bh, 3)
            annotations.append(record)
    return {"images": images, "annotations": annotations, "categories": coco_categories(names, category_ids)}
