"""Fuzzing the validator and the loader: any input ends in a result or DataError, never another exception.

Also checks that the fast screen of `validate_coco` changes nothing: with the screen off (every
record through the detailed checks) the problem list is identical.
"""
from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cocoseg.io.validate as validate_module
from cocoseg.errors import DataError, Problem
from cocoseg.io.validate import check_coco, read_and_validate, validate_coco

VALID = json.loads((Path(__file__).parent / "malformed" / "valid.json").read_text())
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COCO_KEYS = ["images", "annotations", "categories", "id", "image_id", "category_id", "bbox", "area", "iscrowd",
             "segmentation", "keypoints", "num_keypoints", "width", "height", "file_name", "name", "size",
             "counts", "skeleton"]

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-3, 700) | st.floats()
           | st.text(max_size=8) | st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, 2**70, 1e308, ""]))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=30)
coco_shaped = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(COCO_KEYS), inner, max_size=7),
    max_leaves=40)
rle_strings = st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=115), max_size=40)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON tree, so a mutation can hit any value."""
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _slots(value, out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((node, i))
            _slots(value, out)
    return out


@st.composite
def mutated_datasets(draw: st.DrawFn) -> dict:
    """The valid corpus dataset with 1-4 random edits: drop, retype, NaN, duplicate, RLE strings..."""
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(data, [])
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        action = draw(st.sampled_from(["drop", "value", "scalar", "rle", "duplicate", "shorten"]))
        if action == "drop":
            del container[key]
        elif action == "value":
            container[key] = draw(json_values)
        elif action == "scalar":
            container[key] = draw(scalars)
        elif action == "rle":
            container[key] = {"size": draw(st.sampled_from([[240, 320], [480, 640], [0, 0]])),
                              "counts": draw(rle_strings)}
        elif action == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif isinstance(container[key], list) and container[key]:
            container[key] = container[key][: draw(st.integers(0, len(container[key]) - 1))]
    return data


def check_outcome(data: Any) -> None:
    """validate_coco lists Problems, the screen changes nothing, check_coco raises only DataError."""
    problems = validate_coco(data, "fuzz.json")
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, Problem) and problem.severity in ("error", "warning")
        assert str(problem).startswith(("fuzz.json: ", "warning: fuzz.json: "))
    validate_module._SCREEN = False
    try:
        assert validate_coco(data, "fuzz.json") == problems
    finally:
        validate_module._SCREEN = True
    has_error = any(p.severity == "error" for p in problems)
    try:
        check_coco(data, "fuzz.json")
        assert not has_error
    except DataError as exc:
        assert has_error and exc.problems == problems


def check_loader(data: Any) -> None:
    """CocoDataset.from_dict: a dataset whose indexes build, or DataError; nothing else."""
    from cocoseg.io import CocoDataset

    try:
        dataset = CocoDataset.from_dict(data, file="fuzz.json")
    except DataError:
        return
    index = dataset.index
    assert len(index.images) == len(dataset.images)
    for image in dataset.images:
        dataset.anns_for_image(image["id"])
    dataset.stats()
    json.dumps(dataset.to_dict())  # user fields may hold NaN: only the checked fields are finite


@FUZZ
@given(json_values)
def test_arbitrary_json_values(data: Any) -> None:
    check_outcome(data)
    check_loader(data)


@FUZZ
@given(st.dictionaries(st.sampled_from(["images", "annotations", "categories", "info"]),
                       st.lists(coco_shaped, max_size=4), min_size=1))
def test_coco_shaped_values(data: dict) -> None:
    check_outcome(data)
    check_loader(data)


@FUZZ
@given(mutated_datasets())
def test_mutated_valid_datasets(data: dict) -> None:
    check_outcome(data)
    check_loader(data)


@FUZZ
@given(rle_strings, st.sampled_from([[240, 320], [1, 1], [0, 5]]))
def test_rle_strings_never_crash(counts: str, size: list[int]) -> None:
    data = copy.deepcopy(VALID)
    data["annotations"][3]["segmentation"] = {"size": size, "counts": counts}
    check_outcome(data)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_file_bytes_end_in_problems(raw: bytes) -> None:
    fd, name = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        data, problems = read_and_validate(name)
        assert isinstance(problems, list)
        assert data is not None or problems
    finally:
        os.unlink(name)
