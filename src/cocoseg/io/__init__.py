"""COCO JSON in and out: the dataset object, validation, statistics, the category map."""
from cocoseg.io.annotation_geometry import complete_annotation, segmentation_area_bbox
from cocoseg.io.categories import CategoryMap
from cocoseg.io.dataset import CocoDataset, load_coco, split_counts
from cocoseg.io.jsonio import atomic_write, read_json, write_json
from cocoseg.io.merge import merge_datasets
from cocoseg.io.stats import DatasetStats, dataset_stats
from cocoseg.io.validate import check_coco, read_and_validate, validate_coco, validate_file

__all__ = [
    "CategoryMap", "CocoDataset", "DatasetStats", "atomic_write", "complete_annotation", "dataset_stats",
    "check_coco", "load_coco", "merge_datasets", "read_and_validate", "read_json", "segmentation_area_bbox",
    "split_counts", "validate_coco", "validate_file", "write_json",
]
