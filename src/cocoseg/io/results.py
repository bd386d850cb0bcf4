"""Detection results (COCO results format) loaded into columns, with pycocotools' `loadRes` rules.

`loadRes` picks one branch from the FIRST record and applies it to all:
- a non-empty `bbox` -> box results: area = w*h (even when a segmentation is present), iscrowd 0;
  a missing segmentation becomes the box polygon (used only by segm evaluation);
- else a `segmentation` -> mask results: area from the mask, bbox from the mask when missing;
- else `keypoints` -> area and bbox from the extent of all keypoints (visible or not).
Result ids are i+1 in input order. Results naming an image id absent from the GT are rejected.

Departures, all on inputs pycocotools crashes on: an empty result list is accepted (every GT is
missed); mask results may be polygons or uncompressed RLE (rasterized with the image size from
the GT, as annToRLE does); records missing a field their branch needs are reported by index and
field instead of a KeyError.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from cocoseg import masks
from cocoseg.errors import DataError, Problem
from cocoseg.io import results_checks as checks
from cocoseg.io.id_lookup import positions
from cocoseg.io.jsonio import PathLike, read_json
from cocoseg.io.results_json import ScannedColumns, scan_columns, scan_results_file
from cocoseg.io.scan_flags import ScanFlag
from cocoseg.masks import xyxy_to_xywh
from cocoseg.masks.packed_rle import PackedRles

KINDS = ("bbox", "segm", "keypoints")


@dataclass
class DetectionResults:
    """N detections in columns, completed as `loadRes` completes them.

    Attributes:
        image_ids: (N,) int64.
        category_ids: (N,) int64.
        scores: (N,) float64.
        boxes_xywh: (N, 4) float64 [x, y, w, h], absolute pixels.
        areas: (N,) float64, the area used for the area-range rule.
        kind: "bbox", "segm" or "keypoints": the `loadRes` branch (see the module docstring).
        segmentations: N COCO segmentations: PackedRles for mask results; for box results a
            list of segmentations or None entries (the box polygon is used), or None.
        keypoints: (N, 3K) float64 [x1, y1, v1, ...] or None.
        source: where the results came from, for messages.
    """

    image_ids: np.ndarray
    category_ids: np.ndarray
    scores: np.ndarray
    boxes_xywh: np.ndarray
    areas: np.ndarray
    kind: str = "bbox"
    segmentations: list | PackedRles | None = None
    keypoints: np.ndarray | None = None
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def ids(self) -> np.ndarray:
        """Result ids as loadRes assigns them: 1..N in input order."""
        return np.arange(1, len(self) + 1, dtype=np.int64)

    def segmentation(self, i: int) -> Any:
        """The segmentation of result i; box results without one get their box polygon (loadRes)."""
        segm = None if self.segmentations is None else self.segmentations[i]
        if segm is None:
            x, y, w, h = self.boxes_xywh[i].tolist()
            return [[x, y, x, y + h, x + w, y + h, x + w, y]]
        return segm

    def check_images(self, known_image_ids: Sequence[int] | np.ndarray) -> None:
        """DataError naming the first results (index, image_id) whose image is not in `known_image_ids`."""
        bad = np.flatnonzero(positions(np.unique(np.asarray(known_image_ids, dtype=np.int64)), self.image_ids) < 0)
        if len(bad):
            problems = [Problem(self.source, f"result {i}", "image_id",
                                f"{int(self.image_ids[i])} is not an image of the ground truth") for i in bad[:20].tolist()]
            if len(bad) > 20:
                problems.append(Problem(self.source, "", "", f"... {len(bad)} results in all name unknown images"))
            raise DataError(problems)


ResultsSource = Union[PathLike, list, np.ndarray, Mapping, DetectionResults]


def results_from_arrays(image_ids: Any, category_ids: Any, scores: Any, *, boxes_xywh: Any = None,
                        boxes_xyxy: Any = None, masks: Sequence[dict] | None = None, keypoints: Any = None,
                        file: str = "<arrays>") -> DetectionResults:
    """Results from columns (N rows each), completed like a results file holding the same fields.

    Args:
        image_ids, category_ids, scores: (N,) each.
        boxes_xywh / boxes_xyxy: (N, 4) absolute pixels (box results; area = w*h).
        masks: N compressed RLE dicts (mask results when no box is given: area and box from the mask).
        keypoints: (N, K, 3) or (N, 3K) (keypoint results when neither boxes nor masks are given).
    """
    ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    n = len(ids)
    cats = np.asarray(category_ids, dtype=np.int64).reshape(-1)
    conf = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(cats) != n or len(conf) != n:
        raise DataError(f"{file}: image_ids, category_ids and scores must have one value per detection "
                        f"(got {n}, {len(cats)}, {len(conf)})")
    if np.isnan(conf).any():
        raise DataError([Problem(file, f"result {int(np.flatnonzero(np.isnan(conf))[0])}", "score", "must not be NaN")])
    kps = None if keypoints is None else np.asarray(keypoints, dtype=np.float64).reshape(n, -1)
    if boxes_xywh is not None or boxes_xyxy is not None:
        boxes = np.asarray(boxes_xywh if boxes_xywh is not None else xyxy_to_xywh(boxes_xyxy),
                           dtype=np.float64).reshape(-1, 4)
        if len(boxes) != n:
            raise DataError(f"{file}: {len(boxes)} boxes for {n} detections")
        return complete_results("bbox", ids, cats, conf, boxes=boxes, segmentations=None if masks is None else list(masks),
                                keypoints=kps, file=file)
    if masks is not None:
        return complete_results("segm", ids, cats, conf, segmentations=PackedRles.from_rles(list(masks)), keypoints=kps,
                                file=file)
    if kps is not None:
        return complete_results("keypoints", ids, cats, conf, keypoints=kps, file=file)
    raise DataError(f"{file}: give boxes, masks or keypoints")


def complete_results(kind: str, image_ids: np.ndarray, category_ids: np.ndarray, scores: np.ndarray, *,
                     boxes: np.ndarray | None = None, has_box: np.ndarray | None = None,
                     segmentations: list | PackedRles | None = None, keypoints: np.ndarray | None = None,
                     file: str = "<results>") -> DetectionResults:
    """Columns completed by `loadRes`' rules (the one place they are written; see the module docstring).

    bbox: area = w*h. segm (`segmentations` packed): area from the mask, bbox from the mask where
    `has_box` is False (or no boxes are given). keypoints: area and bbox from the keypoint extent.
    """
    if kind == "bbox":
        areas = boxes[:, 2] * boxes[:, 3]
    elif kind == "segm":
        checks.check_packed_rles(segmentations, file)
        areas, mask_boxes, _ = segmentations.stats()
        boxes = mask_boxes if boxes is None or not has_box.any() else np.where(has_box[:, None], boxes, mask_boxes)
    else:
        x, y = keypoints[:, 0::3], keypoints[:, 1::3]
        x0, x1, y0, y1 = (x.min(1), x.max(1), y.min(1), y.max(1)) if len(keypoints) else (np.zeros(0),) * 4
        boxes, areas = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1), (x1 - x0) * (y1 - y0)
    return _checked(DetectionResults(image_ids, category_ids, scores, np.asarray(boxes, np.float64).reshape(-1, 4),
                                     areas, kind, segmentations, keypoints, source=file))


def load_results(source: ResultsSource, image_sizes: dict[int, tuple[int, int]] | None = None,
                 file: str | None = None) -> DetectionResults:
    """Results from a JSON file, a list of result dicts, an (N, 7) array or a DetectionResults.

    Args:
        source: path to a COCO results JSON (a list of {image_id, category_id, score, bbox |
            segmentation | keypoints}); the list itself; pycocotools' numpy layout
            (N, 7) [image_id, x, y, w, h, score, category_id]; or a mapping of columns, the
            keyword arguments of `results_from_arrays` (image_ids, category_ids, scores, ...).
        image_sizes: {image_id: (height, width)}, needed only for polygon or uncompressed-RLE
            mask results, which are rasterized at the image's size.
        file: name used in messages (defaults to the file name).
    """
    if isinstance(source, DetectionResults):
        return source
    if isinstance(source, Mapping):
        cols = dict(source)
        return results_from_arrays(cols.pop("image_id", cols.pop("image_ids", None)),
                                   cols.pop("category_id", cols.pop("category_ids", None)),
                                   cols.pop("score", cols.pop("scores", None)), file=file or "<arrays>", **cols)
    if isinstance(source, np.ndarray):
        return results_from_numpy(source, file=file or "<array>")
    if isinstance(source, (list, tuple)):
        return results_from_records(list(source), image_sizes, file=file or "<results>")
    path = Path(source)
    name = file or path.name
    cols = scan_results_file(path)
    res = complete_scanned(cols, name) if cols is not None else None
    if res is None:
        res = results_from_records(read_json(path), image_sizes, file=name)
    if image_sizes is not None and res.kind == "segm":
        checks.check_rle_sizes(res.segmentations, res.image_ids, image_sizes, name)
    return res


def scan_results_bytes(raw: bytes, name: str = "<bytes>") -> DetectionResults | None:
    """Results from the bytes of a results JSON by the fast scanner, or None when its layout needs `json`."""
    cols = scan_columns(raw)
    return complete_scanned(cols, name) if cols is not None else None


def results_from_numpy(array: np.ndarray, file: str = "<array>") -> DetectionResults:
    """pycocotools' `loadNumpyAnnotations` layout: (N, 7) [image_id, x, y, w, h, score, category_id]."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 7:
        raise DataError(f"{file}: expected an (N, 7) array [image_id, x, y, w, h, score, category_id], got shape {a.shape}")
    return complete_results("bbox", a[:, 0].astype(np.int64), a[:, 6].astype(np.int64), a[:, 5].copy(),
                            boxes=np.ascontiguousarray(a[:, 1:5]), file=file)


