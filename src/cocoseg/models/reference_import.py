"""Import the reference implementation's YOLOv8-seg `.pt` checkpoints (COCO-pretrained or fine-tuned).

The checkpoint is read by `safe_unpickle.safe_load` (no code from it runs, the reference package is
never imported); its weights are flattened to the reference's `model.<layer>.<path>` names, renamed
onto cocoseg's modules, and the scale, class count and class names are taken from the checkpoint.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from cocoseg.errors import CocosegError
from cocoseg.models.config import SCALES, ModelConfig
from cocoseg.models.safe_unpickle import PickledModule, PickledRecord, safe_load
from cocoseg.models.yolov8_seg import SegmentationModel

# reference layer index -> (cocoseg module path, expected class name); layers 10, 11, 13, 14, 17, 20
# (upsample, concat) hold no weights
LAYERS: dict[int, tuple[str, str]] = {
    0: ("backbone.stem", "Conv"), 1: ("backbone.down2", "Conv"), 2: ("backbone.c2f2", "C2f"),
    3: ("backbone.down3", "Conv"), 4: ("backbone.c2f3", "C2f"), 5: ("backbone.down4", "Conv"),
    6: ("backbone.c2f4", "C2f"), 7: ("backbone.down5", "Conv"), 8: ("backbone.c2f5", "C2f"),
    9: ("backbone.sppf", "SPPF"), 12: ("neck.top_down4", "C2f"), 15: ("neck.top_down3", "C2f"),
    16: ("neck.down3", "Conv"), 18: ("neck.bottom_up4", "C2f"), 19: ("neck.down4", "Conv"),
    21: ("neck.bottom_up5", "C2f"), 22: ("head", "Segment"),
}
# per block type, renames of the reference's sub-module names (first match wins; no match = same name)
RENAMES: dict[str, list[tuple[str, str]]] = {
    "Conv": [],
    "C2f": [(r"^cv1\.", "split."), (r"^cv2\.", "fuse."), (r"^m\.(\d+)\.cv(\d)\.", r"blocks.\1.conv\2.")],
    "SPPF": [(r"^cv1\.", "reduce."), (r"^cv2\.", "fuse.")],
    "Segment": [
        (r"^cv2\.", "box_branches."), (r"^cv3\.", "cls_branches."), (r"^cv4\.", "coef_branches."),
        (r"^proto\.cv(\d)\.", r"proto.conv\1."),
    ],
}


def flatten_state(module: PickledModule, prefix: str = "") -> dict[str, torch.Tensor]:
    """The state dict of a pickled module tree: parameters and persistent buffers, torch-style names."""
    out: dict[str, torch.Tensor] = {}
    state = module.state
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for group in ("_parameters", "_buffers"):
        for name, tensor in (state.get(group) or {}).items():
            if isinstance(tensor, torch.Tensor) and name not in skip:
                out[prefix + name] = tensor
    for name, child in module.children.items():
        out.update(flatten_state(child, f"{prefix}{name}."))
    return out


def map_reference_keys(ref_state: Mapping[str, torch.Tensor], source: str = "") -> dict[str, torch.Tensor]:
    """`model.<i>.<path>` reference names -> cocoseg names, per the LAYERS and RENAMES tables."""
    out = {}
    for key, tensor in ref_state.items():
        match = re.match(r"^model\.(\d+)\.(.+)$", key)
        if not match or int(match.group(1)) not in LAYERS:
            raise CocosegError(f"{source}: unexpected weight {key!r}; not a YOLOv8-seg checkpoint")
        path, kind = LAYERS[int(match.group(1))]
        rest = match.group(2)
        for pattern, repl in RENAMES[kind]:
            if re.match(pattern, rest):
                rest = re.sub(pattern, repl, rest, count=1)
                break
        out[f"{path}.{rest}"] = tensor
    return out


def _check_layers(layers: list[PickledModule], source: str) -> None:
    for index, (_, kind) in LAYERS.items():
        found = layers[index].class_name if index < len(layers) else "nothing"
        if found != kind:
            raise CocosegError(
                f"{source}: layer {index} is {found}, expected {kind}; only YOLOv8-seg checkpoints "
                "(yolov8n-seg.pt ... yolov8x-seg.pt and models fine-tuned from them) can be imported"
            )


def infer_config(ref_state: Mapping[str, torch.Tensor], head: PickledModule, source: str = "") -> ModelConfig:
    """The scale whose widths and depths match the checkpoint's weights; nc from the Segment head."""
    nc = int(head.state.get("nc", 0))
    stem_width = ref_state["model.0.conv.weight"].shape[0]
    top_width = ref_state["model.9.cv2.conv.weight"].shape[0]
    depth3 = len({k.split(".")[3] for k in ref_state if k.startswith("model.2.m.")})
    depth6 = len({k.split(".")[3] for k in ref_state if k.startswith("model.4.m.")})
    for scale in SCALES:
        cfg = ModelConfig.for_scale(scale, nc)
        if (cfg.ch(64), cfg.ch(1024), cfg.n(3), cfg.n(6)) == (stem_width, top_width, depth3, depth6):
            if int(head.state.get("nm", 32)) != cfg.num_masks or int(head.state.get("reg_max", 16)) != cfg.reg_max:
                break
            return cfg
    raise CocosegError(
        f"{source}: widths {stem_width}/{top_width} and depths {depth3}/{depth6} match none of the YOLOv8-seg "
        f"scales {sorted(SCALES)} (with 32 masks, reg_max 16)"
    )


