"""`cocoseg synth` in-process: the layout it writes, key=value options, usage errors without traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.cli.main import main


def test_synth_writes_the_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth"
    assert main(["synth", str(out), "--images", "5", "--seed", "2", "--size", "96x64", "--val_fraction", "0.4"]) == 0
    for rel in ("data.yaml", "annotations/instances_train.json", "annotations/instances_val.json"):
        assert (out / rel).is_file(), rel
    train = json.loads((out / "annotations/instances_train.json").read_text())
    val = json.loads((out / "annotations/instances_val.json").read_text())
    assert len(train["images"]) == 3 and len(val["images"]) == 2
    assert {im["width"] for im in train["images"]} == {96} and {im["height"] for im in val["images"]} == {64}
    assert sorted(p.name for p in (out / "images/val").iterdir()) == [im["file_name"] for im in val["images"]]
    assert "data.yaml" in capsys.readouterr().out


def test_synth_accepts_key_value_options(tmp_path: Path) -> None:
    assert main(["synth", str(tmp_path), "images=3", "seed=4", "size=64", "val_fraction=0"]) == 0
    train = json.loads((tmp_path / "annotations/instances_train.json").read_text())
    assert len(train["images"]) == 3 and train["images"][0]["width"] == 64 == train["images"][0]["height"]


@pytest.mark.parametrize("argv,needle", [
    (["--size", "abc"], "WIDTHxHEIGHT"),
    (["--images", "0"], ">= 1"),
    (["--seed", "-1"], ">= 0"),
    (["--val_fraction", "1.5"], "[0, 1)"),
    (["imagse=3"], "did you mean 'images'"),
])
def test_usage_mistakes_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              argv: list[str], needle: str) -> None:
    assert main(["synth", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("argv,needle", [
    (["--size", "16x16"], "32 to 4096"),
    (["--min_objects", "5", "--max_objects", "2"], "min_objects"),
])
def test_bad_values_exit_1_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          argv: list[str], needle: str) -> None:
    assert main(["synth", str(tmp_path / "x"), *argv]) == 1
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_out_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    assert main(["synth", str(target), "--images", "2"]) == 1
    assert "not a folder" in capsys.readouterr().err and target.read_text() == "keep me"
