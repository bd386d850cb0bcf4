"""The audit's outputs: per-image and per-annotation rows, the ranked review list, CSV, suggested fixes.

The suggested-fixes file is the audited dataset with every suggestion applied, so accepting them
all is using that file. Each touched annotation carries an ``audit`` object: ``{"fix": "added" |
"relabelled" | "reshaped", "type", "score", ...}``; removed annotations leave `annotations` and are
kept whole in ``info["audit"]["removed"]`` with the reason.
"""
from __future__ import annotations

import copy
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.curate import audit_scores as S
from cocoseg.io import CocoDataset
from cocoseg.io.jsonio import PathLike, atomic_write
from cocoseg.io.results import DetectionResults

FLAG_BELOW = {"overlooked": 0.5, "swap": 0.5, "badloc": 0.7, "duplicate": 0.5, "degenerate": 0.5}
FIXES = {"overlooked": "added", "swap": "relabelled", "badloc": "reshaped", "duplicate": "removed",
         "degenerate": "removed"}


@dataclass(frozen=True)
class AuditReport:
    """Per-annotation, per-prediction and per-image scores of an audit, and the ranked issues."""

    geometry: str
    settings: dict[str, Any]
    images: list[dict]
    annotations: list[dict]
    overlooked: list[dict]
    issues: list[dict]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"geometry": self.geometry, "settings": self.settings, "issues": self.issues, "images": self.images,
                "annotations": self.annotations, "overlooked": self.overlooked}


CSV_FIELDS = ("rank", "image_id", "file_name", "image_score", "type", "score", "fix", "annotation_id",
              "category_id", "category", "suggested_category_id", "suggested_category", "prediction_index",
              "prediction_score")


def build_report(gt: CocoDataset, dets: DetectionResults, items: list, mode: str, settings: dict) -> AuditReport:
    """An AuditReport of scored images (see `cocoseg.curate.audit`)."""
    names = {c["id"]: str(c.get("name", c["id"])) for c in gt.categories}
    images, annotations, overlooked, issues = [], [], [], []
    for item in items:
        image = gt.image(item.image_id)
        pooled = {t: S.softmin(item.scores[t], settings["temperature"]) for t in S.TYPES}
        image_score = S.geometric_mean(pooled, settings["weights"])
        base = {"image_id": item.image_id, "file_name": image.get("file_name", ""), "image_score": image_score}
        first = len(issues)
        for row, pos in enumerate(item.labels.tolist()):
            ann = gt.annotations[pos]
            scores = {t: float(item.scores[t][row]) for t in S.TYPES if t != "overlooked"}
            flagged = [t for t, v in scores.items() if v < FLAG_BELOW[t]]
            record = {"annotation_id": ann.get("id"), "image_id": item.image_id, "category_id": ann["category_id"],
                      "scores": scores, "issues": flagged}
            swap_col = int(item.extra["swap_to"][row])
            if swap_col >= 0:
                record["suggested_category_id"] = int(dets.category_ids[item.preds[swap_col]])
            if item.extra["duplicate_of"][row] >= 0:
                record["duplicate_of"] = gt.annotations[int(item.labels[item.extra["duplicate_of"][row]])].get("id")
            annotations.append(record)
            for t in flagged:
                issues.append(_issue(base, t, scores[t], FIXES[t], ann, names, record, item, dets, row))
        for col in np.flatnonzero(~np.isnan(item.scores["overlooked"])).tolist():
            score = float(item.scores["overlooked"][col])
            d = int(item.preds[col])
            entry = {"image_id": item.image_id, "prediction_index": d, "category_id": int(dets.category_ids[d]),
                     "prediction_score": float(dets.scores[d]), "score": score,
                     "bbox": [float(v) for v in dets.boxes_xywh[d]]}
            overlooked.append(entry)
            if score < FLAG_BELOW["overlooked"]:
                issues.append({**base, "type": "overlooked", "score": score, "fix": "added", "annotation_id": None,
                               "category_id": entry["category_id"], "category": names.get(entry["category_id"], ""),
                               "suggested_category_id": entry["category_id"],
                               "suggested_category": names.get(entry["category_id"], ""), "prediction_index": d,
                               "prediction_score": entry["prediction_score"]})
        counts = {t: sum(1 for i in issues[first:] if i["type"] == t) for t in S.TYPES}
        images.append({**base, "scores": pooled, "issues": counts})
    images.sort(key=lambda r: (r["image_score"], r["image_id"]))
    issues.sort(key=lambda r: (r["image_score"], r["score"], r["image_id"]))
    for rank, row in enumerate(issues, 1):
        row["rank"] = rank
    return AuditReport(mode, settings, images, annotations, overlooked, issues)


