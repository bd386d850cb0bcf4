"""`cocoseg eval GT.json RESULTS.json`: COCO metrics equal to pycocotools', the per-class table, JSON out."""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from cocoseg.cli.args import add_bool
from cocoseg.errors import CocosegError

HELP = "evaluate detection results against COCO ground truth (bbox, segm, keypoints; pycocotools-exact)"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg eval`."""
    parser.add_argument("gt", help="ground truth COCO JSON (instances or person keypoints)")
    parser.add_argument("results", help="detection results JSON: a list of {image_id, category_id, score, bbox | "
                                        "segmentation | keypoints}")
    parser.add_argument("--iou_type", "--iou-type", dest="iou_type", choices=("bbox", "segm", "keypoints"), default="bbox",
                        help="what to compare: boxes, masks or keypoints (OKS) (default: bbox)")
    parser.add_argument("--out", default=None, help="write the metrics as JSON to this file")
    add_bool(parser, "per_class", True, "print the per-class AP/AR table after the summary", "--per-class")
    parser.add_argument("--plots", default=None, metavar="DIR", help="write PR, F1 and confusion-matrix plots (PNG) here")
    parser.add_argument("--max_dets", "--max-dets", dest="max_dets", default=None,
                        help="detections per image, comma-separated (default 1,10,100; 20 for keypoints)")
    add_bool(parser, "use_cats", True, "match detections to GT of their own category only", "--use-cats")
    add_bool(parser, "pycocotools_compat", False,
             "choose the summary lines exactly as pycocotools does (its hard-coded maxDets)", "--pycocotools-compat")
    add_bool(parser, "analysis", False, "after the summary: F1 vs confidence, confusion matrix, TIDE errors, slices")
    parser.add_argument("--confidence", type=float, default=None,
                        help="score cut of the confusion matrix (default: the best-F1 threshold)")
    parser.add_argument("--analysis_iou", type=float, default=0.5,
                        help="IoU threshold of the F1 curve, confusion matrix and TIDE foreground (default: 0.5)")
    add_bool(parser, "tide", True, "with --analysis: the TIDE-style error breakdown (re-runs the evaluation per error)")
    add_bool(parser, "slices", True, "with --analysis: AP of the challenge slices (sizes, occluded, crowded)")
    parser.add_argument("--occlusion_iou", type=float, default=0.3,
                        help="a GT is occluded when its box IoU with another GT exceeds this (default: 0.3)")
    parser.add_argument("--crowded_min", type=int, default=10,
                        help="an image is crowded with at least this many instances (default: 10)")
    parser.add_argument("--suite", default=None, help="challenge suite YAML (or a packaged name: coco_failures): "
                                                     "print its slices, exit 1 when one is below its minimum")


def _max_dets(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in str(text).replace(" ", "").split(",") if v]
    except ValueError:
        raise CocosegError(f"--max_dets must be comma-separated integers such as 1,10,100, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the summary (and per-class table), write JSON and plots when asked."""
    from cocoseg.eval import Evaluator
    from cocoseg.io import write_json
    from cocoseg.io.results import load_results

    _check_outputs(args)  # before a long evaluation, not after it
    start = time.perf_counter()
    # The GT file is read as evaluation columns; `ev.gt` (its CocoDataset) is loaded only for the analysis
    # or a suite. The results are loaded once: the analysis re-uses them.
    ev = Evaluator(args.gt, args.iou_type, max_dets=_max_dets(args.max_dets), use_cats=args.use_cats)
    results = load_results(args.results, ev.image_sizes)
    ev.add_results(results)
    result = ev.compute(pycocotools_compat=args.pycocotools_compat)
    log.info("evaluated %d images, %d detections in %.2f s", len(result.state.image_ids), result.state.num_dt,
             time.perf_counter() - start)
    for note in result.notes:
        log.warning("note: %s", note)
    print(result.summary())
    if args.per_class:
        print()
        print(result.per_class_table())
    analysis = None
    if args.analysis or args.plots:
        from cocoseg.eval import analyze

        analysis = analyze(ev.gt, results, args.iou_type, result=result, iou_threshold=args.analysis_iou,
                           confidence=args.confidence, errors=args.analysis and args.tide,
                           slices=args.analysis and args.slices, occlusion_threshold=args.occlusion_iou,
                           crowded_min=args.crowded_min)
        if args.analysis:
            print()
            print(analysis.format())
    if args.out:
        payload = {"gt": str(args.gt), "results": str(args.results), **result.to_dict(),
                   "summary": result.summary().splitlines()}
        if analysis is not None:
            payload["analysis"] = analysis.to_dict(include_evaluation=False)
        log.info("metrics written to %s", write_json(args.out, payload, indent=1))
    if args.plots:
        _write_plots(analysis, Path(args.plots))
    if args.suite:
        from cocoseg.curate.suite_run import gate

        return gate(ev.gt, results, args.iou_type, args.suite)
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """One line naming --out or --plots when a file stands where a folder must be (or --out is a folder)."""
    from cocoseg.io.paths import check_output_file, check_output_folder, refuse_input_overlap

    if args.out:
        refuse_input_overlap(check_output_file(args.out, "--out metrics JSON"), [args.gt, args.results], "--out")
    if args.plots:
        check_output_folder(args.plots, "--plots folder")


def _write_plots(result: object, folder: Path) -> None:
    try:
        from cocoseg.viz.eval_plots import write_plots
    except ModuleNotFoundError as exc:
        if exc.name in ("cocoseg.viz.eval_plots", "matplotlib"):
            raise CocosegError(f"--plots needs {exc.name}, which is not available in this installation") from None
        raise
    written = write_plots(result, folder)
    log.info("plots written to %s", folder if written is None else ", ".join(map(str, written)))
