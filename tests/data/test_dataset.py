"""The training dataset: seeded augmentation, masks that follow the geometry, label cache, collate."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cocoseg.data import AugmentConfig, SegmentationDataset, collate
from cocoseg.data.augment import RandomPerspective
from cocoseg.data.labels import cached_labels, load_cache, parse_coco, save_cache
from cocoseg.data.polygon_parts import rasterize_each
from cocoseg.data.sample import Sample
from cocoseg.data.split_labels import load_split_labels
from cocoseg.io import CocoDataset


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from cocoseg.synth import generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, num_images=10, seed=3, size=(96, 96), val_fraction=0.2)
    return root


def _labels(root: Path, split: str = "train"):
    coco = CocoDataset.load(root / "annotations" / f"instances_{split}.json")
    return parse_coco(coco, root / "images" / split)


def test_augmentation_is_a_function_of_seed_epoch_index(synth):
    labels = _labels(synth)
    hyp = AugmentConfig(degrees=10, shear=2, copy_paste=0.5, mixup=0.5)
    a, b = (SegmentationDataset(labels, 64, augment=True, hyp=hyp, seed=7) for _ in range(2))
    b[3]  # noqa: B018 - drawing other items first must not change item 5
    for key in ("img", "boxes_xyxy", "masks", "labels"):
        assert torch.equal(a[5][key], b[5][key])
    b.set_epoch(1)
    assert not torch.equal(a[5]["img"], b[5]["img"])


def test_loader_batches_do_not_depend_on_workers(synth):
    ds = SegmentationDataset(_labels(synth), 64, augment=True, seed=1)
    batches = []
    for workers in (0, 1):
        loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False, num_workers=workers, collate_fn=collate)
        batches.append(next(iter(loader)))
    assert torch.equal(batches[0]["img"], batches[1]["img"])
    assert torch.equal(batches[0]["masks"], batches[1]["masks"])


def test_masks_follow_boxes_after_augmentation(synth):
    hyp = AugmentConfig(degrees=15, shear=3, perspective=0.0005)
    ds = SegmentationDataset(_labels(synth), 64, augment=True, hyp=hyp, overlap_mask=False, mask_ratio=1, seed=0)
    agree = total = 0
    for i in range(len(ds)):
        item = ds[i]
        for box, mask in zip(item["boxes_xyxy"].numpy(), item["masks"].numpy()):
            ys, xs = np.nonzero(mask)
            if len(xs) < 6:
                continue
            # every mask pixel lies inside its box ...
            assert xs.min() >= box[0] - 1 and xs.max() + 1 <= box[2] + 1
            assert ys.min() >= box[1] - 1 and ys.max() + 1 <= box[3] + 1
            # ... and the box is tight (a clipped sliver of a part thinner than a pixel may stick out)
            edges = np.abs([xs.min() - box[0], xs.max() + 1 - box[2], ys.min() - box[1], ys.max() + 1 - box[3]])
            agree += bool((edges <= 1.5).all())
            total += 1
    assert total > 10 and agree >= 0.85 * total


def test_warp_polygons_equals_warp_of_rasterised_mask():
    poly = np.array([[10, 12], [50, 8], [56, 40], [30, 58], [8, 44]], np.float32)
    sample = Sample(np.zeros((64, 64, 3), np.uint8), np.array([0]), np.array([False]), [[poly]])
    aug = RandomPerspective(64, degrees=20, translate=0.1, scale=0.3, shear=5)
    params = aug.get_params(np.random.default_rng(0), sample)
    moved = aug.apply(sample, params)
    ours = rasterize_each(moved.polygons, 64, 64, 1.0)[0]
    warped = cv2.warpAffine(rasterize_each([[poly]], 64, 64, 1.0)[0], params.matrix[:2], (64, 64),
                            flags=cv2.INTER_NEAREST)
    inter = (ours & warped).sum()
    assert inter / ((ours | warped).sum()) > 0.9


def test_close_mosaic_letterboxes_single_images(synth):
    hyp = AugmentConfig(mosaic=1.0, translate=0, scale=0, fliplr=0, hsv_h=0, hsv_s=0, hsv_v=0)
    ds = SegmentationDataset(_labels(synth), 96, augment=True, hyp=hyp)
    ds.close_mosaic()
    item = ds[0]
    plain = SegmentationDataset(_labels(synth), 96)[0]
    assert torch.equal(item["img"], plain["img"])  # no mosaic, identity affine, no colour change


def test_crowd_annotations_become_ignore_boxes(synth):
    coco = CocoDataset.load(synth / "annotations" / "instances_train.json")
    crowd_images = {a["image_id"] for a in coco.annotations if a.get("iscrowd")}
    if not crowd_images:
        pytest.skip("this synthetic draw has no crowd annotation")
    labels = parse_coco(coco, synth / "images" / "train")
    index = next(i for i, it in enumerate(labels) if it.image_id in crowd_images)
    item = SegmentationDataset(labels, 96)[index]
    n_crowd = sum(1 for a in coco.anns_for_image(labels[index].image_id) if a.get("iscrowd"))
    assert len(item["crowd_boxes_xyxy"]) == n_crowd
    assert len(item["labels"]) == len(labels[index].labels) - n_crowd


def test_label_cache_round_trip_and_reuse(synth, tmp_path):
    labels = _labels(synth)
    path = tmp_path / "c.npz"
    save_cache(path, labels)
    again = load_cache(path)
    assert [x.file for x in again] == [x.file for x in labels]
    for a, b in zip(labels, again):
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.crowd, b.crowd)
        assert all(np.array_equal(p, q) for ia, ib in zip(a.polygons, b.polygons) for p, q in zip(ia, ib))
    calls = []

    def build():
        calls.append(1)
        return labels

    source = tmp_path / "ann.json"
    source.write_text("{}")
    cached_labels([source], build, tmp_path)
    cached_labels([source], build, tmp_path)
    assert len(calls) == 1
    os.utime(source, ns=(1, 1))  # a changed source invalidates the cache
    cached_labels([source], build, tmp_path)
    assert len(calls) == 2


def test_split_labels_from_dataset_yaml_use_the_cache(synth, tmp_path):
    first = load_split_labels(synth / "data.yaml", "train", cache_dir=tmp_path)
    second = load_split_labels(synth / "data.yaml", "train", cache_dir=tmp_path)
    assert first.gt is not None and second.gt is None  # the second start never parsed the JSON
    assert [x.image_id for x in first.labels] == [x.image_id for x in second.labels]
    assert first.names == second.names and len(first.names) == 9


def test_collate_groups_instances_by_image(synth):
    ds = SegmentationDataset(_labels(synth), 64, augment=True, seed=2)
    items = [ds[i] for i in range(3)]
    batch = collate(items)
    assert batch["img"].shape == (3, 3, 64, 64) and batch["masks"].shape == (3, 16, 16)
    counts = [len(it["labels"]) for it in items]
    assert batch["batch_idx"].tolist() == [i for i, n in enumerate(counts) for _ in range(n)]
    assert int(batch["masks"][0].max()) <= counts[0]


def test_cached_images_give_the_same_items(synth):
    labels = _labels(synth)
    plain = SegmentationDataset(labels, 64, augment=True, hyp=AugmentConfig(copy_paste=0.5, mixup=0.5), seed=4)
    cached = SegmentationDataset(labels, 64, augment=True, hyp=AugmentConfig(copy_paste=0.5, mixup=0.5), seed=4)
    assert cached.cache_images()
    for i in (0, 3):
        assert torch.equal(plain[i]["img"], cached[i]["img"]) and torch.equal(plain[i]["masks"], cached[i]["masks"])
    assert cached[0]["img"].shape == (3, 64, 64)  # and the cache itself was never written to
    assert not cached.cache_images(max_fraction=0.0)
