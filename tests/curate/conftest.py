"""A small synthetic dataset and noisy predictions, made once per session."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def noisy_results(gt: dict, seed: int, drop: float = 0.2, jitter: float = 3.0) -> list[dict]:
    """Box results from the GT: some objects missed, boxes jittered, scores random, a few false positives."""
    rng = np.random.default_rng(seed)
    out = []
    for a in gt["annotations"]:
        if a.get("iscrowd") or rng.random() < drop:
            continue
        x, y, w, h = a["bbox"]
        dx, dy = rng.normal(0, jitter, 2)
        out.append({"image_id": a["image_id"], "category_id": a["category_id"], "score": float(rng.uniform(0.3, 1)),
                    "bbox": [x + dx, y + dy, w, h]})
    for im in gt["images"]:
        out.append({"image_id": im["id"], "category_id": gt["categories"][0]["id"], "score": float(rng.uniform(0, 0.5)),
                    "bbox": [float(rng.uniform(0, 100)), float(rng.uniform(0, 100)), 30.0, 30.0]})
    return out


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{gt, a, b}: a synthetic GT (24 images, some crowded) and two models' box results (b is better)."""
    root = tmp_path_factory.mktemp("synth")
    subprocess.run([sys.executable, "-m", "cocoseg", "synth", str(root), "--images", "24", "--val_fraction", "0",
                    "--max_objects", "12"], check=True, capture_output=True)
    gt_path = root / "annotations/instances_train.json"
    gt = json.loads(gt_path.read_text())
    (root / "a.json").write_text(json.dumps(noisy_results(gt, 1, drop=0.4, jitter=6.0)))
    (root / "b.json").write_text(json.dumps(noisy_results(gt, 2, drop=0.1, jitter=1.0)))
    return {"gt": gt_path, "a": root / "a.json", "b": root / "b.json", "root": root}
