"""The model a training starts from: fresh, fine-tuned from a checkpoint, or resumed.

A model name without extension (`yolov8n-seg`) means the released `yolov8n-seg.pt`, as in val and
predict (`engine.checkpoints.resolve_weights`: working folder, weights cache, download, else one clear
error); a `.yaml` name (`yolov8n-seg.yaml`) or `pretrained=False` builds an untrained model. A log line
says which.

Fine-tuning adapts the class count to the data: a model of the checkpoint's scale is built for the
data's classes and every tensor whose name and shape match is copied; the rest (the class branches
when the class count differs) keep their fresh initialisation, and the counts are logged.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from cocoseg.engine.checkpoints import resolve_weights
from cocoseg.models import SegmentationModel, build_model, load_model, model_from_state

LOGGER = logging.getLogger(__name__)


def build_training_model(model: str, names: Mapping[int, str], imgsz: int, resume_ckpt: Mapping[str, Any] | None,
                         pretrained: bool = True) -> SegmentationModel:
    """The model to train, in train mode (see the module docstring)."""
    if resume_ckpt is not None:
        net = model_from_state(resume_ckpt["model"], "last.pt")
        net.load_state_dict(resume_ckpt["train_state_dict"])
        return net.train()
    path = Path(model)
    if pretrained and not path.suffix and not path.exists():
        path = Path(resolve_weights(model))  # the released weights, or one clear error saying how to get them
    if path.suffix == ".pt" or path.is_file():
        source = load_model(path)
        net = SegmentationModel(dataclasses.replace(source.config, num_classes=len(names)), dict(names))
        if pretrained:
            loaded, skipped = transfer_weights(source.state_dict(), net)
            LOGGER.info("fine-tuning from %s: %d/%d tensors loaded, %d re-initialised%s", path, loaded,
                        len(net.state_dict()), len(skipped), f" ({_summary(skipped)})" if skipped else "")
        return net.train()
    net = build_model(model, len(names), dict(names))
    LOGGER.info("training %s from scratch (untrained weights%s)", model,
                "" if pretrained else ": pretrained=False")
    net.head.init_biases(imgsz)  # class prior for about 5 objects per image at this input size
    return net.train()


def transfer_weights(source: Mapping[str, torch.Tensor], target: torch.nn.Module) -> tuple[int, list[str]]:
    """Copy tensors of equal name and shape into `target`; returns (count copied, names not copied)."""
    own = target.state_dict()
    matched = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    own.update({k: v.to(own[k].dtype) for k, v in matched.items()})
    target.load_state_dict(own)
    return len(matched), sorted(set(own) - set(matched))


def _summary(names: list[str]) -> str:
    prefixes = sorted({".".join(n.split(".")[:3]) for n in names})
    return ", ".join(prefixes[:6]) + (", ..." if len(prefixes) > 6 else "")
