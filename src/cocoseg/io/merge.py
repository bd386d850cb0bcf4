"""Merging COCO datasets: categories matched by name, colliding ids remapped."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from cocoseg.errors import CocosegError

if TYPE_CHECKING:
    from cocoseg.io.dataset import CocoDataset


def _id_remap(existing: set[int], incoming: list[int]) -> dict[int, int]:
    """Keep each incoming id unless taken; taken ones get fresh ids above everything seen."""
    mapping: dict[int, int] = {}
    taken = set(existing)
    next_free = max(taken | set(incoming), default=0) + 1
    for old in incoming:
        if old in taken:
            mapping[old] = next_free
            taken.add(next_free)
            next_free += 1
        else:
            mapping[old] = old
            taken.add(old)
    return mapping


def _category_remap(base: list[dict], incoming: list[dict]) -> tuple[dict[int, int], list[dict]]:
    by_name = {c["name"]: c for c in base}
    mapping: dict[int, int] = {}
    new_cats: list[dict] = []
    fresh = [c for c in incoming if c["name"] not in by_name]
    fresh_ids = _id_remap({c["id"] for c in base}, [c["id"] for c in fresh])
    for cat in incoming:
        match = by_name.get(cat["name"])
        if match is not None:
            if cat.get("keypoints") and match.get("keypoints") and cat["keypoints"] != match["keypoints"]:
                raise CocosegError(f"category {cat['name']!r}: the datasets define different keypoints")
            mapping[cat["id"]] = match["id"]
        else:
            mapping[cat["id"]] = fresh_ids[cat["id"]]
            new_cats.append({**copy.deepcopy(cat), "id": mapping[cat["id"]]})
    return mapping, new_cats


def merge_datasets(first: CocoDataset, second: CocoDataset) -> CocoDataset:
    """A new dataset holding both; `second`'s colliding image/annotation ids and categories are remapped.

    Categories with the same name are one category (the first dataset's id wins); every
    image and annotation of both is kept exactly once.
    """
    out = first.copy()
    cat_map, new_cats = _category_remap(out.categories, second.categories)
    img_map = _id_remap({im["id"] for im in out.images}, [im["id"] for im in second.images])
    ann_map = _id_remap({a["id"] for a in out.annotations}, [a["id"] for a in second.annotations])
    out.categories.extend(new_cats)
    out.images.extend({**copy.deepcopy(im), "id": img_map[im["id"]]} for im in second.images)
    out.annotations.extend(
        {**copy.deepcopy(a), "id": ann_map[a["id"]], "image_id": img_map[a["image_id"]],
         "category_id": cat_map[a["category_id"]]}
        for a in second.annotations
    )
    if out.licenses is not None and second.licenses:
        known = {lic.get("id") for lic in out.licenses if isinstance(lic, dict)}
        out.licenses.extend(copy.deepcopy(lic) for lic in second.licenses if isinstance(lic, dict) and lic.get("id") not in known)
    out.source = f"{first.source}+{second.source}"
    out._changed()
    return out
