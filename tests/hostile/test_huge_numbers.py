"""Issue 16.5 re-audit: a 30-digit image_id / id / category_id and an RLE size of 1e19, in the ground truth and in
results, through every entry point: one line (exit 1) or handled, never an OverflowError traceback."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg.cli.main import main
from cocoseg.errors import CocosegError

BIG = 10**29 + 7  # 30 digits
FIELDS = ("image_id", "id", "category_id", "size")
EMPTY_10x10 = "T3"  # compressed RLE of a 10x10 mask of zeros


def _gt(field: str | None) -> dict:
    image = {"id": 1, "width": 10, "height": 10, "file_name": "a.jpg"}
    ann = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 8, 1, 8, 8, 1, 8]], "area": 49.0,
           "bbox": [1, 1, 7, 7], "iscrowd": 0}
    cat = {"id": 1, "name": "thing"}
    if field == "image_id":
        image["id"] = ann["image_id"] = BIG
    elif field == "id":
        ann["id"] = BIG
    elif field == "category_id":
        cat["id"] = ann["category_id"] = BIG
    elif field == "size":
        ann["segmentation"], ann["iscrowd"] = {"size": [10**19, 10**19], "counts": "abc"}, 1
    return {"images": [image], "annotations": [ann], "categories": [cat]}


def _res(field: str | None) -> list:
    rec = {"image_id": 1, "category_id": 1, "bbox": [1, 1, 7, 7], "score": 0.9,
           "segmentation": {"size": [10, 10], "counts": EMPTY_10x10}}
    if field in ("image_id", "category_id", "id"):
        rec[field] = BIG
    elif field == "size":
        rec["segmentation"] = {"size": [10**19, 10**19], "counts": "abc"}
    return [rec]


@pytest.fixture
def files(tmp_path: Path):
    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.jpg"), np.zeros((10, 10, 3), np.uint8))

    def write(name: str, data) -> str:
        (tmp_path / name).write_text(json.dumps(data))
        return str(tmp_path / name)
    return tmp_path, write


def _cli_cases(tmp: Path, gt: str, res: str, good_gt: str, good_res: str) -> dict[str, list[str]]:
    imgs = str(tmp / "imgs")
    cases = {f"convert-{to}": ["convert", gt, str(tmp / f"out_{to}"), "--to", to, "--images", imgs]
             for to in ("coco", "yolo", "voc")}
    cases.update({
        "validate": ["validate", gt], "stats": ["stats", gt],
        "eval-gt-bbox": ["eval", gt, good_res], "eval-gt-segm": ["eval", gt, good_res, "--iou_type", "segm"],
        "eval-res-bbox": ["eval", good_gt, res], "eval-res-segm": ["eval", good_gt, res, "--iou_type", "segm"],
        "merge": ["merge", gt, good_gt, "-o", str(tmp / "merged.json")],
        "audit-gt": ["audit", gt, good_res, "--out", str(tmp / "audit_gt.json")],
        "audit-res": ["audit", good_gt, res, "--out", str(tmp / "audit_res.json")],
    })
    return cases


CLI = ("convert-coco", "convert-yolo", "convert-voc", "validate", "stats", "eval-gt-bbox", "eval-gt-segm",
       "eval-res-bbox", "eval-res-segm", "merge", "audit-gt", "audit-res")


@pytest.mark.parametrize("entry", CLI)
@pytest.mark.parametrize("field", FIELDS)
def test_cli_entry_points(files, field: str, entry: str) -> None:
    tmp, write = files
    gt, res = write("gt.json", _gt(field)), write("res.json", _res(field))
    good_gt, good_res = write("good_gt.json", _gt(None)), write("good_res.json", _res(None))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(_cli_cases(tmp, gt, res, good_gt, good_res)[entry])  # a traceback would raise here
    assert code in (0, 1), err.getvalue()
    if code == 1 and entry != "validate":  # validate lists its problems on stdout
        lines = err.getvalue().strip().splitlines()  # one line per problem, each naming file and record
        assert lines[0].startswith("error: ") and all(".json" in line for line in lines), lines
        assert "Traceback" not in err.getvalue()
    if field in ("image_id", "category_id") and not entry.startswith(("eval-res", "audit-res")):
        assert code == 1 and "64-bit" in (err.getvalue() + out.getvalue())


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("side", ["gt", "results"])
def test_view_loader(files, field: str, side: str) -> None:
    from cocoseg.view import open_session

    tmp, write = files
    gt = write("gt.json", _gt(field if side == "gt" else None))
    res = write("res.json", _res(field if side == "results" else None))
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            open_session(gt, str(tmp / "imgs"), results=res, iou_type="segm", slices=False, tide=False)
    except CocosegError as exc:
        assert all(".json" in line for line in str(exc).splitlines())


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("side", ["gt", "results"])
def test_compat_coco(files, field: str, side: str) -> None:
    """The pycocotools drop-in evaluates what pycocotools evaluates (its pure path when ids leave int64)."""
    from cocoseg.compat.coco import COCO
    from cocoseg.compat.cocoeval import COCOeval

    tmp, write = files
    gt_data, res_data = _gt(field if side == "gt" else None), _res(field if side == "results" else None)
    if side == "gt" and field == "image_id":
        res_data[0]["image_id"] = BIG  # loadRes asserts that results name GT images
    if side == "results" and field == "image_id":
        pytest.skip("results of an image the GT lacks: loadRes' own assertion, as in pycocotools")
    gt, res = write("gt.json", gt_data), write("res.json", res_data)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        ev = COCOeval(coco, coco.loadRes(res), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert len(ev.stats) == 12