def _issue(base: dict, kind: str, score: float, fix: str, ann: dict, names: dict, record: dict, item: Any,
           dets: DetectionResults, row: int) -> dict:
    col = {"swap": int(item.extra["swap_to"][row]), "badloc": int(item.extra["badloc_pred"][row])}.get(kind, -1)
    d = int(item.preds[col]) if col >= 0 else None
    suggested = record.get("suggested_category_id") if kind == "swap" else ann["category_id"]
    return {**base, "type": kind, "score": score, "fix": fix, "annotation_id": ann.get("id"),
            "category_id": ann["category_id"], "category": names.get(ann["category_id"], ""),
            "suggested_category_id": suggested, "suggested_category": names.get(suggested, ""),
            "prediction_index": d, "prediction_score": None if d is None else float(dets.scores[d])}


def issues_csv(report: Any) -> str:
    """The ranked review list as CSV text (one row per flagged issue)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in report.issues:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_FIELDS})
    return buf.getvalue()


def write_csv(path: PathLike, report: Any) -> Path:
    """Write `issues_csv(report)` atomically."""
    text = issues_csv(report)
    return atomic_write(path, lambda f: f.write(text))


def suggested_fixes(gt: CocoDataset, dets: DetectionResults, report: Any) -> CocoDataset:
    """A copy of `gt` with every flagged issue's fix applied and marked (see the module docstring)."""
    anns = {a.get("id"): copy.deepcopy(a) for a in gt.annotations}
    removed: list[dict] = []
    next_id = max([int(a["id"]) for a in gt.annotations if "id" in a] or [0]) + 1
    added: list[dict] = []
    for issue in report.issues:
        kind, aid = issue["type"], issue["annotation_id"]
        marker = {"fix": issue["fix"], "type": kind, "score": round(issue["score"], 6)}
        if kind == "overlooked":
            added.append(_from_prediction(gt, dets, issue["prediction_index"], next_id, marker))
            next_id += 1
        elif aid in anns and issue["fix"] == "removed":
            removed.append({"annotation": anns.pop(aid), **marker})
        elif aid in anns and kind == "swap":
            ann = anns[aid]
            ann["audit"] = dict(marker, previous_category_id=ann["category_id"])
            ann["category_id"] = issue["suggested_category_id"]
        elif aid in anns and kind == "badloc" and issue["prediction_index"] is not None:
            ann = anns[aid]
            geometry = _from_prediction(gt, dets, issue["prediction_index"], aid, marker)
            ann["audit"] = dict(marker, previous_bbox=ann.get("bbox"))
            ann.update(bbox=geometry["bbox"], area=geometry["area"], segmentation=geometry["segmentation"])
    info = dict(gt.info or {})
    info["audit"] = {"removed": removed, "added": len(added), "source": gt.source}
    kept = [a for a in anns.values()]
    return CocoDataset(copy.deepcopy(gt.images), kept + added, copy.deepcopy(gt.categories), info,
                       copy.deepcopy(gt.licenses), source="<audit fixes>")


def _from_prediction(gt: CocoDataset, dets: DetectionResults, d: int, ann_id: int, marker: dict) -> dict:
    image_id = int(dets.image_ids[d])
    image = gt.image(image_id)
    box = [float(v) for v in dets.boxes_xywh[d]]
    if dets.segmentations is not None and dets.segmentations[d] is not None:
        rle = masks.segmentation_to_rle(dets.segmentation(d), int(image["height"]), int(image["width"]))
        segmentation: Any = {"size": list(rle["size"]), "counts": rle["counts"].decode() if isinstance(
            rle["counts"], bytes) else rle["counts"]}
        area = float(masks.area(rle))
    else:
        x, y, w, h = box
        segmentation, area = [[x, y, x + w, y, x + w, y + h, x, y + h]], w * h
    return {"id": ann_id, "image_id": image_id, "category_id": int(dets.category_ids[d]), "bbox": box, "area": area,
            "segmentation": segmentation, "iscrowd": 0,
            "audit": dict(marker, prediction_score=float(dets.scores[d]))}
