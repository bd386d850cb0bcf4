"""Every audit scoring function against hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cocoseg.curate import audit_scores as S


def test_centre_distance_and_similarity() -> None:
    d = S.centre_distances(np.array([[0, 0, 10, 10]]), np.array([[3, 4, 10, 10], [0, 0, 10, 10]]))
    assert d.tolist() == [[5.0, 0.0]]
    assert S.similarity(0.5, 10.0) == pytest.approx(0.45 + 0.1 * math.exp(-1.0), abs=1e-12)
    assert S.similarity(1.0, 0.0) == pytest.approx(1.0)


def test_softmin_and_geometric_mean() -> None:
    w = 1 / (1 + math.exp(-6))  # softmax(-x / 0.1) weight of 0.2 against 0.8
    assert S.softmin(np.array([0.2, 0.8])) == pytest.approx(0.2 * w + 0.8 * (1 - w), abs=1e-12)
    assert S.softmin(np.array([np.nan, 0.3])) == pytest.approx(0.3)
    assert S.softmin(np.array([])) == 1.0
    assert S.geometric_mean({"a": 0.25, "b": 1.0}) == pytest.approx(0.5)
    assert S.geometric_mean({"a": 0.25, "b": 1.0}, {"a": 1.0, "b": 0.0}) == pytest.approx(0.25)


def test_overlooked_scores() -> None:
    # one label of class 1; predictions: far class 1 (p .97), unconfident (p .9), class 2 with no label (p .99),
    # and one overlapping the label (p .99)
    sim = np.array([[0.1 * math.exp(-5.0), 0.2, 0.01, 0.8]])
    iou = np.array([[0.0, 0.0, 0.0, 0.7]])
    out = S.overlooked_scores(sim, iou, np.array([1]), np.array([1, 1, 2, 1]), np.array([0.97, 0.9, 0.99, 0.99]),
                              floor=0.001)
    assert out[0] == pytest.approx(0.1 * math.exp(-5.0))
    assert np.isnan(out[1]) and np.isnan(out[3])
    assert out[2] == pytest.approx(0.001 * 0.01)
    # ObjectLab's strict rule: any overlap excludes; cocoseg's default tolerates IoU <= 0.1
    touching = S.overlooked_scores(np.array([[0.1]]), np.array([[0.05]]), np.array([1]), np.array([1]),
                                   np.array([0.99]), 0.001)
    strict = S.overlooked_scores(np.array([[0.1]]), np.array([[0.05]]), np.array([1]), np.array([1]),
                                 np.array([0.99]), 0.001, overlap=0.0)
    assert touching[0] == pytest.approx(0.1) and np.isnan(strict[0])


def test_swap_scores() -> None:
    sim = np.array([[0.8, 0.3], [0.35, 0.9]])
    cats, pcats, p = np.array([1, 1]), np.array([2, 1]), np.array([0.99, 0.99])
    objectlab = S.swap_scores(sim, cats, pcats, p, floor=0.01)
    assert objectlab.tolist() == pytest.approx([0.2, 0.65])  # both labels see the class-2 prediction
    owner = S.best_label(sim)
    assert owner.tolist() == [0, 1]
    refined = S.swap_scores(sim, cats, pcats, p, floor=0.01, owner=owner)
    assert refined.tolist() == pytest.approx([0.2, 1 - S.SHARED_WEIGHT * 0.35])
    # two labels of different classes on one object: floor
    label_iou = np.array([[1.0, 0.97], [0.97, 1.0]])
    assert S.swap_scores(sim, np.array([1, 2]), pcats, np.array([0.5, 0.5]), 0.01, label_iou).tolist() == [0.01, 0.01]
    assert S.swap_scores(sim, cats, pcats, np.array([0.9, 0.9]), 0.01).tolist() == [1.0, 1.0]  # nothing confident


def test_badloc_scores() -> None:
    sim = np.array([[0.6, 0.2, 0.9], [0.0, 0.7, 0.0]])
    iou = np.array([[0.6, 0.1, 0.9], [0.0, 0.7, 0.0]])
    cats, pcats = np.array([1, 1]), np.array([1, 1, 2])
    scores, best = S.badloc_scores(sim, iou, cats, pcats, np.array([0.9, 0.4, 0.99]))
    assert scores.tolist() == pytest.approx([0.6, 1.0]) and best.tolist() == [0, -1]  # p .4 <= low: no evidence
    owner = np.array([1, 1, -1])  # prediction 0 resembles label 1 more
    scores, best = S.badloc_scores(sim, iou, cats, pcats, np.array([0.9, 0.9, 0.99]), owner=owner)
    assert scores.tolist() == pytest.approx([1 - S.SHARED_WEIGHT * (1 - 0.6), 0.7]) and best.tolist() == [-1, 1]
    assert S.best_label(sim, cats, pcats).tolist() == [0, 1, -1]


def test_duplicate_degenerate_calibration_floor() -> None:
    label_iou = np.array([[1.0, 0.95, 0.0], [0.95, 1.0, 0.0], [0.0, 0.0, 1.0]])
    scores, partner = S.duplicate_scores(label_iou, np.array([1, 1, 1]))
    assert scores.tolist() == pytest.approx([1.0, 0.05, 1.0]) and partner.tolist() == [-1, 0, -1]
    assert S.duplicate_scores(label_iou, np.array([1, 2, 1]))[0].tolist() == [1.0, 1.0, 1.0]  # other class
    deg = S.degenerate_scores(np.array([100.0, 2.0, 100.0, 100.0]),
                              np.array([[0, 0, 10, 10], [5, 5, 1, 2], [95, 0, 10, 10], [0, 0, 0, 10]]), 100, 100)
    assert deg.tolist() == [1.0, 0.0, 0.0, 0.0]
    out = S.calibrate_by_class(np.array([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.3]), np.array([1, 1, 1, 1, 1, 1, 2]))
    assert out.tolist() == pytest.approx([0.5 / 0.7, 0.6 / 0.7, 1.0, 1.0, 1.0, 1.0, 0.3])  # class 2: too few
    assert S.min_nonzero(np.array([[0.0, 0.3], [0.2, 0.0]])) == 0.2
    assert S.min_nonzero(np.zeros((0, 3)), 0.5) == 0.5
