"""`cocoseg convert INPUT OUTPUT --to {coco,yolo,voc}`: the format bridge, with a summary of what changed."""
from __future__ import annotations

import argparse

from cocoseg.cli.args import add_bool

HELP = "convert a dataset between COCO JSON, YOLO-seg/-detect and Pascal VOC (detects the input format)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg convert`."""
    parser.add_argument("input", help="COCO JSON, dataset YAML, or a dataset folder (COCO, YOLO, VOC)")
    parser.add_argument("output", help="output folder: new or empty (see exist_ok, overwrite); never the input or "
                                       "a folder holding it; locked while the conversion runs")
    parser.add_argument("--to", required=True, choices=("coco", "yolo", "voc"), help="output format")
    parser.add_argument("--images", default=None, help="image folder of a COCO JSON input (guessed when omitted)")
    parser.add_argument("--task", default="segment", choices=("segment", "detect"),
                        help="YOLO output: polygon lines (segment) or box lines (detect)")
    parser.add_argument("--splits", default=None, help="comma-separated splits to convert (default: all)")
    parser.add_argument("--crowd", default="auto", choices=("auto", "sidecar", "lines"),
                        help="YOLO output: crowd annotations to the sidecar only, or also as lines; auto: sidecar "
                             "unless every annotation of a split is a crowd one (as CVAT exports mark RLE masks)")
    add_bool(parser, "split_parts", False, "YOLO output: one line per part of a multi-part object instead of "
                                           "one bridged polygon per object")
    add_bool(parser, "copy_images", False, "copy images into the output instead of symlinking them")
    add_bool(parser, "link", True, "symlink images into the output; link=False with copy_images=False writes "
                                   "annotations only (COCO output then points at the original images)")
    add_bool(parser, "exist_ok", False, "write into a non-empty output folder: files of the same name are replaced, "
                                        "all others are kept (a non-empty folder is refused without this or overwrite)", "--exist-ok")
    add_bool(parser, "overwrite", False, "make a used output folder exactly this run's output: afterwards remove every "
                                         "file this run did not write (stale labels of an earlier conversion); only "
                                         "in a folder holding a dataset (data.yaml or VOC cocoseg.json)")
    add_bool(parser, "strict", True, "stop at malformed label lines, listing each with file and line "
                                     "(False: drop and count them)")


def run(args: argparse.Namespace) -> int:
    """Detect the input, convert, print the summary."""
    from tqdm import tqdm

    from cocoseg.convert import convert, open_input

    spec = open_input(args.input, args.images)
    print(f"input: {spec.format} ({args.input})", flush=True)
    image_mode = "copy" if args.copy_images else ("link" if args.link else "none")
    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else None

    def progress(items, total, desc):
        return tqdm(items, total=total, desc=desc, unit="img", disable=None if total >= 200 else True,
                    leave=False, dynamic_ncols=True)

    report = convert(spec, args.output, args.to, task=args.task, split_parts=args.split_parts,
                     image_mode=image_mode, strict=args.strict, splits=splits, crowd=args.crowd,
                     progress=progress, exist_ok=args.exist_ok, overwrite=args.overwrite)
    print(report)
    return 0
