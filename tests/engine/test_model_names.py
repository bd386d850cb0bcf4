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