def results_from_records(records: Any, image_sizes: dict[int, tuple[int, int]] | None = None,
                         file: str = "<results>") -> DetectionResults:
    """Columns from a list of COCO result dicts, applying loadRes' rules; DataError lists bad records."""
    if not isinstance(records, list):
        raise DataError(f"{file}: expected a JSON list of results, got {type(records).__name__}")
    if not records:
        return empty_results(file)
    first = records[0]
    if not isinstance(first, dict):
        raise DataError([Problem(file, "result 0", "", f"expected an object, got {type(first).__name__}")])
    kind = _kind_of(first, file)
    problems: list[Problem] = []
    image_ids = np.zeros(len(records), np.int64)
    category_ids = np.zeros(len(records), np.int64)
    scores = np.zeros(len(records), np.float64)
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            problems.append(Problem(file, f"result {i}", "", f"expected an object, got {type(rec).__name__}"))
            continue
        image_ids[i] = _integer(rec, "image_id", i, file, problems)
        category_ids[i] = _integer(rec, "category_id", i, file, problems)
        scores[i] = _score(rec, i, file, problems)
        if len(problems) > 200:
            break
    geometry: dict = {}
    if not problems:
        read = {"bbox": _box_columns, "segm": _mask_columns, "keypoints": _keypoint_columns}[kind]
        geometry = read(records, image_ids, image_sizes, file, problems)
    if not problems and kind != "keypoints" and "keypoints" in first:
        geometry["keypoints"] = _keypoint_array(records, file, problems)  # e.g. pose results with a bbox
    if problems:
        raise DataError(problems)
    return complete_results(kind, image_ids, category_ids, scores, file=file, **geometry)


