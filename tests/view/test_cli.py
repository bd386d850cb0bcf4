"""`cocoseg view` and `cocoseg stats --plots` from the command line."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import cv2

from cocoseg.cli.main import main
from cocoseg.io import CocoDataset
from cocoseg.viz.dataset_plots import PLOTS, dataset_distributions


def test_stats_plots(view_data, tmp_path, capsys) -> None:
    assert main(["stats", str(view_data.gt), "--plots", str(tmp_path / "plots")]) == 0
    assert "plots:" in capsys.readouterr().out
    for name in PLOTS:
        image = cv2.imread(str(tmp_path / "plots" / f"{name}.png"))
        assert image is not None and image.shape[0] > 100


def test_distributions_by_hand() -> None:
    ds = CocoDataset(
        [{"id": 1, "width": 100, "height": 100, "file_name": "a.png"}, {"id": 2, "width": 100, "height": 100, "file_name": "b.png"}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 20], "area": 150.0, "iscrowd": 0},
         {"id": 2, "image_id": 1, "category_id": 2, "bbox": [0, 0, 40, 40], "area": 1500.0, "iscrowd": 0},
         {"id": 3, "image_id": 1, "category_id": 2, "bbox": [0, 0, 99, 99], "area": 9000.0, "iscrowd": 1}],
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    d = dataset_distributions(ds)
    assert d["classes"]["counts"] == [1, 1] and d["classes"]["crowd"] == [0, 1]
    assert d["box_area"]["sizes"] == {"small": 1, "medium": 1, "large": 0}  # 200 and 1600 px², crowd apart
    assert d["mask_area"]["sizes"] == {"small": 1, "medium": 1, "large": 0}
    assert d["objects_per_image"]["counts"] == [1, 0, 0, 1]
    assert sum(d["aspect_ratio"]["counts"]) == 2 and d["crowd"] == {"regions": 1, "images": 1, "area": 9000.0,
                                                                     "per_class": [0, 1]}


def test_view_bad_images_folder(view_data, tmp_path, capsys) -> None:
    assert main(["view", str(view_data.gt), "--images", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--images" in err


def test_view_prints_its_url_and_serves(view_data) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cocoseg", "view", str(view_data.gt), "--images", str(view_data.images),
                             "--results", str(view_data.results), "--no-slices", "--no-tide"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        base, token = url.split("/?token=")
        deadline = time.time() + 30
        while True:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=10) as res:
                status = json.loads(res.read())
            if status["analyses"].get("confusion") == "ready" or time.time() > deadline:
                break
            time.sleep(0.2)
        assert status["detections"] == 68 and status["iou_type"] == "segm" and status["analyses"]["confusion"] == "ready"
        assert "slices" not in status["analyses"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_view_imports_without_torch() -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "import cocoseg.view.server, cocoseg.view.session, cocoseg.viz.dataset_plots, cocoseg.cli.view\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
