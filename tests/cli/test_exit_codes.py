"""One rule for every command (issue 14 item 22): 2 when the command line itself is wrong (nothing is
read), 1 when the input is missing, unreadable or invalid, or a check fails; never a traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.cli.main import COMMANDS, main

GT = {"images": [{"id": 1, "file_name": "a.jpg", "height": 32, "width": 32}],
      "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 8, 8], "area": 64, "iscrowd": 0,
                       "segmentation": [[2, 2, 10, 2, 10, 10, 2, 10]]}],
      "categories": [{"id": 1, "name": "thing"}]}

# command -> argv with a usage mistake (exit 2); {gt}, {out}, {absent} are filled in per test
USAGE = {
    "validate": ["{gt}", "max_errors=-1"],
    "stats": ["{gt}", "jsn=True"],
    "synth": ["{out}", "images=0"],
    "convert": ["{gt}", "{out}", "--to", "nope"],
    "download": ["coco-seg", "keep_archives=maybe"],
    "eval": ["{gt}", "{gt}", "iou_type=masks"],
    "info": ["imgsz=abc"],
    "predict": ["model={absent}.pt", "source={absent}.jpg", "batch=-1"],
    "rank": ["model={absent}.pt", "source={absent}", "imgsz=abc"],
    "export": ["model={absent}.pt", "imgsz=1,2,3"],
    "train": ["data={absent}.yaml", "imgsz=321"],
    "val": ["model={absent}.pt", "data={absent}.yaml", "batch=-1"],
    "demo": ["out={out}", "imgsz=abc"],
    "audit": ["{gt}", "--out", "{out}.json"],  # neither predictions nor a model
    "merge": ["{gt}", "-o", "{out}.json"],  # one input
    "compare": ["{gt}", "{gt}", "{gt}", "resamples=many"],
    "challenge": ["{gt}", "-o", "{out}.json"],  # no slice
    "prelabels": ["{gt}", "--to", "nope", "-o", "{out}.json"],
    "view": ["{gt}", "--images", "{out}", "--port", "abc"],
}
# command -> argv naming an input file that does not exist (exit 1); None: the command reads no input
MISSING = {
    "validate": ["{absent}.json"],
    "stats": ["{absent}.json"],
    "synth": None,
    "convert": ["{absent}.json", "{out}", "--to", "yolo"],
    "download": ["{absent}.yaml"],
    "eval": ["{absent}.json", "{absent}_results.json"],
    "info": ["model={absent}.pt"],
    "predict": ["model={absent}.pt", "source={gt}"],
    "rank": ["model={absent}.pt", "source={absent}", "budget=2"],
    "export": ["model={absent}.pt"],
    "train": ["data={absent}.yaml"],
    "val": ["model={absent}.pt", "data={absent}.yaml"],
    "demo": None,
    "audit": ["{absent}.json", "{gt}", "--out", "{out}.json"],
    "merge": ["{absent}.json", "{gt}", "-o", "{out}.json"],
    "compare": ["{absent}.json", "{gt}", "{gt}"],
    "challenge": ["{absent}.json", "--slice", "small", "-o", "{out}.json"],
    "prelabels": ["{absent}.json", "--to", "cvat", "-o", "{out}.json"],
    "view": ["{absent}.json", "--images", "{dir}"],
}


def test_every_command_has_a_case() -> None:
    assert set(USAGE) == set(COMMANDS) == set(MISSING)


def _fill(argv: list[str], tmp_path: Path) -> list[str]:
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(GT))
    values = {"gt": str(gt), "out": str(tmp_path / "out"), "absent": str(tmp_path / "absent"), "dir": str(tmp_path)}
    return [a.format(**values) for a in argv]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_usage_mistakes_exit_2(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, *_fill(USAGE[command], tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize("command", sorted(c for c, argv in MISSING.items() if argv is not None))
def test_a_missing_input_file_exits_1(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, *_fill(MISSING[command], tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "absent" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["imgsz=abc", "batch=-1", "imgsz=321", "epochs=0"])
def test_train_value_mistakes_are_usage_mistakes(value: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", f"data={tmp_path / 'd.yaml'}", value]) == 2
    assert value.split("=")[0] in capsys.readouterr().err
