"""Validate COCO JSON: structure, references, geometry and values, one `Problem` per finding.

`validate_coco` screens every image with flat, inlined checks and every annotation on typed columns
(`cocoseg.io.annotation_screen`: one pass over the records in C, then the value rules vectorized),
and hands only the records the screens cannot pass to the detailed checkers of
`cocoseg.io.validate_records`, which name every problem by record and field. The screens never
report anything themselves, so the result is the same as running the detailed checks on every record
(the fuzz test asserts exactly that).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from cocoseg.errors import DataError, Problem
from cocoseg.io.annotation_screen import AnnotationColumns, screen, unique_ids
from cocoseg.io.file_kinds import other_coco_kind
from cocoseg.io.jsonio import PathLike, read_json
from cocoseg.io.validate_records import (
    ID_ZERO_WARNING,
    INT_LIMIT,
    MAX_ID,
    MAX_SIDE,
    annotation_problems,
    category_problems,
    check_id,
    image_problems,
    kind,
    show,
)

__all__ = ["check_coco", "read_and_validate", "validate_coco", "validate_file"]

_SCREEN = True  # the fuzz test turns the fast screen off to compare with the detailed checks alone
_NUMBER = frozenset((int, float))
_INTS = frozenset((int,))
_VISIBILITY = frozenset((0, 1, 2))


def validate_coco(data: Any, file: str = "<memory>") -> list[Problem]:
    """Every problem (errors and warnings) of a parsed COCO dataset: images, categories, then annotations."""
    out: list[Problem] = []
    if type(data) is not dict:
        out.append(Problem(file, "", "", _top_level_message(data)))
        return out
    other = other_coco_kind(data)  # captions, panoptic: say what the file is (issue 16.10)
    if other is not None:
        return [Problem(file, "", "", other)]
    images = _section(data, "images", file, out)
    categories = _section(data, "categories", file, out)
    annotations = _section(data, "annotations", file, out)
    sizes = None if images is None else _check_images(images, file, out)
    keypoint_counts = None if categories is None else _check_categories(categories, file, out)
    if annotations:
        _check_annotations(annotations, sizes, keypoint_counts, file, out)
    return out


def check_coco(data: Any, file: str = "<memory>") -> None:
    """Raise DataError (carrying every problem) when the dataset has any error; warnings alone pass."""
    problems = validate_coco(data, file)
    if any(p.severity == "error" for p in problems):
        raise DataError(problems)


def read_and_validate(path: PathLike) -> tuple[Any, list[Problem]]:
    """(parsed data or None when unreadable, problems) for a COCO JSON file (plain or .gz)."""
    file = str(path)
    try:
        data = read_json(path)
    except DataError as exc:
        return None, [_relabel(p, file, (str(Path(path)), Path(path).name)) for p in exc.problems]
    return data, validate_coco(data, file)


def validate_file(path: PathLike) -> list[Problem]:
    """Every problem of a COCO JSON file, including a file that cannot be read or parsed."""
    return read_and_validate(path)[1]


def _relabel(problem: Problem, file: str, names: tuple[str, ...]) -> Problem:
    """A read_json problem ('name: message') with the file in its own field."""
    message = problem.message
    for prefix in (f"{file}: ", *(f"{name}: " for name in names)):
        if not problem.file and message.startswith(prefix):
            return Problem(file, problem.record, problem.field, message[len(prefix):], problem.severity)
    return problem


def _top_level_message(data: Any) -> str:
    if type(data) is list:
        looks = any(type(d) is dict and ("score" in d or "image_id" in d) for d in data[:20])
        what = "a list of detections" if looks else f"{kind(data)}"
        return (f"the top level is {what}, not an object: this looks like a detection results file, which "
                "`cocoseg eval` reads; a COCO dataset is an object with images, annotations and categories")
    return (f"the top level is {kind(data)}; a COCO dataset is an object with images, annotations and "
            "categories lists")


def _section(data: dict, name: str, file: str, out: list[Problem]) -> list | None:
    """The section's list, or None (with a problem) when it is missing or not a list."""
    if name not in data:
        if name == "annotations":
            info = "images" in data and "categories" in data
            message = ("is missing: an image-info file (images and categories only, like COCO's "
                       "image_info_test-dev2017.json): usable as predict ann=/submission=, not for evaluation"
                       if info else "is missing; read as no annotations (an image-info file?)")
            out.append(Problem(file, "", name, message, "warning"))
            return []
        out.append(Problem(file, "", name, "is missing; a COCO dataset is an object with images, "
                                           "annotations and categories lists"))
        return None
    value = data[name]
    if type(value) is not list:
        out.append(Problem(file, "", name, f"must be a list of objects, got {kind(value)}"))
        return None
    return value


