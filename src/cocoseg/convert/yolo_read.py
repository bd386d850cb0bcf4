"""YOLO labels -> an in-memory COCO dataset (sizes from image headers, sidecar restored)."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np

from cocoseg import masks
from cocoseg.convert import polygons as P
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.convert.yolo_labels import LabelLine, line_hash, read_label_file
from cocoseg.convert.yolo_sidecar import read_sidecar, sidecar_path
from cocoseg.datasets.dataset_yaml import DataConfig, SplitSource
from cocoseg.datasets.imagesize import IMAGE_SUFFIXES, image_size
from cocoseg.errors import DataError, Problem
from cocoseg.io import CocoDataset, complete_annotation
from cocoseg.masks.contours import signed_area
from cocoseg.masks.polygons import clip_polygon

MALFORMED = "malformed label line dropped (strict=False)"
DUPLICATE = "duplicate label line dropped"
OUTSIDE = "object entirely outside the image dropped"
BOX_RECT = "box line in a polygon dataset given its rectangle as mask"
CROWD_BACK = "crowd annotations restored from the sidecar"


def list_images(split: SplitSource) -> list[Path]:
    """Image files of a split: folders (searched recursively), .txt lists, files; sorted per folder."""
    found: list[Path] = []
    for source in split.images:
        if source.is_dir():
            found += sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif source.suffix.lower() == ".txt" and source.is_file():
            found += _from_list(source)
        elif source.is_file():
            found.append(source)
        else:
            raise DataError([Problem(str(source), "", split.name, "does not exist (a folder of images, a .txt "
                                                                 "list of images or an image was expected)")])
    seen: set[Path] = set()
    return [p for p in found if not (p in seen or seen.add(p))]


def _from_list(txt: Path) -> list[Path]:
    """Ultralytics' image lists: one path per line, relative ones (./images/...) to the list's folder."""
    out = []
    for line in txt.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line)
            out.append(p if p.is_absolute() else (txt.parent / p))
    return [Path(os.path.normpath(p)) for p in out]


def label_path_for(image: Path) -> Path:
    """Ultralytics' rule: the last `images` folder in the path becomes `labels`, the suffix `.txt`."""
    parts = list(image.parts)
    for k in range(len(parts) - 2, -1, -1):
        if parts[k] == "images":
            parts[k] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def image_root_of(images: list[Path]) -> Path:
    """The folder the `file_name`s are relative to: the images' deepest common folder."""
    return Path(os.path.commonpath([str(p.parent) for p in images]))


def _image_ids(rel_names: list[str], sidecar_ids: dict[str, int]) -> list[int]:
    """Sidecar ids for known images; otherwise COCO-style numeric names (000000000009.jpg -> 9) when
    they are unique, else 1..N; images new to a sidecar get ids after its largest."""
    if sidecar_ids:
        nxt = max(sidecar_ids.values(), default=0) + 1
        out = []
        for name in rel_names:
            if name not in sidecar_ids:
                sidecar_ids[name], nxt = nxt, nxt + 1
            out.append(sidecar_ids[name])
        return out
    stems = [Path(n).stem for n in rel_names]
    if all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems):
        return [int(s) for s in stems]
    return list(range(1, len(rel_names) + 1))


def read_yolo_split(cfg: DataConfig, split: SplitSource, strict: bool = True, report: ConvertReport | None = None,
                    progress: Progress = no_progress) -> tuple[CocoDataset, Path]:
    """One YOLO split as a COCO dataset and the image folder its `file_name`s are relative to.

    Image sizes come from the file headers. Out-of-range coordinates are clipped per object and
    counted; malformed lines raise DataError naming file and line (or are dropped and counted when
    `strict` is False). Bridged rings are split back into parts where that keeps the mask.
    """
    report = report if report is not None else ConvertReport()
    images = list_images(split)
    if not images:
        raise DataError(f"{split.name}: no images found in {', '.join(str(p) for p in split.images)}")
    single = split.images[0] if len(split.images) == 1 and split.images[0].is_dir() else None
    root = single if single is not None else image_root_of(images)
    side = read_sidecar(sidecar_path(label_path_for(root / "x.jpg").parent))
    categories = _categories(cfg, side, report)
    label_of_id = {c["id"]: k for k, c in enumerate(sorted(categories, key=lambda c: c["id"]))}
    ids_of_label = {k: cid for cid, k in label_of_id.items()}
    rel = [p.relative_to(root).as_posix() for p in images]
    side_images = {im["file_name"]: im for im in (side or {}).get("images", [])}
    image_ids = _image_ids(rel, {n: im["id"] for n, im in side_images.items()})
    records: list[dict] = []
    annotations: list[dict] = []
    problems: list[Problem] = []
    next_id = [_max_id(side) + 1]
    has_polygons = False
    for path, name, image_id in progress(list(zip(images, rel, image_ids)), len(images), f"reading {split.name}"):
        try:
            w, h = image_size(path)
        except DataError as exc:
            problems += exc.problems
            continue
        record = copy.deepcopy(side_images.get(name, {}))
        record.update(id=image_id, file_name=name, width=w, height=h)
        records.append(record)
        lines, bad, raws = read_label_file(label_path_for(path), cfg.nc)
        problems += bad
        report.drop(MALFORMED, 0 if strict else len(bad))
        anns = _annotations(lines, raws, record, ids_of_label, report)
        has_polygons |= any(line.kind == "polygon" for line in lines)
        _restore(anns, (side or {}).get("lines", {}).get(name), (side or {}).get("extra", {}), next_id)
        annotations.extend(anns)
    if problems and strict:
        raise DataError(problems)
    annotations += _finish(records, annotations, side, has_polygons, report)
    annotations.sort(key=lambda a: (a["image_id"], a["id"]))
    ds = CocoDataset(records, annotations, categories, info=(side or {}).get("info"),
                     licenses=(side or {}).get("licenses"), source=f"{split.name} ({root})")
    return ds, root


