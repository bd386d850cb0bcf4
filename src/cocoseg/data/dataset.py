"""The training/validation dataset: images + polygon labels -> augmented tensors and masks.

Randomness: each item draws from `np.random.default_rng((seed, epoch, index))`, so a batch depends
only on the seed, the epoch and the indices, never on the number of workers or on what ran before;
this is what makes `resume=True` exact.

Masks are rasterised at 1/`mask_ratio` of the input size. `overlap_mask=True` (the reference default)
stores all instances of an image in ONE index map (pixel = 1 + instance index): where two instances
overlap, the pixel belongs only to the smaller one, so the larger object's training target has a hole
where the smaller one covers it. It saves memory; it does not mean "allow overlapping masks".
`overlap_mask=False` keeps one full binary mask per instance (overlaps belong to both).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import cv2
import numpy as np
import torch

from cocoseg.data.augment import LetterBox, RandomFlip, RandomHSV, RandomPerspective
from cocoseg.data.augment_config import AugmentConfig
from cocoseg.data.labels import Labels, as_store
from cocoseg.data.mix import CopyPaste, MixUp, Mosaic, is_scale_translate
from cocoseg.data.polygon_parts import rasterize_each, rasterize_overlap
from cocoseg.data.sample import Sample, Transform, run
from cocoseg.errors import CocosegError


class SegmentationDataset(torch.utils.data.Dataset):
    """Items are dicts of tensors: img (3, S, S) uint8 RGB, labels, boxes_xyxy, masks, crowd boxes."""

    def __init__(self, labels: Labels, imgsz: int, augment: bool = False,
                 hyp: AugmentConfig | None = None, mask_ratio: int = 4, overlap_mask: bool = True,
                 seed: int = 0, with_masks: bool = True, buffer_bytes: int = 1 << 30):
        if augment and not labels:
            raise CocosegError("the training split has no images")
        self.items = as_store(labels)  # flat arrays shared by forked workers (see cocoseg.data.labels)
        self.imgsz, self.augment, self.hyp = imgsz, augment, hyp or AugmentConfig()
        self.mask_ratio, self.overlap_mask, self.seed, self.with_masks = mask_ratio, overlap_mask, seed, with_masks
        # (epoch, mosaic closed) in shared memory, so persistent loader workers see set_epoch/close_mosaic
        self._state = torch.zeros(2, dtype=torch.int64).share_memory_()
        self._images: list[np.ndarray] | None = None  # decoded, resized images when cached in RAM
        # per-process LRU of decoded, resized images: a mosaic reads 4 images, so most reads are repeats.
        # Keyed by index, it returns exactly what a fresh read would: items stay a function of
        # (seed, epoch, index). `buffer_bytes` caps each process's share (also <= 1/4 of free memory).
        self.buffer_bytes = buffer_bytes
        self._buffer: OrderedDict[int, np.ndarray] = OrderedDict()
        self._buffer_used, self._buffer_cap = 0, -1

    @property
    def epoch(self) -> int:
        return int(self._state[0])

    @property
    def mosaic_closed(self) -> bool:
        return bool(self._state[1])

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of an epoch (call before building that epoch's loader iterator)."""
        self._state[0] = epoch

    def close_mosaic(self) -> None:
        """Turn mosaic, mixup and copy-paste off (the last `close_mosaic` epochs)."""
        self._state[1] = 1

    # ---- loading -----------------------------------------------------------------------------
    def cache_images(self, max_fraction: float = 0.5) -> bool:
        """Decode and resize every image once and keep them in RAM (shared with forked loader workers).

        Skipped, returning False, when they would take more than `max_fraction` of the available memory.
        """
        hw = self.items.hw.astype(np.float64)
        r = self.imgsz / hw.max(1)
        need = int((3 * np.round(hw[:, 0] * r) * np.round(hw[:, 1] * r)).sum())
        if need > max_fraction * _available_memory():
            return False
        images = []
        for i in range(len(self)):
            image = self._read(i)
            image.setflags(write=False)  # transforms must copy, never write into the cache
            images.append(image)
        self._images = images
        return True

    def _read(self, index: int) -> np.ndarray:
        """The image file decoded and resized so its long side is `imgsz`."""
        file, (h, w) = self.items.file(index), self.items.size(index)
        image = cv2.imread(file, _read_flag(max(w, h), self.imgsz, file))
        if image is None:
            raise CocosegError(f"{file}: cannot read image (image id {int(self.items.image_id[index])})")
        h0, w0 = image.shape[:2]
        r = self.imgsz / max(h0, w0)
        if r != 1:
            interp = cv2.INTER_LINEAR if (self.augment or r > 1) else cv2.INTER_AREA
            image = cv2.resize(image, (max(1, round(w0 * r)), max(1, round(h0 * r))), interpolation=interp)
        return image

    def _image(self, index: int) -> np.ndarray:
        """The decoded, resized image from the RAM cache, the LRU buffer, or the file (read-only)."""
        if self._images is not None:
            return self._images[index]
        hit = self._buffer.get(index)
        if hit is not None:
            self._buffer.move_to_end(index)
            return hit
        image = self._read(index)
        if self._buffer_cap < 0:
            info = torch.utils.data.get_worker_info()
            share = _available_memory() // (4 * (info.num_workers if info is not None else 1))
            self._buffer_cap = min(self.buffer_bytes, share)
        if image.nbytes <= self._buffer_cap:
            image.setflags(write=False)  # transforms must copy, never write into the buffer
            self._buffer[index] = image
            self._buffer_used += image.nbytes
            while self._buffer_used > self._buffer_cap:
                self._buffer_used -= self._buffer.popitem(last=False)[1].nbytes
        return image

    def load(self, index: int) -> Sample:
        """Image resized so its long side is `imgsz` (aspect kept), with its instances."""
        item = self.items[index]
        image = self._image(index)
        # the annotation's frame (item.width x item.height) is the "original" one, as the GT is in it
        sx, sy = image.shape[1] / item.width, image.shape[0] / item.height
        scale = np.array([sx, sy], np.float32)
        polys = [[p * scale for p in inst] for inst in item.polygons]
        return Sample(image, item.labels.copy(), item.crowd.copy(), polys, item.image_id,
                      (item.height, item.width), ratio=(sx, sy))

    # ---- pipelines ---------------------------------------------------------------------------
    def _pre_mosaic(self) -> list[Transform]:
        h, s = self.hyp, self.imgsz
        return [Mosaic(s, self.load, len(self)), CopyPaste(h.copy_paste),
                RandomPerspective(s, h.degrees, h.translate, h.scale, h.shear, h.perspective, border=-s // 2)]

    def _mosaic(self, sample: Sample, rng: np.random.Generator) -> Sample:
        """`run(self._pre_mosaic(), ...)`, same draws; without copy-paste, rotation, shear or perspective
        the tiles are resized straight into the output (no 2s x 2s canvas to fill and warp)."""
        h, s = self.hyp, self.imgsz
        if h.copy_paste or h.perspective:
            return run(self._pre_mosaic(), sample, rng)
        # copy-paste at p=0 draws nothing and changes nothing: skipping it keeps the random stream
        mosaic = Mosaic(s, self.load, len(self))
        warp = RandomPerspective(s, h.degrees, h.translate, h.scale, h.shear, 0.0, border=-s // 2)
        mp = mosaic.get_params(rng, sample)
        wp = warp.params_for(rng, (2 * s, 2 * s))
        if not is_scale_translate(wp.matrix):
            return warp.apply(mosaic.apply(sample, mp), wp)
        return mosaic.apply_scaled(sample, mp, wp)

    def _pre_single(self, scaleup: bool) -> list[Transform]:
        h, s = self.hyp, self.imgsz
        return [LetterBox(s, scaleup=scaleup),
                RandomPerspective(s, h.degrees, h.translate, h.scale, h.shear, h.perspective)]

    def _augmented(self, index: int, rng: np.random.Generator) -> Sample:
        h = self.hyp
        mosaic_on = not self.mosaic_closed and h.mosaic > 0
        if mosaic_on and rng.random() < h.mosaic:
            sample = self._mosaic(self.load(index), rng)
            if h.mixup > 0:
                def other(r: np.random.Generator) -> Sample:
                    return self._mosaic(self.load(int(r.integers(len(self)))), r)
                sample = run([MixUp(h.mixup, other)], sample, rng)
        else:
            sample = run(self._pre_single(scaleup=not mosaic_on), self.load(index), rng)
        hsv = RandomHSV(h.hsv_h, h.hsv_s, h.hsv_v)
        gains = hsv.get_params(rng, sample)
        sample = run([RandomFlip(h.flipud, horizontal=False), RandomFlip(h.fliplr, horizontal=True)], sample, rng)
        # colour after the flips (they commute; parameters drawn in the original order), ending in RGB
        return hsv.apply(sample, gains, rgb=True)

    def sample(self, index: int) -> Sample:
        """The transformed sample (before conversion to tensors)."""
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            return self._augmented(index, rng)
        lb = LetterBox(self.imgsz)
        loaded = self.load(index)
        return lb.apply(loaded, lb.get_params(None, loaded))

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.to_tensors(self.sample(index))

    def to_tensors(self, sample: Sample) -> dict[str, Any]:
        """Image CHW RGB uint8, non-crowd labels/boxes/masks, crowd boxes, and letterbox metadata."""
        # RGB in HWC memory, viewed as CHW: collate's stack makes the one copy (channels-last order)
        rgb = sample.image if sample.meta.get("rgb") else cv2.cvtColor(sample.image, cv2.COLOR_BGR2RGB)
        img = torch.from_numpy(rgb).permute(2, 0, 1)
        boxes = sample.boxes_xyxy()
        obj = ~sample.crowd
        polys = [p for p, keep in zip(sample.polygons, obj.tolist()) if keep]
        out: dict[str, Any] = {
            "img": img,
            "labels": torch.from_numpy(sample.labels[obj].astype(np.int64)),
            "boxes_xyxy": torch.from_numpy(boxes[obj].reshape(-1, 4)),
            "crowd_boxes_xyxy": torch.from_numpy(boxes[~obj].reshape(-1, 4)),
            "image_id": sample.image_id, "orig_hw": sample.orig_hw, "ratio": sample.ratio, "pad": sample.pad,
        }
        if self.with_masks:
            mh, mw = img.shape[1] // self.mask_ratio, img.shape[2] // self.mask_ratio
            raster = rasterize_overlap if self.overlap_mask else rasterize_each
            out["masks"] = torch.from_numpy(raster(polys, mh, mw, 1.0 / self.mask_ratio))
        return out


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack images; concatenate instances with `batch_idx` (instances stay grouped by image, in order)."""
    batch: dict[str, Any] = {"img": _stack_images([it["img"] for it in items])}
    counts = [len(it["labels"]) for it in items]
    batch["batch_idx"] = torch.repeat_interleave(torch.arange(len(items)), torch.tensor(counts, dtype=torch.long))
    batch["labels"] = torch.cat([it["labels"] for it in items])
    batch["boxes_xyxy"] = torch.cat([it["boxes_xyxy"] for it in items]).float()
    crowd_counts = [len(it["crowd_boxes_xyxy"]) for it in items]
    batch["crowd_boxes_xyxy"] = torch.cat([it["crowd_boxes_xyxy"] for it in items]).float()
    batch["crowd_batch_idx"] = torch.repeat_interleave(torch.arange(len(items)),
                                                       torch.tensor(crowd_counts, dtype=torch.long))
    if "masks" in items[0]:
        masks = [it["masks"] for it in items]
        batch["masks"] = torch.stack(masks).long() if masks[0].ndim == 2 else torch.cat(masks)
    for key in ("image_id", "orig_hw", "ratio", "pad"):
        batch[key] = [it[key] for it in items]
    return batch


def _stack_images(images: list[torch.Tensor]) -> torch.Tensor:
    """(N, 3, H, W) uint8 in channels-last memory: the items' HWC buffers copied once, without a
    transpose, and straight into shared memory inside a loader worker (no second copy to send it)."""
    hwc = [im.permute(1, 2, 0) for im in images]
    shape = (len(hwc), *hwc[0].shape)
    if torch.utils.data.get_worker_info() is not None:
        storage = torch.UntypedStorage._new_shared(int(np.prod(shape)) * hwc[0].element_size())
        out = torch.empty(0, dtype=hwc[0].dtype).set_(storage).view(shape)
    else:
        out = torch.empty(shape, dtype=hwc[0].dtype)
    torch.stack(hwc, out=out)
    return out.permute(0, 3, 1, 2)


_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def _read_flag(long_side: int, imgsz: int, file: str) -> int:
    """Decode JPEGs at 1/2, 1/4 or 1/8 scale when that still covers `imgsz` (libjpeg scales in the DCT,
    several times faster than a full decode followed by a resize)."""
    if file.lower().endswith((".jpg", ".jpeg")):
        for factor, flag in _REDUCED:
            if long_side / factor >= imgsz:
                return flag
    return cv2.IMREAD_COLOR


def _available_memory() -> int:
    """Bytes of memory available now (physical pages free), or a large number when unknown."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62