def _names(model: PickledModule, nc: int) -> dict[int, str]:
    names: Any = model.state.get("names")
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or sorted(int(k) for k in names) != list(range(nc)):
        return {i: f"class{i}" for i in range(nc)}
    return {int(k): str(v) for k, v in names.items()}


def import_reference_checkpoint(path: str | Path) -> tuple[SegmentationModel, dict[str, Any]]:
    """Build a cocoseg model from a reference `.pt`; returns (float32 eval-mode model, metadata).

    Metadata holds what the checkpoint tells about its training: `train_args`, `version`, `date`,
    `epoch` (plain values only).
    """
    source = str(path)
    ckpt = safe_load(path)
    model = (ckpt.get("ema") or ckpt.get("model")) if isinstance(ckpt, dict) else None
    if not isinstance(model, PickledModule) or "model" not in model.children:
        raise CocosegError(f"{source}: no pickled model under 'ema' or 'model'; not a reference YOLOv8 checkpoint")
    layers = list(model.children["model"].children.values())
    _check_layers(layers, source)
    ref_state = flatten_state(model)
    cfg = infer_config(ref_state, layers[22], source)
    net = SegmentationModel(cfg, _names(model, cfg.num_classes))
    _load_mapped(net, map_reference_keys(ref_state, source), source)
    meta = {k: _plain_record(ckpt.get(k)) for k in ("train_args", "version", "date", "epoch")}
    meta = {k: v for k, v in meta.items() if _plain(v)}
    return net.float().eval(), meta


def _load_mapped(net: SegmentationModel, state: dict[str, torch.Tensor], source: str) -> None:
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    bad = [k for k in own.keys() & state.keys() if own[k].shape != state[k].shape]
    if missing or extra or bad:
        detail = "; ".join(f"{what}: {keys[:5]}" for what, keys in
                           (("missing", missing), ("unexpected", extra), ("shape mismatch", bad)) if keys)
        raise CocosegError(f"{source}: weights do not fit {net.config.name}: {detail}")
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def _plain_record(value: Any) -> Any:
    """A namespace-like record (some releases pickle train_args that way) as its attribute dict."""
    return dict(value.state) if isinstance(value, PickledRecord) else value


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value is not None
    if isinstance(value, (list, tuple)):
        return all(v is None or _plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and (v is None or _plain(v)) for k, v in value.items())
    return False
