"""The files a download keeps beside its target: the per-item lock, and the clean-up after a failure."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from cocoseg.io.locks import file_lock


def missing_parents(dest: Path) -> list[Path]:
    """The folders above `dest` that do not exist yet, deepest first."""
    missing, parent = [], dest.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    return missing


def remove_if_unused(dest: Path, created: list[Path]) -> None:
    """After a failed download: the lock file, and the folders this call created if nothing else is in them."""
    part = dest.with_name(dest.name + ".part")
    if part.exists() and part.stat().st_size == 0:
        part.unlink()
    if not part.exists():
        dest.with_name(f".{dest.name}.lock").unlink(missing_ok=True)
    for folder in created:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            break


@contextlib.contextmanager
def item_lock(dest: Path) -> Iterator[None]:
    """Hold the lock of one download item; a second download of it waits here, then finds it done."""
    with file_lock(dest.with_name(f".{dest.name}.lock"), wait=True):
        yield
