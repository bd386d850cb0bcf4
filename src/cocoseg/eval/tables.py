"""Ground truth and detections as sorted columns, grouped into pycocotools' evaluation cells.

A cell is one (image, category) pair, or one image when categories are pooled (`use_cats=False`).
Rows are referred to by position, never by annotation id (pycocotools stores matches as ids and
reads id 0 as "unmatched"; see `cocoseg.eval` docstring).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocoseg.errors import DataError, Problem
from cocoseg.eval.inputs import warn_category_sigmas
from cocoseg.eval.kernels import group_detections
from cocoseg.eval.params import COCO_KEYPOINT_SIGMAS, EvalParams
from cocoseg.io.annotation_screen import native_columns
from cocoseg.io.dataset import CocoDataset
from cocoseg.io.gt_scan import GtColumns
from cocoseg.io.id_lookup import positions
from cocoseg.native import NATIVE


@dataclass
class GtTable:
    """GT rows of the evaluated images and categories, sorted by (image, category, file order).

    Attributes:
        image_ids: (I,) int64 evaluated image ids, ascending (= params.image_ids).
        category_ids: (K,) int64 evaluated category ids, ascending.
        img: (G,) int64 position of each row's image in `image_ids`.
        cat: (G,) int64 position of each row's category in `category_ids`.
        ann_index: (G,) int64 position of the annotation in `gt.annotations`.
        boxes_xywh: (G, 4) float64; areas: (G,) float64 (the annotation's `area`).
        iscrowd: (G,) bool; ignore: (G,) bool (crowd, or no visible keypoints for keypoints).
        image_starts: (I + 1,) int64: rows of image i are image_starts[i]:image_starts[i + 1].
        keypoints: (G, 3K) float64 or None; sigmas: (G, K) float64 OKS sigmas per row, or None.
    """

    image_ids: np.ndarray
    category_ids: np.ndarray
    img: np.ndarray
    cat: np.ndarray
    ann_index: np.ndarray
    boxes_xywh: np.ndarray
    areas: np.ndarray
    iscrowd: np.ndarray
    ignore: np.ndarray
    image_starts: np.ndarray
    keypoints: np.ndarray | None = None
    sigmas: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.img)


def build_gt_table(gt: CocoDataset | GtColumns, params: EvalParams) -> GtTable:
    """Columns of the GT annotations in params' images and categories (params must be resolved).

    `gt` is a CocoDataset or the columns of a scanned GT file (`cocoseg.io.gt_scan`; bbox and segm only).
    """
    image_ids = np.asarray(params.image_ids, dtype=np.int64)
    category_ids = np.asarray(params.category_ids, dtype=np.int64)
    if isinstance(gt, GtColumns):
        if params.iou_type == "keypoints":
            raise ValueError("keypoints evaluation needs the GT as a CocoDataset")
        complete = np.ones(len(gt), np.bool_)
        columns = (gt.ann_image_id, gt.ann_category_id, gt.ann_box, gt.ann_area, gt.ann_iscrowd, complete)
        anns: list = []
    else:
        anns = gt.annotations
        columns = _native_columns(anns) if params.iou_type != "keypoints" else None
    n = len(anns)
    if columns is None:
        img_id = np.fromiter((a["image_id"] for a in anns), dtype=np.int64, count=n)
        cat_id = np.fromiter((a["category_id"] for a in anns), dtype=np.int64, count=n)
    else:
        img_id, cat_id = columns[0], columns[1]
    img = positions(image_ids, img_id)
    cat = positions(category_ids, cat_id)
    keep = np.flatnonzero((img >= 0) & (cat >= 0))
    # (image, category, file order): a stable sort of one key (the file is mostly in image order already)
    order = keep[np.argsort(img[keep] * (len(category_ids) + 1) + cat[keep], kind="stable")]
    sizes = {im["id"]: (im.get("height"), im.get("width")) for im in gt.images} \
        if columns is None or not columns[5].all() else {}
    if columns is None:
        rows = [_completed(anns[i], sizes) for i in order.tolist()]
        boxes = np.array([a["bbox"] for a in rows], dtype=np.float64).reshape(-1, 4)
        areas = np.array([a["area"] for a in rows], dtype=np.float64)
        crowd = np.array([bool(a.get("iscrowd", 0)) for a in rows], dtype=bool)
    else:
        boxes, areas, crowd = columns[2][order], columns[3][order], columns[4][order]
        for r in np.flatnonzero(~columns[5][order]).tolist():  # no area or bbox: completed as pycocotools needs
            done = _completed(anns[int(order[r])], sizes)
            boxes[r], areas[r], crowd[r] = done["bbox"], done["area"], bool(done.get("iscrowd", 0))
    ignore = crowd.copy()  # pycocotools overwrites any `ignore` key with iscrowd
    img_rows = img[order]
    table = GtTable(image_ids, category_ids, img_rows, cat[order], order.astype(np.int64), boxes, areas, crowd,
                    ignore, np.searchsorted(img_rows, np.arange(len(image_ids) + 1)))
    if params.iou_type == "keypoints":
        _add_keypoints(table, rows, gt, params)
    return table


def _native_columns(anns: object) -> tuple[np.ndarray, ...] | None:
    """(image_id, category_id, boxes, areas, iscrowd, complete) of every annotation read by the C core
    (the columns validation's screen reads, without polygons), or None where it is absent or the records
    are not plain JSON ones."""
    if type(anns) is not list:
        return None
    cols = native_columns(anns, polygons=False)
    if cols is None or not cols.fits:
        return None
    return cols.image_id, cols.category_id, cols.box, cols.area, cols.iscrowd != 0, cols.complete


def distinct(ids: np.ndarray) -> np.ndarray:
    """The distinct values of an int column, ascending (np.unique imports numpy.ma on its first call, ~20 ms).
    Runs of equal values (results files come grouped by image) are collapsed before the sort."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < 2:
        return ids.copy()
    heads = np.sort(ids[np.r_[True, ids[1:] != ids[:-1]]])
    return heads[np.r_[True, heads[1:] != heads[:-1]]]


def _completed(ann: dict, sizes: dict) -> dict:
    """The annotation, or a completed copy when `bbox` or `area` is missing (pycocotools needs both):
    both from the segmentation as the dataset core computes them, else area = the box's w*h."""
    box = ann.get("bbox")
    if "area" in ann and box is not None and len(box) == 4:
        return ann
    from cocoseg.io.annotation_geometry import complete_annotation

    h, w = sizes.get(ann["image_id"], (None, None))
    has_segm = bool(ann.get("segmentation"))
    if has_segm and (h is None or w is None):
        raise DataError([Problem("", f"annotation id {ann.get('id')}", "bbox", "is missing and the image has no size")])
    done = complete_annotation(dict(ann), h or 0, w or 0)
    if done.get("bbox") is None or len(done["bbox"]) != 4:
        raise DataError([Problem("", f"annotation id {ann.get('id')}", "bbox",
                                 "is missing and there is no segmentation to compute it from")])
    return done


def _add_keypoints(table: GtTable, rows: list[dict], gt: CocoDataset, params: EvalParams) -> None:
    """Keypoints, the no-visible-keypoint ignore rule and per-row OKS sigmas."""
    cats = {c["id"]: c for c in gt.categories}
    sigma_of: dict[int, np.ndarray] = {}
    for cid in table.category_ids.tolist():
        given = params.keypoint_sigmas or cats.get(cid, {}).get("sigmas")
        sigma_of[cid] = np.asarray(given if given is not None else COCO_KEYPOINT_SIGMAS, dtype=np.float64)
    if params.keypoint_sigmas is None:  # said once: AP then differs from pycocotools'
        warn_category_sigmas(c for c in sigma_of if cats.get(c, {}).get("sigmas") is not None)
    width = max((len(s) for s in sigma_of.values()), default=len(COCO_KEYPOINT_SIGMAS))
    kps = np.zeros((len(rows), 3 * width))
    sig = np.full((len(rows), width), np.nan)
    for i, a in enumerate(rows):
        s = sigma_of[int(table.category_ids[table.cat[i]])]
        k = np.asarray(a.get("keypoints") or [0.0] * 3 * len(s), dtype=np.float64)
        if len(k) != 3 * len(s):
            raise DataError([Problem("", f"annotation id {a.get('id')}", "keypoints",
                                     f"has {len(k) // 3} keypoints but its category has {len(s)} OKS sigmas")])
        kps[i, :len(k)] = k
        sig[i, :len(s)] = s
        visible = a["num_keypoints"] if "num_keypoints" in a else int(np.count_nonzero(k[2::3] > 0))
        table.ignore[i] = table.ignore[i] or visible == 0  # pycocotools: num_keypoints == 0 -> ignore
    table.keypoints, table.sigmas = kps, sig


def select_detections(image_ids: np.ndarray, category_ids: np.ndarray, scores: np.ndarray, table: GtTable,
                      params: EvalParams, image_pos: np.ndarray | None = None,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(index, img, cat, rank) of the detections kept, in (image, cell, rank) order.

    Order inside a cell follows pycocotools: detections in input order (grouped by category
    when categories are pooled), then a stable sort by descending score, then the first
    max_dets[-1]. Detections of other images or categories are dropped, as COCOeval does, and
    those of images not at `image_pos` (ascending positions in table.image_ids; default: all).
    """
    if NATIVE is not None:
        mask = np.ones(len(table.image_ids), np.uint8)
        if image_pos is not None and len(image_pos) < len(table.image_ids):
            mask[:] = 0
            mask[image_pos] = 1
        return group_detections(image_ids, category_ids, scores, table.image_ids, table.category_ids, mask,
                                params.use_cats, params.max_dets[-1])
    img = positions(table.image_ids, np.asarray(image_ids, dtype=np.int64))
    cat = positions(table.category_ids, np.asarray(category_ids, dtype=np.int64))
    keep = np.flatnonzero((img >= 0) & (cat >= 0))
    if image_pos is not None and len(image_pos) < len(table.image_ids):
        keep = keep[np.isin(img[keep], image_pos)]
    neg = -np.asarray(scores, dtype=np.float64)[keep]
    cell = img[keep] * (len(table.category_ids) + 1) + (cat[keep] if params.use_cats else 0)
    # lexsort is stable, so equal keys keep input order: no explicit index key is needed.
    perm = np.lexsort((neg, cell) if params.use_cats else (cat[keep], neg, cell))
    order, key = keep[perm], cell[perm]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    kept = rank < params.max_dets[-1]
    order = order[kept]
    return order, img[order], cat[order], rank[kept]
