"""`cocoseg rank` end to end on a tiny synthetic pool with a tiny untrained model (imgsz 64)."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch

from cocoseg.cli.main import main
from cocoseg.cli.rank import image_ids
from cocoseg.engine.checkpoints import save_checkpoint
from cocoseg.io import CocoDataset
from cocoseg.models import build_model
from cocoseg.synth import generate

FAST = ["imgsz=64", "conf=0.001", "max_det=8", "batch=4", "threads=1", "progress=False", "device=cpu"]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("rank")
    synth = generate(root / "synth", num_images=10, seed=0, size=(96, 96), val_fraction=0.0)
    images = root / "pool"
    shutil.copytree(synth.splits["train"].images_dir, images)
    (images / "000011.png").write_bytes(b"\x89PNG broken")
    torch.manual_seed(0)
    weights = save_checkpoint(root / "tiny.pt", build_model("yolov8n-seg", num_classes=9))
    return root, images, weights


def _rank(root, images, weights, name, *extra):
    out = root / name / "ranking.json"
    code = main(["rank", f"model={weights}", f"source={images}", "budget=3", f"out={out}", *FAST, *extra])
    assert code == 0
    return out


def test_outputs_complete_and_deterministic(pool):
    root, images, weights = pool
    first = _rank(root, images, weights, "a")
    second = _rank(root, images, weights, "b")
    for suffix in (".json", ".csv"):
        assert first.with_suffix(suffix).read_bytes() == second.with_suffix(suffix).read_bytes()
    pre_a, pre_b = (p.with_name("ranking_prelabels.json") for p in (first, second))
    assert pre_a.read_bytes() == pre_b.read_bytes()
    doc = json.loads(first.read_text())
    assert doc["settings"]["strategy"] == "hybrid" and doc["settings"]["budget"] == 3
    rows = doc["images"]
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in images.iterdir())  # every image once
    assert sum(r["selected"] for r in rows) == 3 == doc["counts"]["selected"]
    assert [r["rank"] for r in rows[:-1]] == list(range(1, 11))
    assert all(r["selected"] for r in rows[:3])
    broken = rows[-1]
    assert broken["file"] == "000011.png" and broken["error"] and broken["score"] is None and not broken["selected"]
    assert {"entropy_max", "entropy_mean", "entropy_sum", "mask_max", "margin_sum", "least_confidence_mean"} <= set(rows[0])
    with open(first.with_suffix(".csv"), newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["file"] for r in table] == [r["file"] for r in rows]
    prelabels = CocoDataset.load(pre_a)
    assert [im["file_name"] for im in prelabels.images] == [r["file"] for r in rows[:3]]
    assert [im["id"] for im in prelabels.images] == [r["image_id"] for r in rows[:3]]
    assert prelabels.info["images_root"] == str(images.resolve())


def test_flip_and_random_strategies(pool):
    root, images, weights = pool
    flip = json.loads(_rank(root, images, weights, "flip", "strategy=flip").read_text())
    assert {"flip_mean", "flip_max", "flip_sum"} <= set(flip["images"][0])
    assert flip["images"][0]["score"] == flip["images"][0]["flip_max"]
    picks = []
    for seed in (0, 1):
        doc = json.loads(_rank(root, images, weights, f"r{seed}", "strategy=random", f"seed={seed}",
                               "prelabels=none").read_text())
        picks.append({r["file"] for r in doc["images"] if r["selected"]})
    assert picks[0] != picks[1]
    assert not (root / "r0" / "ranking_prelabels.json").exists()


def test_labeled_images_are_never_selected(pool, tmp_path):
    root, images, weights = pool
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    for name in ("000001.png", "000002.png"):
        shutil.copy(images / name, labeled / name)
    doc = json.loads(_rank(root, images, weights, "lab", "strategy=coreset", "budget=20", "duplicate_cosine=1",
                           f"labeled={labeled}").read_text())
    chosen = {r["file"] for r in doc["images"] if r["selected"]}
    assert chosen == {p.name for p in images.iterdir()} - {"000001.png", "000002.png", "000011.png"}


def test_bad_input(pool, capsys):
    root, images, weights = pool
    assert main(["rank", f"model={weights}", f"source={images}", "budget=-1", *FAST]) == 1
    assert "budget" in capsys.readouterr().err
    assert main(["rank", f"model={weights}", f"source={images}", "budget=2", "strategy=magic", *FAST]) == 2
    missing = root / "nope.json"
    missing.write_text(json.dumps({"images": [{"id": 1, "file_name": "gone.png", "width": 9, "height": 9}],
                                   "annotations": [], "categories": []}))
    assert main(["rank", f"model={weights}", f"source={images}", "budget=2", f"labeled={missing}", *FAST]) == 1
    assert "gone.png" in capsys.readouterr().err


def test_image_ids():
    from pathlib import Path

    assert image_ids([Path("000000005001.jpg"), Path("7.png")]) == [5001, 7]
    assert image_ids([Path("a.png"), Path("7.png")]) == [1, 2]
    assert image_ids([Path("07.png"), Path("7.png")]) == [1, 2]  # not distinct


def test_real_coco_images_with_a_reference_checkpoint(shared, tmp_path):
    weights = shared / "fixtures" / "reference-yolov8-seg" / "yolov8n-seg-ref.pt"
    coco8 = shared / "data" / "coco8" / "images"
    out = tmp_path / "ranking.json"
    code = main(["rank", f"model={weights}", f"source={coco8 / 'val'}", "budget=2", f"labeled={coco8 / 'train'}",
                 f"out={out}", "imgsz=320", "threads=1", "progress=False", "device=cpu"])
    assert code == 0
    rows = json.loads(out.read_text())["images"]
    assert sorted(r["image_id"] for r in rows) == [36, 42, 49, 61]  # numeric file stems
    assert sum(r["selected"] for r in rows) == 2
    prelabels = CocoDataset.load(out.with_name("ranking_prelabels.json"))
    assert len(prelabels.categories) == 80 and prelabels.categories[0]["id"] == 1
