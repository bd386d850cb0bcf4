"""Per-image matching results: what accumulation needs, picklable, and mergeable across processes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
            if not s.params.same_as(params):
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


def _concatenate(states: list[EvalState], params: EvalParams, image_ids: np.ndarray) -> EvalState:
    """Concatenate rows, then order them by image id (stable: keeps each image's own order)."""
    dt_off = np.cumsum([0] + [s.num_dt for s in states])
    gt_off = np.cumsum([0] + [s.num_gt for s in states])
    out = {name: np.concatenate([getattr(s, name) for s in states]) for name in _DT_FIELDS + _GT_FIELDS}
    dt_order = _stable_order(out["dt_image_id"])
    gt_order = _stable_order(out["gt_image_id"])
    if dt_order is not None:
        out.update({name: out[name][dt_order] for name in _DT_FIELDS})
    if gt_order is not None:
        out.update({name: out[name][gt_order] for name in _GT_FIELDS})
    dt_new, gt_new = _inverse(dt_order, int(dt_off[-1])), _inverse(gt_order, int(gt_off[-1]))
    out["dt_gt"] = _joined([s.dt_gt for s in states], gt_off, gt_new, dt_order)
    out["gt_dt"] = _joined([s.gt_dt for s in states], dt_off, dt_new, gt_order)
    out["dt_ignore"] = _rows_last(np.concatenate([_rows_first(s.dt_ignore) for s in states]), dt_order)
    out["gt_ignore"] = _rows_last(np.concatenate([_rows_first(s.gt_ignore) for s in states]), gt_order)
    return EvalState(params=params, image_ids=image_ids, **out)


def _stable_order(keys: np.ndarray) -> np.ndarray | None:
    """Stable sort order of keys, or None when they are already sorted (shards merged in order)."""
    if len(keys) < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return None
    return np.argsort(keys, kind="stable")


def _inverse(order: np.ndarray | None, n: int) -> np.ndarray:
    if order is None:
        return np.arange(n, dtype=np.int64)
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    return inv


def _rows_first(atd: np.ndarray) -> np.ndarray:
    """(N, A, T) view of an (A, T, N) array: matches are kept in (N, A, T) memory (see eval.kernels)."""
    return np.moveaxis(atd, -1, 0)


def _rows_last(nat: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """The (A, T, N) view of (N, A, T) rows, taken in `order` first."""
    return np.moveaxis(nat if order is None else nat[order], 0, -1)


def _joined(parts: list[np.ndarray], offsets: np.ndarray, new_position: np.ndarray,
            order: np.ndarray | None) -> np.ndarray:
    """Cross references (A, T, N) of each part shifted to the concatenated rows and renumbered, -1 kept."""
    shifted = [_renumbered(_rows_first(p), offset, new_position) for p, offset in zip(parts, offsets[:-1].tolist())]
    return _rows_last(np.concatenate(shifted), order)


def _renumbered(refs: np.ndarray, offset: int, new_position: np.ndarray) -> np.ndarray:
    """new_position[refs + offset] where refs >= 0, else -1 (int32)."""
    if len(new_position) == 0:
        return np.full(refs.shape, -1, np.int32)
    index = np.minimum(np.maximum(refs, 0) + offset, len(new_position) - 1)
    return np.where(refs < 0, np.int32(-1), new_position.astype(np.int32)[index])
