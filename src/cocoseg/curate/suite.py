"""Challenge suites: named slices of a COCO dataset, each with minimum metrics, read from YAML.

    slices:
      - name: all                        # no `where`: every image
        min: {ap: 0.25, ap50: 0.45}
      - name: small-occluded-people
        where: {size: small, occluded: true, categories: [person]}
        min: {ap: 0.05}

Filters of `where` (all of them must hold):
- instance filters, which turn out-of-slice GT into ignore regions the way COCO's area ranges do
  (`cocoseg.eval.analysis.slices`): ``size`` small | medium | large (COCO's area ranges),
  ``area: [lo, hi]`` (pixels), ``occluded: true | false`` (max IoU with another GT above
  ``occlusion_iou``, 0.3, measured ``occlusion_by`` box | mask), ``attributes: {key: value | [values]
  | {min: a, max: b}}`` on annotation keys (an annotation without the key is out of the slice);
- category filters, which restrict the evaluated categories: ``categories: [names or ids]``,
  ``supercategories: [names]``;
- image filters, which restrict the evaluated images: ``crowded: true | false`` (at least
  ``crowded_min``, 10, regular GT of the evaluated categories), ``images: [ids or file names]``,
  ``image_list: FILE`` (one id or file name per line, relative to the suite file).
Metric names in `min` are those of the `metrics` object of `cocoseg eval --out` (ap, ap50, ap75,
ap_small, ar1, ar10, ar100, ...).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval.analysis.slices import COCO_AREAS, occlusion_iou
from cocoseg.io import CocoDataset

SUITES_DIR = Path(__file__).resolve().parents[1] / "cfg" / "suites"
INSTANCE_KEYS = {"size", "area", "occluded", "occlusion_iou", "occlusion_by", "attributes"}
CATEGORY_KEYS = {"categories", "supercategories"}
IMAGE_KEYS = {"crowded", "crowded_min", "images", "image_list"}
BUILTIN = {"all": {}, "small": {"size": "small"}, "medium": {"size": "medium"}, "large": {"size": "large"},
           "occluded": {"occluded": True}, "unoccluded": {"occluded": False}, "crowded": {"crowded": True},
           "uncrowded": {"crowded": False}}
_AREAS = {name: (lo, hi) for name, lo, hi in COCO_AREAS}


@dataclass(frozen=True)
class SliceSpec:
    """One slice of a suite: its filters and minimum metrics."""

    name: str
    where: dict = field(default_factory=dict)
    minimum: dict = field(default_factory=dict)
    base: Path = Path(".")


@dataclass(frozen=True)
class SliceInputs:
    """What the engine evaluates for one slice, and which GT belong to it."""

    gt: CocoDataset
    image_ids: list[int]
    category_ids: list[int]
    members: np.ndarray  # (N,) bool over gt.annotations: regular GT inside the slice
    description: str
    area_range: tuple[str, float, float] | None = None  # the one evaluated area range ("all" label)

    def options(self) -> dict[str, Any]:
        """Keyword arguments of `evaluate` for this slice."""
        out: dict[str, Any] = {"image_ids": self.image_ids, "category_ids": self.category_ids}
        if self.area_range is not None:
            out["area_ranges"] = [self.area_range]
        return out


def suite_path(name_or_path: str) -> Path:
    """A suite file: a path, or the name of a packaged suite (`cocoseg/cfg/suites/NAME.yaml`)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    packaged = SUITES_DIR / f"{name_or_path}.yaml"
    if packaged.exists():
        return packaged
    names = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
    raise CocosegError(f"{name_or_path}: no such suite file (packaged suites: {', '.join(names)})")


def load_suite(name_or_path: str) -> list[SliceSpec]:
    """The slices of a suite YAML; CocosegError naming the file, the slice and the field on bad input."""
    import yaml

    path = suite_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise CocosegError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("slices"), list) or not data["slices"]:
        raise CocosegError(f"{path}: expected a mapping with a non-empty 'slices:' list")
    specs = [parse_slice(item, f"{path}: slice {i + 1}", path.parent) for i, item in enumerate(data["slices"])]
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CocosegError(f"{path}: slice names must be unique; repeated: {', '.join(dup)}")
    return specs


