"""Validation with cocoseg's COCO-exact evaluator, in memory (no JSON round trip).

Predictions are mapped back to the original image frame (boxes through the letterbox map, masks pasted
at original resolution) and fed to one box and one mask `Evaluator`, so the numbers are exactly what
`cocoseg eval` gives on the same predictions saved as a COCO results file (`results_json`). With
several processes each evaluates a shard of the images and the evaluator states are merged exactly.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from cocoseg.data import SegmentationDataset, collate
from cocoseg.eval.evaluator import Evaluator
from cocoseg.io import CategoryMap, CocoDataset
from cocoseg.masks import crop_to_rle, xyxy_to_xywh
from cocoseg.ops.letterbox import LetterboxMap, stride_imgsz
from cocoseg.ops.masks import paste_masks
from cocoseg.ops.postprocess import postprocess
from cocoseg.thresholds import VAL_NMS

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValMetrics:
    """Box and mask mAP50-95 and mAP50 (COCO, 101-point, maxDets 100)."""

    box_map: float = 0.0
    box_map50: float = 0.0
    mask_map: float = 0.0
    mask_map50: float = 0.0

    @property
    def fitness(self) -> float:
        """0.1 mAP50 + 0.9 mAP50-95, summed over box and mask (what picks best.pt)."""
        return 0.1 * (self.box_map50 + self.mask_map50) + 0.9 * (self.box_map + self.mask_map)

    def as_dict(self) -> dict[str, float]:
        return {"box_map": self.box_map, "box_map50": self.box_map50, "mask_map": self.mask_map,
                "mask_map50": self.mask_map50}


Gather = Callable[[Any], list[Any]]  # all-gather of a picklable object across processes


class Validator:
    """Runs a model over the val split and evaluates boxes and masks against the COCO ground truth."""

    def __init__(self, gt: CocoDataset, dataset: SegmentationDataset, batch: int = 32, workers: int = 0,
                 conf: float = VAL_NMS.conf, iou: float = VAL_NMS.iou, max_det: int = VAL_NMS.max_det,
                 rect: bool = False, rect_pad: float = 0.5):
        self.gt, self.dataset, self.batch, self.workers = gt, dataset, batch, workers
        self.rect, self.rect_pad = rect, rect_pad
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.category_map = CategoryMap.from_categories(gt.categories)
        self.box_eval = Evaluator(gt, "bbox")
        self.mask_eval = Evaluator(gt, "segm")

    def loader(self, rank: int = 0, world: int = 1) -> torch.utils.data.DataLoader:
        """Val loader over this process's shard (every world-th image, no padding or duplicates); with
        `rect` the shard is ordered by aspect ratio and each batch gets its own shape (`rect_batch_shapes`)."""
        indices = list(range(rank, len(self.dataset), world))
        if self.rect:
            items = self.dataset.items
            indices.sort(key=lambda i: items[i].height / items[i].width)
            shapes = rect_batch_shapes([(items[i].height, items[i].width) for i in indices], self.batch,
                                       self.dataset.imgsz, pad=self.rect_pad)
            shard: Any = _RectShard(self.dataset, indices, [shapes[k // self.batch] for k in range(len(indices))])
        else:
            shard = torch.utils.data.Subset(self.dataset, indices)
        return torch.utils.data.DataLoader(shard, batch_size=self.batch, shuffle=False, num_workers=self.workers,
                                           collate_fn=collate, persistent_workers=False)

    @torch.no_grad()
    def run(self, model: torch.nn.Module, device: torch.device, rank: int = 0, world: int = 1,
            gather: Gather | None = None, keep_results: bool = False, autocast: Any = None,
            progress: bool = False) -> tuple[ValMetrics, list[dict]]:
        """Metrics over the whole split (every process gets the same numbers) and, if asked, this
        process's COCO result records (bbox xywh + RLE segmentation + score + category_id).
        The box and mask `EvalResult`s stay in `self.evaluations` (for the per-class report)."""
        was_training = model.training
        model.eval()
        self.box_eval.reset()
        self.mask_eval.reset()
        results: list[dict] = []
        batches: Any = self.loader(rank, world)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="val", unit="batch", leave=False, bar_format="{l_bar}{bar:20}{r_bar}",
                           dynamic_ncols=True)
        for batch in batches:
            imgs = batch["img"].to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            if autocast is not None:
                with autocast:
                    pred, protos = model.infer(imgs)  # uint8 in: the model normalises
            else:
                pred, protos = model.infer(imgs)
            for i, det in enumerate(postprocess(pred.float(), protos.float(), self.conf, self.iou, self.max_det,
                                                multi_label=VAL_NMS.multi_label, masks=False)):
                self._add_image(batch, i, det, protos[i].float(), results if keep_results else None)
        if was_training:
            model.train()
        return self._compute(gather), results

    def _add_image(self, batch: dict, i: int, det: Any, protos: torch.Tensor, results: list[dict] | None) -> None:
        image_id = int(batch["image_id"][i])
        h0, w0 = batch["orig_hw"][i]
        lb = LetterboxMap(batch["ratio"][i][0], batch["ratio"][i][1], batch["pad"][i][0], batch["pad"][i][1],
                          tuple(batch["img"].shape[2:]), (h0, w0))
        boxes = lb.to_original(det.boxes_xyxy.float()).cpu().numpy().astype(np.float64)
        scores = det.scores.float().cpu().numpy().astype(np.float64)
        cats = np.array([self.category_map.category_id(int(c)) for c in det.classes.tolist()], np.int64)
        crops = paste_masks(protos, det.coefficients, det.boxes_xyxy, lb) if len(det) else []
        rles = [crop_to_rle(c.x0, c.y0, _numpy(c.mask), h0, w0) for c in crops]
        self.box_eval.add(image_id, scores=scores, category_ids=cats, boxes_xyxy=boxes)
        self.mask_eval.add(image_id, scores=scores, category_ids=cats, boxes_xyxy=boxes, masks=rles)
        if results is not None:
            for box, score, cat, rle in zip(xyxy_to_xywh(boxes).tolist(), scores.tolist(), cats.tolist(), rles):
                results.append({"image_id": image_id, "category_id": int(cat), "bbox": [float(v) for v in box],
                                "score": float(score), "segmentation": rle})

    def _compute(self, gather: Gather | None) -> ValMetrics:
        box_state, mask_state = self.box_eval.state(), self.mask_eval.state()
        if gather is not None:
            states = gather((box_state, mask_state))
            box_state = Evaluator.merge([s[0] for s in states])
            mask_state = Evaluator.merge([s[1] for s in states])
        box = self.box_eval.compute(box_state)
        mask = self.mask_eval.compute(mask_state)
        self.evaluations = (box, mask)
        return ValMetrics(float(max(box.ap, 0)), float(max(box.ap50, 0)), float(max(mask.ap, 0)),
                          float(max(mask.ap50, 0)))


def rect_batch_shapes(shapes_hw: Sequence[tuple[int, int]], batch: int, imgsz: int, stride: int = 32,
                      pad: float = 0.5) -> list[tuple[int, int]]:
    """(H, W) input of each batch of images already ordered by aspect ratio (the reference's rectangular
    validation): the batch's aspect-ratio range decides the side that stays `imgsz`, then each side is
    `ceil(side * imgsz / stride + pad) * stride`."""
    ar = np.array([h / w for h, w in shapes_hw], np.float64)
    out = []
    for start in range(0, len(ar), batch):
        lo, hi = ar[start : start + batch].min(), ar[start : start + batch].max()
        rel = (hi, 1.0) if hi < 1 else (1.0, 1 / lo) if lo > 1 else (1.0, 1.0)
        h, w = (int(math.ceil(s * imgsz / stride + pad)) * stride for s in rel)
        out.append((h, w))
    return out


class _RectShard(torch.utils.data.Dataset):
    """Items of `dataset` in the given order, each letterboxed to its batch's (H, W)."""

    def __init__(self, dataset: SegmentationDataset, indices: list[int], shapes: list[tuple[int, int]]):
        self.dataset, self.indices, self.shapes = dataset, indices, shapes

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> dict[str, Any]:
        from cocoseg.data.augment import LetterBox

        loaded = self.dataset.load(self.indices[k])
        lb = LetterBox(self.shapes[k], scaleup=False)
        return self.dataset.to_tensors(lb.apply(loaded, lb.get_params(None, loaded)))


