"""cocoseg checkpoints: round trip through torch.load(weights_only=True), extras, atomic writes, errors."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from cocoseg.engine.checkpoints import load_checkpoint, save_checkpoint
from cocoseg.errors import CocosegError
from cocoseg.models import build_model, load_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("yolov8n-seg", num_classes=2, names=["cat", "dog"]).eval()


def test_round_trip_with_trainer_extras(model, tmp_path):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    levels, coeffs, protos = model(torch.rand(1, 3, 64, 64) * 255)
    (levels[0].sum() + coeffs.sum() + protos.sum()).backward()
    opt.step()
    model.eval()
    extra = {
        "epoch": 7, "best_fitness": 0.25, "train_args": {"data": "x.yaml", "imgsz": 640, "lr0": 0.01},
        "optimizer": opt.state_dict(), "ema": {"state_dict": model.state_dict(), "updates": 12},
        "rng": {"torch": torch.get_rng_state(), "numpy": np.random.default_rng(0).bit_generator.state,
                "python": random.getstate()},
    }
    path = save_checkpoint(tmp_path / "weights" / "last.pt", model, extra=extra)
    raw = torch.load(path, weights_only=True)  # the contract: plain data only
    assert raw["format"] == "cocoseg-checkpoint" and raw["epoch"] == 7
    ckpt = load_checkpoint(path)
    assert ckpt["model"]["names"] == {0: "cat", 1: "dog"} and ckpt["model"]["config"]["scale"] == "n"
    assert ckpt["optimizer"]["param_groups"][0]["momentum"] == 0.9
    loaded = load_model(path)
    assert loaded.names == model.names and not loaded.training
    x = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        assert torch.equal(model.infer(x)[0], loaded.infer(x)[0])
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temp file left behind


def test_fused_model_round_trip(model, tmp_path):
    import copy

    fused = copy.deepcopy(model).fuse()
    path = save_checkpoint(tmp_path / "fused.pt", fused)
    loaded = load_model(path)
    assert loaded.is_fused
    x = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        assert torch.equal(fused.infer(x)[1], loaded.infer(x)[1])


def test_refusals_leave_existing_file_intact(model, tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "best.pt", model, extra={"epoch": 1})
    before = path.read_bytes()
    with pytest.raises(CocosegError, match="reserved"):
        save_checkpoint(path, model, extra={"model": 1})
    with pytest.raises(CocosegError, match=r"extra\['cfg'\] is a .*SimpleNamespace"):
        import types

        save_checkpoint(path, model, extra={"cfg": types.SimpleNamespace(a=1)})

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, extra={"epoch": 2})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]


def test_load_errors(tmp_path):
    with pytest.raises(CocosegError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CocosegError, match="not a cocoseg checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a zip")
    with pytest.raises(CocosegError, match="not a torch zip checkpoint"):
        load_model(tmp_path / "broken.pt")


def test_corrupted_tensor_bytes_are_one_clear_error(model, tmp_path, capsys):
    from cocoseg.cli.main import main

    path = save_checkpoint(tmp_path / "last.pt", model, extra={"epoch": 1})
    load_checkpoint(path)  # intact: the digest matches
    weight = max(model.state_dict().values(), key=lambda t: t.numel())
    blob = path.read_bytes()
    at = blob.index(weight.detach().contiguous().numpy().tobytes()[:256])  # inside the largest tensor's data
    path.write_bytes(blob[:at] + bytes(1000) + blob[at + 1000:])
    with pytest.raises(CocosegError, match="corrupted"):
        load_checkpoint(path)
    with pytest.raises(CocosegError, match="corrupted"):
        load_model(path)
    assert main(["export", f"model={path}", f"output={tmp_path / 'x.onnx'}"]) == 1
    err = capsys.readouterr().err
    assert "corrupted" in err and "Traceback" not in err


def test_stripped_checkpoint_is_half_weights_and_not_resumable(model, tmp_path):
    from cocoseg.engine.checkpoints import resume_state, strip_checkpoint
    from cocoseg.engine.config import TrainConfig

    args = TrainConfig().to_dict()
    path = save_checkpoint(tmp_path / "best.pt", model, extra={"epoch": 0, "train_args": args,
                                                                "optimizer": {"state": {}, "param_groups": []}})
    strip_checkpoint(path)
    ckpt = load_checkpoint(path)
    assert "optimizer" not in ckpt and ckpt["train_args"] == args and ckpt["stripped"] is True
    assert load_model(path).nc == 2  # fp16 tensors load into the float model
    with pytest.raises(CocosegError, match="weights only.*last.pt"):
        resume_state(TrainConfig.from_overrides({"resume": "True", "model": str(path)}))
