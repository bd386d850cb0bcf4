"""Uncertainty scores of `cocoseg rank` against values computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from cocoseg.curate.uncertainty import (
    aggregate,
    binary_entropy,
    class_entropy,
    flip_inconsistency,
    least_confidence,
    margin,
    mask_entropy,
    mask_iou_matrix,
    match_by_iou,
    uncertainty_components,
)

# two detections, three classes
SCORES = np.array([[0.9, 0.3, 0.0], [0.5, 0.5, 0.1]])
H09 = -(0.9 * np.log2(0.9) + 0.1 * np.log2(0.1))  # 0.468996 bits
H03 = -(0.3 * np.log2(0.3) + 0.7 * np.log2(0.7))  # 0.881291 bits


def test_binary_entropy_values():
    assert binary_entropy(np.array([0.0, 0.5, 1.0])) == pytest.approx([0.0, 1.0, 0.0])
    assert binary_entropy(np.array([0.9, 0.1])) == pytest.approx([0.468996, 0.468996], abs=1e-6)


def test_least_confidence_and_margin():
    assert least_confidence(SCORES) == pytest.approx([0.1, 0.5])
    assert margin(SCORES) == pytest.approx([1 - (0.9 - 0.3), 1.0])
    assert margin(np.array([[0.7]])) == pytest.approx([0.3])  # one class: p2 = 0


def test_class_entropy_is_the_sum_of_binary_entropies():
    assert class_entropy(SCORES) == pytest.approx([H09 + H03, 1.0 + 1.0 + H09])
    assert H09 + H03 == pytest.approx(1.350287, abs=1e-6)


def test_sigmoid_entropy_calls_faint_blobs_certain():
    # normalised into a distribution, (0.06, 0.05) would be near 1 bit; as two Bernoullis it is small
    faint, doubtful = class_entropy(np.array([[0.06, 0.05], [0.5, 0.005]]))
    assert faint == pytest.approx(0.327445 + 0.286397, abs=1e-5)
    assert faint < doubtful


def test_mask_entropy_mean_inside_box():
    crops = [np.full((2, 3), 0.5), np.array([[0.9, 0.1]]), np.zeros((0, 0))]
    assert mask_entropy(crops) == pytest.approx([1.0, H09, 1.0])


def test_aggregates():
    values = np.array([0.2, 0.5, 0.3])
    assert [aggregate(values, h) for h in ("max", "mean", "sum")] == pytest.approx([0.5, 1 / 3, 1.0])
    assert aggregate(np.zeros(0), "max") == 0.0
    with pytest.raises(ValueError):
        aggregate(values, "median")


def test_components_of_an_image():
    comps = uncertainty_components(SCORES, [np.full((2, 2), 0.5), np.array([[0.9, 0.1]])])
    assert comps["detections"] == 2
    assert comps["least_confidence_max"] == pytest.approx(0.5)
    assert comps["least_confidence_mean"] == pytest.approx(0.3)
    assert comps["margin_sum"] == pytest.approx(1.4)
    assert comps["entropy_max"] == pytest.approx(2 + H09)
    assert comps["mask_mean"] == pytest.approx((1 + H09) / 2)
    empty = uncertainty_components(np.zeros((0, 3)), [])
    assert empty["detections"] == 0 and all(v == 0 for k, v in empty.items())


def _masks() -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros((2, 8, 8), bool)
    a[0, :4, :4] = True  # 16 px
    a[1, 4:, 4:] = True
    b = np.zeros((1, 8, 8), bool)
    b[0, :4, :2] = True  # 8 px inside a[0]: IoU 0.5
    return a, b


def test_mask_iou_and_matching():
    a, b = _masks()
    assert mask_iou_matrix(a, b) == pytest.approx(np.array([[0.5], [0.0]]))
    assert match_by_iou(mask_iou_matrix(a, b), np.array([0.9, 0.5])) == [(0, 0)]
    assert mask_iou_matrix(a, b[:0]).shape == (2, 0)


def test_flip_inconsistency_by_hand():
    a, b = _masks()
    got = flip_inconsistency(a, np.array([0.9, 0.5]), b, np.array([0.8]))
    # pair (0, 0): w = 0.85, v = 0.5; a[1] unmatched: w = 0.5, v = 1
    assert got["flip_sum"] == pytest.approx(0.85 * 0.5 + 0.5)
    assert got["flip_mean"] == pytest.approx((0.85 * 0.5 + 0.5) / 1.35)
    assert got["flip_max"] == pytest.approx(0.5)  # max(w v): the unmatched detection


def test_flip_agreement_and_no_detections():
    a, _ = _masks()
    same = flip_inconsistency(a, np.array([0.9, 0.5]), a.copy(), np.array([0.7, 0.6]))
    assert same == {"flip_mean": 0.0, "flip_max": 0.0, "flip_sum": 0.0}
    none = flip_inconsistency(a[:0], np.zeros(0), a[:0], np.zeros(0))
    assert none["flip_mean"] == 0.0
    only_flipped = flip_inconsistency(a[:0], np.zeros(0), a[:1], np.array([0.4]))
    assert only_flipped == pytest.approx({"flip_mean": 1.0, "flip_max": 0.4, "flip_sum": 0.4})
