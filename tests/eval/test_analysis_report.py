"""analyze() on real data: every piece runs, agrees with the evaluation, and serializes to strict JSON."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.eval.analysis.analyze import analyze

PUBLISHED_AP = {"bbox": 0.5045806987249628, "segm": 0.3195452758576433}
# the error counts tidecv 1.0.1 (the TIDE authors' package) reports for these files
TIDECV_COUNTS = {"bbox": {"cls": 83, "loc": 1, "both": 0, "dupe": 1, "bkg": 0, "miss": 97},
                 "segm": {"cls": 76, "loc": 82, "both": 7, "dupe": 0, "bkg": 4, "miss": 109}}


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_analysis_of_the_fake100_results(iou_type: str, fake100: Path) -> None:
    root = fake100
    kind = "fakebbox100" if iou_type == "bbox" else "fakesegm100"
    a = analyze(root / "annotations" / "instances_val2014_100.json",
                root / "results" / f"instances_val2014_{kind}_results.json", iou_type)
    assert a.result.ap == pytest.approx(PUBLISHED_AP[iou_type], abs=1e-12)
    assert a.slices is not None and a.slices["all"].ap == pytest.approx(a.result.ap, abs=1e-12)
    assert a.errors is not None and a.errors.ap == pytest.approx(a.result.ap50, abs=1e-12)
    assert a.errors.counts == TIDECV_COUNTS[iou_type]
    assert a.errors.oracle_ap == pytest.approx(1.0, abs=1e-12)
    assert all(v >= -1e-12 for v in a.errors.delta_ap.values())
    assert a.confusion is not None and a.confusion.confidence == a.f1.best_confidence
    # every kept detection lands in exactly one cell or is ignored; every regular GT in one row
    kept = a.result.state.dt_score >= a.confusion.confidence
    assert a.confusion.matrix[:, :-1].sum() + a.confusion.ignored == int(kept.sum())
    assert a.confusion.matrix[:-1].sum() == a.result.state.num_gt - int(a.result.state.gt_ignore[0].sum())
    payload = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert payload["evaluation"]["stats"][0] == pytest.approx(PUBLISHED_AP[iou_type], abs=1e-12)
    assert payload["confusion"]["names"][0] == "person" and payload["errors"]["counts"]["miss"] > 0
    text = a.format()
    assert "TIDE errors" in text and "occluded" in text and "person" in text


def test_keypoints_analysis(shared: Path) -> None:
    root = shared / "data" / "fce-eval-fixtures" / "keypoints_val2017_139099"
    a = analyze(root / "gt.json", root / "dt.json", "keypoints")
    assert a.confusion is None and a.errors is None  # no box/mask overlap across categories
    assert a.result.ap == pytest.approx(0.5048844884488449, abs=1e-12)
    assert a.slices is not None and a.slices.max_dets == 20
    assert a.slices["all"].ap == pytest.approx(a.result.ap, abs=1e-12)
    assert a.slices["all"].num_gt == 11  # 14 annotations: two without visible keypoints and a crowd are ignored
    assert "OKS 0.50" in a.format()
    json.dumps(a.to_dict(), allow_nan=False)
