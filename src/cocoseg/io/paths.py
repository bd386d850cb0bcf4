"""The one rule for paths built from data (image file_name): relative, no `..`, resolving inside its root;
and for output paths: checked before a long run, one line when a write fails."""
from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Union

from cocoseg.errors import CocosegError, DataError

PathLike = Union[str, "os.PathLike[str]"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def file_name_problem(name: str) -> str | None:
    """Why `name` may not be joined to a folder (absolute, a drive, a `..` part, a NUL), or None when it may."""
    if "\0" in name:
        return "contains a NUL character"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path; file names must be relative to the image folder"
    parts = set(PurePosixPath(name).parts) | set(PureWindowsPath(name).parts)
    if ".." in parts:
        return "has a '..' component; file names must stay inside the image folder"
    return None


def inside(root: Path, name: str, record: str = "", follow: bool = True) -> Path:
    """`root / name`, refused with a DataError naming `record` unless its folder resolves inside `root`.

    Only the folder is resolved: the file itself may be a symlink (a linked image) that a writer replaces
    by rename. `follow=False` checks the name alone (a source that may live behind links)."""
    where = f"{record}: " if record else ""
    problem = file_name_problem(name) if isinstance(name, str) else "is not a string"
    if problem is None:
        path = Path(root) / name
        try:
            if follow:
                path.parent.resolve().relative_to(Path(root).resolve())
        except ValueError:
            problem = f"resolves outside {root} (through a symlink)"
        else:
            return path
    raise DataError(f"{where}file_name {name!r} {problem}")


# errnos of a full or refusing disk: a write that fails with one of these is reported as one line
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS})


def file_in_the_way(path: Path) -> Path | None:
    """The first folder of `path` (itself included) that exists and is not a folder, or None."""
    for part in reversed([Path(path), *Path(path).parents]):
        if part.exists() and not part.is_dir():
            return part
    return None


def check_output_folder(folder: PathLike, what: str = "output folder", target: PathLike | None = None) -> Path:
    """`folder` as a Path, or CocosegError naming `target` (default: the folder) and the file standing where
    the folder or one of its parents should be."""
    blocker = file_in_the_way(Path(folder))
    if blocker is not None:
        where = "it is a file" if blocker == Path(folder) else f"{blocker} is a file"
        raise CocosegError(f"{target or folder}: cannot write the {what} there: {where}, not a folder")
    return Path(folder)


def check_output_file(path: PathLike, what: str = "output file") -> Path:
    """`path` as a Path, or CocosegError when it is a folder or a parent of it is a file (before a long run)."""
    path = Path(path)
    if path.is_dir():
        raise CocosegError(f"{path}: cannot write the {what} there: it is a folder")
    check_output_folder(path.parent, what, target=path)
    return path


def write_error(path: Path, exc: OSError) -> CocosegError:
    """The one-line error for a failed write of `path` (disk full, file too large, a file where a folder
    should be, no permission); the target itself is left as it was."""
    blocker = file_in_the_way(path.parent)
    if blocker is not None:
        reason = f"{blocker} is a file, not a folder"
    elif exc.errno == errno.ENOSPC:
        reason = "no space left on the device"
    elif exc.errno == errno.EFBIG:
        reason = "file too large for this file system"
    else:
        reason = exc.strerror or str(exc)
    return CocosegError(f"{path}: cannot write: {reason} (the file was left as it was)")


def refuse_input_overlap(out: PathLike, inputs: Iterable[PathLike], option: str = "output") -> None:
    """CocosegError when `out` is an input or contains one: writing there would overwrite the input."""
    target = Path(out).resolve()
    for path in inputs:
        resolved = Path(path).resolve()
        if resolved == target or target in resolved.parents:
            what = "is" if resolved == target else "contains"
            raise CocosegError(f"{out}: the {option} {what} the input {path}; writing there would overwrite "
                               "the input: choose another path")
