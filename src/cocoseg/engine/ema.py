"""Exponential moving average of model weights (decay 0.9999, ramped by 1 - exp(-updates / 2000))."""
from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DDP/DataParallel wrappers."""
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model


class ModelEMA:
    """Keeps `ema`, a frozen copy of the model whose float tensors track the live weights."""

    def __init__(self, model: nn.Module, decay: float = 0.9999, tau: float = 2000.0, updates: int = 0):
        self.ema = copy.deepcopy(unwrap(model)).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, updates

    def current_decay(self) -> float:
        """Decay for the next update: small early so the average follows the fast-moving start."""
        return self.decay * (1 - math.exp(-self.updates / self.tau))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """ema = d * ema + (1 - d) * model for every floating-point parameter and buffer."""
        self.updates += 1
        d = self.current_decay()
        live = unwrap(model).state_dict()
        for name, value in self.ema.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(d).add_(live[name].detach(), alpha=1 - d)

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.ema.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ema.load_state_dict(state["weights"])
        self.updates = int(state["updates"])
