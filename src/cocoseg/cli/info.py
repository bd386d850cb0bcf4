"""`cocoseg info model=yolov8n-seg imgsz=640 [--json]`: layers, parameters and GFLOPs of a model."""
from __future__ import annotations

import argparse
import json

from cocoseg.cli.args import IntList, add_bool, int_values

HELP = "print a model's layers, parameters and GFLOPs (after Conv+BN fusion)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="yolov8n-seg", help="model name or checkpoint path (default: yolov8n-seg)")
    parser.add_argument("--imgsz", type=int_values, action=IntList, nargs="+", default=[640],
                        help="input size: S, or H,W (also [H,W] or H W) (default: 640)")
    parser.add_argument("--nc", type=int, default=None, help="number of classes for a model name (default: 80)")
    add_bool(parser, "json", False, "print JSON (params, gflops, ...) instead of a table")


def run(args: argparse.Namespace) -> int:
    import torch

    from cocoseg.errors import CocosegError
    from cocoseg.models import build_model, format_info, list_models, load_model, model_info
    from cocoseg.models.zoo import normalize_name

    if len(args.imgsz) not in (1, 2) or any(s <= 0 or s % 32 for s in args.imgsz):
        raise CocosegError(f"imgsz: expected one or two positive multiples of 32, got {args.imgsz}")
    imgsz = (args.imgsz[0], args.imgsz[-1])
    if normalize_name(args.model) in list_models():
        with torch.device("meta"):  # counting needs shapes only
            model = build_model(args.model, num_classes=args.nc or 80)
    else:
        if args.nc is not None:
            raise CocosegError("nc: only applies to a model name; a checkpoint has its own class count")
        model = load_model(args.model)
    info = model_info(model, imgsz)
    print(json.dumps(info.to_dict(), indent=2) if args.json else format_info(info))
    return 0
