"""COCO validation: the malformed corpus, real files, the API contract and the RLE string decoder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

import cocoseg.io.annotation_screen as screen_module
import cocoseg.io.validate as validate_module
from cocoseg.cli.main import main
from cocoseg.errors import DataError, Problem
from cocoseg.io.validate import check_coco, read_and_validate, validate_coco, validate_file
from cocoseg.io.validate_records import decode_rle_string

CORPUS = Path(__file__).parent / "malformed"
CASES = json.loads((CORPUS / "cases.json").read_text())
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL_FILES = [
    "coco128-seg/annotations/instances_train2017.json",
    "coco-mini-val2017/annotations/instances_val2017.json",
    "coco-mini-val2017/annotations/person_keypoints_val2017.json",
    "cocoapi-val2014-fake100/annotations/instances_val2014_100.json",
    "fce-eval-fixtures/keypoints_val2017_139099/gt.json",
    "mmpose-coco-val2017-kpt4/annotations/person_keypoints_val2017_4img.json",
]


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip with a reason when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (the ../shared data is only beside the project in CI and dev)")
    return path


def tiny() -> dict:
    return json.loads((CORPUS / "valid.json").read_text())


def test_corpus_is_large_enough() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "cases.json" and not p.name.endswith(".py")}
    assert files == set(CASES)
    assert sum(case["exit"] == 1 for case in CASES.values()) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The expected problem names its record and field; the CLI exits as expected, without a traceback."""
    case = CASES[name]
    path = CORPUS / name
    problems = validate_file(path)
    if not case["contains"]:
        assert problems == []
    else:
        matches = [p for p in problems if all(text in str(p) for text in case["contains"])]
        assert matches, f"no problem contains {case['contains']}; got:\n" + "\n".join(map(str, problems))
        found = matches[0]
        assert (found.record, found.field) == (case["record"], case["field"])
        assert str(found).startswith(("warning: " if found.severity == "warning" else "") + str(path) + ": ")
        if found.record:
            assert f": {found.record}: {found.field}" in str(found)
    has_error = any(p.severity == "error" for p in problems)
    assert has_error == (case["exit"] == 1)
    assert main(["validate", str(path)]) == case["exit"]
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert out.strip().splitlines()[-1].startswith(f"{path}: {'INVALID' if has_error else 'valid'}: ")


def test_problem_line_matches_the_issue_style() -> None:
    data = tiny()
    data["annotations"][0]["id"] = 2042
    data["annotations"][0]["segmentation"] = [[1, 2, 3, 4, 5]]
    data["annotations"] = [data["annotations"][1]] * 17 + [data["annotations"][0]]
    for k, ann in enumerate(data["annotations"][:17]):
        data["annotations"][k] = dict(ann, id=100 + k)
    problems = validate_coco(data, "instances.json")
    assert [str(p) for p in problems] == [
        "instances.json: annotations[17] (id 2042): segmentation[0] has 5 coordinates; "
        "a polygon needs an even number >= 6"
    ]
    assert problems[0] == Problem("instances.json", "annotations[17] (id 2042)", "segmentation[0]",
                                  "has 5 coordinates; a polygon needs an even number >= 6", "error")


def test_every_problem_is_reported_not_only_the_first() -> None:
    data = tiny()
    data["annotations"][0].update(image_id=99, iscrowd=3, bbox=[1, 2, 3])
    data["annotations"][2]["segmentation"]["size"] = [1, 1]
    data["images"][1]["width"] = -1
    fields = {(p.record, p.field) for p in validate_coco(data)}
    assert fields == {
        ("images[1] (id 2)", "width"),
        ("annotations[0] (id 1)", "image_id"),
        ("annotations[0] (id 1)", "iscrowd"),
        ("annotations[0] (id 1)", "bbox"),
        # image 2 has no usable size, so the RLE size cannot be compared with it; its runs still are
        ("annotations[2] (id 3)", "segmentation.counts"),
    }


def test_check_coco_raises_one_exception_with_the_same_list() -> None:
    data = tiny()
    data["annotations"][1]["num_keypoints"] = 9
    data["annotations"][0]["id"] = 0  # a warning rides along
    with pytest.raises(DataError) as caught:
        check_coco(data, "x.json")
    assert caught.value.problems == validate_coco(data, "x.json")
    assert [p.field for p in caught.value.errors] == ["num_keypoints"]
    assert "x.json: annotations[1] (id 2): num_keypoints is 9" in str(caught.value)
    del data["annotations"][1]["num_keypoints"]  # now warnings only
    check_coco(data, "x.json")


