"""`cocoseg view`: a local web viewer for datasets, predictions, errors, audit/ranking queues and runs.

    session = open_session("instances_val2017.json", "val2017/", results="detections.json")
    server = ViewServer(session, port=0)      # 127.0.0.1 only; server.url carries the token
    server.serve_forever()

The numbers are the evaluator's (`cocoseg.eval.evaluate`, as `cocoseg eval`), computed once and
kept as numpy arrays (`cocoseg.view.tables`); the grid filters and sorts on them
(`cocoseg.view.query`); the dashboard's analyses (`cocoseg.eval.analysis`) are computed in a
background thread after the grid is up. The page is plain HTML/JS/CSS under `static/`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from cocoseg.view.session import ViewSession

__all__ = ["ViewSession", "open_session"]


def open_session(gt: Any, images_dir: str | Path, *, results: Any = None, iou_type: str | None = None,
                 audit: str | Path | None = None, ranking: str | Path | None = None, runs: str | Path | None = None,
                 cache_dir: str | Path | None = None, slices: bool = True, tide: bool = True) -> ViewSession:
    """Load the GT (a path or CocoDataset), evaluate `results` when given, and build the session.

    iou_type defaults to segm for mask results and bbox otherwise. The analyses are not started
    (call `session.analyses.start()`).
    """
    from cocoseg.errors import CocosegError
    from cocoseg.eval import evaluate
    from cocoseg.eval.analysis._prepare import load_inputs
    from cocoseg.io import CocoDataset

    images = Path(images_dir)
    if not images.is_dir():
        raise CocosegError(f"--images {images_dir}: not a folder")
    if results is None:
        dataset = gt if isinstance(gt, CocoDataset) else CocoDataset.load(gt)
        return ViewSession(dataset, images, audit=audit, ranking=ranking, runs=runs, cache_dir=cache_dir)
    dataset, detections = load_inputs(gt, results, iou_type or "bbox")
    kind = iou_type or ("segm" if detections.kind == "segm" else "bbox")
    if kind not in ("bbox", "segm"):
        raise CocosegError(f"the viewer evaluates bbox or segm, not {kind!r}")
    result = evaluate(dataset, detections, kind)
    return ViewSession(dataset, images, detections=detections, result=result, audit=audit, ranking=ranking,
                       runs=runs, cache_dir=cache_dir, slices=slices, tide=tide)
