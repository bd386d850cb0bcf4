"""`cocoseg stats FILE.json [--plots DIR]`: counts and distributions of a COCO dataset."""
from __future__ import annotations

import argparse
import json

HELP = "print statistics of a COCO dataset (images, annotations, mask kinds, sizes, per category)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg stats`."""
    parser.add_argument("file", help="COCO JSON file (.json or .json.gz)")
    parser.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    parser.add_argument("--plots", metavar="DIR", help="also write PNG plots (class histogram, box and mask areas "
                        "with COCO's size bins, objects per image, aspect ratios, crowd regions) to DIR")


def run(args: argparse.Namespace) -> int:
    """Load (validating) and print statistics; draw the plots when asked."""
    from cocoseg.io import CocoDataset

    ds = CocoDataset.load(args.file)
    stats = ds.stats()
    print(json.dumps(stats.to_dict()) if args.json else stats.format())
    if args.plots:
        from cocoseg.viz.dataset_plots import write_dataset_plots

        written = write_dataset_plots(ds, args.plots)
        if not args.json:
            print(f"plots: {', '.join(str(p) for p in written)}")
    return 0
