"""ONNX export: named outputs, metadata, and ONNX Runtime predictions equal to the torch model's."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg.cli.main import main
from cocoseg.engine.checkpoints import save_checkpoint
from cocoseg.engine.export import export_onnx
from cocoseg.engine.predictor import Predictor
from cocoseg.masks import iou as mask_iou

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

# the calibrated test model and synthetic images are shared with the predict tests
_spec = importlib.util.spec_from_file_location("_predict_tests", Path(__file__).with_name("test_predict.py"))
_predict_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_predict_tests)



@pytest.fixture(scope="module")
def model():
    return _predict_tests.calibrated_model()


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt, rb = np.maximum(a[:, :2], b[:, :2]), np.minimum(a[:, 2:], b[:, 2:])
    inter = np.clip(rb - lt, 0, None).prod(1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _assert_same_detections(torch_results, onnx_results) -> int:
    kept = 0
    for a, b in zip(torch_results, onnx_results):
        assert len(a) == len(b) and np.array_equal(a.classes, b.classes)
        if len(a):
            assert _box_iou(a.boxes_xyxy, b.boxes_xyxy).min() >= 0.99
            ious = [mask_iou([x], [y], [0])[0, 0] for x, y in zip(a.masks.rle(), b.masks.rle())]
            assert min(ious) >= 0.98
        kept += len(a)
    return kept


@pytest.mark.parametrize("dynamic", [False, True])
def test_onnx_runtime_gives_the_same_detections(model, tmp_path, dynamic):
    path = export_onnx(model, tmp_path / "m.onnx", imgsz=160, dynamic=dynamic)
    images = _predict_tests.synthetic_images()
    kw = dict(imgsz=160, conf=0.3, threads=1, rect=dynamic)  # a static export always runs at imgsz
    kept = _assert_same_detections(Predictor(model, **kw)(images), Predictor(path, **kw)(images))
    assert kept >= 10


def test_outputs_and_metadata(model, tmp_path):
    path = export_onnx(model, tmp_path / "m.onnx", imgsz=(128, 160), dynamic=True)
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["images"]
    outputs = {o.name: o for o in proto.graph.output}
    assert list(outputs) == ["pred", "protos"]
    assert outputs["pred"].type.tensor_type.shape.dim[1].dim_value == 4 + 3 + 32
    assert "mask coefficients" in outputs["pred"].doc_string
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["names"]) == {"0": "disc", "1": "square", "2": "other"}
    assert meta["stride"] == "32" and json.loads(meta["imgsz"]) == [128, 160] and meta["dynamic"] == "True"
    assert meta["nc"] == "3" and meta["num_masks"] == "32"
    assert not any(n.op_type == "BatchNormalization" for n in proto.graph.node)  # exported fused
    # the normalisation is in the graph: its first op divides the 0..255 input, and the metadata says so
    assert meta["input_range"] == "0-255" and "0..255" in proto.graph.input[0].doc_string
    first = next(n for n in proto.graph.node if "images" in n.input)
    assert first.op_type == "Div"


def test_fixed_batch_export_pads_partial_batches(model, tmp_path):
    path = export_onnx(model, tmp_path / "b2.onnx", imgsz=160, batch=2)
    images = _predict_tests.synthetic_images()
    one = Predictor(path, imgsz=160, conf=0.3, threads=1)(images)
    three = Predictor(path, imgsz=160, conf=0.3, threads=1, batch=3)(images)
    assert [len(r) for r in one] == [len(r) for r in three]


def test_cli_export(model, tmp_path):
    weights = save_checkpoint(tmp_path / "best.pt", model)
    assert main(["export", f"model={weights}", "imgsz=96"]) == 0
    assert (tmp_path / "best.onnx").is_file()
    assert main(["export", f"model={weights}", "half=True"]) == 1  # float16 needs CUDA
    rounded = export_onnx(model, tmp_path / "x.onnx", imgsz=100)  # rounded up to the stride, with a warning
    assert json.loads({p.key: p.value for p in onnx.load(str(rounded)).metadata_props}["imgsz"]) == [128, 128]
