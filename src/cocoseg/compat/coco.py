"""pycocotools' `COCO`: the dataset API (indexes, queries, loadRes), with its behaviour and errors.

Records stay the file's dicts and are completed in place by `loadRes`, exactly as pycocotools
does (callers rely on `id`, `area`, `iscrowd` and the box polygon appearing there).
"""
from __future__ import annotations

import copy
import itertools
import json
import time
from collections import defaultdict
from typing import Any

import numpy as np

from cocoseg.compat import mask as maskUtils  # noqa: N812 - pycocotools' name

__all__ = ["COCO"]


def _isArrayLike(obj: Any) -> bool:  # noqa: N802
    return hasattr(obj, "__iter__") and hasattr(obj, "__len__")


def _as_list(values: Any) -> Any:
    return values if _isArrayLike(values) else [values]


class COCO:
    """A COCO dataset (instances, keypoints or results) with pycocotools' indexes and queries."""

    def __init__(self, annotation_file: Any = None) -> None:
        self.dataset: dict = {}
        self.anns: dict = {}
        self.cats: dict = {}
        self.imgs: dict = {}
        self.imgToAnns: defaultdict = defaultdict(list)
        self.catToImgs: defaultdict = defaultdict(list)
        if annotation_file is not None:
            print("loading annotations into memory...")
            tic = time.time()
            with open(annotation_file) as f:
                dataset = json.load(f)
            assert type(dataset) is dict, f"annotation file format {type(dataset)} not supported"
            print(f"Done (t={time.time() - tic:0.2f}s)")
            self.dataset = dataset
            self.createIndex()

    def createIndex(self) -> None:  # noqa: N802
        """(Re)build anns, imgs, cats, imgToAnns and catToImgs from `dataset`."""
        print("creating index...")
        anns, cats, imgs = {}, {}, {}
        img_to_anns, cat_to_imgs = defaultdict(list), defaultdict(list)
        annotations = self.dataset.get("annotations") if "annotations" in self.dataset else None
        if annotations is not None:
            for ann in annotations:
                img_to_anns[ann["image_id"]].append(ann)
                anns[ann["id"]] = ann
        for img in self.dataset["images"] if "images" in self.dataset else ():
            imgs[img["id"]] = img
        for cat in self.dataset["categories"] if "categories" in self.dataset else ():
            cats[cat["id"]] = cat
        if annotations is not None and "categories" in self.dataset:
            for ann in annotations:
                cat_to_imgs[ann["category_id"]].append(ann["image_id"])
        print("index created!")
        self.anns, self.imgToAnns, self.catToImgs, self.imgs, self.cats = anns, img_to_anns, cat_to_imgs, imgs, cats
        self._cocoseg_gt = None  # the engine's view of this dataset, rebuilt on next evaluation

    def info(self) -> None:
        """Print the `info` section."""
        for key, value in self.dataset["info"].items():
            print(f"{key}: {value}")

    def getAnnIds(self, imgIds: Any = [], catIds: Any = [], areaRng: Any = [], iscrowd: Any = None) -> list:  # noqa: B006, N802, N803
        """Ids of the annotations passing every given filter (area strictly inside areaRng)."""
        imgIds, catIds = _as_list(imgIds), _as_list(catIds)
        if len(imgIds) == len(catIds) == len(areaRng) == 0:
            anns = self.dataset["annotations"]
        else:
            if len(imgIds) != 0:
                anns = list(itertools.chain.from_iterable(self.imgToAnns[i] for i in imgIds if i in self.imgToAnns))
            else:
                anns = self.dataset["annotations"]
            if len(catIds) != 0:
                anns = [a for a in anns if a["category_id"] in catIds]
            if len(areaRng) != 0:
                anns = [a for a in anns if areaRng[0] < a["area"] < areaRng[1]]
        if iscrowd is not None:
            return [a["id"] for a in anns if a["iscrowd"] == iscrowd]
        return [a["id"] for a in anns]

    def getCatIds(self, catNms: Any = [], supNms: Any = [], catIds: Any = []) -> list:  # noqa: B006, N802, N803
        """Ids of the categories passing every given filter (names, supercategories, ids)."""
        catNms, supNms, catIds = _as_list(catNms), _as_list(supNms), _as_list(catIds)
        cats = self.dataset["categories"]
        if len(catNms) != 0:
            cats = [c for c in cats if c["name"] in catNms]
        if len(supNms) != 0:
            cats = [c for c in cats if c["supercategory"] in supNms]
        if len(catIds) != 0:
            cats = [c for c in cats if c["id"] in catIds]
        return [c["id"] for c in cats]

    def getImgIds(self, imgIds: Any = [], catIds: Any = []) -> list:  # noqa: B006, N802, N803
        """Ids of the given images holding every given category (all images by default)."""
        imgIds, catIds = _as_list(imgIds), _as_list(catIds)
        if len(imgIds) == len(catIds) == 0:
            return list(self.imgs.keys())
        ids = set(imgIds)
        for i, cat_id in enumerate(catIds):
            if i == 0 and len(ids) == 0:
                ids = set(self.catToImgs[cat_id])
            else:
                ids &= set(self.catToImgs[cat_id])
        return list(ids)

    def _load(self, table: dict, ids: Any) -> Any:
        if _isArrayLike(ids):
            return [table[i] for i in ids]
        if type(ids) is int:
            return [table[ids]]
        return None

    def loadAnns(self, ids: Any = []) -> Any:  # noqa: B006, N802
        """Annotations of the given ids (a list for a list, [ann] for one int)."""
        return self._load(self.anns, ids)

    def loadCats(self, ids: Any = []) -> Any:  # noqa: B006, N802
        """Categories of the given ids."""
        return self._load(self.cats, ids)

    def loadImgs(self, ids: Any = []) -> Any:  # noqa: B006, N802
        """Images of the given ids."""
        return self._load(self.imgs, ids)

    def showAnns(self, anns: list, draw_bbox: bool = False) -> Any:  # noqa: N802
        """Draw annotations with matplotlib (pycocotools' own drawing code)."""
        from cocoseg.compat import _reference

        return _reference.coco_class().showAnns(self, anns, draw_bbox)

    def download(self, tarDir: Any = None, imgIds: Any = []) -> Any:  # noqa: B006, N803
        """Download images from their coco_url (pycocotools' own code)."""
        from cocoseg.compat import _reference

        return _reference.coco_class().download(self, tarDir, imgIds)

    def loadRes(self, resFile: Any) -> COCO:  # noqa: N802, N803
        """A results COCO from a file name, a list of result dicts or an (N, 7) array; completes them in place."""
        res = COCO()
        res.dataset["info"] = copy.deepcopy(self.dataset.get("info", {}))
        res.dataset["images"] = list(self.dataset["images"])
        print("Loading and preparing results...")
        tic = time.time()
        if type(resFile) is str:
            with open(resFile) as f:
                anns = json.load(f)
        elif type(resFile) is np.ndarray:
            anns = self.loadNumpyAnnotations(resFile)
        else:
            anns = resFile
        assert type(anns) is list, "results in not an array of objects"
        img_ids = {ann["image_id"] for ann in anns}
        assert img_ids == (img_ids & set(self.getImgIds())), "Results do not correspond to current coco set"
        first = anns[0]  # IndexError for an empty list, as pycocotools
        if "caption" in first:
            kept = {img["id"] for img in res.dataset["images"]} & img_ids
            res.dataset["images"] = [img for img in res.dataset["images"] if img["id"] in kept]
            for i, ann in enumerate(anns):
                ann["id"] = i + 1
        elif "bbox" in first and not first["bbox"] == []:
            res.dataset["categories"] = copy.deepcopy(self.dataset["categories"])
            _complete_boxes(anns)
        elif "segmentation" in first:
            res.dataset["categories"] = copy.deepcopy(self.dataset["categories"])
            _complete_masks(anns)
        elif "keypoints" in first:
            res.dataset["categories"] = copy.deepcopy(self.dataset["categories"])
            _complete_keypoints(anns)
        print(f"DONE (t={time.time() - tic:0.2f}s)")
        res.dataset["annotations"] = anns
        res.createIndex()
        return res

    def loadNumpyAnnotations(self, data: np.ndarray) -> list:  # noqa: N802
        """Result dicts from an (N, 7) array [image_id, x, y, w, h, score, category_id]."""
        print("Converting ndarray to lists...")
        assert type(data) is np.ndarray
        print(data.shape)
        assert data.shape[1] == 7
        n = data.shape[0]
        out = []
        for i in range(n):
            if i % 1000000 == 0:
                print(f"{i}/{n}")
            out.append({"image_id": int(data[i, 0]), "bbox": [data[i, 1], data[i, 2], data[i, 3], data[i, 4]],
                        "score": data[i, 5], "category_id": int(data[i, 6])})
        return out

    def annToRLE(self, ann: dict) -> Any:  # noqa: N802
        """The annotation's segmentation (polygons, uncompressed or compressed RLE) as one RLE."""
        img = self.imgs[ann["image_id"]]
        h, w = img["height"], img["width"]
        segm = ann["segmentation"]
        if type(segm) is list:  # polygon parts, merged into one mask
            return maskUtils.merge(maskUtils.frPyObjects(segm, h, w))
        if type(segm["counts"]) is list:  # uncompressed RLE
            return maskUtils.frPyObjects(segm, h, w)
        return ann["segmentation"]

    def annToMask(self, ann: dict) -> np.ndarray:  # noqa: N802
        """The annotation as an (H, W) uint8 bitmap."""
        return maskUtils.decode(self.annToRLE(ann))


def _complete_boxes(anns: list) -> None:
    for i, ann in enumerate(anns):
        bb = ann["bbox"]
        x1, x2, y1, y2 = bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]
        if "segmentation" not in ann:
            ann["segmentation"] = [[x1, y1, x1, y2, x2, y2, x2, y1]]
        ann["area"] = bb[2] * bb[3]
        ann["id"] = i + 1
        ann["iscrowd"] = 0


def _complete_masks(anns: list) -> None:
    for i, ann in enumerate(anns):
        ann["area"] = maskUtils.area(ann["segmentation"])  # compressed RLE only, as pycocotools
        if "bbox" not in ann:
            ann["bbox"] = maskUtils.toBbox(ann["segmentation"])
        ann["id"] = i + 1
        ann["iscrowd"] = 0


def _complete_keypoints(anns: list) -> None:
    for i, ann in enumerate(anns):
        s = ann["keypoints"]
        x, y = s[0::3], s[1::3]
        x0, x1, y0, y1 = np.min(x), np.max(x), np.min(y), np.max(y)
        ann["area"] = (x1 - x0) * (y1 - y0)
        ann["id"] = i + 1
        ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]
