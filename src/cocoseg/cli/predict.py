"""`cocoseg predict model=... source=...`: instance segmentation of images, folders, globs, lists or videos."""
from __future__ import annotations

import argparse

from cocoseg.cli.args import IntList, add_bool, int_values, positive_int
from cocoseg.thresholds import PREDICT_NMS

HELP = "predict instance masks on images or videos; save drawings, COCO results or a pre-label dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint (.pt, cocoseg or reference), .onnx, or model name")
    parser.add_argument("--source", required=True, nargs="+", help="image, folder, glob, .txt list or video")
    parser.add_argument("--imgsz", type=int_values, action=IntList, nargs="+", default=None,
                        help="input size: S, or H,W (also [H,W] or H W) (default: the checkpoint's training size, else 640)")
    parser.add_argument("--conf", type=float, default=PREDICT_NMS.conf, help=f"score threshold (default: {PREDICT_NMS.conf})")
    parser.add_argument("--iou", type=float, default=PREDICT_NMS.iou, help=f"NMS IoU threshold (default: {PREDICT_NMS.iou})")
    parser.add_argument("--max_det", type=int, default=PREDICT_NMS.max_det,
                        help=f"detections kept per image (default: {PREDICT_NMS.max_det})")
    parser.add_argument("--classes", type=int_values, action=IntList, nargs="+", default=None,
                        help="keep only these class indices: 0,2 (also [0,2] or 0 2)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, N or mps (default: auto)")
    parser.add_argument("--batch", type=positive_int, default=1, help="images per forward pass (default: 1)")
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
    add_bool(parser, "save_txt", False, "write YOLO-seg label files (class + normalized outline) to project/name/labels")
    add_bool(parser, "save_conf", False, "with save_txt: append each detection's score to its line")
    add_bool(parser, "save_crop", False, "write each detection's box region to project/name/crops/CLASS")
    parser.add_argument("--line_width", type=int, default=None, help="drawings: box line width in pixels (default: by image size)")
    add_bool(parser, "show_labels", True, "drawings: class names on the boxes")
    add_bool(parser, "show_conf", True, "drawings: scores after the class names")
    parser.add_argument("--vid_stride", type=int, default=1, help="videos: predict every N-th frame (default: 1)")
    add_bool(parser, "stream", True, "accepted for the reference's habit; cocoseg always streams (constant memory)")
    parser.add_argument("--submission", default=None, metavar="NAME",
                        help="with ann=IMAGE_INFO.json: write detections_test-dev2017_NAME_results.json/.zip for COCO's server")
    add_bool(parser, "resume", False, "with save_coco: skip the images already in the shard files of an interrupted run")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="under torchrun: seconds the ranks wait for each other at the end (default: 1800)")


def run(args: argparse.Namespace) -> int:
    """Predict and write what was asked (see `engine.predict_run.run_prediction`)."""
    from cocoseg.engine.checkpoints import resolve_imgsz, resolve_weights
    from cocoseg.engine.device import set_cpu_threads
    from cocoseg.engine.distributed import DistContext
    from cocoseg.engine.predict_run import PredictOutputs, run_prediction
    from cocoseg.engine.predictor import Predictor

    outputs = PredictOutputs(save=args.save, project=args.project, name=args.name, exist_ok=args.exist_ok,
                             save_coco=args.save_coco, as_dataset=args.as_dataset, ann=args.ann,
                             mask_format=args.mask_format, save_txt=args.save_txt, save_conf=args.save_conf,
                             save_crop=args.save_crop, line_width=args.line_width, show_labels=args.show_labels,
                             show_conf=args.show_conf, submission=args.submission, resume=args.resume, timeout=args.timeout)
    weights = resolve_weights(args.model)
    predictor = Predictor(
        weights, imgsz=resolve_imgsz(weights, args.imgsz), conf=args.conf,
        iou=args.iou, max_det=args.max_det, device=_rank_device(args.device), half=args.half, batch=args.batch,
        retina_masks=args.retina_masks, classes=args.classes, agnostic_nms=args.agnostic_nms,
        multi_label=args.multi_label, rect=args.rect, threads=args.threads, vid_stride=args.vid_stride,
    )
    if predictor.device.type == "cpu":  # process-wide: the CLI's to set, not the library's
        set_cpu_threads(args.threads)
    ctx = DistContext.from_env()
    try:
        run_prediction(predictor, args.source[0] if len(args.source) == 1 else args.source, outputs, ctx)
    finally:  # gloo's threads left running at exit abort the process (SIGABRT instead of the error's exit 1)
        ctx.close()
    return 0


def _rank_device(device: str) -> str:
    """Under torchrun, `auto`/`cuda` means this rank's GPU (LOCAL_RANK), not GPU 0 for every rank."""
    import os

    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and device in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"
    return device
