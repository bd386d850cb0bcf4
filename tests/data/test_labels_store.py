"""The flat label store: the same labels as a per-annotation parse, slices, cache format, fingerprint."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cocoseg.data import SegmentationDataset
from cocoseg.data.labels import (
    ImageLabels,
    LabelStore,
    annotation_parts,
    cached_labels,
    fingerprint,
    load_cache,
    parse_coco,
    save_cache,
)
from cocoseg.io import CocoDataset


def _reference(coco: CocoDataset, root: Path) -> list[ImageLabels]:
    """The per-image objects the loader used before the flat store (one annotation at a time)."""
    out = []
    for image in coco.images:
        h, w = int(image["height"]), int(image["width"])
        labels, crowd, polys = [], [], []
        for ann in coco.anns_for_image(image["id"]):
            parts = annotation_parts(ann, h, w)
            if parts:
                labels.append(coco.category_map.label(ann["category_id"]))
                crowd.append(bool(ann.get("iscrowd", 0)))
                polys.append(parts)
        out.append(ImageLabels(int(image["id"]), str(root / image["file_name"]), h, w,
                               np.asarray(labels, np.int64), np.asarray(crowd, bool), polys))
    return out


def _assert_same(a: ImageLabels, b: ImageLabels) -> None:
    assert (a.image_id, a.file, a.height, a.width) == (b.image_id, b.file, b.height, b.width)
    assert a.labels.dtype == b.labels.dtype and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.crowd, b.crowd)
    assert [len(i) for i in a.polygons] == [len(i) for i in b.polygons]
    for ia, ib in zip(a.polygons, b.polygons):
        for p, q in zip(ia, ib):
            assert p.dtype == q.dtype == np.float32 and p.shape == q.shape and np.array_equal(p, q)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from cocoseg.synth import generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, num_images=12, seed=5, size=(96, 96), val_fraction=0.0)
    return root


def test_store_equals_the_per_annotation_parse_on_coco128(shared):
    coco128 = shared / "data" / "coco128-seg"
    coco = CocoDataset.load(coco128 / "annotations" / "instances_train2017.json")
    root = coco128 / "images" / "train2017"
    store, ref = parse_coco(coco, root), _reference(coco, root)
    assert len(store) == len(ref) == 128
    for a, b in zip(store, ref):
        _assert_same(a, b)
    # the loader reads only these fields, so its samples are the same too
    old, new = SegmentationDataset(ref, 128, augment=True, seed=1), SegmentationDataset(store, 128, augment=True, seed=1)
    for i in (0, 17, 101):
        for key in ("img", "labels", "boxes_xyxy", "masks", "crowd_boxes_xyxy"):
            assert torch.equal(old[i][key], new[i][key])


def test_crowd_rle_and_polygons_of_synthetic_data(synth):
    coco = CocoDataset.load(synth / "annotations" / "instances_train.json")
    store = parse_coco(coco, synth / "images" / "train")
    ref = _reference(coco, synth / "images" / "train")
    for a, b in zip(store, ref):
        _assert_same(a, b)
    assert store.nbytes == sum(a.nbytes for a in store.arrays().values())


def test_arrays_are_read_only_and_slices_share_them(synth):
    coco = CocoDataset.load(synth / "annotations" / "instances_train.json")
    store = parse_coco(coco, synth / "images" / "train")
    assert all(not a.flags.writeable for a in store.arrays().values())
    head = store[:5]
    assert isinstance(head, LabelStore) and len(head) == 5 and head.points is store.points
    for i in range(5):
        _assert_same(head[i], store[i])
    _assert_same(store[-1], store[len(store) - 1])
    every_other = store[::2]
    assert [x.image_id for x in every_other] == [x.image_id for x in store][::2]
    _assert_same(every_other[1], store[2])
    with pytest.raises(IndexError):
        store[len(store)]
    back = LabelStore.from_images(list(store))
    for a, b in zip(back, store):
        _assert_same(a, b)


def test_cache_of_a_slice_and_bad_files(synth, tmp_path):
    coco = CocoDataset.load(synth / "annotations" / "instances_train.json")
    tail = parse_coco(coco, synth / "images" / "train")[3:]
    path = tmp_path / "c.cache"
    save_cache(path, tail)
    again = load_cache(path)
    assert len(again) == len(tail)
    for a, b in zip(again, tail):
        _assert_same(a, b)
    data = path.read_bytes()
    (tmp_path / "short.cache").write_bytes(data[:-200])
    (tmp_path / "old.cache").write_bytes(data.replace(b'"version": "2"', b'"version": "1"', 1))
    (tmp_path / "other.cache").write_bytes(b"PK" + data)
    for name, message in (("short", "truncated"), ("old", "version"), ("other", "not a cocoseg")):
        with pytest.raises(ValueError, match=message):
            load_cache(tmp_path / f"{name}.cache")


def test_fingerprint_sees_every_file_under_a_folder(tmp_path):
    folder = tmp_path / "labels"
    (folder / "sub").mkdir(parents=True)
    for i in range(3):
        (folder / "sub" / f"{i}.txt").write_text("0 0.1 0.1 0.2 0.2 0.3 0.1\n")
    first = fingerprint([folder])
    assert fingerprint([folder]) == first
    os.utime(folder / "sub" / "1.txt", ns=(5, 5))  # touched in place: the folder's mtime does not change
    second = fingerprint([folder])
    assert second != first
    (folder / "sub" / "1.txt").write_text("0 0.1 0.1 0.2 0.2 0.3 0.2 0.4 0.4\n")
    os.utime(folder / "sub" / "1.txt", ns=(5, 5))  # same mtime, other size
    assert fingerprint([folder]) not in (first, second)
    assert fingerprint([tmp_path / "missing.json"]) != fingerprint([folder])


def test_cached_labels_rebuild_a_stale_format(synth, tmp_path):
    coco = CocoDataset.load(synth / "annotations" / "instances_train.json")
    store = parse_coco(coco, synth / "images" / "train")
    source = tmp_path / "ann.json"
    source.write_text("{}")
    path = tmp_path / f"labels-{fingerprint([source])}.cache"
    path.write_bytes(b"cocoseg-labels\n" + b"\xff" * 20)  # a damaged file under the same name
    calls = []

    def build():
        calls.append(1)
        return list(store)  # a plain list of ImageLabels is stored too

    got = cached_labels([source], build, tmp_path)
    assert calls == [1] and isinstance(got, LabelStore)
    again = cached_labels([source], build, tmp_path)
    assert calls == [1]
    for a, b in zip(again, store):
        _assert_same(a, b)