def _record(section: str, index: int, record: Any) -> str:
    """'annotations[17] (id 2042)', or 'annotations[17]' when the record has no id."""
    if type(record) is dict and "id" in record:
        return f"{section}[{index}] (id {show(record['id'])})"
    return f"{section}[{index}]"


def _adder(out: list[Problem], file: str, record: str) -> Callable[..., None]:
    def add(field: str, message: str, severity: str = "error") -> None:
        out.append(Problem(file, record, field, message, severity))

    return add


def _not_object(out: list[Problem], file: str, section: str, index: int, value: Any, needs: str) -> None:
    out.append(Problem(file, f"{section}[{index}]", "", f"is {kind(value)}; {needs}"))


def _check_images(images: list, file: str, out: list[Problem]) -> dict[int, tuple[int, int] | None]:
    """Check every image; {image id: (width, height), or None when the size is unusable}."""
    sizes: dict[int, tuple[int, int] | None] = {}
    names: list[str] = []
    screen = _SCREEN
    for i, im in enumerate(images):
        if screen and type(im) is dict:
            iid, w, h, name = im.get("id"), im.get("width"), im.get("height"), im.get("file_name")
            if (type(iid) is int and type(w) is int and type(h) is int and type(name) is str and name
                    and name[0] not in "/\\" and ".." not in name and name[1:2] != ":" and "\0" not in name
                    and 0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE and -MAX_ID <= iid <= MAX_ID and iid not in sizes):
                sizes[iid] = (w, h)
                names.append(name)
                continue
        if type(im) is not dict:
            _not_object(out, file, "images", i, im, "an image is an object with id, width, height and file_name")
            continue
        add = _adder(out, file, _record("images", i, im))
        usable = check_id(im, "id", add)
        if usable and im["id"] in sizes:
            add("id", f"is also used by {_first('images', images, im['id'])}; ids must be unique within "
                      "images (pycocotools keeps only the last)")
            usable = False
        size = image_problems(im, add)
        if usable:
            sizes[im["id"]] = size
        if type(im.get("file_name")) is str and im["file_name"]:
            names.append(im["file_name"])
    if len(set(names)) != len(names):
        _duplicate_file_names(images, file, out)
    return sizes


def _first(section: str, records: list, record_id: int) -> str:
    """'images[3]': the first record of a section with this id."""
    for j, r in enumerate(records):
        if type(r) is dict and type(r.get("id")) is int and r["id"] == record_id:
            return f"{section}[{j}]"
    return section


def _duplicate_file_names(images: list, file: str, out: list[Problem]) -> None:
    first: dict[str, int] = {}
    for i, im in enumerate(images):
        name = im.get("file_name") if type(im) is dict else None
        if type(name) is not str or not name:
            continue
        j = first.setdefault(name, i)
        if j != i:
            out.append(Problem(file, _record("images", i, im), "file_name",
                               f"{show(name)} is also used by images[{j}]; its annotations are split between "
                               "two image records", "warning"))


def _check_categories(categories: list, file: str, out: list[Problem]) -> dict[int, int | None]:
    """Check every category; {category id: number of keypoints K, or None when it defines none}."""
    counts: dict[int, int | None] = {}
    names: dict[str, int] = {}
    for i, cat in enumerate(categories):
        if type(cat) is not dict:
            _not_object(out, file, "categories", i, cat, "a category is an object with id and name")
            continue
        add = _adder(out, file, _record("categories", i, cat))
        usable = check_id(cat, "id", add)
        if usable and cat["id"] in counts:
            add("id", f"is also used by {_first('categories', categories, cat['id'])}; ids must be unique "
                      "within categories")
            usable = False
        count = category_problems(cat, add)
        if usable:
            counts[cat["id"]] = count
        name = cat.get("name")
        if type(name) is str and name:
            j = names.setdefault(name, i)
            if j != i:
                add("name", f"{show(name)} is also used by categories[{j}]; lookups and merges by name are "
                            "ambiguous", "warning")
    return counts


def _check_annotations(anns: list, sizes: dict | None, counts: dict | None, file: str, out: list[Problem]) -> None:
    """Screen every annotation on columns (`cocoseg.io.annotation_screen`); check the ones it cannot pass
    in detail."""
    if not (_SCREEN and sizes is not None and counts is not None):
        _finish_annotations(anns, None, list(range(len(anns))), [], sizes, counts, file, out)
        return
    cols, detailed, keypoint_rows = screen(anns, sizes, counts)
    _finish_annotations(anns, cols, detailed, keypoint_rows, sizes, counts, file, out)


