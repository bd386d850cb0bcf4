"""COCOeval's per-image path, step by step as pycocotools runs it (same orders, same arithmetic).

The drop-in runs this when a subclass overrides `_prepare`, `computeIoU`, `computeOks` or
`evaluateImg` (detectron2, mmdetection), when the inputs are ones pycocotools treats in its own
way (missing fields, GT id 0, ...), and for `accumulate` over an `evalImgs` list a caller built or
merged (torchvision). It also builds `_gts`, `_dts` and `ious` when they are read after the fast path.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from cocoseg.compat import mask as maskUtils  # noqa: N812


def prepared(ev: Any) -> tuple[defaultdict, defaultdict]:
    """(_gts, _dts) as COCOeval._prepare builds them (segmentations turned into RLEs in place)."""
    p = ev.params
    if p.useCats:
        gts = ev.cocoGt.loadAnns(ev.cocoGt.getAnnIds(imgIds=p.imgIds, catIds=p.catIds))
        dts = ev.cocoDt.loadAnns(ev.cocoDt.getAnnIds(imgIds=p.imgIds, catIds=p.catIds))
    else:
        gts = ev.cocoGt.loadAnns(ev.cocoGt.getAnnIds(imgIds=p.imgIds))
        dts = ev.cocoDt.loadAnns(ev.cocoDt.getAnnIds(imgIds=p.imgIds))
    if p.iouType == "segm":
        for coco, anns in ((ev.cocoGt, gts), (ev.cocoDt, dts)):
            for ann in anns:
                ann["segmentation"] = coco.annToRLE(ann)
    for gt in gts:
        gt["ignore"] = "iscrowd" in gt and gt["iscrowd"]  # any `ignore` of the file is overwritten
        if p.iouType == "keypoints":
            gt["ignore"] = (gt["num_keypoints"] == 0) or gt["ignore"]
    gts_by_cell, dts_by_cell = defaultdict(list), defaultdict(list)
    for gt in gts:
        gts_by_cell[gt["image_id"], gt["category_id"]].append(gt)
    for dt in dts:
        dts_by_cell[dt["image_id"], dt["category_id"]].append(dt)
    return gts_by_cell, dts_by_cell


class PurePath:
    """The overridable steps of COCOeval (mixed into `cocoseg.compat.COCOeval`)."""

    params: Any
    _gts: Any
    _dts: Any
    ious: Any

    def _prepare(self) -> None:
        """Fill _gts and _dts for the current params."""
        self._gts, self._dts = prepared(self)
        self.evalImgs = defaultdict(list)
        self.eval = {}

    def _cell(self, imgId: Any, catId: Any) -> tuple[list, list]:  # noqa: N803
        p = self.params
        if p.useCats:
            return self._gts[imgId, catId], self._dts[imgId, catId]
        return ([g for c in p.catIds for g in self._gts[imgId, c]], [d for c in p.catIds for d in self._dts[imgId, c]])

    def computeIoU(self, imgId: Any, catId: Any) -> Any:  # noqa: N802, N803
        """IoU (D, G) of a cell's top maxDets[-1] detections (by score, stable) against its GT."""
        p = self.params
        gt, dt = self._cell(imgId, catId)
        if len(gt) == 0 and len(dt) == 0:
            return []
        order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in order]
        if len(dt) > p.maxDets[-1]:
            dt = dt[0:p.maxDets[-1]]
        if p.iouType == "segm":
            g, d = [x["segmentation"] for x in gt], [x["segmentation"] for x in dt]
        elif p.iouType == "bbox":
            g, d = [x["bbox"] for x in gt], [x["bbox"] for x in dt]
        else:
            raise Exception("unknown iouType for iou computation")
        return maskUtils.iou(d, g, [int(o["iscrowd"]) for o in gt])

    def computeOks(self, imgId: Any, catId: Any) -> Any:  # noqa: N802, N803
        """OKS (D, G) of a cell, with p.kpt_oks_sigmas for every category."""
        p = self.params
        gts, dts = self._gts[imgId, catId], self._dts[imgId, catId]
        order = np.argsort([-d["score"] for d in dts], kind="mergesort")
        dts = [dts[i] for i in order]
        if len(dts) > p.maxDets[-1]:
            dts = dts[0:p.maxDets[-1]]
        if len(gts) == 0 or len(dts) == 0:
            return []
        ious = np.zeros((len(dts), len(gts)))
        sigmas = p.kpt_oks_sigmas
        variances = (sigmas * 2) ** 2
        k = len(sigmas)
        for j, gt in enumerate(gts):
            g = np.array(gt["keypoints"])
            xg, yg, vg = g[0::3], g[1::3], g[2::3]
            visible = np.count_nonzero(vg > 0)
            bb = gt["bbox"]
            x0, x1 = bb[0] - bb[2], bb[0] + bb[2] * 2
            y0, y1 = bb[1] - bb[3], bb[1] + bb[3] * 2
            for i, dt in enumerate(dts):
                d = np.array(dt["keypoints"])
                xd, yd = d[0::3], d[1::3]
                if visible > 0:
                    dx, dy = xd - xg, yd - yg
                else:  # distance to the GT box doubled
                    z = np.zeros(k)
                    dx = np.max((z, x0 - xd), axis=0) + np.max((z, xd - x1), axis=0)
                    dy = np.max((z, y0 - yd), axis=0) + np.max((z, yd - y1), axis=0)
                e = (dx ** 2 + dy ** 2) / variances / (gt["area"] + np.spacing(1)) / 2
                if visible > 0:
                    e = e[vg > 0]
                ious[i, j] = np.sum(np.exp(-e)) / e.shape[0]
        return ious

    def evaluateImg(self, imgId: Any, catId: Any, aRng: Any, maxDet: int) -> dict | None:  # noqa: N802, N803
        """Greedy matching of one cell for one area range: pycocotools' per-image dict, or None."""
        p = self.params
        gt, dt = self._cell(imgId, catId)
        if len(gt) == 0 and len(dt) == 0:
            return None
        for g in gt:
            g["_ignore"] = 1 if (g["ignore"] or (g["area"] < aRng[0] or g["area"] > aRng[1])) else 0
        gt_order = np.argsort([g["_ignore"] for g in gt], kind="mergesort")
        gt = [gt[i] for i in gt_order]
        dt_order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in dt_order[0:maxDet]]
        iscrowd = [int(o["iscrowd"]) for o in gt]
        cell_ious = self.ious[imgId, catId]
        ious = cell_ious[:, gt_order] if len(cell_ious) > 0 else cell_ious
        n_t, n_g, n_d = len(p.iouThrs), len(gt), len(dt)
        gtm, dtm = np.zeros((n_t, n_g)), np.zeros((n_t, n_d))
        gt_ig = np.array([g["_ignore"] for g in gt])
        dt_ig = np.zeros((n_t, n_d))
        if not len(ious) == 0:
            for t_ind, t in enumerate(p.iouThrs):
                for d_ind, d in enumerate(dt):
                    best, m = min([t, 1 - 1e-10]), -1
                    for g_ind in range(n_g):
                        if gtm[t_ind, g_ind] > 0 and not iscrowd[g_ind]:
                            continue  # taken, and not a crowd region
                        if m > -1 and gt_ig[m] == 0 and gt_ig[g_ind] == 1:
                            break  # matched a regular GT: ignored ones come after
                        if ious[d_ind, g_ind] < best:
                            continue
                        best, m = ious[d_ind, g_ind], g_ind
                    if m == -1:
                        continue
                    dt_ig[t_ind, d_ind] = gt_ig[m]
                    dtm[t_ind, d_ind] = gt[m]["id"]
                    gtm[t_ind, m] = d["id"]
        outside = np.array([d["area"] < aRng[0] or d["area"] > aRng[1] for d in dt]).reshape((1, len(dt)))
        dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(outside, n_t, 0)))
        return {"image_id": imgId, "category_id": catId, "aRng": aRng, "maxDet": maxDet,
                "dtIds": [d["id"] for d in dt], "gtIds": [g["id"] for g in gt], "dtMatches": dtm, "gtMatches": gtm,
                "dtScores": [d["score"] for d in dt], "gtIgnore": gt_ig, "dtIgnore": dt_ig}
