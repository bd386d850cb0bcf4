"""The synthetic dataset: determinism, coverage of every feature, exact annotations, layout."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from cocoseg.synth import CATEGORIES, KEYPOINT_NAMES, SynthConfig, generate, generate_coco, render_image
from cocoseg.synth.annotate import annotate
from cocoseg.synth.generate import split_of

SIZE = 256


@pytest.fixture(scope="module")
def data():
    return generate_coco(num_images=60, seed=7, size=(SIZE, SIZE))


def _by_category(coco: dict) -> dict[str, list[dict]]:
    names = {c["id"]: c["name"] for c in coco["categories"]}
    out: dict[str, list[dict]] = {}
    for ann in coco["annotations"]:
        out.setdefault(names[ann["category_id"]], []).append(ann)
    return out


def _pycoco_rle(segmentation, height: int, width: int) -> dict:
    if isinstance(segmentation, dict):
        return mask_utils.frPyObjects(segmentation, height, width)
    return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))


def test_every_feature_is_present(data) -> None:
    coco = data.coco
    by_cat = _by_category(coco)
    assert set(by_cat) == {c.name for c in CATEGORIES} and len(CATEGORIES) >= 8
    things = [a for a in coco["annotations"] if not a["iscrowd"]]
    assert any(a["area"] < 32**2 for a in things) and any(a["area"] > 96**2 for a in things)
    crowds = [a for a in coco["annotations"] if a["iscrowd"]]
    assert crowds and all(isinstance(a["segmentation"]["counts"], list) for a in crowds)
    assert all(sum(a["segmentation"]["counts"]) == SIZE * SIZE for a in crowds)
    pairs = [a for a in by_cat["pair"] if len(a["segmentation"]) == 2]
    assert pairs, "a two-part object annotated as one instance with two polygons"
    assert all(isinstance(a["segmentation"], list) for a in things)  # holes are bridged polygons, not RLE
    ring_holes = 0
    for ann in by_cat["ring"]:
        drawn = mask_utils.decode(_pycoco_rle(ann["segmentation"], SIZE, SIZE))
        _, hierarchy = cv2.findContours(drawn, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        ring_holes += int((hierarchy[0][:, 3] >= 0).sum())
    assert ring_holes >= len(by_cat["ring"]) // 2
    occluded = [a for a in things if len(a["segmentation"]) > 1 and a["category_id"] != 7]
    assert occluded, "occlusion splits some objects into several visible parts"


def test_person_keypoints(data) -> None:
    person = next(c for c in data.coco["categories"] if c["name"] == "person")
    assert person["keypoints"] == list(KEYPOINT_NAMES) and len(person["keypoints"]) == 17
    assert len(person["skeleton"]) == 19 and all(1 <= i <= 17 for pair in person["skeleton"] for i in pair)
    people = _by_category(data.coco)["person"]
    flags = Counter()
    for ann in people:
        kp = np.array(ann["keypoints"], dtype=float).reshape(17, 3)
        assert ann["num_keypoints"] == int((kp[:, 2] > 0).sum())
        assert np.all(kp[kp[:, 2] == 0, :2] == 0)
        x, y, w, h = ann["bbox"]
        seen = kp[kp[:, 2] == 2]  # covered ones (v=1) may lie outside the visible part's box
        assert np.all((seen[:, 0] >= x - 2) & (seen[:, 0] <= x + w + 2))
        assert np.all((seen[:, 1] >= y - 2) & (seen[:, 1] <= y + h + 2))
        flags.update(kp[:, 2].astype(int).tolist())
    assert flags[2] > 0 and flags[1] > 0 and flags[0] > 0


def test_keypoint_visibility_follows_the_pixels() -> None:
    cfg = SynthConfig()
    for index in range(40):
        rendered = render_image(cfg, 7, index)
        for k, inst in enumerate(rendered.instances):
            if inst.keypoints is None:
                continue
            for (x, y), v in zip(inst.keypoints, rendered.keypoint_visibility(k)):
                inside = 0 <= x < cfg.width and 0 <= y < cfg.height
                assert (v > 0) == inside
                if v == 1:  # covered: the pixel belongs to an object drawn later
                    assert rendered.owner[int(y), int(x)] > k


def test_area_and_bbox_are_pycocotools_values(data) -> None:
    for ann in data.coco["annotations"]:
        rle = _pycoco_rle(ann["segmentation"], SIZE, SIZE)
        assert ann["area"] == float(mask_utils.area(rle))
        assert ann["bbox"] == [float(v) for v in mask_utils.toBbox(rle)]
        assert ann["area"] > 0


def test_annotations_match_the_visible_pixels() -> None:
    """Rasterized annotation vs the mask actually drawn (what later objects left visible)."""
    cfg = SynthConfig()
    worst, checked = 1.0, 0
    for index in range(60):
        rendered = render_image(cfg, 7, index)
        anns = iter(annotate(rendered, 1, 1))
        for k in range(len(rendered.instances)):
            visible = rendered.visible_mask(k)
            if not visible.any():
                continue
            ann = next(anns)
            drawn = mask_utils.decode(_pycoco_rle(ann["segmentation"], SIZE, SIZE)).astype(bool)
            if ann["iscrowd"]:
                assert np.array_equal(drawn, visible)
                continue
            iou = (drawn & visible).sum() / (drawn | visible).sum()
            worst, checked = min(worst, iou), checked + 1
    assert checked > 200 and worst >= 0.95


def test_files_layout_and_determinism(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", num_images=10, seed=3, size=(96, 80), val_fraction=0.3)
    second = generate(tmp_path / "b", num_images=10, seed=3, size=(96, 80), val_fraction=0.3)
    files_a = sorted(p.relative_to(first.root) for p in first.root.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second.root) for p in second.root.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (first.root / rel).read_bytes() == (second.root / rel).read_bytes(), rel
    assert not any(p.name.endswith(".tmp") for p in first.root.rglob("*"))
    assert first.splits["train"].num_images == 7 and first.splits["val"].num_images == 3

    spec = yaml.safe_load(first.data_yaml.read_text())
    assert spec["path"] == "." and spec["names"] == {i: c.name for i, c in enumerate(CATEGORIES)}
    in_memory = generate_coco(num_images=10, seed=3, size=(96, 80))
    for split in ("train", "val"):
        entry = spec[split]
        coco = COCO(str(first.root / entry["annotations"]))  # pycocotools reads it as is
        assert sorted(coco.getCatIds()) == [c.id for c in CATEGORIES]
        for image in coco.dataset["images"]:
            pixels = cv2.imread(str(first.root / entry["images"] / image["file_name"]), cv2.IMREAD_UNCHANGED)
            assert pixels.shape == (80, 96, 3)
            assert np.array_equal(pixels, in_memory.images[image["id"] - 1])
    # other layers can take the in-memory variant: the same annotations, all in one dict
    written = [a for s in ("train", "val") for a in COCO(str(first.splits[s].annotations)).dataset["annotations"]]
    assert sorted(written, key=lambda a: a["id"]) == in_memory.coco["annotations"]


def test_written_json_loads_and_validates_through_cocoseg_io(tmp_path: Path) -> None:
    from cocoseg.io import CocoDataset
    from cocoseg.io.validate import validate_file

    result = generate(tmp_path / "synth", num_images=12, seed=1, size=(128, 128))
    for split in result.splits.values():
        assert [str(p) for p in validate_file(split.annotations)] == []
        dataset = CocoDataset.load(split.annotations)
        assert len(dataset.image_ids) == split.num_images
        assert sum(len(dataset.anns_for_image(i)) for i in dataset.image_ids) == split.num_annotations


def test_images_depend_only_on_seed_and_index() -> None:
    small = generate_coco(num_images=3, seed=5, size=(64, 64))
    large = generate_coco(num_images=6, seed=5, size=(64, 64))
    assert all(np.array_equal(a, b) for a, b in zip(small.images, large.images))
    other = generate_coco(num_images=3, seed=6, size=(64, 64))
    assert not all(np.array_equal(a, b) for a, b in zip(small.images, other.images))


def test_rerun_with_fewer_images_removes_stale_files(tmp_path: Path) -> None:
    generate(tmp_path, num_images=8, seed=0, size=(64, 64))
    result = generate(tmp_path, num_images=4, seed=0, size=(64, 64))
    on_disk = sum(1 for _ in (tmp_path / "images").rglob("*.png"))
    assert on_disk == 4 == sum(s.num_images for s in result.splits.values())


@pytest.mark.parametrize("count,fraction,expected", [(200, 0.2, 40), (10, 0.3, 3), (3, 0.1, 1), (5, 0.0, 0)])
def test_val_split_size(count: int, fraction: float, expected: int) -> None:
    assert sum(split_of(i, count, fraction) == "val" for i in range(count)) == expected

