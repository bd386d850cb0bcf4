"""What a model says about unlabeled images, for ranking them: class scores, mask probabilities, embeddings.

One batched forward pass per image (two with `flip`), on any device, through the predictor's model
loading, letterbox and NMS. Per image it yields the kept detections (best class score > `conf`
before NMS, 0.05 by default) with their full sigmoid class-score vectors and mask probabilities
inside their boxes, and a pooled backbone embedding: the global average of each of the backbone's
P3, P4 and P5 maps, concatenated (448 numbers for yolov8n), as float16. The large per-image arrays
live only until the caller has reduced them to scores, so memory stays flat over any pool size.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from cocoseg.engine.predictor import ModelLike, Predictor
from cocoseg.errors import CocosegError
from cocoseg.ops.letterbox import letterbox
from cocoseg.ops.masks import mask_logits, proto_masks
from cocoseg.ops.nms import non_max_suppression

log = logging.getLogger(__name__)


@dataclass
class ImageOutputs:
    """One image's model outputs. Masks are at prototype resolution (1/4 of the network input).

    class_scores (N, C) float32: every class's sigmoid score of each kept detection; scores, classes
    (N,): its best; mask_probs: N float32 crops of sigmoid mask probabilities inside the boxes;
    masks (N, h, w) bool and flipped_* the same for the mirrored input, mirrored back (flip only).
    `error` is set (and the arrays empty) for an image that could not be read.
    """

    index: int
    path: str
    image_shape: tuple[int, int]
    class_scores: np.ndarray
    scores: np.ndarray
    mask_probs: list[np.ndarray]
    embedding: np.ndarray
    masks: np.ndarray | None = None
    flipped_masks: np.ndarray | None = None
    flipped_scores: np.ndarray | None = None
    error: str | None = None


class Ranker:
    """Runs a PyTorch segmentation model over image files for `cocoseg rank` (see the module docstring)."""

    def __init__(
        self,
        model: ModelLike,
        *,
        imgsz: int = 640,
        batch: int = 16,
        device: str | torch.device | None = None,
        half: bool = False,
        conf: float = 0.05,
        iou: float = 0.7,
        max_det: int = 100,
        flip: bool = False,
        threads: int | None = None,
    ) -> None:
        self.predictor = Predictor(model, imgsz=imgsz, conf=conf, iou=iou, max_det=max_det, device=device,
                                   half=half, batch=batch, threads=threads)
        backend = self.predictor.backend
        if not hasattr(backend, "model"):
            raise CocosegError("rank: needs a PyTorch model (.pt or a model name), not ONNX: the image "
                               "embedding comes from the backbone")
        self.conf, self.iou, self.max_det, self.flip, self.batch = conf, iou, max_det, flip, batch
        self.num_masks = backend.num_masks
        self._features: list[torch.Tensor] = []
        backend.model.backbone.register_forward_hook(self._keep_features)

    @property
    def names(self) -> dict[int, str]:
        return self.predictor.names

    def _keep_features(self, module: Any, inputs: Any, outputs: Sequence[torch.Tensor]) -> None:
        self._features = [f.float().mean((2, 3)) for f in outputs]  # [B, C] per level

    @property
    def embedding_dim(self) -> int:
        """Length of an image embedding: the channel counts of P3, P4 and P5 summed."""
        if not self._features:
            self._forward(np.full((1, 64, 64, 3), 114, dtype=np.uint8))
        return sum(f.shape[1] for f in self._features)

    def run(self, paths: Sequence[str | Path], progress: bool = True) -> Iterator[ImageOutputs]:
        """One ImageOutputs per path, in order; an unreadable image is reported, yielded with `error`, skipped."""
        from tqdm import tqdm

        bar = tqdm(total=len(paths), desc="rank", unit="img", disable=not progress, leave=False)
        try:
            for start in range(0, len(paths), self.batch):
                chunk = [(start + k, str(p)) for k, p in enumerate(paths[start : start + self.batch])]
                yield from self._run_batch(chunk)
                bar.update(len(chunk))
        finally:
            bar.close()

    def _run_batch(self, chunk: list[tuple[int, str]]) -> list[ImageOutputs]:
        images, out = [], {}
        for index, path in chunk:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                log.warning("%s: cannot read image (corrupt or unsupported); skipped", path)
                out[index] = _unreadable(index, path)
            else:
                images.append((index, path, image))
        if images:
            for item in self._outputs(images):
                out[item.index] = item
        return [out[index] for index, _ in chunk]

    def _forward(self, batch_rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return self.predictor.backend(batch_rgb)

    def _outputs(self, images: list[tuple[int, str, np.ndarray]]) -> list[ImageOutputs]:
        input_hw = self.predictor.input_hw([im.shape[:2] for _, _, im in images])
        batch = np.stack([letterbox(im, input_hw)[0][..., ::-1] for _, _, im in images])  # BGR -> RGB
        pred, protos = self._forward(batch)
        embeddings = torch.cat(self._features, 1).cpu().numpy().astype(np.float16)
        nc = pred.shape[1] - 4 - self.num_masks
        # the class-score columns ride along as extra "mask coefficients", so NMS hands back each kept
        # detection's full score vector without a second implementation of candidate selection
        with_scores = torch.cat((pred, pred[:, 4 : 4 + nc]), 1)
        dets = non_max_suppression(with_scores, self.conf, self.iou, self.num_masks + nc, max_det=self.max_det)
        flipped = self._flipped(batch) if self.flip else [None] * len(images)
        out = []
        for k, ((index, path, image), det) in enumerate(zip(images, dets)):
            coeffs, class_scores = det[:, 6 : 6 + self.num_masks], det[:, 6 + self.num_masks :]
            item = ImageOutputs(
                index=index, path=path, image_shape=image.shape[:2],
                class_scores=class_scores.float().cpu().numpy(), scores=det[:, 4].float().cpu().numpy(),
                mask_probs=_mask_probs(protos[k], coeffs, det[:, :4], input_hw), embedding=embeddings[k],
            )
            if flipped[k] is not None:
                item.masks = proto_masks(protos[k], coeffs, det[:, :4], input_hw).cpu().numpy()
                item.flipped_masks, item.flipped_scores = flipped[k]
            out.append(item)
        return out

    def _flipped(self, batch: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Masks and scores of the mirrored inputs, mirrored back (prototype resolution)."""
        features = self._features
        pred, protos = self._forward(np.ascontiguousarray(batch[:, :, ::-1]))
        self._features = features
        input_hw = batch.shape[1:3]
        dets = non_max_suppression(pred, self.conf, self.iou, self.num_masks, max_det=self.max_det)
        out = []
        for det, proto in zip(dets, protos):
            masks = proto_masks(proto, det[:, 6:], det[:, :4], input_hw).flip(-1)
            out.append((masks.cpu().numpy(), det[:, 4].float().cpu().numpy()))
        return out


