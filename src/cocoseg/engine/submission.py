"""COCO test-dev submissions: the result file name and zip the evaluation server's upload page asks for,
and the checks the server would otherwise fail on after the upload.

The server takes one zip holding one JSON named ``detections_test-dev2017_NAME_results.json``: a list
of results with ``image_id`` (from the image-info file), ``category_id`` (COCO's 91-id space),
``bbox`` and, for the segm track, ``segmentation`` (RLE); at most 100 results per image. One file with
both fields serves the bbox and the segm upload.
"""
from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from cocoseg.errors import CocosegError

MAX_PER_IMAGE = 100
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def result_file_name(name: str) -> str:
    """``detections_test-dev2017_NAME_results.json`` (NAME: letters, digits, '-' and '_')."""
    if not _NAME.match(name):
        raise CocosegError(f"submission: {name!r} is not a valid algorithm name (letters, digits, '-', '_')")
    return f"detections_test-dev2017_{name}_results.json"


class RecordCheck:
    """Checks each result record before it is written: a known category, a score in [0, 1], finite boxes."""

    def __init__(self, category_ids: Collection[int], file: str) -> None:
        self.category_ids, self.file = set(category_ids), file

    def __call__(self, record: Mapping[str, Any]) -> None:
        where = f"submission {self.file}: image {record.get('image_id')}"
        if record.get("category_id") not in self.category_ids:
            raise CocosegError(f"{where}: category_id {record.get('category_id')} is not a category of the image-info file")
        score = record.get("score")
        if not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
            raise CocosegError(f"{where}: score {score} is outside [0, 1]")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in record.get("bbox", [])):
            raise CocosegError(f"{where}: bbox {record.get('bbox')} has a non-finite value")


def zip_submission(json_path: Path) -> Path:
    """``NAME.zip`` beside the JSON, holding the JSON alone at its root (what the upload page accepts)."""
    target = json_path.with_suffix(".zip")
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(json_path, arcname=json_path.name)
    tmp.replace(target)
    return target
