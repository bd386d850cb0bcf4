"""Image width and height from the file header, without decoding pixels (PNG, JPEG, BMP, GIF, WebP).

JPEG EXIF orientations 5-8 (rotated by 90 degrees) swap width and height, because OpenCV's
`imread` (and Ultralytics' `exif_size`) apply the orientation: the sizes match the decoded array.
Other formats fall back to decoding with OpenCV.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from cocoseg.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".dng", ".mpo", ".pfm")


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file as OpenCV would decode it; DataError when unreadable."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
            size = _from_header(head, fh)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the image: {exc.strerror or exc}") from None
    except (struct.error, IndexError, ValueError):
        size = None
    if size is None:
        size = _decode_size(path)
    w, h = size
    if w <= 0 or h <= 0:
        raise DataError(f"{path}: the image header gives a size of {w}x{h}")
    return w, h


def _from_header(head: bytes, fh: BinaryIO) -> tuple[int, int] | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head[:2] == b"\xff\xd8":
        return _jpeg_size(fh)
    if head[:2] == b"BM":
        w, h = struct.unpack("<ii", head[18:26])
        return w, abs(h)  # a negative height means a top-down bitmap
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_size(head, fh)
    return None


def _jpeg_size(fh: BinaryIO) -> tuple[int, int] | None:
    """Walk the JPEG markers to the first start-of-frame; note the EXIF orientation on the way."""
    fh.seek(2)
    orientation = 1
    while True:
        byte = fh.read(1)
        while byte and byte != b"\xff":
            byte = fh.read(1)
        while byte == b"\xff":
            byte = fh.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            continue
        length = struct.unpack(">H", fh.read(2))[0]
        body = fh.read(length - 2)
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
            orientation = _exif_orientation(body[6:])
        elif marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", body[1:5])
            return (h, w) if orientation in (5, 6, 7, 8) else (w, h)
        elif marker == 0xDA:  # start of scan without a frame header
            return None


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 in an EXIF TIFF block, 1 when absent."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return 1
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    count = struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]
    for k in range(count):
        entry = tiff[ifd + 2 + 12 * k: ifd + 14 + 12 * k]
        if len(entry) < 12:
            break
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112 and kind == 3:
            return int(struct.unpack(order + "H", entry[8:10])[0])
    return 1


def _webp_size(head: bytes, fh: BinaryIO) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(head[24:27], "little") + 1
        h = int.from_bytes(fh.read(3), "little") + 1 if len(head) < 30 else int.from_bytes(head[27:30], "little") + 1
        return w, h
    fh.seek(20)
    data = fh.read(10)
    if chunk == b"VP8 " and data[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[6:10])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _decode_size(path: Path) -> tuple[int, int]:
    import cv2
    import numpy as np

    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DataError(f"{path}: not a readable image")
    return int(image.shape[1]), int(image.shape[0])
