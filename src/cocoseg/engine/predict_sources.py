"""Prediction sources: an image, a folder, a glob, a list file, a video, or in-memory arrays."""
from __future__ import annotations

import glob
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import cv2
import numpy as np

from cocoseg.errors import CocosegError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng", ".pfm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm", ".wmv", ".gif"})
LIST_SUFFIXES = frozenset({".txt", ".list"})

Source = Union[str, Path, np.ndarray, Sequence[Union[str, Path, np.ndarray]]]


@dataclass
class Frame:
    """One image to predict on: BGR pixels, where it came from, and how long reading took (ms)."""

    path: str
    image: np.ndarray | None  # None: unreadable, `error` says why (the run reports and skips it)
    frame: int | None = None
    read_ms: float = 0.0
    error: str | None = None


def _is_media(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES


def resolve_source(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The media files a source names, in a stable order; a CocosegError if there are none."""
    if isinstance(source, (list, tuple)):
        return [p for item in source for p in resolve_source(item)]
    text = str(source)
    path = Path(text)
    _refuse_streams(text, path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and _is_media(p))
    elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        files = _read_list(path)
    elif path.is_file():
        if not _is_media(path):
            raise CocosegError(f"source {text}: unsupported file type {path.suffix!r} (images, videos or a .txt list)")
        files = [path]
    elif any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if _is_media(Path(p)))
    else:
        raise CocosegError(f"source {text}: no such file, folder or glob match")
    if not files:
        raise CocosegError(f"source {text}: no images or videos found")
    return files


STREAM_SCHEMES = ("http://", "https://", "rtsp://", "rtmp://", "tcp://", "udp://")


def _refuse_streams(text: str, path: Path) -> None:
    """Webcams (`source=0`) and URLs: a clear refusal instead of 'no such file'."""
    if path.exists():
        return
    if text.isdigit():
        raise CocosegError(f"source {text}: webcam/camera sources are not supported; cocoseg predicts image "
                           "and video files, folders, globs and .txt lists")
    if text.lower().startswith(STREAM_SCHEMES):
        raise CocosegError(f"source {text}: URLs and network streams are not supported; download the file and "
                           "predict the local copy")


def _read_list(path: Path) -> list[Path]:
    """A list file: one image/video path per line (relative to the list's folder); '#' comments."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        item = Path(line) if Path(line).is_absolute() else path.parent / line
        if not item.is_file():
            raise CocosegError(f"{path}: line {n}: {line} does not exist")
        out.append(item)
    return out


def iter_frames(source: Source, vid_stride: int = 1) -> Iterator[Frame]:
    """Frames of a source: each image once, every `vid_stride`-th video frame; arrays pass through (BGR)."""
    if isinstance(source, np.ndarray):
        yield Frame("image0", _check_array(source, "image0"))
        return
    if isinstance(source, (list, tuple)) and source and all(isinstance(s, np.ndarray) for s in source):
        for i, arr in enumerate(source):
            yield Frame(f"image{i}", _check_array(arr, f"image{i}"))
        return
    for path in resolve_source(source):  # type: ignore[arg-type]
        if path.suffix.lower() in VIDEO_SUFFIXES:
            yield from _video_frames(path, vid_stride)
        else:
            start = time.perf_counter()
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            error = None if image is not None else "cannot read image (corrupt, truncated or unsupported)"
            yield Frame(str(path), image, None, (time.perf_counter() - start) * 1e3, error)


def _video_frames(path: Path, vid_stride: int = 1) -> Iterator[Frame]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        yield Frame(str(path), None, error="cannot open video (corrupt or unsupported codec)")
        return
    try:
        index = 0
        while True:
            start = time.perf_counter()
            if index % vid_stride:  # a skipped frame is only demuxed, not decoded
                if not capture.grab():
                    break
                index += 1
                continue
            ok, image = capture.read()
            if not ok:
                break
            yield Frame(str(path), image, index, (time.perf_counter() - start) * 1e3)
            index += 1
    finally:
        capture.release()


def _check_array(image: np.ndarray, name: str) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise CocosegError(f"{name}: expected a uint8 (H, W, 3) BGR image, got {image.dtype} {image.shape}")
    return image[..., :3] if image.shape[2] == 4 else image


def video_fps(path: str | Path) -> float:
    """Frames per second of a video (30 if unknown)."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0
    capture.release()
    return float(fps) if fps and fps > 0 else 30.0
