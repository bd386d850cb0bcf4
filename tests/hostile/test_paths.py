"""Issue 16 item 1: paths built from data (file_name) stay inside their root."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg.cli.main import main
from cocoseg.io import validate_file
from cocoseg.io.paths import file_name_problem

BAD = ["/tmp/victim/notes.jpg", "../../victim/rel.jpg", "a/../../b.jpg", "..\\..\\w.jpg", "C:/x.jpg"]


@pytest.mark.parametrize("name", BAD)
def test_unsafe_names_are_named(name: str) -> None:
    assert file_name_problem(name) is not None


@pytest.mark.parametrize("name", ["a.jpg", "sub/dir/a.jpg", "a..b.jpg", "..a.jpg"])
def test_ordinary_names_pass(name: str) -> None:
    assert file_name_problem(name) is None


@pytest.mark.parametrize("to", ["yolo", "coco", "voc"])
@pytest.mark.parametrize("name", ["VICTIM/notes.jpg", "../../victim/rel.jpg", "../f.jpg"])
def test_convert_refuses_traversal(tmp_path: Path, tiny_coco, capsys, to: str, name: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("keep")
    name = name.replace("VICTIM", str(victim))
    imgs = tmp_path / "work" / "imgs"
    imgs.mkdir(parents=True)
    src = tiny_coco(tmp_path, file_name=name)
    out = tmp_path / "work" / "deep" / "out"
    assert main(["convert", str(src), str(out), "--to", to, "--images", str(imgs)]) == 1
    err = capsys.readouterr().err
    assert "image id 1" in err and "file_name" in err and "Traceback" not in err
    assert (victim / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in victim.iterdir()) == ["notes.txt"]
    assert not any((tmp_path / "work" / "deep").glob("*.txt")) and not out.exists()


def test_convert_refuses_symlinked_output_folder(tmp_path: Path, tiny_coco, capsys) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    (out / "labels").mkdir(parents=True)
    (out / "labels" / "t").symlink_to(outside)  # the split is named after t.json
    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.jpg"), np.zeros((40, 40, 3), np.uint8))  # found: the link is the reason
    src = tiny_coco(tmp_path, file_name="a.jpg")
    assert main(["convert", str(src), str(out), "--to", "yolo", "--images", str(tmp_path / "imgs"), "--exist_ok"]) == 1
    assert "resolves outside" in capsys.readouterr().err
    assert not any(outside.iterdir())


def test_validate_warns_about_unsafe_names(tmp_path: Path, tiny_coco) -> None:
    problems = validate_file(tiny_coco(tmp_path, file_name="../../etc/x.jpg"))
    warnings = [p for p in problems if p.field == "file_name" and p.severity == "warning"]
    assert warnings and "'..'" in str(warnings[0])
