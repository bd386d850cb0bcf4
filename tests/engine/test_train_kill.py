"""A run killed with SIGKILL keeps a loadable last.pt and resumes to the end."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_then_resume(tmp_path):
    from cocoseg.synth import generate

    data = generate(tmp_path / "data", num_images=12, seed=4, size=(64, 64))
    args = [f"data={data.data_yaml}", "model=yolov8n-seg.yaml", "epochs=3", "imgsz=64", "batch=2", "workers=0", "threads=1", "val=False",
            "plots=False", f"project={tmp_path / 'runs'}", "name=k", "close_mosaic=0", "cache_labels=False"]
    proc = subprocess.Popen([sys.executable, "-m", "cocoseg", "train", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = tmp_path / "runs" / "k" / "weights" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # during epoch 2 (or just after epoch 1 was saved)
    proc.wait()
    ckpt = torch.load(last, weights_only=True)  # never half-written
    assert ckpt["epoch"] in (0, 1)
    out = subprocess.run([sys.executable, "-m", "cocoseg", "train", "resume=True", f"model={last}", "threads=1"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["epochs_completed"] == 3 and Path(result["run_dir"]) == last.parent.parent
    assert torch.load(last, weights_only=True)["epoch"] == 2
