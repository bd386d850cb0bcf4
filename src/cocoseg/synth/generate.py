"""The synthetic dataset end to end: render every image, annotate it, write the COCO layout."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from cocoseg import __version__
from cocoseg.errors import CocosegError
from cocoseg.io.jsonio import atomic_write, write_json
from cocoseg.io.locks import file_lock
from cocoseg.synth.annotate import annotate
from cocoseg.synth.categories import CATEGORIES, coco_categories
from cocoseg.synth.scene import SynthConfig, render_image

SPLITS = ("train", "val")
LOCK_NAME = ".cocoseg-synth.lock"  # held while a dataset is written (see `generate`)
_LICENSE = {"id": 1, "name": "CC0 1.0 (synthetic images drawn by cocoseg)",
            "url": "https://creativecommons.org/publicdomain/zero/1.0/"}
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]  # 3 ms and ~35 kB for 256x256


@dataclass(frozen=True)
class SynthData:
    """A synthetic dataset in memory: a COCO dict and its BGR images (aligned with coco['images'])."""

    coco: dict[str, Any]
    images: list[np.ndarray]


@dataclass(frozen=True)
class SynthSplit:
    """One written split: its images folder, annotation file and counts."""

    name: str
    images_dir: Path
    annotations: Path
    num_images: int
    num_annotations: int


@dataclass(frozen=True)
class SynthResult:
    """What `generate` wrote: the root folder, the dataset YAML and each split."""

    root: Path
    data_yaml: Path
    splits: dict[str, SynthSplit]
    names: dict[int, str]


def _check_counts(num_images: int, seed: int, val_fraction: float) -> None:
    if isinstance(num_images, bool) or not isinstance(num_images, (int, np.integer)) or num_images < 1:
        raise CocosegError(f"images: {num_images!r} must be a whole number >= 1")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CocosegError(f"seed: {seed!r} must be a whole number >= 0")
    if not 0.0 <= val_fraction < 1.0:
        raise CocosegError(f"val_fraction: {val_fraction!r} must be in [0, 1)")


def _config(size: tuple[int, int], **options: Any) -> SynthConfig:
    if len(size) != 2:
        raise CocosegError(f"size: {size!r} must be (width, height)")
    return SynthConfig(width=int(size[0]), height=int(size[1]), **options)


def _info(seed: int, cfg: SynthConfig, split: str) -> dict[str, Any]:
    # no dates or paths: the same arguments must give byte-identical files
    return {
        "description": f"cocoseg synthetic shapes, {split} split (seed {seed}, {cfg.width}x{cfg.height})",
        "version": __version__, "year": 2024, "contributor": "cocoseg synth", "url": "", "date_created": "",
    }


def _coco(seed: int, cfg: SynthConfig, split: str, images: list, annotations: list) -> dict[str, Any]:
    return {"info": _info(seed, cfg, split), "licenses": [_LICENSE], "images": images,
            "annotations": annotations, "categories": coco_categories()}


def _file_name(image_id: int, num_images: int) -> str:
    return f"{image_id:0{max(6, len(str(num_images)))}d}.png"


def _render_all(num_images: int, seed: int, cfg: SynthConfig):
    """Yield (image record, annotations, pixels) for every image, ids 1..N, in order."""
    next_ann_id = 1
    for index in range(num_images):
        rendered = render_image(cfg, seed, index)
        image_id = index + 1
        record = {"id": image_id, "file_name": _file_name(image_id, num_images), "width": cfg.width,
                  "height": cfg.height, "license": 1, "date_captured": ""}
        anns = annotate(rendered, image_id, next_ann_id)
        next_ann_id += len(anns)
        yield record, anns, rendered.image


def split_of(index: int, num_images: int, val_fraction: float) -> str:
    """'val' for an evenly spread floor(N * fraction) of the images (at least one when N >= 2)."""
    if val_fraction <= 0 or num_images < 2:
        return "train"
    if int(num_images * val_fraction) == 0:
        return "val" if index == num_images - 1 else "train"
    return "val" if int((index + 1) * val_fraction) > int(index * val_fraction) else "train"


def generate_coco(num_images: int = 8, seed: int = 0, size: tuple[int, int] = (256, 256),
                  **options: Any) -> SynthData:
    """The synthetic dataset in memory, all images in one COCO dict (no split, no files).

    `options` are SynthConfig fields (min_objects, max_objects, crowd_probability, ...).
    """
    _check_counts(num_images, seed, 0.0)
    cfg = _config(size, **options)
    records, annotations, pixels = [], [], []
    for record, anns, image in _render_all(num_images, seed, cfg):
        records.append(record)
        annotations.extend(anns)
        pixels.append(image)
    return SynthData(_coco(seed, cfg, "all", records, annotations), pixels)


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, buffer = cv2.imencode(".png", image, _PNG_PARAMS)
    if not ok:
        raise CocosegError(f"{path}: could not encode the image as PNG")
    payload = buffer.tobytes()
    atomic_write(path, lambda fh: fh.write(payload), mode="wb")


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Delete images an earlier, larger run left behind (only names this generator writes)."""
    for path in folder.glob("*.png"):
        if re.fullmatch(r"\d{6,}\.png", path.name) and path.name not in keep:
            path.unlink()


