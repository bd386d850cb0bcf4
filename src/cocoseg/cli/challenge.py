"""`cocoseg challenge GT.json --slice occluded -o hard.json`: the images where a slice dominates, as COCO."""
from __future__ import annotations

import argparse

HELP = "write the images where a slice (occluded, small, crowded, a suite's slice) dominates as a new COCO dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg challenge`."""
    parser.add_argument("gt", help="COCO dataset to draw from")
    parser.add_argument("--slice", required=True, help="small, medium, large, occluded, unoccluded, crowded, "
                                                      "uncrowded, or a slice name of --suite")
    parser.add_argument("--suite", default=None, help="suite YAML (or packaged name) defining the slice")
    parser.add_argument("-o", "--out", required=True, help="the subset's COCO JSON")
    parser.add_argument("--min_share", type=float, default=0.5,
                        help="least share of an image's objects in the slice (default: 0.5)")
    parser.add_argument("--min_count", type=int, default=1, help="least objects in the slice per image (default: 1)")
    parser.add_argument("--max_images", type=int, default=None, help="keep the most dominated N images")


def run(args: argparse.Namespace) -> int:
    """Select, save atomically, print what was chosen."""
    from cocoseg.curate.challenge import challenge_subset
    from cocoseg.curate.suite import BUILTIN, load_suite, parse_slice
    from cocoseg.errors import CocosegError
    from cocoseg.io import CocoDataset
    from cocoseg.io.paths import check_output_file, refuse_input_overlap

    refuse_input_overlap(check_output_file(args.out, "subset"), [args.gt], "-o/--out")
    specs = {s.name: s for s in load_suite(args.suite)} if args.suite else {}
    if args.slice in specs:
        spec = specs[args.slice]
    elif args.slice in BUILTIN:
        spec = parse_slice({"name": args.slice, "where": BUILTIN[args.slice]}, args.slice)
    else:
        raise CocosegError(f"--slice {args.slice!r}: not a built-in slice ({', '.join(BUILTIN)})"
                           + (f" nor a slice of {args.suite} ({', '.join(specs)})" if args.suite else ""))
    gt = CocoDataset.load(args.gt)
    subset = challenge_subset(gt, spec, min_share=args.min_share, min_count=args.min_count, max_images=args.max_images)
    saved = subset.save(args.out)
    print(f"{args.slice}: {len(subset.images)} of {len(gt.images)} images, {len(subset.annotations)} annotations "
          f"-> {saved}")
    return 0
