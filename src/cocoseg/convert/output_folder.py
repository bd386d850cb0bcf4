"""The output folder of a conversion: never an input, one writer at a time, and what a used one may become.

- An output that is, or contains, an input file or folder is refused (it would overwrite the input).
- A lock file in the folder (`.cocoseg-convert.lock`, flock) makes a second concurrent conversion fail at
  once; the kernel drops the lock of a killed run, so its left-over file is simply taken over.
- A run that fails in a folder it created removes that folder.
- A non-empty folder is refused unless `exist_ok` (write into it: files of the same name are replaced,
  all others kept) or `overwrite` (afterwards, remove every file this run did not write, so the folder
  holds exactly this run's output; only in a folder that holds a dataset: a data.yaml or a VOC sidecar).
"""
from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cocoseg.convert.voc_read import SIDECAR
from cocoseg.datasets.dataset_yaml import DataConfig, SplitSource
from cocoseg.errors import CocosegError
from cocoseg.io.locks import file_lock
from cocoseg.io.paths import check_output_folder, refuse_input_overlap

LOCK_NAME = ".cocoseg-convert.lock"
DATASET_MARKERS = ("data.yaml", SIDECAR)


@dataclass
class OutputClaim:
    """What `claim_output` did: the files of an earlier run it removed (with overwrite)."""

    folder: Path
    removed: int = 0


def input_paths(cfg: DataConfig, source: Path | None = None) -> list[Path]:
    """Every file or folder a conversion of `cfg` reads: YAML, annotation files, image folders, YOLO labels."""
    paths = [p for p in (source, cfg.yaml_file) if p is not None]
    for split in cfg.splits.values():
        paths += _split_paths(split)
    return paths


def _split_paths(split: SplitSource) -> list[Path]:
    paths = [p for p in (split.annotations, split.image_set) if p is not None]
    for images in split.images:
        paths.append(images)
        if split.format == "yolo" and "images" in images.parts:  # labels/ beside images/, the Ultralytics way
            index = len(images.parts) - 1 - images.parts[::-1].index("images")
            paths.append(Path(*images.parts[:index], "labels", *images.parts[index + 1:]))
    for part in split.parts:
        paths += _split_paths(part)
    return paths


@contextlib.contextmanager
def claim_output(out: str | Path, inputs: Iterable[Path] = (), exist_ok: bool = False,
                 overwrite: bool = False) -> Iterator[OutputClaim]:
    """Hold `out` for one conversion: refuse inputs inside it, lock it, check it may be written (see module)."""
    out = check_output_folder(Path(out))
    refuse_input_overlap(out, inputs)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CocosegError(f"{out}: cannot create the output folder: {exc.strerror or exc}") from None
    claim = OutputClaim(out)
    with file_lock(out / LOCK_NAME, wait=False, what=str(out)):
        before = _files_before(out, exist_ok, overwrite)
        try:
            yield claim
        except BaseException:
            if created:  # a failed run into a new folder leaves no folder (it held only this run's files)
                shutil.rmtree(out, ignore_errors=True)
            raise
        if overwrite:
            claim.removed = _remove_unwritten(out, before)


def _files_before(out: Path, exist_ok: bool, overwrite: bool) -> dict[Path, tuple]:
    """The files already in `out` with their identity (for overwrite), after checking they may be there."""
    entries = [e for e in os.listdir(out) if e != LOCK_NAME]
    if not entries:
        return {}
    if not (exist_ok or overwrite):
        raise CocosegError(f"{out}: the output folder is not empty ({len(entries)} entries); pass --exist_ok to "
                           "write into it (same names replaced, other files kept) or --overwrite to leave exactly "
                           "this run's output (files it does not write are removed)")
    if not overwrite:
        return {}
    if not any((out / m).is_file() for m in DATASET_MARKERS):
        raise CocosegError(f"{out}: --overwrite removes files, and this folder does not hold a dataset written "
                           f"by cocoseg (no {' or '.join(DATASET_MARKERS)}): empty it yourself, or use --exist_ok")
    return {path: _identity(path) for path in _walk(out)}


def _walk(out: Path) -> Iterator[Path]:
    """Every file and link under `out` (links to folders are not followed), the lock file left out."""
    for folder, dirs, files in os.walk(out, followlinks=False):
        base = Path(folder)
        yield from (base / d for d in dirs if (base / d).is_symlink())
        yield from (base / f for f in files if not (folder == str(out) and f == LOCK_NAME))


def _identity(path: Path) -> tuple:
    st = path.lstat()
    return st.st_dev, st.st_ino, st.st_mtime_ns


def _remove_unwritten(out: Path, before: dict[Path, tuple]) -> int:
    """Remove the files of `before` this run did not replace (same inode, same mtime), then emptied folders.

    Writers replace files by rename, so a rewritten file has a new identity. A hard-linked file is kept:
    it is an image left in place, not a stale output."""
    removed, emptied = 0, set()
    for path, identity in before.items():
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if (st.st_dev, st.st_ino, st.st_mtime_ns) == identity and (path.is_symlink() or st.st_nlink == 1):
            path.unlink()
            removed += 1
            emptied.update(p for p in path.parents if out in p.parents)
    for folder in sorted(emptied, key=lambda p: -len(p.parts)):  # deepest first: only folders left empty
        with contextlib.suppress(OSError):
            folder.rmdir()
    return removed
