"""`cocoseg info` in-process: table and JSON."""
from __future__ import annotations

import json

from cocoseg.cli.main import main


def test_info_json(capsys):
    assert main(["info", "model=yolov8n-seg", "imgsz=640", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == 3_409_968 and round(data["gflops"], 1) == 12.0
    assert round(data["gflops_table_convention"], 1) == 12.6 and "transposed" in data["gflops_table_convention_note"]


def test_info_table_and_errors(capsys):
    assert main(["info", "model=yolov8s-seg", "nc=3", "imgsz=320", "480"]) == 0
    out = capsys.readouterr().out
    assert "yolov8s-seg (nc=3)" in out and "at 320x480" in out and "backbone.sppf" in out
    assert main(["info", "model=yolov8q-seg"]) == 1
    assert main(["info", "imgsz=100"]) == 1
