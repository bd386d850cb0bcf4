"""Placing image files in an output dataset: symlink (default), copy, or leave them where they are."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from cocoseg.convert.report import ConvertReport
from cocoseg.errors import DataError

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
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
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
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    report.written["images linked" if mode == "link" else "images copied"] += 1


def _same_file(src: Path, dst: Path) -> bool:
    if not os.path.lexists(dst):
        return False
    try:
        return dst.resolve() == src or os.path.samefile(src, dst)
    except OSError:
        return False
