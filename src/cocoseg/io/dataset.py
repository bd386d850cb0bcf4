"""The COCO dataset object: load, index, query, edit, merge, split, save.

Records stay the plain dicts of the file, so unknown keys survive a load/save round trip.
Indexes are built on first use and dropped on every edit.
"""
from __future__ import annotations

import contextlib
import copy
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.errors import CocosegError, DataError
from cocoseg.io.annotation_geometry import complete_annotation
from cocoseg.io.categories import CategoryMap
from cocoseg.io.jsonio import PathLike, read_json, write_json
from cocoseg.io.merge import merge_datasets
from cocoseg.io.stats import DatasetStats, dataset_stats

_SECTIONS = ("info", "licenses", "images", "annotations", "categories")


class _Index:
    """Lookup tables over a dataset's records (built once, read-only)."""

    def __init__(self, images: list[dict], annotations: list[dict], categories: list[dict]) -> None:
        self.images = {im["id"]: im for im in images}
        self.annotations = {a["id"]: a for a in annotations}
        self.categories = {c["id"]: c for c in categories}
        self.category_by_name = {c["name"]: c for c in categories}
        image_of = np.fromiter((a["image_id"] for a in annotations), dtype=np.int64, count=len(annotations))
        cat_of = np.fromiter((a["category_id"] for a in annotations), dtype=np.int64, count=len(annotations))
        self.by_image = _group(image_of)
        self.by_category = _group(cat_of)


def _group(keys: np.ndarray) -> dict[int, np.ndarray]:
    """{key: positions holding it, in file order}."""
    if len(keys) == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    uniq, starts = np.unique(keys[order], return_index=True)
    return dict(zip(uniq.tolist(), np.split(order, starts[1:])))


