"""The YOLOv8-seg network: CSP backbone, PAN-FPN neck, decoupled anchor-free head with mask coefficients.

Layer comments give the index of the matching layer in the reference's yolov8-seg.yaml.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cocoseg.errors import CocosegError
from cocoseg.models.blocks import DFL, SPPF, C2f, ConvBNAct, Proto, branch
from cocoseg.models.config import ModelConfig
from cocoseg.ops.boxes import dist_to_box, make_anchors
from cocoseg.predictions.coco_names import COCO80_NAMES

RawOutput = tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]  # what forward returns, in every mode
Decoded = tuple[torch.Tensor, torch.Tensor]  # (pred, protos): what inference and export work on
# YOLOv8's input normalisation, applied by the model itself: (x - mean) / std on uint8-range RGB
INPUT_MEAN = (0.0, 0.0, 0.0)
INPUT_STD = (255.0, 255.0, 255.0)


class Backbone(nn.Module):
    """CSPDarknet: stride-2 convs and C2f stages, SPPF at the end; returns P3, P4, P5 (strides 8/16/32)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c, n = cfg.ch, cfg.n
        self.stem = ConvBNAct(3, c(64), 3, 2)  # 0, P1/2
        self.down2 = ConvBNAct(c(64), c(128), 3, 2)  # 1, P2/4
        self.c2f2 = C2f(c(128), c(128), n(3), shortcut=True)  # 2
        self.down3 = ConvBNAct(c(128), c(256), 3, 2)  # 3, P3/8
        self.c2f3 = C2f(c(256), c(256), n(6), shortcut=True)  # 4
        self.down4 = ConvBNAct(c(256), c(512), 3, 2)  # 5, P4/16
        self.c2f4 = C2f(c(512), c(512), n(6), shortcut=True)  # 6
        self.down5 = ConvBNAct(c(512), c(1024), 3, 2)  # 7, P5/32
        self.c2f5 = C2f(c(1024), c(1024), n(3), shortcut=True)  # 8
        self.sppf = SPPF(c(1024), c(1024))  # 9

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.c2f2(self.down2(self.stem(x)))
        p3 = self.c2f3(self.down3(x))
        p4 = self.c2f4(self.down4(p3))
        p5 = self.sppf(self.c2f5(self.down5(p4)))
        return p3, p4, p5


class Neck(nn.Module):
    """PAN-FPN: top-down nearest-upsample path then bottom-up stride-2 path; C2f without shortcut."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c, n = cfg.ch, cfg.n
        self.top_down4 = C2f(c(1024) + c(512), c(512), n(3), shortcut=False)  # 10-12
        self.top_down3 = C2f(c(512) + c(256), c(256), n(3), shortcut=False)  # 13-15, P3 out
        self.down3 = ConvBNAct(c(256), c(256), 3, 2)  # 16
        self.bottom_up4 = C2f(c(256) + c(512), c(512), n(3), shortcut=False)  # 17-18, P4 out
        self.down4 = ConvBNAct(c(512), c(512), 3, 2)  # 19
        self.bottom_up5 = C2f(c(512) + c(1024), c(1024), n(3), shortcut=False)  # 20-21, P5 out

    def forward(self, p3: torch.Tensor, p4: torch.Tensor, p5: torch.Tensor) -> list[torch.Tensor]:
        t4 = self.top_down4(torch.cat((_up2(p5), p4), 1))
        out3 = self.top_down3(torch.cat((_up2(t4), p3), 1))
        out4 = self.bottom_up4(torch.cat((self.down3(out3), t4), 1))
        out5 = self.bottom_up5(torch.cat((self.down4(out4), p5), 1))
        return [out3, out4, out5]


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class SegmentHead(nn.Module):
    """Decoupled head: per level a box-distribution, a class and a mask-coefficient branch; plus Proto on P3."""

    def __init__(self, cfg: ModelConfig, channels: Sequence[int]) -> None:
        super().__init__()
        self.nc, self.reg_max, self.num_masks = cfg.num_classes, cfg.reg_max, cfg.num_masks
        self.strides = tuple(cfg.strides)
        c_box = max(16, channels[0] // 4, 4 * cfg.reg_max)
        c_cls = max(channels[0], min(cfg.num_classes, 100))
        c_coef = max(channels[0] // 4, cfg.num_masks)
        self.box_branches = nn.ModuleList(branch(c, c_box, 4 * cfg.reg_max) for c in channels)
        self.cls_branches = nn.ModuleList(branch(c, c_cls, cfg.num_classes) for c in channels)
        self.coef_branches = nn.ModuleList(branch(c, c_coef, cfg.num_masks) for c in channels)
        self.dfl = DFL(cfg.reg_max)
        self.proto = Proto(channels[0], cfg.ch(cfg.num_protos), cfg.num_masks)
        self.init_biases()

    @torch.no_grad()
    def init_biases(self, imgsz: int = 640) -> None:
        """Prior biases: box 1.0; class log(5 / nc / (imgsz / stride)^2) (about 5 objects per image)."""
        for box, cls, stride in zip(self.box_branches, self.cls_branches, self.strides):
            box[-1].bias.fill_(1.0)
            cls[-1].bias.fill_(math.log(5 / self.nc / (imgsz / stride) ** 2))

    def forward(self, features: Sequence[torch.Tensor]) -> RawOutput:
        levels = [torch.cat((b(f), c(f)), 1) for f, b, c in zip(features, self.box_branches, self.cls_branches)]
        coeffs = torch.cat([m(f).flatten(2) for f, m in zip(features, self.coef_branches)], 2)
        return levels, coeffs, self.proto(features[0])

    def decode(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-level raw outputs -> [B, 4 + nc, A]: boxes (cx, cy, w, h, input pixels) and sigmoid scores."""
        b = levels[0].shape[0]
        flat = torch.cat([level.reshape(b, 4 * self.reg_max + self.nc, -1) for level in levels], 2)
        box_logits, cls_logits = flat.split((4 * self.reg_max, self.nc), 1)
        anchor_points, stride_tensor = make_anchors(levels, self.strides, 0.5)
        boxes = dist_to_box(self.dfl(box_logits), anchor_points.t().unsqueeze(0), xywh=True, dim=1)
        return torch.cat((boxes * stride_tensor.t(), cls_logits.sigmoid()), 1)