def empty_results(file: str = "<results>") -> DetectionResults:
    """No detections."""
    return DetectionResults(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4)),
                            np.zeros(0), "bbox", source=file)


def complete_scanned(cols: ScannedColumns, file: str) -> DetectionResults | None:
    """DetectionResults from the scanner's columns, or None when the records need the full parser."""
    if cols.rows == 0:
        return empty_results(file)
    flags = cols.flags
    required = ScanFlag.IMAGE_ID | ScanFlag.CATEGORY_ID | ScanFlag.SCORE
    if np.any((flags & required) != required):
        return None
    has_box, has_segm = (flags & ScanFlag.BBOX) != 0, (flags & ScanFlag.SEGMENTATION) != 0
    ids, cats, scores, boxes = cols.image_ids, cols.category_ids, cols.scores, cols.boxes
    if has_box[0]:
        if not has_box.all():
            return None
        packed = cols.rles()
        segms = [packed[i] if has_segm[i] else None for i in range(len(packed))] if has_segm.any() else None
        return complete_results("bbox", ids, cats, scores, boxes=boxes, segmentations=segms, file=file)
    if not has_segm.all():
        return None
    return complete_results("segm", ids, cats, scores, boxes=boxes, has_box=has_box, segmentations=cols.rles(),
                            file=file)


def _kind_of(first: dict, file: str) -> str:
    if "bbox" in first and first["bbox"] != []:
        return "bbox"
    if "segmentation" in first:
        return "segm"
    if "keypoints" in first:
        return "keypoints"
    raise DataError([Problem(file, "result 0", "", checks.no_kind_message(first))])


def _integer(rec: dict, key: str, i: int, file: str, problems: list[Problem]) -> int:
    value = rec.get(key)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and abs(value) < 2**63:
        return int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:  # 30 digits overflowed (16.5)
        return int(value)
    problems.append(Problem(file, f"result {i}", key, "missing" if key not in rec else f"must be an integer (int64), got {value!r}"))
    return 0


def _score(rec: dict, i: int, file: str, problems: list[Problem]) -> float:
    value = rec.get("score")
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and checks.finite_score(value):
        return float(value)
    problems.append(Problem(file, f"result {i}", "score", "missing" if "score" not in rec else f"must be a finite number, got {value!r}"))
    return 0.0


def _numbers(value: Any, n: int | None) -> np.ndarray | None:
    """value as a float64 vector (of length n when given), or None when it is not one."""
    if not isinstance(value, (list, tuple, np.ndarray)) or (n is not None and len(value) != n):
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.ndim != 1 or any(isinstance(v, bool) for v in value):
        return None
    return arr