class CocoDataset:
    """A COCO instances/keypoints dataset held as its JSON records plus lazy indexes.

    `CocoDataset("file.json")` reads the file (as `CocoDataset.load`); otherwise the arguments are the records.
    """

    def __init__(
        self,
        images: list[dict] | PathLike | None = None,
        annotations: list[dict] | None = None,
        categories: list[dict] | None = None,
        info: dict | None = None,
        licenses: list | None = None,
        extra: dict | None = None,
        source: str = "<memory>",
    ) -> None:
        if isinstance(images, (str, os.PathLike)):  # pycocotools' COCO("file.json") habit: read the file
            if any(v is not None for v in (annotations, categories, info, licenses, extra)):
                raise TypeError("CocoDataset(path) reads a file and takes no other arguments; "
                                "use CocoDataset.load(path)")
            self.__dict__.update(CocoDataset.load(images).__dict__)
            return
        if images is not None and not isinstance(images, list):
            hint = "CocoDataset.from_dict(data)" if isinstance(images, dict) else "CocoDataset.load(path)"
            raise TypeError(f"CocoDataset(images=...) takes a list of image records, got {type(images).__name__}; "
                            f"use {hint}")
        self.images: list[dict] = images if images is not None else []
        self.annotations: list[dict] = annotations if annotations is not None else []
        self.categories: list[dict] = categories if categories is not None else []
        self.info: dict | None = info
        self.licenses: list | None = licenses
        self.extra: dict = extra or {}
        self.source = source
        self._index: _Index | None = None

    # ---- construction and saving -------------------------------------------------------------
    @classmethod
    def load(cls, path: PathLike, validate: bool = True) -> CocoDataset:
        """Read a COCO JSON (plain or .gz); DataError lists every problem when `validate`."""
        data = read_json(path)
        return cls.from_dict(data, file=Path(path).name, validate=validate, _owned=True)

    @classmethod
    def from_dict(cls, data: Any, file: str = "<memory>", validate: bool = True, _owned: bool = False) -> CocoDataset:
        """Wrap a parsed COCO dict (deep-copied unless freshly parsed by `load`)."""
        if validate:
            from cocoseg.io.validate import check_coco

            check_coco(data, file)
        elif not isinstance(data, dict):
            raise DataError(f"{file}: expected a JSON object with images, annotations and categories")
        if not _owned:
            data = copy.deepcopy(data)
        extra = {k: v for k, v in data.items() if k not in _SECTIONS}
        return cls(data.get("images", []), data.get("annotations", []), data.get("categories", []),
                   data.get("info"), data.get("licenses"), extra, source=file)

    def to_dict(self) -> dict:
        """The COCO JSON structure (shares records with the dataset; deep-copy before mutating)."""
        out: dict[str, Any] = {}
        if self.info is not None:
            out["info"] = self.info
        if self.licenses is not None:
            out["licenses"] = self.licenses
        out.update(images=self.images, annotations=self.annotations, categories=self.categories)
        out.update(self.extra)
        return out

    def save(self, path: PathLike, indent: int | None = None) -> Path:
        """Write COCO JSON atomically (temp file then rename); compact unless `indent`."""
        return write_json(path, self.to_dict(), indent=indent)

    def copy(self) -> CocoDataset:
        """A deep copy."""
        return CocoDataset.from_dict(self.to_dict(), file=self.source, validate=False)

    def to_pycocotools(self) -> Any:
        """A `pycocotools.coco.COCO` built from memory (no second read of the file; records shared)."""
        from pycocotools.coco import COCO

        coco = COCO()
        coco.dataset = self.to_dict()
        with contextlib.redirect_stdout(io.StringIO()):  # createIndex prints
            coco.createIndex()
        return coco

    # ---- lookups -----------------------------------------------------------------------------
    @property
    def index(self) -> _Index:
        """Lookup tables, built on first use."""
        if self._index is None:
            self._index = _Index(self.images, self.annotations, self.categories)
        return self._index

    def _changed(self) -> None:
        self._index = None

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"CocoDataset({self.source!r}: {len(self.images)} images, "
                f"{len(self.annotations)} annotations, {len(self.categories)} categories)")

    def image(self, image_id: int) -> dict:
        """The image record with this id."""
        return self._lookup(self.index.images, image_id, f"no image with id {image_id}")

    def annotation(self, ann_id: int) -> dict:
        """The annotation record with this id."""
        return self._lookup(self.index.annotations, ann_id, f"no annotation with id {ann_id}")

    def category(self, category_id: int) -> dict:
        """The category record with this id."""
        return self._lookup(self.index.categories, category_id, f"no category with id {category_id}")

    def _lookup(self, table: dict, key: Any, missing: str) -> dict:
        try:
            return table[key]
        except KeyError:
            raise KeyError(f"{missing} in {self.source}") from None

    def category_by_name(self, name: str) -> dict:
        """The category record with this name."""
        return self._lookup(self.index.category_by_name, name, f"no category named {name!r}")

    @property
    def image_ids(self) -> list[int]:
        """Image ids in file order."""
        return [im["id"] for im in self.images]

    @property
    def category_ids(self) -> list[int]:
        """Category ids, ascending."""
        return sorted(c["id"] for c in self.categories)

    @property
    def category_map(self) -> CategoryMap:
        """category_id <-> contiguous label (ascending id order)."""
        return CategoryMap.from_categories(self.categories)

    def anns_for_image(self, image_id: int) -> list[dict]:
        """Annotations of one image, in file order."""
        pos = self.index.by_image.get(image_id)
        return [] if pos is None else [self.annotations[i] for i in pos.tolist()]

    def anns_for_category(self, category_id: int) -> list[dict]:
        """Annotations of one category, in file order."""
        pos = self.index.by_category.get(category_id)
        return [] if pos is None else [self.annotations[i] for i in pos.tolist()]

    def _resolve_categories(self, category_ids: Iterable[int] | None, category_names: Iterable[str] | None) -> set | None:
        if category_ids is None and category_names is None:
            return None
        ids = set(category_ids or [])
        for name in category_names or []:
            ids.add(self.category_by_name(name)["id"])
        return ids

    def query(
        self,
        image_ids: Iterable[int] | None = None,
        category_ids: Iterable[int] | None = None,
        category_names: Iterable[str] | None = None,
        area_range: tuple[float, float] | None = None,
        iscrowd: bool | int | None = None,
    ) -> list[dict]:
        """Annotations matching every given filter (area_range inclusive, on the `area` field)."""
        cats = self._resolve_categories(category_ids, category_names)
        if image_ids is not None:
            anns = [a for i in image_ids for a in self.anns_for_image(i)]
        elif cats is not None:
            pos = sorted(p for c in cats for p in self.index.by_category.get(c, np.zeros(0, int)).tolist())
            anns = [self.annotations[p] for p in pos]
        else:
            anns = list(self.annotations)
        if cats is not None:
            anns = [a for a in anns if a["category_id"] in cats]
        if area_range is not None:
            lo, hi = area_range
            anns = [a for a in anns if lo <= a.get("area", 0) <= hi]
        if iscrowd is not None:
            anns = [a for a in anns if bool(a.get("iscrowd", 0)) == bool(iscrowd)]
        return anns

    def images_with(self, category_ids: Iterable[int] | None = None, category_names: Iterable[str] | None = None) -> list[int]:
        """Ids of images holding at least one annotation of the given categories."""
        cats = self._resolve_categories(category_ids, category_names) or set()
        found = {a["image_id"] for c in cats for a in self.anns_for_category(c)}
        return [i for i in self.image_ids if i in found]

    # ---- editing -----------------------------------------------------------------------------
    def add_image(self, image: dict) -> int:
        """Append an image record (an id is assigned when missing); returns its id."""
        image = dict(image)
        if "id" not in image:
            image["id"] = _next_id(self.images)
        elif image["id"] in self.index.images:
            raise CocosegError(f"image id {image['id']} already exists in {self.source}")
        for key in ("width", "height"):
            if key not in image:
                raise CocosegError(f"image {image['id']}: missing '{key}'")
        self.images.append(image)
        self._changed()
        return image["id"]

    def add_category(self, name: str, category_id: int | None = None, **fields: Any) -> int:
        """Append a category; returns its id."""
        if name in self.index.category_by_name:
            raise CocosegError(f"category {name!r} already exists in {self.source}")
        cid = _next_id(self.categories) if category_id is None else category_id
        if cid in self.index.categories:
            raise CocosegError(f"category id {cid} already exists in {self.source}")
        self.categories.append({"id": cid, "name": name, **fields})
        self._changed()
        return cid

    def add_annotation(self, annotation: dict) -> int:
        """Append an annotation; fills id, iscrowd, and area/bbox from the segmentation when missing."""
        ann = dict(annotation)
        if ann.get("image_id") not in self.index.images:
            raise CocosegError(f"annotation refers to unknown image_id {ann.get('image_id')}")
        if ann.get("category_id") not in self.index.categories:
            raise CocosegError(f"annotation refers to unknown category_id {ann.get('category_id')}")
        if "id" not in ann:
            ann["id"] = _next_id(self.annotations)
        elif ann["id"] in self.index.annotations:
            raise CocosegError(f"annotation id {ann['id']} already exists in {self.source}")
        image = self.index.images[ann["image_id"]]
        complete_annotation(ann, image["height"], image["width"])
        self.annotations.append(ann)
        self._changed()
        return ann["id"]

    def remove_annotations(self, ann_ids: Iterable[int]) -> int:
        """Remove annotations by id; returns how many were removed."""
        drop = set(ann_ids)
        before = len(self.annotations)
        self.annotations[:] = [a for a in self.annotations if a["id"] not in drop]
        self._changed()
        return before - len(self.annotations)

    def remove_images(self, image_ids: Iterable[int]) -> int:
        """Remove images and their annotations; returns how many images were removed."""
        drop = set(image_ids)
        before = len(self.images)
        self.images[:] = [im for im in self.images if im["id"] not in drop]
        self.annotations[:] = [a for a in self.annotations if a["image_id"] not in drop]
        self._changed()
        return before - len(self.images)

    def subset(self, image_ids: Iterable[int] | None = None, category_ids: Iterable[int] | None = None) -> CocoDataset:
        """A new dataset with the given images (all when None) and only annotations of the given categories.

        Categories are all kept so that category ids and labels stay stable across subsets.
        """
        keep_imgs = None if image_ids is None else set(image_ids)
        keep_cats = None if category_ids is None else set(category_ids)
        images = [im for im in self.images if keep_imgs is None or im["id"] in keep_imgs]
        ids = {im["id"] for im in images}
        anns = [a for a in self.annotations
                if a["image_id"] in ids and (keep_cats is None or a["category_id"] in keep_cats)]
        return CocoDataset(copy.deepcopy(images), copy.deepcopy(anns), copy.deepcopy(self.categories),
                           copy.deepcopy(self.info), copy.deepcopy(self.licenses), copy.deepcopy(self.extra),
                           source=self.source)

    def split(self, ratios: Sequence[float] = (0.8, 0.2), seed: int = 0) -> list[CocoDataset]:
        """Split images at random (seeded) into parts of the given ratios; annotations follow their image."""
        counts = split_counts(len(self.images), ratios)
        order = np.random.default_rng(seed).permutation(len(self.images))
        parts, start = [], 0
        for n in counts:
            chosen = {self.images[i]["id"] for i in order[start:start + n].tolist()}
            parts.append(self.subset(chosen))
            start += n
        return parts

    def merge(self, other: CocoDataset) -> CocoDataset:
        """A new dataset with both; see `cocoseg.io.merge.merge_datasets`."""
        return merge_datasets(self, other)

    def stats(self) -> DatasetStats:
        """Counts and distributions; see `cocoseg.io.stats.dataset_stats`."""
        return dataset_stats(self)


def split_counts(total: int, ratios: Sequence[float]) -> list[int]:
    """Integer part sizes summing to `total`, proportional to `ratios` (largest remainder)."""
    r = np.asarray(ratios, dtype=np.float64)
    if len(r) == 0 or (r < 0).any() or r.sum() <= 0:
        raise CocosegError(f"split ratios must be non-negative and not all zero, got {list(ratios)}")
    exact = r / r.sum() * total
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def _next_id(records: list[dict]) -> int:
    return max((r["id"] for r in records if isinstance(r.get("id"), int)), default=0) + 1


def load_coco(path: PathLike, validate: bool = True) -> CocoDataset:
    """Read a COCO JSON file into a `CocoDataset`."""
    return CocoDataset.load(path, validate=validate)
