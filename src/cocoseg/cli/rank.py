"""`cocoseg rank model=... source=... budget=N`: which unlabeled images to label next, with their pre-labels."""
from __future__ import annotations

import argparse
import csv
import io
import logging
import os
from pathlib import Path
from typing import Any

from cocoseg.cli.args import add_bool, positive_int
from cocoseg.curate.ranking import STRATEGIES

HELP = "rank unlabeled images for labeling (uncertainty, flip consistency, core-set, hybrid) and pre-label the picks"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint (.pt, cocoseg or reference) or model name")
    parser.add_argument("--source", required=True, nargs="+", help="unlabeled images: folder, glob, .txt list or files")
    parser.add_argument("--budget", type=int, required=True, help="how many images to select")
    parser.add_argument("--strategy", choices=STRATEGIES, default="hybrid", help="selection strategy (default: hybrid)")
    parser.add_argument("--aggregate", choices=("max", "mean", "sum"), default="max",
                        help="per-image pooling of per-detection uncertainty (default: max)")
    parser.add_argument("--labeled", default=None,
                        help="already labeled images (COCO JSON, folder, glob or list): k-center starts from them, "
                             "and source images of the same file name are never selected")
    parser.add_argument("--labeled_images", default=None, help="folder of the labeled COCO JSON's images "
                        "(default: its info.images_root, else the JSON's folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random strategy (default: 0)")
    parser.add_argument("--out", default="ranking.json", help="ranking JSON; the CSV goes beside it (default: ranking.json)")
    parser.add_argument("--prelabels", default=None, help="COCO dataset of the selected images' pre-labels "
                        "(default: OUT with _prelabels.json; 'none' to skip)")
    parser.add_argument("--prelabel_conf", type=float, default=0.25, help="score threshold of the pre-labels (default: 0.25)")
    parser.add_argument("--mask_format", choices=("polygon", "rle"), default="polygon", help="pre-label masks (default: polygon)")
    parser.add_argument("--duplicate_cosine", type=float, default=0.98,
                        help="images this similar (cosine of standardised embeddings) are never both selected (default: 0.98)")
    parser.add_argument("--conf", type=float, default=0.05, help="candidate score threshold before NMS (default: 0.05)")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default: 0.7)")
    parser.add_argument("--max_det", type=int, default=100, help="detections kept per image (default: 100)")
    parser.add_argument("--imgsz", type=positive_int, default=640, help="input size (default: 640)")
    parser.add_argument("--batch", type=positive_int, default=16, help="images per forward pass (default: 16)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, N or mps (default: auto)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all idle cores)")
    add_bool(parser, "half", False, "float16 inference on CUDA")
    add_bool(parser, "progress", True, "show a progress bar")


def run(args: argparse.Namespace) -> int:
    from cocoseg.curate.ranking import select
    from cocoseg.engine.predict_sources import resolve_source
    from cocoseg.engine.ranker import Ranker, score_pool
    from cocoseg.errors import CocosegError

    if args.budget < 0:
        raise CocosegError(f"budget: must be >= 0, got {args.budget}")
    paths = [p for p in resolve_source(args.source[0] if len(args.source) == 1 else args.source) if _is_image(p)]
    if not paths:
        raise CocosegError(f"source {' '.join(args.source)}: no images (videos are not ranked)")
    ranker = Ranker(args.model, imgsz=args.imgsz, batch=args.batch, device=args.device, half=args.half,
                    conf=args.conf, iou=args.iou, max_det=args.max_det, flip=args.strategy == "flip",
                    threads=args.threads)
    needs_embeddings = args.strategy != "random"
    labeled_paths = _labeled_paths(args) if args.labeled else []
    pool = score_pool(ranker, paths, args.progress)
    labeled_emb = None
    if labeled_paths and needs_embeddings:
        labeled_pool = score_pool(ranker, labeled_paths, args.progress)
        labeled_emb = labeled_pool.embeddings[[i for i, c in enumerate(labeled_pool.components) if c is not None]]
    readable = [i for i, c in enumerate(pool.components) if c is not None]
    labeled_names = {Path(p).name for p in labeled_paths}
    candidates = [k for k, i in enumerate(readable) if paths[i].name not in labeled_names]
    comps = [pool.components[i] for i in readable]
    embeddings = pool.embeddings[readable] if needs_embeddings else None
    cosine = args.duplicate_cosine if args.duplicate_cosine < 1 else None
    try:
        choice = select(args.strategy, comps, args.budget, embeddings=embeddings, labeled_embeddings=labeled_emb,
                        candidates=candidates, aggregate=args.aggregate, seed=args.seed, duplicate_cosine=cosine)
    finally:
        pool.store.close()
    if len(choice.picks) < min(args.budget, len(candidates)):
        log.warning("selected %d of budget %d: the other candidates are near-duplicates of selected images",
                    len(choice.picks), args.budget)
    rows = _rows(paths, readable, comps, choice, pool.errors)
    out = _write_ranking(Path(args.out), _settings(args, paths), rows)
    log.info("ranking of %d images (%d selected, %d unreadable) written to %s and %s", len(paths),
             len(choice.picks), len(pool.errors), out, out.with_suffix(".csv"))
    if (args.prelabels or "").lower() != "none" and choice.picks:
        target = Path(args.prelabels) if args.prelabels else out.with_name(out.stem + "_prelabels.json")
        selected = [row for row in rows if row["selected"]]
        _write_prelabels(args, [Path(r["path"]) for r in selected], [r["image_id"] for r in selected],
                         _root(paths), target)
        log.info("pre-labels of the %d selected images written to %s", len(selected), target)
    return 0


