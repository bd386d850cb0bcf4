"""`cocoseg val model=... data=...`: box and mask COCO mAP of a model on a dataset split."""
from __future__ import annotations

import argparse
import json

from cocoseg.cli.args import add_bool, positive_int
from cocoseg.thresholds import VAL_NMS

HELP = "evaluate a model on a dataset YAML split with the COCO-exact evaluator (box and mask mAP)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg val`."""
    parser.add_argument("--model", required=True, help="checkpoint (.pt) or model name")
    parser.add_argument("--data", required=True, help="dataset YAML")
    parser.add_argument("--split", default="val", help="split to evaluate (default: val)")
    parser.add_argument("--imgsz", type=positive_int, default=None,
                        help="input size (default: the size the checkpoint was trained at, else 640)")
    parser.add_argument("--batch", type=positive_int, default=16, help="batch size (default: 16)")
    parser.add_argument("--workers", type=int, default=2, help="data loading processes (default: 2)")
    parser.add_argument("--conf", type=float, default=VAL_NMS.conf, help=f"confidence threshold (default: {VAL_NMS.conf})")
    parser.add_argument("--iou", type=float, default=VAL_NMS.iou, help=f"NMS IoU threshold (default: {VAL_NMS.iou})")
    parser.add_argument("--max_det", type=int, default=VAL_NMS.max_det,
                        help=f"detections kept per image (default: {VAL_NMS.max_det})")
    parser.add_argument("--device", default="", help="cpu, cuda, cuda:N, N (default: auto)")
    add_bool(parser, "rect", False, "rectangular batches as `yolo val` (ordered by aspect ratio, padded by rect_pad)")
    parser.add_argument("--rect_pad", type=float, default=0.5, help="rect padding in strides (default: 0.5)")
    parser.add_argument("--save_json", default=None, metavar="PATH|BOOL",
                        help="also write the predictions as a COCO results file (for `cocoseg eval`); "
                             "True: predictions.json in the run folder project/name")
    parser.add_argument("--project", default="runs/segment", help="parent of the run folder (default: runs/segment)")
    parser.add_argument("--name", default="val", help="run folder name; val2, val3... when taken (default: val)")


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the four mAPs as one JSON line."""
    from cocoseg.engine.validator import ValOptions, validate_model

    options = ValOptions(split=args.split, imgsz=args.imgsz, batch=args.batch, workers=args.workers, conf=args.conf,
                         iou=args.iou, max_det=args.max_det, device=args.device, save_json=args.save_json,
                         project=args.project, name=args.name, rect=args.rect, rect_pad=args.rect_pad)
    metrics = validate_model(args.model, args.data, options)
    print(json.dumps({**metrics.as_dict(), "fitness": metrics.fitness}))
    return 0
