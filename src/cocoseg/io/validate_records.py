"""Detailed checks of one COCO record: every problem of an image, category or annotation, by field.

`cocoseg.io.validate` runs a fast screen over all records and calls these only for records the
screen cannot pass, so they favour precise messages over speed. Each checker appends
`(field, message, severity)` findings through an `add` callback that knows the record.
"""
from __future__ import annotations

import math
import reprlib
from typing import Any, Callable

from cocoseg.io.paths import file_name_problem
from cocoseg.masks.polygons import far_coordinate, far_message
from cocoseg.masks.rle import decode_rle_string

Add = Callable[..., None]  # add(field, message, severity="error")

MAX_ID = 2**63 - 1  # ids are indexed as int64 (numpy, pycocotools' evaluation arrays)
MAX_SIDE = 2**31 - 1  # pycocotools' C code holds image sides in 32-bit integers
VISIBILITY = (0, 1, 2)
_INT_ONLY = frozenset((int,))
# The smallest integer that float() refuses (it would round to 2**1024); numpy, pycocotools and JSON
# writers convert numbers to float, so larger integers are corrupt values, not coordinates.
INT_LIMIT = 2**1024 - 2**970

# A box may overshoot the image by BBOX_SLACK_PX silently (float rounding, labelling tools that
# snap to the pixel edge). Up to BBOX_WARN_FRACTION of the image side more is a warning: sloppy,
# but evaluation is unaffected. Beyond that the box cannot belong to this image (swapped
# width/height, EXIF rotation, wrong image_id, coordinates of a resized copy): an error.
BBOX_SLACK_PX = 1.0
BBOX_WARN_FRACTION = 0.05

# pycocotools' COCOeval stores each match as the matched annotation's id and reads 0 as
# "unmatched" (evaluateImg: `if gtm[tind, gind] > 0`; accumulate: `tps = dtm & ~dtIg`). A ground
# truth annotation with id 0 therefore turns the detection that matches it into a false positive.
# This is a warning, not an error: the file is valid COCO and cocoseg loads it (so that it can be
# renumbered), but the user must know that pycocotools scores it wrongly.
ID_ZERO_WARNING = ("is 0: pycocotools' COCOeval reads match id 0 as 'unmatched', so a detection matching "
                   "this annotation counts as a false positive; number annotations from 1")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 6, 3, 40, 40


def kind(value: Any) -> str:
    """How a JSON value is called in messages: 'a string', 'null', 'an object' ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {show(value)}"
    if isinstance(value, str):
        return f"the string {show(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} items" if value else "an empty list"
    return type(value).__name__


def show(value: Any) -> str:
    """A short rendering of a JSON value for messages (NaN and Infinity as JSON writes them)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int) and abs(value) > 10**40:
        return f"an integer of {value.bit_length()} bits"  # repr() refuses ints over 4300 digits
    try:
        return _SHORT.repr(value)
    except (ValueError, RecursionError):
        return "a list" if isinstance(value, list) else "an object"


def is_number(value: Any) -> bool:
    """A JSON number (booleans excluded)."""
    return type(value) is int or type(value) is float


def is_finite(value: int | float) -> bool:
    """A finite float, or an int that converts to one (Python ints are unbounded; float64 is not)."""
    return -INT_LIMIT < value < INT_LIMIT


def not_finite(value: int | float) -> str:
    """The message for a number that is NaN, infinite or absurdly large."""
    if type(value) is float and not math.isfinite(value):
        return f"is {show(value)}; must be finite"
    return f"is {show(value)}; too large"


def _non_number(values: list, field: str, add: Add) -> bool:
    """Report the first element that is not a finite number; True when there was one."""
    bad_type = [i for i, v in enumerate(values) if not is_number(v)]
    bad = bad_type or [i for i, v in enumerate(values) if not is_finite(v)]
    if not bad:
        return False
    i = bad[0]
    more = f" ({len(bad) - 1} more like it)" if len(bad) > 1 else ""
    what = f"must be a number, got {kind(values[i])}" if bad_type else not_finite(values[i])
    add(f"{field}[{i}]", what + more)
    return True


