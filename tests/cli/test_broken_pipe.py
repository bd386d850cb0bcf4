"""`cocoseg stats f.json | head -3` (and validate, eval): a reader that goes away ends the run quietly."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from cocoseg.cli.main import main

GT = {"images": [{"id": 1, "file_name": "a.jpg", "height": 32, "width": 32}],
      "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 8, 8], "area": 64, "iscrowd": 0,
                       "segmentation": [[2, 2, 10, 2, 10, 10, 2, 10]]}],
      "categories": [{"id": 1, "name": "thing"}]}


class ClosedPipe(io.StringIO):
    """stdout whose reader has gone: the first write fails as a closed pipe does."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv", [["stats", "{gt}"], ["validate", "{gt}"], ["eval", "{gt}", "{res}"]])
def test_a_closed_pipe_exits_quietly(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    gt, res = tmp_path / "gt.json", tmp_path / "res.json"
    gt.write_text(json.dumps(GT))
    res.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [2, 2, 8, 8], "score": 0.9}]))
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main([a.format(gt=gt, res=res) for a in argv]) == 141
    assert "Traceback" not in capsys.readouterr().err and "BrokenPipe" not in capsys.readouterr().err
