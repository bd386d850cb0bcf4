"""Datasets as a whole, numpy only: dataset YAMLs (Ultralytics' layout, cocoseg's COCO extension), downloads
and `synth:` generation of missing data, image sizes from file headers. The format readers and writers that
use them are `cocoseg.convert`.
"""
from cocoseg.datasets.dataset_yaml import DataConfig, SplitSource, datasets_dir, load_data_yaml
from cocoseg.datasets.download import download_dataset, download_file, ensure_dataset, unpack
from cocoseg.datasets.imagesize import image_size

__all__ = ["DataConfig", "SplitSource", "datasets_dir", "download_dataset", "download_file", "ensure_dataset",
           "image_size", "load_data_yaml", "unpack"]
