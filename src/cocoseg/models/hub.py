"""`load_model(name_or_path)`: a registry name, a cocoseg checkpoint, or a reference `.pt`, as a ready model."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import torch

from cocoseg.errors import CocosegError
from cocoseg.models.checkpoint import read_checkpoint_file
from cocoseg.models.config import ModelConfig
from cocoseg.models.yolov8_seg import SegmentationModel
from cocoseg.models.zoo import build_model, list_models, normalize_name

PathLike = Union[str, Path]


def model_state(model: SegmentationModel) -> dict[str, Any]:
    """The model part of a checkpoint: config, class names and state dict (weights_only-loadable)."""
    return {"config": model.config.to_dict(), "names": dict(model.names), "state_dict": model.state_dict()}


def model_from_state(state: Mapping[str, Any], source: str = "<memory>") -> SegmentationModel:
    """Inverse of `model_state`: rebuild the network and load its weights (strict)."""
    try:
        cfg = ModelConfig.from_dict(state["config"])
        model = SegmentationModel(cfg, state.get("names"))
        fused = not any(k.endswith(".bn.running_mean") for k in state["state_dict"])
        if fused:
            model.fuse()
        model.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise CocosegError(f"{source}: invalid model record in checkpoint: {' '.join(str(exc).split())[:400]}") from exc
    return model


def load_model(name_or_path: PathLike, device: str | torch.device | None = None) -> SegmentationModel:
    """A model in eval mode: a registry name builds a fresh one; a `.pt` path loads a cocoseg checkpoint or
    imports a reference YOLOv8-seg checkpoint (safely: no code from the file runs)."""
    path = Path(name_or_path)
    if path.is_file():
        model = _load_file(path)
    elif normalize_name(str(name_or_path)) in list_models():
        model = build_model(str(name_or_path))
    else:
        hint = " (pass a local file; cocoseg never downloads weights itself)" if path.suffix else ""
        raise CocosegError(
            f"model {str(name_or_path)!r}: no such file and not a model name{hint}; names: {', '.join(list_models())}"
        )
    model.eval()
    return model.to(device) if device is not None else model


def _load_file(path: Path) -> SegmentationModel:
    from cocoseg.models.reference_import import import_reference_checkpoint

    ckpt = read_checkpoint_file(path)
    if ckpt is not None:
        return model_from_state(ckpt["model"], str(path))
    return import_reference_checkpoint(path)[0]