def _mask_probs(protos: torch.Tensor, coeffs: torch.Tensor, boxes: torch.Tensor, input_hw: tuple[int, int]) -> list[np.ndarray]:
    """Sigmoid mask probabilities inside each box (prototype pixels c with x1 <= c < x2, as the crop rule)."""
    if len(coeffs) == 0:
        return []
    _, h, w = protos.shape
    probs = mask_logits(protos, coeffs).sigmoid().cpu().numpy()
    scale = np.array([w / input_hw[1], h / input_hw[0]] * 2)
    out = []
    for p, (x1, y1, x2, y2) in zip(probs, boxes.float().cpu().numpy() * scale):
        c0, c1 = max(math.ceil(x1), 0), min(math.ceil(x2), w)
        r0, r1 = max(math.ceil(y1), 0), min(math.ceil(y2), h)
        out.append(p[r0:r1, c0:c1] if c1 > c0 and r1 > r0 else np.zeros((0, 0), dtype=np.float32))
    return out


def _unreadable(index: int, path: str) -> ImageOutputs:
    empty = np.zeros((0, 0), dtype=np.float32)
    return ImageOutputs(index, path, (0, 0), empty, np.zeros(0, np.float32), [], np.zeros(0, np.float16),
                        error="cannot read image (corrupt or unsupported)")


@dataclass
class PoolScores:
    """A pool reduced to what ranking needs: per readable image its components and an embedding row."""

    paths: list[str]
    components: list[dict[str, float] | None]  # None for an unreadable image
    errors: dict[int, str]
    store: Any  # cocoseg.curate.diversity.EmbeddingStore, rows in `paths` order (zero for unreadable ones)

    @property
    def embeddings(self) -> np.ndarray:
        return self.store.array


def score_pool(ranker: Ranker, paths: Sequence[str | Path], progress: bool = True) -> PoolScores:
    """Run the ranker over `paths` and keep only the per-image score components and embeddings."""
    from cocoseg.curate.diversity import EmbeddingStore
    from cocoseg.curate.ranking import image_components

    store = EmbeddingStore(len(paths), ranker.embedding_dim)
    components: list[dict[str, float] | None] = []
    errors: dict[int, str] = {}
    for item in ranker.run(paths, progress):
        if item.error is not None:
            errors[item.index] = item.error
            components.append(None)
            continue
        store.array[item.index] = item.embedding
        components.append(image_components(item))
    return PoolScores([str(p) for p in paths], components, errors, store)
