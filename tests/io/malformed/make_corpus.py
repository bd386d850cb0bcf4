"""Regenerate this corpus: small COCO files with one defect each, and cases.json (file -> expected).

Run `python tests/io/malformed/make_corpus.py` after adding a case; the files are committed so the
tests need nothing but them. Each case lists substrings of the expected problem line, the record
and field it must name, and the exit code of `cocoseg validate`.
"""
import copy
import gzip
import json
import os

import numpy as np
from pycocotools import mask as M

OUT = os.path.dirname(os.path.abspath(__file__))
for f in os.listdir(OUT):
    if f.endswith((".json", ".gz")):
        os.remove(os.path.join(OUT, f))

box = np.zeros((240, 320), np.uint8, order="F")
box[50:90, 100:160] = 1
compressed = M.encode(np.asfortranarray(box))["counts"].decode()
changes = np.flatnonzero(np.diff(box.flatten(order="F"))) + 1
runs = np.diff(np.concatenate(([0], changes, [box.size]))).tolist()  # column-major, zeros first
assert sum(runs) == 240 * 320 and box.flatten(order="F")[0] == 0
small = np.zeros((240, 320), np.uint8)
small[10:20, 30:40] = 1

BASE = {
    "info": {"description": "cocoseg validation corpus"},
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
        {"id": 2, "file_name": "b.jpg", "width": 320, "height": 240},
    ],
    "categories": [
        {"id": 1, "name": "person", "supercategory": "person",
         "keypoints": ["head", "left_hand", "right_hand"], "skeleton": [[1, 2], [1, 3]]},
        {"id": 2, "name": "car", "supercategory": "vehicle"},
    ],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 2, "bbox": [10, 20, 100, 50], "area": 5000.0, "iscrowd": 0,
         "segmentation": [[10, 20, 110, 20, 110, 70, 10, 70]]},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [200, 100, 50, 120], "area": 6000.0, "iscrowd": 0,
         "segmentation": [[200, 100, 250, 100, 250, 220, 200, 220]],
         "keypoints": [225, 110, 2, 205, 160, 1, 0, 0, 0], "num_keypoints": 2},
        {"id": 3, "image_id": 2, "category_id": 2, "bbox": [100, 50, 60, 40], "area": 2400, "iscrowd": 1,
         "segmentation": {"size": [240, 320], "counts": runs}},
        {"id": 4, "image_id": 2, "category_id": 2, "bbox": [100, 50, 60, 40], "area": 2400, "iscrowd": 0,
         "segmentation": {"size": [240, 320], "counts": compressed}},
    ],
}
CASES = {}


def case(name, data, contains, record="", field="", exit=1, raw=None):
    path = os.path.join(OUT, name)
    if raw is not None:
        open(path, "wb").write(raw)
    else:
        text = dumps(data) if not isinstance(data, str) else data
        open(path, "w").write(text + "\n")
    CASES[name] = {"contains": contains, "record": record, "field": field, "exit": exit}