def parse_slice(item: Any, where: str, base: Path = Path(".")) -> SliceSpec:
    """One `{name, where, min}` entry, checked (`where` names the entry in messages)."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise CocosegError(f"{where}: needs a 'name' (text), got {item!r}")
    where = f"{where} ({item['name']!r})"
    unknown = set(item) - {"name", "where", "min"}
    if unknown:
        raise CocosegError(f"{where}: unknown field(s) {sorted(unknown)}; a slice has name, where, min")
    filters = item.get("where") or {}
    if not isinstance(filters, dict):
        raise CocosegError(f"{where}: 'where' must be a mapping of filters, got {filters!r}")
    bad = set(filters) - INSTANCE_KEYS - CATEGORY_KEYS - IMAGE_KEYS
    if bad:
        raise CocosegError(f"{where}: unknown filter(s) {sorted(bad)}; filters: "
                           f"{', '.join(sorted(INSTANCE_KEYS | CATEGORY_KEYS | IMAGE_KEYS))}")
    _check_filters(filters, where)
    minimum = item.get("min") or {}
    if not isinstance(minimum, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                for v in minimum.values()):
        raise CocosegError(f"{where}: 'min' must map metric names to numbers, got {minimum!r}")
    return SliceSpec(item["name"], dict(filters), {str(k): float(v) for k, v in minimum.items()}, base)


def _check_filters(f: dict, where: str) -> None:
    if "size" in f and f["size"] not in ("small", "medium", "large"):
        raise CocosegError(f"{where}: where.size must be small, medium or large, got {f['size']!r}")
    if "area" in f and not (isinstance(f["area"], list) and len(f["area"]) == 2
                            and all(isinstance(v, (int, float)) for v in f["area"])):
        raise CocosegError(f"{where}: where.area must be [lo, hi] in pixels, got {f['area']!r}")
    for key in ("occluded", "crowded"):
        if key in f and not isinstance(f[key], bool):
            raise CocosegError(f"{where}: where.{key} must be true or false, got {f[key]!r}")
    if "occlusion_by" in f and f["occlusion_by"] not in ("box", "mask"):
        raise CocosegError(f"{where}: where.occlusion_by must be box or mask, got {f['occlusion_by']!r}")
    for key in ("categories", "supercategories", "images"):
        if key in f and not isinstance(f[key], list):
            raise CocosegError(f"{where}: where.{key} must be a list, got {f[key]!r}")
    if "attributes" in f and not isinstance(f["attributes"], dict):
        raise CocosegError(f"{where}: where.attributes must map annotation keys to values, got {f['attributes']!r}")


def _categories(gt: CocoDataset, f: dict, where: str) -> list[int]:
    cats = list(gt.category_ids)
    if "categories" in f:
        by_name = {c["name"]: c["id"] for c in gt.categories}
        wanted = []
        for c in f["categories"]:
            if c not in by_name and c not in cats:
                raise CocosegError(f"{where}: category {c!r} is not in the dataset")
            wanted.append(by_name.get(c, c))
        cats = [c for c in cats if c in set(wanted)]
    if "supercategories" in f:
        chosen = {c["id"] for c in gt.categories if c.get("supercategory") in set(f["supercategories"])}
        if not chosen:
            raise CocosegError(f"{where}: no category has supercategory {f['supercategories']}")
        cats = [c for c in cats if c in chosen]
    return cats


def _matches(value: Any, rule: Any) -> bool:
    if isinstance(rule, Mapping):
        if not isinstance(value, (int, float)):
            return False
        return float(rule.get("min", -np.inf)) <= value <= float(rule.get("max", np.inf))
    if isinstance(rule, list):
        return value in rule
    return value == rule


def instance_members(gt: CocoDataset, f: dict, category_ids: list[int]) -> np.ndarray:
    """(N,) bool: regular annotations of the evaluated categories that pass the instance filters."""
    anns = gt.annotations
    cats = set(category_ids)
    keep = np.asarray([not a.get("iscrowd", 0) and a["category_id"] in cats for a in anns], dtype=bool)
    lo, hi = _AREAS[f["size"]] if "size" in f else (-np.inf, np.inf)
    if "area" in f:
        lo, hi = max(lo, float(f["area"][0])), min(hi, float(f["area"][1]))
    if "size" in f or "area" in f:
        area = np.asarray([float(a.get("area", 0.0)) for a in anns])
        keep &= (area >= lo) & (area <= hi)
    if "occluded" in f:
        occ = occlusion_iou(gt, f.get("occlusion_by", "box"), sorted(cats)) > float(f.get("occlusion_iou", 0.3))
        keep &= occ if f["occluded"] else ~occ
    for key, rule in (f.get("attributes") or {}).items():
        keep &= np.asarray([key in a and _matches(a[key], rule) for a in anns], dtype=bool)
    return keep


def _images(gt: CocoDataset, spec: SliceSpec, category_ids: list[int], where: str) -> list[int]:
    f = spec.where
    images = list(gt.image_ids)
    if "images" in f or "image_list" in f:
        wanted = list(f.get("images") or [])
        if "image_list" in f:
            path = spec.base / str(f["image_list"])
            if not path.is_file():
                raise CocosegError(f"{where}: image_list {path} does not exist")
            wanted += [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        by_name = {im["file_name"]: im["id"] for im in gt.images}
        by_base = {Path(im["file_name"]).name: im["id"] for im in gt.images}
        ids = set()
        for w in wanted:
            key = int(w) if isinstance(w, int) or (isinstance(w, str) and w.isdigit()) else w
            found = key if key in gt.index.images else by_name.get(str(w), by_base.get(Path(str(w)).name))
            if found is None:
                raise CocosegError(f"{where}: image {w!r} is not in the dataset (by id or file_name)")
            ids.add(found)
        images = [i for i in images if i in ids]
    if "crowded" in f:
        cats = set(category_ids)
        counts: dict[int, int] = {}
        for a in gt.annotations:
            if not a.get("iscrowd", 0) and a["category_id"] in cats:
                counts[a["image_id"]] = counts.get(a["image_id"], 0) + 1
        n = int(f.get("crowded_min", 10))
        images = [i for i in images if (counts.get(i, 0) >= n) == f["crowded"]]
    return images


def slice_inputs(gt: CocoDataset, spec: SliceSpec) -> SliceInputs:
    """The GT copy (out-of-slice GT as ignore regions), images, categories and area range that evaluate `spec`.

    A size/area filter becomes the evaluation's one area range (exactly COCO's ap_small etc.);
    the other instance filters turn the GT outside the slice into ignore regions.
    """
    from cocoseg.eval.analysis.slices import _with_ignored

    where = f"slice {spec.name!r}"
    f = spec.where
    cats = _categories(gt, f, where)
    members = instance_members(gt, f, cats)
    images = _images(gt, spec, cats, where)
    regular = instance_members(gt, {}, cats)
    others = {k: v for k, v in f.items() if k in INSTANCE_KEYS - {"size", "area"}}
    sliced = _with_ignored(gt, regular & ~instance_members(gt, others, cats)) if others else gt
    area_range = None
    if "size" in f or "area" in f:
        lo, hi = _AREAS[f["size"]] if "size" in f else (0.0, 1e10)
        if "area" in f:
            lo, hi = max(lo, float(f["area"][0])), min(hi, float(f["area"][1]))
        area_range = ("all", float(lo), float(hi))
    in_images = np.isin([a["image_id"] for a in gt.annotations], images) if gt.annotations else np.zeros(0, bool)
    text = ", ".join(f"{k}={v}" for k, v in f.items()) or "every image"
    return SliceInputs(sliced, images, cats, members & in_images, text, area_range)
