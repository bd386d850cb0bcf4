"""The viewer's arrays and queries hold the evaluator's numbers (checked against its state directly)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cocoseg.errors import CocosegError
from cocoseg.eval import evaluate
from cocoseg.io import CocoDataset
from cocoseg.view.inputs import read_image_scores
from cocoseg.view.query import parse_query
from cocoseg.view.tables import Detections, image_ap


def _fp_images(result, category_id: int, iou: float) -> set[int]:
    """Images holding a false positive of a category at an IoU threshold, read straight off the state."""
    st = result.state
    t = int(np.flatnonzero(np.isclose(result.params.iou_thresholds, iou))[0])
    fp = (st.dt_gt[0, t] < 0) & ~st.dt_ignore[0, t] & (st.dt_category_id == category_id)
    return set(st.dt_image_id[fp].tolist())


def test_fp_filter_equals_the_evaluator(session, view_data) -> None:
    result = evaluate(view_data.gt, view_data.results, "segm")
    assert session.result.stats.tolist() == result.stats.tolist()  # the numbers of `cocoseg eval`
    for cat in (1, 4):
        for iou in (0.5, 0.75):
            page = session.page(parse_query({"cat": str(cat), "outcome": "fp", "iou": str(iou)}), 0, 500)
            assert {r["id"] for r in page["rows"]} == _fp_images(result, cat, iou)
    # more FPs at the stricter threshold on this set (shifted masks)
    loose = session.page(parse_query({"outcome": "fp", "iou": "0.5"}), 0, 500)["rows"]
    strict = session.page(parse_query({"outcome": "fp", "iou": "0.75"}), 0, 500)["rows"]
    assert sum(r["fp"] for r in strict) > sum(r["fp"] for r in loose)


def test_per_image_counts_and_totals(session) -> None:
    st, t = session.result.state, 0
    rows = session.page(parse_query({"iou": "0.5"}), 0, 500)["rows"]
    tp = int(((st.dt_gt[0, t] >= 0) & ~st.dt_ignore[0, t]).sum())
    fn = int(((st.gt_dt[0, t] < 0) & ~st.gt_ignore[0]).sum())
    assert sum(r["tp"] for r in rows) == tp
    assert sum(r["fn"] for r in rows) == fn
    for r in rows:
        denom = 2 * r["tp"] + r["fp"] + r["fn"]
        assert r["f1"] == pytest.approx(2 * r["tp"] / denom, abs=1e-4)


def test_sorts_and_score_range(session) -> None:
    rows = session.page(parse_query({"sort": "fp"}), 0, 500)["rows"]
    assert [r["fp"] for r in rows] == sorted((r["fp"] for r in rows), reverse=True)
    rows = session.page(parse_query({"sort": "ap", "order": "asc"}), 0, 500)["rows"]
    aps = [r["ap"] for r in rows if r["ap"] is not None]
    assert aps == sorted(aps)
    audit = [r["audit"] for r in session.page(parse_query({"sort": "audit"}), 0, 500)["rows"]]
    assert audit == sorted(audit, reverse=True)
    high = session.page(parse_query({"score_min": "0.9"}), 0, 500)["rows"]
    st = session.result.state
    assert {r["id"] for r in high} == set(st.dt_image_id[st.dt_score >= 0.9].tolist())


def test_error_and_slice_filters(session) -> None:
    codes, _ = session.analyses.errors_at(0)
    st = session.result.state
    cls_images = set(st.dt_image_id[codes == 0].tolist())  # ERROR_TYPES[0] == "cls"
    assert cls_images
    assert {r["id"] for r in session.page(parse_query({"error": "cls"}), 0, 500)["rows"]} == cls_images
    crowd = {a["image_id"] for a in session.gt.annotations if a.get("iscrowd")}
    assert {r["id"] for r in session.page(parse_query({"slice": "crowd"}), 0, 500)["rows"]} == crowd
    small = {a["image_id"] for a in session.gt.annotations if not a.get("iscrowd") and a["area"] < 32 ** 2}
    assert {r["id"] for r in session.page(parse_query({"slice": "small"}), 0, 500)["rows"]} == small
    with pytest.raises(CocosegError, match="outcome"):
        parse_query({"outcome": "maybe"})


def test_confusion_cells_hold_their_images(session) -> None:
    cm = session.analyses.parts["confusion"]
    k = len(cm.category_ids)
    ids = [*cm.category_ids, None]
    for i, j in zip(*np.nonzero(cm.matrix)):
        images = session.analyses.confusion_images(ids[i], ids[j])
        assert 1 <= len(images) <= cm.matrix[i, j]  # every image holds one at least
    assert sum(len(session.analyses.confusion_images(None, c)) for c in cm.category_ids) >= (cm.matrix[k] > 0).sum()


def test_image_ap_by_hand() -> None:
    # one image, 2 GT; detections by score: TP, FP, TP -> AP = (1/1 + 2/3) / 2 at the one threshold
    d = Detections(np.zeros(3, np.int64), np.ones(3, np.int64), np.array([0.9, 0.8, 0.7]), np.arange(3),
                   np.array([[0, -1, 1]]), np.array([[True, False, True]]), np.array([[False, True, False]]))
    assert image_ap(d, np.array([2]), 1)[0] == pytest.approx((1 + 2 / 3) / 2)


def test_audit_and_ranking_read_tolerantly(tmp_path) -> None:
    files = {"a.jpg": 1, "b.jpg": 2}
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"images": [{"file": "b.jpg", "score": 0.2, "selected": True},
                                           {"image_id": 1, "score": 0.7}, {"image_id": 1, "score": 0.9}]}))
    assert read_image_scores(path, files) == {1: 0.9, 2: 0.2}
    path.write_text(json.dumps({"something": [{"nothing": 1}]}))
    with pytest.raises(CocosegError, match="no list of records"):
        read_image_scores(path, files)


def test_without_results(view_data, tmp_path) -> None:
    from cocoseg.view import open_session

    s = open_session(CocoDataset.load(view_data.gt), view_data.images, cache_dir=tmp_path)
    page = s.page(parse_query({"cat": "2", "sort": "objects"}), 0, 100)
    expected = {a["image_id"] for a in s.gt.annotations if a["category_id"] == 2}
    assert {r["id"] for r in page["rows"]} == expected
    assert s.thumbnail(page["rows"][0]["id"], 0.5, 0.0)[:2] == b"\xff\xd8"  # a JPEG
