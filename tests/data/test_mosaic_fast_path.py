"""The default mosaic path (tiles resized straight into the output) against canvas-then-warp.

Without rotation, shear, perspective or copy-paste, the dataset skips the 2s x 2s mosaic canvas and
resizes each tile's visible crop into the output. Its labels follow the map that resize realises:
within half a pixel of the drawn warp, and on the pixels the image shows.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg.data import SegmentationDataset
from cocoseg.data.augment import RandomPerspective
from cocoseg.data.labels import parse_coco
from cocoseg.data.mix import Mosaic, MosaicParams, _resized_span, is_scale_translate
from cocoseg.data.polygon_parts import rasterize_each
from cocoseg.data.sample import Sample
from cocoseg.io import CocoDataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> SegmentationDataset:
    from cocoseg.synth import generate

    root: Path = tmp_path_factory.mktemp("synth")
    generate(root, num_images=8, seed=5, size=(120, 96), val_fraction=0.25)
    coco = CocoDataset.load(root / "annotations" / "instances_train.json")
    return SegmentationDataset(parse_coco(coco, root / "images" / "train"), 96, augment=True, seed=2)


def _canvas_then_warp(ds: SegmentationDataset, index: int, seed: int):
    rng = np.random.default_rng(seed)
    h, s = ds.hyp, ds.imgsz
    mosaic = Mosaic(s, ds.load, len(ds))
    warp = RandomPerspective(s, h.degrees, h.translate, h.scale, h.shear, 0.0, border=-s // 2)
    mp = mosaic.get_params(rng, ds.load(index))
    wp = warp.params_for(rng, (2 * s, 2 * s))
    return warp.apply(mosaic.apply(ds.load(index), mp), wp), wp


@pytest.mark.parametrize("index,seed", [(0, 0), (1, 11), (2, 22), (3, 33), (4, 44), (5, 55)])
def test_fast_path_follows_canvas_then_warp(dataset: SegmentationDataset, index: int, seed: int) -> None:
    assert not dataset.hyp.perspective and not dataset.hyp.copy_paste and not dataset.hyp.degrees
    slow, wp = _canvas_then_warp(dataset, index, seed)
    assert is_scale_translate(wp.matrix)  # the default config takes the fast path
    fast = dataset._mosaic(dataset.load(index), np.random.default_rng(seed))
    assert np.array_equal(fast.labels, slow.labels) and np.array_equal(fast.crowd, slow.crowd)
    assert [len(p) for p in fast.polygons] == [len(p) for p in slow.polygons]
    # box edges move by the rounding of the tile edges (<= 0.5 px); a clipped sliver's may move more
    shift = np.abs(fast.boxes_xyxy() - slow.boxes_xyxy()).max(axis=1)
    assert (shift <= 0.5).mean() >= 0.9 and shift.max() < 3.0, shift
    assert fast.image.shape == slow.image.shape
    assert np.abs(fast.image.astype(int) - slow.image.astype(int)).mean() < 4.0


COLOURS = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0), (200, 0, 200), (0, 200, 200), (255, 255, 255),
           (90, 40, 160)]


def _tiles() -> list[Sample]:
    """Four tiles of different sizes, two flat-coloured rectangles each (label = colour index)."""
    sizes = [(96, 96), (60, 96), (96, 50), (80, 70)]
    rects = [[(5, 10, 40, 50), (50, 60, 95, 96)], [(0, 0, 30, 20), (40, 25, 90, 58)],
             [(3, 3, 47, 30), (10, 50, 40, 90)], [(0, 40, 35, 80), (38, 5, 70, 33)]]
    tiles = []
    for t, (hw, boxes) in enumerate(zip(sizes, rects)):
        image = np.full((*hw, 3), 30, np.uint8)
        polys = []
        for x1, y1, x2, y2 in boxes:
            image[y1:y2, x1:x2] = COLOURS[len(polys) + 2 * t]
            polys.append([np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)])
        tiles.append(Sample(image, np.array([2 * t, 2 * t + 1]), np.zeros(2, bool), polys))
    return tiles


@pytest.mark.parametrize("seed", range(12))
def test_fast_path_labels_lie_on_their_pixels(seed: int) -> None:
    tiles = _tiles()
    rng = np.random.default_rng(seed)
    mosaic = Mosaic(96, tiles.__getitem__, 4)
    centre = tuple(int(v) for v in rng.uniform(48, 144, 2))
    wp = RandomPerspective(96, translate=0.1, scale=0.5, border=-48).params_for(rng, (192, 192))
    out = mosaic.apply_scaled(tiles[0], MosaicParams(centre, (1, 2, 3)), wp)  # type: ignore[arg-type]
    image = out.image.astype(int)
    masks = rasterize_each(out.polygons, 96, 96, 1.0)
    kernel = np.ones((3, 3), np.uint8)
    for label, mask in zip(out.labels.tolist(), masks):
        # at least a pixel away from the object's edge (the image border counts as one)
        inner = cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
        assert (np.abs(image[inner] - COLOURS[label]).max(axis=1) <= 2).all(), (seed, label)
    if len(masks):
        # a kept object's colour shows nowhere else (dropped slivers' pixels stay visible, as they do anywhere)
        outside = ~cv2.dilate(masks.max(axis=0), kernel).astype(bool)
        for label in out.labels.tolist():
            assert (np.abs(image[outside] - COLOURS[label]).max(axis=1) > 10).all(), (seed, label)


@pytest.mark.parametrize("scale", [0.5, 0.77, 1.0, 1.31, 1.5])
def test_resized_tiles_meet_without_gap_or_overlap(scale: float) -> None:
    shift = -0.5 * scale * 192 + 48 + 7.3
    left = _resized_span(scale, shift, 10, 30, 100, 96)  # source [30, 100) at canvas 10: canvas edge 80
    right = _resized_span(scale, shift, 80, 0, 90, 96)
    assert left is not None and right is not None
    assert left.dst[1] == right.dst[0]
    for span in (left, right):
        # the realised map sends the span's source ends to its output ends, within 0.5 px of the ideal one
        assert span.gain * span.src[0] + span.offset == pytest.approx(span.dst[0])
        canvas_lo = 10 if span is left else 80
        source_lo = 30 if span is left else 0
        ideal = scale * (span.src[0] - source_lo + canvas_lo) + shift
        assert abs(span.dst[0] - ideal) <= 0.5 + 1e-9