def _numpy(mask: Any) -> np.ndarray:
    return mask.cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)


@dataclass(frozen=True)
class ValOptions:
    """`cocoseg val` settings: the split, input size, loader, post-processing, device, and an optional results file."""

    split: str = "val"
    imgsz: int | None = None  # None: the size the checkpoint was trained at (else 640)
    batch: int = 16
    workers: int = 2
    conf: float = VAL_NMS.conf
    iou: float = VAL_NMS.iou
    max_det: int = VAL_NMS.max_det
    device: str = ""
    save_json: str | bool | None = None  # a path; True: predictions.json in the run folder (project/name)
    project: str = "runs/segment"
    name: str = "val"
    rect: bool = False  # True: the reference's rectangular batches (`yolo val` default), with rect_pad
    rect_pad: float = 0.5


def results_json_path(opt: ValOptions) -> Path | None:
    """Where `save_json` asks the predictions to go: None (off), the given path, or for a boolean
    True (`save_json=True` on the command line) `predictions.json` in a new run folder `project/name`."""
    from cocoseg.engine.config import coerce
    from cocoseg.engine.runs import new_run_dir
    from cocoseg.errors import CocosegError

    value = opt.save_json
    if isinstance(value, str) and value.strip():
        try:
            value = coerce("save_json", value, bool)  # the one reading of true/false words
        except CocosegError:
            return Path(value)
    if not value:
        return None
    return new_run_dir(opt.project, opt.name) / "predictions.json"


