"""COCO JSON splits as they are: loaded, validated, names checked against the dataset YAML."""
from __future__ import annotations

import os
from pathlib import Path

from cocoseg.datasets.dataset_yaml import DataConfig, SplitSource
from cocoseg.errors import DataError, Problem
from cocoseg.io import CocoDataset


def read_coco_split(cfg: DataConfig, source: SplitSource) -> tuple[CocoDataset, Path]:
    """(dataset, image folder) of a COCO JSON split, its category names checked against the YAML's."""
    if source.parts:  # several COCO splits: merged, file names rebased on the deepest common folder
        loaded = [read_coco_split(cfg, part) for part in source.parts]
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
