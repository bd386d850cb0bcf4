"""The mask IoU of evaluation cells equals pycocotools' `maskUtils.iou` cell by cell: crowd GT, masks of
another size (-1), masks whose boxes do not overlap (never decoded), empty masks, detections read
through a row map in any order; in C and in the numba fallback alike."""
from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from cocoseg.eval import kernels
from cocoseg.eval.iou import segm_cell_ious
from cocoseg.masks.packed_rle import PackedRles


def _masks(n: int, h: int, w: int, rng: np.random.Generator) -> list[dict]:
    yy, xx = np.mgrid[:h, :w]
    bitmaps = np.zeros((h, w, n), np.uint8)
    for k in range(n):
        if k % 9 == 8:
            continue  # an empty mask
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(1, h / 2), rng.uniform(1, w / 2)
        bitmaps[:, :, k] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1 + 0.5 * rng.random((h, w))
        if k % 5 == 0:
            bitmaps[:, int(cx) % w, k] = 1  # a full column: runs across columns
    return coco_mask.encode(np.asfortranarray(bitmaps))


@pytest.mark.parametrize("core", ["native", "numba"])
def test_cell_ious_are_pycocotools_ious(core: str, monkeypatch) -> None:
    if core == "numba":
        monkeypatch.setattr(kernels, "NATIVE", None)
    elif kernels.NATIVE is None:
        pytest.skip("the compiled core is not built here")
    rng = np.random.default_rng(11)
    cells_dt, cells_gt, dts, gts, crowd = [], [], [], [], []
    for c in range(40):
        h, w = (30, 20) if c % 4 else (20, 30)
        nd, ng = int(rng.integers(0, 7)), int(rng.integers(0, 5))
        d = _masks(nd, h, w, rng)
        if c % 7 == 3 and nd:
            d[0] = _masks(1, w, h, rng)[0]  # a detection of another size: -1 where boxes overlap
        cells_dt.append((len(dts), len(dts) + nd))
        cells_gt.append((len(gts), len(gts) + ng))
        dts += d
        gts += _masks(ng, h, w, rng)
        crowd += (rng.random(ng) < 0.3).tolist()
    cell_dt, cell_gt = np.array(cells_dt, np.int64), np.array(cells_gt, np.int64)
    order = rng.permutation(len(dts))  # the packed detections in another order, read through a row map
    packed = PackedRles.from_rles([dts[i] for i in order])
    rows = np.argsort(order)
    iou, base, stride = segm_cell_ious(packed, PackedRles.from_rles(gts), np.array(crowd, bool), cell_dt, cell_gt, rows)
    checked = 0
    for c, ((d0, d1), (g0, g1)) in enumerate(zip(cells_dt, cells_gt)):
        if d1 == d0 or g1 == g0:
            continue
        want = coco_mask.iou(dts[d0:d1], gts[g0:g1], crowd[g0:g1])
        got = iou[base[c]:base[c] + (d1 - d0) * stride[c]].reshape(d1 - d0, g1 - g0)
        assert got.tobytes() == np.asarray(want, np.float64).tobytes(), c
        checked += 1
    assert checked > 20 and (iou == -1).any() and (iou == 0).any() and ((iou > 0) & (iou < 1)).any()
