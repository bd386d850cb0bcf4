"""COCO JSON in and out: the dataset object, validation, results files."""
