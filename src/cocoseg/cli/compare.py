"""`cocoseg compare GT A.json B.json [--suite S]`: per-slice and per-class deltas of two models, with intervals."""
from __future__ import annotations

import argparse
import logging

HELP = "compare two models' results on the same GT: per-slice and per-class deltas with bootstrap intervals"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg compare`."""
    parser.add_argument("gt", help="ground truth COCO JSON")
    parser.add_argument("a", help="results JSON of model A (the baseline)")
    parser.add_argument("b", help="results JSON of model B (deltas are B - A)")
    parser.add_argument("--iou_type", "--iou-type", dest="iou_type", choices=("bbox", "segm"), default="bbox",
                        help="boxes or masks (default: bbox)")
    parser.add_argument("--suite", default=None, help="slices from a suite YAML or packaged name (default: all, "
                                                     "small, medium, large, occluded, unoccluded, crowded, uncrowded)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples over images (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--confidence", type=float, default=0.95, help="interval level (default: 0.95)")
    parser.add_argument("--out", default=None, help="write the deltas as JSON")
    parser.add_argument("--plot", default=None, help="write a PNG of the deltas")


def run(args: argparse.Namespace) -> int:
    """Evaluate both, bootstrap, print the tables, write JSON / PNG when asked."""
    from cocoseg.curate.compare import compare
    from cocoseg.curate.suite import BUILTIN, load_suite, parse_slice
    from cocoseg.io import write_json

    specs = load_suite(args.suite) if args.suite else [parse_slice({"name": n, "where": w}, n) for n, w in BUILTIN.items()]
    report = compare(args.gt, args.a, args.b, args.iou_type, specs, resamples=args.resamples, seed=args.seed,
                     confidence=args.confidence)
    print(report.format())
    if args.out:
        log.info("deltas written to %s", write_json(args.out, {"gt": args.gt, "a": args.a, "b": args.b,
                                                               **report.to_dict()}, indent=1))
    if args.plot:
        from cocoseg.curate.compare_plot import write_delta_plot

        log.info("plot written to %s", write_delta_plot(report, args.plot))
    return 0
