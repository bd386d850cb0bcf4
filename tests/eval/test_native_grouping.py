"""The C core's grouping, fused box matching and accumulation give the bits of the numpy/numba fallback."""
from __future__ import annotations

import numpy as np
import pytest

from cocoseg.eval import kernels, tables
from cocoseg.eval.params import EvalParams
from cocoseg.eval.tables import GtTable
from cocoseg.native import NATIVE

pytestmark = pytest.mark.skipif(NATIVE is None, reason="cocoseg._native is not built here (no C compiler at install)")


def _fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "NATIVE", None)
    monkeypatch.setattr(tables, "NATIVE", None)


def _table(n_images: int, categories: np.ndarray) -> GtTable:
    z = np.zeros(0, np.int64)
    return GtTable(np.arange(1, n_images + 1, dtype=np.int64) * 3, categories, z, z, z, np.zeros((0, 4)),
                   np.zeros(0), np.zeros(0, bool), np.zeros(0, bool), np.zeros(n_images + 1, np.int64))


@pytest.mark.parametrize(("use_cats", "n"), [(True, 3000), (False, 3000), (True, 60_000)])  # 60k: images on threads
def test_detections_are_grouped_and_cut_as_numpy_does(monkeypatch: pytest.MonkeyPatch, use_cats: bool, n: int) -> None:
    monkeypatch.setenv("COCOSEG_THREADS", "3")
    rng = np.random.default_rng(7)
    table = _table(40, np.array([2, 5, 9], np.int64))
    image_ids = rng.integers(0, 45, n) * 3 + (rng.random(n) < 0.02)  # some ids not in the GT
    image_ids[:400].sort()  # a run of grouped images, as results files come
    category_ids = rng.choice(np.array([2, 5, 9, 11]), n)  # 11 is not evaluated
    scores = rng.integers(0, 6, n) / 5.0  # many ties: the order among them must be input order
    scores[rng.random(n) < 0.02] = np.nan
    params = EvalParams.create("bbox", use_cats=use_cats, max_dets=(1, 3, 7))
    subset = np.sort(rng.choice(40, 25, replace=False))
    for image_pos in (None, subset):
        native = tables.select_detections(image_ids, category_ids, scores, table, params, image_pos)
        with monkeypatch.context() as m:
            _fallback(m)
            expected = tables.select_detections(image_ids, category_ids, scores, table, params, image_pos)
        for got, want in zip(native, expected):
            np.testing.assert_array_equal(got, want)
        assert len(native[0]) > 100


def test_cells_are_the_union_of_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    g_key, d_key = np.sort(rng.integers(0, 50, 80)), np.sort(rng.integers(20, 90, 300))
    native = kernels.cells(g_key, d_key)
    with monkeypatch.context() as m:
        _fallback(m)
        expected = kernels.cells(g_key, d_key)
    for got, want in zip(native, expected):
        np.testing.assert_array_equal(got, want)


def _box_cells(rng: np.random.Generator, most: int = 6) -> tuple:
    sizes = rng.integers(0, most, (60, 2))
    cell_dt = np.stack([np.r_[0, np.cumsum(sizes[:, 0])[:-1]], np.cumsum(sizes[:, 0])], 1).astype(np.int64)
    cell_gt = np.stack([np.r_[0, np.cumsum(sizes[:, 1])[:-1]], np.cumsum(sizes[:, 1])], 1).astype(np.int64)
    n_dt, n_gt = int(sizes[:, 0].sum()), int(sizes[:, 1].sum())
    gt = np.c_[rng.uniform(0, 30, (n_gt, 2)), rng.uniform(1, 20, (n_gt, 2))]
    dt = np.c_[rng.uniform(0, 30, (n_dt, 2)), rng.uniform(1, 20, (n_dt, 2))]
    crowd = rng.random(n_gt) < 0.15
    area_rng = np.array([[0, 1e10], [0, 100], [100, 400], [400, 1e10]])
    return (dt, gt, cell_dt, cell_gt, rng.uniform(0, 500, n_gt), crowd | (rng.random(n_gt) < 0.05), crowd,
            dt[:, 2] * dt[:, 3], area_rng, np.linspace(0.5, 0.95, 10))


