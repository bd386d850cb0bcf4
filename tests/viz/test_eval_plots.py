"""PNG plots: written atomically, named by category, a clear error without matplotlib."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cocoseg.errors import CocosegError
from cocoseg.eval import evaluate
from cocoseg.eval.analysis.analyze import analyze
from cocoseg.io import CocoDataset
from cocoseg.viz.eval_plots import write_plots

PNG = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = ["pr_curve.png", "pr_curve_by_iou.png", "f1_curve.png", "precision_curve.png", "recall_curve.png",
             "confusion_matrix.png"]


def small_case() -> tuple[CocoDataset, list[dict]]:
    """Two categories with ids 3 and 11 (plus 20 without GT), two images, one without GT."""
    anns = [{"id": i + 1, "image_id": 1, "category_id": c, "bbox": [x, 0, 10, 10], "area": 100.0, "iscrowd": 0}
            for i, (c, x) in enumerate([(3, 0), (3, 20), (11, 40), (11, 60)])]
    gt = CocoDataset.from_dict({"images": [{"id": 1, "width": 100, "height": 20}, {"id": 2, "width": 100, "height": 20}],
                                "annotations": anns, "categories": [{"id": 3, "name": "cup"}, {"id": 11, "name": "fork"},
                                                                    {"id": 20, "name": "spoon"}]})
    dets = [{"image_id": 1, "category_id": c, "bbox": [x, 1, 10, 10], "score": s}
            for c, x, s in [(3, 0, .9), (11, 20, .8), (11, 40, .7), (20, 60, .6), (3, 80, .5)]]
    dets.append({"image_id": 2, "category_id": 3, "bbox": [0, 0, 10, 10], "score": .4})
    return gt, dets


def test_all_plots_from_an_analysis(tmp_path: Path) -> None:
    gt, dets = small_case()
    paths = write_plots(analyze(gt, dets, "bbox", errors=False, slices=False), tmp_path / "plots", dpi=40)
    assert [p.name for p in paths] == ALL_PLOTS
    for p in paths:
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 1000
    assert sorted(f.name for f in (tmp_path / "plots").iterdir()) == sorted(ALL_PLOTS)  # no temp files left


def test_pr_plots_from_an_eval_result(tmp_path: Path) -> None:
    gt, dets = small_case()
    paths = write_plots(evaluate(gt, dets, "bbox"), tmp_path, dpi=40)
    assert [p.name for p in paths] == ["pr_curve.png", "pr_curve_by_iou.png"]


def test_labels_are_category_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # capture the tick and legend labels drawn, instead of reading pixels
    from matplotlib.figure import Figure

    texts: list[str] = []
    original = Figure.savefig

    def spy(fig, *args, **kwargs):
        for ax in fig.axes:
            texts.extend(t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels())
            texts.extend([ax.get_xlabel(), ax.get_ylabel()])
            legend = ax.get_legend()
            if legend is not None:
                texts.extend(t.get_text() for t in legend.get_texts())
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    gt, dets = small_case()
    write_plots(analyze(gt, dets, "bbox", errors=False, slices=False), tmp_path, dpi=40)
    joined = "\n".join(texts)
    for label in ("cup", "fork", "spoon", "background", "Recall", "Precision", "Confidence threshold", "F1",
                  "Predicted", "True"):
        assert label in joined, label
    legend_names = [t for t in texts if t.startswith(("cup", "fork", "spoon"))]
    assert legend_names and not any(t.startswith("spoon ") for t in legend_names)  # no GT: no PR curve


def test_missing_matplotlib_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gt, dets = small_case()
    result = evaluate(gt, dets, "bbox")
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(CocosegError, match=r"pip install 'cocoseg\[train\]'"):
        write_plots(result, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    def broken(fig, fh, **kwargs):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    gt, dets = small_case()
    with pytest.raises(RuntimeError, match="disk full"):
        write_plots(evaluate(gt, dets, "bbox"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_real_data_plots(tmp_path: Path, fake100: Path) -> None:
    root = fake100
    a = analyze(root / "annotations" / "instances_val2014_100.json",
                root / "results" / "instances_val2014_fakesegm100_results.json", "segm", errors=False, slices=False)
    paths = write_plots(a, tmp_path, dpi=30)
    assert [p.name for p in paths] == ALL_PLOTS
    assert np.all([p.read_bytes()[:8] == PNG for p in paths])
