"""Training data: labels from any COCO source, seeded augmentations, masks, collate."""
from cocoseg.data.dataset import AugmentConfig, SegmentationDataset, collate
from cocoseg.data.labels import ImageLabels, LabelStore, cached_labels, parse_coco
from cocoseg.data.sample import Sample

__all__ = ["AugmentConfig", "ImageLabels", "LabelStore", "Sample", "SegmentationDataset", "cached_labels", "collate",
           "parse_coco"]