def _finish_annotations(anns: list, cols: AnnotationColumns | None, detailed: list[int], keypoint_rows: list[int],
                        sizes: dict | None, counts: dict | None, file: str, out: list[Problem]) -> None:
    """After the screen: the keypoints it left, the detailed checks, the checks across annotations."""
    if keypoint_rows:
        detailed = sorted(detailed + [i for i in keypoint_rows if not _keypoints_screened(anns[i], counts)])
    for i in detailed:
        _annotation_in_detail(anns, i, sizes, counts, file, out)
    if cols is None or not unique_ids(cols):
        _duplicate_annotation_ids([a.get("id") if type(a) is dict and type(a.get("id")) is int else None
                                   for a in anns], file, out)
    _all_crowd(anns, file, out)


def _numbers_pass(values: list) -> bool:
    """All finite JSON numbers (no bools, NaN, infinities or ints beyond float range)."""
    types = set(map(type, values))
    if types == _INTS:
        return max(values) < INT_LIMIT and min(values) > -INT_LIMIT
    if not types <= _NUMBER:
        return False
    total = sum(values)  # an int too large for a float raises OverflowError
    return total - total == 0  # NaN or infinity anywhere makes this NaN


def _keypoints_screened(ann: dict, counts: dict) -> bool:
    """`_keypoints_pass` as the screen runs it: a value it cannot compare fails it."""
    try:
        return _keypoints_pass(ann, counts[ann["category_id"]])
    except (TypeError, OverflowError):
        return False


def _keypoints_pass(ann: dict, count: int | None) -> bool:
    """3*K finite numbers, visibilities 0/1/2, and num_keypoints equal to the labelled ones."""
    points = ann["keypoints"]
    if count is None or type(points) is not list or len(points) != 3 * count:
        return False
    shown = points[2::3]
    labelled = ann.get("num_keypoints")
    return (set(shown) <= _VISIBILITY and type(labelled) is int and labelled == len(shown) - shown.count(0)
            and _numbers_pass(points))


def _annotation_in_detail(anns: list, i: int, sizes: dict | None, counts: dict | None, file: str,
                          out: list[Problem]) -> None:
    ann = anns[i]
    if type(ann) is not dict:
        _not_object(out, file, "annotations", i, ann, "an annotation is an object with id, image_id, "
                                                      "category_id, bbox, area, iscrowd and segmentation")
        return
    add = _adder(out, file, _record("annotations", i, ann))
    if check_id(ann, "id", add) and ann["id"] == 0:
        add("id", ID_ZERO_WARNING, "warning")
    size = None
    if check_id(ann, "image_id", add) and sizes is not None:
        if ann["image_id"] in sizes:
            size = sizes[ann["image_id"]]
        else:
            add("image_id", f"is {ann['image_id']}, but no image has this id")
    count, category_known = None, False
    if check_id(ann, "category_id", add) and counts is not None:
        if ann["category_id"] in counts:
            count, category_known = counts[ann["category_id"]], True
        else:
            add("category_id", f"is {ann['category_id']}, but no category has this id")
    annotation_problems(ann, size, count, category_known, add)


def _duplicate_annotation_ids(ids: list[int | None], file: str, out: list[Problem]) -> None:
    unique = set(ids)
    unique.discard(None)
    if len(unique) == len(ids) - ids.count(None):
        return
    first: dict[int, int] = {}
    for i, aid in enumerate(ids):
        if aid is None:
            continue
        j = first.setdefault(aid, i)
        if j != i:
            out.append(Problem(file, f"annotations[{i}] (id {aid})", "id", f"is also used by annotations[{j}]; "
                               "ids must be unique within annotations (pycocotools keeps only the last)"))


def _all_crowd(anns: list, file: str, out: list[Problem]) -> None:
    """CVAT exports mark every RLE mask iscrowd=1; COCO evaluation then ignores every object."""
    if anns and all(type(a) is dict and a.get("iscrowd") == 1 for a in anns):
        out.append(Problem(file, "", "annotations", f"are all crowd regions (iscrowd=1 on all {len(anns)}): "
                           "evaluation ignores crowd regions, so nothing would be scored, and converters drop "
                           "them; set iscrowd=0 for single objects", "warning"))
