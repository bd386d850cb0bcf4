"""Model A/B: resampled states equal re-evaluations, bootstrap intervals, the CLI and its PNG."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import shared_path

from cocoseg.cli.main import main
from cocoseg.curate.compare import bootstrap_deltas, compare, reduced_state, resample_state, state_metrics
from cocoseg.curate.suite import parse_slice
from cocoseg.eval import evaluate
from cocoseg.io import CocoDataset


def _duplicated(gt: dict, results: list[dict], picks: list[int]) -> tuple[dict, list[dict]]:
    """The dataset and results of the image multiset `picks`, each draw a new image id."""
    images = sorted(gt["images"], key=lambda im: im["id"])
    out_images, anns, dets = [], [], []
    for new_id, k in enumerate(picks, 1):
        old = images[k]["id"]
        out_images.append({**images[k], "id": new_id})
        anns += [{**a, "image_id": new_id} for a in gt["annotations"] if a["image_id"] == old]
        dets += [{**d, "image_id": new_id} for d in results if d["image_id"] == old]
    anns = [{**a, "id": i} for i, a in enumerate(anns, 1)]
    return {**gt, "images": out_images, "annotations": anns}, dets


def test_resampled_state_equals_evaluating_the_multiset(synth_set: dict) -> None:
    gt = json.loads(synth_set["gt"].read_text())
    res = json.loads(synth_set["a"].read_text())
    state = evaluate(CocoDataset.from_dict(gt), res, "bbox").state
    picks = np.array([3, 3, 0, 7, 7, 7, 12])
    metrics, per_class = state_metrics(resample_state(state, picks), per_class=True)
    dup_gt, dup_res = _duplicated(gt, res, picks.tolist())
    expected = evaluate(CocoDataset.from_dict(dup_gt), dup_res, "bbox", category_ids=[c["id"] for c in gt["categories"]])
    assert metrics == pytest.approx(expected.metrics, abs=1e-12)
    assert per_class == pytest.approx({r["category_id"]: r["ap"] for r in expected.per_class}, abs=1e-12)
    reduced, _ = state_metrics(reduced_state(state))
    full = evaluate(CocoDataset.from_dict(gt), res, "bbox")
    assert reduced == {k: full.metrics[k] for k in ("ap", "ap50", "ap75", "ar100")}


def test_bootstrap_identical_and_better_models(synth_set: dict) -> None:
    a = evaluate(synth_set["gt"], synth_set["a"], "bbox").state
    b = evaluate(synth_set["gt"], synth_set["b"], "bbox").state
    same, _ = bootstrap_deltas(a, a, resamples=30)
    assert all(d.delta == 0 and d.low == 0 and d.high == 0 and not d.significant for d in same.values())
    better, classes = bootstrap_deltas(a, b, resamples=60, per_class=True, seed=3)
    again, _ = bootstrap_deltas(a, b, resamples=60, per_class=True, seed=3)
    assert better["ap"].delta > 0 and better["ap"].significant and better["ap"].low < better["ap"].delta < better["ap"].high
    assert better == again  # seeded
    assert classes and all(d.low <= d.delta <= d.high for d in classes.values() if np.isfinite(d.delta))


def test_compare_cli_writes_json_and_png(synth_set: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out, plot = tmp_path / "d.json", tmp_path / "d.png"
    args = ["compare", str(synth_set["gt"]), str(synth_set["a"]), str(synth_set["b"]), "--resamples", "20",
            "--out", str(out), "--plot", str(plot)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "20 resamples, seed 0" in text and "occluded" in text
    data = json.loads(out.read_text())
    assert data["slices"]["all"]["ap"]["delta"] > 0 and data["delta"] == "B - A"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([*args[:4], "--resamples", "0"]) == 1


def test_real_coco_subset_compare() -> None:
    root = shared_path("data", "cocoapi-val2014-fake100")
    gt = root / "annotations/instances_val2014_100.json"
    res = json.loads((root / "results/instances_val2014_fakebbox100_results.json").read_text())
    report = compare(gt, res, res[: len(res) // 2], "bbox", [parse_slice({"name": "all"}, "all")], resamples=20)
    assert report.slices["all"]["ap"].a == pytest.approx(0.5046, abs=5e-4)  # pycocotools' bbox AP of fake100
