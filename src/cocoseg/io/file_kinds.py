"""COCO files that are not instance annotations (captions, panoptic), named as such instead of failing field by field."""
from __future__ import annotations

from typing import Any

_INSTANCES = "cocoseg reads instance annotations (instances_*.json) and person keypoints (person_keypoints_*.json)"


def other_coco_kind(data: Any) -> str | None:
    """What a parsed COCO-like object is when it is a captions or panoptic file, else None."""
    if type(data) is not dict or type(data.get("annotations")) is not list or not data["annotations"]:
        return None
    first = data["annotations"][0]
    if type(first) is not dict or "category_id" in first:
        return None
    if "segments_info" in first:
        return ("this is a COCO panoptic file (annotations hold segments_info and a PNG per image); " + _INSTANCES
                + "; panopticapi's converters turn panoptic into instance annotations")
    if "caption" in first:
        return "this is a COCO captions file (annotations hold caption text, no masks or boxes); " + _INSTANCES
    return None


def other_results_kind(records: Any) -> str | None:
    """What a results list is when it holds captions rather than detections, else None."""
    if type(records) is list and records and type(records[0]) is dict and "caption" in records[0] \
            and not {"bbox", "segmentation", "keypoints"} & set(records[0]):
        return "these are captioning results (image_id, caption); cocoseg evaluates detections (bbox, segmentation)"
    return None
