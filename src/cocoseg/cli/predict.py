"""`cocoseg predict model=... source=...`: instance segmentation of images, folders, globs, lists or videos."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from cocoseg.cli.args import add_bool
from cocoseg.ops.thresholds import PREDICT_NMS

HELP = "predict instance masks on images or videos; save drawings, COCO results or a pre-label dataset"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint (.pt, cocoseg or reference), .onnx, or model name")
    parser.add_argument("--source", required=True, nargs="+", help="image, folder, glob, .txt list or video")
    parser.add_argument("--imgsz", type=int, nargs="+", default=[640], help="input size: S or H W (default: 640)")
    parser.add_argument("--conf", type=float, default=PREDICT_NMS.conf, help=f"score threshold (default: {PREDICT_NMS.conf})")
    parser.add_argument("--iou", type=float, default=PREDICT_NMS.iou, help=f"NMS IoU threshold (default: {PREDICT_NMS.iou})")
    parser.add_argument("--max_det", type=int, default=PREDICT_NMS.max_det,
                        help=f"detections kept per image (default: {PREDICT_NMS.max_det})")
    parser.add_argument("--classes", type=int, nargs="+", default=None, help="keep only these class labels")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, N or mps (default: auto)")
    parser.add_argument("--batch", type=int, default=1, help="images per forward pass (default: 1)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all idle cores)")
    add_bool(parser, "half", False, "float16 inference on CUDA")
    add_bool(parser, "retina_masks", False, "upsample masks to native resolution before cropping")
    add_bool(parser, "agnostic_nms", False, "class-agnostic NMS")
    add_bool(parser, "multi_label", False, "a box may be kept for several classes")
    add_bool(parser, "rect", True, "pad same-shaped batches only to a multiple of 32")
    add_bool(parser, "save", False, "write annotated images/videos to project/name")
    parser.add_argument("--project", default="runs/predict", help="output root for save=True")
    parser.add_argument("--name", default="exp", help="output folder name under project (incremented)")
    add_bool(parser, "exist_ok", False, "reuse project/name instead of incrementing it")
    parser.add_argument("--save_coco", default=None, help="write a COCO results JSON (or dataset) to this path")
    add_bool(parser, "as_dataset", False, "with save_coco: a full COCO dataset of pre-labels")
    parser.add_argument("--ann", default=None, help="COCO JSON whose image ids and category ids results use")
    parser.add_argument("--mask_format", choices=["rle", "polygon", "none"], default=None,
                        help="segmentation format (default: rle for results, polygon for a dataset)")


def run(args: argparse.Namespace) -> int:
    from cocoseg.engine.device import set_cpu_threads
    from cocoseg.engine.predictor import Predictor
    from cocoseg.errors import CocosegError

    if args.as_dataset and not args.save_coco:
        raise CocosegError("as_dataset: needs save_coco=PATH")
    predictor = Predictor(
        args.model, imgsz=args.imgsz[0] if len(args.imgsz) == 1 else tuple(args.imgsz), conf=args.conf,
        iou=args.iou, max_det=args.max_det, device=args.device, half=args.half, batch=args.batch,
        retina_masks=args.retina_masks, classes=args.classes, agnostic_nms=args.agnostic_nms,
        multi_label=args.multi_label, rect=args.rect, threads=args.threads,
    )
    if predictor.device.type == "cpu":  # process-wide: the CLI's to set, not the library's
        set_cpu_threads(args.threads)
    source = args.source[0] if len(args.source) == 1 else args.source
    out_dir = _output_dir(Path(args.project), args.name, args.exist_ok) if args.save else None
    writer = _Drawings(out_dir) if out_dir else None
    keep = bool(args.save_coco)
    results, totals = [], {}
    n = 0
    for n, result in enumerate(predictor.stream(source, keep_images=writer is not None), 1):
        frame = f" frame {result.frame}" if result.frame is not None else ""
        ms = sum(v for k, v in result.speed.items() if k != "read")
        log.info("%d %s%s (%dx%d): %s, %.1f ms", n, result.path, frame, *result.image_shape, result.summary(), ms)
        for k, v in result.speed.items():
            totals[k] = totals.get(k, 0.0) + v
        if writer:
            writer.add(result)
            result.image = None
        if keep:
            result.masks = result.masks if args.mask_format != "none" else None
            results.append(result)
    if writer:
        writer.close()
        log.info("drawings saved to %s", out_dir)
    if totals:
        log.info("speed per image (ms): %s", ", ".join(f"{k} {v / n:.1f}" for k, v in totals.items()))
    if args.save_coco:
        path = _write_coco(results, args, predictor.names)
        log.info("%s written to %s", "dataset" if args.as_dataset else "COCO results", path)
    return 0


def _output_dir(project: Path, name: str, exist_ok: bool) -> Path:
    path = project / name
    k = 2
    while path.exists() and not exist_ok:
        path = project / f"{name}{k}"
        k += 1
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Drawings:
    """Annotated outputs: one image per image, one video per video source."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir, self.videos = out_dir, {}

    def add(self, result: Any) -> None:
        import cv2

        drawn = result.draw()
        name = Path(result.path).name if not result.path.startswith("image") else f"{result.path}.jpg"
        if result.frame is None:
            cv2.imwrite(str(self.out_dir / name), drawn)
            return
        if result.path not in self.videos:
            from cocoseg.engine.sources import video_fps

            h, w = drawn.shape[:2]
            target = str(self.out_dir / (Path(result.path).stem + ".mp4"))
            self.videos[result.path] = cv2.VideoWriter(target, cv2.VideoWriter_fourcc(*"mp4v"), video_fps(result.path), (w, h))
        self.videos[result.path].write(drawn)

    def close(self) -> None:
        for writer in self.videos.values():
            writer.release()


