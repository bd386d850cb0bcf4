"""The one advisory file lock: a download item waits for it, an output folder refuses a second writer.

The lock is `flock` on a small file holding the holder's pid. The kernel drops it when its process dies,
so the file a killed run leaves behind is taken over by the next one (stale locks need no clean-up).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from cocoseg.errors import CocosegError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent writers are then the user's care
    fcntl = None  # type: ignore[assignment]


class LockHeld(CocosegError):
    """Another live process holds the lock."""


def _holder(fh) -> str:
    fh.seek(0)
    text = fh.read(64).decode("ascii", "replace").strip()
    return f"pid {text}" if text.isdigit() else "another process"


@contextlib.contextmanager
def file_lock(lock: Path, wait: bool = True, what: str = "") -> Iterator[None]:
    """Hold an exclusive lock on the file `lock` (created when missing) for the block.

    wait=False: raise LockHeld at once, naming `what` and the holder's pid, when a live process holds it.
    The lock file is removed on exit when `wait` is False (an output folder should not keep it)."""
    while True:
        fh = open(lock, "a+b")  # noqa: SIM115 - closed below, after the unlock
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    raise LockHeld(f"{what or lock}: another cocoseg run ({_holder(fh)}) is writing here; "
                                   f"wait for it to finish (its lock: {lock})") from None
            if _same_inode(fh, lock):
                break  # else the holder removed the file between our open and lock: lock the new one
        except BaseException:
            fh.close()
            raise
        fh.close()
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()).encode("ascii"))
        fh.flush()
        yield
    finally:
        if not wait:
            with contextlib.suppress(OSError):
                lock.unlink()
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def _same_inode(fh, lock: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(lock))
    except FileNotFoundError:
        return False