class OnnxModule(torch.nn.Module):
    """An exported ONNX model behind the validator's module interface (`infer`: uint8 [B, 3, H, W] ->
    (pred, protos)), run by the predictor's ONNX Runtime backend; the exported graph decodes itself."""

    def __init__(self, path: str | Path, device: torch.device):
        from cocoseg.engine.onnx_runtime import OnnxBackend

        super().__init__()
        self.backend = OnnxBackend(path, device)
        self.nc = len(self.backend.names)
        fixed = self.backend.fixed_hw
        self.imgsz = fixed[0] if fixed is not None and fixed[0] == fixed[1] else None

    def infer(self, imgs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.backend(imgs.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())


def validate_model(model: Any, data: str, options: ValOptions | None = None, **overrides: Any) -> ValMetrics:
    """`cocoseg val`: evaluate a model (name, checkpoint or module) on a split of a dataset YAML.

    `options` (default `ValOptions()`), with `overrides` naming its fields. With `save_json`, the
    predictions are also written as a COCO results file, on which `cocoseg eval` gives exactly the
    same numbers.
    """
    from cocoseg.data.split_labels import load_split_labels
    from cocoseg.engine.checkpoints import resolve_imgsz, resolve_weights
    from cocoseg.engine.device import select_device
    from cocoseg.errors import CocosegError
    from cocoseg.io import write_json
    from cocoseg.models import load_model

    opt = dataclasses.replace(options or ValOptions(), **overrides)

    dev = select_device(opt.device)
    model = resolve_weights(model)
    if isinstance(model, (str, Path)) and Path(model).suffix.lower() == ".onnx":
        net: Any = OnnxModule(model, select_device(opt.device))
        opt = dataclasses.replace(opt, imgsz=opt.imgsz or net.imgsz)
    else:
        net = model if isinstance(model, torch.nn.Module) else load_model(model)
    split_data = load_split_labels(data, opt.split, need_gt=True)
    assert split_data.gt is not None
    if int(net.nc) != len(split_data.gt.categories):
        raise CocosegError(f"model has {net.nc} classes but {data} ({opt.split}) has {len(split_data.gt.categories)} "
                           "categories; fine-tune it on this data first (cocoseg train model=... data=...)")
    imgsz = resolve_imgsz(model, opt.imgsz)
    if not isinstance(imgsz, int):
        raise CocosegError(f"imgsz: val takes one square size, got {imgsz}")
    imgsz = stride_imgsz(imgsz, 32)  # the largest stride of every YOLOv8-seg scale
    dataset = SegmentationDataset(split_data.labels, imgsz, augment=False, with_masks=False)
    validator = Validator(split_data.gt, dataset, batch=opt.batch, workers=opt.workers, conf=opt.conf, iou=opt.iou,
                          max_det=opt.max_det, rect=opt.rect, rect_pad=opt.rect_pad)
    save_to = results_json_path(opt)
    metrics, results = validator.run(net.to(dev), dev, keep_results=save_to is not None)
    if save_to is not None:
        write_json(save_to, results)
        LOGGER.info("saved %d predictions to %s", len(results), save_to)
    return metrics