def check_id(record: dict, key: str, add: Add) -> bool:
    """Report a missing or non-integer id field; True when it is a usable integer."""
    value = record.get(key)
    if key not in record:
        add(key, "is missing")
    elif type(value) is not int:
        add(key, f"must be an integer, got {kind(value)}")
    elif not -MAX_ID <= value <= MAX_ID:
        add(key, f"is {value}; ids must fit in a 64-bit integer")
    else:
        return True
    return False


def image_problems(image: dict, add: Add) -> tuple[int, int] | None:
    """Check width, height and file_name of an image record; (width, height) when both are usable."""
    sides = []
    for key in ("width", "height"):
        value = image.get(key)
        if key not in image:
            add(key, "is missing")
        elif type(value) is not int or value <= 0:
            add(key, f"must be a positive integer (pixels), got {kind(value)}")
        elif value > MAX_SIDE:
            add(key, f"is {value}; pycocotools cannot hold sides above {MAX_SIDE}")
        else:
            sides.append(value)
    name = image.get("file_name")
    if "file_name" not in image:
        add("file_name", "is missing; training, conversion and drawing need it to find the image", "warning")
    elif type(name) is not str or not name:
        add("file_name", f"must be a non-empty string, got {kind(name)}")
    elif (unsafe := file_name_problem(name)) is not None:
        add("file_name", f"{show(name)} {unsafe} (convert refuses it)", "warning")
    return (sides[0], sides[1]) if len(sides) == 2 else None


def category_problems(category: dict, add: Add) -> int | None:
    """Check name, keypoints and skeleton of a category record; its keypoint count K when it defines one."""
    name = category.get("name")
    if "name" not in category:
        add("name", "is missing")
    elif type(name) is not str or not name:
        add("name", f"must be a non-empty string, got {kind(name)}")
    if "keypoints" not in category:
        if "skeleton" in category:
            add("skeleton", "is given but the category has no 'keypoints' names", "warning")
        return None
    names = category["keypoints"]
    if type(names) is not list or not all(type(n) is str for n in names):
        add("keypoints", f"must be a list of keypoint names (strings), got {kind(names)}")
        return None
    count = len(names)
    skeleton = category.get("skeleton")
    if skeleton is not None:
        ok = type(skeleton) is list and all(
            type(e) is list and len(e) == 2 and all(type(v) is int and 1 <= v <= count for v in e) for e in skeleton)
        if not ok:
            add("skeleton", f"must be a list of [a, b] pairs of 1-based keypoint numbers in 1..{count}, "
                            f"got {show(skeleton)}")
    return count


def annotation_problems(ann: dict, size: tuple[int, int] | None, keypoint_count: int | None,
                        category_known: bool, add: Add) -> None:
    """Check the values and geometry of one annotation (ids and references are checked by the caller)."""
    crowd = ann.get("iscrowd")
    if "iscrowd" not in ann:
        add("iscrowd", "is missing; read as 0, but pycocotools' COCOeval needs it", "warning")
    elif type(crowd) is not int or crowd not in (0, 1):
        add("iscrowd", f"must be 0 or 1, got {kind(crowd)}")
    area = ann.get("area")
    if "area" not in ann:
        add("area", "is missing; pycocotools' COCOeval needs it for its small/medium/large ranges", "warning")
    elif not is_number(area):
        add("area", f"must be a number, got {kind(area)}")
    elif not is_finite(area):
        add("area", not_finite(area))
    elif area < 0:
        add("area", f"is {show(area)}; must be >= 0")
    segmentation = ann.get("segmentation")
    if "bbox" in ann:
        bbox_problems(ann["bbox"], size, add)
    elif segmentation:
        add("bbox", "is missing; it can be derived from the segmentation, but pycocotools' bbox evaluation "
                    "needs it", "warning")
    else:
        add("bbox", "is missing and there is no segmentation; the annotation locates nothing")
    if "segmentation" in ann:
        segmentation_problems(segmentation, size, add)
    if "keypoints" in ann:
        keypoint_problems(ann, keypoint_count, category_known, add)