def _write_yaml(root: Path) -> Path:
    names = {index: cat.name for index, cat in enumerate(CATEGORIES)}
    data: dict[str, Any] = {"path": "."}  # '.' = the folder holding this YAML
    for split in SPLITS:
        data[split] = {"images": f"images/{split}", "annotations": f"annotations/instances_{split}.json"}
    data["names"] = names
    header = ("# cocoseg synthetic dataset. Each split maps to COCO JSON (cocoseg's extension of the\n"
              "# Ultralytics dataset YAML); 'path: .' is the folder holding this file.\n")
    text = header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return atomic_write(root / "data.yaml", lambda fh: fh.write(text))


def generate(out_dir: str | os.PathLike[str], num_images: int = 200, seed: int = 0,
             size: tuple[int, int] = (256, 256), val_fraction: float = 0.2, **options: Any) -> SynthResult:
    """Write a deterministic synthetic COCO dataset: images/{train,val}/*.png,
    annotations/instances_{train,val}.json and data.yaml under `out_dir`.

    The same arguments give byte-identical files; image i depends only on (seed, i), so a larger
    `num_images` extends a dataset without changing its first images. `options` are SynthConfig
    fields (min_objects, max_objects, crowd_probability, size_mix, min_visible).
    """
    _check_counts(num_images, seed, val_fraction)
    cfg = _config(size, **options)
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise CocosegError(f"{root}: exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    # one writer at a time (two `synth` runs, or torchrun ranks generating a missing dataset): the
    # second waits, then writes its own complete dataset instead of mixing files with the first
    with file_lock(root / LOCK_NAME, what=str(root)):
        return _generate_into(root, num_images, seed, cfg, val_fraction)


def _generate_into(root: Path, num_images: int, seed: int, cfg: SynthConfig, val_fraction: float) -> SynthResult:
    records: dict[str, list] = {s: [] for s in SPLITS}
    annotations: dict[str, list] = {s: [] for s in SPLITS}
    for index, (record, anns, image) in enumerate(_render_all(num_images, seed, cfg)):
        split = split_of(index, num_images, val_fraction)
        records[split].append(record)
        annotations[split].extend(anns)
        _write_png(root / "images" / split / record["file_name"], image)
    splits = {}
    for split in SPLITS:
        images_dir = root / "images" / split
        images_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale(images_dir, {r["file_name"] for r in records[split]})
        ann_path = root / "annotations" / f"instances_{split}.json"
        write_json(ann_path, _coco(seed, cfg, split, records[split], annotations[split]))
        splits[split] = SynthSplit(split, images_dir, ann_path, len(records[split]), len(annotations[split]))
    data_yaml = _write_yaml(root)
    names = {index: cat.name for index, cat in enumerate(CATEGORIES)}
    return SynthResult(root, data_yaml, splits, names)
