"""Format bridge: COCO <-> YOLO-seg/-detect and Pascal VOC, dataset YAMLs, downloads (numpy only).

Every source reaches training and evaluation the same way: `load_data_yaml` describes a dataset,
`ensure_dataset` generates or downloads it when absent, `load_split` gives any split as a COCO
dataset plus the image folder its `file_name`s are relative to.
"""
from cocoseg.convert.api import convert, write_coco
from cocoseg.convert.dataset_yaml import DataConfig, SplitSource, datasets_dir, load_data_yaml
from cocoseg.convert.detect import InputSpec, open_input
from cocoseg.convert.download import download_dataset, download_file, ensure_dataset, unpack
from cocoseg.convert.imagesize import image_size
from cocoseg.convert.report import ConvertReport
from cocoseg.convert.splits import load_split
from cocoseg.convert.voc_write import write_voc
from cocoseg.convert.yolo_write import write_yolo

__all__ = [
    "ConvertReport", "DataConfig", "InputSpec", "SplitSource", "convert", "datasets_dir", "download_dataset",
    "download_file", "ensure_dataset", "image_size", "load_data_yaml", "load_split", "open_input", "unpack",
    "write_coco", "write_voc", "write_yolo",
]