def bbox_problems(bbox: Any, size: tuple[int, int] | None, add: Add) -> None:
    """A bbox is [x, y, width, height] of finite numbers, width/height >= 0, inside its image."""
    if type(bbox) is not list or len(bbox) != 4:
        add("bbox", f"must be a list of 4 numbers [x, y, width, height], got {kind(bbox)}")
        return
    if _non_number(bbox, "bbox", add):
        return
    x, y, w, h = bbox
    if w < 0 or h < 0:
        add("bbox", f"{show(bbox)} has a negative {'width' if w < 0 else 'height'}; bbox is [x, y, width, height]")
        return
    if size is None:
        return
    width, height = size
    overshoot = max(-x / width, -y / height, (x + w - width) / width, (y + h - height) / height)
    pixels = max(-x, -y, x + w - width, y + h - height)
    if pixels <= BBOX_SLACK_PX:
        return
    where = (f"{show(bbox)} reaches x {x:g}..{x + w:g}, y {y:g}..{y + h:g}, outside the image "
             f"(width {width}, height {height}) by {pixels:.4g} px")
    if overshoot <= BBOX_WARN_FRACTION:
        add("bbox", where + "; clip it to the image", "warning")
    else:
        add("bbox", where + "; wrong image_id, swapped width/height or coordinates of a resized image?")


def segmentation_problems(segmentation: Any, size: tuple[int, int] | None, add: Add) -> None:
    """Polygons (a list of flat coordinate lists) or one RLE object."""
    if type(segmentation) is dict:
        rle_problems(segmentation, size, add)
    elif type(segmentation) is not list:
        add("segmentation", f"must be a list of polygons or an RLE object, got {kind(segmentation)}")
    elif not segmentation:
        add("segmentation", "is an empty list: the annotation has no mask (pycocotools' segm evaluation "
                            "fails on it; leave the key out for box-only annotations)", "warning")
    elif all(is_number(v) for v in segmentation):
        # a common export bug (supervision #205); pycocotools' frPyObjects fails on it with a TypeError
        add("segmentation", f"is a flat list of {len(segmentation)} numbers; polygons are a list of lists, "
                            "[[x1, y1, x2, y2, ...]] (one list per part)")
    else:
        for i, polygon in enumerate(segmentation):
            polygon_problems(polygon, f"segmentation[{i}]", i == 0, add)
            if size is not None and type(polygon) is list and all(is_number(v) for v in polygon):
                far = far_coordinate(polygon, size[0], size[1])
                if far is not None:
                    add(f"segmentation[{i}]", far_message(far, size[0], size[1]))


def polygon_problems(polygon: Any, field: str, first: bool, add: Add) -> None:
    """A polygon is a flat list [x1, y1, x2, y2, ...] of an even number >= 6 of finite numbers."""
    if type(polygon) is not list:
        hint = "; an RLE is one object, not inside a list" if type(polygon) is dict else ""
        add(field, f"must be a list of coordinates [x1, y1, x2, y2, ...], got {kind(polygon)}{hint}")
        return
    n = len(polygon)
    if n == 4:
        # pycocotools' frPyObjects tells boxes from polygons by length alone (mmdetection #7776).
        reads = "all polygons of this annotation as boxes" if first else "it as a 2-point polygon"
        add(field, f"has 4 coordinates; a polygon needs an even number >= 6 (pycocotools reads {reads} "
                   "[x, y, width, height])")
    elif n < 6 or n % 2:
        add(field, f"has {n} coordinates; a polygon needs an even number >= 6")
    _non_number(polygon, field, add)


