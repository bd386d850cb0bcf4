"""`cocoseg convert` in-process: detected format printed, summary with counts, errors without traceback."""
from __future__ import annotations

from pathlib import Path

import pytest

from cocoseg.cli.main import main


def test_convert_cli_round_trip(coco128: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = coco128 / "annotations" / "instances_train2017.json"
    assert main(["convert", str(src), str(tmp_path / "y"), "--to", "yolo", "--images",
                 str(coco128 / "images" / "train2017"), "copy_images=True"]) == 0
    out = capsys.readouterr().out
    assert "input: COCO JSON" in out and "128 images copied" in out and "929 label lines" in out
    assert "10  crowd annotations kept in the sidecar" in out and "dropped: nothing" in out
    assert not (tmp_path / "y" / "images" / "train2017" / "000000000009.jpg").is_symlink()
    assert main(["convert", str(tmp_path / "y"), str(tmp_path / "c"), "to=coco", "link=False"]) == 0
    out = capsys.readouterr().out
    assert "input: dataset YAML data.yaml (YOLO labels)" in out and "939 annotations" in out
    assert (tmp_path / "c" / "annotations" / "instances_train2017.json").exists()
    assert not (tmp_path / "c" / "images").exists()  # link=False: the data.yaml points at the YOLO images


def test_convert_cli_detect_task_and_errors(coco8: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(coco8 / "coco8.yaml"), str(tmp_path / "d"), "--to", "yolo", "task=detect"]) == 0
    assert "boxes only" in capsys.readouterr().out
    line = (tmp_path / "d" / "labels" / "train" / "000000000009.txt").read_text().splitlines()[0]
    assert len(line.split()) == 5
    assert main(["convert", str(tmp_path / "missing.json"), str(tmp_path / "x"), "--to", "coco"]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["convert", str(coco8), str(tmp_path / "x"), "--to", "coco", "--split_part"]) == 2  # typo
