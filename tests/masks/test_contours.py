"""bitmap_to_polygons: pycocotools rasterizes the polygons back to the exact bitmap (parts and holes kept)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

from cocoseg import masks
from cocoseg.masks.contours import _segment_crossings, bitmap_to_polygons, bridge_polygons


def _raster(parts: list[list[float]], h: int, w: int) -> np.ndarray:
    """pycocotools' annToMask for polygon parts (frPyObjects + merge)."""
    if not parts:
        return np.zeros((h, w), np.uint8)
    return coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(parts, h, w)))


def _cv2_fill(parts: list[list[float]], h: int, w: int) -> np.ndarray:
    """cv2.fillPoly with COCO coordinates moved to cv2's pixel-centre convention (-0.5)."""
    out = np.zeros((h, w), np.uint8)
    pts = [np.round((np.asarray(p).reshape(-1, 2) - 0.5) * 16).astype(np.int32) for p in parts]
    cv2.fillPoly(out, pts, 1, shift=4)
    return out


@pytest.mark.parametrize("tolerance", [0.0, 0.45])
def test_random_masks_rasterize_back_exactly(tolerance: float) -> None:
    rng = np.random.default_rng(0)
    for _ in range(400):
        h, w = (int(v) for v in rng.integers(1, 14, 2))
        mask = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        parts = bitmap_to_polygons(mask, tolerance=tolerance)
        assert all(len(p) >= 6 and len(p) % 2 == 0 for p in parts)
        np.testing.assert_array_equal(_raster(parts, h, w), mask)


def test_empty_and_degenerate_inputs() -> None:
    assert bitmap_to_polygons(np.zeros((5, 7), np.uint8)) == []
    assert bitmap_to_polygons(np.zeros((0, 0), np.uint8)) == []
    one = np.zeros((3, 3), bool)
    one[1, 1] = True
    parts = bitmap_to_polygons(one)
    assert len(parts) == 1 and len(parts[0]) == 8  # the crack midpoints of one pixel: a diamond
    np.testing.assert_array_equal(_raster(parts, 3, 3), one)
    with pytest.raises(ValueError):
        bitmap_to_polygons(np.zeros((2, 2, 2)))


def test_multi_part_keeps_every_part_and_diagonal_touch_is_one_part() -> None:
    mask = np.zeros((12, 16), np.uint8)
    mask[1:4, 1:4] = 1
    mask[6:10, 8:14] = 1
    mask[4, 4] = 1  # touches the first square only at a corner: 8-connected, same part
    parts = bitmap_to_polygons(mask)
    assert len(parts) == 2
    np.testing.assert_array_equal(_raster(parts, 12, 16), mask)


def test_hole_is_bridged_into_its_outer_ring_for_pycocotools_and_cv2() -> None:
    mask = np.zeros((20, 24), np.uint8)
    mask[2:18, 2:20] = 1
    mask[6:12, 6:14] = 0  # a hole
    mask[14:16, 4:6] = 0  # a second hole
    parts = bitmap_to_polygons(mask)
    assert len(parts) == 1  # one ring: outer boundary with both holes cut in
    np.testing.assert_array_equal(_raster(parts, 20, 24), mask)
    filled = _cv2_fill(parts, 20, 24)
    assert filled[7:11, 7:13].sum() == 0  # cv2's fill keeps the hole's inside empty too
    assert filled[mask == 1].all()  # and covers the object (cv2 also paints boundary pixels)


def test_bridged_single_ring_equals_union_of_disjoint_parts() -> None:
    mask = np.zeros((30, 30), np.uint8)
    mask[2:10, 2:10] = 1
    mask[4:7, 4:7] = 0
    mask[15:25, 12:28] = 1
    mask[20:22, 1:5] = 1
    parts = bitmap_to_polygons(mask)
    assert len(parts) == 3
    ring = bridge_polygons(parts)
    np.testing.assert_array_equal(_raster([ring], 30, 30), mask)
    assert bridge_polygons([]) == []


def test_segment_crossings_match_pycocotools() -> None:
    """The emulated run toggles of single triangles give pycocotools' own mask."""
    rng = np.random.default_rng(1)
    h, w = 9, 11
    for _ in range(300):
        pts = rng.integers(0, 5 * 10, (3, 2))
        xy = (pts / 5.0).reshape(-1)
        scaled = [(int(5.0 * x + .5), int(5.0 * y + .5)) for x, y in xy.reshape(-1, 2)]
        toggles: list[int] = []
        for k in range(3):
            toggles += _segment_crossings(*scaled[k], *scaled[(k + 1) % 3], h, w)
        flat = np.zeros(h * w + 1, np.int64)
        np.add.at(flat, np.asarray(toggles, dtype=np.int64), 1)
        expected = (np.cumsum(flat[:-1] % 2) % 2).reshape(w, h).T
        got = coco_mask.decode(coco_mask.frPyObjects([xy.tolist()], h, w))[..., 0]
        np.testing.assert_array_equal(got, expected)


def test_real_coco_masks_round_trip_exactly(shared: Path) -> None:
    """Every coco128 annotation (polygons, multi-part, crowd RLE): polygons of its mask give IoU 1."""
    root = shared / "data" / "coco128-seg"
    data = json.loads((root / "annotations" / "instances_train2017.json").read_text())
    images = {im["id"]: im for im in data["images"]}
    anns = data["annotations"]
    chosen = [a for a in anns if a["iscrowd"]] + [a for a in anns if not a["iscrowd"]][::4]
    for ann in chosen:
        im = images[ann["image_id"]]
        h, w = im["height"], im["width"]
        rle = masks.segmentation_to_rle(ann["segmentation"], h, w)
        parts = bitmap_to_polygons(masks.decode(rle))
        back = masks.polygons_to_rle(parts, h, w)
        assert masks.iou([back], [rle], [0])[0, 0] == 1.0, ann["id"]