def dumps(data):
    """One record per line: small files that read well in a diff."""
    if not isinstance(data, dict):
        return json.dumps(data)
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            body = ",\n  ".join(json.dumps(v) for v in value)
            lines.append(f" {json.dumps(key)}: [\n  {body}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}"


def mut(fn):
    d = copy.deepcopy(BASE)
    fn(d)
    return d


def ann(i, **kw):
    def f(d):
        for k, v in kw.items():
            if v is DEL:
                del d["annotations"][i][k]
            else:
                d["annotations"][i][k] = v
    return f


DEL = object()


def A(i, n):
    return f"annotations[{i}] (id {n})"



case("valid.json", BASE, [], exit=0)
case("empty.json", None, ["the file is empty"], raw=b"")
case("whitespace_only.json", None, ["only whitespace"], raw=b"  \n\n ")
case("yaml_not_json.json", None, ["invalid JSON at line 1, column 1"], raw=b"images:\n  - id: 1\n")
case("single_quotes.json", None, ["invalid JSON at line 3, column 4: Expecting property name enclosed in double quotes"],
     raw=b'{\n "images": [\n  {\'id\': 1, \'width\': 640}\n ]\n}\n')
case("trailing_comma.json", None, ["invalid JSON at line 2, column"], raw=b'{"images": [],\n "categories": [],}\n')
full = dumps(BASE)
case("truncated.json", None, ["invalid JSON at line", "truncated"], raw=full[: len(full) // 2].encode())
case("garbage.json.gz", None, ["cannot read"], raw=b"\x1f\x8b\x08\x00" + bytes(range(7, 80)))
case("truncated.json.gz", None, ["cannot read"], raw=gzip.compress(full.encode(), mtime=0)[:200])
case("binary.json", None, ["not UTF-8"], raw=bytes([0x89, 0x50, 0x4E, 0x47, 0xFF, 0xFE, 0x00, 0x01]))
case("results_list.json", [{"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4], "score": 0.9}],
     ["detection results file", "cocoseg eval"])
case("top_level_string.json", '"images"', ["the top level is the string 'images'"])
case("missing_images.json", mut(lambda d: d.pop("images")), ["images is missing"], field="images")
case("missing_categories.json", mut(lambda d: d.pop("categories")), ["categories is missing"], field="categories")
case("missing_annotations.json", mut(lambda d: d.pop("annotations")),
     ["warning:", "annotations is missing"], field="annotations", exit=0)
case("images_is_object.json", mut(lambda d: d.update(images={"1": d["images"][0]})),
     ["images must be a list of objects, got an object"], field="images")
case("image_is_string.json", mut(lambda d: d["images"].__setitem__(1, "b.jpg")),
     ["images[1]: is the string 'b.jpg'"], record="images[1]")
case("image_missing_width.json", mut(lambda d: d["images"][0].pop("width")), ["width is missing"],
     record="images[0] (id 1)", field="width")
case("image_height_string.json", mut(lambda d: d["images"][1].update(height="240")),
     ["height must be a positive integer", "'240'"], record="images[1] (id 2)", field="height")
case("image_width_zero.json", mut(lambda d: d["images"][0].update(width=0)),
     ["width must be a positive integer"], record="images[0] (id 1)", field="width")
case("image_id_string.json", mut(lambda d: d["images"][0].update(id="1")),
     ["id must be an integer, got the string '1'"], record="images[0] (id '1')", field="id")
case("image_missing_file_name.json", mut(lambda d: d["images"][1].pop("file_name")),
     ["warning:", "file_name is missing"], record="images[1] (id 2)", field="file_name", exit=0)
case("duplicate_image_id.json", mut(lambda d: d["images"][1].update(id=1)),
     ["is also used by images[0]"], record="images[1] (id 1)", field="id")
case("duplicate_file_name.json", mut(lambda d: d["images"][1].update(file_name="a.jpg")),
     ["warning:", "'a.jpg' is also used by images[0]"], record="images[1] (id 2)", field="file_name", exit=0)
case("duplicate_category_id.json", mut(lambda d: d["categories"][1].update(id=1)),
     ["is also used by categories[0]"], record="categories[1] (id 1)", field="id")
case("duplicate_category_name.json", mut(lambda d: d["categories"][1].update(name="person")),
     ["warning:", "'person' is also used by categories[0]"], record="categories[1] (id 2)", field="name", exit=0)
case("category_missing_name.json", mut(lambda d: d["categories"][1].pop("name")), ["name is missing"],
     record="categories[1] (id 2)", field="name")
case("category_keypoints_not_names.json", mut(lambda d: d["categories"][0].update(keypoints=3)),
     ["keypoints must be a list of keypoint names"], record="categories[0] (id 1)", field="keypoints")
case("category_skeleton_out_of_range.json", mut(lambda d: d["categories"][0].update(skeleton=[[1, 2], [3, 4]])),
     ["skeleton must be a list of [a, b] pairs", "1..3"], record="categories[0] (id 1)", field="skeleton")
case("duplicate_annotation_id.json", mut(ann(3, id=2)),
     ["id is also used by annotations[1]"], record=A(3, 2), field="id")
case("annotation_missing_id.json", mut(ann(0, id=DEL)), ["annotations[0]: id is missing"],
     record="annotations[0]", field="id")
case("annotation_id_float.json", mut(ann(0, id=1.0)), ["id must be an integer, got the number 1.0"],
     record="annotations[0] (id 1.0)", field="id")
case("annotation_id_zero.json", mut(ann(0, id=0)), ["warning:", "id is 0", "false positive"],
     record=A(0, 0), field="id", exit=0)
case("annotation_is_list.json", mut(lambda d: d["annotations"].__setitem__(2, [1, 2, 3])),
     ["annotations[2]: is a list of 3 items"], record="annotations[2]")
case("dangling_image_id.json", mut(ann(0, image_id=99)), ["image_id is 99, but no image has this id"],
     record=A(0, 1), field="image_id")
case("dangling_category_id.json", mut(ann(1, category_id=7)), ["category_id is 7, but no category has this id"],
     record=A(1, 2), field="category_id")
case("missing_category_id.json", mut(ann(2, category_id=DEL)), ["category_id is missing"],
     record=A(2, 3), field="category_id")
case("image_id_null.json", mut(ann(0, image_id=None)), ["image_id must be an integer, got null"],
     record=A(0, 1), field="image_id")
case("bbox_three_numbers.json", mut(ann(0, bbox=[10, 20, 100])),
     ["bbox must be a list of 4 numbers [x, y, width, height], got a list of 3 items"], record=A(0, 1), field="bbox")
case("bbox_string_value.json", mut(ann(0, bbox=[10, "20", 100, 50])),
     ["bbox[1] must be a number, got the string '20'"], record=A(0, 1), field="bbox[1]")
case("bbox_negative_width.json", mut(ann(0, bbox=[110, 20, -100, 50])), ["negative width"],
     record=A(0, 1), field="bbox")
case("bbox_outside_image.json", mut(ann(3, bbox=[300, 50, 60, 40])),
     ["outside the image (width 320, height 240) by 40 px"], record=A(3, 4), field="bbox")
case("bbox_slightly_outside.json", mut(ann(0, bbox=[10, 20, 640, 50])),
     ["warning:", "outside the image (width 640, height 480) by 10 px"], record=A(0, 1), field="bbox", exit=0)
case("bbox_nan.json", dumps(mut(ann(0, bbox=[10, 20, float("nan"), 50]))),
     ["bbox[2] is NaN; must be finite"], record=A(0, 1), field="bbox[2]")
case("bbox_missing.json", mut(ann(0, bbox=DEL)), ["warning:", "bbox is missing; it can be derived"],
     record=A(0, 1), field="bbox", exit=0)
case("bbox_and_segmentation_missing.json", mut(ann(0, bbox=DEL, segmentation=DEL)),
     ["bbox is missing and there is no segmentation"], record=A(0, 1), field="bbox")
case("area_infinity.json", dumps(mut(ann(1, area=float("inf")))),
     ["area is Infinity; must be finite"], record=A(1, 2), field="area")
case("area_negative.json", mut(ann(0, area=-5)), ["area is -5; must be >= 0"], record=A(0, 1), field="area")
case("area_string.json", mut(ann(0, area="5000")), ["area must be a number, got the string '5000'"],
     record=A(0, 1), field="area")
case("area_missing.json", mut(ann(0, area=DEL)), ["warning:", "area is missing"], record=A(0, 1), field="area",
     exit=0)
case("iscrowd_two.json", mut(ann(0, iscrowd=2)), ["iscrowd must be 0 or 1, got the number 2"],
     record=A(0, 1), field="iscrowd")
case("iscrowd_true.json", mut(ann(0, iscrowd=True)), ["iscrowd must be 0 or 1, got true"],
     record=A(0, 1), field="iscrowd")
case("all_crowd.json", mut(lambda d: [a.update(iscrowd=1) for a in d["annotations"]]),
     ["warning:", "annotations are all crowd regions (iscrowd=1 on all 4)"], field="annotations", exit=0)
case("polygon_odd.json", mut(ann(0, segmentation=[[10, 20, 110, 20, 110, 70, 10, 70], [1, 2, 3, 4, 5]])),
     ["segmentation[1] has 5 coordinates; a polygon needs an even number >= 6"],
     record=A(0, 1), field="segmentation[1]")
case("polygon_four.json", mut(ann(0, segmentation=[[10, 20, 110, 70]])),
     ["segmentation[0] has 4 coordinates", "reads all polygons of this annotation as boxes"],
     record=A(0, 1), field="segmentation[0]")
case("polygon_flat.json", mut(ann(0, segmentation=[10, 20, 110, 20, 110, 70])),
     ["segmentation is a flat list of 6 numbers; polygons are a list of lists"], record=A(0, 1), field="segmentation")
case("polygon_null_coordinate.json", mut(ann(0, segmentation=[[10, 20, 110, None, 110, 70]])),
     ["segmentation[0][3] must be a number, got null"], record=A(0, 1), field="segmentation[0][3]")
case("polygon_nan.json", dumps(mut(ann(0, segmentation=[[10, 20, 110, 20, float("nan"), 70]]))),
     ["segmentation[0][4] is NaN; must be finite"], record=A(0, 1), field="segmentation[0][4]")
case("segmentation_string.json", mut(ann(0, segmentation="10 20 110 20 110 70")),
     ["segmentation must be a list of polygons or an RLE object, got the string"], record=A(0, 1),
     field="segmentation")
case("segmentation_empty.json", mut(ann(0, segmentation=[])), ["warning:", "segmentation is an empty list"],
     record=A(0, 1), field="segmentation", exit=0)
case("rle_in_list.json", mut(ann(2, segmentation=[{"size": [240, 320], "counts": runs}])),
     ["segmentation[0] must be a list of coordinates", "an RLE is one object"], record=A(2, 3),
     field="segmentation[0]")
case("rle_missing_size.json", mut(ann(2, segmentation={"counts": runs})), ["without 'size'"],
     record=A(2, 3), field="segmentation")
case("rle_size_swapped.json", mut(ann(2, segmentation={"size": [320, 240], "counts": runs})),
     ["segmentation.size is [320, 240] but the image has height 240 and width 320"], record=A(2, 3),
     field="segmentation.size")
case("rle_counts_sum.json", mut(ann(2, segmentation={"size": [240, 320], "counts": runs[:-1]})),
     [f"runs sum to {sum(runs[:-1])}; they must cover the 240x320 mask = 76800 pixels"], record=A(2, 3),
     field="segmentation.counts")
case("rle_counts_negative.json", mut(ann(2, segmentation={"size": [240, 320], "counts": [100, -5] + runs})),
     ["segmentation.counts[1] must be a non-negative integer", "-5"], record=A(2, 3), field="segmentation.counts[1]")
case("rle_string_bad_char.json", mut(ann(3, segmentation={"size": [240, 320], "counts": compressed[:5] + "~" + compressed[6:]})),
     ["has the character '~' at position 5"], record=A(3, 4), field="segmentation.counts")
case("rle_string_truncated.json", mut(ann(3, segmentation={"size": [240, 320], "counts": compressed + "h"})),
     ["ends in the middle of a run length"], record=A(3, 4), field="segmentation.counts")
short = M.encode(np.asfortranarray(small[:120]))["counts"].decode()
case("rle_string_wrong_sum.json", mut(ann(3, segmentation={"size": [240, 320], "counts": short})),
     ["decoded runs sum to 38400; they must cover the 240x320 mask = 76800 pixels"], record=A(3, 4),
     field="segmentation.counts")
case("rle_counts_number.json", mut(ann(3, segmentation={"size": [240, 320], "counts": 76800})),
     ["segmentation.counts must be a list of run lengths or a compressed string"], record=A(3, 4),
     field="segmentation.counts")
case("keypoints_length.json", mut(ann(1, keypoints=[225, 110, 2, 205, 160, 1])),
     ["keypoints has 6 values; the category defines 3 keypoints, so it needs 9"], record=A(1, 2), field="keypoints")
case("keypoints_visibility.json", mut(ann(1, keypoints=[225, 110, 2, 205, 160, 3, 0, 0, 0])),
     ["keypoints[5] (visibility of keypoint 2) is 3"], record=A(1, 2), field="keypoints[5]")
case("keypoints_string.json", mut(ann(1, keypoints=[225, "110", 2, 205, 160, 1, 0, 0, 0])),
     ["keypoints[1] must be a number"], record=A(1, 2), field="keypoints[1]")
case("num_keypoints_mismatch.json", mut(ann(1, num_keypoints=3)),
     ["num_keypoints is 3 but 2 keypoints have visibility > 0"], record=A(1, 2), field="num_keypoints")
case("keypoints_without_names.json", mut(ann(0, keypoints=[20, 30, 2], num_keypoints=1)),
     ["warning:", "the category defines no 'keypoints' names"], record=A(0, 1), field="keypoints", exit=0)
case("huge_integer.json", None, ["invalid JSON", "4300 digits"], raw=full.replace('"width": 640', '"width": ' + "9" * 5000).encode())

rows = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in CASES.items())
open(os.path.join(OUT, "cases.json"), "w").write("{\n" + rows + "\n}\n")
print(len(CASES), "cases")
