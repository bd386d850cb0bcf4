"""One COCO file from a prediction run's shard files, written record by record in image order.

Results mode writes the COCO results list; dataset mode a COCO dataset of pre-labels (images,
annotations with `score`, categories). Memory: the image paths and ids of the pool (to number the
images), never its detections. Image ids follow one rule for every run: the `ann=` file's ids by
base file name, else `image_ids_from_files` (integer stems, others numbered and listed beside).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from cocoseg.curate.exports_ids import image_ids_from_files, names_under_root
from cocoseg.errors import CocosegError
from cocoseg.io import CategoryMap, write_json
from cocoseg.io.jsonio import atomic_write
from cocoseg.predictions.image_predictions import coco_categories

LOGGER = logging.getLogger(__name__)
_SEP = (",", ":")


def image_ids_by_file_name(paths: Sequence[str], images: Sequence[Mapping[str, Any]], ann: str) -> list[int]:
    """The COCO image id of each predicted path: the image whose file_name has the same base name."""
    by_name = {Path(img["file_name"]).name: int(img["id"]) for img in images}
    ids = []
    for p in paths:
        key = Path(p).name
        if key not in by_name:
            raise CocosegError(f"{ann}: no image with file_name {key!r} (needed for the results' image_id)")
        ids.append(by_name[key])
    return ids


def category_ids_for(names: Mapping[int, str], categories: Sequence[Mapping[str, Any]], ann: str) -> dict[int, int]:
    """Category id per model label: by class name, else (same count) by the file's category order."""
    cats = {c["name"]: int(c["id"]) for c in categories}
    if all(n in cats for n in names.values()):
        return {k: cats[n] for k, n in names.items()}
    cmap = CategoryMap.from_categories(list(categories))
    if len(cmap) != len(names):
        missing = [n for n in names.values() if n not in cats][:5]
        raise CocosegError(f"{ann}: categories {missing} of the model are not in the file, and the counts differ")
    LOGGER.warning("%s: class names differ from the model's; mapping labels to categories by id order", ann)
    return {k: cmap.category_id(k) for k in names}


def file_image_ids(paths: Sequence[str], frames: Sequence[int | None], save_coco: str) -> list[int]:
    """Ids by `image_ids_from_files` (video frames: 1..N); ids that are not the file stem go to *_image_ids.json."""
    if any(f is not None for f in frames):
        return list(range(1, len(paths) + 1))
    ids, mapping = image_ids_from_files(paths)
    if mapping:
        target = Path(save_coco).with_name(Path(save_coco).stem + "_image_ids.json")
        LOGGER.info("image ids of files without an integer stem written to %s", write_json(target, mapping, indent=1))
    return ids


def merge_shards(lines: Any, save_coco: str, as_dataset: bool, category_ids: Mapping[int, int],
                 names: Mapping[int, str], gt_images: Sequence[Mapping[str, Any]] | None, ann: str | None,
                 max_per_image: int | None = None, check: Callable[[dict], None] | None = None) -> Path:
    """Write `save_coco` from `lines()` (a callable giving the shards' image lines in order, re-readable).

    Results mode: `max_per_image` keeps each image's best records, `check(record)` runs before each is written.
    """
    paths: list[str] = []
    frames: list[int | None] = []
    for line in lines():
        if "skipped" not in line:
            paths.append(line["path"])
            frames.append(line["frame"])
    if gt_images is not None and ann is not None:
        ids = image_ids_by_file_name(paths, gt_images, ann)
    else:
        ids = file_image_ids(paths, frames, save_coco)
    if not as_dataset:
        return atomic_write(save_coco, lambda fh: _write_results(fh, _predicted(lines()), ids, max_per_image, check))
    if any(f is not None for f in frames):
        raise CocosegError("as_dataset: video frames have no image files to label; extract frames first")
    root, files = names_under_root(paths) if paths else (Path.cwd(), [])
    del paths, frames
    cats = coco_categories(names, category_ids)

    def write(fh: TextIO) -> None:
        info = {"images_root": str(root), "description": "cocoseg predict pre-labels"}
        fh.write('{"info":' + json.dumps(info, separators=_SEP) + ',"images":[')
        for k, (line, image_id, name) in enumerate(zip(_predicted(lines()), ids, files)):
            h, w = line["hw"]
            image = {"id": image_id, "file_name": name, "width": w, "height": h}
            fh.write(("," if k else "") + json.dumps(image, separators=_SEP))
        fh.write('],"annotations":[')
        _write_annotations(fh, _predicted(lines()), ids)
        fh.write('],"categories":' + json.dumps(cats, separators=_SEP) + "}")

    return atomic_write(save_coco, write)


def _predicted(lines: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (line for line in lines if "skipped" not in line)


def _write_results(fh: TextIO, lines: Iterator[dict[str, Any]], ids: Sequence[int], max_per_image: int | None,
                   check: Callable[[dict], None] | None) -> None:
    fh.write("[")
    first = True
    for line, image_id in zip(lines, ids):
        for rec in line["dets"][:max_per_image]:  # records are in descending score order (NMS)
            rec["image_id"] = image_id
            if check:
                check(rec)
            fh.write(("" if first else ",") + json.dumps(rec, separators=_SEP))
            first = False
    fh.write("]")


def _write_annotations(fh: TextIO, lines: Iterator[dict[str, Any]], ids: Sequence[int]) -> None:
    next_id = 1
    for line, image_id in zip(lines, ids):
        for rec in line["dets"]:
            rec["id"], rec["image_id"] = next_id, image_id
            fh.write(("," if next_id > 1 else "") + json.dumps(rec, separators=_SEP))
            next_id += 1
