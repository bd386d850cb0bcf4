"""The reference's predict options: save_txt/save_conf, save_crop, line_width, show_*, vid_stride, stream, sources."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg.cli.main import main
from cocoseg.engine.checkpoints import save_checkpoint
from cocoseg.engine.predictor import Predictor
from cocoseg.errors import CocosegError

_spec = importlib.util.spec_from_file_location("predict_helpers", Path(__file__).with_name("test_predict.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


@pytest.fixture(scope="module")
def model():
    return helpers.calibrated_model()


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, img in enumerate(helpers.synthetic_images()):
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    return folder


def test_save_txt_conf_and_crops(model, image_dir, tmp_path):
    weights = save_checkpoint(tmp_path / "m.pt", model)
    common = [f"model={weights}", f"source={image_dir}", "imgsz=160", "conf=0.3", "threads=1",
              f"project={tmp_path / 'runs'}", "stream=True"]
    assert main(["predict", *common, "save_txt=True", "save_conf=True", "save_crop=True"]) == 0
    run = tmp_path / "runs" / "exp"
    assert not list(run.glob("*.png"))  # save=False: labels and crops only
    results = Predictor(model, imgsz=160, conf=0.3, threads=1)(image_dir)
    crops = sorted((run / "crops").rglob("*.jpg"))
    assert len(crops) == sum(len(r) for r in results) > 0
    for r in results:
        lines = (run / "labels" / f"{Path(r.path).stem}.txt").read_text().splitlines()
        assert len(lines) == len(r)
        h, w = r.image_shape
        for line, label, score, box in zip(lines, r.classes, r.scores, r.boxes_xyxy):
            nums = line.split()
            assert int(nums[0]) == label and abs(float(nums[-1]) - score) < 1e-5
            xy = np.array(nums[1:-1], dtype=float).reshape(-1, 2) * [w, h]
            assert len(xy) >= 3 and np.all(xy >= box[:2] - 1) and np.all(xy <= box[2:] + 1)  # the outline in its box
        name = r.names[int(r.classes[0])] if len(r) else None
        if name:
            crop = cv2.imread(str(run / "crops" / name / f"{Path(r.path).stem}_0.jpg"))
            x1, y1, x2, y2 = r.boxes_xyxy[0]
            assert crop.shape[:2] == (int(np.ceil(y2)) - int(np.floor(y1)), int(np.ceil(x2)) - int(np.floor(x1)))
    assert main(["predict", *common, "save_txt=True", "exist_ok=True"]) == 0  # no score without save_conf
    line = (run / "labels" / "img0.txt").read_text().splitlines()[0].split()
    assert len(line) % 2 == 1


def test_drawing_options_change_the_drawing(model, image_dir, tmp_path):
    weights = save_checkpoint(tmp_path / "m.pt", model)
    drawn = {}
    for name, extra in {"default": [], "thin": ["line_width=1", "show_labels=False"], "noconf": ["show_conf=False"]}.items():
        assert main(["predict", f"model={weights}", f"source={image_dir / 'img0.png'}", "imgsz=160", "conf=0.3",
                     "threads=1", "save=True", f"project={tmp_path / 'runs'}", f"name={name}", *extra]) == 0
        drawn[name] = cv2.imread(str(tmp_path / "runs" / name / "img0.png")).astype(int)
    assert np.abs(drawn["default"] - drawn["thin"]).sum() > 0
    assert np.abs(drawn["default"] - drawn["noconf"]).sum() > 0


def test_vid_stride_and_unsupported_sources(model, tmp_path, capsys):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (200, 150))
    frames = helpers.synthetic_images()
    for k in range(5):
        writer.write(frames[2 * (k % 2)])  # the two 200x150 images
    writer.release()
    results = Predictor(model, imgsz=160, conf=0.3, threads=1, vid_stride=2)(path)
    assert [r.frame for r in results] == [0, 2, 4]
    for source, words in (("0", "webcam"), ("https://example.com/a.jpg", "URLs"), ("rtsp://cam/1", "URLs")):
        with pytest.raises(CocosegError, match=f"{words}.*not supported"):
            Predictor(model, threads=1)(source)
    assert main(["predict", "model=yolov8n-seg.yaml", "source=0"]) == 1
    assert "not supported" in capsys.readouterr().err
