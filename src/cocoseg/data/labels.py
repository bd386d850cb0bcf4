"""Training labels of a split, parsed once from a COCO dataset into flat arrays and cached in one raw file.

Every annotation becomes an instance: its contiguous label, a crowd flag, and its polygon parts in
absolute pixels. Crowd annotations (usually RLE) are kept as ignore regions; RLE masks become their outer
contours. The cache is keyed on the label sources' paths, sizes and modification times, so a second
start skips parsing; it holds only arrays (no pickles).

Why flat arrays: a list of per-image Python objects holding small numpy arrays is copied page by page
into every forked DataLoader worker as soon as the worker touches the objects' reference counts (or
the garbage collector walks them): the copy-on-read growth that takes a train2017-sized label set to
gigabytes per worker. A `LabelStore` is a dozen read-only numpy arrays (offsets + coordinates) whose
buffers the workers share with the parent; an image's `ImageLabels` is materialised only when read.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from cocoseg.data.polygon_parts import rle_to_parts
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset
from cocoseg.io.jsonio import atomic_write
from cocoseg.masks import decode, segmentation_to_rle

CACHE_VERSION = "2"
MAGIC = b"cocoseg-labels\n"
# per image: image_id, hw, file_offsets (I+1), inst_offsets (I+1); per instance: labels, crowd,
# part_offsets (N+1); per part: point_offsets (P+1); per point: points (V, 2) float32. Offsets are
# absolute, so a contiguous slice of images shares every instance-level array.
ARRAYS = ("image_id", "hw", "file_bytes", "file_offsets", "inst_offsets", "labels", "crowd",
          "part_offsets", "point_offsets", "points")


@dataclass
class ImageLabels:
    """One image's file and instances (labels (N,), crowd (N,) bool, parts per instance)."""

    image_id: int
    file: str
    height: int
    width: int
    labels: np.ndarray
    crowd: np.ndarray
    polygons: list[list[np.ndarray]]


