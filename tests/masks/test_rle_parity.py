"""Every mask operation equals pycocotools on random masks and on real COCO annotations."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as cm
from pycocotools.coco import COCO

from cocoseg import masks

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _random_bitmaps(seed: int, n: int = 6, h: int = 23, w: int = 31) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, h, w)) < rng.random((n, 1, 1))).astype(np.uint8)


@pytest.mark.parametrize("seed", range(5))
def test_encode_decode_match_pycocotools(seed: int) -> None:
    bits = _random_bitmaps(seed)
    ours = masks.encode(bits)
    ref = cm.encode(np.asfortranarray(np.moveaxis(bits, 0, -1)))
    assert [r["counts"] for r in ours] == [r["counts"].decode() for r in ref]
    assert np.array_equal(masks.decode(ours), bits)
    assert np.array_equal(masks.decode(ours[0]), bits[0])


@pytest.mark.parametrize("seed", range(5))
def test_area_bbox_iou_merge_match_pycocotools(seed: int) -> None:
    bits = _random_bitmaps(seed)
    ours = masks.encode(bits)
    ref = cm.encode(np.asfortranarray(np.moveaxis(bits, 0, -1)))
    assert np.array_equal(masks.area(ours), cm.area(ref))
    assert np.array_equal(masks.to_bbox(ours), cm.toBbox(ref))
    crowd = [0, 1, 0, 1, 0, 0]
    assert np.array_equal(masks.iou(ours[:3], ours, crowd), cm.iou(ref[:3], ref, crowd))
    assert masks.merge(ours)["counts"] == cm.merge(ref)["counts"].decode()
    assert masks.merge(ours, intersect=True)["counts"] == cm.merge(ref, intersect=1)["counts"].decode()


def test_compress_decompress_round_trip_and_reference() -> None:
    bits = _random_bitmaps(7, n=20, h=40, w=17)
    for rle in masks.encode(bits):
        raw = masks.decompress(rle)
        assert sum(raw["counts"]) == 40 * 17
        # pycocotools' own compression of the uncompressed counts gives the same string
        assert cm.frPyObjects(raw, 40, 17)["counts"].decode() == rle["counts"]
        assert masks.compress(raw) == rle


def test_area_of_many_rles_avoids_numpy2_overflow() -> None:
    rle = masks.encode(np.ones((5, 5), np.uint8))
    out = masks.area([rle] * 600)
    assert out.shape == (600,) and (out == 25).all()


def test_polygons_to_rle_is_ann_to_rle() -> None:
    polys = [[1.5, 1.0, 20.2, 3.1, 11.0, 15.7], [22.0, 2.0, 28.0, 2.0, 28.0, 9.5, 22.0, 9.5]]
    ours = masks.polygons_to_rle(polys, 20, 30)
    ref = cm.merge(cm.frPyObjects(polys, 20, 30))
    assert ours["counts"] == ref["counts"].decode()


def test_rasterize_polygons_is_ann_to_rle_then_decode() -> None:
    one = [[1.5, 1.0, 20.2, 3.1, 11.0, 15.7], [22.0, 2.0, 28.0, 2.0, 28.0, 9.5, 22.0, 9.5]]
    two = [[0.0, 0.0, 30.0, 0.0, 30.0, 20.0]]
    out = masks.rasterize_polygons([one, [], two], 20, 30)
    assert out.shape == (3, 20, 30) and out.dtype == np.uint8 and out.flags.c_contiguous
    for bitmap, polys in zip(out[[0, 2]], [one, two]):
        assert np.array_equal(bitmap, cm.decode(cm.merge(cm.frPyObjects(polys, 20, 30))))
    assert not out[1].any()
    assert masks.rasterize_polygons([], 4, 5).shape == (0, 4, 5)
    # a 2-point part covers nothing (pycocotools alone would rasterise [1, 1, 20, 10] as a box)
    assert not masks.rasterize_polygons([[[1.0, 1.0, 20.0, 10.0]]], 20, 30).any()


def test_box_iou_is_bit_identical_to_bbiou() -> None:
    rng = np.random.default_rng(3)
    dt = np.c_[rng.uniform(0, 50, (40, 2)), rng.uniform(0, 30, (40, 2))]
    gt = np.c_[rng.uniform(0, 50, (25, 2)), rng.uniform(0, 30, (25, 2))]
    gt[3, 2:] = 0  # degenerate box
    crowd = rng.integers(0, 2, 25)
    ref = cm.iou(dt.tolist(), gt.tolist(), crowd.tolist())
    assert np.array_equal(masks.box_iou(dt, gt, crowd), ref)


def test_empty_inputs() -> None:
    assert masks.encode(np.zeros((0, 4, 4))) == []
    assert masks.iou([], [], []).shape == (0, 0)
    assert masks.area([]).shape == (0,)
    assert masks.to_bbox([]).shape == (0, 4)
    assert masks.box_iou(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    empty = masks.polygons_to_rle([], 4, 5)
    assert masks.area(empty) == 0


@pytest.mark.parametrize("rel", ["coco128-seg/annotations/instances_train2017.json",
                                 "coco-mini-val2017/annotations/instances_val2017.json"])
def test_real_annotations_match_ann_to_rle(rel: str) -> None:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only beside the project in CI and dev)")
    data = json.loads(path.read_text())
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    images = {im["id"]: im for im in data["images"]}
    for ann in data["annotations"]:
        im = images[ann["image_id"]]
        ours = masks.segmentation_to_rle(ann["segmentation"], im["height"], im["width"])
        ref = coco.annToRLE(ann)
        ref_counts = ref["counts"].decode() if isinstance(ref["counts"], bytes) else ref["counts"]
        assert ours["counts"] == ref_counts, ann["id"]
        assert masks.area(ours) == cm.area(ref)
