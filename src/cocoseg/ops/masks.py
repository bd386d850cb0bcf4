"""Instance masks from prototypes: sigmoid(coefficients @ protos), cropped to the box, thresholded at 0.5.

Thresholding a logit at 0 is the same as its sigmoid at 0.5, so no sigmoid is computed. The crop
convention is the reference's: column c is inside a box iff x1 <= c < x2 (c a pixel index).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np
import torch

from cocoseg.ops.letterbox import LetterboxMap


class MaskCrop(NamedTuple):
    """One instance mask inside its box: `mask` (h, w) bool numpy array, top-left pixel (x0, y0) in the image."""

    x0: int
    y0: int
    mask: np.ndarray


def mask_logits(protos: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """protos [nm, h, w], coefficients [N, nm] -> mask logits [N, h, w] (float32)."""
    nm, h, w = protos.shape
    return (coefficients.float() @ protos.float().reshape(nm, -1)).reshape(-1, h, w)


def crop_masks(masks: torch.Tensor, boxes_xyxy: torch.Tensor) -> torch.Tensor:
    """Zero masks [N, h, w] outside their boxes [N, 4], given in mask pixels (new tensor)."""
    _, h, w = masks.shape
    x1, y1, x2, y2 = boxes_xyxy[:, :, None, None].unbind(1)
    cols = torch.arange(w, device=masks.device, dtype=boxes_xyxy.dtype)[None, None, :]
    rows = torch.arange(h, device=masks.device, dtype=boxes_xyxy.dtype)[None, :, None]
    inside = (cols >= x1) & (cols < x2) & (rows >= y1) & (rows < y2)
    return masks * inside


def proto_masks(
    protos: torch.Tensor, coefficients: torch.Tensor, boxes_xyxy: torch.Tensor, input_hw: tuple[int, int]
) -> torch.Tensor:
    """Masks at prototype resolution (1/4 of the input), cropped to the boxes (input pixels): bool [N, h, w]."""
    _, h, w = protos.shape
    scale = boxes_xyxy.new_tensor([w / input_hw[1], h / input_hw[0], w / input_hw[1], h / input_hw[0]])
    return crop_masks(mask_logits(protos, coefficients), boxes_xyxy.float() * scale) > 0


def paste_masks(
    protos: torch.Tensor,
    coefficients: torch.Tensor,
    boxes_xyxy: torch.Tensor,
    letterbox_map: LetterboxMap,
    crop_at_proto: bool = True,
) -> list[MaskCrop]:
    """Masks of one image's detections in original-image pixels, computed only inside each box.

    Each original pixel centre is mapped into the prototype grid (an affine map: the letterbox, then
    the 1/4 prototype stride) and the mask logit is sampled bilinearly from the few prototype cells
    under the box, so the cost grows with the box area, not with the image or the detection count.
    `crop_at_proto=True` zeroes logits outside the box at prototype resolution before upsampling (the
    reference's default); False upsamples first and crops at native resolution (`retina_masks`).
    Boxes are in input pixels; masks never leave their (original-pixel) boxes. Runs on the CPU.
    """
    nm, hp, wp = protos.shape
    H, W = letterbox_map.input_hw
    h0, w0 = letterbox_map.orig_hw
    kx, ky = wp / W, hp / H  # prototype cells per input pixel (1/4)
    boxes_orig = letterbox_map.to_original(boxes_xyxy.float()).tolist()
    boxes_proto = (boxes_xyxy.float() * boxes_xyxy.new_tensor([kx, ky, kx, ky]).float()).tolist()
    protos_hwc = protos.float().permute(1, 2, 0).contiguous().cpu().numpy()
    coeffs = coefficients.float().cpu().numpy()
    # proto position of original pixel centre j: (j + 0.5) * ax + bx (align_corners=False convention)
    ax, bx = letterbox_map.scale_x * kx, (0.5 * letterbox_map.scale_x + letterbox_map.pad_x) * kx - 0.5
    ay, by = letterbox_map.scale_y * ky, (0.5 * letterbox_map.scale_y + letterbox_map.pad_y) * ky - 0.5
    out = []
    for i, (bx1, by1, bx2, by2) in enumerate(boxes_orig):
        x0, y0 = min(math.ceil(bx1), w0), min(math.ceil(by1), h0)
        x1, y1 = max(min(math.ceil(bx2), w0), x0), max(min(math.ceil(by2), h0), y0)
        if x1 == x0 or y1 == y0:
            out.append(MaskCrop(x0, y0, np.zeros((y1 - y0, x1 - x0), dtype=bool)))
            continue
        ca, cb = _window(x0 * ax + bx, (x1 - 1) * ax + bx, wp)
        ra, rb = _window(y0 * ay + by, (y1 - 1) * ay + by, hp)
        logits = protos_hwc[ra:rb, ca:cb] @ coeffs[i]
        if crop_at_proto:
            px1, py1, px2, py2 = boxes_proto[i]
            cols, rows = np.arange(ca, cb), np.arange(ra, rb)
            logits *= ((rows >= py1) & (rows < py2))[:, None] & ((cols >= px1) & (cols < px2))[None, :]
        # dst pixel (c, r) of the crop samples the window at (x0 + c) * ax + bx - ca, (y0 + r) * ay + by - ra
        affine = np.array([[ax, 0, x0 * ax + bx - ca], [0, ay, y0 * ay + by - ra]], dtype=np.float64)
        sampled = cv2.warpAffine(
            np.ascontiguousarray(logits, dtype=np.float32), affine, (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
        )
        out.append(MaskCrop(x0, y0, sampled > 0))
    return out


def _window(first: float, last: float, size: int) -> tuple[int, int]:
    """Prototype index range [a, b) covering bilinear taps of positions first..last (clamped to the grid)."""
    a = min(max(int(math.floor(first)), 0), size - 1)
    b = min(max(int(math.floor(last)) + 2, a + 1), size)
    return a, b
