"""Indexed (palette) PNGs, the format of VOC's SegmentationObject / SegmentationClass images.

OpenCV reads palette PNGs as colours and cannot write them, so indices are recovered through the
file's own PLTE chunk, and writing is a minimal encoder (IHDR, PLTE, IDAT, IEND).
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from cocoseg.errors import DataError

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def voc_palette() -> np.ndarray:
    """(256, 3) uint8 RGB: the Pascal VOC colour map (bits of the index spread over R, G, B)."""
    idx = np.arange(256)
    pal = np.zeros((256, 3), dtype=np.int64)
    for bit in range(8):
        for ch in range(3):
            pal[:, ch] |= ((idx >> (3 * bit + ch)) & 1) << (7 - bit)
    return pal.astype(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_indexed_png(indices: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """PNG bytes of a (H, W) uint8 index image with a 256-colour palette (VOC's by default)."""
    idx = np.ascontiguousarray(indices, dtype=np.uint8)
    if idx.ndim != 2:
        raise ValueError(f"expected (H, W) indices, got shape {idx.shape}")
    pal = voc_palette() if palette is None else np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    h, w = idx.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), idx], axis=1).tobytes()  # filter byte 0 per row
    return (_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + _chunk(b"PLTE", pal.tobytes()) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b""))


def _palette_of(data: bytes, path: Path) -> np.ndarray | None:
    if not data.startswith(_SIGNATURE):
        raise DataError(f"{path}: not a PNG file")
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"PLTE":
            return np.frombuffer(data[pos + 8:pos + 8 + length], dtype=np.uint8).reshape(-1, 3)
        if kind in (b"IDAT", b"IEND"):
            return None
        pos += 12 + length
    return None


def read_indexed_png(path: str | Path) -> np.ndarray:
    """(H, W) uint8 indices of a palette PNG (or the values of a single-channel PNG)."""
    path = Path(path)
    data = path.read_bytes()
    palette = _palette_of(data, path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataError(f"{path}: cannot decode the PNG")
    if palette is None:
        if image.ndim != 2:
            raise DataError(f"{path}: expected an indexed or single-channel PNG, got {image.shape[2]} channels")
        return image.astype(np.uint8)
    if image.ndim == 2:
        return image.astype(np.uint8)
    bgr = image[..., :3].astype(np.int64)
    colours = (bgr[..., 2] << 16) | (bgr[..., 1] << 8) | bgr[..., 0]
    keys = (palette[:, 0].astype(np.int64) << 16) | (palette[:, 1].astype(np.int64) << 8) | palette[:, 2]
    # O(pixels) lookup: a multiplicative hash of the 24-bit colour into 2**16 slots (palette entries
    # that collide, or repeat a colour, go to a sorted fallback)
    def slot_of(k: np.ndarray) -> np.ndarray:
        return ((k * 2654435761) >> 12) & 0xFFFF

    table = np.full(1 << 16, -1, dtype=np.int64)
    slots = slot_of(keys)
    if len(np.unique(slots)) == len(keys):
        table[slots] = np.arange(len(keys))
        out = table[slot_of(colours)]
    else:
        order = np.argsort(keys, kind="stable")
        out = order[np.minimum(np.searchsorted(keys[order], colours), len(keys) - 1)]
        if len(np.unique(keys)) != len(keys):
            raise DataError(f"{path}: the palette repeats a colour; cannot recover the indices")
    bad = (out < 0) | (keys[np.maximum(out, 0)] != colours)
    if bad.any():
        raise DataError(f"{path}: colour #{int(colours[bad][0]):06x} is missing from the palette")
    return out.astype(np.uint8)
