"""`model=yolov8n-seg` means the released yolov8n-seg.pt (issue 14.2): lookup order and the offline error."""
from __future__ import annotations

import pytest

from cocoseg.engine.checkpoints import resolve_weights, save_checkpoint
from cocoseg.errors import CocosegError
from cocoseg.models import ModelConfig, SegmentationModel


def _weights(path):
    return save_checkpoint(path, SegmentationModel(ModelConfig("n", num_classes=2, width=0.125)))


def test_lookup_working_folder_then_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COCOSEG_CACHE", str(tmp_path / "cache"))
    cached = _weights(tmp_path / "cache" / "weights" / "yolov8n-seg.pt")
    assert resolve_weights("yolov8n-seg") == cached
    local = _weights(tmp_path / "yolov8n-seg.pt")
    assert resolve_weights("yolov8n-seg") == local  # the working folder first
    assert resolve_weights("yolov8n-seg.yaml") == "yolov8n-seg.yaml"  # an untrained model, by its config name
    assert resolve_weights("other.pt") == "other.pt"


def test_not_found_offline_or_download_failing_is_one_clear_error(tmp_path, monkeypatch, capsys):
    from cocoseg.cli.main import main
    from cocoseg.datasets import download

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COCOSEG_CACHE", str(tmp_path / "cache"))
    with pytest.raises(CocosegError, match=r"released yolov8s-seg\.pt.*offline.*model=yolov8s-seg\.yaml"):
        resolve_weights("yolov8s-seg")
    monkeypatch.delenv("COCOSEG_OFFLINE")

    def no_network(url, dest, **kw):
        assert url.endswith("/yolov8s-seg.pt") and str(dest).startswith(str(tmp_path / "cache" / "weights"))
        raise OSError("network unreachable")

    monkeypatch.setattr(download, "download_file", no_network)
    with pytest.raises(CocosegError, match="download failed: network unreachable"):
        resolve_weights("yolov8s-seg")
    assert main(["export", "model=yolov8s-seg"]) == 1
    err = capsys.readouterr().err
    assert "yolov8s-seg.yaml for an untrained model" in err and "Traceback" not in err


def test_train_starts_from_the_released_weights_a_name_resolves_to(tmp_path, monkeypatch, caplog):
    import logging

    import torch

    from cocoseg.engine.model_setup import build_training_model

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COCOSEG_CACHE", str(tmp_path / "cache"))
    names = {0: "a", 1: "b"}
    with pytest.raises(CocosegError, match=r"released yolov8n-seg\.pt.*model=yolov8n-seg\.yaml"):
        build_training_model("yolov8n-seg", names, 64, None)  # offline, nowhere on disk: no silent scratch
    released = _weights(tmp_path / "cache" / "weights" / "yolov8n-seg.pt")
    with caplog.at_level(logging.INFO, logger="cocoseg"):
        net = build_training_model("yolov8n-seg", names, 64, None)
    assert f"fine-tuning from {released}" in caplog.text
    source = SegmentationModel(ModelConfig("n", num_classes=2, width=0.125))
    assert net.config.width == 0.125 and source.config == net.config  # the checkpoint's architecture
    key = "backbone.stem.conv.weight"
    from cocoseg.models import load_model

    assert torch.equal(net.state_dict()[key], load_model(released).state_dict()[key])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cocoseg"):
        scratch = build_training_model("yolov8n-seg.yaml", names, 64, None)
        build_training_model("yolov8n-seg", names, 64, None, pretrained=False)
    assert scratch.config.width == 0.25  # the registry's yolov8n-seg, untrained
    assert caplog.text.count("from scratch") == 2 and "pretrained=False" in caplog.text