@pytest.mark.parametrize(("most", "code_width"), [(6, 1), (300, 2)])  # > 127 GT in a cell: 16-bit dt codes
def test_fused_box_matching_equals_iou_then_matching(monkeypatch: pytest.MonkeyPatch, most: int,
                                                     code_width: int) -> None:
    from cocoseg.eval import _kernels_numba
    from cocoseg.eval.iou import bbox_cell_ious

    dt, gt, cell_dt, cell_gt, gt_area, gt_ignore, crowd, dt_area, area_rng, thr = _box_cells(
        np.random.default_rng(4), most)
    rows = np.random.default_rng(5).permutation(len(dt))  # detection row d is results row rows[d]
    stored, stored_area = np.empty_like(dt), np.empty_like(dt_area)
    stored[rows], stored_area[rows] = dt, dt_area
    fused = kernels.match_boxes(stored, gt, cell_dt, cell_gt, gt_area, gt_ignore, crowd, stored_area, rows, area_rng,
                                thr)
    assert fused[0].dtype.itemsize == code_width
    iou, base, stride = bbox_cell_ious(dt, gt, crowd, cell_dt, cell_gt)
    numba_iou = _kernels_numba.bbox_iou_cells(dt, gt, crowd, cell_dt, cell_gt, np.r_[base, len(iou)])
    for args in ((iou, base, stride), (numba_iou, base, stride)):
        for native in (True, False):
            with monkeypatch.context() as m:
                if not native:
                    _fallback(m)
                expected = kernels.match_cells(*args, cell_dt, cell_gt, gt_area, gt_ignore, crowd, stored_area, rows,
                                               area_rng, thr)
            for got, want in zip(fused, expected):
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
    assert (fused[0] >= 2).sum() > 50 and (fused[0] == 1).any() and (fused[1] > 0).any()


@pytest.mark.parametrize(("code_dtype", "max_dets"), [(np.uint8, (1, 10, 100)), (np.uint16, (1, 10, 100)),
                                                      (np.uint8, (3, 50, 100))])  # 50 and 100 keep the same rows
def test_accumulation_equals_the_numba_kernel(monkeypatch: pytest.MonkeyPatch, code_dtype: type,
                                              max_dets: tuple[int, ...]) -> None:
    rng = np.random.default_rng(11)
    n, n_a, n_t, n_k = 4000, 4, 10, 6
    dk = rng.integers(0, n_k, n)
    image_id = np.sort(rng.integers(0, 300, n))
    rank = rng.integers(0, 12, n)
    score = rng.integers(0, 20, n) / 19.0  # ties across images: (-score, image id, rank) decides
    matched = rng.random((n, n_a, n_t)) < 0.4  # codes: 0 FP, 1 ignored, 2 * (j + 1) + ignored when matched
    ignored = rng.random((n, n_a, n_t)) < 0.1
    top = 500 if code_dtype == np.uint16 else 120
    dt_match = np.where(matched, 2 * rng.integers(1, top, (n, n_a, n_t)), 0) + ignored
    order = np.lexsort((rank, dk, image_id))  # a state's row order: (image id, cell, rank)
    dk, image_id, rank, score, dt_match = dk[order], image_id[order], rank[order], score[order], dt_match[order]
    npig = rng.integers(0, 40, (n_k, n_a))
    npig[2] = 0  # a category without GT: -1 rows
    args = (dk, n_k, image_id, rank, score, dt_match.astype(code_dtype), npig, np.array(max_dets),
            np.linspace(0, 1, 101))
    native = kernels.accumulate_state(*args)
    with monkeypatch.context() as m:
        _fallback(m)
        expected = kernels.accumulate_state(*args)
    for got, want in zip(native, expected):
        np.testing.assert_array_equal(got, want)
    assert (native[0] > 0).any() and (native[0] == -1).any()
