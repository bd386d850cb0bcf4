"""Dataset YAMLs whose train: lists several COCO splits: one merged split, names under one root."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cocoseg.convert import load_split
from cocoseg.datasets import load_data_yaml
from cocoseg.io import CocoDataset


def test_train_lists_two_coco_splits(tmp_path: Path) -> None:
    for name, seed in (("a", "1"), ("b", "2")):
        subprocess.run([sys.executable, "-m", "cocoseg", "synth", str(tmp_path / name), "--images", "5", "--seed", seed],
                       check=True, capture_output=True)
    (tmp_path / "data.yaml").write_text(
        "path: .\n"
        "train:\n"
        "  - {images: a/images/train, annotations: a/annotations/instances_train.json}\n"
        "  - {images: b/images/train, annotations: b/annotations/instances_train.json}\n"
        "val: {images: a/images/val, annotations: a/annotations/instances_val.json}\n"
        "names: [circle, square, triangle, star, ellipse, ring, pair, cross, person]\n")
    cfg = load_data_yaml(tmp_path / "data.yaml")
    assert len(cfg.splits["train"].parts) == 2 and cfg.missing() == []
    merged, root = load_split(cfg, "train")
    parts = [CocoDataset.load(tmp_path / n / "annotations/instances_train.json") for n in "ab"]
    assert len(merged.images) == sum(len(p.images) for p in parts)
    assert len(merged.annotations) == sum(len(p.annotations) for p in parts)
    assert len({im["id"] for im in merged.images}) == len(merged.images)  # clashing ids renumbered
    assert root == tmp_path.resolve()
    assert all(".." not in im["file_name"] and (root / im["file_name"]).is_file() for im in merged.images)
    val, val_root = load_split(cfg, "val")
    assert all((val_root / im["file_name"]).is_file() for im in val.images)
