"""Challenge suites: parsing with clear errors, slices equal to the engine's own, the CLI gate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import shared_path

from cocoseg.cli.main import main
from cocoseg.curate.suite import BUILTIN, SliceSpec, load_suite, parse_slice, slice_inputs
from cocoseg.curate.suite_run import run_suite
from cocoseg.errors import CocosegError
from cocoseg.eval import evaluate
from cocoseg.eval.analysis.slices import evaluate_slices
from cocoseg.io import CocoDataset


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def test_packaged_suite_parses() -> None:
    specs = load_suite("coco_failures")
    assert specs[0].name == "all" and specs[0].where == {} and specs[0].minimum["ap"] == 0.25
    assert {"small", "occluded", "crowded"} <= {s.name for s in specs}


@pytest.mark.parametrize(("text", "message"), [
    ("slices: [", "not valid YAML"),
    ("other: 1", "non-empty 'slices:' list"),
    ("slices:\n  - where: {size: small}", "needs a 'name'"),
    ("slices:\n  - {name: a, where: {sizes: small}}", "unknown filter(s) ['sizes']"),
    ("slices:\n  - {name: a, where: {size: huge}}", "small, medium or large"),
    ("slices:\n  - {name: a, min: {ap: high}}", "'min' must map metric names to numbers"),
    ("slices:\n  - {name: a}\n  - {name: a}", "repeated: a"),
    ("slices:\n  - {name: a, when: {}}", "unknown field(s) ['when']"),
])
def test_bad_suites_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CocosegError, match="suite.yaml") as info:
        load_suite(str(_suite(tmp_path, text)))
    assert message in str(info.value)


def test_slices_equal_the_engine(synth_set: dict) -> None:
    gt = CocoDataset.load(synth_set["gt"])
    specs = [parse_slice({"name": n, "where": w}, n) for n, w in BUILTIN.items()]
    report = run_suite(gt, synth_set["a"], "bbox", specs)
    full = evaluate(gt, synth_set["a"], "bbox")
    got = {s.name: s.metrics for s in report.slices}
    assert got["all"]["ap"] == full.ap and got["small"]["ap"] == full.ap_small and got["large"]["ap"] == full.ap_large
    reference = evaluate_slices(gt, synth_set["a"], "bbox")
    for name in ("occluded", "unoccluded", "crowded", "uncrowded"):
        if reference[name].ap >= 0:
            assert got[name]["ap"] == pytest.approx(reference[name].ap, abs=1e-12), name
            assert got[name]["ap50"] == pytest.approx(reference[name].ap50, abs=1e-12), name


def test_category_image_and_attribute_filters(synth_set: dict) -> None:
    gt = CocoDataset.load(synth_set["gt"])
    circle = parse_slice({"name": "c", "where": {"categories": ["circle"]}}, "c")
    assert slice_inputs(gt, circle).category_ids == [gt.category_by_name("circle")["id"]]
    shapes = slice_inputs(gt, parse_slice({"name": "s", "where": {"supercategories": ["shape"]}}, "s"))
    assert gt.category_by_name("person")["id"] not in shapes.category_ids
    first = gt.images[0]
    picked = slice_inputs(gt, parse_slice({"name": "i", "where": {"images": [first["id"], gt.images[1]["file_name"]]}}, "i"))
    assert picked.image_ids == [first["id"], gt.images[1]["id"]]
    for a in gt.annotations:
        a["truncated"] = int(a["id"] % 2)
    odd = slice_inputs(gt, parse_slice({"name": "t", "where": {"attributes": {"truncated": 1}}}, "t"))
    assert odd.members.sum() == sum(1 for a in gt.annotations if a["id"] % 2 and not a["iscrowd"])
    ranged = slice_inputs(gt, parse_slice({"name": "r", "where": {"attributes": {"area": {"min": 500, "max": 2000}}}}, "r"))
    assert all(500 <= a["area"] <= 2000 for a, m in zip(gt.annotations, ranged.members) if m)
    with pytest.raises(CocosegError, match="category 'zebra' is not in the dataset"):
        slice_inputs(gt, SliceSpec("z", {"categories": ["zebra"]}))
    with pytest.raises(CocosegError, match="image 'nope.png' is not in the dataset"):
        slice_inputs(gt, SliceSpec("z", {"images": ["nope.png"]}))


def test_cli_gate_exit_codes(synth_set: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt, res = str(synth_set["gt"]), str(synth_set["a"])
    ap = evaluate(gt, res, "bbox").ap
    passing = _suite(tmp_path, f"slices:\n  - {{name: all, min: {{ap: {ap - 0.01:.4f}}}}}\n"
                               "  - {name: small, where: {size: small}}\n")
    assert main(["eval", gt, res, "--per_class", "false", "--suite", str(passing)]) == 0
    out = capsys.readouterr().out
    assert "suite passed" in out and "small" in out
    failing = _suite(tmp_path, f"slices:\n  - {{name: all, min: {{ap: {ap + 0.01:.4f}}}}}\n")
    assert main(["eval", gt, res, "--per_class", "false", "--suite", str(failing)]) == 1
    assert "suite FAILED: all" in capsys.readouterr().out
    unknown = _suite(tmp_path, "slices:\n  - {name: small, where: {size: small}, min: {ap_small: 0.1}}\n")
    assert main(["eval", gt, res, "--per_class", "false", "--suite", str(unknown)]) == 1
    err = capsys.readouterr().err
    assert "no metric 'ap_small'" in err and "Traceback" not in err
    assert main(["eval", gt, res, "--suite", str(tmp_path / "missing.yaml")]) == 1
    assert "no such suite file" in capsys.readouterr().err


def test_real_coco_subset_suite() -> None:
    root = shared_path("data", "cocoapi-val2014-fake100")
    report = run_suite(root / "annotations/instances_val2014_100.json",
                       root / "results/instances_val2014_fakesegm100_results.json", "segm", load_suite("coco_failures"))
    full = json.loads(json.dumps(report.to_dict()))
    assert full["slices"][0]["metrics"]["ap"] == pytest.approx(0.3197, abs=5e-4)  # pycocotools' segm AP of fake100
    assert {s["name"] for s in full["slices"]} >= {"small", "crowded", "occluded"}
