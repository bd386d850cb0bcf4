"""Format bridge: COCO <-> YOLO-seg/-detect and Pascal VOC, dataset YAMLs, downloads (numpy only)."""
from cocoseg.convert.api import convert, write_coco
from cocoseg.convert.dataset_yaml import DataConfig, SplitSource, datasets_dir, load_data_yaml
from cocoseg.convert.detect import InputSpec, open_input
from cocoseg.convert.imagesize import image_size
from cocoseg.convert.report import ConvertReport
from cocoseg.convert.splits import load_split
from cocoseg.convert.yolo_write import write_yolo

__all__ = [
    "ConvertReport", "DataConfig", "InputSpec", "SplitSource", "convert", "datasets_dir", "image_size",
    "load_data_yaml", "load_split", "open_input", "write_coco", "write_yolo",
]
