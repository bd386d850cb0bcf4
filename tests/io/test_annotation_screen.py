"""Validation's annotation screen (cocoseg.io.annotation_screen): the C and Python readings of parsed
records give the same columns, and the value rules send a row to the detailed checks exactly when
those report a problem (or, for the few rows the screen leaves to them on purpose, at least never pass
a row with a problem).
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cocoseg.io.annotation_screen import native_columns, python_columns, screen
from cocoseg.io.validate import _annotation_in_detail
from cocoseg.io.validate_records import INT_LIMIT, MAX_ID
from cocoseg.native import NATIVE

from .test_fuzz import VALID

SIZES = {1: (640, 480), 2: (300, 500)}
COUNTS = {1: None, 2: 2}
BASE = {"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 100.0, "bbox": [10.0, 20.0, 30.0, 40.0],
        "segmentation": [[10.0, 20.0, 40.0, 20.0, 40.0, 60.0]]}
READERS = [python_columns] + ([native_columns] if NATIVE is not None else [])


def _with(**changes: object) -> dict:
    ann = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is _DROP:
            del ann[key]
        else:
            ann[key] = value
    return ann


_DROP = object()
_BIG = 2**52
# rows whose screen verdict must equal "the detailed checks report something"
EXACT = {
    "clean": _with(),
    "no segmentation": _with(segmentation=_DROP),
    "int values": _with(area=100, bbox=[10, 20, 30, 40], segmentation=[[10, 20, 40, 20, 40, 60]]),
    "bbox at the slack": _with(bbox=[-1.0, -1.0, 642.0, 482.0]),
    "bbox past the slack": _with(bbox=[-1.0000001, 0.0, 10.0, 10.0]),
    "bbox right edge past": _with(bbox=[600.0, 0.0, 41.0000001, 10.0]),
    "bbox zero size": _with(bbox=[0.0, 0.0, 0.0, -0.0]),
    "bbox negative": _with(bbox=[0.0, 0.0, -0.5, 1.0]),
    "bbox bool": _with(bbox=[True, 0.0, 1.0, 1.0]),
    "bbox nan": _with(bbox=[0.0, float("nan"), 1.0, 1.0]),
    "bbox inf": _with(bbox=[0.0, 0.0, float("inf"), 1.0]),
    "bbox 3 items": _with(bbox=[0.0, 0.0, 1.0]),
    "bbox missing": _with(bbox=_DROP),
    "bbox null": _with(bbox=None),
    "y at the tolerance": _with(segmentation=[[0.0, -480.0, 10.0, 960.0, 20.0, 5.0]]),
    "y past the tolerance": _with(segmentation=[[0.0, -480.5, 10.0, 5.0, 20.0, 5.0]]),
    "y past the top": _with(segmentation=[[0.0, 0.0, 10.0, 960.5, 20.0, 5.0]]),
    "far int coordinate": _with(segmentation=[[0, 0, 10, _BIG, 20, 5]]),
    "nan coordinate": _with(segmentation=[[0.0, 0.0, 10.0, float("nan"), 20.0, 5.0]]),
    "bool coordinate": _with(segmentation=[[0.0, 0.0, 10.0, True, 20.0, 5.0]]),
    "string coordinate": _with(segmentation=[[0.0, 0.0, 10.0, "1", 20.0, 5.0]]),
    "zero-length part": _with(segmentation=[[]]),
    "4 coordinates": _with(segmentation=[[0.0, 0.0, 10.0, 10.0]]),
    "7 coordinates": _with(segmentation=[[0.0, 0.0, 10.0, 10.0, 5.0, 5.0, 1.0]]),
    "second part bad": _with(segmentation=[[0.0, 0.0, 10.0, 10.0, 5.0, 5.0], [1.0, 2.0]]),
    "flat list": _with(segmentation=[0.0, 0.0, 10.0, 10.0, 5.0, 5.0]),
    "empty polygon list": _with(segmentation=[]),
    "segmentation null": _with(segmentation=None),
    "segmentation string": _with(segmentation="abc"),
    "id MAX_ID": _with(id=MAX_ID),
    "id MAX_ID + 1": _with(id=MAX_ID + 1),
    "id 0": _with(id=0),
    "id float": _with(id=7.0),
    "id bool": _with(id=True),
    "id missing": _with(id=_DROP),
    "image unknown": _with(image_id=3),
    "image_id bool": _with(image_id=True),
    "image_id huge": _with(image_id=2**64),
    "category unknown": _with(category_id=9),
    "iscrowd 1": _with(iscrowd=1),
    "iscrowd True": _with(iscrowd=True),
    "iscrowd 1.0": _with(iscrowd=1.0),
    "iscrowd 2": _with(iscrowd=2),
    "iscrowd huge": _with(iscrowd=2**64),
    "iscrowd missing": _with(iscrowd=_DROP),
    "area INT_LIMIT": _with(area=INT_LIMIT),
    "area largest float": _with(area=1.7976931348623157e308),
    "area negative zero": _with(area=-0.0),
    "area negative": _with(area=-1e-9),
    "area nan": _with(area=float("nan")),
    "area inf": _with(area=float("inf")),
    "area bool": _with(area=False),
    "area string": _with(area="1"),
    "area missing": _with(area=_DROP),
    "keypoints clean": _with(category_id=2, keypoints=[1.0, 2.0, 2, 0, 0, 0], num_keypoints=1),
    "keypoints wrong count": _with(category_id=2, keypoints=[1.0, 2.0, 2], num_keypoints=1),
    "keypoints num wrong": _with(category_id=2, keypoints=[1.0, 2.0, 2, 0, 0, 0], num_keypoints=2),
    "keypoints no names": _with(keypoints=[1.0, 2.0, 2], num_keypoints=1),
    "not a dict": [1, 2, 3],
}
# rows the screen leaves to the detailed checks although these may find nothing
CAUTIOUS = {
    "id negative": _with(id=-5),
    "area int 2**52": _with(area=_BIG),
    "area int beyond float": _with(area=INT_LIMIT - 1),
    "bbox int 2**52": _with(bbox=[0, 0, 1, _BIG]),
    "x past the shorter side": _with(segmentation=[[0.0, 0.0, 961.0, 5.0, 20.0, 5.0]]),
    "rle": _with(segmentation={"size": [480, 640], "counts": [307200]}),
}


def _problems(ann: object) -> list:
    out: list = []
    _annotation_in_detail([ann], 0, SIZES, COUNTS, "t.json", out)
    return out


def _screened(ann: object, reader: object, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether the screen sends the row on (run with the given column reader)."""
    import cocoseg.io.annotation_screen as module

    with monkeypatch.context() as m:
        m.setattr(module, "annotation_columns", lambda anns: reader(anns))
        _, detailed, keypoint_rows = screen([BASE, ann], SIZES, COUNTS)
    if keypoint_rows:
        from cocoseg.io.validate import _keypoints_screened

        detailed += [r for r in keypoint_rows if not _keypoints_screened([BASE, ann][r], COUNTS)]
    assert 0 not in detailed
    return 1 in detailed


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
@pytest.mark.parametrize("name", sorted(EXACT))
def test_the_screen_sends_on_exactly_the_rows_with_a_problem(name: str, reader: object,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ann = EXACT[name]
    assert _screened(ann, reader, monkeypatch) == bool(_problems(ann)), _problems(ann)


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
@pytest.mark.parametrize("name", sorted(CAUTIOUS))
def test_the_screen_leaves_the_cautious_rows_to_the_detailed_checks(name: str, reader: object,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert _screened(CAUTIOUS[name], reader, monkeypatch)


def test_a_clean_dataset_passes_the_screen_but_its_rles() -> None:
    data = copy.deepcopy(VALID)
    from cocoseg.io.validate import _check_categories, _check_images

    out: list = []
    sizes, counts = _check_images(data["images"], "v", out), _check_categories(data["categories"], "v", out)
    _, detailed, keypoint_rows = screen(data["annotations"], sizes, counts)
    rles = [i for i, a in enumerate(data["annotations"]) if type(a.get("segmentation")) is dict]
    assert out == [] and rles and detailed == rles
    assert keypoint_rows == [i for i, a in enumerate(data["annotations"]) if "keypoints" in a and i not in rles]


_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70), st.booleans(),
    st.sampled_from([2**52 - 1, 2**52, -2**52, -2**52 + 1, 2**63 - 1, 2**63, -2**63, -2**63 - 1, INT_LIMIT,
                     2**1023, -INT_LIMIT, 0, -0.0, 1, 1.0]))
