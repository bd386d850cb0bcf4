"""The incremental evaluator: arrays in, the same numbers as a results file; shards merge exactly."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from cocoseg.errors import CocosegError, DataError
from cocoseg.eval import EvalState, Evaluator, evaluate
from cocoseg.io import CocoDataset
from cocoseg.io.results import load_results

FAKE = ("data", "cocoapi-val2014-fake100")


def _fake(shared: Path, iou_type: str) -> tuple[CocoDataset, Path]:
    root = shared.joinpath(*FAKE)
    gt = CocoDataset.load(root / "annotations" / "instances_val2014_100.json")
    return gt, root / "results" / f"instances_val2014_fake{iou_type}100_results.json"


def _same(a, b) -> None:
    for name in ("stats", "precision", "recall", "scores"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _add_per_image(ev: Evaluator, res, iou_type: str, image_ids) -> None:
    for image_id in image_ids:
        rows = np.flatnonzero(res.image_ids == image_id)
        kwargs = {"boxes_xywh": res.boxes_xywh[rows]} if iou_type == "bbox" else \
            {"masks": [res.segmentations[i] for i in rows.tolist()]}
        ev.add(int(image_id), scores=res.scores[rows], category_ids=res.category_ids[rows], **kwargs)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_arrays_per_image_equal_the_results_file(shared: Path, iou_type: str) -> None:
    gt, path = _fake(shared, iou_type)
    ref = evaluate(gt, path, iou_type)
    res = load_results(path)
    ev = Evaluator(gt, iou_type)
    _add_per_image(ev, res, iou_type, reversed(np.unique(res.image_ids)))  # any order
    _same(ev.compute(), ref)


def test_shards_merge_exactly_in_any_order(shared: Path) -> None:
    gt, path = _fake(shared, "bbox")
    ref = evaluate(gt, path, "bbox")
    res = load_results(path)
    images = np.unique(res.image_ids)
    states = []
    for shard in (images[1::3], images[0::3], images[2::3]):  # interleaved image ids
        ev = Evaluator(gt, "bbox")
        _add_per_image(ev, res, "bbox", shard)
        states.append(pickle.loads(pickle.dumps(ev.state())))  # as sent between processes
    main = Evaluator(gt, "bbox")
    for state in states[::-1]:
        main.update_from(state)
    _same(main.compute(), ref)
    fresh = Evaluator(gt, "bbox")
    fresh.update_from(Evaluator.merge(states))
    _same(fresh.compute(), ref)
    merged = EvalState.merge(states)
    assert np.all(np.diff(merged.dt_image_id) >= 0) and merged.num_dt == ref.state.num_dt


def test_state_cross_references_survive_a_merge(shared: Path) -> None:
    gt, path = _fake(shared, "bbox")
    res = load_results(path)
    images = np.unique(res.image_ids)
    parts = []
    for shard in (images[::2], images[1::2]):
        ev = Evaluator(gt, "bbox")
        _add_per_image(ev, res, "bbox", shard)
        parts.append(ev.state())
    merged = EvalState.merge(parts)
    single = evaluate(gt, path).state
    for state in (merged, single):  # every match points back at a row matching it
        a, t, d = np.nonzero(state.dt_gt >= 0)
        g = state.dt_gt[a, t, d]
        assert np.all(state.dt_image_id[d] == state.gt_image_id[g])
        crowd = state.gt_iscrowd[g]
        assert np.all(state.gt_dt[a[~crowd], t[~crowd], g[~crowd]] == d[~crowd])
    np.testing.assert_array_equal(np.sort(merged.dt_score), np.sort(single.dt_score))


def test_images_not_added_count_as_missed_and_only_added(shared: Path) -> None:
    gt, path = _fake(shared, "bbox")
    res = load_results(path)
    some = np.unique(res.image_ids)[:10]
    ev = Evaluator(gt, "bbox")
    _add_per_image(ev, res, "bbox", some)
    rows = np.isin(res.image_ids, some)
    records = [{"image_id": int(i), "category_id": int(c), "bbox": b.tolist(), "score": float(s)}
               for i, c, b, s in zip(res.image_ids[rows], res.category_ids[rows], res.boxes_xywh[rows], res.scores[rows])]
    _same(ev.compute(), evaluate(gt, records))  # all 100 images, 90 without detections
    _same(ev.compute(only_added=True), evaluate(gt, records, image_ids=some.tolist()))


def test_bitmap_masks_and_xyxy_boxes_for_one_image(shared: Path) -> None:
    gt, _ = _fake(shared, "segm")
    image = gt.images[0]
    h, w = image["height"], image["width"]
    masks = np.zeros((2, h, w), np.uint8)
    masks[0, 10:60, 20:90] = 1
    masks[1, 100:150, 200:260] = 1
    ev = Evaluator(gt, "segm")
    ev.add(image["id"], scores=[0.9, 0.8], category_ids=[1, 1], masks=masks)
    from cocoseg import masks as cm

    rles = cm.encode(masks)
    ref = evaluate(gt, [{"image_id": image["id"], "category_id": 1, "segmentation": r, "score": s}
                        for r, s in zip(rles, (0.9, 0.8))], "segm")
    _same(ev.compute(), ref)
    box = Evaluator(gt, "bbox")
    box.add(image["id"], scores=[0.9], category_ids=[1], boxes_xyxy=[[20, 10, 90, 60]])
    _same(box.compute(), evaluate(gt, [{"image_id": image["id"], "category_id": 1, "bbox": [20, 10, 70, 50], "score": 0.9}]))


def test_mistakes_are_reported(shared: Path) -> None:
    gt, path = _fake(shared, "bbox")
    ev = Evaluator(gt, "bbox")
    image_id = gt.images[0]["id"]
    ev.add(image_id, scores=[], category_ids=[], boxes_xywh=np.zeros((0, 4)))
    with pytest.raises(CocosegError, match="already added"):
        ev.add(image_id, scores=[], category_ids=[], boxes_xywh=np.zeros((0, 4)))
    with pytest.raises(CocosegError, match="2 boxes for 1 scores"):
        ev.add(gt.images[1]["id"], scores=[0.5], category_ids=[1], boxes_xywh=np.zeros((2, 4)))
    ev.add(gt.images[1]["id"], scores=[0.5], category_ids=[1], boxes_xywh=np.zeros((1, 4)))  # a fixed retry
    with pytest.raises(CocosegError, match="needs boxes"):
        ev.add(gt.images[2]["id"], scores=[0.5], category_ids=[1])
    with pytest.raises(CocosegError, match="different parameters|other parameters"):
        ev.update_from(Evaluator(gt, "bbox", max_dets=[1, 10]).state())
    with pytest.raises(DataError, match=r"result 1: image_id 123456789 is not an image"):
        evaluate(gt, [{"image_id": image_id, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1.0},
                      {"image_id": 123456789, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1.0}])


def test_custom_max_dets_and_areas_are_honoured_in_the_summary(shared: Path) -> None:
    gt, path = _fake(shared, "bbox")
    result = evaluate(gt, path, max_dets=[5, 50], area_ranges={"all": (0, 1e10), "tiny": (0, 16**2)})
    assert [i.name for i in result.items] == ["ap", "ap50", "ap75", "ap_tiny", "ar5", "ar50", "ar_tiny"]
    assert all(v > 0 for v in result.stats)
    assert result.ar50 == result.metrics["ar50"]
    assert "maxDets= 50" in result.summary().splitlines()[0] and "area=  tiny" in result.summary().splitlines()[3]
    with pytest.raises(CocosegError, match="maxDets\\[2\\]"):
        evaluate(gt, path, max_dets=[5, 50], pycocotools_compat=True)
    legacy = evaluate(gt, path, max_dets=[1, 10, 50], pycocotools_compat=True)
    assert legacy.stats[0] == -1  # pycocotools' hard-coded maxDets=100 for the headline AP
    per_class = {r["category_id"]: r for r in evaluate(gt, path).per_class}
    assert per_class[1]["name"] == "person" and per_class[1]["num_gt"] > 0 and 0 < per_class[1]["ap"] < 1


def test_keypoints_per_image_equal_the_results_file(shared: Path) -> None:
    root = shared / "data" / "fce-eval-fixtures" / "keypoints_val2017_139099"
    gt = CocoDataset.load(root / "gt.json")
    res = load_results(root / "dt.json")
    ev = Evaluator(gt, "keypoints")
    image_id = int(res.image_ids[0])
    ev.add(image_id, scores=res.scores, category_ids=res.category_ids, boxes_xywh=res.boxes_xywh,
           keypoints=res.keypoints.reshape(len(res), -1, 3))
    _same(ev.compute(), evaluate(gt, root / "dt.json", "keypoints"))
    with pytest.raises(CocosegError, match="keypoints"):
        bad = Evaluator(gt, "keypoints")
        bad.add(image_id, scores=[0.5], category_ids=[1], keypoints=np.zeros((1, 5, 3)))
        bad.compute()
