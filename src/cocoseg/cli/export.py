"""`cocoseg export model=... format=onnx|openvino imgsz=640 [dynamic=True] [half=True]`."""
from __future__ import annotations

import argparse
import logging

from cocoseg.cli.args import IntList, add_bool, int_values, positive_int

HELP = "export a model to ONNX or OpenVINO (outputs pred and protos, metadata names/stride/imgsz)"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint (.pt, cocoseg or reference) or model name")
    parser.add_argument("--format", default="onnx", choices=["onnx", "openvino"],
                        help="export format: onnx (a .onnx file) or openvino (a folder, model.xml + model.bin; default: onnx)")
    parser.add_argument("--imgsz", type=int_values, action=IntList, nargs="+", default=None,
                        help="input size: S, or H,W (also [H,W] or H W) (default: the checkpoint's training size, else 640)")
    parser.add_argument("--batch", type=positive_int, default=1, help="batch size of a static export (default: 1)")
    add_bool(parser, "dynamic", False, "dynamic batch, height and width")
    add_bool(parser, "half", False, "float16 weights and input (onnx: needs device=cuda; openvino: float16 weights)")
    parser.add_argument("--device", default="cpu", help="device used to trace (default: cpu)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    parser.add_argument("--output", default=None, help="output path (default: beside the checkpoint, .onnx or _openvino/)")


def run(args: argparse.Namespace) -> int:
    from cocoseg.engine.checkpoints import resolve_imgsz, resolve_weights
    from cocoseg.engine.export import export_onnx, export_openvino
    from cocoseg.errors import UsageError

    if args.imgsz is not None and len(args.imgsz) not in (1, 2):
        raise UsageError(f"imgsz: expected S or H W, got {args.imgsz}")
    model = resolve_weights(args.model)
    imgsz = resolve_imgsz(model, args.imgsz)
    if args.format == "openvino":
        path = export_openvino(model, args.output, imgsz=imgsz, batch=args.batch, dynamic=args.dynamic,
                               half=args.half, opset=args.opset)
        size = sum(f.stat().st_size for f in path.iterdir())
    else:
        path = export_onnx(
            model, args.output, imgsz=imgsz, batch=args.batch, dynamic=args.dynamic, half=args.half,
            device=args.device, opset=args.opset,
        )
        size = path.stat().st_size
    log.info("exported %s (%.1f MB); outputs: pred [B, 4+nc+32, A], protos [B, 32, H/4, W/4]", path, size / 1e6)
    return 0
