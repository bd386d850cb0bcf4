"""Training data: labels from any COCO source, seeded augmentations, masks, collate."""
from cocoseg.data.augment_config import AugmentConfig

try:
    import torch  # noqa: F401
except ImportError:  # without the train extra: the augmentation settings only (TrainConfig, --help)
    pass
else:
    from cocoseg.data.dataset import SegmentationDataset, collate
    from cocoseg.data.labels import ImageLabels, LabelStore, cached_labels, parse_coco
    from cocoseg.data.sample import Sample

__all__ = ["AugmentConfig", "ImageLabels", "LabelStore", "Sample", "SegmentationDataset", "cached_labels", "collate",
           "parse_coco"]
