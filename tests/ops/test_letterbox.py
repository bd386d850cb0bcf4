"""Letterbox: placement, padding, rect shapes and the input <-> original box map."""
from __future__ import annotations

import numpy as np
import torch

from cocoseg.ops import letterbox, letterbox_shape


def test_letterbox_places_the_resized_image_centred():
    image = np.full((48, 80, 3), 200, np.uint8)
    out, lb = letterbox(image, (96, 96))
    assert out.shape == (96, 96, 3)
    assert (lb.scale_x, lb.scale_y, lb.pad_x, lb.pad_y) == (1.2, 58 / 48, 0.0, 19.0)  # 57.6 rows round to 58
    assert (out[:19] == 114).all() and (out[19 + 58 :] == 114).all() and (out[19 : 19 + 58] == 200).all()
    same, lb2 = letterbox(image, (48, 80))
    assert np.array_equal(same, image) and same is not image and lb2.pad_x == lb2.pad_y == 0


def test_box_map_round_trip_numpy_and_torch():
    _, lb = letterbox(np.zeros((427, 640, 3), np.uint8), (640, 640))
    boxes = np.array([[10.0, 20.0, 300.0, 400.0], [0, 0, 640, 427]], np.float32)
    np.testing.assert_allclose(lb.to_original(lb.to_input(boxes)), boxes, atol=1e-3)
    t = torch.tensor(boxes)
    torch.testing.assert_close(lb.to_original(lb.to_input(t)), t, atol=1e-3, rtol=0)
    assert lb.to_original(np.array([[-50.0, -50, 900, 900]])).tolist() == [[0, 0, 640, 427]]  # clipped


def test_rect_shapes_and_no_upscaling():
    assert letterbox_shape((427, 640), 640, auto=True) == (448, 640)
    assert letterbox_shape((1080, 1920), 640, auto=True) == (384, 640)
    assert letterbox_shape((1080, 1920), (320, 640), auto=False) == (320, 640)
    out, lb = letterbox(np.zeros((20, 30, 3), np.uint8), (64, 64), scaleup=False)
    assert lb.scale_x == 1.0 and out.shape == (64, 64, 3)


def test_imgsz_is_rounded_up_to_the_stride_with_one_warning(caplog):
    import pytest

    from cocoseg.errors import CocosegError
    from cocoseg.ops.letterbox import stride_imgsz

    assert stride_imgsz(640) == 640 and stride_imgsz((320, 640)) == (320, 640)
    assert not caplog.text  # nothing to say about a valid size
    assert stride_imgsz(321) == 352 and stride_imgsz((100, 65)) == (128, 96) and stride_imgsz(33, 16) == 48
    assert caplog.text.count("not a multiple of the model's stride") == 3
    assert "imgsz=321 is not a multiple of the model's stride 32: using 352" in caplog.text
    for bad in (0, -32, (640, 0), (1, 2, 3)):
        with pytest.raises(CocosegError, match="imgsz"):
            stride_imgsz(bad)
