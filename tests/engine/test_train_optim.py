"""Optimizer recipe: groups, `auto`, accumulation, decay scaling, warmup and LR schedules, EMA ramp."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cocoseg.engine import optim
from cocoseg.engine.ema import ModelEMA


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


def test_three_parameter_groups():
    decay, norm, bias = optim.param_groups(_net())
    assert [p.shape for p in decay] == [(4, 3, 3, 3), (2, 4, 1, 1)]
    assert [p.shape for p in norm] == [(4,)]
    assert [p.shape for p in bias] == [(4,), (2,)]  # BN bias and conv bias
    opt = optim.build_optimizer(_net(), optim.OptimChoice("SGD", 0.01, 0.937), 5e-4)
    assert [g["weight_decay"] for g in opt.param_groups] == [5e-4, 0.0, 0.0]
    assert opt.param_groups[0]["nesterov"]


def test_auto_optimizer_and_nominal_batch():
    assert optim.choose_optimizer("auto", 0.01, 0.937, 80, 20_000) == optim.OptimChoice("SGD", 0.01, 0.9)
    assert optim.choose_optimizer("auto", 0.01, 0.937, 9, 500) == optim.OptimChoice("AdamW", round(0.002 * 5 / 13, 6), 0.9)
    assert optim.choose_optimizer("sgd", 0.02, 0.9, 9, 500) == optim.OptimChoice("SGD", 0.02, 0.9)
    assert optim.accumulate_steps(16) == 4 and optim.accumulate_steps(8, nbs=8) == 1 and optim.accumulate_steps(128) == 1
    assert optim.scaled_weight_decay(5e-4, 16, 4) == pytest.approx(5e-4)
    assert optim.scaled_weight_decay(5e-4, 8, 1, nbs=8) == pytest.approx(5e-4)
    assert optim.scaled_weight_decay(5e-4, 128, 1) == pytest.approx(1e-3)


def test_lr_schedules_by_hand():
    assert optim.lr_factor(0, 100, 0.01, False) == 1.0
    assert optim.lr_factor(50, 100, 0.01, False) == pytest.approx(0.505)
    assert optim.lr_factor(0, 100, 0.01, True) == pytest.approx(1.0)
    assert optim.lr_factor(50, 100, 0.01, True) == pytest.approx(0.505)
    assert optim.lr_factor(25, 100, 0.01, True) == pytest.approx(1 - 0.99 * (1 - math.cos(math.pi / 4)) / 2)
    assert optim.warmup_iterations(3.0, 10) == 100 and optim.warmup_iterations(3.0, 100) == 300
    assert optim.warmup_iterations(0, 100) == 0


def test_warmup_ramps_lr_and_momentum():
    opt = optim.build_optimizer(_net(), optim.OptimChoice("SGD", 0.01, 0.937), 5e-4)
    args = dict(warmup_iters=100, epochs=10, lrf=0.01, cos_lr=False, warmup_bias_lr=0.1, warmup_momentum=0.8,
                momentum=0.937)
    optim.set_lr(opt, 0, 0, **args)
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.0, 0.1]
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.8)
    optim.set_lr(opt, 0, 50, **args)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.005) and opt.param_groups[2]["lr"] == pytest.approx(0.055)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.8685)
    optim.set_lr(opt, 5, 500, **args)  # after warmup: the schedule, same for every group
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01 * 0.505] * 3)


def test_ema_ramp_and_update():
    net = _net()
    ema = ModelEMA(net)
    assert ema.current_decay() == 0.0
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    before = [p.clone() for p in ema.ema.parameters()]
    ema.update(net)  # d = 0.9999 * (1 - exp(-1 / 2000))
    d = 0.9999 * (1 - math.exp(-1 / 2000))
    for b, e, p in zip(before, ema.ema.parameters(), net.parameters()):
        assert torch.allclose(e, d * b + (1 - d) * p)
    assert not any(p.requires_grad for p in ema.ema.parameters())
