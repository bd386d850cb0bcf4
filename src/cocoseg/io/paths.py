"""The one rule for paths built from data (image file_name): relative, no `..`, resolving inside its root."""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from cocoseg.errors import DataError

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