def test_loader_raises_the_validation_problems() -> None:
    from cocoseg.io import CocoDataset

    path = CORPUS / "dangling_image_id.json"
    with pytest.raises(DataError) as caught:
        CocoDataset.load(path)
    assert [(p.record, p.field) for p in caught.value.errors] == [("annotations[0] (id 1)", "image_id")]
    dataset = CocoDataset.load(CORPUS / "annotation_id_zero.json")  # warnings only: loads
    assert len(dataset.annotations) == 4


def test_unreadable_file_problems_carry_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"images": [}')
    data, problems = read_and_validate(path)
    assert data is None
    assert [(p.file, p.record, p.field) for p in problems] == [(str(path), "", "")]
    assert str(problems[0]) == f"{path}: invalid JSON at line 1, column 13: Expecting value"


def test_unknown_keys_are_allowed() -> None:
    data = tiny()
    data["my_split"] = "val"
    data["images"][0]["exif"] = {"rotation": 90}
    data["annotations"][0]["attributes"] = {"occluded": True}
    data["categories"][1]["color"] = [255, 0, 0]
    assert validate_coco(data) == []


def test_missing_references_are_not_checked_against_a_broken_section() -> None:
    data = tiny()
    data["images"] = {"not": "a list"}
    problems = validate_coco(data)
    assert [(p.record, p.field) for p in problems] == [("", "images")]


@pytest.mark.parametrize("relative", REAL_FILES)
def test_real_files_are_clean(relative: str) -> None:
    path = shared_file(relative)
    problems = validate_file(path)
    assert problems == [], "\n".join(map(str, problems[:10]))
    validate_module._SCREEN = False
    try:
        assert validate_file(path) == []
    finally:
        validate_module._SCREEN = True


def test_results_file_points_to_eval() -> None:
    path = shared_file("cocoapi-val2014-fake100/results/instances_val2014_fakesegm100_results.json")
    (problem,) = validate_file(path)
    assert "detection results file" in problem.message and "cocoseg eval" in problem.message


