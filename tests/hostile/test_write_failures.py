"""Issue 16.10: a full disk, a too-large file or a file where a folder should be: one line naming the file,
and nothing half-written (the previous file intact, no temp file left)."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from cocoseg.cli.main import main
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset


def _disk_full(monkeypatch, code: int = errno.ENOSPC) -> None:
    """Every file opened by fd (atomic_write's temp files) fails its first write with `code`."""
    real = os.fdopen

    class Full:
        def __init__(self, fh) -> None:
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.fh.close()

        def write(self, data) -> int:
            raise OSError(code, os.strerror(code))

        def __getattr__(self, name):
            return getattr(self.fh, name)

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*.tmp")]


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EFBIG, "file too large")])
def test_dataset_save_on_a_full_disk(tmp_path: Path, tiny_coco, monkeypatch, code: int, words: str) -> None:
    ds = CocoDataset.load(tiny_coco(tmp_path))
    target = tmp_path / "saved.json"
    target.write_text("previous")
    _disk_full(monkeypatch, code)
    with pytest.raises(CocosegError, match=f"saved.json: cannot write: {words}") as info:
        ds.save(target)
    assert len(str(info.value).splitlines()) == 1
    assert target.read_text() == "previous" and _no_temp_files(tmp_path)


def test_convert_on_a_full_disk(tmp_path: Path, tiny_coco, monkeypatch, capsys) -> None:
    src = tiny_coco(tmp_path)
    (tmp_path / "imgs").mkdir()
    _disk_full(monkeypatch)
    out = tmp_path / "out"
    assert main(["convert", str(src), str(out), "--to", "yolo", "--images", str(tmp_path / "imgs"), "link=False"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "a.txt: cannot write: no space left" in err
    assert not out.exists()  # a failed run into a new folder leaves no folder


def test_image_copy_on_a_full_disk(tmp_path: Path, tiny_coco, monkeypatch, capsys) -> None:
    import shutil

    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"\xff\xd8 not really")
    src = tiny_coco(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    out = tmp_path / "out"
    assert main(["convert", str(src), str(out), "--to", "coco", "--images", str(tmp_path / "imgs"),
                 "--copy_images"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "a.jpg: cannot write: no space left" in err
    assert not out.exists()


def test_checkpoint_write_on_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    from cocoseg.models.checkpoint import read_checkpoint_file, write_checkpoint_file
    from cocoseg.models.hub import build_model, model_state

    target = tmp_path / "last.pt"
    state = model_state(build_model("yolov8n-seg"))
    record = {"model": {**state, "state_dict": {**state["state_dict"], "w": torch.zeros(4)}}}
    write_checkpoint_file(target, record)
    before = target.read_bytes()
    _disk_full(monkeypatch)
    with pytest.raises(CocosegError, match="last.pt: cannot write: no space left"):
        write_checkpoint_file(target, {"model": {**state, "state_dict": {**state["state_dict"], "w": torch.ones(4)}}})
    monkeypatch.undo()
    assert target.read_bytes() == before and _no_temp_files(tmp_path)
    assert read_checkpoint_file(target)["model"]["state_dict"]["w"].sum() == 0


def _results(tmp_path: Path) -> Path:
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 7, 7], "score": 0.9}]))
    return path


@pytest.mark.parametrize("option", ["--out", "--plots"])
@pytest.mark.parametrize("under_file", [False, True])
def test_eval_outputs_under_a_file(tmp_path: Path, tiny_coco, capsys, option: str, under_file: bool) -> None:
    gt, res = tiny_coco(tmp_path), _results(tmp_path)
    blocker = tmp_path / "taken"
    blocker.write_text("a file")
    target = blocker / "m.json" if under_file or option == "--out" else blocker
    assert main(["eval", str(gt), str(res), option, str(target)]) == 1
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and str(target) in captured.err
    assert "a file" in captured.err and "Average Precision" not in captured.out  # refused before evaluating
    assert blocker.read_text() == "a file"


def test_eval_out_may_not_be_the_gt(tmp_path: Path, tiny_coco, capsys) -> None:
    gt, res = tiny_coco(tmp_path), _results(tmp_path)
    before = gt.read_bytes()
    assert main(["eval", str(gt), str(res), "--out", str(gt)]) == 1
    assert "is the input" in capsys.readouterr().err and gt.read_bytes() == before
