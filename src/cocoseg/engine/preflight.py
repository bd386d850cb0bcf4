"""Checks before training starts: runs too short for their warmup or for BatchNorm statistics
(`short_run_warnings`), and the images of every split (`check_images`: missing or unreadable files,
checked in parallel, the verdict cached beside the labels)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.data.labels import ImageLabels
from cocoseg.data.split_labels import SplitData
from cocoseg.errors import CocosegError
from cocoseg.io import atomic_write
from cocoseg.models.blocks import BN_MOMENTUM

LOGGER = logging.getLogger(__name__)

# BatchNorm running statistics keep (1 - momentum)^n of their initial values after n training iterations:
# below this many they are still mostly the initialisation's, and validation (eval mode) suffers
MIN_BN_ITERATIONS = 100


def short_run_warnings(epochs: int, iters_per_epoch: int, warmup_iters: int, warmup_epochs: float) -> list[str]:
    """What makes a short run look broken, each with what to change ([] when nothing)."""
    total = epochs * iters_per_epoch
    out = []
    if warmup_iters and warmup_iters >= 0.5 * total:
        share = min(warmup_iters / max(total, 1), 1.0)
        out.append(f"warmup covers {share:.0%} of the run ({warmup_iters} warmup iterations, at least 100, of "
                   f"{total}): the learning rate stays near zero; set warmup_epochs=0 for a short fine-tune "
                   f"(now {warmup_epochs:g}) or train more epochs")
    if total < MIN_BN_ITERATIONS:
        left = (1 - BN_MOMENTUM) ** total
        out.append(f"only {total} training iterations: BatchNorm running statistics (momentum {BN_MOMENTUM}) still "
                   f"hold {left:.0%} of their initial values, so validation lags the weights; train at least "
                   f"{MIN_BN_ITERATIONS} iterations (more epochs, or a smaller batch)")
    return out


def check_images(labels: Sequence[ImageLabels], split: str, cache: Path | None = None,
                 workers: int = 8) -> list[tuple[str, str]]:
    """(file, reason) of every image of `split` that is missing or cannot be decoded; decoded in parallel
    threads (OpenCV releases the GIL). With `cache` (a folder) the verdict is stored keyed on every image's
    path, size and modification time, so an unchanged split is not decoded again."""
    stats = [_stat(item.file) for item in labels]
    key = hashlib.sha256(json.dumps([split, *stats]).encode()).hexdigest()[:20]
    path = cache / f"images-{key}.json" if cache is not None else None
    if path is not None and path.is_file():
        try:
            return [tuple(p) for p in json.loads(path.read_text())["problems"]]  # type: ignore[misc]
        except (OSError, ValueError, KeyError, TypeError):
            LOGGER.warning("ignoring unreadable image-check cache %s", path)
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        verdicts = list(pool.map(_image_problem, [item.file for item in labels]))
    problems = [(item.file, why) for item, why in zip(labels, verdicts) if why]
    if path is not None:
        try:
            atomic_write(path, lambda fh: fh.write(json.dumps({"problems": problems})))
        except OSError as exc:
            LOGGER.warning("could not write image-check cache %s: %s", path, exc)
    return problems


def report_bad_images(problems: Sequence[tuple[str, str]], split: str, total: int, strict: bool) -> None:
    """One summary of a split's bad images; with `strict` (check_images=error) it is an error instead."""
    if not problems:
        return
    shown = "; ".join(f"{f} ({why})" for f, why in problems[:5]) + ("; ..." if len(problems) > 5 else "")
    message = f"{len(problems)} of {total} {split} images missing or unreadable: {shown}"
    if strict:
        raise CocosegError(message + " (check_images=warn skips them)")
    LOGGER.warning("%s; skipping them (check_images=error makes this an error)", message)


def _stat(file: str) -> list[Any]:
    try:
        st = os.stat(file)
    except OSError:
        return [file, -1, -1]
    return [file, st.st_size, st.st_mtime_ns]


def _image_problem(file: str) -> str:
    import cv2

    if not os.path.isfile(file):
        return "missing"
    try:
        data = np.fromfile(file, dtype=np.uint8)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return "" if image is not None and image.size else "cannot be decoded"


def checked_split(split: SplitData, name: str, mode: str, cache: Path | None) -> SplitData:
    """`split` without its missing or unreadable images (reported once; mode "error" raises, "off" skips
    the check). Their ground truth goes too, so validation does not count it as missed."""
    if mode == "off" or not split.labels:
        return split
    problems = check_images(split.labels, name, cache)
    report_bad_images(problems, name, len(split.labels), strict=mode == "error")
    if not problems:
        return split
    bad = {f for f, _ in problems}
    kept = [item for item in split.labels if item.file not in bad]
    gt = split.gt
    if gt is not None:
        gt = gt.copy()
        gt.remove_images([item.image_id for item in split.labels if item.file in bad])
    if not kept:
        raise CocosegError(f"every {name} image is missing or unreadable ({problems[0][0]}: {problems[0][1]})")
    return SplitData(gt, kept, split.names)
