"""Polygon parts of the data pipeline: rasterisation against pycocotools, holes, transforms."""
from __future__ import annotations

import numpy as np
import pytest

from cocoseg.data.polygon_parts import (
    rasterize_each,
    rasterize_overlap,
    rle_to_parts,
    transform_points,
)
from cocoseg.masks import decode, polygons_to_rle
from cocoseg.masks.polygons import instance_area


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_rasterisation_matches_pycocotools():
    rng = np.random.default_rng(0)
    for _ in range(5):
        centre = rng.uniform(20, 44, 2)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radius = rng.uniform(6, 18, 9)
        poly = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1).astype(np.float32)
        ours = rasterize_each([[poly]], 64, 64, 1.0)[0]
        ref = decode(polygons_to_rle([poly.reshape(-1).tolist()], 64, 64))
        assert _iou(ours, ref) > 0.93


def test_rasterisation_at_mask_ratio_matches_downsampled_reference():
    poly = np.array([[8, 8], [56, 12], [40, 60], [10, 40]], np.float32)
    small = rasterize_each([[poly]], 16, 16, 0.25)[0]
    ref = decode(polygons_to_rle([poly.reshape(-1).tolist()], 64, 64)).reshape(16, 4, 16, 4).mean((1, 3)) > 0.5
    assert _iou(small, ref) > 0.9


def test_overlap_map_smaller_instance_wins():
    big = [np.array([[0, 0], [16, 0], [16, 16], [0, 16]], np.float32)]
    small = [np.array([[4, 4], [8, 4], [8, 8], [4, 8]], np.float32)]
    index = rasterize_overlap([small, big], 16, 16, 1.0)  # order of the list does not matter
    assert index[5, 5] == 1 and index[12, 12] == 2
    assert (index == 1).sum() == 16 and (index == 2).sum() == 256 - 16
    each = rasterize_each([small, big], 16, 16, 1.0)
    assert each[1].sum() == 256  # without overlap_mask the big instance keeps its full mask


def test_rle_with_hole_round_trips():
    import cv2

    mask = np.zeros((64, 64), np.uint8)
    cv2.circle(mask, (30, 30), 20, 1, -1)
    cv2.circle(mask, (30, 30), 8, 0, -1)
    mask[50:60, 5:9] = 1
    parts = rle_to_parts(mask)
    assert len(parts) == 2
    assert _iou(rasterize_each([parts], 64, 64, 1.0)[0], mask) == 1.0
    assert instance_area(parts) < mask.sum()  # the hole is not counted as area


def test_transform_points_affine_and_perspective():
    pts = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    shift = np.array([[1, 0, 5], [0, 1, -1], [0, 0, 1]], np.float64)
    assert transform_points(pts, shift).tolist() == [[6, 1], [8, 3]]
    persp = np.array([[1, 0, 0], [0, 1, 0], [0.1, 0, 1]], np.float64)
    out = transform_points(pts, persp)
    assert out[0].tolist() == pytest.approx([1 / 1.1, 2 / 1.1])
