"""The default mosaic path (tiles warped straight into the output) equals canvas-then-warp.

Without rotation, shear, perspective or copy-paste, the dataset skips the 2s x 2s mosaic canvas
and warps each tile directly; labels must be identical and the image equal but for tile seams.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cocoseg.data import SegmentationDataset
from cocoseg.data.augment import RandomPerspective
from cocoseg.data.labels import parse_coco
from cocoseg.data.mix import Mosaic, is_scale_translate
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
def test_fast_path_equals_canvas_then_warp(dataset: SegmentationDataset, index: int, seed: int) -> None:
    assert not dataset.hyp.perspective and not dataset.hyp.copy_paste and not dataset.hyp.degrees
    slow, wp = _canvas_then_warp(dataset, index, seed)
    assert is_scale_translate(wp.matrix)  # the default config takes the fast path
    fast = dataset._mosaic(dataset.load(index), np.random.default_rng(seed))
    assert np.array_equal(fast.labels, slow.labels) and np.array_equal(fast.crowd, slow.crowd)
    assert len(fast.polygons) == len(slow.polygons)
    for a, b in zip(fast.polygons, slow.polygons):
        assert len(a) == len(b)
        for pa, pb in zip(a, b):
            np.testing.assert_allclose(pa, pb, atol=1e-6)
    assert fast.image.shape == slow.image.shape
    differ = np.abs(fast.image.astype(int) - slow.image.astype(int)).max(axis=2) > 2
    # only along the seams where tiles meet: two 1-2 px seams are up to ~4% of a 96 px image
    assert differ.mean() < 0.05, differ.mean()
