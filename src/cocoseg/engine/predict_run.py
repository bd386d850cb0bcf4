"""A prediction run as `cocoseg predict` does it: results streamed to drawings, videos and COCO files.

`run_prediction(predictor, source, options)` is the whole command; the CLI only parses arguments.
Under torchrun each rank predicts one block of the source list (`predict_shards.ShardPlan`) and
streams it to its own shard file; rank 0 merges the shards into one COCO file in image order
(`predict_merge`). A single process runs the same path as rank 0 of 1, so its output is identical
and its memory does not grow with the pool. The run folder comes from `runs.new_run_dir`.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.engine.distributed import DistContext
from cocoseg.engine.predict_files import FileOptions, RunFiles
from cocoseg.engine.predict_merge import category_ids_for, image_ids_by_file_name, merge_shards
from cocoseg.engine.predict_shards import (
    ShardPlan,
    ShardWriter,
    image_lines,
    shard_dir,
    shard_path,
    unfinished_ranks,
)
from cocoseg.engine.predict_sources import VIDEO_SUFFIXES, Source, resolve_source
from cocoseg.engine.predictor import Predictor
from cocoseg.engine.runs import new_run_dir
from cocoseg.engine.submission import MAX_PER_IMAGE, RecordCheck, result_file_name, zip_submission
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset
from cocoseg.predictions.image_predictions import Result, coco_dataset, default_category_ids

__all__ = ["PredictOutputs", "RunSummary", "category_ids_for", "image_ids_by_file_name", "run_prediction"]

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
    save_txt: bool = False  # YOLO-seg label files under project/name/labels (save_conf: with scores)
    save_conf: bool = False
    save_crop: bool = False  # each detection's box region under project/name/crops/CLASS
    line_width: int | None = None  # drawings: box line width (default: from the image size)
    show_labels: bool = True
    show_conf: bool = True
    submission: str | None = None  # COCO test-dev upload: detections_test-dev2017_NAME_results.json + .zip
    resume: bool = False  # skip the images already in the shard files of an interrupted run
    timeout: float = 1800.0  # seconds the ranks of a torchrun run wait for each other at the end

    def __post_init__(self) -> None:
        if self.as_dataset and not self.save_coco:
            raise CocosegError("as_dataset: needs save_coco=PATH")
        if self.submission and (not self.ann or self.as_dataset or self.mask_format not in (None, "rle")):
            raise CocosegError("submission: needs ann=IMAGE_INFO.json (the test-dev image-info file) and RLE results")
        if self.resume and not (self.save_coco or self.submission):
            raise CocosegError("resume: needs save_coco=PATH (the shard files it continues live beside it)")

    @property
    def files(self) -> FileOptions:
        """What goes into the run folder."""
        return FileOptions(self.save, self.save_txt, self.save_conf, self.save_crop, self.line_width,
                           self.show_labels, self.show_conf)

    @property
    def fmt(self) -> str:
        """The segmentation format of the records."""
        return self.mask_format or ("polygon" if self.as_dataset else "rle")


@dataclass
class RunSummary:
    """What one process of a run did (the merged COCO file only on rank 0)."""

    images: int = 0
    detections: int = 0
    skipped: int = 0
    resumed: int = 0
    coco: Path | None = None
    drawings: Path | None = None


def run_prediction(predictor: Predictor, source: Source, out: PredictOutputs,
                   ctx: DistContext | None = None) -> RunSummary:
    """Predict over this rank's block of `source`, streaming what `out` asks; rank 0 merges the COCO file."""
    ctx = ctx or DistContext.from_env()
    items, stream_source = _items(source, ctx)
    if ctx.enabled:  # gloo only coordinates the ranks here: no tensors travel
        ctx.init(predictor.device, out.timeout, backend="gloo")
    category_ids, gt_images, gt_categories = _category_setup(predictor.names, out, items)
    plan = ShardPlan(len(items), ctx.rank, ctx.world_size, "dataset" if out.as_dataset else "results", out.fmt)
    out_dir = None
    if out.files.any or out.submission:
        out_dir = ctx.broadcast(new_run_dir(out.project, out.name, out.exist_ok) if ctx.is_main else None)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    if out.submission:
        out = replace(out, save_coco=str(Path(out_dir) / result_file_name(out.submission)))
    summary, error = RunSummary(drawings=out_dir if out.files.any else None), None
    try:
        shards = ShardWriter(shard_path(out.save_coco, plan.rank, plan.world), plan, out.resume) if out.save_coco else None
        _predict_block(predictor, items, stream_source, plan, shards, out, category_ids, summary, ctx)
    except Exception as exc:
        if not ctx.enabled:
            raise
        error = str(exc) if isinstance(exc, CocosegError) else f"{type(exc).__name__}: {exc}"
        LOGGER.error("rank %d failed: %s", ctx.rank, error)
    plans = [ShardPlan(len(items), r, ctx.world_size, plan.mode, plan.mask_format) for r in range(ctx.world_size)]
    files = [shard_path(out.save_coco, r, ctx.world_size) for r in range(ctx.world_size)] if out.save_coco else []
    try:
        ctx.agree(error, out.timeout)
    except CocosegError as exc:
        missing = unfinished_ranks(files, plans) if files and error is None else []
        raise CocosegError(f"{exc}; unfinished: {', '.join(f'rank {r}' for r in missing)}" if missing else str(exc)) from None
    if out.save_coco and ctx.is_main:
        ann = out.ann if gt_images is not None else None
        limit, check = (MAX_PER_IMAGE, RecordCheck(category_ids.values(), out.ann or "")) if out.submission else (None, None)
        if check and any(c not in {int(cat["id"]) for cat in gt_categories} for c in category_ids.values()):
            raise CocosegError(f"submission: the model's categories are not all in {out.ann}")
        summary.coco = merge_shards(lambda: image_lines(files, plans), out.save_coco, out.as_dataset, category_ids,
                                    predictor.names, gt_images, ann, limit, check)
        shutil.rmtree(shard_dir(out.save_coco), ignore_errors=True)
        if out.submission:
            _finish_submission(summary, len(items), len(gt_images or []))
        LOGGER.info("%s written to %s", "dataset" if out.as_dataset else "COCO results", summary.coco)
    return summary


