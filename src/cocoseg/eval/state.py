"""Per-image matching results: what accumulation needs, picklable, and mergeable across processes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval.params import EvalParams

_DT_FIELDS = ("dt_image_id", "dt_category_id", "dt_score", "dt_rank", "dt_index")
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
    dt_index: np.ndarray  # (D,) int64 position in the evaluator's input (results order / add order)
    dt_match: np.ndarray  # (D, A, T) uint8/16/32 codes: 0 FP, 1 ignored, 2 * (j + 1) + ignored: the cell's j-th GT
    gt_image_id: np.ndarray  # (G,) int64
    gt_category_id: np.ndarray  # (G,) int64
    gt_ann_index: np.ndarray  # (G,) int64 position in gt.annotations
    gt_area: np.ndarray  # (G,) float64 the annotation's `area`
    gt_iscrowd: np.ndarray  # (G,) bool
    gt_ignore: np.ndarray  # (A, G) bool: crowd, no visible keypoints, or outside the area range
    gt_match: np.ndarray  # (G, A, T) uint8/16/32 codes: 0 unmatched, r + 1: matched by the cell's rank-r detection

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
        return cls(params, z, z, z, np.zeros(0), z, z, np.zeros((0, n_a, n_t), np.uint8), z, z, z, np.zeros(0),
                   np.zeros(0, bool), np.zeros((0, n_a), bool).T, np.zeros((0, n_a, n_t), np.uint8))

    # The matches as rows (decoded from the codes on demand: the evaluation itself never builds them)
    @property
    def dt_gt(self) -> np.ndarray:
        """(A, T, D) int32: the GT row each detection matched, -1 if none."""
        return _stacked([self.dt_gt_at(a) for a in range(self.dt_match.shape[1])], (self.dt_match.shape[2], self.num_dt), np.int32)

    @property
    def dt_ignore(self) -> np.ndarray:
        """(A, T, D) bool: neither true nor false positive."""
        return _stacked([self.dt_ignore_at(a) for a in range(self.dt_match.shape[1])], (self.dt_match.shape[2], self.num_dt), bool)

    @property
    def gt_dt(self) -> np.ndarray:
        """(A, T, G) int32: the detection row matching each GT (the last one for crowd GT), -1 if none."""
        return _stacked([self.gt_dt_at(a) for a in range(self.gt_match.shape[1])], (self.gt_match.shape[2], self.num_gt), np.int32)

    def dt_gt_at(self, area: int) -> np.ndarray:
        """(T, D) int32: `dt_gt[area]`."""
        code = self.dt_match[:, area, :].T
        first_gt = self._cell_starts()[0]
        return np.where(code >= 2, first_gt + (code >> 1).astype(np.int64) - 1, -1).astype(np.int32)

    def dt_ignore_at(self, area: int) -> np.ndarray:
        """(T, D) bool: `dt_ignore[area]`."""
        return (self.dt_match[:, area, :].T & 1).astype(bool)

    def gt_dt_at(self, area: int) -> np.ndarray:
        """(T, G) int32: `gt_dt[area]`."""
        code = self.gt_match[:, area, :].T
        first_dt = self._cell_starts()[1]
        return np.where(code > 0, first_dt + code.astype(np.int64) - 1, -1).astype(np.int32)

    def _cell_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """(D,) first GT row of each detection's cell, (G,) first detection row of each GT's cell.

        Both sides are ordered by cell ((image id, category) ascending, or image id pooled), so a
        row's cell starts where its key would be inserted on the other side."""
        d_img, g_img = np.searchsorted(self.image_ids, self.dt_image_id), np.searchsorted(self.image_ids, self.gt_image_id)
        if self.params.use_cats:
            cats = np.union1d(self.dt_category_id, self.gt_category_id)
            d_img = d_img * len(cats) + np.searchsorted(cats, self.dt_category_id)
            g_img = g_img * len(cats) + np.searchsorted(cats, self.gt_category_id)
        return np.searchsorted(g_img, d_img, "left"), np.searchsorted(d_img, g_img, "left")

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
    out = {name: np.concatenate([getattr(s, name) for s in states]) for name in _DT_FIELDS + _GT_FIELDS}
    dt_order = _stable_order(out["dt_image_id"])
    gt_order = _stable_order(out["gt_image_id"])
    if dt_order is not None:
        out.update({name: out[name][dt_order] for name in _DT_FIELDS})
    if gt_order is not None:
        out.update({name: out[name][gt_order] for name in _GT_FIELDS})
    # the codes are local to their cell, and a cell lies in one state: no renumbering
    out["dt_match"] = _rows(np.concatenate([s.dt_match for s in states]), dt_order)
    out["gt_match"] = _rows(np.concatenate([s.gt_match for s in states]), gt_order)
    out["gt_ignore"] = _rows(np.concatenate([s.gt_ignore.T for s in states]), gt_order).T
    return EvalState(params=params, image_ids=image_ids, **out)


def _stable_order(keys: np.ndarray) -> np.ndarray | None:
    """Stable sort order of keys, or None when they are already sorted (shards merged in order)."""
    if len(keys) < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return None
    return np.argsort(keys, kind="stable")


def _rows(rows: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    return rows if order is None else rows[order]


def _stacked(parts: list[np.ndarray], empty_shape: tuple[int, int], dtype: type) -> np.ndarray:
    """(A, T, N) from A (T, N) parts ((0, T, N) without area ranges)."""
    return np.stack(parts) if parts else np.zeros((0, *empty_shape), dtype)
