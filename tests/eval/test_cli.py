"""`cocoseg eval` in-process: printed summary, JSON output, clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.cli.main import main

SEGM_AP = 0.3195452758576433


def _paths(shared: Path, iou_type: str) -> tuple[str, str]:
    root = shared / "data" / "cocoapi-val2014-fake100"
    return (str(root / "annotations" / "instances_val2014_100.json"),
            str(root / "results" / f"instances_val2014_fake{iou_type}100_results.json"))


def test_summary_table_and_json(shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt, res = _paths(shared, "segm")
    out = tmp_path / "metrics.json"
    assert main(["eval", gt, res, "--iou-type", "segm", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.320"
    assert len([line for line in printed if "Average" in line]) == 12
    assert any(line.split()[:2] == ["1", "person"] for line in printed)  # the per-class table
    data = json.loads(out.read_text())
    assert data["stats"][0] == pytest.approx(SEGM_AP, abs=1e-12) and len(data["stats"]) == 12
    assert data["params"]["iou_type"] == "segm" and data["params"]["max_dets"] == [1, 10, 100]
    person = next(r for r in data["per_class"] if r["category_id"] == 1)
    assert set(person) >= {"name", "ap", "ap50", "ap75", "ar100", "num_gt", "num_dt"}


def test_key_value_options(shared: Path, capsys: pytest.CaptureFixture) -> None:
    gt, res = _paths(shared, "bbox")
    assert main(["eval", gt, res, "iou_type=bbox", "per_class=False", "max_dets=1,10"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 11 and "maxDets= 10" in printed[0]


def test_bad_inputs_exit_1_with_a_message(shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt, _ = _paths(shared, "bbox")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.1}]))
    assert main(["eval", gt, str(bad)]) == 1
    assert "bad.json: result 0: image_id 7 is not an image of the ground truth" in capsys.readouterr().err
    assert main(["eval", gt, str(tmp_path / "missing.json")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["eval", gt, str(bad), "--max_dets", "a,b"]) == 1
    assert main(["eval", gt, str(bad), "--iou_type", "masks"]) == 2
