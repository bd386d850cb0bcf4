"""The dashboard's analyses, computed in a background thread after start-up so the grid is up first.

Every figure is `cocoseg.eval.analysis`'s: PR curves, F1 against confidence, the confusion matrix
(at IoU 0.5 and the best-F1 confidence, as `cocoseg eval --analyze`), the TIDE error labels and
their AP gains, the challenge slices and the occlusion of every annotation. A confusion cell's
images are found by running `confusion_from_instances` on each candidate image alone.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from typing import Any

import numpy as np

from cocoseg.eval.analysis import (
    confusion_from_instances,
    error_breakdown_from_result,
    evaluate_slices,
    f1_curve,
    matches_from_result,
    occlusion_iou,
    pr_curves,
)
from cocoseg.eval.analysis._prepare import instances_from_result
from cocoseg.eval.analysis.errors import classify_errors
from cocoseg.io import CocoDataset
from cocoseg.view.tables import Tables, add_image_ap

log = logging.getLogger(__name__)
CONFUSION_IOU = 0.5
MAX_CELL_CANDIDATES = 20000  # images checked per confusion cell click


class Analyses:
    """Lazily and concurrently computed analyses of one evaluation; `status` says what is ready."""

    def __init__(self, gt: CocoDataset, detections: Any, result: Any, tables: Tables, *, slices: bool = True,
                 tide: bool = True) -> None:
        self.gt, self.detections, self.result, self.tables = gt, detections, result, tables
        self.names = {c["id"]: str(c.get("name", c["id"])) for c in gt.categories}
        self.want = {"slices": slices and result is not None, "tide": tide and result is not None}
        self.status: dict[str, str] = {}
        self.seconds: dict[str, float] = {}  # how long each analysis took
        self.parts: dict[str, Any] = {}
        self._labels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._cells: dict[tuple[int, int], list[int]] = {}
        self._lock = threading.Lock()
        self.instances: Any = None
        self.done = threading.Event()

    def start(self) -> threading.Thread:
        """Run every analysis in a daemon thread (one after another, cheapest first)."""
        thread = threading.Thread(target=self.run_all, name="cocoseg-view-analyses", daemon=True)
        thread.start()
        return thread

    def run_all(self) -> None:
        """Compute the analyses in order; a failing one is reported in `status` and skipped."""
        steps = [] if self.result is None else [("image_ap", lambda: add_image_ap(self.tables))]
        steps.append(("occlusion", self._occlusion))
        if self.result is not None:
            steps += [("curves", self._curves), ("errors", self._errors), ("confusion", self._confusion)]
            steps += [(name, getattr(self, "_" + name)) for name in ("slices", "tide") if self.want[name]]
        for name, _ in steps:
            self.status[name] = "pending"
        for name, step in steps:
            start = time.perf_counter()
            try:
                step()
                self.status[name] = "ready"
                self.seconds[name] = round(time.perf_counter() - start, 2)
            except Exception as exc:  # noqa: BLE001 - one analysis failing must not stop the viewer
                log.warning("view: %s analysis failed: %s", name, exc)
                self.status[name] = f"failed: {exc}"
        self.done.set()

    def _occlusion(self) -> None:
        self.tables.occlusion = occlusion_iou(self.gt, "box")

    def _curves(self) -> None:
        matches = matches_from_result(self.result, CONFUSION_IOU)
        self.parts["pr"] = pr_curves(self.result, self.names)
        self.parts["f1"] = f1_curve(matches, self.names)

    def _errors(self) -> None:
        self.instances = instances_from_result(self.gt, self.detections, self.result)
        self.errors_at(self.tables.threshold_index(CONFUSION_IOU))

    def _confusion(self) -> None:
        best = self.parts["f1"].best_confidence
        self.parts["confidence"] = 0.0 if math.isnan(best) else float(best)
        self.parts["confusion"] = confusion_from_instances(self.instances, self._matches(), self.parts["confidence"])

    def _slices(self) -> None:
        self.parts["slices"] = evaluate_slices(self.gt, self.detections, self.result.params.iou_type)

    def _tide(self) -> None:
        self.parts["tide"] = error_breakdown_from_result(self.gt, self.detections, self.result)

    def _matches(self, t: int | None = None) -> Any:
        iou = CONFUSION_IOU if t is None else float(self.tables.iou_thresholds[t])
        return matches_from_result(self.result, iou)

    def errors_at(self, t: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(D,) TIDE error code per detection row and (G,) missed annotations, at threshold index t.

        TIDE's foreground threshold is the chosen IoU; None until the instances are ready.
        """
        if self.instances is None:
            return None
        with self._lock:
            if t not in self._labels:
                labels = classify_errors(self.instances, self._matches(t))
                missed = np.zeros(len(self.tables.gt_area), dtype=bool)
                missed[self.instances.gt_index[labels.gt_missed]] = True
                self._labels[t] = (labels.det_error, missed)
            return self._labels[t]

    def confusion_images(self, true_id: int | None, pred_id: int | None) -> list[int] | None:
        """Image ids contributing to cell [true, predicted] (None = background); None until ready."""
        if "confusion" not in self.parts:
            return None
        key = (-1 if true_id is None else true_id, -1 if pred_id is None else pred_id)
        with self._lock:
            if key not in self._cells:
                self._cells[key] = self._cell_images(true_id, pred_id)
            return self._cells[key]

    def _cell_images(self, true_id: int | None, pred_id: int | None) -> list[int]:
        inst, matches, cm = self.instances, self._matches(), self.parts["confusion"]
        labels = list(cm.category_ids)
        row = len(labels) if true_id is None else labels.index(true_id)
        col = len(labels) if pred_id is None else labels.index(pred_id)
        candidates = np.ones(len(inst.image_ids), dtype=bool)
        if true_id is not None:
            candidates &= _per_image(inst.gt_image, inst.image_ids, (inst.gt_category == true_id) & ~inst.gt_ignore)
        if pred_id is not None:
            candidates &= _per_image(inst.dt_image, inst.image_ids, (inst.dt_category == pred_id)
                                     & (inst.dt_score >= cm.confidence))
        out = []
        for i in np.flatnonzero(candidates)[:MAX_CELL_CANDIDATES].tolist():
            one = confusion_from_instances(*_one_image(inst, matches, i), cm.confidence)
            if one.matrix[row, col] > 0:
                out.append(int(inst.image_ids[i]))
        return out

    def dashboard(self) -> dict[str, Any]:
        """JSON-ready dashboard: summary, per-class table and whatever analyses are ready."""
        if self.result is None:
            return {"status": self.status, "evaluation": None}
        out: dict[str, Any] = {"status": dict(self.status), "evaluation": self.result.to_dict(),
                               "summary": self.result.summary()}
        if "pr" in self.parts:
            pr = self.parts["pr"]
            shown = tuple(float(t) for t in pr.iou_thresholds if any(abs(t - v) < 1e-9 for v in (0.5, 0.75)))
            out["pr"] = pr.to_dict(shown)
            f1 = self.parts["f1"]
            out["f1"] = {"confidence": f1.confidence[::10].tolist(), "mean_f1": _nan_none(f1.mean_f1[::10]),
                         "best_confidence": _finite(f1.best_confidence), "best_f1": _finite(f1.best_f1)}
        if "confusion" in self.parts:
            out["confusion"] = self.parts["confusion"].to_dict()
        for name in ("slices", "tide"):
            if name in self.parts:
                out[name] = self.parts[name].to_dict()
        return out


