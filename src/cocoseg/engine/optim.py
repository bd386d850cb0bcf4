"""Optimizer and schedules of the YOLOv8 recipe (`docs/YOLOV8_SEG.md` §4.5).

- Three parameter groups: weights with decay, normalisation weights without, biases without.
- `auto` picks SGD(lr 0.01, momentum 0.9) above 10,000 iterations, else AdamW(lr 0.002 * 5 / (4 + nc)).
- Gradient accumulation to a nominal batch of `nbs` (64): accumulate = max(round(nbs / batch), 1), and
  weight decay scaled by batch * accumulate / nbs.
- Warmup over max(warmup_epochs * iterations per epoch, 100) iterations: the bias group's LR falls from
  `warmup_bias_lr` to the schedule, the others rise from 0, momentum rises from `warmup_momentum`.
- LR factor per epoch: linear from 1 to `lrf`, or cosine (one half-cycle) when `cos_lr`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

LOGGER = logging.getLogger(__name__)
_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d,
               nn.SyncBatchNorm)


@dataclass(frozen=True)
class OptimChoice:
    """The optimizer actually used (after `auto`), with its base LR and momentum."""

    name: str
    lr: float
    momentum: float


def accumulate_steps(batch: int, nbs: int = 64) -> int:
    """Gradient-accumulation steps that bring `batch` to the nominal batch `nbs`."""
    return max(round(nbs / batch), 1)


def scaled_weight_decay(weight_decay: float, batch: int, accumulate: int, nbs: int = 64) -> float:
    """Weight decay scaled to the effective batch (batch * accumulate) relative to `nbs`."""
    return weight_decay * batch * accumulate / nbs


def choose_optimizer(name: str, lr0: float, momentum: float, num_classes: int, iterations: int) -> OptimChoice:
    """Resolve `auto` as the reference does; explicit names keep lr0 and momentum."""
    if name.lower() != "auto":
        canonical = {"sgd": "SGD", "adamw": "AdamW", "adam": "Adam"}[name.lower()]
        return OptimChoice(canonical, lr0, momentum)
    if iterations > 10_000:
        return OptimChoice("SGD", 0.01, 0.9)
    return OptimChoice("AdamW", round(0.002 * 5 / (4 + num_classes), 6), 0.9)


def param_groups(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter], list[nn.Parameter]]:
    """(decayed weights, normalisation weights, biases), each parameter exactly once."""
    decay, norm, bias, seen = [], [], [], set()
    for module in model.modules():
        for pname, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            if pname == "bias":
                bias.append(param)
            elif isinstance(module, _NORM_TYPES):
                norm.append(param)
            else:
                decay.append(param)
    return decay, norm, bias


def build_optimizer(model: nn.Module, choice: OptimChoice, weight_decay: float) -> torch.optim.Optimizer:
    """The optimizer over the three groups (group 0 decayed weights, 1 norm weights, 2 biases)."""
    decay, norm, bias = param_groups(model)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": norm, "weight_decay": 0.0},
              {"params": bias, "weight_decay": 0.0}]
    if choice.name == "SGD":
        opt: torch.optim.Optimizer = torch.optim.SGD(groups, lr=choice.lr, momentum=choice.momentum, nesterov=True)
    elif choice.name == "AdamW":
        opt = torch.optim.AdamW(groups, lr=choice.lr, betas=(choice.momentum, 0.999))
    else:
        opt = torch.optim.Adam(groups, lr=choice.lr, betas=(choice.momentum, 0.999))
    for g in opt.param_groups:
        g["initial_lr"] = choice.lr
    LOGGER.info("optimizer: %s(lr=%g, momentum=%g) with %d weight(decay=%g), %d norm weight(decay=0), %d bias",
                choice.name, choice.lr, choice.momentum, len(decay), weight_decay, len(norm), len(bias))
    return opt


def lr_factor(epoch: int, epochs: int, lrf: float, cos_lr: bool) -> float:
    """Multiplier of the base LR during `epoch` (0-based)."""
    if cos_lr:
        return ((1 - math.cos(epoch * math.pi / epochs)) / 2) * (lrf - 1) + 1
    return max(1 - epoch / epochs, 0) * (1.0 - lrf) + lrf


def warmup_iterations(warmup_epochs: float, iters_per_epoch: int) -> int:
    """Number of warmup iterations (at least 100 when warmup is on)."""
    return max(round(warmup_epochs * iters_per_epoch), 100) if warmup_epochs > 0 else 0


def set_lr(optimizer: torch.optim.Optimizer, epoch: int, iteration: int, warmup_iters: int, epochs: int,
           lrf: float, cos_lr: bool, warmup_bias_lr: float, warmup_momentum: float, momentum: float) -> None:
    """Set every group's LR (and momentum during warmup) for global iteration `iteration`."""
    factor = lr_factor(epoch, epochs, lrf, cos_lr)
    for j, group in enumerate(optimizer.param_groups):
        target = group["initial_lr"] * factor
        if iteration < warmup_iters:
            start = warmup_bias_lr if j == 2 else 0.0
            group["lr"] = float(np.interp(iteration, [0, warmup_iters], [start, target]))
            if "momentum" in group:
                group["momentum"] = float(np.interp(iteration, [0, warmup_iters], [warmup_momentum, momentum]))
        else:
            group["lr"] = target
