"""COCO test-dev submission: file name, zip layout, image ids of the image-info file, 91-id categories, <= 100 per image."""
from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

import cv2
import pytest

from cocoseg.cli.main import main
from cocoseg.engine.distributed import DistContext
from cocoseg.engine.predict_run import PredictOutputs, run_prediction
from cocoseg.engine.predictor import Predictor
from cocoseg.engine.submission import RecordCheck, result_file_name
from cocoseg.errors import CocosegError
from cocoseg.predictions.coco_names import COCO80_NAMES, COCO80_TO_91

_spec = importlib.util.spec_from_file_location("predict_helpers", Path(__file__).with_name("test_predict.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def test_submission_zip_for_the_coco_server(tmp_path, capsys):
    folder = tmp_path / "test2017"
    folder.mkdir()
    for i, img in enumerate(helpers.synthetic_images()):
        cv2.imwrite(str(folder / f"{i:012d}.jpg"), img)
    info = {"info": {"description": "test-dev"}, "images": [
        {"id": 500 + i, "file_name": f"{i:012d}.jpg", "width": 1, "height": 1} for i in range(3)],
        "categories": [{"id": c, "name": n, "supercategory": ""} for n, c in zip(COCO80_NAMES, COCO80_TO_91)]}
    info_path = tmp_path / "image_info_test-dev2017.json"
    info_path.write_text(json.dumps(info))
    assert main(["validate", str(info_path)]) == 0
    assert "an image-info file" in capsys.readouterr().out

    predictor = Predictor(helpers.calibrated_model(), imgsz=160, conf=0.001, max_det=300, threads=1)
    predictor.backend.names = {0: "stop sign", 1: "bench", 2: "toothbrush"}  # COCO ids 13, 15, 90
    out = PredictOutputs(ann=str(info_path), submission="tiny", project=str(tmp_path / "runs"))
    run_prediction(predictor, folder, out, DistContext())
    run = tmp_path / "runs" / "exp"
    name = "detections_test-dev2017_tiny_results.json"
    with zipfile.ZipFile(run / "detections_test-dev2017_tiny_results.zip") as zf:
        assert zf.namelist() == [name]
        records = json.loads(zf.read(name))
    assert records == json.loads((run / name).read_text())
    per_image = {i: sum(r["image_id"] == i for r in records) for i in (500, 501, 502)}
    assert set(per_image.values()) == {100}  # 300 kept by NMS, the best 100 submitted
    assert {r["category_id"] for r in records} <= {13, 15, 90}
    assert all(0 <= r["score"] <= 1 and "counts" in r["segmentation"] for r in records)


def test_submission_checks():
    assert result_file_name("my-net_v2") == "detections_test-dev2017_my-net_v2_results.json"
    with pytest.raises(CocosegError, match="not a valid algorithm name"):
        result_file_name("../x")
    check = RecordCheck([1, 2], "info.json")
    check({"image_id": 1, "category_id": 2, "score": 0.5, "bbox": [0, 0, 1, 1]})
    with pytest.raises(CocosegError, match="category_id 12 is not a category"):
        check({"image_id": 1, "category_id": 12, "score": 0.5, "bbox": [0, 0, 1, 1]})
    with pytest.raises(CocosegError, match=r"outside \[0, 1\]"):
        check({"image_id": 1, "category_id": 1, "score": 1.5, "bbox": [0, 0, 1, 1]})
    with pytest.raises(CocosegError, match="needs ann="):
        PredictOutputs(submission="x")
