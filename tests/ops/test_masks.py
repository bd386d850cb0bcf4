"""Mask assembly: box-local bilinear pasting vs a direct evaluation of its definition, and vs the
reference's crop-upsample pipeline; prototype-resolution masks; box-local RLE vs pycocotools."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cocoseg.masks import crop_to_rle, encode
from cocoseg.ops import LetterboxMap, crop_masks, mask_logits, paste_masks, proto_masks
from cocoseg.predictions.image_predictions import InstanceMasks


def _setup(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(8, 16, 20, generator=g)  # input 64 x 80
    coeffs = torch.randn(5, 8, generator=g)
    lb = LetterboxMap(80 / 70, 50 / 44, 0.0, 7.0, (64, 80), (44, 70))  # original 44 x 70, padded top 7
    boxes_in = torch.tensor([[3.2, 9.5, 61.7, 50.1], [0, 7, 80, 57], [20.5, 20.5, 22.0, 21.0], [40, 30, 41, 30],
                             [70.3, 40.2, 79.9, 56.9]])
    return protos, coeffs, lb, boxes_in


def _direct(protos, coeff, box_in, lb, crop_at_proto):
    """The definition: each original pixel centre mapped into the proto grid, bilinear, clamped; logit > 0."""
    nm, hp, wp = protos.shape
    logits = mask_logits(protos, coeff[None])[0].double().numpy()
    if crop_at_proto:
        logits = crop_masks(torch.from_numpy(logits)[None], box_in[None].double() * torch.tensor(
            [wp / 80, hp / 64, wp / 80, hp / 64], dtype=torch.float64))[0].numpy()
    x1, y1, x2, y2 = lb.to_original(box_in[None])[0].tolist()
    cols = np.arange(min(math.ceil(x1), 70), min(math.ceil(x2), 70))
    rows = np.arange(min(math.ceil(y1), 44), min(math.ceil(y2), 44))
    u = np.clip(((cols + 0.5) * lb.scale_x + lb.pad_x) * wp / 80 - 0.5, 0, wp - 1)
    v = np.clip(((rows + 0.5) * lb.scale_y + lb.pad_y) * hp / 64 - 0.5, 0, hp - 1)
    u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
    u1, v1 = np.minimum(u0 + 1, wp - 1), np.minimum(v0 + 1, hp - 1)
    fu, fv = (u - u0)[None, :], (v - v0)[:, None]
    top = logits[v0][:, u0] * (1 - fu) + logits[v0][:, u1] * fu
    bottom = logits[v1][:, u0] * (1 - fu) + logits[v1][:, u1] * fu
    return int(cols[0]) if len(cols) else 0, int(rows[0]) if len(rows) else 0, (top * (1 - fv) + bottom * fv) > 0


@pytest.mark.parametrize("crop_at_proto", [True, False])
def test_paste_masks_follows_its_definition(crop_at_proto):
    protos, coeffs, lb, boxes = _setup()
    crops = paste_masks(protos, coeffs, boxes, lb, crop_at_proto=crop_at_proto)
    for crop, coeff, box in zip(crops, coeffs, boxes):
        x0, y0, expected = _direct(protos, coeff, box, lb, crop_at_proto)
        assert crop.mask.shape == expected.shape and crop.mask.dtype == bool
        if expected.size:
            assert (crop.x0, crop.y0) == (x0, y0)
            # OpenCV interpolates with 1/32-pixel fixed-point weights: only pixels at a zero crossing may differ
            assert (crop.mask != expected).mean() <= 0.01


def test_paste_masks_matches_the_reference_pipeline_without_resize():
    """With no resize, crop at proto -> bilinear x4 upsample -> remove padding gives the same masks."""
    g = torch.Generator().manual_seed(1)
    protos, coeffs = torch.randn(8, 16, 20, generator=g), torch.randn(4, 8, generator=g)
    lb = LetterboxMap(1.0, 1.0, 0.0, 8.0, (64, 80), (48, 80))
    boxes = torch.tensor([[4.0, 10, 60, 50], [0, 8, 80, 56], [33.3, 21.7, 71.2, 40.9], [10, 30, 20, 33]])
    upsampled = F.interpolate(crop_masks(mask_logits(protos, coeffs), boxes / 4)[None], (64, 80), mode="bilinear",
                              align_corners=False)[0, :, 8:56] > 0
    masks = InstanceMasks(48, 80, paste_masks(protos, coeffs, boxes, lb)).bitmaps()
    for got, ref, box in zip(masks, upsampled.numpy(), lb.to_original(boxes).tolist()):
        inside = np.zeros_like(ref)
        inside[math.ceil(box[1]) : math.ceil(box[3]), math.ceil(box[0]) : math.ceil(box[2])] = True
        assert (got == (ref & inside)).mean() >= 0.995
        assert not (got & ~inside).any()  # masks never leave their boxes


def test_proto_masks_are_cropped_logits():
    protos, coeffs, _, boxes = _setup()
    masks = proto_masks(protos, coeffs, boxes, (64, 80))
    logits = torch.einsum("nc,chw->nhw", coeffs, protos)
    cols, rows = torch.arange(20.0), torch.arange(16.0)
    for m, logit, (x1, y1, x2, y2) in zip(masks, logits, (boxes / 4).tolist()):
        inside = ((rows >= y1) & (rows < y2))[:, None] & ((cols >= x1) & (cols < x2))[None]
        assert torch.equal(m, (logit > 0) & inside)


def test_empty_inputs():
    protos, _, lb, _ = _setup()
    assert paste_masks(protos, torch.zeros(0, 8), torch.zeros(0, 4), lb) == []
    assert proto_masks(protos, torch.zeros(0, 8), torch.zeros(0, 4), (64, 80)).shape == (0, 16, 20)


@pytest.mark.parametrize("seed", range(4))
def test_crop_to_rle_equals_full_bitmap_encoding(seed):
    rng = np.random.default_rng(seed)
    h, w = 37, 53
    cases = [(0, 0, np.ones((h, w), bool)), (5, 3, np.zeros((4, 6), bool)), (w - 1, h - 1, np.ones((1, 1), bool)),
             (7, 0, np.ones((h, 9), bool)), (w - 4, 0, rng.random((h, 4)) > 0.5)]  # full-height columns
    for _ in range(20):
        ch, cw = rng.integers(1, h), rng.integers(1, w)
        y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        cases.append((x0, y0, rng.random((ch, cw)) > 0.5))
    for x0, y0, crop in cases:
        full = np.zeros((h, w), np.uint8)
        full[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
        assert crop_to_rle(int(x0), int(y0), crop, h, w) == encode(full)