# ---- the CLI ------------------------------------------------------------------------------------
def _write(tmp_path: Path, name: str, data: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_cli_max_errors_quiet_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tiny()
    for ann in data["annotations"]:
        ann["image_id"] = 42
    data["annotations"][0]["id"] = 0
    path = _write(tmp_path, "bad.json", data)
    assert main(["validate", path, "--max_errors", "2"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[2] == "... and 3 more (--max_errors 0 prints all)"
    assert lines[3] == f"{path}: INVALID: 4 errors, 1 warning in 2 images, 4 annotations, 2 categories"
    assert main(["validate", path, "max_errors=0", "quiet=True"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and not any(line.startswith("warning:") for line in lines)


def test_cli_several_files_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, "good.json", tiny())
    assert main(["validate", good, str(CORPUS / "annotation_id_zero.json")]) == 0
    out = capsys.readouterr().out
    assert f"{good}: valid: 0 errors, 0 warnings in 2 images, 4 annotations, 2 categories" in out
    assert main(["validate", good, str(CORPUS / "bbox_nan.json")]) == 1
    assert main(["validate"]) == 2
    assert main(["validate", good, "--maxerrors", "3"]) == 2
    assert "did you mean 'max_errors'" in capsys.readouterr().err
    assert main(["validate", good, "--max_errors", "-1"]) == 2
    assert main(["validate", str(tmp_path / "absent.json")]) == 1  # a missing input is bad data (issue 14 item 22)
    assert "absent.json: no such file" in capsys.readouterr().err
    assert main(["validate", str(tmp_path)]) == 1


# ---- the compressed RLE decoder -------------------------------------------------------------------
def _runs(bitmap: np.ndarray) -> list[int]:
    """Column-major run lengths starting with zeros, the naive way."""
    flat = bitmap.flatten(order="F")
    runs, current, n = [], 0, 0
    for v in flat.tolist():
        if v != current:
            runs.append(n)
            current, n = v, 0
        n += 1
    runs.append(n)
    return runs


def test_rle_string_decoder_matches_pycocotools() -> None:
    rng = np.random.default_rng(0)
    for trial in range(60):
        h, w = rng.integers(1, 70, size=2)
        bitmap = (rng.random((h, w)) < rng.choice([0.02, 0.5, 0.98])).astype(np.uint8)
        if trial % 5 == 0:  # long runs need multi-character values
            bitmap = np.zeros((h, w), np.uint8)
            bitmap[h // 3:, w // 2:] = 1
        text = coco_mask.encode(np.asfortranarray(bitmap))["counts"].decode()
        runs, error = decode_rle_string(text)
        assert error == ""
        assert runs == _runs(bitmap)


def test_rle_string_decoder_reports_corruption() -> None:
    assert decode_rle_string("")[0] == []
    assert "character '!'" in decode_rle_string("0!0")[1]
    assert "middle of a run length" in decode_rle_string("0h")[1]
    assert "too large" in decode_rle_string("h" * 20 + "0")[1]
    assert "negative run length" in decode_rle_string("@")[1]  # sign bit on the first value
    assert "non-ASCII" in decode_rle_string("0é")[1]


# ---- speed --------------------------------------------------------------------------------------
def val2017_scale(seed: int = 0, n_images: int = 5000, n_anns: int = 36781) -> dict:
    """A synthetic dataset shaped like instances_val2017.json (polygons of 4-60 points, 1% crowd RLE)."""
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": 640, "height": 480, "license": 1}
              for i in range(n_images)]
    categories = [{"id": c, "name": f"class{c}", "supercategory": "thing"} for c in range(1, 91) if c % 9]
    x, y = rng.uniform(0, 500, n_anns).round(2), rng.uniform(0, 380, n_anns).round(2)
    w, h = (rng.uniform(0.05, 1, n_anns) * (639 - x)).round(2), (rng.uniform(0.05, 1, n_anns) * (479 - y)).round(2)
    points = rng.integers(4, 60, n_anns)
    annotations = []
    for k in range(n_anns):
        ann = {"id": k + 1, "image_id": int(rng.integers(n_images)) + 1,
               "category_id": categories[k % len(categories)]["id"], "iscrowd": 0,
               "bbox": [float(x[k]), float(y[k]), float(w[k]), float(h[k])], "area": float(w[k] * h[k] / 2)}
        if k % 100 == 0:
            runs = rng.integers(1, 400, 301).tolist()
            runs.append(640 * 480 - sum(runs))
            ann.update(iscrowd=1, segmentation={"size": [480, 640], "counts": runs})
        else:
            xs = rng.uniform(x[k], x[k] + w[k], points[k]).round(2)
            ys = rng.uniform(y[k], y[k] + h[k], points[k]).round(2)
            ann["segmentation"] = [np.stack([xs, ys], 1).ravel().tolist()]
        annotations.append(ann)
    return {"images": images, "annotations": annotations, "categories": categories}


@pytest.mark.parametrize("corrupt, expected", [
    (lambda d: d["annotations"][36001]["segmentation"][0].__setitem__(7, "3.5"), "annotations[36001] (id 36002)"),
    (lambda d: d["annotations"][-1].__setitem__("id", 17), "annotations[36780]"),
    (lambda d: d["images"][4999].__setitem__("height", -480), "images[4999]"),
])
def test_a_val2017_scale_file_is_checked_to_its_last_record(corrupt, expected: str) -> None:
    """Every record of a large clean file is read: one fault near its end is found and named.

    (Its speed is measured by benchmarks/load_bench.py, never here: this machine is shared.)
    """
    data = val2017_scale()
    assert validate_coco(data) == []
    corrupt(data)
    errors = [p for p in validate_coco(data, "big.json") if p.severity == "error"]
    assert len(errors) == 1 and expected in str(errors[0]), errors


def _screened_both_ways(data: object, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    fast = validate_coco(data, "f.json")
    with monkeypatch.context() as m:
        m.setattr(screen_module, "NATIVE", None)
        slow = validate_coco(data, "f.json")
    return fast, slow


@pytest.mark.skipif(screen_module.NATIVE is None, reason="cocoseg._native is not built here")
def test_the_compiled_columns_screen_what_the_python_columns_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every corpus case, and a large file with faults the screen must send on, give the same problems
    whether the annotations are read into columns in C or in Python."""
    for name in sorted(CASES):
        raw = (CORPUS / name).read_bytes()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue
        fast, slow = _screened_both_ways(data, monkeypatch)
        assert list(map(str, fast)) == list(map(str, slow)), name
    data = val2017_scale(n_images=300, n_anns=2000)
    anns = data["annotations"]
    anns[3]["bbox"][0] = True  # a bool is no number
    anns[5]["segmentation"][0][2] = float("nan")
    anns[7]["area"] = 2**70  # an int beyond what the C screen takes exactly (sent on; it is valid)
    anns[9]["segmentation"][0] = anns[9]["segmentation"][0][:5]  # odd length
    anns[11]["iscrowd"] = 2
    anns[13]["segmentation"] = None
    anns[15]["keypoints"] = [1, 2, 3]
    anns[17]["image_id"] = 10**6
    anns[19]["bbox"][2] = 10**30
    fast, slow = _screened_both_ways(data, monkeypatch)
    assert list(map(str, fast)) == list(map(str, slow))
    assert len(fast) >= 8