def _write_coco(results: list, args: argparse.Namespace, names: dict[int, str]) -> Path:
    from cocoseg.engine.results import coco_dataset, default_category_ids
    from cocoseg.errors import CocosegError
    from cocoseg.io import write_json

    image_ids, category_ids = _ids(results, args.ann, names) if args.ann else (None, default_category_ids(names))
    image_ids = image_ids or list(range(1, len(results) + 1))
    if args.as_dataset:
        if any(r.frame is not None for r in results):
            raise CocosegError("as_dataset: video frames have no image files to label; extract frames first")
        files = [_relative_name(r.path, args.save_coco) for r in results]
        data = coco_dataset(results, files, image_ids, category_ids, args.mask_format or "polygon")
        from cocoseg.io import CocoDataset

        return CocoDataset.from_dict(data, file=args.save_coco).save(args.save_coco)
    records = [rec for r, i in zip(results, image_ids) for rec in r.to_coco(i, category_ids, args.mask_format or "rle")]
    return write_json(args.save_coco, records)


def _relative_name(image_path: str, dataset_path: str) -> str:
    import os

    return os.path.relpath(Path(image_path).resolve(), Path(dataset_path).resolve().parent).replace(os.sep, "/")


def _ids(results: list, ann: str, names: dict[int, str]) -> tuple[list[int], dict[int, int]]:
    """Image ids by file name and category ids by class name (or label order) from a COCO file."""
    from cocoseg.errors import CocosegError
    from cocoseg.io import CategoryMap, CocoDataset

    gt = CocoDataset.load(ann, validate=False)
    by_name = {Path(img["file_name"]).name: int(img["id"]) for img in gt.images}
    image_ids = []
    for r in results:
        key = Path(r.path).name
        if key not in by_name:
            raise CocosegError(f"{ann}: no image with file_name {key!r} (needed for the results' image_id)")
        image_ids.append(by_name[key])
    cats = {c["name"]: int(c["id"]) for c in gt.categories}
    if all(n in cats for n in names.values()):
        return image_ids, {k: cats[n] for k, n in names.items()}
    cmap = CategoryMap.from_categories(gt.categories)
    if len(cmap) != len(names):
        missing = [n for n in names.values() if n not in cats][:5]
        raise CocosegError(f"{ann}: categories {missing} of the model are not in the file, and the counts differ")
    log.warning("%s: class names differ from the model's; mapping labels to categories by id order", ann)
    return image_ids, {k: cmap.category_id(k) for k in names}
