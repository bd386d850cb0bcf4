"""Per-image matching results: what accumulation needs, picklable, and mergeable across processes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval.params import EvalParams

_DT_FIELDS = ("dt_image_id", "dt_category_id", "dt_score", "dt_rank", "dt_area", "dt_index", "dt_box")
_GT_FIELDS = ("gt_image_id", "gt_category_id", "gt_ann_index", "gt_area", "gt_iscrowd")


@dataclass
class EvalState:
    """Matching results of a set of images (see the `cocoseg.eval` docstring for the layout).

    Detection rows (D) are those kept after the per-cell cut to max_dets[-1], ordered by
    (image id, cell, rank); GT rows (G) are the evaluated annotations, ordered by (image id,
    category, file order). A = area ranges, T = IoU thresholds.
    """

    params: EvalParams
    image_ids: np.ndarray  # (I,) int64 images covered, ascending
    dt_image_id: np.ndarray  # (D,) int64
    dt_category_id: np.ndarray  # (D,) int64
    dt_score: np.ndarray  # (D,) float64
    dt_rank: np.ndarray  # (D,) int64 position in its cell after the stable sort by score
    dt_area: np.ndarray  # (D,) float64 area used by the area-range rule
    dt_index: np.ndarray  # (D,) int64 position in the evaluator's input (results order / add order)
    dt_box: np.ndarray  # (D, 4) float64 [x, y, w, h]
    dt_gt: np.ndarray  # (A, T, D) int32 matched GT row, -1 when unmatched
    dt_ignore: np.ndarray  # (A, T, D) bool: neither TP nor FP
    gt_image_id: np.ndarray  # (G,) int64
    gt_category_id: np.ndarray  # (G,) int64
    gt_ann_index: np.ndarray  # (G,) int64 position in gt.annotations
    gt_area: np.ndarray  # (G,) float64 the annotation's `area`
    gt_iscrowd: np.ndarray  # (G,) bool
    gt_ignore: np.ndarray  # (A, G) bool: crowd, no visible keypoints, or outside the area range
    gt_dt: np.ndarray  # (A, T, G) int32 matching detection row (the last one for crowd GT), -1

    @property
    def num_dt(self) -> int:
        """Detection rows."""
        return len(self.dt_score)

    @property
    def num_gt(self) -> int:
        """GT rows."""
        return len(self.gt_area)

    def dt_matched(self) -> np.ndarray:
        """(A, T, D) bool: detection matched a GT (true positive unless ignored)."""
        return self.dt_gt >= 0

    @classmethod
    def empty(cls, params: EvalParams) -> EvalState:
        """A state covering no image."""
        n_a, n_t = len(params.area_ranges), len(params.iou_thresholds)
        z = np.zeros(0, np.int64)
        return cls(params, z, z, z, np.zeros(0), z, np.zeros(0), z, np.zeros((0, 4)),
                   np.zeros((n_a, n_t, 0), np.int32), np.zeros((n_a, n_t, 0), bool), z, z, z, np.zeros(0),
                   np.zeros(0, bool), np.zeros((n_a, 0), bool), np.zeros((n_a, n_t, 0), np.int32))

    @classmethod
    def merge(cls, states: Sequence[EvalState]) -> EvalState:
        """One state from states of disjoint image sets, rows in image-id order (exact, order-free)."""
        states = [s for s in states]
        if not states:
            raise CocosegError("merge needs at least one evaluation state")
        params = states[0].params
        for s in states[1:]:
            if not _same_params(s.params, params):
                raise CocosegError("cannot merge evaluation states made with different parameters "
                                   f"({s.params.to_dict()} vs {params.to_dict()})")
        if len(states) == 1:
            return states[0]
        image_ids = np.concatenate([s.image_ids for s in states])
        uniq, counts = np.unique(image_ids, return_counts=True)
        if (counts > 1).any():
            raise CocosegError(f"image {int(uniq[counts > 1][0])} was evaluated in more than one state; "
                               "shards must cover disjoint images")
        return _concatenate(states, params, uniq)


def _same_params(a: EvalParams, b: EvalParams) -> bool:
    return a.to_dict() == b.to_dict() and a.image_ids == b.image_ids


def _concatenate(states: list[EvalState], params: EvalParams, image_ids: np.ndarray) -> EvalState:
    """Concatenate rows, then order them by image id (stable: keeps each image's own order)."""
    dt_off = np.cumsum([0] + [s.num_dt for s in states])
    gt_off = np.cumsum([0] + [s.num_gt for s in states])
    cat = {f.name: None for f in fields(EvalState)}
    for name in _DT_FIELDS + _GT_FIELDS:
        cat[name] = np.concatenate([getattr(s, name) for s in states])
    dt_gt = np.concatenate([np.where(s.dt_gt >= 0, s.dt_gt + gt_off[i], -1) for i, s in enumerate(states)], axis=2)
    gt_dt = np.concatenate([np.where(s.gt_dt >= 0, s.gt_dt + dt_off[i], -1) for i, s in enumerate(states)], axis=2)
    dt_order = np.argsort(cat["dt_image_id"], kind="stable")
    gt_order = np.argsort(cat["gt_image_id"], kind="stable")
    dt_new = _inverse(dt_order)
    gt_new = _inverse(gt_order)
    out = {name: cat[name][dt_order] for name in _DT_FIELDS}
    out.update({name: cat[name][gt_order] for name in _GT_FIELDS})
    out["dt_gt"] = _remap(dt_gt[:, :, dt_order], gt_new)
    out["dt_ignore"] = np.concatenate([s.dt_ignore for s in states], axis=2)[:, :, dt_order]
    out["gt_dt"] = _remap(gt_dt[:, :, gt_order], dt_new)
    out["gt_ignore"] = np.concatenate([s.gt_ignore for s in states], axis=1)[:, gt_order]
    return EvalState(params=params, image_ids=image_ids, **out)


def _inverse(order: np.ndarray) -> np.ndarray:
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    return inv


def _remap(refs: np.ndarray, new_position: np.ndarray) -> np.ndarray:
    if new_position.size == 0:
        return refs.astype(np.int32)
    return np.where(refs >= 0, new_position[np.maximum(refs, 0)], -1).astype(np.int32)
