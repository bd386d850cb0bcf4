"""COCO datasets -> the Ultralytics YOLO layout: images/<split>/, labels/<split>/*.txt, data.yaml, sidecars."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocoseg.convert import polygons as P
from cocoseg.convert.output import place_image, start_writing, yaml_split_keys
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.convert.yolo_labels import box_line, line_hash, polygon_line
from cocoseg.convert.yolo_sidecar import LINE_FIELDS, new_sidecar, sidecar_path, write_sidecar
from cocoseg.datasets.dataset_yaml import write_data_yaml
from cocoseg.errors import DataError
from cocoseg.io import CategoryMap, CocoDataset, atomic_write
from cocoseg.io.paths import inside
from cocoseg.masks.polygons import clip_polygon

CROWD_SIDECAR = "crowd annotations kept in the sidecar (YOLO has no crowd flag)"
CROWD_LINES = "crowd annotations written as ordinary lines (crowd flag kept in the sidecar)"
ALL_CROWD = ("split '{}': every annotation is iscrowd=1 (CVAT and some tools mark all RLE masks so): "
             "written as lines, not left out; pass crowd=sidecar to keep them out of the labels")
CROWD_MODES = ("auto", "sidecar", "lines")
NO_GEOMETRY = "object without segmentation or box dropped"
EMPTY_BOX = "box with zero width or height dropped"
MASKS_DROPPED = "masks not written (task=detect): boxes only"


@dataclass(frozen=True)
class _Options:
    task: str
    split_parts: bool
    image_mode: str
    crowd: str


def write_yolo(splits: dict[str, tuple[CocoDataset, Path | None]], out: str | Path, task: str = "segment",
               split_parts: bool = False, image_mode: str = "link", progress: Progress = no_progress,
               report: ConvertReport | None = None, crowd: str = "auto") -> ConvertReport:
    """Write COCO splits ({name: (dataset, image folder)}) as a YOLO-seg (or -detect) dataset under `out`.

    One line per object whose polygon rasterizes (pycocotools) to the object's mask: parts and
    holes are bridged unless `split_parts`. Crowd annotations, categories, image records and the
    fields a line cannot hold go to `labels/<split>.coco.json`, which the reverse conversion reads.
    crowd: 'sidecar' keeps crowd regions out of the labels (training on them as objects is wrong),
    'lines' writes them as objects too, 'auto' is 'sidecar' unless every annotation of a split is
    a crowd one (tools such as CVAT mark every RLE mask so), where it is 'lines' with a note.
    """
    if task not in ("segment", "detect"):
        raise DataError(f"task must be 'segment' or 'detect', got {task!r}")
    if crowd not in CROWD_MODES:
        raise DataError(f"crowd must be one of {', '.join(CROWD_MODES)}, got {crowd!r}")
    opts = _Options(task, split_parts, image_mode, crowd)
    out = Path(out)
    report, categories = start_writing(splits, report, f"YOLO-{'seg' if task == 'segment' else 'detect'}")
    cmap = CategoryMap.from_categories(categories)
    for name, (ds, image_root) in splits.items():
        _write_split(name, ds, image_root, out, cmap, categories, opts, progress, report)
    keys, notes = yaml_split_keys(list(splits))
    for text in notes:
        report.note(text)
    yaml_path = write_data_yaml(out / "data.yaml", out, {k: f"images/{v}" for k, v in keys.items()},
                                cmap.label_names, cmap.category_ids,
                                header="# written by cocoseg convert; category_ids: the COCO id of each class index\n")
    report.outputs.append(str(yaml_path))
    if task == "detect":
        report.note(MASKS_DROPPED)
    if image_mode == "none":
        report.note("images not placed: put them in images/<split>/ (YOLO finds each label from its image's path)")
    return report


def _write_split(name: str, ds: CocoDataset, image_root: Path | None, out: Path, cmap: CategoryMap,
                 categories: list[dict], opts: _Options, progress: Progress, report: ConvertReport) -> None:
    label_dir = out / "labels" / name
    side = new_sidecar(ds.info, ds.licenses, categories)
    crowd_lines = opts.crowd == "lines"
    if opts.crowd == "auto" and ds.annotations and all(a.get("iscrowd") for a in ds.annotations):
        crowd_lines = True
        report.note(ALL_CROWD.format(name))
    for image in progress(ds.images, len(ds.images), f"writing {name}"):
        record = f"image id {image['id']}"
        label_path = inside(out, f"labels/{name}/{image['file_name']}", record).with_suffix(".txt")
        if image_root is not None:
            place_image(inside(image_root, image["file_name"], record, follow=False),
                        inside(out, f"images/{name}/{image['file_name']}", record), opts.image_mode, report)
        lines, entries = [], []
        for ann in ds.anns_for_image(image["id"]):
            if ann.get("iscrowd") and not crowd_lines:
                side["crowd"].append(ann)
                report.change(CROWD_SIDECAR)
                continue
            extra = {k: v for k, v in ann.items() if k not in LINE_FIELDS}
            if ann.get("iscrowd"):
                extra["iscrowd"] = ann["iscrowd"]
                report.change(CROWD_LINES)
            if extra:
                side["extra"][str(ann["id"])] = extra
            for line in _object_lines(ann, image, cmap.label(ann["category_id"]), opts.task, opts.split_parts, report):
                lines.append(line)
                entries.append([ann["id"], line_hash(line)])
        text = "".join(line + "\n" for line in lines)
        atomic_write(label_path, lambda fh, t=text: fh.write(t))
        side["images"].append(image)
        side["lines"][image["file_name"]] = entries
        report.written["label files"] += 1
        report.written["label lines"] += len(lines)
    report.outputs.append(str(write_sidecar(sidecar_path(label_dir), side)))
    report.outputs.append(str(label_dir))


def _object_lines(ann: dict, image: dict, label: int, task: str, split_parts: bool,
                  report: ConvertReport) -> list[str]:
    w, h = int(image["width"]), int(image["height"])
    if task == "detect":
        return _box_lines(ann, label, w, h, report)
    segm = ann.get("segmentation")
    if segm:
        rings, reasons = P.object_rings(segm, h, w, split_parts)
        for reason in reasons:
            if reason in (P.EMPTY_MASK, P.DEGENERATE_PART):
                report.drop(reason)
            else:
                report.change(reason)
    elif ann.get("bbox"):
        rings = [P.box_ring(ann["bbox"])]
        report.change(P.BOX_AS_POLYGON)
    else:
        report.drop(NO_GEOMETRY)
        return []
    lines = []
    clipped = False
    for ring in rings:
        if (ring < 0).any() or (ring[:, 0] > w).any() or (ring[:, 1] > h).any():
            ring, clipped = clip_polygon(ring, 0.0, 0.0, w, h), True
        if len(ring) >= 3:
            lines.append(polygon_line(label, ring, w, h))
    report.change(P.CLIPPED, int(clipped))
    if not lines and rings:
        report.drop(P.EMPTY_MASK)
    return lines


def _box_lines(ann: dict, label: int, w: int, h: int, report: ConvertReport) -> list[str]:
    bbox = ann.get("bbox")
    if not bbox:
        report.drop(NO_GEOMETRY)
        return []
    x, y, bw, bh = (float(v) for v in bbox)
    x1, y1, x2, y2 = np.clip([x, y, x + bw, y + bh], 0, [w, h, w, h]).tolist()
    if (x1, y1, x2, y2) != (x, y, x + bw, y + bh):
        report.change(P.CLIPPED)
    if x2 <= x1 or y2 <= y1:
        report.drop(EMPTY_BOX)
        return []
    return [box_line(label, [x1, y1, x2 - x1, y2 - y1], w, h)]