def _items(source: Source, ctx: DistContext) -> tuple[list[str], Source | None]:
    """(the name of every source item in run order, the arrays to predict; None: predict the files)."""
    if isinstance(source, np.ndarray) or (isinstance(source, (list, tuple)) and source
                                          and all(isinstance(s, np.ndarray) for s in source)):
        if ctx.enabled:
            raise CocosegError("source: in-memory arrays cannot be sharded over torchrun ranks; give files")
        n = 1 if isinstance(source, np.ndarray) else len(source)
        return [f"image{i}" for i in range(n)], source
    return [str(p) for p in resolve_source(source)], None  # type: ignore[arg-type]


def _category_setup(names: Mapping[int, str], out: PredictOutputs, items: Sequence[str]) -> tuple[dict[int, int], Any, Any]:
    """(category id per label, the `ann=` file's images and categories or None); checked before predicting."""
    if out.as_dataset and any(Path(p).suffix.lower() in VIDEO_SUFFIXES for p in items):
        raise CocosegError("as_dataset: video frames have no image files to label; extract frames first")
    if not out.ann:
        return default_category_ids(names), None, None
    gt = CocoDataset.load(out.ann, validate=False)
    if not any(Path(p).suffix.lower() in VIDEO_SUFFIXES for p in items):
        image_ids_by_file_name(items, gt.images, out.ann)  # every image known, before hours of predicting
    return category_ids_for(names, gt.categories, out.ann), gt.images, gt.categories


def _finish_submission(summary: RunSummary, num_sources: int, num_images: int) -> None:
    """Zip the checked results for the upload page; warn when images of the image-info file are missing."""
    assert summary.coco is not None
    archive = zip_submission(summary.coco)
    if num_sources < num_images:
        LOGGER.warning("submission: %d of the %d images of the image-info file were predicted", num_sources, num_images)
    LOGGER.info("submission %s written (upload it on the COCO evaluation server, bbox and segm tracks)", archive)


def _predict_block(predictor: Predictor, items: list[str], arrays: Source | None, plan: ShardPlan,
                   shards: ShardWriter | None, out: PredictOutputs, category_ids: Mapping[int, int],
                   summary: RunSummary, ctx: DistContext) -> None:
    """Stream this rank's images into the shard (and drawings), one line per image as results come."""
    done = shards.done if shards else set()
    todo = [i for i in range(plan.start, plan.stop) if i not in done]
    summary.resumed = plan.stop - plan.start - len(todo)
    if summary.resumed:
        LOGGER.info("resume: %d images already predicted, %d to go", summary.resumed, len(todo))
    reasons: dict[str, str] = {}

    def on_skip(path: str, reason: str) -> None:
        LOGGER.warning("%s: %s; skipped", path, reason)
        reasons[path] = reason

    def skip(index: int) -> None:
        summary.skipped += 1
        if shards:
            shards.skip(index, items[index], reasons.get(items[index], "no result"))

    drawings = RunFiles(Path(summary.drawings), out.files) if summary.drawings else None
    level = logging.INFO if ctx.is_main else logging.DEBUG
    source = arrays if arrays is not None else [Path(items[i]) for i in todo]
    pos, current, totals = 0, -1, {}
    try:
        for result in predictor.stream(source, keep_images=out.files.needs_images, on_skip=on_skip) if todo else ():
            if result.frame in (None, 0):  # a new item: the ones passed over were skipped
                while items[todo[pos]] != result.path:
                    skip(todo[pos])
                    pos += 1
                current, pos = todo[pos], pos + 1
                summary.images += 1
            summary.detections += len(result)
            _log_result(result, summary.images, level, totals)
            if drawings:
                drawings.add(result)
                result.image = None
            if shards:
                shards.add(current, result.path, result.frame, result.image_shape, _records(result, out, category_ids))
        for index in todo[pos:]:
            skip(index)
    finally:
        if shards:
            shards.close()
        if drawings:
            drawings.close()
            LOGGER.info("outputs saved to %s", summary.drawings)
    if totals and summary.images:
        LOGGER.log(level, "speed per image (ms): %s", ", ".join(f"{k} {v / summary.images:.1f}" for k, v in totals.items()))
    if summary.skipped:
        LOGGER.warning("%d of %d files could not be read and were skipped (listed above)", summary.skipped, len(todo))


def _log_result(result: Result, n: int, level: int, totals: dict[str, float]) -> None:
    frame = f" frame {result.frame}" if result.frame is not None else ""
    ms = sum(v for k, v in result.speed.items() if k != "read")
    LOGGER.log(level, "%d %s%s (%dx%d): %s, %.1f ms", n, result.path, frame, *result.image_shape, result.summary(), ms)
    for k, v in result.speed.items():
        totals[k] = totals.get(k, 0.0) + v


def _records(result: Result, out: PredictOutputs, category_ids: Mapping[int, int]) -> list[dict]:
    """The image's COCO records without image ids (results records, or dataset annotations with area)."""
    if out.as_dataset:
        return coco_dataset([result], [""], [0], category_ids, out.fmt)["annotations"]
    return result.to_coco(0, category_ids, out.fmt)
