"""Segmentation loss terms: golden values worked out by hand on tiny inputs."""
from __future__ import annotations

import math

import pytest
import torch

from cocoseg.models.loss import SegmentationLoss, dfl_loss, grid_anchors, mask_loss_one_image, pad_targets


def test_dfl_by_hand():
    logits = torch.tensor([[[math.log(3.0), 0.0]]])  # softmax 0.75 / 0.25 over 2 bins
    target = torch.tensor([[0.25]])  # 0.75 on bin 0, 0.25 on bin 1
    expected = 0.75 * -math.log(0.75) + 0.25 * -math.log(0.25)
    assert dfl_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)
    uniform = torch.zeros(1, 4, 16)
    assert dfl_loss(uniform, torch.full((1, 4), 7.3)).item() == pytest.approx(math.log(16), rel=1e-6)


def test_mask_loss_by_hand():
    protos = torch.zeros(1, 4, 4)  # logits 0 -> BCE log 2 at every pixel
    gt = torch.zeros(1, 4, 4)
    box = torch.tensor([[0.0, 0, 2, 2]])  # 4 of 16 pixels; normalised area 0.25
    loss = mask_loss_one_image(torch.ones(1, 1), protos, gt, box, torch.tensor([0.25]))
    assert loss.item() == pytest.approx(math.log(2) * 4 / 16 / 0.25, rel=1e-6)


def test_grid_anchors_order_and_strides():
    points, strides = grid_anchors([(2, 2), (1, 1)], [8, 16], torch.device("cpu"))
    assert points.tolist() == [[0.5, 0.5], [1.5, 0.5], [0.5, 1.5], [1.5, 1.5], [0.5, 0.5]]
    assert strides.flatten().tolist() == [8, 8, 8, 8, 16]


def test_pad_targets_keeps_image_order():
    batch = {"batch_idx": torch.tensor([0, 0, 2]), "labels": torch.tensor([3, 1, 2]),
             "boxes_xyxy": torch.arange(12, dtype=torch.float32).view(3, 4)}
    labels, boxes, valid = pad_targets(batch, 3, torch.device("cpu"))
    assert labels.tolist() == [[3, 1], [0, 0], [2, 0]]
    assert valid.tolist() == [[True, True], [False, False], [True, False]]
    assert boxes[2, 0].tolist() == [8, 9, 10, 11]


def _outputs(nc: int, size: int = 32, batch: int = 1):
    levels = [torch.zeros(batch, 64 + nc, size // s, size // s, requires_grad=True) for s in (8, 16, 32)]
    a = sum(lv.shape[2] * lv.shape[3] for lv in levels)
    return levels, torch.zeros(batch, 32, a, requires_grad=True), torch.zeros(batch, 32, size // 4, size // 4)


def test_background_only_classification_by_hand():
    nc, size = 2, 32
    outputs = _outputs(nc, size)
    empty = {"img": torch.zeros(1, 3, size, size), "batch_idx": torch.zeros(0, dtype=torch.long),
             "labels": torch.zeros(0, dtype=torch.long), "boxes_xyxy": torch.zeros(0, 4),
             "masks": torch.zeros(1, size // 4, size // 4, dtype=torch.long)}
    total, items = SegmentationLoss(nc, [8, 16, 32])(outputs, empty)
    anchors = 16 + 4 + 1
    # no targets: BCE(0 logit, 0) = log 2 per anchor and class, over a target-score sum clamped to 1
    assert items.tolist() == pytest.approx([0.0, 0.0, 0.5 * anchors * nc * math.log(2), 0.0], rel=1e-6)
    assert total.item() == pytest.approx(items.sum().item(), rel=1e-6)
    total.backward()  # every output receives a gradient (DDP needs it)
    assert outputs[1].grad is not None


def test_crowd_region_silences_background_classification():
    nc, size = 2, 32
    crowd = {"img": torch.zeros(1, 3, size, size), "batch_idx": torch.zeros(0, dtype=torch.long),
             "labels": torch.zeros(0, dtype=torch.long), "boxes_xyxy": torch.zeros(0, 4),
             "masks": torch.zeros(1, 8, 8, dtype=torch.long),
             "crowd_boxes_xyxy": torch.tensor([[0.0, 0, 16, 16]]), "crowd_batch_idx": torch.tensor([0])}
    _, items = SegmentationLoss(nc, [8, 16, 32])(_outputs(nc, size), crowd)
    # anchor centres strictly inside [0, 16]^2: the 4 stride-8 ones at 4/12 and the stride-16 one at (8, 8)
    assert items[2].item() == pytest.approx(0.5 * (21 - 5) * nc * math.log(2), rel=1e-6)


def test_one_object_gives_finite_positive_terms_and_batch_scaling():
    nc, size = 2, 64
    batch = {"img": torch.zeros(2, 3, size, size), "batch_idx": torch.tensor([0, 1]), "labels": torch.tensor([1, 0]),
             "boxes_xyxy": torch.tensor([[8.0, 8, 40, 40], [20, 4, 60, 30]]),
             "masks": torch.zeros(2, 16, 16, dtype=torch.long)}
    batch["masks"][0, 2:10, 2:10] = 1
    batch["masks"][1, 1:7, 5:15] = 1
    torch.manual_seed(0)
    levels, coeffs, protos = _outputs(nc, size, batch=2)
    outputs = ([lv.detach().normal_().requires_grad_() for lv in levels], coeffs.detach().normal_(), protos.normal_())
    total, items = SegmentationLoss(nc, [8, 16, 32])(outputs, batch)
    assert torch.isfinite(items).all() and (items > 0).all()
    assert total.item() == pytest.approx(items.sum().item() * 2, rel=1e-5)  # x batch size
