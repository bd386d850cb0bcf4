"""Issue 16 fuzz campaign: property tests of the hostile-input readers. Invariant: a result or our one error
type (cocoseg.errors.CocosegError), within a time bound. Inputs that once broke a reader are kept under
tests/hostile/corpus/ and replayed first. Example counts are small so the file runs in a few seconds."""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocoseg.errors import CocosegError

CORPUS = Path(__file__).parent / "corpus"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])
BOUND_S = 10.0  # generous: the shared CI machine is loaded; a hang or a bomb takes far longer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=20)
rle_chars = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=130), max_size=12)
segmentations = st.one_of(
    st.fixed_dictionaries({"size": st.lists(st.integers(-3, 12), min_size=0, max_size=3),
                           "counts": st.one_of(rle_chars, st.lists(st.integers(-5, 200), max_size=8), json_values)}),
    st.lists(st.lists(st.one_of(st.floats(-1e12, 1e12), st.integers(-10**10, 10**10)), max_size=10), max_size=3),
    json_values)


def _bounded(fn, *args):
    start = time.perf_counter()
    try:
        out = fn(*args)
    except CocosegError:
        out = None
    assert time.perf_counter() - start < BOUND_S
    return out


def _results(records: list, tmp_path: Path):
    from cocoseg.io.results import load_results

    path = tmp_path / "r.json"
    path.write_text(json.dumps(records, allow_nan=True))
    return _bounded(load_results, path, {1: (10, 10)})


@FAST
@given(segm=segmentations, score=st.one_of(st.floats(allow_nan=True), json_values))
def test_results_reader(tmp_path_factory, segm, score) -> None:
    good = {"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [10, 10], "counts": "0U2"}}
    _results([good, {"image_id": 1, "category_id": 1, "score": score, "segmentation": segm}],
             tmp_path_factory.mktemp("r"))


@FAST
@given(counts=rle_chars, h=st.integers(0, 12), w=st.integers(0, 12))
def test_rle_prefilter_never_misses_the_exact_rule(counts, h, w) -> None:
    """The vectorised prefilter of results RLEs flags every RLE the validator's rule refuses."""
    from cocoseg.io.results_checks import _suspects
    from cocoseg.io.validate_records import rle_problems
    from cocoseg.masks.packed_rle import PackedRles

    try:
        counts.encode("ascii")
    except UnicodeEncodeError:
        return
    errors: list[str] = []
    rle_problems({"size": [h, w], "counts": counts}, None,
                 lambda f, m, s="error": errors.append(m) if s == "error" else None)
    packed = PackedRles.from_rles([{"size": [h, w], "counts": counts}])
    if errors:
        assert _suspects(packed).tolist() == [0]


@FAST
@given(segm=segmentations)
def test_rle_and_polygon_checks(segm) -> None:
    from cocoseg.io.validate import validate_coco

    data = {"images": [{"id": 1, "width": 10, "height": 10, "file_name": "a.jpg"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": segm, "area": 1.0,
                             "bbox": [0, 0, 1, 1], "iscrowd": 0}],
            "categories": [{"id": 1, "name": "a"}]}
    _bounded(validate_coco, data)


yaml_text = st.one_of(
    st.text(max_size=80),
    st.builds(lambda k, v: f"path: .\ntrain: a\nval: a\n{k}: {v}\n",
              st.sampled_from(["names", "nc", "download", "synth", "category_ids", "path"]),
              st.one_of(st.text(max_size=20), st.integers(-10**12, 10**12).map(str),
                        st.just("[&a x, *a, *a]"), st.just("{0: a, 1: b}"))))


@FAST
@given(text=yaml_text)
def test_yaml_reader(tmp_path_factory, text) -> None:
    from cocoseg.datasets import load_data_yaml

    path = tmp_path_factory.mktemp("y") / "d.yaml"
    path.write_text(text, encoding="utf-8", errors="replace")
    _bounded(load_data_yaml, path)


xml_field = st.one_of(st.text(max_size=6), st.sampled_from(["1", "1e400", "nan", "-5", "inf", "3.5", ""]))


@FAST
@given(fields=st.fixed_dictionaries({k: xml_field for k in ("xmin", "ymin", "xmax", "ymax", "difficult")}))
def test_voc_object_reader(fields) -> None:
    from cocoseg.convert.report import ConvertReport
    from cocoseg.convert.voc_read import _object

    obj = ET.Element("object")
    ET.SubElement(obj, "name").text = "a"
    ET.SubElement(obj, "difficult").text = fields["difficult"]
    box = ET.SubElement(obj, "bndbox")
    for k in ("xmin", "ymin", "xmax", "ymax"):
        ET.SubElement(box, k).text = fields[k]
    problems: list = []
    _bounded(_object, obj, {"id": 1}, {"a": 1}, Path("x.xml"), problems, ConvertReport())


@pytest.mark.parametrize("case", sorted(CORPUS.glob("results-*.json")), ids=lambda p: p.name)
def test_results_corpus(case: Path, tmp_path: Path) -> None:
    _results(json.loads(case.read_text()), tmp_path)


@pytest.mark.parametrize("case", sorted(CORPUS.glob("voc-*.xml")), ids=lambda p: p.name)
def test_voc_corpus(case: Path) -> None:
    from cocoseg.convert.report import ConvertReport
    from cocoseg.convert.voc_read import _object

    problems: list = []
    for obj in ET.parse(case).getroot().iter("object"):
        assert _bounded(_object, obj, {"id": 1}, {"a": 1}, case, problems, ConvertReport()) is None
    assert problems and "bndbox" in problems[0].field
