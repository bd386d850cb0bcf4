"""The synthetic dataset's categories: ids, names, colours and the COCO person keypoint schema."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SynthCategory:
    """One shape class: COCO id and name, its supercategory and the hue its objects are painted in."""

    id: int
    name: str
    supercategory: str
    hue: float  # degrees on the colour wheel; objects get hue +- HUE_JITTER


# Hues 40 degrees apart (jitter +-10) so colour alone separates the classes; shape separates them too.
CATEGORIES: tuple[SynthCategory, ...] = (
    SynthCategory(1, "circle", "shape", 0.0),
    SynthCategory(2, "square", "shape", 40.0),
    SynthCategory(3, "triangle", "shape", 80.0),
    SynthCategory(4, "star", "shape", 120.0),
    SynthCategory(5, "ellipse", "shape", 160.0),
    SynthCategory(6, "ring", "shape", 200.0),
    SynthCategory(7, "pair", "shape", 240.0),
    SynthCategory(8, "cross", "shape", 280.0),
    SynthCategory(9, "person", "person", 320.0),
)
HUE_JITTER = 10.0
CATEGORY_BY_NAME = {c.name: c for c in CATEGORIES}

# COCO's person keypoints and skeleton (1-based keypoint indices), as in person_keypoints_*.json.
KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
    (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)


def coco_categories() -> list[dict[str, Any]]:
    """The `categories` list of the COCO JSON; the person entry carries keypoints and skeleton."""
    out: list[dict[str, Any]] = []
    for cat in CATEGORIES:
        entry: dict[str, Any] = {"id": cat.id, "name": cat.name, "supercategory": cat.supercategory}
        if cat.name == "person":
            entry["keypoints"] = list(KEYPOINT_NAMES)
            entry["skeleton"] = [list(pair) for pair in SKELETON]
        out.append(entry)
    return out
