"""Issue 16.7: one writer per output folder, a used folder only on request, never over an input."""
from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg.cli.main import main
from cocoseg.convert import convert
from cocoseg.convert.output_folder import LOCK_NAME
from cocoseg.errors import CocosegError
from cocoseg.io.locks import file_lock


def _coco(tmp_path: Path, names: list[str], classes: int = 1) -> Path:
    """A COCO JSON t.json with one annotated image per name, images in tmp_path/imgs."""
    (tmp_path / "imgs").mkdir(exist_ok=True)
    images, anns = [], []
    for i, name in enumerate(names, start=1):
        cv2.imwrite(str(tmp_path / "imgs" / name), np.zeros((10, 10, 3), np.uint8))
        images.append({"id": i, "width": 10, "height": 10, "file_name": name})
        anns.append({"id": i, "image_id": i, "category_id": 1 + (i - 1) % classes, "iscrowd": 0, "area": 49.0,
                     "bbox": [1, 1, 7, 7], "segmentation": [[1, 1, 8, 1, 8, 8, 1, 8]]})
    cats = [{"id": c, "name": f"c{c}"} for c in range(1, classes + 1)]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def _cli(src: Path, out: Path, *extra: str) -> int:
    return main(["convert", str(src), str(out), "--to", "yolo", "--images", str(src.parent / "imgs"), *extra])


def test_a_second_convert_into_a_locked_folder_fails_at_once(tmp_path: Path, capsys) -> None:
    src, out = _coco(tmp_path, ["a.jpg"]), tmp_path / "out"
    out.mkdir()
    with file_lock(out / LOCK_NAME, wait=False):  # another run holding the folder
        start = time.perf_counter()
        assert _cli(src, out) == 1
        assert time.perf_counter() - start < 10
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another cocoseg run (pid" in err and str(out) in err
    assert not (out / "data.yaml").exists()


def test_a_stale_lock_of_a_dead_run_is_taken_over(tmp_path: Path) -> None:
    src, out = _coco(tmp_path, ["a.jpg"]), tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text("999999999")  # left by a killed run: its flock died with it
    assert _cli(src, out) == 0
    assert (out / "data.yaml").is_file() and not (out / LOCK_NAME).exists()


def test_a_non_empty_output_is_refused_without_exist_ok(tmp_path: Path, capsys) -> None:
    src, out = _coco(tmp_path, ["a.jpg"]), tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert _cli(src, out) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not empty" in err and "--exist_ok" in err and "--overwrite" in err
    assert _files(out) == {"mine.txt"}
    with pytest.raises(CocosegError, match="not empty"):  # the library call refuses it too
        convert(src, out, "yolo", images=tmp_path / "imgs")
    assert _cli(src, out, "--exist_ok") == 0
    assert (out / "mine.txt").read_text() == "keep" and (out / "labels" / "t" / "a.txt").is_file()


def test_overwrite_leaves_exactly_this_runs_output(tmp_path: Path) -> None:
    first = tmp_path / "one"
    first.mkdir()
    src = _coco(first, ["a.jpg", "b.jpg", "c.jpg"], classes=3)
    out = tmp_path / "out"
    assert _cli(src, out) == 0
    assert "c.txt" in {p.name for p in (out / "labels" / "t").iterdir()}
    second = tmp_path / "two"
    second.mkdir()
    src2 = _coco(second, ["a.jpg"], classes=1)
    assert _cli(src2, out, "--exist_ok") == 0  # exist_ok keeps the stale labels of three classes
    assert (out / "labels" / "t" / "c.txt").exists()
    assert _cli(src2, out, "--overwrite") == 0
    fresh = tmp_path / "fresh"
    assert _cli(src2, fresh) == 0
    assert _files(out) == _files(fresh)  # no stale label, image link or sidecar left
    assert "nc: 1" in (out / "data.yaml").read_text()


def test_overwrite_refuses_a_folder_that_holds_no_dataset(tmp_path: Path, capsys) -> None:
    src, out = _coco(tmp_path, ["a.jpg"]), tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert _cli(src, out, "--overwrite") == 1
    assert "does not hold a dataset" in capsys.readouterr().err
    assert (out / "thesis.tex").read_text() == "years of work"


def test_converting_a_yolo_dataset_into_its_own_folder_is_refused(tmp_path: Path, capsys) -> None:
    src, yolo = _coco(tmp_path, ["a.jpg"]), tmp_path / "yolo"
    assert _cli(src, yolo) == 0
    data_yaml = yolo / "data.yaml"
    data_yaml.write_text(data_yaml.read_text() + "download: https://example.com/x.zip\n")
    before = {p: p.read_bytes() for p in yolo.rglob("*") if p.is_file()}
    capsys.readouterr()
    for out, flags in ((yolo, ["--overwrite"]), (yolo, ["--exist_ok"]), (tmp_path, ["--exist_ok"]),
                       (yolo / "labels", ["--exist_ok"])):
        assert main(["convert", str(yolo), str(out), "--to", "coco", *flags]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "would overwrite the input" in err, err
    assert {p: p.read_bytes() for p in yolo.rglob("*") if p.is_file()} == before
    assert main(["convert", str(yolo), str(yolo / "as_coco"), "--to", "coco"]) == 0  # inside it is fine


def test_output_folder_holding_the_input_json_is_refused(tmp_path: Path, capsys) -> None:
    src = _coco(tmp_path, ["a.jpg"])
    assert _cli(src, tmp_path, "--overwrite") == 1
    assert "contains the input" in capsys.readouterr().err
    assert src.is_file() and not (tmp_path / "data.yaml").exists()


@pytest.mark.parametrize("command", ["merge", "challenge"])
def test_dataset_writers_refuse_to_write_over_an_input(tmp_path: Path, command: str, capsys) -> None:
    src = _coco(tmp_path, ["a.jpg"])
    before = src.read_bytes()
    argv = (["merge", str(src), str(src), "-o", str(src)] if command == "merge"
            else ["challenge", str(src), "--slice", "small", "-o", str(src)])
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is the input" in err
    assert src.read_bytes() == before


def test_a_synth_run_waits_for_the_one_writing_the_same_folder(tmp_path: Path) -> None:
    import threading

    from cocoseg.synth import generate
    from cocoseg.synth.generate import LOCK_NAME as SYNTH_LOCK

    root = tmp_path / "synth"
    root.mkdir()
    done = threading.Event()
    with file_lock(root / SYNTH_LOCK):  # another run is writing here
        worker = threading.Thread(target=lambda: (generate(root, num_images=4, seed=1, size=(64, 64)), done.set()))
        worker.start()
        assert not done.wait(1.0)  # it waits for the lock ...
        assert not (root / "annotations").exists()  # ... without writing anything beside the other run
    worker.join(60)
    assert done.is_set() and (root / "annotations" / "instances_train.json").is_file()
