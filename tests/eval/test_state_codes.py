"""The state's compact match codes: wide cells (16-bit codes), merging states of both widths, decoding."""
from __future__ import annotations

import copy
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")
sys.path.insert(0, str(Path(__file__).parent))
from _cases import make_gt  # noqa: E402
from _oracle import assert_same, assert_same_matches, pycocotools_eval  # noqa: E402

from cocoseg.eval import EvalState, Evaluator, evaluate  # noqa: E402
from cocoseg.io import CocoDataset  # noqa: E402
from cocoseg.io.results import results_from_arrays  # noqa: E402

MAX_DETS = [1, 10, 300]


def _crowded() -> tuple[dict, list[dict]]:
    """Image 1: 200 GT of one category and 300 detections (more than a byte of cell positions holds);
    image 2: a few of each; some crowd GT, score ties."""
    rng = np.random.default_rng(3)
    anns, dets = [], []
    for image_id, n_gt, n_dt in ((1, 200, 300), (2, 6, 9)):
        for g in range(n_gt):
            x, y = float(g % 20 * 10), float(g // 20 * 10)
            anns.append({"image_id": image_id, "category_id": 1, "bbox": [x, y, 8.0, 8.0],
                         "iscrowd": int(rng.random() < 0.03)})
        for _ in range(n_dt):
            x, y = rng.integers(0, 200, 2).astype(float)
            w, h = rng.integers(4, 12, 2).astype(float)
            dets.append({"image_id": image_id, "category_id": 1 + int(rng.random() < 0.05), "bbox": [x, y, w, h],
                         "score": float(rng.integers(1, 9)) / 8})
    return make_gt([(1, 200, 200), (2, 200, 200)], anns, categories=[1, 2]), dets


@pytest.mark.parametrize("use_cats", [True, False])
def test_wide_cells_match_as_pycocotools_does(use_cats: bool) -> None:
    gt, dets = _crowded()
    ref = pycocotools_eval(gt, dets, "bbox", maxDets=MAX_DETS, useCats=int(use_cats))
    ours = evaluate(CocoDataset.from_dict(gt, validate=False), copy.deepcopy(dets), "bbox", max_dets=MAX_DETS,
                    use_cats=use_cats, pycocotools_compat=True)
    assert ours.state.dt_match.dtype == np.uint16 and ours.state.gt_match.dtype == np.uint16
    assert_same(ours, ref)
    assert_same_matches(ours, ref, gt)


def _image_state(gt: dict, dets: list[dict], image_id: int) -> EvalState:
    mine = [d for d in dets if d["image_id"] == image_id]
    ev = Evaluator(CocoDataset.from_dict(gt, validate=False), "bbox", max_dets=MAX_DETS)
    ev.add_results(results_from_arrays([d["image_id"] for d in mine], [d["category_id"] for d in mine],
                                       [d["score"] for d in mine], boxes_xywh=[d["bbox"] for d in mine]))
    return pickle.loads(pickle.dumps(ev.state()))  # as sent between processes


def test_states_of_both_code_widths_merge_exactly() -> None:
    gt, dets = _crowded()
    whole = evaluate(CocoDataset.from_dict(gt, validate=False), copy.deepcopy(dets), "bbox", max_dets=MAX_DETS)
    narrow, wide = _image_state(gt, dets, 2), _image_state(gt, dets, 1)
    assert narrow.dt_match.dtype == np.uint8 and wide.dt_match.dtype == np.uint16
    merged = EvalState.merge([narrow, wide])  # out of image order: rows reordered, codes kept
    assert merged.dt_match.dtype == np.uint16
    for name in ("dt_gt", "dt_ignore", "gt_dt"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole.state, name), err_msg=name)
    ev = Evaluator(CocoDataset.from_dict(gt, validate=False), "bbox", max_dets=MAX_DETS)
    np.testing.assert_array_equal(ev.compute(merged).precision, whole.precision)


def test_decoded_matches_point_at_each_other() -> None:
    gt, dets = _crowded()
    state = evaluate(CocoDataset.from_dict(gt, validate=False), copy.deepcopy(dets), "bbox", max_dets=MAX_DETS).state
    dt_gt, gt_dt, dt_ignore = state.dt_gt, state.gt_dt, state.dt_ignore
    a, t, d = np.nonzero(dt_gt >= 0)
    g = dt_gt[a, t, d]
    regular = ~state.gt_iscrowd[g]
    assert regular.sum() > 100
    np.testing.assert_array_equal(gt_dt[a[regular], t[regular], g[regular]], d[regular])
    np.testing.assert_array_equal(dt_ignore[a, t, d], state.gt_ignore[a, g])  # a match takes the GT's ignore flag
    assert (state.dt_image_id[d] == state.gt_image_id[g]).all() and (state.dt_category_id[d] == state.gt_category_id[g]).all()
    for area in range(dt_gt.shape[0]):
        np.testing.assert_array_equal(state.dt_gt_at(area), dt_gt[area])
        np.testing.assert_array_equal(state.gt_dt_at(area), gt_dt[area])
