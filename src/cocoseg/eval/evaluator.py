"""The evaluator: detections in (per image or as a results file), per-image states out, metrics on demand."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval import gt_cache
from cocoseg.eval.detections import image_detections, ready_for
from cocoseg.eval.gt_masks import pack_column_masks, pack_gt_masks
from cocoseg.eval.inputs import as_dataset, as_results, iou_type_of
from cocoseg.eval.params import AreaRanges, EvalParams
from cocoseg.eval.pipeline import accumulate, evaluate_batch
from cocoseg.eval.result import EvalResult
from cocoseg.eval.state import EvalState
from cocoseg.eval.summary import mean_valid, per_class_rows, summary_items
from cocoseg.eval.tables import distinct, positions
from cocoseg.io.dataset import CocoDataset
from cocoseg.io.gt_scan import GtColumns
from cocoseg.io.results import DetectionResults, ResultsSource, empty_results, load_results
from cocoseg.masks.packed_rle import PackedRles, concat_packed

_FLUSH_IMAGES = 256  # images buffered by add() before they are matched in one batch


class Evaluator:
    """COCO evaluation fed batch by batch; exact against pycocotools, mergeable across processes.

    `add()` takes one image's detections as arrays, `add_results()` a whole results file or list;
    `state()` returns the per-image results (picklable) and `update_from(state)` folds another
    evaluator's state in, so shards evaluated in several processes give exactly the numbers of one
    process. `compute()` accumulates; images never added count as images without detections.
    """

    def __init__(self, gt: CocoDataset | str | Path | Any, iou_type: str | None = None, *, params: EvalParams | None = None,
                 iouType: str | None = None, **param_kwargs: Any) -> None:  # noqa: N803 - pycocotools' spelling
        base = params if params is not None else EvalParams.create(iou_type_of(iou_type, iouType), **param_kwargs)
        # a path (kept in gt_cache for the next evaluation), CocoDataset, COCO dict or COCO object (eval.inputs).
        # A file is read as evaluation columns where validation passes it (cocoseg.io.gt_scan); its
        # CocoDataset is loaded only when `gt` is asked for.
        self._gt_path = gt if isinstance(gt, (str, Path)) else None
        columns = gt_cache.load_columns(gt) if self._gt_path is not None and base.iou_type != "keypoints" else None
        self._gt: CocoDataset | None = None if columns is not None else \
            gt_cache.load_gt(gt) if self._gt_path is not None else as_dataset(gt)
        self._source: CocoDataset | GtColumns = columns if columns is not None else self._gt
        self.params = base.resolved(self._source.image_ids, (c["id"] for c in self._source.categories))
        self.table = gt_cache.gt_table(self._source, self.params)
        self.image_sizes = columns.image_sizes if columns is not None else \
            {im["id"]: (im["height"], im["width"]) for im in self._gt.images if "height" in im}
        self._gt_packed: PackedRles | None = None
        self._states: list[EvalState] = []
        self._pending: list[tuple] = []
        self._covered: set[int] = set()
        self._added = 0
        self.notes: list[str] = []

    @property
    def gt(self) -> CocoDataset:
        """The ground truth as a CocoDataset (a GT file read as columns is loaded on first access)."""
        if self._gt is None:
            self._gt = gt_cache.load_gt(self._gt_path)
        return self._gt

    # ---- input ---------------------------------------------------------------------------------
    def add(self, image_id: int, *, scores: Any, category_ids: Any, boxes_xyxy: Any = None, boxes_xywh: Any = None,
            masks: Any = None, keypoints: Any = None) -> None:
        """Add one image's detections (N rows each; N may be 0).

        Args:
            image_id: a GT image id (images not in the evaluation's image ids are ignored).
            scores: (N,) confidences; category_ids: (N,) COCO category ids (not contiguous labels).
            boxes_xyxy / boxes_xywh: (N, 4) absolute pixels; one of them for bbox evaluation.
            masks: (N, H, W) bitmaps or a list of N COCO RLEs, for segm evaluation.
            keypoints: (N, K, 3) or (N, 3K) [x, y, score/visibility], for keypoints evaluation.
        The area used by the area-range rule is the one `loadRes` gives a result record with the
        same fields: the box's w*h when a box is given, else the mask area (segm) or the keypoint
        extent (keypoints).
        """
        image_id = int(image_id)
        if image_id in self._covered:
            raise CocosegError(f"image {image_id} was already added to this evaluator")
        dets = image_detections(image_id, self.params.iou_type, scores, category_ids, boxes_xyxy, boxes_xywh, masks,
                                keypoints, self.image_sizes.get(image_id))
        self._covered.add(image_id)
        self._pending.append((image_id, dets))
        if len(self._pending) >= _FLUSH_IMAGES:
            self._flush()

    def add_results(self, results: ResultsSource | DetectionResults) -> None:
        """Add a results file, list of result dicts, (N, 7) array or DetectionResults (loadRes rules).

        The images covered are those the results name; DataError for images absent from the GT.
        """
        res = load_results(as_results(results), self.image_sizes)
        res.check_images(self._source.image_ids)
        images = distinct(res.image_ids)
        again = self._covered.intersection(images.tolist())
        if again:
            raise CocosegError(f"image {min(again)} was already added to this evaluator")
        self._flush()
        dets = ready_for(res, self.params.iou_type, self.image_sizes)
        offset, self._added = self._added, self._added + len(res)
        pos = np.searchsorted(self.table.image_ids, images)
        inside = (pos < len(self.table.image_ids)) & (self.table.image_ids[np.minimum(pos, len(self.table.image_ids) - 1)] == images)
        self._covered.update(images.tolist())
        self._states.append(evaluate_batch(self.table, self.params, dets, pos[inside], self._gt_masks, offset))
        self._note_dropped(res)

    def update_from(self, state: EvalState) -> None:
        """Fold in another evaluator's state (disjoint images, same parameters)."""
        self._flush()
        overlap = self._covered.intersection(state.image_ids.tolist())
        if overlap:
            raise CocosegError(f"image {min(overlap)} is in both this evaluator and the state being merged")
        if not state.params.same_as(self.params):
            raise CocosegError("cannot merge a state evaluated with other parameters "
                               f"({state.params.to_dict()} vs {self.params.to_dict()})")
        self._covered.update(state.image_ids.tolist())
        self._states.append(state)

    @staticmethod
    def merge(states: Sequence[EvalState]) -> EvalState:
        """One state from the states of several evaluators (disjoint images)."""
        return EvalState.merge(states)

    def reset(self) -> None:
        """Forget every detection added."""
        self._states, self._pending, self._covered, self._added = [], [], set(), 0
        self.notes = []

    # ---- output --------------------------------------------------------------------------------
    def state(self) -> EvalState:
        """The per-image results of the images added so far (picklable; see `cocoseg.eval`)."""
        self._flush()
        if len(self._states) > 1:
            self._states = [EvalState.merge(self._states)]
        return self._states[0] if self._states else EvalState.empty(self.params)

    def compute(self, state: EvalState | None = None, *, pycocotools_compat: bool = False,
                only_added: bool = False) -> EvalResult:
        """Accumulate and summarize. Images of the evaluation never added count as without detections.

        Args:
            state: evaluate this state (e.g. the merge of every rank's, same parameters) instead of
                the detections added here; the evaluator itself is left as it is.
            pycocotools_compat: summary lines chosen exactly as pycocotools' `summarize` does
                (hard-coded maxDets 100/20); identical to the default with default parameters.
            only_added: evaluate only the images added so far (the other GT images are left out).
        """
        if state is None:
            state = self.state()
        elif not state.params.same_as(self.params):
            raise CocosegError("cannot compute a state evaluated with other parameters "
                               f"({state.params.to_dict()} vs {self.params.to_dict()})")
        params = self.params
        missing = np.setdiff1d(self.table.image_ids, state.image_ids, assume_unique=True)  # both ascending ids
        if only_added:
            state = replace(state, params=_restricted(params, state.image_ids))
        elif len(missing):
            empty = evaluate_batch(self.table, params, _NO_DETECTIONS, np.searchsorted(self.table.image_ids, missing),
                                   self._gt_masks)
            state = EvalState.merge([state, empty])
        return compute(state, self._source, pycocotools_compat=pycocotools_compat, notes=self.notes)

    # ---- internals -----------------------------------------------------------------------------
    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = sorted(self._pending, key=lambda p: p[0]), []
        dets = _concat([d for _, d in pending])
        offset, self._added = self._added, self._added + len(dets)
        images = np.array([i for i, _ in pending], dtype=np.int64)
        pos = np.searchsorted(self.table.image_ids, images)
        known = (pos < len(self.table.image_ids)) & (self.table.image_ids[np.minimum(pos, max(len(self.table.image_ids) - 1, 0))] == images) \
            if len(self.table.image_ids) else np.zeros(len(images), bool)
        self._states.append(evaluate_batch(self.table, self.params, dets, pos[known], self._gt_masks, offset))

    def _gt_masks(self, rows: np.ndarray) -> PackedRles:
        """RLEs of GT table rows (annToRLE), computed for the whole table on first use."""
        if self._gt_packed is None:
            self._gt_packed = gt_cache.gt_masks(self._source, self.params, self._pack_gt_masks)
        return self._gt_packed.take(rows)

    def _pack_gt_masks(self) -> PackedRles:
        if isinstance(self._source, GtColumns):
            packed = pack_column_masks(self.table, self._source)
            if packed is not None:
                return packed
        return pack_gt_masks(self.table, self.gt.annotations, self.image_sizes, self.gt.source)

    def _note_dropped(self, res: DetectionResults) -> None:
        unknown = positions(np.asarray(self.params.category_ids, dtype=np.int64), res.category_ids) < 0
        if unknown.any():
            self.notes.append(f"{int(unknown.sum())} detections of categories not evaluated were left out "
                              f"(e.g. category_id {int(res.category_ids[unknown][0])})")


def _concat(parts: list[DetectionResults]) -> DetectionResults:
    """One image's detections after another (all of the same kind: `add` decides it by the arguments given)."""
    kps = [p.keypoints for p in parts if p.keypoints is not None]
    packed = [p.segmentations for p in parts if isinstance(p.segmentations, PackedRles)]
    return DetectionResults(
        np.concatenate([p.image_ids for p in parts]), np.concatenate([p.category_ids for p in parts]),
        np.concatenate([p.scores for p in parts]), np.concatenate([p.boxes_xywh for p in parts]).reshape(-1, 4),
        np.concatenate([p.areas for p in parts]), parts[0].kind,
        concat_packed(packed) if packed and len(packed) == len(parts) else None,
        np.concatenate(kps) if kps and len(kps) == len(parts) else None, source="<added>")


_NO_DETECTIONS = replace(empty_results("<none>"), segmentations=PackedRles.from_rles([]), keypoints=np.zeros((0, 3)))


def _restricted(params: EvalParams, image_ids: np.ndarray) -> EvalParams:
    return replace(params, image_ids=tuple(int(i) for i in image_ids))


def compute(state: EvalState, gt: CocoDataset | GtColumns, *, pycocotools_compat: bool = False,
            notes: Sequence[str] = ()) -> EvalResult:
    """The metrics of a state that covers every image of its parameters (pure: nothing is kept).

    `gt` (its `categories`) gives the category names; `Evaluator.compute` adds the images a state lacks first.
    """
    params = state.params
    if len(state.image_ids) != len(params.image_ids or ()):
        raise CocosegError(f"the state covers {len(state.image_ids)} of the {len(params.image_ids or ())} images "
                           "of its parameters: use Evaluator.compute(state) to count the others as without detections")
    precision, recall, scores = accumulate(state)
    items = summary_items(params, pycocotools_compat)
    stats = np.array([mean_valid(precision, recall, params, it) for it in items], dtype=np.float64)
    names = {c["id"]: c.get("name", str(c["id"])) for c in gt.categories}
    cats = np.asarray(params.category_ids, dtype=np.int64)
    if params.use_cats:
        gk, dk = positions(cats, state.gt_category_id), positions(cats, state.dt_category_id)
        num_gt = np.bincount(gk[(gk >= 0) & ~state.gt_ignore[0]], minlength=len(cats))[:len(cats)]
        num_dt = np.bincount(dk[dk >= 0], minlength=len(cats))[:len(cats)]
    else:
        num_gt, num_dt = np.array([np.count_nonzero(~state.gt_ignore[0])]), np.array([state.num_dt])
    per_class = per_class_rows(precision, recall, params, names, num_gt, num_dt)
    return EvalResult(params, items, stats, precision, recall, scores, per_class, state, list(notes))


def evaluate(gt: CocoDataset | str | Path | Any, results: ResultsSource | DetectionResults | Any, iou_type: str | None = None, *,
             image_ids: Sequence[int] | None = None, category_ids: Sequence[int] | None = None, use_cats: bool = True,
             max_dets: Sequence[int] | None = None, area_ranges: AreaRanges | None = None,
             iou_thresholds: Sequence[float] | None = None, recall_thresholds: Sequence[float] | None = None,
             keypoint_sigmas: Sequence[float] | None = None, pycocotools_compat: bool = False,
             iouType: str | None = None) -> EvalResult:  # noqa: N803
    """COCO evaluation of detection results against a GT, equal to pycocotools' COCOeval.

    Args:
        gt: a COCO JSON path, a CocoDataset, a COCO dict or a pycocotools COCO.
        results: a results JSON path, a list of result dicts, an (N, 7) array, DetectionResults or a results COCO.
        iou_type: "bbox" (default), "segm" or "keypoints"; `iouType=` is accepted as its alias.
        image_ids / category_ids: restrict the evaluation (default: all GT images / categories).
        use_cats: False pools the categories (pycocotools useCats=0).
        max_dets: per-image detection caps (default 1, 10, 100; 20 for keypoints).
        area_ranges: {label: (lo, hi)} or [(label, lo, hi)], first = "all" (default COCO's).
        iou_thresholds / recall_thresholds: defaults 0.50:0.05:0.95 and 0:0.01:1 (linspace).
        keypoint_sigmas: OKS sigmas for all categories (default: the category's `sigmas`, else COCO's).
        pycocotools_compat: the summary exactly as pycocotools' (see `cocoseg.eval.summary`).
    """
    ev = Evaluator(gt, iou_type_of(iou_type, iouType), image_ids=image_ids, category_ids=category_ids, use_cats=use_cats, max_dets=max_dets,
                   area_ranges=area_ranges, iou_thresholds=iou_thresholds, recall_thresholds=recall_thresholds,
                   keypoint_sigmas=keypoint_sigmas)
    ev.add_results(results)
    return ev.compute(pycocotools_compat=pycocotools_compat)
