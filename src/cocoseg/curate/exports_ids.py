"""Image ids and file names of pre-labels that other tools accept (pure functions).

- ids: the integer file stem when there is one (``000000005001.jpg`` -> 5001, what Ultralytics'
  COCO results use and what COCO's own ids are); a file without an integer stem, or whose stem id
  an earlier file already took, gets the next free id counting from 1, in file order. The ids of
  the second kind are returned as a mapping {file: id} for the caller to write beside the results.
- names: every ``file_name`` relative to ONE images root, the deepest folder holding all images,
  so a name never contains ``..`` (which supervision's and FiftyOne's COCO importers reject); the
  root is recorded in the dataset's ``info["images_root"]``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def image_ids_from_files(paths: Sequence[str]) -> tuple[list[int], dict[str, int]]:
    """(one id per path, {path: id} for the ids that are not the file's integer stem)."""
    stems: list[int | None] = []
    for p in paths:
        stem = Path(p).stem
        stems.append(int(stem) if stem.isdigit() else None)
    taken: set[int] = set()
    ids: list[int | None] = [None] * len(paths)
    for i, stem in enumerate(stems):
        if stem is not None and stem not in taken:
            ids[i] = stem
            taken.add(stem)
    mapping: dict[str, int] = {}
    next_id = 1
    for i, p in enumerate(paths):
        if ids[i] is None:
            while next_id in taken:
                next_id += 1
            ids[i] = next_id
            taken.add(next_id)
            mapping[str(p)] = next_id
    return [int(i) for i in ids if i is not None], mapping


def images_root(paths: Sequence[str]) -> Path:
    """The deepest folder holding every image (absolute)."""
    if not paths:
        return Path.cwd()
    parents = [str(Path(p).resolve().parent) for p in paths]
    return Path(os.path.commonpath(parents))


def names_under_root(paths: Sequence[str], root: Path | None = None) -> tuple[Path, list[str]]:
    """(images root, each path relative to it with '/' separators); ValueError if a path is outside `root`."""
    base = images_root(paths) if root is None else Path(root).resolve()
    names = []
    for p in paths:
        rel = os.path.relpath(Path(p).resolve(), base).replace(os.sep, "/")
        if rel.startswith("../") or rel == "..":
            raise ValueError(f"{p} is not under the images root {base}")
        names.append(rel)
    return base, names
