"""val / predict / export take the input size a checkpoint was trained at unless one is given (issue 14.1)."""
from __future__ import annotations

import json

import pytest
import torch

from cocoseg.engine.checkpoints import resolve_imgsz, save_checkpoint, trained_imgsz
from cocoseg.models import ModelConfig, SegmentationModel


@pytest.fixture(scope="module")
def trained_at_96(tmp_path_factory):
    torch.manual_seed(0)
    net = SegmentationModel(ModelConfig("n", num_classes=9, depth=0.33, width=0.125, max_channels=1024))
    root = tmp_path_factory.mktemp("imgsz")
    return save_checkpoint(root / "best.pt", net, extra={"train_args": {"imgsz": 96, "epochs": 1}})


def test_resolution_rule(trained_at_96, tmp_path):
    assert trained_imgsz(trained_at_96) == 96
    assert resolve_imgsz(trained_at_96, None) == 96
    assert resolve_imgsz(trained_at_96, [64]) == 64 and resolve_imgsz(trained_at_96, [64, 128]) == (64, 128)
    assert resolve_imgsz("yolov8n-seg", None) == 640  # a fresh model: the reference default
    plain = save_checkpoint(tmp_path / "plain.pt", SegmentationModel(ModelConfig("n", num_classes=2)))
    assert resolve_imgsz(plain, None) == 640


def test_val_and_export_use_the_trained_size(trained_at_96, tmp_path, monkeypatch):
    from cocoseg.cli.main import main
    from cocoseg.engine import validator
    from cocoseg.synth import generate

    data = generate(tmp_path / "data", num_images=2, seed=1, size=(64, 64), val_fraction=0.5)
    sizes = []
    real = validator.SegmentationDataset
    monkeypatch.setattr(validator, "SegmentationDataset", lambda labels, imgsz, **kw: sizes.append(imgsz) or
                        real(labels, imgsz, **kw))
    assert main(["val", f"model={trained_at_96}", f"data={data.data_yaml}", "workers=0", "device=cpu"]) == 0
    assert sizes == [96]
    pytest.importorskip("onnx")
    out = tmp_path / "m.onnx"
    assert main(["export", f"model={trained_at_96}", f"output={out}"]) == 0
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["imgsz"]) == [96, 96]
