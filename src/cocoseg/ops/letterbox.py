"""Letterbox resize (keep aspect ratio, pad with gray) and the exact map between input and original pixels.

The one letterbox of cocoseg: training/validation samples (`cocoseg.data.augment.LetterBox`) and
prediction (`cocoseg.engine.predictor`) both call `letterbox` here. numpy + cv2 only (no torch at
module level), so the numpy-side `data` transforms use it without pulling the model stack.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypeVar

import cv2
import numpy as np

from cocoseg.errors import CocosegError

LOGGER = logging.getLogger(__name__)
PAD_VALUE = 114  # gray of the padding and of warped-in borders
BoxArray = TypeVar("BoxArray", bound=Any)  # np.ndarray or torch.Tensor: the result has the input's type


def _copy_boxes(boxes: Any) -> Any:
    """A float copy of (N, 4) boxes, torch tensors kept as tensors (duck-typed: no torch import here)."""
    return boxes.clone() if hasattr(boxes, "clone") else np.array(boxes, dtype=np.float32)


@dataclass(frozen=True)
class LetterboxMap:
    """How an original image was placed in the network input: x_in = x_orig * scale_x + pad_x (same for y).

    `scale_x`/`scale_y` are the resized size over the original size (equal up to rounding of the
    resized size); `pad_x`/`pad_y` the left/top padding in input pixels.
    """

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    input_hw: tuple[int, int]
    orig_hw: tuple[int, int]

    def to_original(self, boxes_xyxy: BoxArray, clip: bool = True) -> BoxArray:
        """(N, 4) boxes in input pixels -> original-image pixels (new array/tensor), clipped to the image."""
        out = _copy_boxes(boxes_xyxy)
        out[..., 0::2] = (out[..., 0::2] - self.pad_x) / self.scale_x
        out[..., 1::2] = (out[..., 1::2] - self.pad_y) / self.scale_y
        if clip:
            h, w = self.orig_hw
            out[..., 0::2] = out[..., 0::2].clip(0, w)
            out[..., 1::2] = out[..., 1::2].clip(0, h)
        return out

    def to_input(self, boxes_xyxy: BoxArray) -> BoxArray:
        """(N, 4) boxes in original pixels -> input pixels (new array/tensor)."""
        out = _copy_boxes(boxes_xyxy)
        out[..., 0::2] = out[..., 0::2] * self.scale_x + self.pad_x
        out[..., 1::2] = out[..., 1::2] * self.scale_y + self.pad_y
        return out


def letterbox_shape(orig_hw: tuple[int, int], imgsz: int | tuple[int, int], stride: int = 32, auto: bool = False) -> tuple[int, int]:
    """The input (H, W) for an image: `imgsz` square/rect, or with `auto` the smallest stride multiple around it."""
    h, w = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    if not auto:
        return h, w
    r = min(h / orig_hw[0], w / orig_hw[1])
    new_h, new_w = round(orig_hw[0] * r), round(orig_hw[1] * r)
    return int(np.ceil(new_h / stride) * stride), int(np.ceil(new_w / stride) * stride)


def letterbox(
    image: np.ndarray, input_hw: tuple[int, int], scaleup: bool = True, pad_value: int = PAD_VALUE
) -> tuple[np.ndarray, LetterboxMap]:
    """Resize `image` (H, W, C) to fit `input_hw` keeping its aspect ratio and pad it centred.

    Bilinear resize, padding split as the reference does (left = round(dw / 2 - 0.1)). Returns the
    padded image (new array) and the map between input and original pixels.
    """
    h0, w0 = image.shape[:2]
    H, W = input_hw
    r = min(H / h0, W / w0)
    if not scaleup:
        r = min(r, 1.0)
    new_w, new_h = max(1, round(w0 * r)), max(1, round(h0 * r))
    resized = image if (new_w, new_h) == (w0, h0) else cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (W - new_w) / 2, (H - new_h) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    bottom, right = H - new_h - top, W - new_w - left
    if top or bottom or left or right:
        value = (pad_value,) * (image.shape[2] if image.ndim == 3 else 1)
        out = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)
    else:
        out = np.ascontiguousarray(resized) if resized is not image else image.copy()
    lb = LetterboxMap(new_w / w0, new_h / h0, float(left), float(top), (H, W), (h0, w0))
    return out, lb


def stride_imgsz(imgsz: int | tuple[int, int], stride: int = 32) -> int | tuple[int, int]:
    """`imgsz` (S or (H, W)) rounded up to multiples of the model's largest `stride`, with one warning line
    when that changes it (the reference's rule for val, predict and export); a size below 1 is an error."""
    sizes = [imgsz] if isinstance(imgsz, int) else list(imgsz)
    if len(sizes) not in (1, 2) or any(int(s) <= 0 for s in sizes):
        raise CocosegError(f"imgsz: expected one or two positive sizes, got {imgsz}")
    rounded = [int(-(-int(s) // stride) * stride) for s in sizes]
    if rounded != [int(s) for s in sizes]:
        shown = rounded[0] if len(rounded) == 1 else rounded
        LOGGER.warning("imgsz=%s is not a multiple of the model's stride %d: using %s", imgsz, stride, shown)
    return rounded[0] if isinstance(imgsz, int) else (rounded[0], rounded[-1])
