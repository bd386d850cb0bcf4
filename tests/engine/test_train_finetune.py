"""Fine-tuning: a checkpoint with another class count starts a model for the data's classes."""
from __future__ import annotations

import logging

import torch

from cocoseg.engine.checkpoints import save_checkpoint
from cocoseg.engine.model_setup import build_training_model, transfer_weights
from cocoseg.models import build_model

NAMES9 = {i: f"c{i}" for i in range(9)}


def test_class_count_adapted_matching_weights_loaded(tmp_path, caplog):
    torch.manual_seed(0)
    source = build_model("yolov8n-seg", 3)
    path = save_checkpoint(tmp_path / "src.pt", source)
    with caplog.at_level(logging.INFO):
        net = build_training_model(str(path), NAMES9, 64, None)
    assert net.nc == 9 and net.names == NAMES9 and net.training
    src, dst = source.state_dict(), net.state_dict()
    same = [k for k in dst if k in src and src[k].shape == dst[k].shape]
    assert all(torch.equal(src[k], dst[k]) for k in same)
    different = sorted(set(dst) - set(same))
    assert different and all(k.startswith("head.cls_branches") for k in different)
    assert f"{len(same)}/{len(dst)} tensors loaded" in caplog.text


def test_same_classes_load_everything():
    source = build_model("yolov8n-seg", 9)
    target = build_model("yolov8n-seg", 9)
    loaded, skipped = transfer_weights(source.state_dict(), target)
    assert skipped == [] and loaded == len(target.state_dict())


def test_reference_checkpoint_fine_tunes(shared):
    ref = shared / "fixtures" / "reference-yolov8-seg" / "yolov8n-seg-nc3-ref.pt"
    net = build_training_model(str(ref), NAMES9, 64, None)
    assert net.nc == 9


def test_fresh_model_gets_the_class_prior_of_its_input_size():
    net = build_training_model("yolov8n-seg.yaml", NAMES9, 320, None)
    bias = net.head.cls_branches[0][-1].bias
    assert torch.allclose(bias, torch.full_like(bias, float(torch.log(torch.tensor(5 / 9 / (320 / 8) ** 2)))))