class LabelStore:
    """All images' labels as flat read-only arrays; `store[i]` materialises image i's `ImageLabels`."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        for name in ARRAYS:
            arr = np.asarray(arrays[name])
            arr.setflags(write=False)  # shared with forked workers: nobody may write
            setattr(self, name, arr)
        n = len(self.image_id)
        if len(self.hw) != n or len(self.file_offsets) != n + 1 or len(self.inst_offsets) != n + 1:
            raise ValueError("label store: per-image arrays disagree in length")
        if len(self.part_offsets) != len(self.labels) + 1 or len(self.point_offsets) < 1:
            raise ValueError("label store: per-instance arrays disagree in length")

    def __len__(self) -> int:
        return len(self.image_id)

    def __iter__(self) -> Iterator[ImageLabels]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index: int | slice) -> ImageLabels | LabelStore:
        if isinstance(index, slice):
            return self._slice(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"image index {index} out of range ({len(self)} images)")
        return self._image(int(index))

    def _image(self, i: int) -> ImageLabels:
        a0, a1 = self.inst_offsets[i : i + 2].tolist()
        parts = self.part_offsets[a0 : a1 + 1].tolist()
        bounds = self.point_offsets[parts[0] : parts[-1] + 1].tolist() if a1 > a0 else [0]
        p0, points = parts[0], self.points
        polygons = [[points[bounds[j - p0] : bounds[j - p0 + 1]] for j in range(parts[k], parts[k + 1])]
                    for k in range(a1 - a0)]
        h, w = self.hw[i].tolist()
        return ImageLabels(int(self.image_id[i]), self.file(i), h, w, self.labels[a0:a1].astype(np.int64),
                           self.crowd[a0:a1].copy(), polygons)

    def file(self, i: int) -> str:
        """Image i's file path (without materialising its instances)."""
        s, e = self.file_offsets[i : i + 2].tolist()
        return self.file_bytes[s:e].tobytes().decode("utf-8", "surrogateescape")

    def size(self, i: int) -> tuple[int, int]:
        """Image i's (height, width) as annotated."""
        h, w = self.hw[i].tolist()
        return h, w

    def _slice(self, index: slice) -> LabelStore:
        start, stop, step = index.indices(len(self))
        if step != 1:
            return LabelStore.from_images([self[i] for i in range(start, stop, step)])
        stop = max(stop, start)
        arrays = {name: getattr(self, name) for name in ARRAYS}
        for name in ("image_id", "hw"):
            arrays[name] = arrays[name][start:stop]
        for name in ("file_offsets", "inst_offsets"):
            arrays[name] = arrays[name][start : stop + 1]
        return LabelStore(arrays)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(getattr(self, name).nbytes for name in ARRAYS)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (what the cache stores)."""
        return {name: getattr(self, name) for name in ARRAYS}

    @classmethod
    def from_images(cls, images: Sequence[ImageLabels]) -> LabelStore:
        """A store holding `images` (e.g. a list built by hand)."""
        builder = _Builder()
        for im in images:
            builder.add_image(im.image_id, im.file, im.height, im.width)
            for label, crowd, parts in zip(im.labels.tolist(), im.crowd.tolist(), im.polygons):
                builder.add_instance(label, crowd, [np.asarray(p, np.float32).ravel().tolist() for p in parts])
        return builder.build()


Labels = Union[LabelStore, Sequence[ImageLabels]]


class _Builder:
    """Accumulates images and instances as flat Python lists; `build()` makes the arrays once."""

    def __init__(self) -> None:
        self.image_id: list[int] = []
        self.hw: list[tuple[int, int]] = []
        self.files: list[bytes] = []
        self.inst_offsets, self.labels, self.crowd = [0], [], []
        self.part_offsets, self.point_offsets = [0], [0]
        self.coords: list[list[float]] = []

    def add_image(self, image_id: int, file: str, height: int, width: int) -> None:
        self.image_id.append(image_id)
        self.hw.append((height, width))
        self.files.append(file.encode("utf-8", "surrogateescape"))
        self.inst_offsets.append(self.inst_offsets[-1])

    def add_instance(self, label: int, crowd: bool, parts: list[list[float]]) -> None:
        """One instance of the last image; `parts` are flat x, y lists (even length, >= 6 numbers)."""
        self.labels.append(label)
        self.crowd.append(crowd)
        for p in parts:
            self.point_offsets.append(self.point_offsets[-1] + len(p) // 2)
            self.coords.append(p)
        self.part_offsets.append(len(self.point_offsets) - 1)
        self.inst_offsets[-1] += 1

    def build(self) -> LabelStore:
        total = 2 * self.point_offsets[-1]
        points = np.fromiter(chain.from_iterable(self.coords), np.float32, count=total).reshape(-1, 2)
        lengths = np.fromiter(map(len, self.files), np.int64, count=len(self.files))
        return LabelStore({
            "image_id": np.array(self.image_id, np.int64),
            "hw": np.array(self.hw, np.int32).reshape(-1, 2),
            "file_bytes": np.frombuffer(b"".join(self.files), np.uint8).copy(),
            "file_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            "inst_offsets": np.array(self.inst_offsets, np.int64),
            "labels": np.array(self.labels, np.int32),
            "crowd": np.array(self.crowd, bool),
            "part_offsets": np.array(self.part_offsets, np.int64),
            "point_offsets": np.array(self.point_offsets, np.int64),
            "points": points,
        })


def parse_coco(coco: CocoDataset, image_root: str | Path) -> LabelStore:
    """The labels of every image of `coco` (file paths resolved under `image_root`)."""
    cmap = coco.category_map
    builder = _Builder()
    for image in coco.images:
        h, w = int(image["height"]), int(image["width"])
        builder.add_image(int(image["id"]), str(Path(image_root) / image["file_name"]), h, w)
        for ann in coco.anns_for_image(image["id"]):
            parts = _flat_parts(ann, h, w, coco.source)
            if parts:
                builder.add_instance(cmap.label(ann["category_id"]), bool(ann.get("iscrowd", 0)), parts)
    return builder.build()


def _flat_parts(ann: dict, height: int, width: int, file: str) -> list[list[float]]:
    """An annotation's polygon parts as flat coordinate lists (polygons as they are in the file)."""
    seg = ann.get("segmentation")
    if isinstance(seg, list) and seg:
        parts = [p for p in seg if len(p) >= 6]
        if any(len(p) % 2 for p in parts):
            raise CocosegError(f"{file}: annotation {ann.get('id')}: segmentation: a polygon has an odd "
                               "number of coordinates")
        return parts
    return [p.ravel().tolist() for p in annotation_parts(ann, height, width)]


def annotation_parts(ann: dict, height: int, width: int) -> list[np.ndarray]:
    """Polygon parts of an annotation (RLE -> outer contours; box-only -> its rectangle)."""
    seg = ann.get("segmentation")
    if isinstance(seg, list) and seg:
        return [np.asarray(p, np.float32).reshape(-1, 2) for p in seg if len(p) >= 6]
    if isinstance(seg, dict):
        return rle_to_parts(decode(segmentation_to_rle(seg, height, width)))
    if ann.get("bbox"):
        x, y, bw, bh = (float(v) for v in ann["bbox"])
        return [np.array([[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]], np.float32)]
    return []


