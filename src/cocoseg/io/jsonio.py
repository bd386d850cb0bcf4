"""JSON files in and out: plain or gzip, clear errors with line and column, atomic writes."""
from __future__ import annotations

import gzip
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable, Union

from cocoseg.errors import DataError

PathLike = Union[str, "os.PathLike[str]"]


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def read_json(path: PathLike) -> Any:
    """Parse a JSON (or .json.gz) file; DataError names the file, line and column of a syntax error."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a JSON file")
    try:
        raw = gzip.open(path, "rb").read() if _is_gzip(path) else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a corrupt gzip stream
        raise DataError(f"{name}: cannot read: {exc}") from None
    if not raw.strip():
        raise DataError(f"{name}: the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text (byte {exc.start}); expected a JSON file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) else ""
        raise DataError(f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}") from None
    except RecursionError:
        raise DataError(f"{name}: invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal over Python's 4300-digit limit
        raise DataError(f"{name}: invalid JSON: {exc}") from None


def atomic_write(path: PathLike, write: Callable[[Any], None], mode: str = "w") -> Path:
    """Write a file through `write(handle)` into a temp file beside it, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_json(path: PathLike, data: Any, indent: int | None = None) -> Path:
    """Write JSON atomically; compact by default, gzip when the name ends with .gz."""
    path = Path(path)
    separators = (",", ":") if indent is None else None
    text = json.dumps(data, indent=indent, separators=separators, allow_nan=False)
    if path.suffix == ".gz":
        payload = gzip.compress(text.encode("utf-8"), mtime=0)
        return atomic_write(path, lambda fh: fh.write(payload), mode="wb")
    return atomic_write(path, lambda fh: fh.write(text), mode="w")
