"""ONNX files laid out as the reference implementation exports them (output0/output1, names as a Python literal)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cocoseg.engine.export import export_onnx
from cocoseg.engine.onnx_runtime import parse_names
from cocoseg.engine.predictor import Predictor
from cocoseg.errors import CocosegError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
_spec = importlib.util.spec_from_file_location("_predict_tests", Path(__file__).with_name("test_predict.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def reference_style(src: Path, dst: Path) -> Path:
    """Rewrite a cocoseg export the way the reference's exporter writes its files: outputs output0 and
    output1, metadata values as `str()` of Python objects (names "{0: 'disc', ...}", imgsz "[160, 160]")."""
    proto = onnx.load(str(src))
    renames = {"pred": "output0", "protos": "output1"}
    for node in proto.graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
    for out in proto.graph.output:
        out.name = renames.get(out.name, out.name)
    meta = {"description": "Ultralytics YOLOv8n-seg model", "author": "Ultralytics", "version": "8.4.190",
            "stride": "32", "task": "segment", "batch": "1", "imgsz": "[160, 160]",
            "names": str({0: "disc", 1: "square", 2: "other"}), "args": "{'batch': 1, 'half': False}"}
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(dst))
    return dst


def zero_to_one_graph(model, path: Path) -> Path:
    """An export of `model` whose graph takes 0..1 input, as the reference's (and cocoseg's older) graphs do:
    the model's own division by 255 set to a division by 1."""
    import copy

    net = copy.deepcopy(model)
    net.input_std.fill_(1.0)
    return export_onnx(net, path, imgsz=160)


def test_reference_exported_onnx_predicts_like_ours(tmp_path):
    model = helpers.calibrated_model()
    ours = export_onnx(model, tmp_path / "ours.onnx", imgsz=160)
    theirs = reference_style(zero_to_one_graph(model, tmp_path / "plain.onnx"), tmp_path / "theirs.onnx")
    assert "{0: 'disc'" in {p.key: p.value for p in onnx.load(str(theirs)).metadata_props}["names"]
    images = helpers.synthetic_images()
    a = Predictor(ours, imgsz=160, conf=0.3, threads=1)(images)
    b = Predictor(theirs, imgsz=160, conf=0.3, threads=1)
    assert b.names == {0: "disc", 1: "square", 2: "other"}
    for x, y in zip(a, b(images)):
        assert np.array_equal(x.boxes_xyxy, y.boxes_xyxy) and np.array_equal(x.classes, y.classes)
    assert sum(len(r) for r in a) > 0


def test_names_are_read_as_literals_never_run():
    assert parse_names('{"0": "a", "1": "b"}') == {0: "a", 1: "b"}
    assert parse_names("{0: 'person', 1: \"it's\"}") == {0: "person", 1: "it's"}
    assert parse_names("['x', 'y']") == {0: "x", 1: "y"}
    with pytest.raises(CocosegError, match="neither JSON nor a Python literal"):
        parse_names("__import__('os').system('true')")
    with pytest.raises(CocosegError, match="ids must be 0..1"):
        parse_names("{0: 'a', 5: 'b'}")


def test_static_onnx_letterboxes_to_its_exported_shape(tmp_path, caplog):
    model = helpers.calibrated_model()
    path = export_onnx(model, tmp_path / "static.onnx", imgsz=160)
    images = helpers.synthetic_images()
    onnx_predictor = Predictor(path, imgsz=320, conf=0.3, threads=1)  # the file decides: 160x160
    assert "static input of 160x160: imgsz 320 is not used" in caplog.text
    assert onnx_predictor.imgsz == (160, 160) and onnx_predictor.input_hw([(150, 200)]) == (160, 160)
    # a .pt predicts the same at the exported size without rectangular padding (rect=False)
    torch_results = Predictor(model, imgsz=160, conf=0.3, threads=1, rect=False)(images)
    for a, b in zip(torch_results, onnx_predictor(images)):
        assert len(a) == len(b) and np.array_equal(a.classes, b.classes)
        np.testing.assert_allclose(a.boxes_xyxy, b.boxes_xyxy, atol=0.05)


def test_an_export_from_before_the_model_normalised_is_fed_0_to_1_with_a_warning(tmp_path, caplog):
    model = helpers.calibrated_model()
    ours = export_onnx(model, tmp_path / "ours.onnx", imgsz=160)
    old = zero_to_one_graph(model, tmp_path / "old.onnx")
    proto = onnx.load(str(old))
    keep = [(p.key, p.value) for p in proto.metadata_props if p.key != "input_range"]
    del proto.metadata_props[:]
    for key, value in keep:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(old))
    images = helpers.synthetic_images()
    new_results = Predictor(ours, imgsz=160, conf=0.3, threads=1)(images)
    assert "before the model normalised its own input" not in caplog.text
    old_results = Predictor(old, imgsz=160, conf=0.3, threads=1)(images)
    assert "old.onnx: exported by cocoseg" in caplog.text and "re-export it" in caplog.text
    for x, y in zip(new_results, old_results):
        assert np.array_equal(x.boxes_xyxy, y.boxes_xyxy) and np.array_equal(x.classes, y.classes)
    assert sum(len(r) for r in new_results) > 0
