"""Model summary: layers, parameters and GFLOPs after Conv+BN fusion, counted by torch.utils.flop_counter."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cocoseg.models.yolov8_seg import SegmentationModel


@dataclass(frozen=True)
class BlockInfo:
    """One top-level block of the network (e.g. 'backbone.c2f3')."""

    name: str
    kind: str
    params: int
    gflops: float
    output_shape: tuple[int, ...] | None


@dataclass(frozen=True)
class ModelInfo:
    """What `cocoseg info` reports. GFLOPs are 2 x multiply-adds of one image at `imgsz`."""

    name: str
    imgsz: tuple[int, int]
    num_classes: int
    layers: int
    params: int
    params_fused: int
    gflops: float
    gflops_table_convention: float
    blocks: list[BlockInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (blocks as a list of dicts)."""
        out = dict(self.__dict__)
        out["imgsz"] = list(self.imgsz)
        out["gflops_table_convention_note"] = TABLE_CONVENTION_NOTE
        out["blocks"] = [dict(b.__dict__, output_shape=list(b.output_shape or [])) for b in self.blocks]
        return out


TABLE_CONVENTION_NOTE = (
    "gflops_table_convention counts the prototype's 2x2 stride-2 transposed convolution over its output "
    "positions (4x its input positions), as the profiler behind the published table did."
)


def _blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Top-level blocks: children of backbone and neck, and the head's branches and proto."""
    out = []
    for part in ("backbone", "neck", "head"):
        for name, child in getattr(model, part).named_children():
            out.append((f"{part}.{name}", child))
    return out


def model_info(model: SegmentationModel, imgsz: int | tuple[int, int] = 640) -> ModelInfo:
    """Layers, parameters (as given and after fusion) and GFLOPs of the fused network at `imgsz`.

    The count runs on a structural copy on the meta device, so it allocates nothing and costs
    milliseconds even for the x scale.
    """
    h, w = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    params = sum(p.numel() for p in model.parameters())
    with torch.device("meta"):
        probe = SegmentationModel(model.config, model.names).eval().fuse()
        shapes: dict[str, tuple[int, ...]] = {}
        hooks = [m.register_forward_hook(_shape_hook(shapes, n)) for n, m in probe.named_modules() if n]
        with FlopCounterMode(display=False) as counter:
            probe.infer(torch.zeros(1, 3, h, w))  # the deployed graph: decoding included
        for hook in hooks:
            hook.remove()
    per_module = {k.removeprefix("SegmentationModel."): sum(v.values()) for k, v in counter.get_flop_counts().items()}
    extra = _transposed_conv_extra(probe, per_module, shapes)
    total = counter.get_total_flops()
    blocks = [
        BlockInfo(name, type(m).__name__, sum(p.numel() for p in m.parameters()),
                  _block_flops(name, m, per_module) / 1e9, shapes.get(name))
        for name, m in _blocks(probe)
    ]
    return ModelInfo(
        name=model.config.name, imgsz=(h, w), num_classes=model.nc,
        layers=sum(1 for m in probe.modules() if not list(m.children())),
        params=params, params_fused=sum(p.numel() for p in probe.parameters()),
        gflops=total / 1e9, gflops_table_convention=(total + extra) / 1e9, blocks=blocks,
    )


def _block_flops(name: str, module: nn.Module, per_module: dict[str, int]) -> int:
    """FLOPs of a block; a ModuleList is never called itself, so sum its children."""
    if name in per_module:
        return per_module[name]
    return sum(per_module.get(f"{name}.{child}", 0) for child, _ in module.named_children())


def _shape_hook(shapes: dict[str, tuple[int, ...]], name: str) -> Any:
    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        shapes[name] = tuple(output.shape) if isinstance(output, torch.Tensor) else ()
        if isinstance(module, nn.ConvTranspose2d):
            shapes[name + ":in"] = tuple(inputs[0].shape)

    return hook


def _transposed_conv_extra(model: nn.Module, per_module: dict[str, int], shapes: dict[str, tuple[int, ...]]) -> int:
    """FLOPs added by counting transposed convolutions over output instead of input positions."""
    extra = 0
    for name, module in model.named_modules():
        if isinstance(module, nn.ConvTranspose2d):
            h_in, w_in = shapes[name + ":in"][-2:]
            h_out, w_out = shapes[name][-2:]
            extra += per_module.get(name, 0) * (h_out * w_out - h_in * w_in) // (h_in * w_in)
    return extra


def format_info(info: ModelInfo) -> str:
    """Human-readable summary: one row per block, then the totals."""
    rows = [f"{'block':<24}{'type':<12}{'params':>12}{'GFLOPs':>9}  output"]
    for b in info.blocks:
        shape = "x".join(map(str, b.output_shape[1:])) if b.output_shape else "-"
        rows.append(f"{b.name:<24}{b.kind:<12}{b.params:>12,}{b.gflops:>9.2f}  {shape}")
    h, w = info.imgsz
    rows.append(
        f"{info.name} (nc={info.num_classes}): {info.layers} layers, {info.params:,} parameters "
        f"({info.params_fused:,} after Conv+BN fusion), {info.gflops:.1f} GFLOPs at {h}x{w} "
        f"(table convention {info.gflops_table_convention:.1f})"
    )
    rows.append(TABLE_CONVENTION_NOTE)
    return "\n".join(rows)
