"""What every format writer shares: placing image files (symlink, copy or leave them), one category list
across splits, and the split keys of the data.yaml it writes."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from cocoseg.convert.report import ConvertReport
from cocoseg.datasets.dataset_yaml import SPLIT_KEYS
from cocoseg.errors import DataError
from cocoseg.io import CocoDataset
from cocoseg.io.paths import DISK_ERRNOS, file_name_problem, write_error

IMAGE_MODES = ("link", "copy", "none")
MISSING_IMAGE = "image file missing: annotations written, image not placed"


def place_image(src: Path, dst: Path, mode: str, report: ConvertReport) -> None:
    """Put `src` at `dst` by `mode` ('link', 'copy' or 'none'), atomically; a missing source is counted."""
    if mode not in IMAGE_MODES:
        raise DataError(f"image mode must be one of {', '.join(IMAGE_MODES)}, got {mode!r}")
    if mode == "none":
        return
    if not src.is_file():
        report.drop(MISSING_IMAGE)
        return
    src = src.resolve()
    if _same_file(src, dst):
        report.written["images (already in place)"] += 1
        return
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    except OSError as exc:
        raise write_error(dst, exc) from None
    os.close(fd)
    try:
        os.unlink(tmp)
        if mode == "link":
            try:
                os.symlink(src, tmp)
            except OSError:  # no symlink rights (Windows without developer mode): copy instead
                shutil.copyfile(src, tmp)
                report.note("symlinks unavailable here: images were copied")
        else:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException as exc:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            raise write_error(dst, exc) from None
        raise
    report.written["images linked" if mode == "link" else "images copied"] += 1


def _same_file(src: Path, dst: Path) -> bool:
    """True when `dst` is `src` itself (a hard link): left alone. A symlink is re-made, which also marks it
    as this run's output for `--overwrite`."""
    if not os.path.lexists(dst) or os.path.islink(dst):
        return False
    try:
        return os.path.samefile(src, dst)
    except OSError:
        return False


def shared_categories(splits: dict[str, tuple[CocoDataset, Path | None]]) -> list[dict]:
    """The categories all splits share (DataError when they differ: class indices must agree)."""
    first_name, (first, _) = next(iter(splits.items()))
    key = [(c["id"], c["name"]) for c in sorted(first.categories, key=lambda c: c["id"])]
    for name, (ds, _) in splits.items():
        if [(c["id"], c["name"]) for c in sorted(ds.categories, key=lambda c: c["id"])] != key:
            raise DataError(f"splits '{first_name}' and '{name}' have different categories; "
                            "class indices would disagree between them")
    return sorted(first.categories, key=lambda c: c["id"])


def yaml_split_keys(names: list[str]) -> tuple[dict[str, str], list[str]]:
    """{train/val/test: split folder} for the dataset YAML, and notes on splits standing in for others."""
    keys: dict[str, str] = {}
    for name in names:
        key = name if name in SPLIT_KEYS else next((k for k in SPLIT_KEYS if k in name.lower()), None)
        if key and key not in keys:
            keys[key] = name
    notes = []
    for need in ("train", "val"):
        if need not in keys:
            stand_in = keys.get("val" if need == "train" else "train") or names[0]
            keys[need] = stand_in
            notes.append(f"data.yaml: '{need}' points at split '{stand_in}' (no {need} split in the input)")
    return {k: keys[k] for k in SPLIT_KEYS if k in keys}, notes


def start_writing(splits: dict[str, tuple[CocoDataset, Path | None]], report: ConvertReport | None,
                  output_format: str) -> tuple[ConvertReport, list[dict]]:
    """What every writer starts with: the report it fills (a new one unless given) and the shared categories."""
    report = report if report is not None else ConvertReport()
    report.output_format = output_format
    check_file_names(splits)
    return report, shared_categories(splits)


def check_file_names(splits: dict[str, tuple[CocoDataset, Path | None]]) -> None:
    """DataError for the first image whose file_name is absolute or climbs out (`..`): paths built from data
    must stay inside their output folder; checked before anything is written."""
    for name, (ds, _) in splits.items():
        for image in ds.images:
            problem = file_name_problem(image.get("file_name")) if isinstance(image.get("file_name"), str) else None
            if problem is not None:
                raise DataError(f"split '{name}': image id {image.get('id')}: file_name "
                                f"{image['file_name']!r} {problem}")
