"""pycocotools' `evalImgs` (one dict or None per category, area range and image) from an engine state,
and the way back: accumulating a list of those dicts (merged across batches) with the engine.

Built only when a caller reads `COCOeval.evalImgs`: the engine keeps matches as row positions;
here they become the annotation ids, orders and dtypes COCOeval.evaluateImg gives.
"""
from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any

import numpy as np

from cocoseg.compat._fast import EngineRun, cell_anns
from cocoseg.eval import EvalResult, Evaluator
from cocoseg.io.dataset import CocoDataset

_LIVE: weakref.WeakSet = weakref.WeakSet()  # engine runs whose evalImgs were built and are still referenced


def _cell_bounds(img: np.ndarray, cat: np.ndarray) -> dict[tuple[int, int], tuple[int, int]]:
    """{(image id, category id): (start, end)} of rows already grouped by cell."""
    if len(img) == 0:
        return {}
    change = np.flatnonzero((img[1:] != img[:-1]) | (cat[1:] != cat[:-1])) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(img)]
    return {(int(i), int(c)): (int(s), int(e)) for i, c, s, e in zip(img[starts], cat[starts], starts, ends)}


def build_eval_imgs(run: EngineRun, p: Any) -> list:
    """The evalImgs list of COCOeval.evaluate for these parameters ([K, A, I] flattened, None for empty cells)."""
    state = run.state
    pooled = not p.useCats
    dt_cat = np.full(state.num_dt, -1, np.int64) if pooled else state.dt_category_id
    gt_cat = np.full(state.num_gt, -1, np.int64) if pooled else state.gt_category_id
    dt_cells = _cell_bounds(state.dt_image_id, dt_cat)  # rows are in (image, cell, rank) order
    gt_cells = _cell_bounds(state.gt_image_id, gt_cat)
    gt_ids = np.array([run.gt_anns[i]["id"] for i in state.gt_ann_index.tolist()], dtype=np.float64)
    dt_ids = np.array([run.dt_anns[i]["id"] for i in state.dt_index.tolist()], dtype=np.float64)
    dt_id_list = [run.dt_anns[i]["id"] for i in state.dt_index.tolist()]
    dt_scores = [run.dt_anns[i]["score"] for i in state.dt_index.tolist()]
    max_det = p.maxDets[-1]
    per_area = [_area_columns(state, a, gt_ids, dt_ids, gt_cells, run) for a in range(len(p.areaRng))]
    out: list = []
    for cat_id in ([-1] if pooled else p.catIds):
        for a, area_rng in enumerate(p.areaRng):
            dtm, dt_ig, gtm, gt_ig, gt_list = per_area[a]
            for img_id in p.imgIds:
                key = (int(img_id), int(cat_id))
                d0, d1 = dt_cells.get(key, (0, 0))
                g0, g1 = gt_cells.get(key, (0, 0))
                if d0 == d1 and g0 == g1:
                    out.append(None)
                    continue
                out.append({"image_id": img_id, "category_id": cat_id, "aRng": area_rng, "maxDet": max_det,
                            "dtIds": dt_id_list[d0:d1], "gtIds": gt_list[g0:g1], "dtMatches": dtm[:, d0:d1],
                            "gtMatches": gtm[:, g0:g1], "dtScores": dt_scores[d0:d1],
                            "gtIgnore": gt_ig[g0:g1] if g1 > g0 else np.array([]), "dtIgnore": dt_ig[:, d0:d1]})
    return out


def _area_columns(state: Any, a: int, gt_ids: np.ndarray, dt_ids: np.ndarray, gt_cells: dict, run: EngineRun) -> tuple:
    """One area range's matches as ids, with the GT of each cell reordered ignored-last (stable)."""
    perm = np.arange(state.num_gt)
    ignored = state.gt_ignore[a].astype(np.int64)
    for g0, g1 in gt_cells.values():
        perm[g0:g1] = g0 + np.argsort(ignored[g0:g1], kind="mergesort")
    dt_gt, gt_dt = state.dt_gt_at(a), state.gt_dt_at(a)[:, perm]
    dtm = np.where(dt_gt >= 0, gt_ids[np.maximum(dt_gt, 0)] if len(gt_ids) else 0.0, 0.0).astype(np.float64)
    gtm = np.where(gt_dt >= 0, dt_ids[np.maximum(gt_dt, 0)] if len(dt_ids) else 0.0, 0.0).astype(np.float64)
    gt_list = [run.gt_anns[i]["id"] for i in state.gt_ann_index[perm].tolist()]
    return dtm, state.dt_ignore_at(a), gtm, ignored[perm], gt_list


def remember(run: EngineRun, built: list) -> None:
    """Note that `built` is the evalImgs list of `run` (to recognise its dicts when they come back merged)."""
    run.built = built
    _LIVE.add(run)


def accumulate_built(eval_imgs: list, p: Any, gt_coco: Any) -> EvalResult | None:
    """The engine's accumulation of an evalImgs list merged from lists built here (torchvision's batches,
    ranks in one process), or None when it holds anything else (then pycocotools' loop runs)."""
    img_ids = [int(i) for i in p.imgIds]
    if not img_ids or len(eval_imgs) % len(img_ids) or len(set(img_ids)) != len(img_ids):
        return None
    n_cells, n_img = len(eval_imgs) // len(img_ids), len(img_ids)
    where = {id(e): (run, pos) for run in list(_LIVE) for pos, e in enumerate(run.built or ()) if e is not None}
    runs: dict[int, EngineRun] = {}
    for e in eval_imgs:
        if e is not None:
            if id(e) not in where:
                return None
            run = where[id(e)][0]
            runs[id(run)] = run
    column = {img: j for j, img in enumerate(img_ids)}
    owned: set[int] = set()
    for run in runs.values():
        own = [int(i) for i in run.state.params.image_ids]
        if any(i not in column or i in owned for i in own) or len(run.built) != n_cells * len(own):
            return None
        owned.update(own)
        for c in range(n_cells):
            for r_pos, img in enumerate(own):
                if eval_imgs[c * n_img + column[img]] is not run.built[c * len(own) + r_pos]:
                    return None
    for img in set(img_ids) - owned:  # images no batch claims: empty cells only, and no GT to miss
        if any(eval_imgs[c * n_img + column[img]] is not None for c in range(n_cells)) or gt_coco.imgToAnns.get(img):
            return None
    first = next(iter(runs.values()), None)
    return None if first is None else _merged_result(list(runs.values()), img_ids, first, gt_coco)


def _merged_result(runs: list[EngineRun], img_ids: list, first: EngineRun, gt_coco: Any) -> EvalResult:
    base = first.evaluator.params
    if any({k: v for k, v in r.snapshot.items() if k != "imgIds"} != {k: v for k, v in first.snapshot.items()
                                                                       if k != "imgIds"} for r in runs):
        raise ValueError("batches evaluated with different parameters")
    cats = list(base.category_ids)
    gt = CocoDataset([gt_coco.imgs[i] for i in img_ids if i in gt_coco.imgs],
                     cell_anns(gt_coco, img_ids, cats if base.use_cats else None), [])
    evaluator = Evaluator(gt, params=replace(base, image_ids=tuple(sorted(img_ids))))
    for run in runs:
        evaluator.update_from(replace(run.state, params=evaluator.params))
    return evaluator.compute()
