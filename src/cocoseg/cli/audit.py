"""`cocoseg audit GT.json PREDICTIONS.json --out issues.json`: which labels are probably wrong.

Predictions must come from a model that did not train on these images (another split, or a
cross-validation fold): a model that learnt the labels repeats their mistakes. `model=best.pt
--images DIR` runs a cocoseg model on the GT's images first (needs torch).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cocoseg.cli.args import positive_int
from cocoseg.errors import CocosegError, UsageError

HELP = "audit COCO labels against a model's predictions: overlooked, swapped, badly drawn, duplicate, degenerate"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg audit`."""
    parser.add_argument("gt", help="the COCO dataset to audit")
    parser.add_argument("predictions", nargs="?", default=None,
                        help="COCO results JSON of a model that did NOT train on these images")
    parser.add_argument("--model", default=None, help="instead of PREDICTIONS: run this checkpoint on the images")
    parser.add_argument("--images", default=None, help="folder of the GT's images (file_name is relative to it)")
    parser.add_argument("--out", required=True, help="the review list as JSON (a .csv and a _fixes.json beside it)")
    parser.add_argument("--csv", default=None, help="the review list as CSV (default: OUT with .csv)")
    parser.add_argument("--fixes", default=None, help="COCO file of suggested fixes (default: OUT_fixes.json)")
    parser.add_argument("--geometry", choices=("auto", "mask", "box"), default="auto",
                        help="compare masks or boxes (default: masks when both sides have them)")
    parser.add_argument("--high", type=float, default=0.95, help="confidence of an overlooked / swap prediction (0.95)")
    parser.add_argument("--low", type=float, default=0.5, help="least confidence of a badloc prediction (0.5)")
    parser.add_argument("--imgsz", type=positive_int, default=640, help="with --model: input size (default: 640)")
    parser.add_argument("--device", default="auto", help="with --model: auto, cpu, cuda, ... (default: auto)")
    parser.add_argument("--batch", type=positive_int, default=8, help="with --model: images per forward pass (default: 8)")


def run(args: argparse.Namespace) -> int:
    """Audit, print the top of the review list, write JSON, CSV and the fixes file."""
    if (args.predictions is None) == (args.model is None):
        raise UsageError("give either PREDICTIONS.json or model=CHECKPOINT")
    from cocoseg.curate.audit import audit
    from cocoseg.curate.audit_report import suggested_fixes, write_csv
    from cocoseg.eval.analysis._prepare import load_inputs
    from cocoseg.io import CocoDataset, write_json

    gt = CocoDataset.load(args.gt)
    predictions = args.predictions if args.model is None else _run_model(gt, args)
    gt, dets = load_inputs(gt, predictions, "segm")
    report = audit(gt, dets, geometry=args.geometry, high_probability=args.high, low_probability=args.low)
    out = Path(args.out)
    payload = {"gt": str(args.gt), "predictions": str(args.predictions or args.model), **report.to_dict()}
    write_json(out, payload, indent=1)
    csv_path = write_csv(args.csv or out.with_suffix(".csv"), report)
    fixes_path = suggested_fixes(gt, dets, report).save(args.fixes or out.with_name(out.stem + "_fixes.json"))
    counts: dict[str, int] = {}
    for issue in report.issues:
        counts[issue["type"]] = counts.get(issue["type"], 0) + 1
    print(f"{len(report.issues)} issues in {sum(1 for i in report.images if sum(i['issues'].values()))} of "
          f"{len(report.images)} images ({report.geometry} IoU): "
          + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    for issue in report.issues[:10]:
        what = issue["category"] if issue["type"] != "swap" else f"{issue['category']} -> {issue['suggested_category']}"
        print(f"{issue['rank']:>4}  image {issue['image_id']:<10} {issue['type']:<11} {issue['score']:.3f}  {what}")
    print(f"review list: {out}, {csv_path}; suggested fixes: {fixes_path}")
    return 0


def _run_model(gt: object, args: argparse.Namespace) -> list[dict]:
    """COCO results of `args.model` on the GT's images; unreadable images are reported and skipped."""
    import cv2

    from cocoseg.engine.predictor import Predictor

    if not args.images:
        raise CocosegError("model=: needs --images DIR, the folder the GT's file_name entries are relative to")
    predictor = Predictor(args.model, imgsz=args.imgsz, conf=0.05, device=args.device, batch=args.batch)
    cats = {c["name"]: int(c["id"]) for c in gt.categories}  # type: ignore[attr-defined]
    missing = [n for n in predictor.names.values() if n not in cats]
    if missing:
        raise CocosegError(f"{args.gt}: the model's classes {missing[:5]} are not categories of the dataset")
    category_ids = {k: cats[n] for k, n in predictor.names.items()}
    records: list[dict] = []
    for image in gt.images:  # type: ignore[attr-defined]
        path = Path(args.images) / image["file_name"]
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            log.warning("%s: cannot read image %d; skipped", path, image["id"])
            continue
        for result in predictor.stream([frame]):
            records.extend(result.to_coco(int(image["id"]), category_ids, "rle"))
    log.info("model %s: %d predictions on %d images", args.model, len(records), len(gt.images))  # type: ignore[attr-defined]
    return records