_values = st.one_of(_numbers, st.none(), st.text(max_size=2), st.lists(_numbers, max_size=5))
_polygon = st.one_of(st.lists(_numbers, max_size=8), _numbers, st.none())
_segmentation = st.one_of(st.lists(_polygon, max_size=3), st.just({"size": [1, 1], "counts": [1]}), _values)
_record = st.fixed_dictionaries({}, optional={
    "id": _values, "image_id": _values, "category_id": _values, "iscrowd": _values, "area": _values,
    "bbox": st.one_of(st.lists(_numbers, min_size=3, max_size=5), _values), "segmentation": _segmentation,
    "keypoints": _values})


@pytest.mark.skipif(NATIVE is None, reason="the C reader is part of the compiled core")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_record, _values), max_size=6), st.booleans())
def test_the_c_and_python_readings_are_the_same(anns: list, polygons: bool) -> None:
    c, py = native_columns(anns, polygons), python_columns(anns, polygons)
    assert c.fits == py.fits
    for name in ("ann_id", "image_id", "category_id", "iscrowd", "area", "box", "parts", "part_len", "part_min",
                 "part_max", "typed", "id_kind", "complete", "keypoints"):
        a, b = getattr(c, name), getattr(py, name)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name


@pytest.mark.skipif(NATIVE is None, reason="the C reader is part of the compiled core")
def test_the_c_reading_grows_its_part_columns() -> None:
    anns = [_with(segmentation=[[0.0, 0.0, 1.0, 1.0, 2.0, float(k)]] * 5) for k in range(300)]
    c, py = native_columns(anns), python_columns(anns)
    assert len(c.part_len) == 1500 and np.array_equal(c.part_max, py.part_max)