def _categories(cfg: DataConfig, side: dict | None, report: ConvertReport) -> list[dict]:
    cmap = cfg.category_map
    if side and side.get("categories"):
        cats = sorted(side["categories"], key=lambda c: c["id"])
        if tuple(c["name"] for c in cats) == cmap.names:
            return copy.deepcopy(cats)
        report.note("the sidecar's categories differ from the dataset YAML's names: the YAML wins")
    return [{"id": cid, "name": name} for cid, name in zip(cmap.category_ids, cmap.names)]


def _max_id(side: dict | None) -> int:
    if not side:
        return 0
    ids = [int(k) for k in side.get("extra", {})] + [a.get("id", 0) for a in side.get("crowd", [])]
    ids += [e[0] for entries in side.get("lines", {}).values() for e in entries]
    return max(ids, default=0)


def _annotations(lines: list[LabelLine], raws: list[str], image: dict, ids_of_label: dict[int, int],
                 report: ConvertReport) -> list[dict]:
    """One annotation per line (None-free list aligned with `raws`; dropped lines become None)."""
    w, h = image["width"], image["height"]
    out: list = []
    seen: set[str] = set()
    for line, raw in zip(lines, raws):
        key = " ".join(raw.split())
        if key in seen:
            report.drop(DUPLICATE)
            out.append(None)
            continue
        seen.add(key)
        ann = {"image_id": image["id"], "category_id": ids_of_label[line.label], "iscrowd": 0, "_hash": line_hash(raw)}
        ok = _polygon(ann, line.values, w, h, report) if line.kind == "polygon" else _box(ann, line.values, w, h, report)
        out.append(ann if ok else None)
    return out


def _polygon(ann: dict, values: np.ndarray, w: int, h: int, report: ConvertReport) -> bool:
    ring = values * np.array([w, h], dtype=np.float64)
    if (values < 0).any() or (values > 1).any():
        report.change(P.CLIPPED)
        ring = clip_polygon(ring, 0.0, 0.0, w, h)
        if len(ring) < 3 or signed_area(ring) == 0:
            report.drop(OUTSIDE)
            return False
    parts = P.unbridge(ring, h, w)
    ann["segmentation"] = [p.reshape(-1).tolist() for p in parts]
    return True


def _box(ann: dict, values: np.ndarray, w: int, h: int, report: ConvertReport) -> bool:
    cx, cy, bw, bh = values.tolist()
    x1, y1, x2, y2 = (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h
    cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(w)), min(y2, float(h))
    if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
        report.change(P.CLIPPED)
    if cx2 <= cx1 or cy2 <= cy1:
        report.drop(OUTSIDE if bw > 0 and bh > 0 else "box with zero width or height dropped")
        return False
    ann["bbox"] = [round(v, 6) for v in (cx1, cy1, cx2 - cx1, cy2 - cy1)]  # drop float noise of (cx - w/2) * W
    ann["area"] = round((cx2 - cx1) * (cy2 - cy1), 6)
    return True


def _restore(anns: list, entries: list | None, extra: dict, next_id: list[int]) -> None:
    """Give each annotation its id and extra fields from the sidecar when its line is unchanged;
    lines of one annotation (written with --split_parts) merge back into it."""
    aligned = entries is not None and len(entries) == len(anns)
    by_id: dict[int, dict] = {}
    for k, ann in enumerate(anns):
        if ann is None:
            continue
        known = aligned and entries[k][1] == ann["_hash"]
        if known and entries[k][0] in by_id and "segmentation" in ann:
            by_id[entries[k][0]]["segmentation"] += ann["segmentation"]
            anns[k] = None
            continue
        if known:
            ann["id"] = int(entries[k][0])
            ann.update(copy.deepcopy(extra.get(str(ann["id"]), {})))
            by_id[ann["id"]] = ann
        else:
            ann["id"] = next_id[0]
            next_id[0] += 1
    anns[:] = [a for a in anns if a is not None]
    for ann in anns:
        del ann["_hash"]


def _finish(images: list[dict], anns: list[dict], side: dict | None, has_polygons: bool,
            report: ConvertReport) -> list[dict]:
    """Complete area/bbox the pycocotools way; return the sidecar's crowd annotations of these images."""
    sizes = {im["id"]: (im["height"], im["width"]) for im in images}
    for ann in anns:
        h, w = sizes[ann["image_id"]]
        if "segmentation" not in ann and has_polygons:
            x, y, bw, bh = ann["bbox"]
            ann["segmentation"] = [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]]
            report.change(BOX_RECT)
        complete_annotation(ann, h, w)
        if ann.get("iscrowd") and isinstance(ann.get("segmentation"), list):  # a crowd line: COCO keeps crowds as RLE
            ann["segmentation"] = masks.segmentation_to_rle(ann["segmentation"], h, w)
    crowd = [copy.deepcopy(a) for a in (side or {}).get("crowd", []) if a.get("image_id") in sizes]
    if crowd:
        report.written[CROWD_BACK] += len(crowd)
    return crowd
