"""Challenge subsets: the images of a dataset where one slice dominates, as a new COCO dataset.

An image slice (crowded, an image list) gives its images. For an instance slice (sizes, areas,
occlusion, attributes) an image qualifies when at least `min_share` (0.5) of its regular GT of
the slice's categories are in the slice and at least `min_count` (1) are; images are ordered by
that share, highest first, and `max_images` keeps the top ones.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cocoseg.curate.suite import IMAGE_KEYS, INSTANCE_KEYS, SliceSpec, instance_members, slice_inputs
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset


def image_shares(gt: CocoDataset, spec: SliceSpec) -> dict[int, tuple[int, int]]:
    """{image id: (GT in the slice, regular GT of its categories)} over the slice's images."""
    inputs = slice_inputs(gt, spec)
    regular = instance_members(gt, {}, inputs.category_ids)
    out = {i: (0, 0) for i in inputs.image_ids}
    for a, member, reg in zip(gt.annotations, inputs.members.tolist(), regular.tolist()):
        if reg and a["image_id"] in out:
            n_in, n_all = out[a["image_id"]]
            out[a["image_id"]] = (n_in + int(member), n_all + 1)
    return out


def challenge_subset(gt: CocoDataset, spec: SliceSpec, *, min_share: float = 0.5, min_count: int = 1,
                     max_images: int | None = None) -> CocoDataset:
    """The dominated images as a new dataset (every annotation of them kept); `info.challenge` says how."""
    if not 0 <= min_share <= 1:
        raise CocosegError(f"min_share must be in [0, 1], got {min_share}")
    shares = image_shares(gt, spec)
    instance = bool(set(spec.where) & INSTANCE_KEYS) or not set(spec.where) & IMAGE_KEYS
    if instance:
        ranked = sorted(((n_in / n_all if n_all else 0.0, n_in, i) for i, (n_in, n_all) in shares.items()
                         if n_in >= min_count and n_all and n_in / n_all >= min_share), key=lambda t: (-t[0], -t[1], t[2]))
        chosen = [i for _, _, i in ranked]
    else:
        chosen = list(shares)
    if max_images is not None:
        chosen = chosen[:max_images]
    subset = gt.subset(image_ids=chosen)
    order = {i: k for k, i in enumerate(chosen)}
    subset.images.sort(key=lambda im: order[im["id"]])
    info: dict[str, Any] = dict(subset.info or {})
    info["challenge"] = {"slice": spec.name, "where": spec.where, "min_share": min_share, "min_count": min_count,
                         "images": len(chosen), "of": len(gt.images), "source": gt.source}
    subset.info = info
    return subset


def share_summary(gt: CocoDataset, spec: SliceSpec) -> np.ndarray:
    """(I,) share of in-slice GT per image of the slice (0 for images without regular GT)."""
    return np.asarray([n_in / n_all if n_all else 0.0 for n_in, n_all in image_shares(gt, spec).values()])
