"""The one polygon clip (Sutherland-Hodgman) and shoelace area of cocoseg.masks.polygons."""
from __future__ import annotations

import numpy as np
import pytest

from cocoseg.masks.polygons import clip_instance, clip_instances, clip_polygon, polygon_area


def test_clip_polygon_by_hand():
    square = np.array([[-2, -2], [4, -2], [4, 4], [-2, 4]], np.float32)
    clipped = clip_polygon(square, 0, 0, 10, 10)
    assert polygon_area(clipped) == pytest.approx(16.0)
    assert clipped.min(0).tolist() == [0, 0] and clipped.max(0).tolist() == [4, 4]
    triangle = np.array([[0, 0], [20, 0], [0, 20]], np.float32)  # hypotenuse crosses the corner region
    assert polygon_area(clip_polygon(triangle, 0, 0, 10, 10)) == pytest.approx(100.0)
    outside = np.array([[20, 20], [30, 20], [30, 30]], np.float32)
    assert len(clip_polygon(outside, 0, 0, 10, 10)) == 0


def test_multi_part_instances_stay_multi_part():
    parts = [np.array([[1, 1], [5, 1], [5, 5]], np.float32), np.array([[12, 1], [30, 1], [30, 8]], np.float32)]
    clipped = clip_instance(parts, 20, 20)
    assert len(clipped) == 2
    gone = clip_instance([parts[0], np.array([[40, 40], [50, 40], [50, 50]], np.float32)], 20, 20)
    assert len(gone) == 1


def test_clip_instances_equals_clipping_each_part():
    rng = np.random.default_rng(4)
    instances = [[rng.uniform(-20, 80, (int(rng.integers(1, 9)), 2)).astype(np.float32)
                  for _ in range(int(rng.integers(0, 4)))] for _ in range(40)]
    instances.append([np.array([[5, 15], [9, 15], [9, 19]], np.float32)])  # wholly inside
    instances.append([np.array([[90, 90], [95, 90], [95, 95]], np.float32)])  # wholly outside
    ours = clip_instances(instances, 0.0, 10.0, 60.0, 50.0)
    assert len(ours) == len(instances)
    for got, parts in zip(ours, instances):
        want = [c for c in (clip_polygon(p, 0.0, 10.0, 60.0, 50.0) for p in parts) if len(c)]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.dtype == np.float32 and np.array_equal(a, b)
    assert np.array_equal(ours[-2][0], instances[-2][0]) and ours[-1] == []
