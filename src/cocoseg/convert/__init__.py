"""Format bridge: symmetric readers and writers per format (COCO JSON, YOLO-seg/-detect, Pascal VOC), numpy only.

`open_input` detects what a path holds, `load_split` reads any split as a COCO dataset plus the image folder
its `file_name`s are relative to, and `convert` writes it in another format. Dataset descriptions (YAMLs),
downloads and image headers are `cocoseg.datasets`.
"""
from cocoseg.convert.api import convert
from cocoseg.convert.coco_write import write_coco
from cocoseg.convert.detect import InputSpec, open_input
from cocoseg.convert.report import ConvertReport
from cocoseg.convert.splits import load_split
from cocoseg.convert.voc_write import write_voc
from cocoseg.convert.yolo_write import write_yolo

__all__ = ["ConvertReport", "InputSpec", "convert", "load_split", "open_input", "write_coco", "write_voc", "write_yolo"]
