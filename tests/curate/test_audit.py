"""`audit` end to end: each error kind found, the review list, CSV, suggested fixes, the CLI."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import shared_path
from tests.curate._data import audit_case

from cocoseg.cli.main import main
from cocoseg.curate.audit import audit
from cocoseg.curate.audit_report import issues_csv, suggested_fixes
from cocoseg.eval.analysis._prepare import load_inputs


@pytest.mark.parametrize("geometry", ["mask", "box"])
def test_every_kind_is_flagged(geometry: str) -> None:
    gt, dets = audit_case()
    report = audit(gt, dets, geometry=geometry)
    found = {(i["type"], i["annotation_id"]) for i in report.issues}
    assert found == {("swap", 2), ("badloc", 3), ("duplicate", 4), ("degenerate", 5), ("overlooked", None)}
    swap = next(i for i in report.issues if i["type"] == "swap")
    assert swap["suggested_category_id"] == 2 and swap["fix"] == "relabelled"
    assert [im["image_id"] for im in report.images] == [1, 2]  # the faulty image first
    assert report.images[1]["image_score"] > 0.99 and report.images[0]["image_score"] < 0.1
    by_id = {a["annotation_id"]: a for a in report.annotations}
    assert by_id[1]["issues"] == [] and by_id[6]["issues"] == []


def test_box_scores_by_hand() -> None:
    gt, dets = audit_case()
    report = audit(gt, dets, geometry="box", calibrate=False)
    by_id = {a["annotation_id"]: a["scores"] for a in report.annotations}
    iou = 15 * 15 / (400 + 400 - 225)  # label 3 vs its prediction shifted by (5, 5)
    assert by_id[3]["badloc"] == pytest.approx(0.9 * iou + 0.1 * 2.718281828 ** (-0.1 * 50 ** 0.5), abs=1e-9)
    # identical box: similarity 1 -> the floor, the smallest similarity of the dataset: label 5 (centre 90.5, 90.5)
    # against the prediction centred at (20, 20)
    floor = 0.1 * 2.718281828459045 ** (-0.1 * (2 * 70.5 ** 2) ** 0.5)
    assert report.settings["floor"] == pytest.approx(floor, rel=1e-9) and by_id[2]["swap"] == report.settings["floor"]
    assert by_id[4]["duplicate"] == pytest.approx(0.0) and by_id[1]["duplicate"] == 1.0


def test_fixes_and_csv() -> None:
    gt, dets = audit_case()
    gt_ds, loaded = load_inputs(gt, dets, "segm")
    report = audit(gt_ds, loaded)
    fixed = suggested_fixes(gt_ds, loaded, report)
    anns = {a["id"]: a for a in fixed.annotations}
    assert 4 not in anns and 5 not in anns  # duplicate and degenerate removed ...
    assert sorted(r["annotation"]["id"] for r in fixed.info["audit"]["removed"]) == [4, 5]  # ... and kept in info
    assert anns[2]["category_id"] == 2 and anns[2]["audit"]["fix"] == "relabelled"
    assert anns[2]["audit"]["previous_category_id"] == 1
    assert anns[3]["audit"]["fix"] == "reshaped" and anns[3]["bbox"][:2] == [15.0, 65.0]
    added = [a for a in fixed.annotations if a.get("audit", {}).get("fix") == "added"]
    assert len(added) == 1 and added[0]["bbox"][:2] == [60.0, 60.0] and added[0]["id"] == 7
    assert gt_ds.annotation(2)["category_id"] == 1  # the audited dataset is untouched
    rows = list(csv.DictReader(issues_csv(report).splitlines()))
    assert [int(r["rank"]) for r in rows] == list(range(1, 6)) and {r["type"] for r in rows} >= {"swap", "overlooked"}


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt, dets = audit_case()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dets))
    out = tmp_path / "issues.json"
    assert main(["audit", str(tmp_path / "gt.json"), str(tmp_path / "dt.json"), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert len(data["issues"]) == 5 and data["geometry"] == "mask"
    assert (tmp_path / "issues.csv").exists() and (tmp_path / "issues_fixes.json").exists()
    assert "5 issues in 1 of 2 images" in capsys.readouterr().out
    assert main(["audit", str(tmp_path / "gt.json"), "--out", str(out)]) == 2  # neither predictions nor model
    (tmp_path / "bad.json").write_text(json.dumps([{**dets[0], "image_id": 99}]))
    assert main(["audit", str(tmp_path / "gt.json"), str(tmp_path / "bad.json"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "bad.json" in err and "image_id" in err and "Traceback" not in err


def test_synthetic_data_with_injected_swap(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "cocoseg", "synth", str(tmp_path), "--images", "10", "--val_fraction", "0"],
                   check=True, capture_output=True)
    gt = json.loads((tmp_path / "annotations/instances_train.json").read_text())
    regular = [a for a in gt["annotations"] if not a["iscrowd"]]
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.99,
             "segmentation": a["segmentation"]} for a in regular]
    victim = regular[3]
    victim["category_id"] = victim["category_id"] % 8 + 1
    report = audit(gt, dets)
    assert report.issues[0]["type"] == "swap" and report.issues[0]["annotation_id"] == victim["id"]
    assert all(i["annotation_id"] == victim["id"] for i in report.issues)


def test_real_coco_subset() -> None:
    root = shared_path("data", "cocoapi-val2014-fake100")
    report = audit(root / "annotations/instances_val2014_100.json", root / "results/instances_val2014_fakesegm100_results.json")
    assert report.geometry == "mask" and len(report.images) == 100
    scores = [im["image_score"] for im in report.images]
    assert scores == sorted(scores) and 0 <= scores[0] < scores[-1] <= 1