def rle_problems(rle: dict, size: tuple[int, int] | None, add: Add) -> None:
    """An RLE object: size [height, width] of its image; counts summing to height*width."""
    missing = [k for k in ("size", "counts") if k not in rle]
    if missing:
        add("segmentation", f"is an object without {' and '.join(repr(k) for k in missing)}; an RLE is "
                            "{'size': [height, width], 'counts': ...}")
        return
    hw = rle["size"]
    if type(hw) is not list or len(hw) != 2 or not all(type(v) is int and 0 <= v <= MAX_SIDE for v in hw):
        add("segmentation.size", f"must be [height, width] (two non-negative integers), got {show(hw)}")
        return
    if size is not None and hw != [size[1], size[0]]:
        add("segmentation.size", f"is {hw} but the image has height {size[1]} and width {size[0]}; "
                                 "an RLE size is [height, width] of its image")
    counts = rle["counts"]
    if type(counts) is str:
        counts, error = decode_rle_string(counts)
        if error:
            add("segmentation.counts", error)
            return
        label = "decoded runs"
    elif type(counts) is list:
        if _non_count(counts, add):
            return
        label = "runs"
    else:
        add("segmentation.counts", f"must be a list of run lengths or a compressed string, got {kind(counts)}")
        return
    total = sum(counts)
    if total != hw[0] * hw[1]:
        add("segmentation.counts", f"{label} sum to {total}; they must cover the {hw[0]}x{hw[1]} mask "
                                   f"= {hw[0] * hw[1]} pixels")


def _non_count(counts: list, add: Add) -> bool:
    """Report the first run length that is not a non-negative integer; True when there was one."""
    if set(map(type, counts)) <= _INT_ONLY and (not counts or min(counts) >= 0):  # the common case, in C loops
        return False
    for i, c in enumerate(counts):
        if type(c) is not int or c < 0:
            add(f"segmentation.counts[{i}]", f"must be a non-negative integer (a run length), got {kind(c)}")
            return True
    return False


def keypoint_problems(ann: dict, count: int | None, category_known: bool, add: Add) -> None:
    """keypoints: 3*K numbers (x, y, visibility in 0/1/2); num_keypoints = how many have visibility > 0."""
    points = ann["keypoints"]
    if type(points) is not list:
        add("keypoints", f"must be a list of numbers [x1, y1, v1, ...], got {kind(points)}")
        return
    if count is None:
        if category_known:
            add("keypoints", "are given but the category defines no 'keypoints' names, so their number "
                             "cannot be checked", "warning")
        if len(points) % 3:
            add("keypoints", f"has {len(points)} values; keypoints are (x, y, visibility) triples")
            return
    elif len(points) != 3 * count:
        add("keypoints", f"has {len(points)} values; the category defines {count} keypoints, so it needs "
                         f"{3 * count} (x, y, visibility for each)")
        return
    if _non_number(points, "keypoints", add):
        return
    for i in range(2, len(points), 3):
        if points[i] not in VISIBILITY:
            add(f"keypoints[{i}]", f"(visibility of keypoint {i // 3 + 1}) is {show(points[i])}; must be 0 "
                                   "(not labelled), 1 (labelled, hidden) or 2 (visible)")
            return
    visible = sum(1 for v in points[2::3] if v > 0)
    labelled = ann.get("num_keypoints")
    if "num_keypoints" not in ann:
        add("num_keypoints", f"is missing; pycocotools' keypoint evaluation needs it ({visible} here)", "warning")
    elif type(labelled) is not int:
        add("num_keypoints", f"must be an integer, got {kind(labelled)}")
    elif labelled != visible:
        add("num_keypoints", f"is {labelled} but {visible} keypoints have visibility > 0 (pycocotools "
                             "ignores annotations whose num_keypoints is 0)")
