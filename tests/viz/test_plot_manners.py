"""Plots users can read (issue 14 item 25): colour by instance, labels that neither stack nor clip,
counts in every confusion cell, legends beside the curves, whole-epoch ticks, readable batch labels."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cocoseg.eval.analysis.confusion import ConfusionMatrix
from cocoseg.viz import eval_plots
from cocoseg.viz.draw import color_of, draw_instances, label_font, place_labels

pytest.importorskip("matplotlib")


def test_two_instances_of_one_class_get_two_colours() -> None:
    image = np.full((60, 80, 3), 100, np.uint8)
    masks = np.zeros((2, 60, 80), bool)
    masks[0, 30:50, 5:30] = True
    masks[1, 30:50, 40:70] = True
    out = draw_instances(image, None, masks, [0, 0], None, ["cat"], alpha=1.0)
    assert tuple(out[40, 10]) == color_of(0) and tuple(out[40, 50]) == color_of(1)
    by_class = draw_instances(image, None, masks, [0, 0], None, ["cat"], alpha=1.0, color_by="class")
    assert tuple(by_class[40, 10]) == tuple(by_class[40, 50])


def test_labels_of_overlapping_boxes_do_not_stack_and_stay_inside() -> None:
    spots = place_labels([(10, 5), (12, 6), (95, 50)], [(40, 14), (40, 14), (40, 14)], (60, 100))
    boxes = [(x, y, 40, 14) for x, y in spots]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[0] + a[2] <= 100 and 0 <= a[1] and a[1] + a[3] <= 60  # not clipped
        for b in boxes[i + 1:]:
            assert not (a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3])


def test_label_text_is_readable_on_small_tiles() -> None:
    cv2 = pytest.importorskip("cv2")
    scale, thickness = label_font(1)
    (_, height), _ = cv2.getTextSize("person", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    assert height >= 10  # was 0.3 scale: 6-8 px


def _capture(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    figures: list[Any] = []
    monkeypatch.setattr(eval_plots, "_save", lambda fig, path, dpi: figures.append(fig) or path)
    return figures


def test_every_confusion_cell_shows_its_count_even_with_many_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    figures = _capture(monkeypatch)
    n = 40  # beyond the old limit of 30 classes with counts
    matrix = np.zeros((n + 1, n + 1), np.int64)
    matrix[np.arange(n), np.arange(n)] = np.arange(1, n + 1)
    matrix[n, 0] = 7
    cm = ConfusionMatrix(matrix, tuple(range(1, n + 1)), tuple(f"c{i}" for i in range(n)), 0.5, 0.25, 0)
    eval_plots.plot_confusion(cm, Path("unused.png"))
    texts = {t.get_text() for t in figures[0].axes[0].texts}
    assert {str(v) for v in range(1, n + 1)} | {"7"} <= texts


def test_legends_sit_beside_the_curves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cocoseg.eval.analysis.analyze import analyze
    from cocoseg.io import CocoDataset

    anns = [{"id": i + 1, "image_id": 1, "category_id": 1 + i % 2, "bbox": [20 * i, 0, 10, 10], "area": 100.0,
             "iscrowd": 0} for i in range(4)]
    gt = CocoDataset.from_dict({"images": [{"id": 1, "width": 100, "height": 20}], "annotations": anns,
                                "categories": [{"id": 1, "name": "cup"}, {"id": 2, "name": "fork"}]})
    dets = [{"image_id": 1, "category_id": 1 + i % 2, "bbox": [20 * i, 1, 10, 10], "score": 0.9 - i / 10}
            for i in range(4)]
    figures = _capture(monkeypatch)
    eval_plots.write_plots(analyze(gt, dets, "bbox"), tmp_path)
    assert len(figures) == 6
    for fig in figures[:5]:  # the curve plots
        ax = fig.axes[0]
        fig.canvas.draw()
        legend, axes_box = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert legend.x0 >= axes_box.x1  # entirely right of the plotting area


def test_results_png_has_whole_epoch_ticks_and_a_marker_for_one_validation(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.figure

    from cocoseg.viz.training_plots import plot_results

    csv = tmp_path / "results.csv"
    csv.write_text("epoch,train/box_loss,metrics/mAP50(M)\n1,1.0,\n2,0.9,\n3,0.8,0.42\n")
    saved: list[Any] = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, *a, **k: saved.append(self))
    plot_results(csv, tmp_path / "results.png")
    loss_ax, map_ax = saved[0].axes[:2]
    ticks = [t for t in loss_ax.get_xticks() if loss_ax.get_xlim()[0] <= t <= loss_ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    (line,) = map_ax.get_lines()
    assert list(line.get_xdata()) == [3.0] and line.get_marker() == "o"  # one validation: a visible point


def test_tide_table_states_its_units() -> None:
    from cocoseg.eval.analysis.analyze import analyze
    from cocoseg.io import CocoDataset

    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100.0, "iscrowd": 0}]
    gt = CocoDataset.from_dict({"images": [{"id": 1, "width": 50, "height": 20}], "annotations": anns,
                                "categories": [{"id": 1, "name": "cup"}]})
    dets = [{"image_id": 1, "category_id": 1, "bbox": [30, 0, 10, 10], "score": 0.9}]
    text = analyze(gt, dets, "bbox", errors=True).format()
    assert "in AP points = AP x 100" in text and "dAP x100" in text
