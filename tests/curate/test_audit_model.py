"""`cocoseg audit GT.json model=best.pt --images DIR`: the model runs on the GT's images; unreadable ones are skipped."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg.cli.main import main


def test_audit_runs_the_model(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    torch = pytest.importorskip("torch")
    from cocoseg.engine.checkpoints import save_checkpoint
    from cocoseg.models import build_model

    torch.manual_seed(0)
    weights = save_checkpoint(tmp_path / "best.pt", build_model("yolov8n-seg", num_classes=2, names=["disc", "square"]))
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for name in ("1.png", "2.png"):
        cv2.imwrite(str(images / name), rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    (images / "3.png").write_bytes(b"not an image")
    gt = {"images": [{"id": i, "file_name": f"{i}.png", "width": 128, "height": 96} for i in (1, 2, 3)],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 30], "area": 900,
                           "iscrowd": 0, "segmentation": [[10, 10, 40, 10, 40, 40, 10, 40]]}],
          "categories": [{"id": 1, "name": "disc"}, {"id": 2, "name": "square"}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    out = tmp_path / "issues.json"
    with caplog.at_level(logging.WARNING):
        code = main(["audit", str(tmp_path / "gt.json"), f"model={weights}", f"--images={images}", "--imgsz", "128",
                     "--device", "cpu", "--out", str(out)])
    assert code == 0
    assert "cannot read image 3; skipped" in caplog.text
    report = json.loads(out.read_text())
    assert [im["image_id"] for im in report["images"]] and report["predictions"].endswith("best.pt")
    assert main(["audit", str(tmp_path / "gt.json"), f"model={weights}", "--out", str(out)]) == 1  # needs --images
