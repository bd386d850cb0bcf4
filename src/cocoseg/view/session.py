"""One viewer session: the dataset, its evaluation, the arrays and analyses, and the JSON each page reads."""
from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.eval.analysis import ERROR_TYPES
from cocoseg.io import CocoDataset
from cocoseg.view import images as imagefiles
from cocoseg.view.analyses import Analyses
from cocoseg.view.inputs import find_runs, read_image_scores, read_run
from cocoseg.view.query import Query, run_query
from cocoseg.view.tables import Tables, build_tables

log = logging.getLogger(__name__)
PAGE_MAX = 500


class ViewSession:
    """What the server shows; every figure comes from `tables` (numpy) or `analyses`."""

    def __init__(self, gt: CocoDataset, images_dir: str | Path, *, detections: Any = None, result: Any = None,
                 audit: str | Path | None = None, ranking: str | Path | None = None, runs: str | Path | None = None,
                 cache_dir: str | Path | None = None, slices: bool = True, tide: bool = True) -> None:
        self.gt, self.detections, self.result = gt, detections, result
        self.images_dir = Path(images_dir)
        self.tables: Tables = build_tables(gt, result)
        self.names = {c["id"]: str(c.get("name", c["id"])) for c in gt.categories}
        file_to_id = {str(im.get("file_name", "")): im["id"] for im in gt.images}
        for path, attr in ((audit, "audit_score"), (ranking, "rank_score")):
            if path is not None:
                setattr(self.tables, attr, self._scores(read_image_scores(path, file_to_id)))
        self.runs_dir = None if runs is None else Path(runs)
        self.run_folders = [] if runs is None else find_runs(runs)
        self.analyses = Analyses(gt, detections, result, self.tables, slices=slices, tide=tide)
        self.cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "cocoseg-view" / self._cache_key()
        self._last: tuple[Query, np.ndarray, dict[str, np.ndarray]] | None = None
        self._lock = threading.Lock()

    def _scores(self, by_id: Mapping[int, float]) -> np.ndarray:
        out = np.full(self.tables.num_images, np.nan)
        pos = self.tables.positions(list(by_id))
        values = np.fromiter(by_id.values(), dtype=np.float64, count=len(by_id))
        out[pos[pos >= 0]] = values[pos >= 0]
        return out

    def _cache_key(self) -> str:
        parts = [str(self.images_dir.resolve()), str(self.gt.source), str(len(self.gt.annotations))]
        if self.detections is not None:
            parts += [str(self.detections.source), str(len(self.detections))]
        return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]

    # ---- grid -------------------------------------------------------------------------------------
    def query(self, q: Query) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Sorted image positions and figures of a query (the last one is reused for paging)."""
        with self._lock:
            if self._last is not None and self._last[0] == q:
                return self._last[1], self._last[2]
        rows, figures = run_query(self.tables, q, self.analyses.errors_at)
        with self._lock:
            self._last = (q, rows, figures)
        return rows, figures

    def page(self, q: Query, offset: int, limit: int) -> dict[str, Any]:
        """One page of grid rows."""
        rows, figures = self.query(q)
        limit = max(1, min(limit, PAGE_MAX))
        shown = rows[offset:offset + limit]
        return {"total": int(len(rows)), "offset": offset, "rows": [self._row(int(p), figures) for p in shown.tolist()]}

    def _row(self, p: int, figures: dict[str, np.ndarray]) -> dict[str, Any]:
        im = self.gt.images[p]
        out = {"id": int(self.tables.image_ids[p]), "file": str(im.get("file_name", "")),
               "width": int(self.tables.width[p]), "height": int(self.tables.height[p])}
        for key in ("tp", "fp", "fn", "objects"):
            out[key] = int(figures[key][p])
        for key in ("ap", "f1", "audit", "rank"):
            value = float(figures[key][p])
            out[key] = None if np.isnan(value) else round(value, 4)
        return out

    def neighbor(self, q: Query, image_id: int, step: int) -> int | None:
        """The image `step` places from `image_id` in the query's order (None past either end)."""
        rows, _ = self.query(q)
        pos = self.tables.positions([image_id])[0]
        at = np.flatnonzero(rows == pos)
        if len(at) == 0:
            return int(self.tables.image_ids[rows[0]]) if len(rows) else None
        j = int(at[0]) + step
        return int(self.tables.image_ids[rows[j]]) if 0 <= j < len(rows) else None

    # ---- one image --------------------------------------------------------------------------------
    def image_position(self, image_id: int) -> int | None:
        """Dataset position of an image id, None when unknown."""
        pos = int(self.tables.positions([image_id])[0])
        return None if pos < 0 else pos

    def image_file(self, image_id: int) -> Path | None:
        """The image's file, only when it lies inside the images folder."""
        pos = self.image_position(image_id)
        if pos is None:
            return None
        return imagefiles.safe_path(self.images_dir, str(self.gt.images[pos].get("file_name", "")))

    def image_record(self, image_id: int, iou: float) -> dict[str, Any] | None:
        """The image with its annotations and detections (geometry, outcome at `iou`, the full records)."""
        pos = self.image_position(image_id)
        if pos is None:
            return None
        t = self.tables.threshold_index(iou)
        labels = self.analyses.errors_at(t) if self.tables.dets is not None else None
        gt_rows = self._gt_rows(pos)
        gts = [self._gt_item(int(g), t, labels) for g in gt_rows.tolist()]
        dets = [self._det_item(int(r), t, labels) for r in self._det_rows(pos).tolist()]
        return {"image": self.gt.images[pos], "gt": gts, "dets": dets,
                "iou": float(self.tables.iou_thresholds[t]) if len(self.tables.iou_thresholds) else None,
                "errors_ready": labels is not None}

    def _gt_rows(self, pos: int) -> np.ndarray:
        return self.gt.index.by_image.get(int(self.tables.image_ids[pos]), np.zeros(0, np.int64))

    def _det_rows(self, pos: int) -> np.ndarray:
        d = self.tables.dets
        return np.zeros(0, np.int64) if d is None else np.flatnonzero(d.image == pos)

    def _gt_item(self, g: int, t: int, labels: Any) -> dict[str, Any]:
        ann = self.gt.annotations[g]
        record = {k: v for k, v in ann.items() if k != "segmentation"}
        occ = None if self.tables.occlusion is None else self.tables.occlusion[g]
        return {"row": g, "id": ann.get("id"), "category_id": ann["category_id"], "name": self.names.get(ann["category_id"]),
                "bbox": ann.get("bbox"), "iscrowd": bool(self.tables.gt_crowd[g]), "seg": _geometry(ann.get("segmentation")),
                "fn": None if self.tables.gt_fn is None else bool(self.tables.gt_fn[t, g]),
                "miss": None if labels is None else bool(labels[1][g]),
                "occlusion": None if occ is None or np.isnan(occ) else round(float(occ), 3), "record": record}

    def _det_item(self, r: int, t: int, labels: Any) -> dict[str, Any]:
        d, det = self.tables.dets, self.detections
        i = int(d.index[r])
        outcome = "tp" if d.tp[t, r] else "fp" if d.fp[t, r] else "ignored"
        state_row = int(d.gt_row[t, r])
        match = -1 if state_row < 0 else int(self.tables.state_gt[state_row])
        seg = _geometry(det.segmentation(i)) if det.kind == "segm" else None
        error = None if labels is None or labels[0][r] < 0 else ERROR_TYPES[int(labels[0][r])]
        record = {"image_id": int(det.image_ids[i]), "category_id": int(det.category_ids[i]),
                  "score": float(det.scores[i]), "bbox": [round(float(v), 2) for v in det.boxes_xywh[i]],
                  "area": float(det.areas[i]), "result_index": i}
        return {"row": r, "category_id": int(d.category[r]), "name": self.names.get(int(d.category[r])),
                "score": float(d.score[r]), "bbox": record["bbox"], "seg": seg, "outcome": outcome, "error": error,
                "match": None if match < 0 else self.gt.annotations[match].get("id"), "record": record}

    def thumbnail(self, image_id: int, iou: float, score_min: float, cats: tuple[int, ...] = ()) -> bytes | None:
        """JPEG thumbnail (cached on disk per image, IoU threshold, score cut and categories); None without a file.

        With `cats`, only those categories' detections and missed GT are outlined (all GT masks stay).
        """
        path = self.image_file(image_id)
        if path is None:
            return None
        t = self.tables.threshold_index(iou)
        cut = round(max(0.0, min(1.0, score_min)), 2)
        cached = self.cache_dir / f"{image_id}_{t}_{int(cut * 100)}_{'-'.join(map(str, sorted(cats)))}.jpg"
        if cached.is_file():
            return cached.read_bytes()
        pos = self.image_position(image_id)
        width, height = int(self.tables.width[pos]), int(self.tables.height[pos])
        decoded = imagefiles.read_scaled(path, width, height, imagefiles.THUMB_SIDE)
        if decoded is None:
            return None
        width, height = (width, height) if width and height else (decoded.shape[1], decoded.shape[0])
        rows = self._gt_rows(pos).tolist()
        gt = [self.gt.annotations[g] for g in rows]
        missed = [self.tables.gt_fn is not None and bool(self.tables.gt_fn[t, g])
                  and (not cats or int(self.tables.gt_category[g]) in cats) for g in rows]
        boxes = self._thumb_boxes(pos, t, cut, cats)
        thumb = imagefiles.render_thumbnail(decoded, width, height, gt, boxes, missed)
        data = imagefiles.encode_jpeg(thumb)
        imagefiles.write_atomic(cached, data)
        return data

    def _thumb_boxes(self, pos: int, t: int, cut: float, cats: tuple[int, ...]) -> list[tuple[Any, tuple]]:
        d = self.tables.dets
        if d is None:
            return []
        out = []
        for r in self._det_rows(pos).tolist():
            if d.score[r] >= cut and (not cats or int(d.category[r]) in cats):
                colour = imagefiles.TP_BGR if d.tp[t, r] else imagefiles.FP_BGR if d.fp[t, r] else imagefiles.IGNORED_BGR
                out.append((self.detections.boxes_xywh[int(d.index[r])], colour))
        return out

    # ---- other pages ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What the page needs first: dataset, categories, thresholds, what is loaded and ready."""
        counts = np.bincount(np.searchsorted(sorted(self.names), self.tables.gt_category), minlength=len(self.names))
        cats = [{"id": c, "name": self.names[c], "count": int(n)} for c, n in zip(sorted(self.names), counts.tolist())]
        return {"source": str(self.gt.source), "images": self.tables.num_images, "annotations": len(self.gt.annotations),
                "detections": None if self.tables.dets is None else int(len(self.tables.dets.score)),
                "iou_type": None if self.result is None else self.result.params.iou_type,
                "iou_thresholds": [round(float(t), 2) for t in self.tables.iou_thresholds], "categories": cats,
                "audit": self.tables.audit_score is not None, "ranking": self.tables.rank_score is not None,
                "runs": len(self.run_folders), "analyses": dict(self.analyses.status), "error_types": list(ERROR_TYPES)}

    def dataset_page(self) -> dict[str, Any]:
        """Statistics and distributions of the dataset (`cocoseg stats --plots` draws the same)."""
        from cocoseg.viz.dataset_plots import dataset_distributions

        return {"stats": self.gt.stats().to_dict(), "distributions": dataset_distributions(self.gt)}

    def runs_page(self) -> dict[str, Any]:
        """Every run under --runs with its curves, args and final metrics."""
        root = self.runs_dir
        return {"runs": [read_run(folder, root) for folder in self.run_folders] if root else []}


def _geometry(segmentation: Any) -> dict[str, Any] | None:
    """Polygons as they are; RLE as uncompressed column-major runs (what the page draws)."""
    if not segmentation:
        return None
    if isinstance(segmentation, list):
        return {"polygons": segmentation}
    rle = masks.decompress(segmentation) if not isinstance(segmentation.get("counts"), list) else segmentation
    return {"rle": {"size": [int(v) for v in rle["size"]], "counts": [int(v) for v in rle["counts"]]}}
