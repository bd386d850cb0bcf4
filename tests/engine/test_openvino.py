"""OpenVINO export: an IR folder with the ONNX export's metadata, predictions equal to the torch model's."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from cocoseg.cli.main import main
from cocoseg.engine.checkpoints import save_checkpoint
from cocoseg.engine.export import export_openvino
from cocoseg.engine.openvino_runtime import is_openvino_model, read_metadata
from cocoseg.engine.predictor import Predictor
from cocoseg.errors import CocosegError

ov = pytest.importorskip("openvino")
pytest.importorskip("onnx")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the calibrated test model, the synthetic images and the ONNX tolerance are the export tests'
_predict_tests = _load("test_predict")
_export_tests = _load("test_export")


@pytest.fixture(scope="module")
def model():
    return _predict_tests.calibrated_model()


@pytest.mark.parametrize("dynamic", [False, True])
def test_openvino_gives_the_same_detections_as_torch(model, tmp_path, dynamic):
    folder = export_openvino(model, tmp_path / "m_openvino", imgsz=160, dynamic=dynamic)
    assert sorted(p.name for p in folder.iterdir()) == ["model.bin", "model.xml"]
    images = _predict_tests.synthetic_images()
    kw = dict(imgsz=160, conf=0.3, threads=1, rect=dynamic)
    kept = _export_tests._assert_same_detections(Predictor(model, **kw)(images), Predictor(folder, **kw)(images))
    assert kept >= 10


def test_metadata_is_the_onnx_exports(model, tmp_path):
    folder = export_openvino(model, tmp_path / "m_openvino", imgsz=(128, 160), batch=2)
    meta = read_metadata(ov.Core().read_model(str(folder / "model.xml")))
    assert json.loads(meta["names"]) == {"0": "disc", "1": "square", "2": "other"}
    assert meta["stride"] == "32" and json.loads(meta["imgsz"]) == [128, 160] and meta["dynamic"] == "False"
    assert meta["nc"] == "3" and meta["num_masks"] == "32" and meta["producer"] == "cocoseg"
    predictor = Predictor(folder, imgsz=160, conf=0.3, threads=1, batch=3)
    assert predictor.names == {0: "disc", 1: "square", 2: "other"}
    assert predictor.input_hw([(150, 200)]) == (128, 160)  # a static export runs at its size
    assert len(predictor(_predict_tests.synthetic_images())) == 3  # 3 images through a batch-2 model


def test_cli_export_and_predict(model, tmp_path):
    weights = save_checkpoint(tmp_path / "best.pt", model)
    assert main(["export", f"model={weights}", "format=openvino", "imgsz=96"]) == 0
    folder = tmp_path / "best_openvino"
    assert is_openvino_model(folder) and is_openvino_model(folder / "model.xml")
    assert not is_openvino_model(tmp_path) and not is_openvino_model(weights)
    # a second export replaces the first in place, leaving no temporary folder behind
    assert main(["export", f"model={weights}", "format=openvino", "imgsz=128"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "best_openvino"]
    image = tmp_path / "a.png"
    import cv2

    cv2.imwrite(str(image), _predict_tests.synthetic_images(1)[0])
    assert main(["predict", f"model={folder}", f"source={image}", "conf=0.3", "imgsz=128",
                 f"save_coco={tmp_path / 'pred.json'}"]) == 0
    assert isinstance(json.loads((tmp_path / "pred.json").read_text()), list)


def test_a_folder_without_metadata_is_refused(model, tmp_path):
    import onnx

    path = _export_tests.export_onnx(model, tmp_path / "m.onnx", imgsz=96)
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    onnx.save(proto, str(path))
    (tmp_path / "bare").mkdir()
    ov.save_model(ov.convert_model(str(path)), str(tmp_path / "bare" / "model.xml"))
    with pytest.raises(CocosegError, match="names"):
        Predictor(tmp_path / "bare", imgsz=96)