def fingerprint(sources: Sequence[str | Path]) -> str:
    """Hash of the cache format, and each source's resolved path, size and mtime (files under dirs too)."""
    digest = hashlib.sha1(CACHE_VERSION.encode())
    for src in sources:
        path = Path(src).resolve()
        if path.is_dir():
            entries = sorted(_walk(str(path)))
        else:
            try:
                st = path.stat()
                entries = [(str(path), st.st_size, st.st_mtime_ns)]
            except OSError:
                entries = [(str(path), -1, -1)]
        digest.update("".join(f"{f}|{size}|{mtime}\n" for f, size, mtime in entries).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def _walk(folder: str) -> Iterator[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every file under `folder` (os.scandir: one stat per file, no Path objects)."""
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir():
                    stack.append(entry.path)
                elif entry.is_file():
                    st = entry.stat()
                    yield entry.path, st.st_size, st.st_mtime_ns


def cache_dir() -> Path:
    """Where label caches live: $COCOSEG_CACHE, else $XDG_CACHE_HOME/cocoseg, else ~/.cache/cocoseg."""
    if os.environ.get("COCOSEG_CACHE"):
        return Path(os.environ["COCOSEG_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cocoseg"


def cached_labels(sources: Sequence[str | Path], build: Callable[[], Labels],
                  directory: Path | None = None) -> LabelStore:
    """Labels from the cache when the sources are unchanged, else `build()` and store them."""
    path = (directory or cache_dir()) / f"labels-{fingerprint(sources)}.cache"
    if path.exists():
        try:
            return load_cache(path)
        except (OSError, ValueError, KeyError) as exc:
            logging.getLogger(__name__).warning("ignoring unreadable label cache %s: %s", path, exc)
    labels = as_store(build())
    try:
        save_cache(path, labels)
    except OSError as exc:  # a read-only home must not stop training
        logging.getLogger(__name__).warning("could not write label cache %s: %s", path, exc)
    return labels


def as_store(labels: Labels) -> LabelStore:
    """`labels` as a LabelStore (a list of ImageLabels is converted)."""
    return labels if isinstance(labels, LabelStore) else LabelStore.from_images(list(labels))


def save_cache(path: Path, labels: Labels) -> None:
    """Write labels as one raw file: magic, JSON header (version, dtype/shape/offset per array), the
    arrays 64-byte aligned (atomic: temp file then rename). One read brings it back; no pickles."""
    arrays = {name: np.ascontiguousarray(a) for name, a in as_store(labels).arrays().items()}
    layout, offset = {}, 0
    for name, a in arrays.items():
        layout[name] = [a.dtype.str, list(a.shape), offset]
        offset += _aligned(a.nbytes)
    head = json.dumps({"version": CACHE_VERSION, "arrays": layout}).encode()

    def write(fh: Any) -> None:
        fh.write(MAGIC + len(head).to_bytes(8, "little") + head)
        fh.write(b"\0" * (_aligned(fh.tell()) - fh.tell()))
        for a in arrays.values():
            fh.write(a.tobytes())
            fh.write(b"\0" * (_aligned(a.nbytes) - a.nbytes))

    atomic_write(path, write, mode="wb")


def load_cache(path: Path) -> LabelStore:
    """Read labels written by `save_cache` into one buffer (forked workers share its pages)."""
    with open(path, "rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise ValueError("not a cocoseg label cache")
        size, length = os.fstat(fh.fileno()).st_size, int.from_bytes(fh.read(8), "little")
        if length > size:
            raise ValueError("label cache is truncated (header)")
        head = json.loads(fh.read(length))
        if head.get("version") != CACHE_VERSION:
            raise ValueError(f"label cache format is not version {CACHE_VERSION}")
        start = _aligned(fh.tell())
        buffer = np.empty(max(size - start, 0), np.uint8)
        fh.seek(start)
        if fh.readinto(buffer) != len(buffer):
            raise ValueError("label cache is truncated")
    arrays = {}
    for name in ARRAYS:
        dtype, shape, offset = head["arrays"][name]
        count = int(np.prod(shape))
        if offset + count * np.dtype(dtype).itemsize > len(buffer):
            raise ValueError(f"label cache is truncated ({name})")
        arrays[name] = np.frombuffer(buffer, dtype, count, offset).reshape(shape)
    return LabelStore(arrays)


def _aligned(n: int) -> int:
    return (n + 63) // 64 * 64
