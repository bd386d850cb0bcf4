"""`cocoseg synth OUT`: write the built-in synthetic COCO dataset (train/val, data.yaml)."""
from __future__ import annotations

import argparse
import re
from typing import Callable

HELP = "write a deterministic synthetic COCO dataset (shapes, crowds, people with keypoints) for demos and tests"


def _size(text: str) -> tuple[int, int]:
    """'WxH' or 'N' (square) -> (width, height)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX,]\s*(\d+)\s*)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT (e.g. 256x192) or one number, got {text!r}")
    width = int(match.group(1))
    return width, int(match.group(2) or width)


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value
    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg synth`."""
    parser.add_argument("out", metavar="OUT", help="output folder (images/, annotations/, data.yaml)")
    parser.add_argument("--images", type=_int_at_least(1), default=200, help="number of images, train + val (default: 200)")
    parser.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed; same arguments, same files (default: 0)")
    parser.add_argument("--size", type=_size, default=(256, 256), metavar="WxH",
                        help="image size in pixels, e.g. 256x256 or 320x240 (default: 256x256)")
    parser.add_argument("--val_fraction", type=_fraction, default=0.2,
                        help="share of the images in the val split, spread evenly (default: 0.2)")
    parser.add_argument("--min_objects", type=int, default=3, help="fewest objects drawn per image (default: 3)")
    parser.add_argument("--max_objects", type=int, default=7, help="most objects drawn per image (default: 7)")
    parser.add_argument("--crowd_probability", type=_fraction, default=0.2,
                        help="chance that an image holds a crowd region (iscrowd=1) (default: 0.2)")


def run(args: argparse.Namespace) -> int:
    """Generate the dataset and print where it went."""
    from cocoseg.synth import generate

    width, height = args.size
    result = generate(args.out, num_images=args.images, seed=args.seed, size=(width, height),
                      val_fraction=args.val_fraction, min_objects=args.min_objects,
                      max_objects=args.max_objects, crowd_probability=args.crowd_probability)
    for split in result.splits.values():
        print(f"{split.name}: {split.num_images} images, {split.num_annotations} annotations -> {split.annotations}")
    print(f"dataset YAML: {result.data_yaml} ({len(result.names)} classes: {', '.join(result.names.values())})")
    return 0
