"""Any split of any dataset (COCO JSON, YOLO labels, VOC) as an in-memory COCO dataset."""
from __future__ import annotations

from pathlib import Path

from cocoseg.convert.coco_read import read_coco_split
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.convert.voc_read import read_voc_split
from cocoseg.convert.yolo_read import read_yolo_split
from cocoseg.datasets.dataset_yaml import DataConfig
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset


def load_split(cfg: DataConfig, split: str, strict: bool = True, report: ConvertReport | None = None,
               progress: Progress = no_progress) -> tuple[CocoDataset, Path]:
    """(COCO dataset, image folder its `file_name`s are relative to) for one split of `cfg`.

    COCO JSON splits are loaded (and validated) as they are; YOLO splits are converted on the fly
    (image sizes from headers, crowd annotations and ids restored from the sidecar when present);
    VOC splits are read from their XML files and segmentation PNGs. Every source reaches training
    and evaluation the same way. `report`, when given, collects what was clipped or dropped.
    """
    if split not in cfg.splits:
        raise CocosegError(f"{cfg.yaml_file or 'dataset'}: no split '{split}' (has: {', '.join(cfg.splits) or 'none'})")
    source = cfg.splits[split]
    if source.format == "coco":
        return read_coco_split(cfg, source)
    if source.format == "voc":
        return read_voc_split(cfg, source, report=report, progress=progress)
    return read_yolo_split(cfg, source, strict=strict, report=report, progress=progress)
