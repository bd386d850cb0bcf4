"""`cocoseg merge A.json B.json [C.json ...] -o out.json`: one COCO dataset from several."""
from __future__ import annotations

import argparse

HELP = "merge COCO datasets (categories matched by name, clashing image/annotation ids renumbered)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg merge`."""
    parser.add_argument("inputs", nargs="+", help="two or more COCO JSON files, merged in this order")
    parser.add_argument("-o", "--out", required=True, help="the merged COCO JSON")


def run(args: argparse.Namespace) -> int:
    """Merge left to right with CocoDataset.merge and save atomically."""
    from cocoseg.errors import UsageError
    from cocoseg.io import CocoDataset
    from cocoseg.io.paths import check_output_file, refuse_input_overlap

    if len(args.inputs) < 2:
        raise UsageError("merge needs at least two datasets")
    refuse_input_overlap(check_output_file(args.out, "merged dataset"), args.inputs, "-o/--out")
    merged = CocoDataset.load(args.inputs[0])
    for path in args.inputs[1:]:
        merged = merged.merge(CocoDataset.load(path))
    saved = merged.save(args.out)
    print(f"{len(merged.images)} images, {len(merged.annotations)} annotations, {len(merged.categories)} categories "
          f"-> {saved}")
    return 0
