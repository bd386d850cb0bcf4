"""Mask helpers of the synthetic data against pycocotools: tracing, bridged holes, RLE, area/bbox."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from cocoseg.synth import shapes
from cocoseg.synth.raster import (
    area_and_bbox,
    rasterize,
    rasterize_segmentation,
    trace_polygons,
    uncompressed_rle,
)


def _random_mask(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """Blobs with round holes punched in: several parts, holes, single pixels, touching borders."""
    mask = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        center = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.circle(mask, center, int(rng.integers(1, 14)), 1, -1)
    for _ in range(int(rng.integers(0, 3))):
        center = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.circle(mask, center, int(rng.integers(1, 5)), 0, -1)
    mask[rng.integers(0, size), rng.integers(0, size)] = 1
    return mask.astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_trace_reproduces_masks_with_parts_and_holes() -> None:
    rng = np.random.default_rng(0)
    holes_seen = 0
    for _ in range(150):
        mask = _random_mask(rng)
        polygons = trace_polygons(mask)
        assert all(len(p) >= 6 and len(p) % 2 == 0 for p in polygons)
        drawn = rasterize_segmentation(polygons, *mask.shape)
        assert _iou(drawn, mask) >= 0.97
        _, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        holes_seen += int((hierarchy[0][:, 3] >= 0).sum())
    assert holes_seen >= 10  # the corpus really exercises bridged holes


def test_unsimplified_trace_is_exact() -> None:
    from cocoseg.synth.raster import _trace

    rng = np.random.default_rng(1)
    for _ in range(100):
        mask = _random_mask(rng)
        polygons = [p.ravel().tolist() for p in _trace(mask, simplify=0.0)]
        assert np.array_equal(rasterize_segmentation(polygons, *mask.shape), mask)


def test_trace_offsets_into_image_coordinates() -> None:
    crop = np.zeros((5, 6), bool)
    crop[1:4, 2:5] = True
    polygons = trace_polygons(crop, x0=10, y0=20)
    area, bbox = area_and_bbox(polygons, 40, 40)
    assert area == 9 and bbox == [12.0, 21.0, 3.0, 3.0]
    assert trace_polygons(np.zeros((4, 4), bool)) == []


def test_bridged_ring_polygon_has_a_hole() -> None:
    outline = shapes.ring(np.random.default_rng(0))
    (poly,) = outline.polygons
    placed = (np.round((poly * 20 + 30) * 4) / 4,)
    drawn = rasterize_segmentation([placed[0].ravel().tolist()], 60, 60)
    assert not drawn[30, 30] and drawn[30, 48]  # centre empty, rim filled
    assert abs(drawn.sum() - outline.unit_area * 400) / (outline.unit_area * 400) < 0.05
    # cv2's filler agrees (non-zero and even-odd fillers both see the hole)
    filled = np.zeros((60, 60), np.uint8)
    cv2.fillPoly(filled, [np.round(placed[0] - 0.5).astype(np.int32)], 1)
    assert filled[30, 30] == 0 and _iou(filled.astype(bool), drawn) > 0.9


def test_rasterize_patch_matches_full_image_rasterization() -> None:
    rng = np.random.default_rng(2)
    for builder in (shapes.star, shapes.pair, shapes.cross, shapes.ring):
        outline = builder(rng)
        polygons = tuple(np.round((p * 17.3 + [40.1, 33.7]) * 4) / 4 for p in outline.polygons)
        patch, x0, y0 = rasterize(polygons)
        full = np.zeros((80, 80), bool)
        full[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
        assert np.array_equal(full, rasterize_segmentation([p.ravel().tolist() for p in polygons], 80, 80))


@pytest.mark.parametrize("first", [False, True])
def test_uncompressed_rle_matches_pycocotools(first: bool) -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((23, 31)) < 0.3
    mask[0, 0] = first
    rle = uncompressed_rle(mask)
    assert rle["size"] == [23, 31] and sum(rle["counts"]) == 23 * 31
    assert all(isinstance(c, int) for c in rle["counts"])
    decoded = mask_utils.decode(mask_utils.frPyObjects(rle, 23, 31)).astype(bool)
    assert np.array_equal(decoded, mask)
    reference = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    area, bbox = area_and_bbox(rle, 23, 31)
    assert area == mask_utils.area(reference)
    assert bbox == mask_utils.toBbox(reference).tolist()