def _box_columns(records: list, image_ids: np.ndarray, sizes: Any, file: str, problems: list[Problem]) -> dict:
    boxes = np.zeros((len(records), 4))
    segms: list | None = None
    for i, rec in enumerate(records):
        box = _numbers(rec.get("bbox"), 4)
        if box is None:
            what = "missing (the first result has a bbox, so all need one)" if "bbox" not in rec else "must be [x, y, w, h]"
            problems.append(Problem(file, f"result {i}", "bbox", what))
            continue
        boxes[i] = box
        if "segmentation" in rec:
            segms = segms if segms is not None else [None] * len(records)
            segms[i] = rec["segmentation"]
    return {"boxes": boxes, "segmentations": segms}


def _mask_columns(records: list, image_ids: np.ndarray, sizes: Any, file: str, problems: list[Problem]) -> dict:
    rles: list = []
    for i, rec in enumerate(records):
        segm = rec.get("segmentation")
        try:
            rles.append(_as_rle(segm, int(image_ids[i]), sizes))
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(Problem(file, f"result {i}", "segmentation", str(exc) if "segmentation" in rec else "missing"))
            rles.append(None)
    if problems:
        return {}
    boxes, has_box = np.zeros((len(records), 4)), np.zeros(len(records), bool)
    for i, rec in enumerate(records):
        if "bbox" in rec:  # loadRes keeps a given bbox
            box = _numbers(rec["bbox"], 4)
            if box is None:
                problems.append(Problem(file, f"result {i}", "bbox", "must be [x, y, w, h]"))
            else:
                boxes[i], has_box[i] = box, True
    return {"segmentations": PackedRles.from_rles(rles), "boxes": boxes, "has_box": has_box}


def _as_rle(segm: Any, image_id: int, sizes: dict[int, tuple[int, int]] | None) -> dict:
    """A compressed RLE with str counts; polygons and uncompressed RLE are rasterized at the image size."""
    if isinstance(segm, dict):
        size, counts = segm.get("size"), segm.get("counts")
        if _numbers(size, 2) is None:
            raise ValueError("RLE 'size' must be [height, width]")
        counts = counts.decode("latin-1") if isinstance(counts, bytes) else counts
        if checks.rle_record_problem(size, counts):  # a size of 1e19 overflowed, non-ASCII counts (issue 16.5)
            raise ValueError(checks.rle_record_problem(size, counts))
        if isinstance(counts, str):
            return {"size": [int(size[0]), int(size[1])], "counts": counts}
        if isinstance(counts, list):  # uncompressed: held to the validator's rule, as compressed ones are
            rle = {"size": [int(size[0]), int(size[1])], "counts": counts}
            checks.refuse_bad_uncompressed_rle(rle)
            return masks.compress(rle)
        raise ValueError("RLE 'counts' must be a string or a list of run lengths")
    if isinstance(segm, list) and segm:
        if sizes is None or image_id not in sizes:
            raise ValueError("polygon results need the image size: pass the GT (or image_sizes)")
        h, w = sizes[image_id]
        problem = checks.polygon_problem(segm, h, w)
        if problem is not None:
            raise ValueError(problem)
        return masks.segmentation_to_rle(segm, h, w)
    raise ValueError("must be an RLE {'size', 'counts'} or a list of polygons")


def _keypoint_array(records: list, file: str, problems: list[Problem]) -> np.ndarray:
    first = _numbers(records[0].get("keypoints"), None)
    n = 0 if first is None else len(first)
    if n == 0 or n % 3:
        problems.append(Problem(file, "result 0", "keypoints", "must be a non-empty list [x1, y1, v1, ...]"))
        return np.zeros((0, 3))
    kps = np.zeros((len(records), n))
    for i, rec in enumerate(records):
        k = _numbers(rec.get("keypoints"), n)
        if k is None:
            what = "missing" if "keypoints" not in rec else f"must be a list of {n} numbers like the first result's"
            problems.append(Problem(file, f"result {i}", "keypoints", what))
        else:
            kps[i] = k
    return kps


def _keypoint_columns(records: list, image_ids: np.ndarray, sizes: Any, file: str, problems: list[Problem]) -> dict:
    return {"keypoints": _keypoint_array(records, file, problems)}


def _checked(res: DetectionResults) -> DetectionResults:
    checks.check_scores(res.scores, res.source)
    if not np.all(np.isfinite(res.boxes_xywh)):
        i = int(np.flatnonzero(~np.isfinite(res.boxes_xywh).all(1))[0])
        raise DataError([Problem(res.source, f"result {i}", "bbox", "must hold finite numbers")])
    return res
