"""Prediction: sources -> letterboxed batches -> network (torch or ONNX Runtime) -> NMS -> masks -> Results."""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from torch import nn

from cocoseg.engine.device import resolve_half, select_device
from cocoseg.engine.predict_sources import Frame, Source, iter_frames
from cocoseg.errors import CocosegError
from cocoseg.models import SegmentationModel, load_model
from cocoseg.ops.letterbox import LetterboxMap, letterbox, letterbox_shape, stride_imgsz
from cocoseg.ops.masks import paste_masks
from cocoseg.ops.postprocess import Detections, postprocess
from cocoseg.predictions.image_predictions import InstanceMasks, Result
from cocoseg.thresholds import PREDICT_NMS

ModelLike = Union[str, Path, nn.Module]
LOGGER = logging.getLogger(__name__)


class TorchBackend:
    """A fused SegmentationModel on a device; channels_last memory layout, half precision on CUDA."""

    def __init__(self, model: SegmentationModel, device: torch.device, half: bool = False) -> None:
        self.device, self.half = device, resolve_half(half, device)
        self.channels_last = device.type in ("cpu", "cuda")
        model = model.eval().fuse().to(device)
        model = model.half() if self.half else model.float()
        self.model = model.to(memory_format=torch.channels_last) if self.channels_last else model
        self.names, self.num_masks = dict(model.names), model.num_masks
        self.stride, self.fixed_hw, self.max_batch = int(model.stride.max()), None, None

    def __call__(self, batch_rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 [B, H, W, 3] RGB -> (pred [B, 4+nc+nm, A], protos) on the model's device."""
        x = torch.from_numpy(batch_rgb).to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        x = x if self.channels_last else x.contiguous()  # the NHWC strides are channels_last for free
        with torch.inference_mode():
            return self.model.infer(x)  # uint8 in: the model normalises (and casts) itself


class Predictor:
    """Runs a model over images or videos and returns one `Result` per image (frame).

    `model` is a registry name, a checkpoint (cocoseg or reference `.pt`), an `.onnx` file, or a
    SegmentationModel (copied, never modified). Defaults follow the reference's predict settings.
    `rect` pads a batch of same-shaped images only to the next multiple of 32 (faster) instead of
    to `imgsz`; a static-shape ONNX model always gets `imgsz`. `threads`: ONNX Runtime's CPU threads
    (default: the available cores not kept busy by other processes, see `device.default_cpu_threads`;
    the reference always runs one). torch's thread count is process-wide state that the Predictor
    leaves alone: the application sets it (`cocoseg predict` calls `device.set_cpu_threads`).
    """

    def __init__(
        self,
        model: ModelLike,
        *,
        imgsz: int | tuple[int, int] = 640,
        conf: float = PREDICT_NMS.conf,
        iou: float = PREDICT_NMS.iou,
        max_det: int = PREDICT_NMS.max_det,
        device: str | torch.device | None = None,
        half: bool = False,
        batch: int = 1,
        retina_masks: bool = False,
        classes: Sequence[int] | None = None,
        agnostic_nms: bool = False,
        multi_label: bool = PREDICT_NMS.multi_label,
        rect: bool = True,
        threads: int | None = None,
        vid_stride: int = 1,
    ) -> None:
        self.device = select_device(device)
        self.threads = threads
        self.backend = _make_backend(model, self.device, half, self.threads)
        self.imgsz = _check_imgsz(imgsz, self.backend.stride)
        fixed = self.backend.fixed_hw
        if fixed is not None and self.imgsz != tuple(fixed):
            LOGGER.warning("model %s has a static input of %dx%d: imgsz %s is not used; every image is letterboxed "
                           "to %dx%d (export with dynamic=True for other sizes)", model, *fixed, imgsz, *fixed)
        self.imgsz = tuple(fixed) if fixed is not None else self.imgsz
        if batch < 1:
            raise CocosegError(f"batch: must be >= 1, got {batch}")
        self.conf, self.iou, self.max_det, self.batch = conf, iou, max_det, batch
        self.retina_masks, self.classes, self.agnostic, self.multi_label = retina_masks, classes, agnostic_nms, multi_label
        self.rect = rect
        if vid_stride < 1:
            raise CocosegError(f"vid_stride: must be >= 1, got {vid_stride}")
        self.vid_stride = vid_stride

    @property
    def names(self) -> dict[int, str]:
        return self.backend.names

    def __call__(self, source: Source) -> list[Result]:
        """All results of a source (see `stream` to process long videos lazily)."""
        return list(self.stream(source))

    def stream(self, source: Source, keep_images: bool = False,
               on_skip: Callable[[str, str], None] | None = None) -> Iterator[Result]:
        """Results one by one as batches of `batch` frames complete; `keep_images` sets `Result.image`.

        An unreadable image or video is reported (`on_skip(path, reason)`, default: a warning) and
        skipped: one bad file in a pool does not end the run.
        """
        pending: list[Frame] = []
        for frame in iter_frames(source, self.vid_stride):
            if frame.image is None:
                (on_skip or _warn_skip)(frame.path, frame.error or "unreadable")
                continue
            pending.append(frame)
            if len(pending) == self.batch:
                yield from self._with_images(pending, keep_images)
                pending = []
        if pending:
            yield from self._with_images(pending, keep_images)

    def _with_images(self, frames: list[Frame], keep_images: bool) -> list[Result]:
        results = self.predict_frames(frames)
        if keep_images:
            for frame, result in zip(frames, results):
                result.image = frame.image
        return results

    def input_hw(self, shapes: Sequence[tuple[int, int]]) -> tuple[int, int]:
        """Network input size for a batch: the exported size, else minimal padding when all shapes agree."""
        if self.backend.fixed_hw is not None:
            return self.backend.fixed_hw
        auto = self.rect and len(set(shapes)) == 1
        return letterbox_shape(shapes[0], self.imgsz, self.backend.stride, auto=auto)

    def predict_frames(self, frames: Sequence[Frame]) -> list[Result]:
        """One batch: letterbox, forward, NMS, masks; timings per image in each Result.speed (ms)."""
        t0 = time.perf_counter()
        input_hw = self.input_hw([f.image.shape[:2] for f in frames])
        boxed = [letterbox(f.image, input_hw) for f in frames]
        batch = np.stack([im[..., ::-1] for im, _ in boxed])  # BGR -> RGB
        t1 = time.perf_counter()
        pred, protos = self.backend(batch)
        _sync(pred)
        t2 = time.perf_counter()
        dets = postprocess(pred, protos, self.conf, self.iou, self.max_det, self.multi_label,
                           classes=self.classes, agnostic=self.agnostic, masks=False)
        _sync(pred)
        t3 = time.perf_counter()
        results = [self._result(f, lb, det, proto) for f, (_, lb), det, proto in zip(frames, boxed, dets, protos)]
        t4 = time.perf_counter()
        n = len(frames)
        for f, r in zip(frames, results):
            r.speed = {"read": f.read_ms, "preprocess": (t1 - t0) * 1e3 / n, "forward": (t2 - t1) * 1e3 / n,
                       "nms": (t3 - t2) * 1e3 / n, "masks": (t4 - t3) * 1e3 / n}
        return results

    def _result(self, frame: Frame, lb: LetterboxMap, det: Detections, protos: torch.Tensor) -> Result:
        boxes = det.boxes_xyxy
        crops = paste_masks(protos, det.coefficients, boxes, lb, crop_at_proto=not self.retina_masks)
        h, w = lb.orig_hw
        return Result(
            path=frame.path, image_shape=(h, w), frame=frame.frame, names=self.names,
            boxes_xyxy=lb.to_original(boxes).cpu().numpy().astype(np.float32),
            scores=det.scores.float().cpu().numpy(), classes=det.classes.cpu().numpy(),
            masks=InstanceMasks(h, w, crops),
        )


def _make_backend(model: ModelLike, device: torch.device, half: bool, threads: int | None = None) -> Any:
    from cocoseg.engine.openvino_runtime import OpenVinoBackend, is_openvino_model

    if is_openvino_model(model):
        return OpenVinoBackend(model, device, threads)  # type: ignore[arg-type]
    if isinstance(model, (str, Path)) and str(model).lower().endswith(".onnx"):
        from cocoseg.engine.onnx_runtime import OnnxBackend

        return OnnxBackend(model, device, threads)
    if isinstance(model, nn.Module):
        if not isinstance(model, SegmentationModel):
            raise CocosegError(f"model: expected a cocoseg SegmentationModel, got {type(model).__name__}")
        return TorchBackend(copy.deepcopy(model), device, half)
    return TorchBackend(load_model(model), device, half)


def _check_imgsz(imgsz: int | Sequence[int], stride: int) -> tuple[int, int]:
    size = stride_imgsz(imgsz if isinstance(imgsz, int) else tuple(imgsz), stride)
    return (size, size) if isinstance(size, int) else size


def _warn_skip(path: str, reason: str) -> None:
    LOGGER.warning("%s: %s; skipped", path, reason)


def _sync(t: torch.Tensor) -> None:
    if t.device.type == "cuda":
        torch.cuda.synchronize(t.device)


def predict(model: ModelLike, source: Source, **kwargs: Any) -> list[Result]:
    """One-call prediction: `predict('yolov8n-seg.pt', 'images/', conf=0.3)`; see Predictor for options."""
    return Predictor(model, **kwargs)(source)
