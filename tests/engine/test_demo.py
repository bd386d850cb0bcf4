"""`cocoseg demo` end to end at toy size: data, training, validation, drawn predictions, JSON last line."""
from __future__ import annotations

import json
from pathlib import Path


def test_demo_smoke(tmp_path, capsys):
    from cocoseg.cli.main import main

    args = ["demo", f"out={tmp_path}", "num_images=10", "image_size=64", "epochs=1", "imgsz=64", "batch=2",
            "max_iters=1", "workers=0", "threads=1", "predict_images=2", "conf=0.01"]
    assert main(args) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(last) >= {"box_map", "box_map50", "mask_map", "mask_map50", "run_dir"}
    run = Path(last["run_dir"])
    assert (run / "weights" / "best.pt").is_file() and (run / "metrics.json").is_file()
    assert len(list((run / "predictions").glob("*.jpg"))) == 2
    assert (tmp_path / "data" / "data.yaml").is_file()