class SegmentationModel(nn.Module):
    """YOLOv8-seg. See the `cocoseg.models` docstring for the input and output contract."""

    def __init__(self, cfg: ModelConfig, names: Mapping[int, str] | Sequence[str] | None = None) -> None:
        super().__init__()
        self.config = cfg
        self.names = _names_dict(names, cfg.num_classes)
        self.backbone = Backbone(cfg)
        self.neck = Neck(cfg)
        self.head = SegmentHead(cfg, [cfg.ch(256), cfg.ch(512), cfg.ch(1024)])
        self.register_buffer("stride", torch.tensor(cfg.strides, dtype=torch.float32), persistent=False)
        # not persistent: state dicts (ours, the reference's) stay as they are and load strictly
        self.register_buffer("input_mean", torch.tensor(INPUT_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(INPUT_STD).view(1, 3, 1, 1), persistent=False)
        self.centred = any(INPUT_MEAN)

    @property
    def nc(self) -> int:
        return self.config.num_classes

    @property
    def reg_max(self) -> int:
        return self.config.reg_max

    @property
    def num_masks(self) -> int:
        return self.config.num_masks

    def forward(self, x: torch.Tensor) -> RawOutput:
        """Images [B, 3, H, W] (RGB, uint8 values 0..255 of any dtype, H and W multiples of 32) -> raw
        head outputs `(levels, coeffs, protos)`, the same in train and eval mode (see `decode`)."""
        return self.head(self.neck(*self.backbone(self.normalize(x))))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8-range images -> the network's input scale, (x - mean) / std, in the model's dtype."""
        if x.dtype != self.input_std.dtype:  # uint8 in (no Cast node in a float-input export)
            x = x.to(self.input_std.dtype)
        return (x - self.input_mean if self.centred else x) / self.input_std

    def decode(self, outputs: RawOutput) -> Decoded:
        """Raw outputs -> `(pred [B, 4 + nc + nm, A], protos)`: boxes (cx, cy, w, h, input pixels), sigmoid
        class scores and mask coefficients per anchor; what post-processing and the exported graphs take."""
        levels, coeffs, protos = outputs
        return torch.cat((self.head.decode(levels), coeffs), 1), protos

    def infer(self, x: torch.Tensor) -> Decoded:
        """`decode(forward(x))`: images -> decoded predictions, for validation, prediction and export."""
        return self.decode(self(x))

    def fuse(self) -> SegmentationModel:
        """Fold every BatchNorm into its convolution, in place (for inference and export); returns self."""
        for module in self.modules():
            if isinstance(module, ConvBNAct):
                module.fuse()
        return self

    @property
    def is_fused(self) -> bool:
        return not any(isinstance(m, nn.BatchNorm2d) for m in self.modules())


def _names_dict(names: Mapping[int, str] | Sequence[str] | None, nc: int) -> dict[int, str]:
    """Class names as {label: name} with exactly `nc` contiguous labels."""
    if names is None:
        names = COCO80_NAMES if nc == 80 else [f"class{i}" for i in range(nc)]
    out = {int(k): str(v) for k, v in names.items()} if isinstance(names, Mapping) else dict(enumerate(map(str, names)))
    if sorted(out) != list(range(nc)):
        raise CocosegError(f"model names: expected labels 0..{nc - 1} for {nc} classes, got {len(out)} names")
    return out
