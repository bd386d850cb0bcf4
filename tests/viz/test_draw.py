"""Drawing: only instance pixels change, the input is not modified, crops and full bitmaps agree."""
from __future__ import annotations

import numpy as np

from cocoseg.predictions.image_predictions import InstanceMasks
from cocoseg.viz import color_of, draw_instances


def _scene():
    image = np.full((40, 60, 3), 100, np.uint8)
    masks = np.zeros((2, 40, 60), bool)
    masks[0, 5:15, 5:20] = True
    masks[1, 20:35, 30:55] = True
    boxes = np.array([[5, 5, 20, 15], [30, 20, 55, 35]], np.float32)
    return image, masks, boxes


def test_masks_are_blended_and_nothing_else_changes():
    image, masks, _ = _scene()
    out = draw_instances(image, None, masks, [0, 1], [0.9, 0.8], {0: "a", 1: "b"}, alpha=0.5)
    assert (image == 100).all()  # input untouched
    expected = (100 * 0.5 + np.array(color_of(1)) * 0.5).astype(np.uint8)
    assert (out[25, 40] == expected).all()
    assert (out[~masks.any(0)] == 100).all()


def test_boxes_labels_keypoints_and_crops():
    image, masks, boxes = _scene()
    kpts = np.zeros((2, 17, 3))
    kpts[0, :, :2] = [3, 36]  # clear of the labels, which are drawn on top
    kpts[0, :, 2] = 2
    full = draw_instances(image, boxes, masks, [0, 1], [0.9, 0.8], ["a", "b"], keypoints=kpts, line_width=1)
    crops = InstanceMasks(40, 60, [(5, 5, masks[0, 5:15, 5:20]), (30, 20, masks[1, 20:35, 30:55])])
    assert np.array_equal(full, draw_instances(image, boxes, crops, [0, 1], [0.9, 0.8], ["a", "b"], keypoints=kpts,
                                               line_width=1))
    assert (full[20, 30] != 100).any()  # box corner drawn
    assert (full[36, 3] != draw_instances(image, boxes, masks, [0, 1], [0.9, 0.8], ["a", "b"], line_width=1)[36, 3]).any()


def test_no_instances_is_a_copy():
    image, _, _ = _scene()
    out = draw_instances(image, np.zeros((0, 4)), None, [], [], None)
    assert np.array_equal(out, image) and out is not image
