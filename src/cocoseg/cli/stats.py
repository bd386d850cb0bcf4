"""`cocoseg stats FILE.json`: counts and distributions of a COCO dataset."""
from __future__ import annotations

import argparse
import json

HELP = "print statistics of a COCO dataset (images, annotations, mask kinds, sizes, per category)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg stats`."""
    parser.add_argument("file", help="COCO JSON file (.json or .json.gz)")
    parser.add_argument("--json", action="store_true", help="print the statistics as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Load (validating) and print statistics."""
    from cocoseg.io import CocoDataset

    stats = CocoDataset.load(args.file).stats()
    print(json.dumps(stats.to_dict()) if args.json else stats.format())
    return 0
