"""`cocoseg view GT.json --images DIR [--results PRED.json] ...`: the local web viewer."""
from __future__ import annotations

import argparse
import sys
import time

HELP = "open a local web viewer: image grid with filters, errors, dashboard, dataset statistics, training runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg view`."""
    parser.add_argument("gt", help="COCO GT JSON (.json or .json.gz)")
    parser.add_argument("--images", required=True, help="folder holding the images (file_name is relative to it)")
    parser.add_argument("--results", help="detection results JSON (boxes or masks) to evaluate and show")
    parser.add_argument("--iou-type", choices=("bbox", "segm"), help="evaluation type (default: segm for mask results)")
    parser.add_argument("--audit", help="issues JSON of `cocoseg audit` (sort and filter by audit score)")
    parser.add_argument("--ranking", help="ranking JSON of `cocoseg rank` (sort by ranking score)")
    parser.add_argument("--runs", help="training runs folder (results.csv, args.yaml, metrics.json)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    parser.add_argument("--cache", help="thumbnail cache folder (default: a folder under the system temp dir)")
    parser.add_argument("--no-slices", action="store_true", help="skip the challenge-slice evaluations")
    parser.add_argument("--no-tide", action="store_true", help="skip the TIDE AP gains (error labels stay)")


def run(args: argparse.Namespace) -> int:
    """Load, evaluate, serve until interrupted."""
    from cocoseg.view import open_session
    from cocoseg.view.server import ViewServer

    # the background analyses hold the GIL in Python loops; at the default 5 ms switch interval every
    # numpy call of a grid request waits up to 5 ms to get it back (p95 x2 measured at train2017 scale)
    sys.setswitchinterval(0.0005)
    start = time.perf_counter()
    session = open_session(args.gt, args.images, results=args.results, iou_type=args.iou_type, audit=args.audit,
                           ranking=args.ranking, runs=args.runs, cache_dir=args.cache, slices=not args.no_slices,
                           tide=not args.no_tide)
    server = ViewServer(session, port=args.port)
    session.analyses.start()
    print(f"cocoseg view: {session.tables.num_images} images ready in {time.perf_counter() - start:.1f} s; "
          f"analyses continue in the background", file=sys.stderr)
    print(server.url, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
