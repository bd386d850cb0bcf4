"""Task-aligned assigner and CIoU: golden values worked out by hand on tiny cases."""
from __future__ import annotations

import math

import torch

from cocoseg.models.assigner import TaskAlignedAssigner, anchors_in_boxes, box_ciou


def test_ciou_by_hand():
    # same aspect (v = 0): IoU 2/6, enclosing box 3x2 (diag^2 13), centres 1 apart (rho^2 1)
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 0, 3, 2]])
    assert torch.allclose(box_ciou(a, b), torch.tensor([1 / 3 - 1 / 13]), atol=1e-6)
    # identical boxes: 1; aspect term for a 2x1 box inside a 2x2 box with the same centre
    assert torch.allclose(box_ciou(a, a), torch.tensor([1.0]), atol=1e-6)
    c = torch.tensor([[0.0, 0.5, 2, 1.5]])
    iou = 2 / 4
    v = 4 / math.pi**2 * (math.atan(2 / 1) - math.atan(2 / 2)) ** 2
    alpha = v / (v - iou + 1)
    assert torch.allclose(box_ciou(a, c), torch.tensor([iou - v * alpha]), atol=1e-5)


def test_anchors_strictly_inside():
    pts = torch.tensor([[2.0, 2], [8, 2], [10, 2]])
    inside = anchors_in_boxes(pts, torch.tensor([[[0.0, 0, 8, 8]]]))
    assert inside.tolist() == [[[True, False, False]]]  # a point on the edge is outside


def _assign(scores, pred_boxes, points, labels, gt_boxes, topk=2, nc=2):
    valid = torch.ones(labels.shape, dtype=torch.bool)
    return TaskAlignedAssigner(nc, topk=topk)(scores, pred_boxes, points, labels, gt_boxes, valid)


def test_topk_and_normalised_scores_by_hand():
    points = torch.tensor([[2.0, 2], [6, 2], [10, 2], [2, 6]])
    gt = torch.tensor([[[0.0, 0, 8, 8]]])
    pred_boxes = gt.expand(1, 4, 4).clone()  # CIoU 1 everywhere -> metric = score ** 0.5
    scores = torch.tensor([[[0.25, 0.9], [0.64, 0.1], [0.99, 0.0], [0.04, 0.5]]])
    a = _assign(scores, pred_boxes, points, torch.tensor([[0]]), gt)
    # candidates 0, 1, 3 (anchor 2 is outside); metrics 0.5, 0.8, 0.2; top-2 keeps anchors 1 and 0
    assert a.fg_mask.tolist() == [[True, True, False, False]]
    assert a.labels.tolist() == [[0, 0, 2, 2]]
    # normalised: metric / max metric (0.8) * max IoU (1)
    expected = torch.tensor([[[0.625, 0], [1.0, 0], [0, 0], [0, 0]]])
    assert torch.allclose(a.scores, expected, atol=1e-5)
    assert torch.equal(a.boxes_xyxy[0, 1], gt[0, 0])


def test_anchor_claimed_twice_goes_to_highest_iou():
    points = torch.tensor([[4.0, 4]])
    gts = torch.tensor([[[0.0, 0, 8, 8], [2.0, 2, 12, 12]]])
    pred = torch.tensor([[[1.0, 1, 9, 9]]])  # overlaps the first GT much more
    scores = torch.tensor([[[0.5, 0.5]]])
    a = _assign(scores, pred, points, torch.tensor([[0, 1]]), gts, topk=1)
    assert a.fg_mask.tolist() == [[True]]
    assert a.gt_index.tolist() == [[0]]
    assert a.labels.tolist() == [[0]]


def test_padding_and_empty_targets():
    points = torch.tensor([[2.0, 2]])
    scores = torch.full((1, 1, 3), 0.5)
    pred = torch.tensor([[[0.0, 0, 4, 4]]])
    valid = torch.tensor([[False]])
    a = TaskAlignedAssigner(3)(scores, pred, points, torch.tensor([[1]]), torch.tensor([[[0.0, 0, 4, 4]]]), valid)
    assert not a.fg_mask.any() and a.scores.sum() == 0
    empty = TaskAlignedAssigner(3)(scores, pred, points, torch.zeros((1, 0), dtype=torch.long),
                                   torch.zeros((1, 0, 4)), torch.zeros((1, 0), dtype=torch.bool))
    assert not empty.fg_mask.any() and empty.labels.tolist() == [[3]]
