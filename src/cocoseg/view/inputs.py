"""The viewer's optional inputs: audit and ranking queues (per-image scores) and training runs.

Audit files (`cocoseg audit`) hold a ranked list of issues per annotation or image; ranking files
(`cocoseg rank`) a top-level `images` list of rows. Both are read tolerantly: the first list of
records found under a known key (or the top-level list), each row's image by `image_id` (or its
`file`/`file_name`), its score by `score`; an image's score is the highest of its rows.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import yaml

from cocoseg.errors import CocosegError
from cocoseg.io.jsonio import read_json

_LIST_KEYS = ("images", "issues", "items", "ranking", "ranked", "queue", "annotations", "rows", "results")
_ID_KEYS = ("image_id", "image id", "imageId")
_FILE_KEYS = ("file", "file_name", "image")
_SCORE_KEYS = ("score", "priority", "audit_score", "rank_score")


def read_image_scores(path: str | Path, file_to_id: dict[str, int]) -> dict[int, float]:
    """{image id: highest score} of an audit or ranking JSON; CocosegError when it has none."""
    data = read_json(path)
    rows = _rows(data)
    if rows is None:
        raise CocosegError(f"{path}: no list of records under any of {', '.join(_LIST_KEYS)}")
    out: dict[int, float] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        image_id = _image_id(row, file_to_id)
        score = next((row[k] for k in _SCORE_KEYS if isinstance(row.get(k), (int, float))), None)
        if image_id is None or score is None or math.isnan(float(score)):
            continue
        out[image_id] = max(float(score), out.get(image_id, -math.inf))
    if not out:
        raise CocosegError(f"{path}: no record with an image (image_id or file) and a numeric score")
    return out


def _rows(data: Any) -> list | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            if isinstance(data.get(key), list) and data[key]:
                return data[key]
    return None


def _image_id(row: dict, file_to_id: dict[str, int]) -> int | None:
    for key in _ID_KEYS:
        if isinstance(row.get(key), int):
            return int(row[key])
    for key in _FILE_KEYS:
        value = row.get(key)
        if isinstance(value, str):
            return file_to_id.get(value, file_to_id.get(Path(value).name))
    return None


def find_runs(root: str | Path) -> list[Path]:
    """Run folders (holding results.csv) at `root` or up to two levels below it."""
    base = Path(root)
    if not base.is_dir():
        raise CocosegError(f"--runs {root}: not a folder")
    found = [p.parent for p in (*base.glob("results.csv"), *base.glob("*/results.csv"), *base.glob("*/*/results.csv"))]
    return sorted(set(found))


def read_run(folder: Path, root: Path) -> dict[str, Any]:
    """One run: its name, results.csv columns (numbers, None where empty), args.yaml and metrics.json."""
    with open(folder / "results.csv", newline="") as fh:
        rows = [{k.strip(): v for k, v in r.items() if k} for r in csv.DictReader(fh)]
    columns = list(rows[0]) if rows else []
    values = {c: [_number(r.get(c)) for r in rows] for c in columns}
    args = _optional(folder / "args.yaml", lambda p: yaml.safe_load(p.read_text()))
    metrics = _optional(folder / "metrics.json", lambda p: json.loads(p.read_text()))
    name = str(folder.relative_to(root)) if folder != root else folder.name
    return {"name": name, "columns": columns, "values": values, "args": args, "metrics": metrics}


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _optional(path: Path, reader: Any) -> Any:
    if not path.is_file():
        return None
    try:
        return reader(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return {"error": f"{path.name}: {exc}"}
