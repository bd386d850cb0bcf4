"""Box ops against naive Python loops, round trips and empty inputs."""
from __future__ import annotations

import pytest
import torch

from cocoseg.ops import (
    box_area,
    box_iou,
    box_to_dist,
    clip_boxes,
    cxcywh_to_xyxy,
    dist_to_box,
    xyxy_to_cxcywh,
)


def _random_boxes(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 100
    return torch.cat((xy, xy + torch.rand(n, 2, generator=g) * 50), 1)


def _naive_iou(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_box_iou_matches_a_loop(dtype):
    a, b = _random_boxes(7, 0), _random_boxes(5, 1)
    b[0] = a[0]  # identical pair -> 1
    b[1] = torch.tensor([300.0, 300, 310, 310])  # disjoint -> 0
    got = box_iou(a.to(dtype), b.to(dtype))
    expected = torch.tensor([[_naive_iou(x, y) for y in b.to(dtype).double().tolist()] for x in a.to(dtype).double().tolist()], dtype=torch.float64)
    assert got.dtype != torch.float16  # computed in float32 at least
    torch.testing.assert_close(got.double(), expected, atol=1e-5 if dtype != torch.float16 else 1e-3, rtol=0)
    assert got[0, 0] == pytest.approx(1.0, abs=1e-5) and torch.all(got[:, 1] == 0)


def test_empty_inputs():
    empty = torch.zeros(0, 4)
    assert box_iou(empty, _random_boxes(3, 0)).shape == (0, 3)
    assert box_area(empty).shape == (0,)
    assert cxcywh_to_xyxy(empty).shape == (0, 4)


def test_format_round_trip_and_area():
    boxes = _random_boxes(10, 2)
    torch.testing.assert_close(cxcywh_to_xyxy(xyxy_to_cxcywh(boxes)), boxes)
    assert box_area(torch.tensor([[0.0, 0, 4, 3], [5, 5, 4, 4]])).tolist() == [12.0, 0.0]  # degenerate -> 0
    clipped = clip_boxes(torch.tensor([[-5.0, -1, 50, 70]]), height=60, width=40)
    assert clipped.tolist() == [[0.0, 0.0, 40.0, 60.0]]


def test_distance_codec_round_trip():
    anchors = torch.tensor([[10.5, 20.5], [3.5, 3.5]])
    boxes = torch.tensor([[8.0, 15.0, 14.0, 30.0], [0.0, 1.0, 30.0, 4.0]])
    dist = box_to_dist(anchors, boxes)
    assert dist.tolist() == [[2.5, 5.5, 3.5, 9.5], [3.5, 2.5, 26.5, 0.5]]
    torch.testing.assert_close(dist_to_box(dist, anchors, xywh=False), boxes)
    torch.testing.assert_close(dist_to_box(dist, anchors, xywh=True), xyxy_to_cxcywh(boxes))
    assert box_to_dist(anchors, boxes, max_dist=14.99).max().item() == pytest.approx(14.99)
