"""Any split of any dataset (COCO JSON, YOLO labels, VOC) as an in-memory COCO dataset."""
from __future__ import annotations

import os
from pathlib import Path

from cocoseg.convert.dataset_yaml import DataConfig, SplitSource
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.errors import CocosegError, DataError, Problem
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
        return _load_coco(cfg, source)
    if source.format == "voc":
        from cocoseg.convert.voc import read_voc_split

        return read_voc_split(cfg, source, report=report, progress=progress)
    from cocoseg.convert.yolo_read import read_yolo_split

    return read_yolo_split(cfg, source, strict=strict, report=report, progress=progress)


def _load_coco(cfg: DataConfig, source: SplitSource) -> tuple[CocoDataset, Path]:
    if source.parts:  # several COCO splits: merged, file names rebased on the deepest common folder
        loaded = [_load_coco(cfg, part) for part in source.parts]
        root = Path(os.path.commonpath([str(r.resolve()) for _, r in loaded]))
        merged = None
        for ds, part_root in loaded:
            prefix = Path(os.path.relpath(part_root.resolve(), root))
            for im in ds.images:
                im["file_name"] = (prefix / im["file_name"]).as_posix().removeprefix("./")
            merged = ds if merged is None else merged.merge(ds)
        assert merged is not None
        return merged, root
    assert source.annotations is not None
    if not source.annotations.exists():
        raise DataError([Problem(str(source.annotations), "", source.name, "annotations file does not exist")])
    root = source.images[0] if source.images else source.annotations.parent
    if not root.is_dir():
        raise DataError([Problem(str(root), "", source.name, "images folder does not exist")])
    ds = CocoDataset.load(source.annotations)
    if cfg.names:
        json_names = [c["name"] for c in sorted(ds.categories, key=lambda c: c["id"])]
        yaml_names = [cfg.names[i] for i in range(len(cfg.names))]
        if json_names != yaml_names:
            raise DataError([Problem(str(cfg.yaml_file or "dataset"), "", "names",
                                     f"do not match the categories of {source.annotations.name} in id order "
                                     f"({yaml_names[:5]}... vs {json_names[:5]}...)")])
    return ds, root
