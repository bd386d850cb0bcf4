"""A prediction run as `cocoseg predict` does it: results streamed to drawings, videos and COCO files.

`run_prediction(predictor, source, options)` is the whole command; the CLI only parses arguments.
The run folder comes from `runs.new_run_dir` (the numbering training runs use), and the COCO
image-id rule is one small pure function (`image_ids_by_file_name`).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from cocoseg.curate.exports_ids import image_ids_from_files, names_under_root
from cocoseg.engine.predict_sources import Source, video_fps
from cocoseg.engine.predictor import Predictor
from cocoseg.engine.runs import new_run_dir
from cocoseg.errors import CocosegError
from cocoseg.io import CategoryMap, CocoDataset, write_json
from cocoseg.predictions.image_predictions import Result, coco_dataset, default_category_ids

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictOutputs:
    """Where a prediction run writes: drawings under project/name (`save`), and/or a COCO file."""

    save: bool = False
    project: str = "runs/predict"
    name: str = "exp"
    exist_ok: bool = False
    save_coco: str | None = None
    as_dataset: bool = False
    ann: str | None = None  # COCO JSON whose image ids and category ids the results use
    mask_format: str | None = None  # rle / polygon / none (default: rle for results, polygon for a dataset)

    def __post_init__(self) -> None:
        if self.as_dataset and not self.save_coco:
            raise CocosegError("as_dataset: needs save_coco=PATH")


class Drawings:
    """Annotated outputs: one image per image, one video per video source."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir, self.videos = out_dir, {}

    def add(self, result: Result) -> None:
        """Write `result` drawn on its image (a frame goes into its video's writer)."""
        drawn = result.draw()
        name = Path(result.path).name if not result.path.startswith("image") else f"{result.path}.jpg"
        if result.frame is None:
            cv2.imwrite(str(self.out_dir / name), drawn)
            return
        if result.path not in self.videos:
            h, w = drawn.shape[:2]
            target = str(self.out_dir / (Path(result.path).stem + ".mp4"))
            self.videos[result.path] = cv2.VideoWriter(target, cv2.VideoWriter_fourcc(*"mp4v"), video_fps(result.path), (w, h))
        self.videos[result.path].write(drawn)

    def close(self) -> None:
        """Finish the video files."""
        for writer in self.videos.values():
            writer.release()


def run_prediction(predictor: Predictor, source: Source, out: PredictOutputs) -> list[Result]:
    """Predict over `source`, logging each image, writing what `out` asks; returns the kept results."""
    out_dir = None
    if out.save:
        out_dir = new_run_dir(out.project, out.name, out.exist_ok)
        out_dir.mkdir(parents=True, exist_ok=True)
    writer = Drawings(out_dir) if out_dir else None
    results: list[Result] = []
    totals: dict[str, float] = {}
    n = 0
    for n, result in enumerate(predictor.stream(source, keep_images=writer is not None), 1):
        frame = f" frame {result.frame}" if result.frame is not None else ""
        ms = sum(v for k, v in result.speed.items() if k != "read")
        LOGGER.info("%d %s%s (%dx%d): %s, %.1f ms", n, result.path, frame, *result.image_shape, result.summary(), ms)
        for k, v in result.speed.items():
            totals[k] = totals.get(k, 0.0) + v
        if writer:
            writer.add(result)
            result.image = None
        if out.save_coco:
            result.masks = result.masks if out.mask_format != "none" else None
            results.append(result)
    if writer:
        writer.close()
        LOGGER.info("drawings saved to %s", out_dir)
    if totals:
        LOGGER.info("speed per image (ms): %s", ", ".join(f"{k} {v / n:.1f}" for k, v in totals.items()))
    if out.save_coco:
        path = write_coco(results, out, predictor.names)
        LOGGER.info("%s written to %s", "dataset" if out.as_dataset else "COCO results", path)
    return results


def write_coco(results: list[Result], out: PredictOutputs, names: Mapping[int, str]) -> Path:
    """`out.save_coco`: COCO results records, or with `out.as_dataset` a whole COCO dataset of pre-labels."""
    assert out.save_coco is not None
    if out.ann:
        gt = CocoDataset.load(out.ann, validate=False)
        image_ids = image_ids_by_file_name([r.path for r in results], gt.images, out.ann)
        category_ids = category_ids_for(names, gt.categories, out.ann)
    else:
        image_ids, category_ids = file_image_ids(results, out.save_coco), default_category_ids(names)
    if out.as_dataset:
        if any(r.frame is not None for r in results):
            raise CocosegError("as_dataset: video frames have no image files to label; extract frames first")
        root, files = names_under_root([r.path for r in results])
        data = coco_dataset(results, files, image_ids, category_ids, out.mask_format or "polygon")
        data["info"] = {"images_root": str(root), "description": "cocoseg predict pre-labels"}
        return CocoDataset.from_dict(data, file=out.save_coco).save(out.save_coco)
    records = [rec for r, i in zip(results, image_ids) for rec in r.to_coco(i, category_ids, out.mask_format or "rle")]
    return write_json(out.save_coco, records)


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


def file_image_ids(results: Sequence[Result], save_coco: str) -> list[int]:
    """Ids by `image_ids_from_files` (video frames: 1..N); ids that are not the file stem go to *_image_ids.json."""
    if any(r.frame is not None for r in results):
        return list(range(1, len(results) + 1))
    ids, mapping = image_ids_from_files([r.path for r in results])
    if mapping:
        target = Path(save_coco).with_name(Path(save_coco).stem + "_image_ids.json")
        LOGGER.info("image ids of files without an integer stem written to %s", write_json(target, mapping, indent=1))
    return ids