def _is_image(path: Path) -> bool:
    from cocoseg.engine.predict_sources import IMAGE_SUFFIXES

    return path.suffix.lower() in IMAGE_SUFFIXES


def image_ids(paths: list[Path]) -> list[int]:
    """The numeric file stem (000000005001.png -> 5001) when every stem is a distinct integer, else 1..N."""
    stems = [p.stem for p in paths]
    if all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems):
        return [int(s) for s in stems]
    return list(range(1, len(paths) + 1))


def _root(paths: list[Path]) -> Path:
    """The deepest folder holding every image (file names in the outputs are relative to it)."""
    return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))


def _rows(paths: list[Path], readable: list[int], comps: list[dict], choice: Any, errors: dict[int, str]) -> list[dict]:
    """One row per source image: by rank, the unreadable ones last (score and rank null)."""
    root, ids = _root(paths), image_ids(paths)
    picked = set(choice.picks)
    rows = []
    for k, i in enumerate(readable):
        rows.append({"file": paths[i].resolve().relative_to(root).as_posix(), "image_id": ids[i],
                     "rank": int(choice.ranks[k]), "selected": k in picked, "score": _round(choice.scores[k]),
                     **{name: _round(v) for name, v in comps[k].items()}, "path": str(paths[i])})
    rows.sort(key=lambda r: r["rank"])
    for i, error in sorted(errors.items()):
        rows.append({"file": paths[i].resolve().relative_to(root).as_posix(), "image_id": ids[i], "rank": None,
                     "selected": False, "score": None, "error": error, "path": str(paths[i])})
    return rows


def _round(value: float) -> float:
    return round(float(value), 6)


def _settings(args: argparse.Namespace, paths: list[Path]) -> dict:
    keys = ("model", "budget", "strategy", "aggregate", "labeled", "seed", "duplicate_cosine", "conf", "iou",
            "max_det", "imgsz", "prelabel_conf")
    return {**{k: getattr(args, k) for k in keys}, "source": [str(s) for s in args.source],
            "images_root": str(_root(paths))}


def _write_ranking(out: Path, settings: dict, rows: list[dict]) -> Path:
    """ranking.json ({settings, counts, images}) and ranking.csv (one line per image), each atomically."""
    from cocoseg.io.jsonio import atomic_write, write_json

    public = [{k: v for k, v in r.items() if k != "path"} for r in rows]
    counts = {"images": len(rows), "selected": sum(r["selected"] for r in rows),
              "unreadable": sum("error" in r for r in rows)}
    write_json(out, {"settings": settings, "counts": counts, "images": public}, indent=1)
    columns: list[str] = []
    for r in public:
        columns += [k for k in r if k not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(public)
    atomic_write(out.with_suffix(".csv"), lambda fh: fh.write(text.getvalue()))
    return out


def _labeled_paths(args: argparse.Namespace) -> list[Path]:
    """Image files of the labeled set: a COCO JSON's images (under --labeled_images), or an image source."""
    from cocoseg.engine.predict_sources import resolve_source
    from cocoseg.errors import CocosegError

    labeled = Path(args.labeled)
    if labeled.suffix.lower() != ".json":
        return [p for p in resolve_source(args.labeled) if _is_image(p)]
    from cocoseg.io import CocoDataset

    data = CocoDataset.load(labeled, validate=False)
    info = getattr(data, "info", None) or {}
    root = Path(args.labeled_images or (info.get("images_root") if isinstance(info, dict) else None) or labeled.parent)
    out = []
    for record in data.images:
        path = root / str(record.get("file_name", ""))
        if not path.is_file():
            raise CocosegError(f"{labeled}: image id {record.get('id')}: file_name {record.get('file_name')!r} not "
                               f"found under {root} (set labeled_images=DIR)")
        out.append(path)
    return out


def _write_prelabels(args: argparse.Namespace, paths: list[Path], ids: list[int], root: Path, target: Path) -> None:
    """The selected images' predictions as a COCO dataset (rank order; file names relative to `root`)."""
    from cocoseg.engine.predictor import Predictor
    from cocoseg.io import CocoDataset
    from cocoseg.predictions.image_predictions import coco_dataset, default_category_ids

    predictor = Predictor(args.model, imgsz=args.imgsz, conf=args.prelabel_conf, iou=args.iou, device=args.device,
                          half=args.half, batch=args.batch, threads=args.threads)
    results = predictor([str(p) for p in paths])
    files = [p.resolve().relative_to(root).as_posix() for p in paths]
    data = coco_dataset(results, files, ids, default_category_ids(predictor.names), args.mask_format)
    data["info"] = {"description": "cocoseg rank pre-labels", "images_root": str(root)}
    CocoDataset.from_dict(data, file=str(target)).save(target)