def _per_image(rows_image: np.ndarray, image_ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(I,) images (positions in the sorted `image_ids`) holding at least one of `rows`."""
    hit = np.zeros(len(image_ids), dtype=bool)
    hit[np.searchsorted(image_ids, rows_image[rows])] = True
    return hit


def _one_image(inst: Any, matches: Any, i: int) -> tuple[Any, Any]:
    """Instances and Matches of image position i alone (rows re-based to start at 0)."""
    g, d = slice(inst.gt_start[i], inst.gt_start[i + 1]), slice(inst.dt_start[i], inst.dt_start[i + 1])
    gt_fields = ("gt_index", "gt_image", "gt_category", "gt_crowd", "gt_ignore", "gt_area", "gt_geometry")
    dt_fields = ("dt_index", "dt_image", "dt_category", "dt_score", "dt_geometry")
    one = dataclasses.replace(inst, image_ids=inst.image_ids[i:i + 1],
                              gt_start=np.array([0, g.stop - g.start]), dt_start=np.array([0, d.stop - d.start]),
                              **{f: getattr(inst, f)[g] for f in gt_fields}, **{f: getattr(inst, f)[d] for f in dt_fields})
    gt_match = matches.gt_match[d]
    one_matches = dataclasses.replace(
        matches, image_id=matches.image_id[d], category_id=matches.category_id[d], score=matches.score[d],
        det_index=matches.det_index[d], gt_match=np.where(gt_match >= 0, gt_match - g.start, -1),
        ignored=matches.ignored[d])
    return one, one_matches


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _nan_none(values: np.ndarray) -> list:
    return [None if math.isnan(v) else float(v) for v in values.tolist()]
