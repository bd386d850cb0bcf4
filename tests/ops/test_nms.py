"""NMS against a naive greedy loop; candidate selection rules of non_max_suppression."""
from __future__ import annotations

import importlib

import pytest
import torch

from cocoseg.ops import box_iou, nms, non_max_suppression

nms_module = importlib.import_module("cocoseg.ops.nms")


def _naive_nms(boxes, scores, thr, classes=None):
    iou = box_iou(boxes, boxes)
    keep = []
    for i in sorted(range(len(scores)), key=lambda k: -float(scores[k])):
        if all(not (iou[i, j] > thr and (classes is None or classes[i] == classes[j])) for j in keep):
            keep.append(i)
    return keep


def _clustered(n_objects: int, per_object: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(n_objects, 2, generator=g) * 200
    base = torch.cat((centres, centres + torch.rand(n_objects, 2, generator=g) * 60 + 10), 1)
    boxes = base.repeat_interleave(per_object, 0) + torch.randn(n_objects * per_object, 4, generator=g) * 4
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    scores = torch.rand(len(boxes), generator=g)
    classes = torch.randint(0, 3, (len(boxes),), generator=g)
    return boxes, scores, classes


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("thr", [0.3, 0.7])
def test_matches_naive_greedy(seed, thr, monkeypatch):
    monkeypatch.setattr(nms_module, "BLOCK", 64)  # several blocks: exercises cross-block suppression
    boxes, scores, classes = _clustered(12, 20, seed)
    assert nms(boxes, scores, thr).tolist() == _naive_nms(boxes, scores, thr)
    assert nms(boxes, scores, thr, classes).tolist() == _naive_nms(boxes, scores, thr, classes)
    assert nms(boxes, scores, thr, classes, max_keep=5).tolist() == _naive_nms(boxes, scores, thr, classes)[:5]


def test_empty_and_single():
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []
    assert nms(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([0.3]), 0.5).tolist() == [0]


def _pred(rows: list[list[float]], nc: int = 2, nm: int = 2) -> torch.Tensor:
    """A decoded prediction [1, 4 + nc + nm, A] from per-anchor rows (cx, cy, w, h, scores..., coeffs...)."""
    t = torch.tensor(rows, dtype=torch.float32)
    assert t.shape[1] == 4 + nc + nm
    return t.T[None]


def test_candidate_rules():
    pred = _pred([
        [50, 50, 20, 20, 0.9, 0.6, 1, 2],  # best class 0; class 1 also above 0.5
        [51, 50, 20, 20, 0.8, 0.1, 3, 4],  # overlaps the first, same class -> suppressed
        [51, 50, 20, 20, 0.1, 0.7, 5, 6],  # overlaps, other class -> kept (class-aware)
        [150, 150, 10, 10, 0.2, 0.05, 7, 8],  # below conf 0.25
    ])
    (det,) = non_max_suppression(pred, conf=0.25, iou=0.5, num_masks=2)
    assert det[:, 4].tolist() == pytest.approx([0.9, 0.7])
    assert det[:, 5].tolist() == [0, 1] and det[:, 6:].tolist() == [[1, 2], [5, 6]]
    assert det[0, :4].tolist() == [40, 40, 60, 60]
    (multi,) = non_max_suppression(pred, conf=0.5, iou=0.5, num_masks=2, multi_label=True)
    # anchor 0 for classes 0 and 1; anchor 2's class 1 (0.7) suppresses anchor 0's class 1 (0.6)
    assert sorted(zip(multi[:, 5].tolist(), multi[:, 4].tolist())) == [(0.0, pytest.approx(0.9)), (1.0, pytest.approx(0.7))]
    (agnostic,) = non_max_suppression(pred, conf=0.25, iou=0.5, num_masks=2, agnostic=True)
    assert agnostic[:, 4].tolist() == pytest.approx([0.9])
    (only1,) = non_max_suppression(pred, conf=0.25, iou=0.5, num_masks=2, classes=[1])
    assert only1[:, 5].tolist() == [1]
    (capped,) = non_max_suppression(pred, conf=0.0, iou=0.5, num_masks=2, max_det=1)
    assert len(capped) == 1
    (none,) = non_max_suppression(pred, conf=0.95, iou=0.5, num_masks=2)
    assert none.shape == (0, 8)
