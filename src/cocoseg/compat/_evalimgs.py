"""pycocotools' `evalImgs` (one dict or None per category, area range and image) from an engine state.

Built only when a caller reads `COCOeval.evalImgs`: the engine keeps matches as row positions;
here they become the annotation ids, orders and dtypes COCOeval.evaluateImg gives.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cocoseg.compat._fast import EngineRun


def _groups(keys: np.ndarray) -> dict[tuple, np.ndarray]:
    """{cell key: rows holding it, in row order} for an (N, 2) key array."""
    if len(keys) == 0:
        return {}
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    order = np.argsort(inverse.reshape(-1), kind="stable")
    bounds = np.searchsorted(inverse.reshape(-1)[order], np.arange(len(uniq) + 1))
    return {(int(k[0]), int(k[1])): order[bounds[j]:bounds[j + 1]] for j, k in enumerate(uniq.tolist())}


def build_eval_imgs(run: EngineRun, p: Any) -> list:
    """The evalImgs list of COCOeval.evaluate for these parameters ([K, A, I] flattened, None for empty cells)."""
    state = run.result.state
    pooled = not p.useCats
    cat_ids = [-1] if pooled else p.catIds
    dt_cat = np.full(state.num_dt, -1, np.int64) if pooled else state.dt_category_id
    gt_cat = np.full(state.num_gt, -1, np.int64) if pooled else state.gt_category_id
    dt_cells = _groups(np.stack([state.dt_image_id, dt_cat], 1))
    gt_cells = _groups(np.stack([state.gt_image_id, gt_cat], 1))
    gt_ids = np.array([run.gt_anns[i]["id"] for i in state.gt_ann_index.tolist()], dtype=np.float64)
    dt_ids = np.array([run.dt_anns[i]["id"] for i in state.dt_index.tolist()], dtype=np.float64)
    empty = np.zeros(0, np.int64)
    max_det = p.maxDets[-1]
    out: list = []
    for cat_id in cat_ids:
        for a, area_rng in enumerate(p.areaRng):
            for img_id in p.imgIds:
                key = (int(img_id), int(cat_id))
                d_rows, g_rows = dt_cells.get(key, empty), gt_cells.get(key, empty)
                if len(d_rows) == 0 and len(g_rows) == 0:
                    out.append(None)
                    continue
                out.append(_cell(run, state, a, img_id, cat_id, area_rng, max_det, d_rows, g_rows, gt_ids, dt_ids))
    return out


def _cell(run: EngineRun, state: Any, a: int, img_id: Any, cat_id: Any, area_rng: Any, max_det: int,
          d_rows: np.ndarray, g_rows: np.ndarray, gt_ids: np.ndarray, dt_ids: np.ndarray) -> dict:
    d_rows = d_rows[np.argsort(state.dt_rank[d_rows], kind="stable")]
    ignored = state.gt_ignore[a, g_rows].astype(np.int64)
    g_rows = g_rows[np.argsort(ignored, kind="mergesort")]  # ignored GT last, as evaluateImg
    dt_gt = state.dt_gt[a][:, d_rows]
    gt_dt = state.gt_dt[a][:, g_rows]
    dt_matches = np.where(dt_gt >= 0, gt_ids[np.maximum(dt_gt, 0)] if len(gt_ids) else 0.0, 0.0)
    gt_matches = np.where(gt_dt >= 0, dt_ids[np.maximum(gt_dt, 0)] if len(dt_ids) else 0.0, 0.0)
    gt_ignore = state.gt_ignore[a, g_rows].astype(np.int64) if len(g_rows) else np.array([])
    return {
        "image_id": img_id,
        "category_id": cat_id,
        "aRng": area_rng,
        "maxDet": max_det,
        "dtIds": [run.dt_anns[i]["id"] for i in state.dt_index[d_rows].tolist()],
        "gtIds": [run.gt_anns[i]["id"] for i in state.gt_ann_index[g_rows].tolist()],
        "dtMatches": dt_matches.astype(np.float64).reshape(len(dt_gt), len(d_rows)),
        "gtMatches": gt_matches.astype(np.float64).reshape(len(gt_dt), len(g_rows)),
        "dtScores": [run.dt_anns[i]["score"] for i in state.dt_index[d_rows].tolist()],
        "gtIgnore": gt_ignore,
        "dtIgnore": state.dt_ignore[a][:, d_rows].astype(bool),
    }
